/* dept.c — claim, decide, record: the department step.
 *
 * One step is one transaction: claim up to DEPT_BATCH pending referrals
 * (aid_dept_claim, FOR UPDATE SKIP LOCKED, so any number of instances of
 * one department share the work and never decide one referral twice), decide
 * each with the pure policy function, record every decision with its
 * measures and the referrals' completion in one set-based statement
 * (record.h: aid_dept_record, migration 041), commit, then publish case.updated per
 * referral decided.
 * The decisions primary key backs the claim up if code ever gets it wrong:
 * a referral already decided is left alone and not announced again.
 *
 * Two round trips per batch whatever its size (BEGIN with the claim, the
 * record with COMMIT: store_begin_exec, store_exec_commit); the claim
 * returns binary columns, so report bodies arrive as raw bytes, not hex
 * text. */
#include "dept.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assessment_codec.h"
#include "config.h"
#include "log.h"
#include "mp.h"
#include "pii.h"
#include "proto.h"
#include "record.h"
#include "svc.h"
#include "worker.h"

#define DEPT_BATCH 256

typedef struct {
    dept_t dept;
    const char *name;
    char topic[48];
    int64_t seq;                       /* case.updated stream */
    char decided_by[48];               /* "civil", or "civil.2" for replica 2 */
    record_batch_t batch;              /* the decisions of one step */
    report_t report;
    assessment_t assessment;
    decision_t decision;
} dept_ctx_t;

static void prepare(store_t *store)
{
    /* migration 041: both check once per batch that the caller is this
     * department (row-level security would probe every row) */
    store_prepare(store, "dept_claim", "SELECT * FROM aid_dept_claim($1::int)");
    store_prepare(store, "dept_record_batch",
                  "SELECT o_referral_id FROM aid_dept_record(" RECORD_SQL_ARGS ")");
    store_prepare(store, "dept_depth",
                  "SELECT count(*) FROM referral_queue WHERE department = $1");
}

/* Decodes the stored report and assessment of row i and decides. */
static int decide_row(dept_ctx_t *c, const param_cache_t *pc, PGresult *r, int i)
{
    msgpack_unpacked ub, ua;
    msgpack_unpacked_init(&ub);
    msgpack_unpacked_init(&ua);
    schema_err_t se;
    int rc = -1;
    const char *data = PQgetvalue(r, i, 3);
    size_t blen = 0, alen = (size_t)PQgetlength(r, i, 3);
    /* the report body is stored sealed (common/pii.h) */
    char *body = (char *)pii_open_alloc(PII_AD_REPORT, PQgetvalue(r, i, 2),
                                        (size_t)PQgetlength(r, i, 2), &blen);
    if (!body || mp_unpack(body, blen, &ub) != MP_OK ||
        proto_report_decode(&ub.data, date_today(), &c->report, &se) != 0 ||
        mp_unpack(data, alen, &ua) != MP_OK ||
        assessment_decode(&ua.data, c->report.n_members, &c->assessment) != 0)
        goto out;
    params_t p;
    params_store_resolve(pc, c->report.as_of, &p);
    /* the household status eligibility took from the case's entitlements (§17) */
    policy_entitled_apply(&c->report, &c->assessment.entitled);
    policy_decide(c->dept, &c->report, &c->assessment, &p, &c->decision);
    if (c->assessment.entitled.changed) { /* the decision says which */
        char note[PROTO_STR_MAX + 1];
        policy_entitled_note(&c->assessment.entitled, note, sizeof note);
        size_t len = strlen(c->decision.reason);
        snprintf(c->decision.reason + len, sizeof c->decision.reason - len, "%s%s",
                 len ? "; " : "", note);
    }
    rc = 0;
out:
    msgpack_unpacked_destroy(&ub);
    msgpack_unpacked_destroy(&ua);
    free(body);
    return rc;
}

