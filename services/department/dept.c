/* dept.c — claim, decide, record: the department step.
 *
 * Claims use FOR UPDATE SKIP LOCKED, so any number of instances of one
 * department share the work and never decide one referral twice; the
 * decisions primary key backs that up if code ever gets it wrong. */
#include "dept.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assessment_codec.h"
#include "idcard.h"
#include "log.h"
#include "mp.h"
#include "pgarr.h"
#include "proto.h"
#include "svc.h"
#include "worker.h"

#define DEPT_BATCH 64

typedef struct {
    dept_t dept;
    const char *name;
    char topic[48];
    int64_t seq;                       /* case.updated stream */
    pgarr_t rules, codes, persons, masks, amounts, periods, forms;
    report_t report;
    assessment_t assessment;
    decision_t decision;
} dept_ctx_t;

static void prepare(store_t *store)
{
    store_prepare(store, "dept_claim",
                  "SELECT f.referral_id, f.case_id, r.body, a.data"
                  "  FROM referrals f JOIN reports r USING (report_id)"
                  "  JOIN assessments a USING (report_id)"
                  " WHERE f.department = $1 AND f.status = 'pending'"
                  " ORDER BY f.seq LIMIT $2 FOR UPDATE OF f SKIP LOCKED");
    store_prepare(store, "dept_record",
                  "SELECT aid_record_decision($1::bigint, $2, $3, $4::text[], $5::text[],"
                  " $6::int[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11)");
}

/* Decodes the stored report and assessment of row i and decides. */
static int decide_row(dept_ctx_t *c, const param_cache_t *pc, PGresult *r, int i)
{
    msgpack_unpacked ub, ua;
    msgpack_unpacked_init(&ub);
    msgpack_unpacked_init(&ua);
    schema_err_t se;
    int rc = -1;
    size_t blen, alen;
    unsigned char *body = store_bytea(r, i, 2, &blen), *data = store_bytea(r, i, 3, &alen);
    if (!body || !data || mp_unpack((const char *)body, blen, &ub) != MP_OK ||
        proto_report_decode(&ub.data, date_today(), &c->report, &se) != 0 ||
        mp_unpack((const char *)data, alen, &ua) != MP_OK ||
        assessment_decode(&ua.data, c->report.n_members, &c->assessment) != 0)
        goto out;
    params_t p;
    params_store_resolve(pc, c->report.as_of, &p);
    policy_decide(c->dept, &c->report, &c->assessment, &p, &c->decision);
    rc = 0;
out:
    PQfreemem(body);
    PQfreemem(data);
    msgpack_unpacked_destroy(&ub);
    msgpack_unpacked_destroy(&ua);
    return rc;
}

/* Records c->decision for referral rid; 1 recorded, 0 already decided, -1 error. */
static int record(dept_ctx_t *c, store_t *store, const char *rid)
{
    const decision_t *d = &c->decision;
    pgarr_t *arrs[] = {&c->rules, &c->codes, &c->persons, &c->masks,
                       &c->amounts, &c->periods, &c->forms};
    for (size_t k = 0; k < sizeof arrs / sizeof arrs[0]; k++)
        pgarr_reset(arrs[k]);
    for (int k = 0; k < d->n_rules; k++)
        pgarr_add_text(&c->rules, d->rules[k]);
    for (int k = 0; k < d->n_measures; k++) {
        const measure_t *m = &d->measures[k];
        pgarr_add_text(&c->codes, m->code);
        if (m->person >= 0 && m->person < c->report.n_members) {
            char masked[20];
            idcard_mask(c->report.members[m->person].id_number, 18, masked, sizeof masked);
            pgarr_add_int(&c->persons, m->person);
            pgarr_add_text(&c->masks, masked);
        } else {
            pgarr_add_null(&c->persons);
            pgarr_add_null(&c->masks);
        }
        pgarr_add_int(&c->amounts, m->amount_fen);
        pgarr_add_text(&c->periods, policy_period_names[m->period]);
        pgarr_add_text(&c->forms, policy_form_names[m->form]);
    }
    const char *vals[11] = {rid,
                            policy_status_names[d->status],
                            d->reason,
                            pgarr_str(&c->rules),
                            pgarr_str(&c->codes),
                            pgarr_str(&c->persons),
                            pgarr_str(&c->masks),
                            pgarr_str(&c->amounts),
                            pgarr_str(&c->periods),
                            pgarr_str(&c->forms),
                            c->name};
    for (int k = 3; k < 10; k++)
        if (!vals[k])
            return -1;
    PGresult *res = store_exec(store, "dept_record", 11, vals);
    if (!res)
        return -1;
    int fresh = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return fresh;
}

