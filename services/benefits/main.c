/* benefits — the owner of entitlements (issue 17, POLICY.md §17): the monthly
 * benefits of households and persons over time.
 *
 * Behind the front door (common/owner.h): it registers its operations with
 * every intake and answers them; reads through owner_answer (a read of a case
 * records its R-AUDIT row, committed before the answer), writes through
 * owner_answer_write (each request id runs once, in the transaction that
 * records it).
 *
 * Between requests it sweeps: the granted civil decisions not yet turned into
 * entitlements are started in batches (aid_entitlements_sweep, ops/sql/
 * 57_benefits.sql), every AID_BENEFITS_SWEEP_MS (default 1000) — no trigger
 * on the decisions, so the report's hot path is unchanged. A crash loses
 * nothing: the sweep finds what it did not record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "benefits.h"
#include "config.h"
#include "entview.h"
#include "log.h"
#include "metrics.h"
#include "mp.h"
#include "owner.h"
#include "pii.h"
#include "proto.h"
#include "store.h"
#include "svc.h"
#include "write.h"

#define SWEEP_BATCH "200"
#define BENEFITS_OPS "entitlements.list"

typedef struct {
    store_t *store;
    metric_t *started;
} benefits_t;

static void prepare(store_t *store)
{
    store_prepare(store, "ben_sweep", "SELECT aid_entitlements_sweep($1::int)");
    store_prepare(store, "ben_case_of_person",
                  "SELECT case_id FROM case_members WHERE id_hash = decode($1, 'hex')");
    store_prepare(store, "ben_case", "SELECT 1 FROM cases WHERE case_id = $1::bigint");
    store_prepare(store, "ben_list",
                  "SELECT " ENTVIEW_COLUMNS
                  "  FROM entitlements e"
                  " WHERE e.case_id = $1::bigint AND " ENTVIEW_NOT_VOID
                  "   AND ($2::date IS NULL OR (e.first_month <= $2::date"
                  "        AND (e.last_month IS NULL OR e.last_month >= $2::date)))"
                  " ORDER BY e.first_month, e.entitlement_id");
    store_prepare(store, "ben_audit",
                  "INSERT INTO audit_log (who, action, case_id, detail)"
                  " VALUES ($1, $2, $3::bigint, $4)");
}

static int unavailable(proto_error_t *err)
{
    return proto_fail(err, PROTO_UNAVAILABLE, NULL, "the database is unavailable: nothing was read");
}

/* entitlements.list: the case's entitlements (those active in month, when
 * given; else every one that ran, with how it ended). */
