/* op_trigger.c — `trigger.submit` and `trigger.batch`: events from other
 * bureaus' systems (PROTOCOL.md, proto/DEPARTMENTS.md).
 *
 * A trigger about one person (medical_expense, unemployment, disability,
 * death, or a disaster naming one household) files a report on the
 * household's existing case at once, inside the request's transaction: the
 * household's latest report with the trigger's change (proto_trigger_apply),
 * source department, through the normal pipeline. A disaster over areas
 * commits the trigger and the list of cases it reaches (the registered S
 * households there) and returns; the trigger worker (services/triggers)
 * files their reports in chunks, so 100,000 households never make one giant
 * transaction and other requests keep flowing.
 *
 * trigger.batch carries up to TRIGGER_BATCH_MAX person triggers in one
 * request and one transaction (aidctl import): each item is decided on its
 * own — a bad item is answered with its error and never stops the others. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "log.h"
#include "mp.h"
#include "opctx.h"
#include "write.h"
#include "pgarr.h"
#include "pii.h"
#include "synth.h"
#include "trigger.h"

#define TRIGGER_BATCH_MAX 500

/* What one trigger did. */
typedef struct {
    long long trigger_id;
    long long cases;          /* cases reached: filed (or, for areas, to be filed) */
    long long case_id;        /* person triggers: the household's case */
    long long report_id;      /* person triggers: the report filed, 0 when none */
} trigger_done_t;

static void prepare(store_t *store)
{
    synth_prepare(store);
    store_prepare(store, "trigger_next_id", "SELECT nextval('triggers_trigger_id_seq')");
    store_prepare(store, "trigger_insert",
                  "INSERT INTO triggers (trigger_id, request_id, kind, body, cases, reached,"
                  " done_at) VALUES ($1::bigint, $2, $3, $4::bytea, $5::int, $6::int,"
                  " CASE WHEN $7::boolean THEN now() END)");
    store_prepare(store, "trigger_targets",
                  "SELECT aid_trigger_targets($1::bigint, $2::text[])");
    store_prepare(store, "trigger_case_is_s", "SELECT aid_case_is_s($1::bigint)");
    store_prepare(store, "trigger_cases",
                  "SELECT encode(id_hash, 'hex'), case_id FROM case_members"
                  " WHERE id_hash = ANY (ARRAY(SELECT decode(u, 'hex')"
                  "                              FROM unnest($1::text[]) u))");
}

/* ---- one trigger ------------------------------------------------------------ */

/* synth's modify callback: the trigger's change, or "nothing changes". */
typedef struct {
    const proto_trigger_t *t;
    const char *wire_id;      /* "trigger-12" */
    const char *prefix;       /* error path prefix */
    int unchanged;            /* set when the report would not change */
} apply_ctx_t;

static int apply(report_t *r, void *arg, proto_error_t *err)
{
    apply_ctx_t *c = arg;
    int rc = proto_trigger_apply(c->t, c->wire_id, c->prefix, r, err);
    if (rc == 0) {
        c->unchanged = 1; /* not an error: synth files nothing, the caller answers cases 0 */
        proto_fail(err, PROTO_OK, NULL, NULL);
        return -1;
    }
    return rc < 0 ? -1 : 0;
}

static int exec_ok(store_t *store, const char *stmt, int n, const char *const *vals,
                   const int *lens, const int *fmts, PGresult **out, proto_error_t *err)
{
    PGresult *r = lens ? store_exec_bin(store, stmt, n, vals, lens, fmts)
                       : store_exec(store, stmt, n, vals);
    if (!r)
        return write_unavailable(err);
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

/* Records the trigger row. */
static int record(store_t *store, long long tid, const char *key, const proto_trigger_t *t,
                  const msgpack_object *body, long long cases, bool done, proto_error_t *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *body);
    char tids[24], casess[24];
    snprintf(tids, sizeof tids, "%lld", tid);
    snprintf(casess, sizeof casess, "%lld", cases);
    size_t sl = 0; /* a person trigger names the person: stored sealed */
    unsigned char *sealed = pii_seal_alloc(PII_AD_TRIGGER, sb.data, sb.size, &sl);
    msgpack_sbuffer_destroy(&sb);
    if (!sealed)
        return write_unavailable(err);
    const char *vals[7] = {tids, key, report_trigger_kinds[t->kind], (const char *)sealed, casess,
                           done ? casess : "0", done ? "true" : "false"};
    int lens[7] = {0, 0, 0, (int)sl, 0, 0, 0}, fmts[7] = {0, 0, 0, 1, 0, 0, 0};
    int rc = exec_ok(store, "trigger_insert", 7, vals, lens, fmts, NULL, err);
    free(sealed);
    return rc;
}

