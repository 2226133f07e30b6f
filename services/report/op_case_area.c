/* op_case_area.c — `case.area`: where a case is registered and where its
 * reports were filed.
 *
 * body: {"case_id": "case-12"} or {"id_number": "..."} (as case.get)
 * result: {"case_id": "case-12", "township": "520123101",
 *          "townships": ["520123101"], "villages": ["520123101001"]}
 * township is the case's registered township (migration 050: it changes only
 * when a move is confirmed); townships and villages the distinct codes of
 * every report of the case, sorted. It carries no personal data: the web
 * console (services/gateway) uses it to keep a township caseworker to the
 * cases of their township — the whole case where it is registered, their
 * own reports where they only filed one — before it reads one. */
#include <stdio.h>
#include <string.h>

#include "mp.h"
#include "pii.h"
#include "ops.h"

static void prepare(store_t *store)
{
    store_prepare(store, "case_area_by_id",
                  "SELECT case_id, coalesce(township, '') FROM cases WHERE case_id = $1::bigint");
    store_prepare(store, "case_area_by_person",
                  "SELECT c.case_id, coalesce(c.township, '') FROM case_members m"
                  "  JOIN cases c USING (case_id) WHERE m.id_hash = decode($1, 'hex')");
    store_prepare(store, "case_area_codes",
                  "SELECT 't', township FROM reports WHERE case_id = $1::bigint"
                  " GROUP BY township"
                  " UNION ALL "
                  "SELECT 'v', village FROM reports WHERE case_id = $1::bigint"
                  " GROUP BY village ORDER BY 1, 2");
}

static void pack_codes(msgpack_packer *pk, PGresult *r, char kind)
{
    int n = PQntuples(r), count = 0;
    for (int i = 0; i < n; i++)
        count += PQgetvalue(r, i, 0)[0] == kind;
    msgpack_pack_array(pk, (size_t)count);
    for (int i = 0; i < n; i++)
        if (PQgetvalue(r, i, 0)[0] == kind)
            mp_pack_str(pk, PQgetvalue(r, i, 1));
}

static int handle(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk, proto_error_t *err)
{
    proto_case_get_t q;
    schema_err_t se;
    if (proto_case_get_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (q.township[0])
        return proto_fail(err, PROTO_INVALID_FIELD, "township", "case.area takes no township");
    store_t *store = ctx->store;
    if (!store_ready(store))
        return write_unavailable(err);
    char hash[PII_HASH_HEX];
    pii_hash_hex(q.id_number, hash);
    const char *arg = hash;
    const char *stmt = "case_area_by_person";
    if (q.case_id[0]) {
        /* case ids are "case-<n>" on the wire */
        const char *p = strncmp(q.case_id, "case-", 5) == 0 ? q.case_id + 5 : "";
        if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 18)
            return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
        arg = p;
        stmt = "case_area_by_id";
    }
    PGresult *r = store_exec(store, stmt, 1, &arg);
    if (!r)
        return write_unavailable(err);
    if (PQntuples(r) != 1) {
        PQclear(r);
        return proto_fail(err, PROTO_NOT_FOUND, q.case_id[0] ? "case_id" : "id_number",
                          "no such case");
    }
    char case_id[32], township[16];
    snprintf(case_id, sizeof case_id, "%s", PQgetvalue(r, 0, 0));
    snprintf(township, sizeof township, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    const char *cid = case_id;
    r = store_exec(store, "case_area_codes", 1, &cid);
    if (!r)
        return write_unavailable(err);
    char wire_id[40];
    snprintf(wire_id, sizeof wire_id, "case-%s", case_id);
    msgpack_pack_map(pk, 4);
    mp_pack_kv_str(pk, "case_id", wire_id);
    mp_pack_kv_str(pk, "township", township);
    mp_pack_str(pk, "townships");
    pack_codes(pk, r, 't');
    mp_pack_str(pk, "villages");
    pack_codes(pk, r, 'v');
    PQclear(r);
    char ids[40]; /* R-AUDIT: who read where this case lives */
    snprintf(ids, sizeof ids, "{%s}", case_id);
    return opctx_audit_read(ctx, "case.area", ids, req->id) != 0 ? write_unavailable(err) : 0;
}

OP_HANDLER(case_area_op, {"case.area", prepare, handle})
