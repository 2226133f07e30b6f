/* eligibility — assesses committed reports and fans them out.
 *
 * For each report not yet assessed: who is in which group, supplements,
 * visit plans and care categories (policy_assess), then one referral per
 * responsible department, all in one transaction with the assessment; then
 * referral.<department> is published to wake the departments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assessment_codec.h"
#include "log.h"
#include "mp.h"
#include "pgarr.h"
#include "proto.h"
#include "svc.h"
#include "worker.h"

#define ELIG_BATCH 64

typedef struct {
    report_t report;
    assessment_t assessment;
    pgarr_t ids, names, ages, groups, sups, visits, cares, depts;
} elig_ctx_t;

static void prepare(store_t *store)
{
    store_prepare(store, "elig_claim",
                  "SELECT report_id, case_id, body FROM reports WHERE assessed_at IS NULL"
                  " ORDER BY report_id LIMIT $1 FOR UPDATE SKIP LOCKED");
    store_prepare(store, "elig_record",
                  "SELECT o_department, o_referral_id, o_seq, $2::bigint FROM aid_record_assessment("
                  "$1::bigint, $2::bigint, $3::bytea, $4::text[], $5::text[], $6::int[],"
                  " $7::text[], $8::bigint[], $9::text[], $10::int[], $11::text[])");
}

static pgarr_t *arrays(elig_ctx_t *c, int k)
{
    pgarr_t *all[] = {&c->ids, &c->names, &c->ages, &c->groups,
                      &c->sups, &c->visits, &c->cares, &c->depts};
    return k < 8 ? all[k] : NULL;
}

/* Fills the statement's array parameters from the report and assessment. */
static void fill_arrays(elig_ctx_t *c)
{
    static const char *const visits[] = {"none", "month", "quarter"};
    for (int k = 0; arrays(c, k); k++)
        pgarr_reset(arrays(c, k));
    const report_t *r = &c->report;
    const assessment_t *a = &c->assessment;
    for (int i = 0; i < a->n; i++) {
        const person_facts_t *p = &a->persons[i];
        pgarr_add_text(&c->ids, r->members[i].id_number);
        pgarr_add_text(&c->names, r->members[i].name);
        pgarr_add_int(&c->ages, p->age);
        char g[POLICY_GROUP_COUNT * 4 + 1] = "";
        for (int b = 0; b < POLICY_GROUP_COUNT; b++)
            if (p->groups & (1u << b)) {
                size_t l = strlen(g);
                snprintf(g + l, sizeof g - l, "%s%s", l ? "," : "", policy_group_names[b]);
            }
        pgarr_add_text(&c->groups, g);
        pgarr_add_int(&c->sups, p->supplement_fen);
        pgarr_add_text(&c->visits, visits[p->visit]);
        pgarr_add_int(&c->cares, p->care_category);
    }
    for (int d = 0; d < DEPT_COUNT; d++)
        if (a->routing & (1u << d))
            pgarr_add_text(&c->depts, policy_dept_names[d]);
}

/* Assesses the report in row i; on a body that cannot be read (it was
 * validated at intake, so this is corruption) routes it nowhere and says so. */
static void assess_row(elig_ctx_t *c, const param_cache_t *pc, PGresult *r, int i)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    schema_err_t se;
    size_t len;
    unsigned char *body = store_bytea(r, i, 2, &len);
    if (!body || mp_unpack((const char *)body, len, &u) != MP_OK ||
        proto_report_decode(&u.data, date_today(), &c->report, &se) != 0) {
        log_error("report.unreadable", "report_id", LOG_S(PQgetvalue(r, i, 0)), NULL);
        memset(&c->report, 0, sizeof c->report);
        memset(&c->assessment, 0, sizeof c->assessment);
    } else {
        params_t p;
        params_store_resolve(pc, c->report.as_of, &p);
        policy_assess(&c->report, &p, &c->assessment);
    }
    PQfreemem(body);
    msgpack_unpacked_destroy(&u);
}

/* Publishes referral.<dept> for every referral created by the step. */
static void publish_referrals(worker_t *w, PGresult **made, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < PQntuples(made[i]); k++) {
            char topic[48];
            snprintf(topic, sizeof topic, "referral.%s", PQgetvalue(made[i], k, 0));
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            msgpack_packer pk;
            msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
            msgpack_pack_map(&pk, 4);
            mp_pack_kv_int(&pk, "seq", atoll(PQgetvalue(made[i], k, 2)));
            mp_pack_kv_int(&pk, "referral_id", atoll(PQgetvalue(made[i], k, 1)));
            mp_pack_kv_int(&pk, "case_id", atoll(PQgetvalue(made[i], k, 3)));
            mp_pack_kv_str(&pk, "department", PQgetvalue(made[i], k, 0));
            worker_publish(w, topic, sb.data, sb.size);
            msgpack_sbuffer_destroy(&sb);
        }
    }
}

static int step(worker_t *w, void *arg)
{
    elig_ctx_t *c = arg;
    store_t *store = worker_store(w);
    PGresult *made[ELIG_BATCH] = {0};
    int n = 0, done = 0;
    char limit[16];
    snprintf(limit, sizeof limit, "%d", ELIG_BATCH);
    const char *lv = limit;
    if (store_begin(store) != 0)
        return -1;
    PGresult *r = store_exec(store, "elig_claim", 1, &lv);
    if (!r)
        goto fail;
    n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        assess_row(c, worker_params(w), r, i);
        fill_arrays(c);
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        assessment_encode(&c->assessment, &pk);
        const char *vals[11] = {PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), sb.data};
        int lens[11] = {0, 0, (int)sb.size};
        int fmts[11] = {0, 0, 1};
        for (int k = 0; k < 8; k++)
            vals[3 + k] = pgarr_str(arrays(c, k));
        made[i] = store_exec_bin(store, "elig_record", 11, vals, lens, fmts);
        msgpack_sbuffer_destroy(&sb);
        if (!made[i])
            goto fail;
        done++;
        log_info("report.assessed", "report_id", LOG_S(PQgetvalue(r, i, 0)), "referrals",
                 LOG_I(PQntuples(made[i])), NULL);
    }
    if (store_commit(store) != 0)
        goto fail;
    publish_referrals(w, made, done);
    for (int i = 0; i < done; i++)
        PQclear(made[i]);
    PQclear(r);
    return n;
fail:
    log_warn("eligibility.step_failed", "error", LOG_S(store_errmsg(store)), NULL);
    for (int i = 0; i < done; i++)
        PQclear(made[i]);
    PQclear(r);
    store_rollback(store);
    return -1;
}

int main(void)
{
    svc_init("eligibility");
    elig_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return 1;
    for (int k = 0; arrays(c, k); k++)
        pgarr_init(arrays(c, k));
    worker_config_t cfg = {"eligibility", "report.committed", ELIG_BATCH, step, c, prepare};
    int rc = worker_run(&cfg);
    for (int k = 0; arrays(c, k); k++)
        pgarr_free(arrays(c, k));
    free(c);
    return rc;
}