static int handle_list(benefits_t *b, const char *client, const proto_request_t *req,
                       msgpack_packer *pk, proto_error_t *err)
{
    benefits_list_t q;
    schema_err_t se;
    if (benefits_list_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (!store_ready(b->store))
        return unavailable(err);
    char case_num[24];
    PGresult *r;
    if (q.id_number[0]) {
        char hex[PII_HASH_HEX];
        pii_hash_hex(q.id_number, hex);
        const char *a[1] = {hex};
        if (!(r = store_exec(b->store, "ben_case_of_person", 1, a)))
            return unavailable(err);
        if (PQntuples(r) == 0) {
            PQclear(r);
            return proto_fail(err, PROTO_NOT_FOUND, "id_number", "no case holds this ID number");
        }
        snprintf(case_num, sizeof case_num, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    } else {
        if (!q.case_num)
            return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
        snprintf(case_num, sizeof case_num, "%lld", q.case_num);
        const char *a[1] = {case_num};
        if (!(r = store_exec(b->store, "ben_case", 1, a)))
            return unavailable(err);
        int found = PQntuples(r);
        PQclear(r);
        if (!found)
            return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
    }
    char month[11] = "";
    if (q.month_first)
        date_format(q.month_first, month);
    const char *a[2] = {case_num, month[0] ? month : NULL};
    if (!(r = store_exec(b->store, "ben_list", 2, a)))
        return unavailable(err);
    /* R-AUDIT: the read is recorded (committed) before it is answered */
    char action[48], caseid[40];
    snprintf(action, sizeof action, "entitlements.list%s%s", month[0] ? " " : "", q.month);
    const char *au[4] = {client, action, case_num, req->id};
    PGresult *w = store_exec(b->store, "ben_audit", 4, au);
    if (!w) {
        PQclear(r);
        return unavailable(err);
    }
    PQclear(w);
    snprintf(caseid, sizeof caseid, "case-%s", case_num);
    msgpack_pack_map(pk, q.month[0] ? 3 : 2);
    mp_pack_kv_str(pk, "case_id", caseid);
    if (q.month[0])
        mp_pack_kv_str(pk, "month", q.month);
    mp_pack_str(pk, "entitlements");
    entview_pack(pk, r);
    PQclear(r);
    return 0;
}

static int handle(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                  proto_error_t *err)
{
    const char *op = proto_ops[req->op].name;
    if (strcmp(op, "entitlements.list") == 0)
        return handle_list(arg, client, req, pk, err);
    return proto_fail(err, PROTO_UNKNOWN_OP, "op", "the benefits service does not serve this operation");
}

/* Whether the forwarded request is for a write (its op's entry in proto_ops). */
static bool request_writes(const owner_request_t *req)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    bool w = false;
    if (mp_unpack(zmq_msg_data((zmq_msg_t *)&req->body), zmq_msg_size((zmq_msg_t *)&req->body),
                  &u) == MP_OK) {
        const msgpack_object *op = mp_get(&u.data, "op");
        for (int i = 0; op && i < proto_op_count; i++)
            if (mp_str_is(op, proto_ops[i].name))
                w = proto_ops[i].writes;
    }
    msgpack_unpacked_destroy(&u);
    return w;
}

/* Starts the entitlements of newly granted decisions, a batch at a time. */
static void sweep(benefits_t *b)
{
    for (int round = 0; round < 50 && !svc_stopping(); round++) {
        if (!store_ready(b->store))
            return;
        const char *a[1] = {SWEEP_BATCH};
        PGresult *r = store_exec(b->store, "ben_sweep", 1, a);
        if (!r) {
            log_warn("benefits.sweep_failed", "error", LOG_S(store_errmsg(b->store)), NULL);
            return;
        }
        long long n = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
        metric_add(b->started, n);
        if (n < atoll(SWEEP_BATCH))
            return;
    }
}

int main(void)
{
    svc_init("benefits");
    svc_require_pii();
    const char *dsn = config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid");
    int64_t sweep_ms = config_int("AID_BENEFITS_SWEEP_MS", 1000, 50, 3600000);
    benefits_t b = {.store = store_new(dsn)};
    if (!b.store)
        return 1;
    prepare(b.store);
    write_prepare(b.store);
    metrics_t *m = metrics_new("benefits");
    b.started = metrics_counter(m, "aid_benefits_decisions_total",
                                "granted decisions turned into entitlements");
    metrics_readiness(m, dsn);
    metrics_listen(m);
    void *zctx = zmq_ctx_new();
    owner_t *o = owner_new(zctx, "benefits", BENEFITS_OPS);
    if (!o) {
        store_destroy(&b.store);
        return 1;
    }
    log_info("benefits.started", "ops", LOG_S(BENEFITS_OPS), NULL);
    int64_t next_sweep = 0;
    while (!svc_stopping()) {
        if (svc_now_ms() >= next_sweep) {
            sweep(&b);
            next_sweep = svc_now_ms() + sweep_ms;
        }
        owner_request_t req;
        int got = owner_recv(o, 200, &req);
        if (got < 0)
            break;
        if (got == 0)
            continue;
        if (request_writes(&req))
            owner_answer_write(o, &req, b.store, handle, &b);
        else
            owner_answer(o, &req, handle, &b);
    }
    owner_destroy(&o);
    zmq_ctx_term(zctx);
    metrics_destroy(&m);
    store_destroy(&b.store);
    log_info("benefits.stopped", NULL);
    return 0;
}
