/* benefits — the owner of entitlements (issue 17, POLICY.md §17): the monthly
 * benefits of households and persons over time.
 *
 * Behind the front door (common/owner.h): it registers its operations with
 * every intake and answers them. Each operation lives in the file of its
 * domain (op_entitlements.c, op_payee.c, op_payroll.c, op_recheck.c,
 * op_merge.c) and registers itself there (OP_HANDLER, common/opctx.h); ben.h
 * holds what they share. It answers them here, reads through owner_answer (a read of a case
 * records its R-AUDIT row, committed before the answer), writes through
 * owner_answer_write (each request id runs once, in the transaction that
 * records it).
 *
 * Between requests it sweeps, every AID_BENEFITS_SWEEP_MS (default 1000): the
 * death triggers not handled yet end the person's entitlements, and the
 * granted civil decisions not yet turned into entitlements are started in
 * batches (aid_entitlements_sweep, ops/sql/57_benefits.sql) — no trigger on the
 * decisions, so the report's hot path is unchanged. A sweep lasts at most half
 * a second before the owner serves and beats again (a backlog is swept on right
 * after). A crash loses nothing: the sweep finds what it did not record. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "ben.h"
#include "benefits.h"
#include "config.h"
#include "curve.h"
#include "log.h"
#include "metrics.h"
#include "mp.h"
#include "opctx.h"
#include "owner.h"
#include "pii.h"
#include "proto.h"
#include "store.h"
#include "svc.h"
#include "trigger.h"
#include "write.h"

#define SWEEP_BATCH "500"        /* decisions per sweep statement (one batch start; at most
                                    a tenth of them other than first grants) */
#define SWEEP_BUDGET_MS 500     /* sweeping between two heartbeats, at most */

typedef struct {
    store_t *store;
    metric_t *started;
} benefits_t;

static void prepare(store_t *store)
{
    store_prepare(store, "ben_sweep", "SELECT handled, more FROM aid_entitlements_sweep($1::int)");
    store_prepare(store, "ben_deaths",
                  "SELECT t.trigger_id, t.body, to_char(aid_china_date(t.created_at), 'YYYY-MM-01')"
                  "  FROM triggers t"
                  " WHERE t.kind = 'death' AND NOT EXISTS (SELECT 1 FROM entitlement_deaths d"
                  "                                         WHERE d.trigger_id = t.trigger_id)"
                  " ORDER BY t.trigger_id LIMIT 100");
    store_prepare(store, "ben_death",
                  "SELECT aid_entitlements_death($1::bigint, decode($2, 'hex'), $3::date)");
}

/* May client run the county's payroll, set payees, record exits and pauses,
 * merge cases and list the re-checks? In plaintext mode (loopback development)
 * every client may; in secure mode the civil-affairs office's keys ("civil",
 * "civil.<anything>") and the names in AID_DEPARTMENT_ANY (the county's services,
 * like the web console, which check their users' rights themselves). Reading a
 * case's entitlements is open to every client, like case.get. */
static int acts_for_county(const char *client, proto_error_t *err)
{
    if (!curve_secure() || curve_user_is_department(client, "civil") ||
        config_list_has("AID_DEPARTMENT_ANY", client))
        return 0;
    log_warn("benefits.unauthorized", "client", LOG_S(client), NULL);
    return proto_fail(err, PROTO_UNAUTHORIZED, "op",
                      "only the civil-affairs office's keys and the county's services may do this");
}

