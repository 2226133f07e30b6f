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
 * text.
 *
 * The departments host (dept_host_main, below) runs the same step for every
 * built-in department at once in one process: one claim, each row decided by
 * its own department's policy, one record of them all with COMMIT. */
#include "dept.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assessment_codec.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "mp.h"
#include "pii.h"
#include "proto.h"
#include "record.h"
#include "svc.h"
#include "worker.h"

#define DEPT_BATCH 256
/* the host's claim takes up to this many of each department's referrals: up
 * to nine times as many rows in one result as a department's own step */
#define HOST_BATCH 128

typedef struct {
    dept_t dept;
    const char *name;
    char topic[48];
    int64_t seq;                       /* case.updated stream */
    char decided_by[48];               /* "civil", or "civil.2" for replica 2 */
    record_batch_t batch;              /* the decisions of one step */
    report_t report;                   /* its own process's: the host decodes into its own */
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

/* Decodes the stored report and assessment of row i (the report body in
 * column col, sealed: common/pii.h; the assessment after it) and applies to the
 * report the household status eligibility took from the case's entitlements
 * (§17: the same for every department). 0 when both decode, -1 when they do not. */
static int decode_row(PGresult *r, int i, int col, report_t *report, assessment_t *assessment)
{
    msgpack_unpacked ub, ua;
    msgpack_unpacked_init(&ub);
    msgpack_unpacked_init(&ua);
    schema_err_t se;
    int rc = -1;
    const char *data = PQgetvalue(r, i, col + 1);
    size_t blen = 0, alen = (size_t)PQgetlength(r, i, col + 1);
    char *body = (char *)pii_open_alloc(PII_AD_REPORT, PQgetvalue(r, i, col),
                                        (size_t)PQgetlength(r, i, col), &blen);
    if (body && mp_unpack(body, blen, &ub) == MP_OK &&
        proto_report_decode(&ub.data, date_today(), report, &se) == 0 &&
        mp_unpack(data, alen, &ua) == MP_OK &&
        assessment_decode(&ua.data, report->n_members, assessment) == 0) {
        policy_entitled_apply(report, &assessment->entitled);
        rc = 0;
    }
    msgpack_unpacked_destroy(&ub);
    msgpack_unpacked_destroy(&ua);
    free(body);
    return rc;
}

/* Decides c's department on report and assessment as decode_row left them. */
static void decide_decoded(dept_ctx_t *c, const param_cache_t *pc, const report_t *report,
                           const assessment_t *assessment)
{
    params_t p;
    params_store_resolve(pc, report->as_of, &p);
    policy_decide(c->dept, report, assessment, &p, &c->decision);
    if (assessment->entitled.changed) { /* the decision says which status it used (§17) */
        char note[PROTO_STR_MAX + 1];
        policy_entitled_note(&assessment->entitled, note, sizeof note);
        size_t len = strlen(c->decision.reason);
        snprintf(c->decision.reason + len, sizeof c->decision.reason - len, "%s%s",
                 len ? "; " : "", note);
    }
}

static void publish_update(const char *dept, int64_t *seq, worker_t *w, int64_t case_id,
                           int64_t rid)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    mp_pack_kv_int(&pk, "seq", ++*seq);
    mp_pack_kv_int(&pk, "case_id", case_id);
    mp_pack_kv_int(&pk, "referral_id", rid);
    mp_pack_kv_str(&pk, "department", dept);
    worker_publish(w, "case.updated", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Adds c's decision on referral rid (of report) to batch b: the one c->decision
 * holds, or, when its report did not decode (decided 0), a denial saying so. */
static void add_decision(dept_ctx_t *c, record_batch_t *b, int64_t rid, const report_t *report,
                         int decided)
{
    if (!decided) {
        /* a stored report that no longer decodes: refuse it visibly
         * rather than block the queue */
        memset(&c->decision, 0, sizeof c->decision);
        c->decision.status = STATUS_DENIED;
        snprintf(c->decision.reason, sizeof c->decision.reason,
                 "stored report could not be read; an operator must review it");
        log_error("referral.unreadable", "referral_id", LOG_I(rid), NULL);
    }
    record_entry_t e = {rid, &c->decision, report};
    record_add(b, &e);
    log_debug("referral.decided", "referral_id", LOG_I(rid), "status",
              LOG_S(proto_statuses[c->decision.status]), "measures",
              LOG_I(c->decision.n_measures), NULL);
}

/* Decides row i (referral id in column col, the case, body and assessment
 * after it) for c's department and adds the decision to batch b. */
static void decide_into(dept_ctx_t *c, record_batch_t *b, const param_cache_t *pc, PGresult *r,
                        int i, int col)
{
    int decided = decode_row(r, i, col + 2, &c->report, &c->assessment) == 0;
    if (decided)
        decide_decoded(c, pc, &c->report, &c->assessment);
    add_decision(c, b, store_i64(r, i, col), &c->report, decided);
}

/* Announces each referral of made (recorded now, not before) with its case from
 * the claim r (referral id in column col, the case after it) and its department
 * (dept, or when NULL the column before col); returns how many. */
static int announce(worker_t *w, const char *dept, int64_t *seq, PGresult *made, PGresult *r,
                    int col)
{
    const worker_metrics_t *wm = worker_metrics(w);
    int n = PQntuples(r), fresh = PQntuples(made);
    for (int k = 0, i = 0; k < fresh; k++) {
        int64_t rid = atoll(PQgetvalue(made, k, 0));
        for (int tries = 0; tries < n && store_i64(r, i, col) != rid; tries++)
            i = (i + 1) % n;
        publish_update(dept ? dept : PQgetvalue(r, i, col - 1), seq, w, store_i64(r, i, col + 1),
                       rid);
        metric_observe_us(wm->latency, store_i64(r, i, col + 4));
    }
    metric_add(wm->decided, fresh);
    return fresh;
}

/* A step that failed: logged, its results freed, its transaction rolled back. */
static int step_failed(store_t *store, PGresult *made, PGresult *claimed)
{
    log_warn("dept.step_failed", "error", LOG_S(store_errmsg(store)), NULL);
    PQclear(made);
    PQclear(claimed);
    store_rollback(store);
    return -1;
}

static int step(worker_t *w, void *arg)
{
    dept_ctx_t *c = arg;
    store_t *store = worker_store(w);
    PGresult *r, *made = NULL;
    int n = worker_claim(w, "dept_claim", 0, NULL, &r);
    if (n < 0)
        goto fail;
    if (n == 0)
        return 0;
    record_reset(&c->batch);
    for (int i = 0; i < n; i++)
        decide_into(c, &c->batch, worker_params(w), r, i, 0);
    const char *vals[RECORD_PARAMS];
    if (record_params(&c->batch, c->decided_by, vals) != 0)
        goto fail;
    made = store_exec_commit(store, "dept_record_batch", RECORD_PARAMS, vals);
    if (!made)
        goto fail;
    int fresh = announce(w, c->name, &c->seq, made, r, 0);
    log_info("referrals.decided", "claimed", LOG_I(n), "decided", LOG_I(fresh), NULL);
    PQclear(made);
    PQclear(r);
    return n;
fail:
    return step_failed(store, made, r);
}

static int64_t depth(worker_t *w, void *arg)
{
    const char *v = ((dept_ctx_t *)arg)->name;
    return worker_count(w, "dept_depth", 1, &v);
}

/* ---------------------------------------------------------------- the host */

/* The departments host (dept_host_main): every built-in department not run
 * by an external handler, decided by one process in one session. A step is
 * one transaction for all of them: aid_host_claim takes up to HOST_BATCH
 * pending referrals of each, each is decided by its department's policy, and
 * one aid_host_record of all the decisions (each with its department) is sent
 * with COMMIT. At a few hundred reports a second a department process steps
 * for a handful of referrals, and nine of them cost nine transactions, nine
 * wake-ups and nine sessions for what one does here. */
typedef struct {
    dept_ctx_t *ctx[DEPT_COUNT]; /* the hosted departments; NULL when not hosted */
    char depts[DEPT_COUNT * 16]; /* "{civil,tempaid,…}": their names as a text[] */
    const char *instance;        /* AID_REPLICA: "2" records "civil.2"; "" none */
    record_batch_t batch;        /* the decisions of one step, every department's */
    pgarr_t of;                  /* the department of each */
    int64_t seq;                 /* case.updated stream */
    /* the report of the rows being decided, decoded once for all its
     * referrals (the claim sends it with the first of them only) */
    report_t report;
    assessment_t assessment;
    int decoded;                 /* 1: report and assessment hold it */
} host_t;

static void host_prepare(store_t *store)
{
    /* worker_claim: the batch size first */
    store_prepare(store, "host_claim", "SELECT * FROM aid_host_claim($2::text[], $1::int)");
    /* the departments last: RECORD_SQL_ARGS are $1..$13, $13 the instance */
    store_prepare(store, "host_record",
                  "SELECT o_referral_id FROM aid_host_record($14::text[], " RECORD_SQL_ARGS ")");
    store_prepare(store, "host_depth", "SELECT aid_host_depth($1::text[])");
}

static int host_dept_of(const host_t *h, const char *name)
{
    for (int d = 0; d < DEPT_COUNT; d++)
        if (h->ctx[d] && strcmp(policy_dept_names[d], name) == 0)
            return d;
    return -1;
}

static int host_step(worker_t *w, void *arg)
{
    host_t *h = arg;
    store_t *store = worker_store(w);
    PGresult *r, *made = NULL;
    const char *names = h->depts;
    int n = worker_claim(w, "host_claim", 1, &names, &r);
    if (n < 0)
        goto fail;
    if (n == 0)
        return 0;
    int count[DEPT_COUNT] = {0}, most = 0, depts = 0;
    h->decoded = 0;
    record_reset(&h->batch);
    pgarr_reset(&h->of);
    for (int i = 0; i < n; i++) {
        const char *name = PQgetvalue(r, i, 0);
        int d = host_dept_of(h, name);
        if (d < 0) { /* aid_host_claim returns only the departments asked for */
            log_error("host.unknown_department", "referral_id", LOG_I(store_i64(r, i, 1)), NULL);
            goto fail;
        }
        /* a report's referrals come together, its body with the first */
        if (!PQgetisnull(r, i, 3))
            h->decoded = decode_row(r, i, 3, &h->report, &h->assessment) == 0;
        dept_ctx_t *c = h->ctx[d];
        if (h->decoded)
            decide_decoded(c, worker_params(w), &h->report, &h->assessment);
        add_decision(c, &h->batch, store_i64(r, i, 1), &h->report, h->decoded);
        pgarr_add_text(&h->of, name);
        depts += !count[d]++;
        if (count[d] > most)
            most = count[d];
    }
    /* every decision in one statement, with COMMIT in the same round trip */
    const char *vals[RECORD_PARAMS + 1];
    if (record_params(&h->batch, h->instance, vals) != 0)
        goto fail;
    if (!(vals[RECORD_PARAMS] = pgarr_str(&h->of)))
        goto fail;
    made = store_exec_commit(store, "host_record", RECORD_PARAMS + 1, vals);
    if (!made)
        goto fail;
    int fresh = announce(w, NULL, &h->seq, made, r, 1);
    log_info("referrals.decided", "claimed", LOG_I(n), "decided", LOG_I(fresh), "departments",
             LOG_I(depts), NULL);
    PQclear(made);
    PQclear(r);
    return most; /* a department whose batch was full: the worker steps again */
fail:
    return step_failed(store, made, r);
}

static int64_t host_depth(worker_t *w, void *arg)
{
    const char *v = ((host_t *)arg)->depts;
    return worker_count(w, "host_depth", 1, &v);
}

/* The name a department's decisions are recorded under: "civil", or
 * "civil.2" when this process is replica 2 (the audit trail says which). */
static void decided_by_of(dept_ctx_t *c)
{
    const char *replica = config_str("AID_REPLICA", "");
    snprintf(c->decided_by, sizeof c->decided_by, "%s%s%s", c->name, *replica ? "." : "",
             replica);
}

int dept_host_main(void)
{
    svc_init("departments");
    svc_require_pii();
    host_t *h = calloc(1, sizeof *h);
    if (!h)
        return 1;
    h->seq = svc_wall_us();
    h->instance = config_str("AID_REPLICA", "");
    record_init(&h->batch);
    pgarr_init(&h->of);
    size_t len = 0;
    int rc = 1, hosted = 0;
    len += (size_t)snprintf(h->depts, sizeof h->depts, "{");
    for (int d = 0; d < DEPT_COUNT; d++) {
        const char *name = policy_dept_names[d];
        if (config_list_has("AID_EXTERNAL_DEPARTMENTS", name))
            continue; /* its own handler decides (decision.submit) */
        dept_ctx_t *c = h->ctx[d] = calloc(1, sizeof *c); /* large: reports and decisions */
        if (!c)
            goto out;
        c->dept = (dept_t)d;
        c->name = name;
        len += (size_t)snprintf(h->depts + len, sizeof h->depts - len, "%s%s", hosted ? "," : "",
                                name);
        hosted++;
    }
    snprintf(h->depts + len, sizeof h->depts - len, "}");
    log_info("host.departments", "departments", LOG_S(h->depts), NULL);
    if (!hosted) {
        log_error("host.no_department", "why", LOG_S("every department is external"), NULL);
        goto out;
    }
    worker_config_t cfg = {"departments", "referral.", HOST_BATCH, host_step, h, host_prepare};
    rc = worker_run_depth(&cfg, host_depth);
out:
    for (int d = 0; d < DEPT_COUNT; d++)
        free(h->ctx[d]);
    record_free(&h->batch);
    pgarr_free(&h->of);
    free(h);
    return rc;
}

static int dept_run(dept_t dept, const dept_owner_t *own)
{
    const char *name = policy_dept_names[dept];
    svc_init(name);
    svc_require_pii();
    pthread_t owner;
    bool serving = own && own->start(name, &owner) == 0;
    /* a department that runs its own handler (decision.submit), or that the
     * departments host decides (AID_DEPARTMENTS_HOST=1): its worker is not
     * started, its operations are served */
    bool external = config_list_has("AID_EXTERNAL_DEPARTMENTS", name);
    if (external || config_int("AID_DEPARTMENTS_HOST", 0, 0, 1)) {
        log_info(external ? "dept.external" : "dept.hosted", "department", LOG_S(name), NULL);
        if (serving) {
            /* still a running service: its metrics port answers (/readyz) */
            metrics_t *m = metrics_new(name);
            metrics_readiness(m, config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
            metrics_listen(m);
            pthread_join(owner, NULL); /* its operations, until SIGTERM */
            metrics_destroy(&m);
        }
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
    decided_by_of(c);
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