/* A disaster over areas: the trigger and its targets; the worker files. */
static int run_area(opctx_t *ctx, long long tid, const char *key, const proto_trigger_t *t,
                    const msgpack_object *body, trigger_done_t *done, proto_error_t *err)
{
    store_t *store = ctx->store;
    if (record(store, tid, key, t, body, 0, false, err) != 0)
        return -1;
    pgarr_t areas;
    pgarr_init(&areas);
    for (int i = 0; i < t->n_areas; i++)
        pgarr_add_text(&areas, t->areas[i]);
    char tids[24];
    snprintf(tids, sizeof tids, "%lld", tid);
    const char *vals[2] = {tids, pgarr_str(&areas)};
    PGresult *r = NULL;
    int rc = vals[1] ? exec_ok(store, "trigger_targets", 2, vals, NULL, NULL, &r, err)
                     : write_unavailable(err);
    if (rc == 0)
        done->cases = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    pgarr_free(&areas);
    if (rc == 0)
        log_info("trigger.accepted", "trigger_id", LOG_I(tid), "kind", LOG_S("disaster"),
                 "areas", LOG_I(t->n_areas), "cases", LOG_I(done->cases), NULL);
    return rc;
}

/* Everything but an area disaster: one household, filed now. */
static int next_id(store_t *store, long long *tid, proto_error_t *err);

/* case_hint: the person's case when the caller looked it up already (a
 * batch), 0 when not registered, -1 to look it up here. */
static int run_person(opctx_t *ctx, long long case_hint, const char *key, const char *prefix,
                      const proto_trigger_t *t, const msgpack_object *body,
                      trigger_done_t *done, proto_error_t *err)
{
    store_t *store = ctx->store;
    char field[200];
    snprintf(field, sizeof field, "%s%sid_number", prefix, *prefix ? "." : "");
    if (case_hint == 0)
        return proto_fail(err, PROTO_NOT_FOUND, field, "no registered person with this ID number");
    if (case_hint > 0)
        done->case_id = case_hint;
    else if (synth_case_of_person(ctx, t->id_number, field, &done->case_id, err) != 0)
        return -1;
    if (next_id(store, &done->trigger_id, err) != 0)
        return -1;
    long long tid = done->trigger_id;
    bool reach = true;
    if (t->kind == TRIGGER_DISASTER) {
        /* R-TRIGGER-DISASTER reaches S households only */
        char cid[24];
        snprintf(cid, sizeof cid, "%lld", done->case_id);
        const char *arg = cid;
        PGresult *r = NULL;
        if (exec_ok(store, "trigger_case_is_s", 1, &arg, NULL, NULL, &r, err) != 0)
            return -1;
        reach = PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
    }
    if (reach) {
        char wire_id[40], report_key[PROTO_STR_MAX + 48];
        snprintf(wire_id, sizeof wire_id, "trigger-%lld", tid);
        snprintf(report_key, sizeof report_key, "%s#1", key);
        apply_ctx_t change = {t, wire_id, prefix, 0};
        if (synth_file_report(ctx, done->case_id, report_key, apply, &change, &done->report_id,
                              err) != 0) {
            if (!change.unchanged)
                return -1;
            done->report_id = 0;
        }
    }
    done->cases = done->report_id ? 1 : 0;
    if (record(store, tid, key, t, body, done->cases, true, err) != 0)
        return -1;
    log_info("trigger.accepted", "trigger_id", LOG_I(tid), "kind",
             LOG_S(report_trigger_kinds[t->kind]), "person", LOG_ID(t->id_number), "cases",
             LOG_I(done->cases), NULL);
    return 0;
}