static void publish_update(dept_ctx_t *c, worker_t *w, int64_t case_id, int64_t rid)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    mp_pack_kv_int(&pk, "seq", ++c->seq);
    mp_pack_kv_int(&pk, "case_id", case_id);
    mp_pack_kv_int(&pk, "referral_id", rid);
    mp_pack_kv_str(&pk, "department", c->name);
    worker_publish(w, "case.updated", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

static int step(worker_t *w, void *arg)
{
    dept_ctx_t *c = arg;
    store_t *store = worker_store(w);
    const worker_metrics_t *wm = worker_metrics(w);
    PGresult *r = worker_claim(w, "dept_claim"), *made = NULL;
    if (!r)
        goto fail;
    int n = PQntuples(r);
    if (n == 0) {
        PQclear(r);
        store_rollback(store);
        return 0;
    }
    metric_add(wm->received, n);
    record_reset(&c->batch);
    for (int i = 0; i < n; i++) {
        int64_t rid = store_i64(r, i, 0);
        if (decide_row(c, worker_params(w), r, i) != 0) {
            /* a stored report that no longer decodes: refuse it visibly
             * rather than block the queue */
            memset(&c->decision, 0, sizeof c->decision);
            c->decision.status = STATUS_DENIED;
            snprintf(c->decision.reason, sizeof c->decision.reason,
                     "stored report could not be read; an operator must review it");
            log_error("referral.unreadable", "referral_id", LOG_I(rid), NULL);
        }
        record_entry_t e = {rid, &c->decision, &c->report};
        record_add(&c->batch, &e);
        log_debug("referral.decided", "referral_id", LOG_I(rid), "status",
                  LOG_S(proto_statuses[c->decision.status]), "measures",
                  LOG_I(c->decision.n_measures), NULL);
    }
    const char *vals[RECORD_PARAMS];
    if (record_params(&c->batch, c->decided_by, vals) != 0)
        goto fail;
    made = store_exec_commit(store, "dept_record_batch", RECORD_PARAMS, vals);
    if (!made)
        goto fail;
    int fresh = PQntuples(made);
    /* announce each referral decided now (not those decided before) */
    for (int k = 0, i = 0; k < fresh; k++) {
        int64_t rid = atoll(PQgetvalue(made, k, 0));
        for (int tries = 0; tries < n && store_i64(r, i, 0) != rid; tries++)
            i = (i + 1) % n;
        publish_update(c, w, store_i64(r, i, 1), rid);
        metric_observe_us(wm->latency, store_i64(r, i, 4));
    }
    metric_add(wm->decided, fresh);
    log_info("referrals.decided", "claimed", LOG_I(n), "decided", LOG_I(fresh), NULL);
    PQclear(made);
    PQclear(r);
    return n;
fail:
    log_warn("dept.step_failed", "error", LOG_S(store_errmsg(store)), NULL);
    PQclear(made);
    PQclear(r);
    store_rollback(store);
    return -1;
}

static int64_t depth(worker_t *w, void *arg)
{
    dept_ctx_t *c = arg;
    const char *v = c->name;
    PGresult *r = store_exec(worker_store(w), "dept_depth", 1, &v);
    int64_t d = r && PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return d;
}

static int dept_run(dept_t dept, const dept_owner_t *own)
{
    const char *name = policy_dept_names[dept];
    svc_init(name);
    svc_require_pii();
    pthread_t owner;
    bool serving = own && own->start(name, &owner) == 0;
    /* a department that runs its own handler (decision.submit): not started */
    if (config_list_has("AID_EXTERNAL_DEPARTMENTS", name)) {
        log_info("dept.external", "department", LOG_S(name), NULL);
        if (serving)
            pthread_join(owner, NULL); /* its operations, until SIGTERM */
        return 0;
    }
    dept_ctx_t *c = calloc(1, sizeof *c); /* large: reports and decisions */
    if (!c) {
        if (serving)
            own->stop(owner);
        return 1;
    }
    c->dept = dept;
    c->name = name;
    c->seq = svc_wall_us();
    /* which instance decided is part of the audit trail */
    const char *replica = config_str("AID_REPLICA", "");
    snprintf(c->decided_by, sizeof c->decided_by, "%s%s%s", name, *replica ? "." : "", replica);
    snprintf(c->topic, sizeof c->topic, "referral.%s", name);
    record_init(&c->batch);
    worker_config_t cfg = {name, c->topic, DEPT_BATCH, step, c, prepare};
    int rc = worker_run_depth(&cfg, depth);
    if (serving)
        own->stop(owner);
    record_free(&c->batch);
    free(c);
    return rc;
}

int dept_main(dept_t dept) { return dept_run(dept, NULL); }

int dept_main_owning(dept_t dept, const dept_owner_t *owner) { return dept_run(dept, owner); }
