/* write.c — a write done exactly once, by its request id (write.h). */
#include "write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"
#include "pii.h"

void write_prepare(store_t *store)
{
    store_prepare(store, "begin_request",
                  "SELECT outcome, result FROM aid_begin_request($1, $2, $3::bytea)");
    store_prepare(store, "request_made_by",
                  "SELECT 1 FROM requests WHERE request_id = $1 AND xmin::text = $2");
    store_prepare(store, "finish_request",
                  "UPDATE requests SET result = $2::bytea WHERE request_id = $1");
}

int write_unavailable(proto_error_t *err)
{
    return proto_fail(err, PROTO_UNAVAILABLE, NULL,
                      "database unavailable: nothing was accepted, retry later");
}

int write_outcome_unknown(proto_error_t *err)
{
    return proto_fail(err, PROTO_UNAVAILABLE, NULL,
                      "outcome unknown: the database link broke after COMMIT was sent; retry "
                      "with the same id and body: the answer is the truth (duplicate: true "
                      "when it was accepted)");
}

/* Re-packs a stored result map with "duplicate" added. A write's own
 * "duplicate": true (the same effect recognised under another request id,
 * e.g. decision.submit) is kept: the key appears once. */
static void pack_result(msgpack_sbuffer *out, const char *data, size_t len, bool duplicate)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (mp_unpack(data, len, &u) == MP_OK && u.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object_map *m = &u.data.via.map;
        uint32_t own = 0;
        for (uint32_t i = 0; i < m->size; i++)
            if (mp_str_is(&m->ptr[i].key, "duplicate")) {
                own++;
                duplicate |= m->ptr[i].val.type == MSGPACK_OBJECT_BOOLEAN && m->ptr[i].val.via.boolean;
            }
        msgpack_pack_map(&pk, m->size - own + 1);
        for (uint32_t i = 0; i < m->size; i++) {
            if (mp_str_is(&m->ptr[i].key, "duplicate"))
                continue;
            msgpack_pack_object(&pk, m->ptr[i].key);
            msgpack_pack_object(&pk, m->ptr[i].val);
        }
    } else {
        msgpack_pack_map(&pk, 1);
    }
    mp_pack_kv_bool(&pk, "duplicate", duplicate);
    msgpack_unpacked_destroy(&u);
}

/* store_verify_fn of a write whose transaction is over (pg_xact_status said
 * committed, which after a crash restart may be another transaction's): it
 * committed when its request's row is the one it made (xmin = xid). */
static int verify_write(store_t *store, uint64_t xid, void *arg)
{
    char x32[24];
    snprintf(x32, sizeof x32, "%llu", (unsigned long long)(xid & 0xffffffffu));
    const char *vals[2] = {arg, x32};
    PGresult *r = store_exec(store, "request_made_by", 2, vals);
    int rc = r ? PQntuples(r) == 1 : -1;
    PQclear(r);
    return rc;
}

int write_once(store_t *store, const char *id, const char *op, const msgpack_object *body,
               write_fn fn, void *arg, msgpack_sbuffer *result, bool *fresh,
               proto_error_t *err)
{
    *fresh = false;
    msgpack_sbuffer raw, made;
    msgpack_sbuffer_init(&raw);
    msgpack_sbuffer_init(&made);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &raw, msgpack_sbuffer_write);
    if (body)
        mp_pack_sorted(&pk, body);
    else
        msgpack_pack_nil(&pk);
    PGresult *r = NULL;
    int rc = -1;
    uint64_t xid = 0; /* taken with BEGIN: the truth when COMMIT's answer is lost */
    if (!store_ready(store) || store_begin_xid(store, &xid) != 0) {
        write_unavailable(err);
        goto fail;
    }
    const char *vals[3] = {id, op, raw.data};
    int lens[3] = {0, 0, (int)raw.size}, fmts[3] = {0, 0, 1};
    r = store_exec_bin(store, "begin_request", 3, vals, lens, fmts);
    if (!r) {
        write_unavailable(err);
        goto fail;
    }
    const char *outcome = PQgetvalue(r, 0, 0);
    if (strcmp(outcome, "conflict") == 0) {
        proto_fail(err, PROTO_CONFLICT, "id", "this request id was already used with a different body");
        goto fail;
    }
    if (strcmp(outcome, "duplicate") == 0) {
        size_t len = 0; /* stored sealed: it may name persons */
        unsigned char *prev = store_sealed(r, 0, 1, PII_AD_RESULT, &len);
        pack_result(result, prev ? (const char *)prev : "", len, true);
        free(prev);
        store_rollback(store);
        rc = 0;
        goto done;
    }
    msgpack_packer_init(&pk, &made, msgpack_sbuffer_write);
    if (fn(arg, &pk, err) != 0)
        goto fail;
    size_t sealed_len = 0;
    unsigned char *sealed = pii_seal_alloc(PII_AD_RESULT, made.data, made.size, &sealed_len);
    const char *fin[2] = {id, (const char *)sealed};
    int flens[2] = {0, (int)sealed_len}, ffmts[2] = {0, 1};
    PGresult *f = sealed ? store_exec_bin(store, "finish_request", 2, fin, flens, ffmts) : NULL;
    free(sealed);
    bool stored = f != NULL;
    PQclear(f);
    if (!stored) {
        write_unavailable(err);
        goto fail;
    }
    if (store_commit(store) != 0) {
        store_outcome_t truth = store_outcome(store, xid, true, verify_write, (void *)id);
        if (truth != STORE_COMMITTED) {
            if (truth == STORE_ABORTED)
                write_unavailable(err);
            else
                write_outcome_unknown(err);
            goto fail;
        }
    }
    pack_result(result, made.data, made.size, false);
    *fresh = true;
    rc = 0;
    goto done;
fail:
    store_rollback(store);
done:
    PQclear(r);
    msgpack_sbuffer_destroy(&raw);
    msgpack_sbuffer_destroy(&made);
    return rc;
}