/* A new trigger id (taken before the row is written: the reports filed
 * for the trigger carry it). */
static int next_id(store_t *store, long long *tid, proto_error_t *err)
{
    PGresult *r = NULL;
    if (exec_ok(store, "trigger_next_id", 0, NULL, NULL, NULL, &r, err) != 0)
        return -1;
    *tid = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

/* Runs one decoded trigger under idempotency key key (the request id, or a
 * batch item's derived id); case_hint as run_person's. Nothing is written
 * when it fails. */
static int run_one(opctx_t *ctx, long long case_hint, const char *key, const char *prefix,
                   const proto_trigger_t *t, const msgpack_object *body, trigger_done_t *done,
                   proto_error_t *err)
{
    memset(done, 0, sizeof *done);
    if (!proto_trigger_is_area(t))
        return run_person(ctx, case_hint, key, prefix, t, body, done, err);
    if (next_id(ctx->store, &done->trigger_id, err) != 0)
        return -1;
    return run_area(ctx, done->trigger_id, key, t, body, done, err);
}

static void pack_done(msgpack_packer *pk, const trigger_done_t *d, bool person)
{
    char buf[48];
    msgpack_pack_map(pk, person ? (d->report_id ? 4 : 3) : 2);
    snprintf(buf, sizeof buf, "trigger-%lld", d->trigger_id);
    mp_pack_kv_str(pk, "trigger_id", buf);
    mp_pack_kv_int(pk, "cases", d->cases);
    if (!person)
        return;
    snprintf(buf, sizeof buf, "case-%lld", d->case_id);
    mp_pack_kv_str(pk, "case_id", buf);
    if (d->report_id) {
        snprintf(buf, sizeof buf, "report-%lld", d->report_id);
        mp_pack_kv_str(pk, "report_id", buf);
    }
}

/* Wakes eligibility (and the disaster worker) after COMMIT: a trigger filed
 * reports, or committed the targets of a disaster (the body's seq is this
 * service's stream, proto/README.md §10). Dropped when the write rolls back. */
static void wake(opctx_t *ctx)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    bus_committed_body(&sb, 0, -1, -1);
    opctx_publish(ctx, "report.committed", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- trigger.submit ------------------------------------------------------------ */

static int handle_submit(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                         proto_error_t *err)
{
    proto_trigger_t *t = malloc(sizeof *t);
    if (!t)
        return write_unavailable(err);
    schema_err_t se;
    trigger_done_t done;
    int rc = -1;
    if (proto_trigger_decode(req->body, date_today(), "", t, &se) != 0)
        proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    else if (run_one(ctx, -1, req->id, "", t, req->body, &done, err) == 0) {
        pack_done(pk, &done, !proto_trigger_is_area(t));
        wake(ctx);
        rc = 0;
    }
    free(t);
    return rc;
}

OP_HANDLER(trigger_submit_op, {"trigger.submit", prepare, handle_submit})

/* ---- trigger.batch -------------------------------------------------------------- */

/* The case of id_number among the rows (hex id_hash, case_id) of known; 0
 * when not registered. */
static long long case_of(PGresult *known, const char *id_number)
{
    if (!id_number[0])
        return 0;
    char h[PII_HASH_HEX];
    pii_hash_hex(id_number, h);
    for (int i = 0; i < PQntuples(known); i++)
        if (strcmp(PQgetvalue(known, i, 0), h) == 0)
            return atoll(PQgetvalue(known, i, 1));
    return 0;
}

static int handle_batch(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                        proto_error_t *err)
{
    const msgpack_object *b = req->body;
    const msgpack_object *items = b ? mp_get(b, "triggers") : NULL;
    if (!items)
        return proto_fail(err, PROTO_INVALID_FIELD, "triggers", "is required");
    if (b->via.map.size != 1) {
        for (uint32_t i = 0; i < b->via.map.size; i++)
            if (!mp_str_is(&b->via.map.ptr[i].key, "triggers"))
                return proto_fail(err, PROTO_INVALID_FIELD, "triggers",
                                  "the body has one key, triggers (an unknown key was sent)");
        return proto_fail(err, PROTO_INVALID_FIELD, "triggers", "appears twice");
    }
    if (items->type != MSGPACK_OBJECT_ARRAY || items->via.array.size < 1 ||
        items->via.array.size > TRIGGER_BATCH_MAX)
        return proto_fail(err, PROTO_INVALID_FIELD, "triggers",
                          "must be an array of 1 to 500 triggers");
    proto_trigger_t *t = malloc(sizeof *t);
    if (!t)
        return write_unavailable(err);
    uint32_t n = items->via.array.size;
    /* one lookup for every person of the batch: most rows of a department's
     * nightly list are nobody registered, and they cost nothing more */
    PGresult *known = NULL;
    pgarr_t ids;
    pgarr_init(&ids);
    for (uint32_t i = 0; i < n; i++) {
        schema_err_t se;
        if (proto_trigger_decode(&items->via.array.ptr[i], date_today(), "", t, &se) == 0 &&
            t->id_number[0]) {
            char h[PII_HASH_HEX];
            pii_hash_hex(t->id_number, h);
            pgarr_add_text(&ids, h);
        }
    }
    const char *idv = pgarr_str(&ids);
    if (!idv || !(known = store_exec(ctx->store, "trigger_cases", 1, &idv))) {
        pgarr_free(&ids);
        free(t);
        return write_unavailable(err);
    }
    pgarr_free(&ids);
    long long counts[3] = {0, 0, 0}; /* accepted, matched, rejected */
    /* results are packed first into their own buffer: the counts lead the map */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer rp;
    msgpack_packer_init(&rp, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&rp, n);
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const msgpack_object *item = &items->via.array.ptr[i];
        char prefix[32], key[PROTO_STR_MAX + 16];
        snprintf(prefix, sizeof prefix, "triggers[%u]", i);
        snprintf(key, sizeof key, "%s#%u", req->id, i + 1);
        schema_err_t se;
        proto_error_t e;
        trigger_done_t done;
        int ok = 0;
        if (proto_trigger_decode(item, date_today(), prefix, t, &se) != 0)
            proto_fail(&e, PROTO_INVALID_FIELD, se.field, se.message);
        else if (proto_trigger_is_area(t))
            proto_fail(&e, PROTO_INVALID_FIELD, prefix,
                       "a disaster over areas is sent alone, with trigger.submit");
        else if (run_one(ctx, case_of(known, t->id_number), key, prefix, t, item, &done, &e) == 0)
            ok = 1;
        else if (e.code == PROTO_UNAVAILABLE)
            rc = proto_fail(err, e.code, NULL, e.message); /* the whole batch, retried */
        if (ok) {
            counts[done.cases > 0 ? 0 : 1]++;
            pack_done(&rp, &done, true);
        } else {
            counts[2]++;
            msgpack_pack_map(&rp, 1);
            mp_pack_str(&rp, "error");
            msgpack_pack_map(&rp, e.field[0] ? 3 : 2);
            mp_pack_kv_str(&rp, "code", proto_code_names[e.code]);
            if (e.field[0])
                mp_pack_kv_str(&rp, "field", e.field);
            mp_pack_kv_str(&rp, "message", e.message);
        }
    }
    if (rc == 0) {
        msgpack_pack_map(pk, 4);
        mp_pack_kv_int(pk, "accepted", counts[0]);
        mp_pack_kv_int(pk, "matched", counts[1]);
        mp_pack_kv_int(pk, "rejected", counts[2]);
        mp_pack_str(pk, "results");
        pk->callback(pk->data, sb.data, sb.size); /* the packed results array */
        log_info("trigger.batch", "items", LOG_I(n), "accepted", LOG_I(counts[0]), "matched",
                 LOG_I(counts[1]), "rejected", LOG_I(counts[2]), NULL);
        wake(ctx);
    }
    msgpack_sbuffer_destroy(&sb);
    PQclear(known);
    free(t);
    return rc;
}

OP_HANDLER(trigger_batch_op, {"trigger.batch", NULL, handle_batch})