static int handle(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                  proto_error_t *err)
{
    benefits_t *b = arg;
    const char *op = proto_ops[req->op].name;
    const op_handler_t *h = op_find(op);
    if (!h)
        return proto_fail(err, PROTO_UNKNOWN_OP, "op",
                          "the benefits service does not serve this operation");
    if (strcmp(op, "entitlements.list") != 0 && acts_for_county(client, err) != 0)
        return -1;
    opctx_t c = {.store = b->store, .client = client, .host = b};
    return h->handle(&c, req, pk, err);
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

/* The death triggers not handled yet: each ends the person's entitlements at
 * the end of the month of the death (R-EXIT), once (aid_entitlements_death). */
static void sweep_deaths(benefits_t *b)
{
    static proto_trigger_t t; /* large (a disaster's areas): not on the stack */
    PGresult *r = store_exec(b->store, "ben_deaths", 0, NULL);
    if (!r) {
        log_warn("benefits.deaths_failed", "error", LOG_S(store_errmsg(b->store)), NULL);
        return;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        size_t len = 0;
        unsigned char *body = store_sealed(r, i, 1, PII_AD_TRIGGER, &len);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        schema_err_t se;
        char hash[PII_HASH_HEX] = "", month[11];
        snprintf(month, sizeof month, "%s", PQgetvalue(r, i, 2));
        if (body && mp_unpack((const char *)body, len, &u) == MP_OK &&
            proto_trigger_decode(&u.data, date_today(), "", &t, &se) == 0 && t.id_number[0]) {
            pii_hash_hex(t.id_number, hash);
            if (t.occurred_on) {
                date_format(t.occurred_on, month);
                month[8] = '0', month[9] = '1';
            }
        }
        msgpack_unpacked_destroy(&u);
        free(body);
        memset(&t, 0, sizeof t);
        /* one that does not open or decode is recorded as handled, ending nothing */
        const char *a[3] = {PQgetvalue(r, i, 0), hash[0] ? hash : NULL, month};
        PGresult *w = store_exec(b->store, "ben_death", 3, a);
        if (!w) {
            log_warn("benefits.death_failed", "trigger", LOG_S(PQgetvalue(r, i, 0)), "error",
                     LOG_S(store_errmsg(b->store)), NULL);
            break;
        }
        log_info("benefits.death", "trigger", LOG_S(PQgetvalue(r, i, 0)), "ended",
                 LOG_S(PQgetvalue(w, 0, 0)), NULL);
        PQclear(w);
    }
    PQclear(r);
}

/* Starts the entitlements of newly granted decisions, a batch at a time, for
 * at most SWEEP_BUDGET_MS: the owner's heartbeats wait while it sweeps, and
 * intake drops an owner silent for AID_OWNER_EXPIRY_MS (3 s). Returns true when
 * there is more to do now (the caller sweeps again right after serving). */
static bool sweep(benefits_t *b)
{
    if (!store_ready(b->store))
        return false;
    sweep_deaths(b);
    int64_t until = svc_now_ms() + SWEEP_BUDGET_MS;
    while (!svc_stopping()) {
        const char *a[1] = {SWEEP_BATCH};
        PGresult *r = store_exec(b->store, "ben_sweep", 1, a);
        if (!r) {
            log_warn("benefits.sweep_failed", "error", LOG_S(store_errmsg(b->store)), NULL);
            return false;
        }
        long long n = atoll(PQgetvalue(r, 0, 0));
        bool more = PQgetvalue(r, 0, 1)[0] == 't';
        PQclear(r);
        metric_add(b->started, n);
        if (!more)
            return false;
        if (svc_now_ms() >= until)
            return true;
    }
    return false;
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
    ben_prepare(b.store);
    op_prepare_all(b.store);
    write_prepare(b.store);
    char ops[512];
    op_names(ops, sizeof ops);
    metrics_t *m = metrics_new("benefits");
    b.started = metrics_counter(m, "aid_benefits_decisions_total",
                                "granted decisions turned into entitlements");
    metrics_readiness(m, dsn);
    metrics_listen(m);
    void *zctx = zmq_ctx_new();
    owner_t *o = owner_new(zctx, "benefits", ops);
    if (!o) {
        store_destroy(&b.store);
        return 1;
    }
    log_info("benefits.started", "ops", LOG_S(ops), NULL);
    int64_t next_sweep = 0;
    while (!svc_stopping()) {
        bool more = false;
        if (svc_now_ms() >= next_sweep) {
            more = sweep(&b);
            next_sweep = svc_now_ms() + (more ? 0 : sweep_ms);
        }
        owner_request_t req;
        int got = owner_recv(o, more ? 0 : 200, &req);
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