static void publish_updates(dept_ctx_t *c, worker_t *w, PGresult *r, const int *fresh, int n)
{
    for (int i = 0; i < n; i++) {
        if (!fresh[i])
            continue;
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 4);
        mp_pack_kv_int(&pk, "seq", ++c->seq);
        mp_pack_kv_int(&pk, "case_id", atoll(PQgetvalue(r, i, 1)));
        mp_pack_kv_int(&pk, "referral_id", atoll(PQgetvalue(r, i, 0)));
        mp_pack_kv_str(&pk, "department", c->name);
        worker_publish(w, "case.updated", sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
    }
}

static int step(worker_t *w, void *arg)
{
    dept_ctx_t *c = arg;
    store_t *store = worker_store(w);
    char limit[16];
    snprintf(limit, sizeof limit, "%d", DEPT_BATCH);
    const char *vals[2] = {c->name, limit};
    if (store_begin(store) != 0)
        return -1;
    PGresult *r = store_exec(store, "dept_claim", 2, vals);
    if (!r)
        goto fail;
    int n = PQntuples(r);
    int fresh[DEPT_BATCH] = {0};
    for (int i = 0; i < n; i++) {
        const char *rid = PQgetvalue(r, i, 0);
        if (decide_row(c, worker_params(w), r, i) != 0) {
            /* a stored report that no longer decodes: refuse it visibly
             * rather than block the queue */
            memset(&c->decision, 0, sizeof c->decision);
            c->decision.status = STATUS_DENIED;
            snprintf(c->decision.reason, sizeof c->decision.reason,
                     "stored report could not be read; an operator must review it");
            log_error("referral.unreadable", "referral_id", LOG_S(rid), NULL);
        }
        int rc = record(c, store, rid);
        if (rc < 0)
            goto fail;
        fresh[i] = rc;
        log_info("referral.decided", "referral_id", LOG_S(rid), "status",
                 LOG_S(policy_status_names[c->decision.status]), "measures",
                 LOG_I(c->decision.n_measures), NULL);
    }
    if (store_commit(store) != 0)
        goto fail;
    publish_updates(c, w, r, fresh, n);
    PQclear(r);
    return n;
fail:
    log_warn("dept.step_failed", "error", LOG_S(store_errmsg(store)), NULL);
    PQclear(r);
    store_rollback(store);
    return -1;
}

int dept_main(dept_t dept)
{
    const char *name = policy_dept_names[dept];
    svc_init(name);
    dept_ctx_t *c = calloc(1, sizeof *c); /* large: reports and decisions */
    if (!c)
        return 1;
    c->dept = dept;
    c->name = name;
    c->seq = svc_wall_us();
    snprintf(c->topic, sizeof c->topic, "referral.%s", name);
    pgarr_t *arrs[] = {&c->rules, &c->codes, &c->persons, &c->masks,
                       &c->amounts, &c->periods, &c->forms};
    for (size_t k = 0; k < sizeof arrs / sizeof arrs[0]; k++)
        pgarr_init(arrs[k]);
    worker_config_t cfg = {name, c->topic, DEPT_BATCH, step, c, prepare};
    int rc = worker_run(&cfg);
    for (size_t k = 0; k < sizeof arrs / sizeof arrs[0]; k++)
        pgarr_free(arrs[k]);
    free(c);
    return rc;
}
