/* eligibility — assesses committed reports and fans them out.
 *
 * For each report not yet assessed: who is in which group, supplements,
 * visit plans and care categories (policy_assess), then one referral per
 * responsible department. One step is one transaction over a batch of up to
 * ELIG_BATCH reports: claim (FOR UPDATE SKIP LOCKED, binary result), assess
 * each in memory, store every assessment, person row and referral with one
 * set-based statement (aid_record_assessments, migration 021), commit; then
 * referral.<department> is published for each referral made. A report whose
 * stored body cannot be read is held in the queue instead (045), in the same
 * transaction: nothing is recorded for it and its case stays incomplete.
 * Household status comes from the case's entitlements where the report says
 * otherwise (POLICY.md §17): one aid_entitled_status call per batch, after
 * the claim, and the assessment records what was replaced (policy/entitled.c).
 * A `death` circumstance naming a person ends that person's entitlements at the
 * end of the month and recomputes the household's dibao allowance for the
 * living: one aid_entitlements_report_deaths call per batch that names one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assessment_codec.h"
#include "log.h"
#include "mp.h"
#include "pgarr.h"
#include "pii.h"
#include "proto.h"
#include "svc.h"
#include "worker.h"

#define ELIG_BATCH 256

/* The arrays of one aid_entitlements_report_deaths call, in parameter order. */
enum { D_REPORTS, D_CASES, D_HASHES, D_MONTHS, D_PCI, D_LIVING, D_COUNT };

/* The arrays of one aid_record_assessments call, in parameter order. */
enum { A_REPORTS, A_CASES, A_DATA, A_PREPORT, A_PIDX, A_IDS, A_NAMES, A_AGES, A_GROUPS, A_SUPS,
       A_VISITS, A_CARES, A_RREPORT, A_RDEPT, A_COUNT };

typedef struct {
    report_t report;
    assessment_t assessment;
    pgarr_t arr[A_COUNT];
    pgarr_t held;                /* reports of the batch that cannot be read */
    pgarr_t claimed;             /* the batch's report ids (aid_entitled_status) */
    pgarr_t deaths[D_COUNT];     /* deaths the batch's reports name */
    int n_deaths;
    msgpack_sbuffer sb;          /* one encoded assessment */
    char *hex;                   /* its hex form */
    size_t hexcap;
} elig_ctx_t;

static void prepare(store_t *store)
{
    store_prepare(store, "elig_claim",
                  "WITH q AS (SELECT report_id FROM report_queue WHERE held IS NULL"
                  "            ORDER BY report_id LIMIT $1 FOR UPDATE SKIP LOCKED)"
                  "SELECT r.report_id, r.case_id, r.body,"
                  " (extract(epoch FROM clock_timestamp() - r.received_at) * 1000000)::bigint"
                  "  FROM q JOIN reports r USING (report_id) ORDER BY r.report_id");
    store_prepare(store, "elig_record_batch",
                  "SELECT o_report, o_case, o_department, o_referral_id, o_seq"
                  "  FROM aid_record_assessments($1::bigint[], $2::bigint[], $3::text[],"
                  " $4::bigint[], $5::int[], $6::text[], $7::text[], $8::int[], $9::text[],"
                  " $10::bigint[], $11::text[], $12::int[], $13::bigint[], $14::text[])");
    store_prepare(store, "elig_hold",
                  "UPDATE report_queue SET held = $2 WHERE report_id = ANY ($1::bigint[])");
    store_prepare(store, "elig_entitled",
                  "SELECT report_id, dibao, tekun FROM aid_entitled_status($1::bigint[])"
                  " ORDER BY report_id");
    store_prepare(store, "elig_deaths",
                  "SELECT aid_entitlements_report_deaths($1::bigint[], $2::bigint[], $3::text[],"
                  " $4::date[], $5::bigint[], $6::int[])");
    store_prepare(store, "elig_depth", "SELECT count(*) FROM report_queue WHERE held IS NULL");
}

/* The members of report r with tekun by entitlement: bit i when member i's ID
 * hash is in the text array literal tekun ({hex,hex,...}). */
static uint32_t tekun_bits(const report_t *r, const char *tekun)
{
    uint32_t bits = 0;
    for (int i = 0; i < r->n_members && i < 32; i++) {
        char h[PII_HASH_HEX];
        pii_hash_hex(r->members[i].id_number, h);
        if (strstr(tekun, h))
            bits |= 1u << i;
    }
    return bits;
}

/* Assesses the report in row i: 0, or -1 when its stored body cannot be
 * opened or decoded (it was validated at intake, so it is damaged). ent is
 * its row in the aid_entitled_status result, or -1: the report's status stands. */
static int assess_row(elig_ctx_t *c, const param_cache_t *pc, PGresult *r, int i,
                      PGresult *ents, int ent)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    schema_err_t se;
    size_t len = 0; /* the body is stored sealed (common/pii.h) */
    unsigned char *body = pii_open_alloc(PII_AD_REPORT, PQgetvalue(r, i, 2),
                                         (size_t)PQgetlength(r, i, 2), &len);
    int rc = -1;
    if (body && mp_unpack((const char *)body, len, &u) == MP_OK &&
        proto_report_decode(&u.data, date_today(), &c->report, &se) == 0) {
        params_t p;
        params_store_resolve(pc, c->report.as_of, &p);
        entitled_t e = {0};
        if (ent >= 0)
            policy_entitled(&c->report, PQgetvalue(ents, ent, 1)[0] == 't',
                            tekun_bits(&c->report, PQgetvalue(ents, ent, 2)), &e);
        policy_assess(&c->report, &p, &c->assessment);
        c->assessment.entitled = e;
        rc = 0;
    }
    msgpack_unpacked_destroy(&u);
    free(body);
    return rc;
}

/* Appends the report's assessment, persons and routes to the arrays. 0 or -1 (OOM). */
static int add_report(elig_ctx_t *c, int64_t report_id, int64_t case_id)
{
    static const char *const visits[] = {"none", "month", "quarter"};
    static const char hexd[] = "0123456789abcdef";
    const report_t *r = &c->report;
    const assessment_t *a = &c->assessment;
    msgpack_sbuffer_clear(&c->sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c->sb, msgpack_sbuffer_write);
    assessment_encode(a, &pk);
    if (c->hexcap < c->sb.size * 2 + 1) {
        char *h = realloc(c->hex, c->sb.size * 2 + 1);
        if (!h)
            return -1;
        c->hex = h;
        c->hexcap = c->sb.size * 2 + 1;
    }
    for (size_t k = 0; k < c->sb.size; k++) {
        c->hex[2 * k] = hexd[(unsigned char)c->sb.data[k] >> 4];
        c->hex[2 * k + 1] = hexd[(unsigned char)c->sb.data[k] & 15];
    }
    c->hex[2 * c->sb.size] = '\0';
    pgarr_add_int(&c->arr[A_REPORTS], report_id);
    pgarr_add_int(&c->arr[A_CASES], case_id);
    pgarr_add_text(&c->arr[A_DATA], c->hex);
    for (int i = 0; i < a->n; i++) {
        const person_facts_t *p = &a->persons[i];
        pgarr_add_int(&c->arr[A_PREPORT], report_id);
        pgarr_add_int(&c->arr[A_PIDX], i);
        char h[PII_HASH_HEX];
        pii_hash_hex(r->members[i].id_number, h);
        pgarr_add_text(&c->arr[A_IDS], h);
        pgarr_add_text(&c->arr[A_NAMES], r->members[i].name);
        pgarr_add_int(&c->arr[A_AGES], p->age);
        char g[POLICY_GROUP_COUNT * 4 + 1] = "";
        for (int b = 0; b < POLICY_GROUP_COUNT; b++)
            if (p->groups & (1u << b)) {
                size_t l = strlen(g);
                snprintf(g + l, sizeof g - l, "%s%s", l ? "," : "", policy_group_names[b]);
            }
        pgarr_add_text(&c->arr[A_GROUPS], g);
        pgarr_add_int(&c->arr[A_SUPS], p->supplement_fen);
        pgarr_add_text(&c->arr[A_VISITS], visits[p->visit]);
        pgarr_add_int(&c->arr[A_CARES], p->care_category);
    }
    for (int k = 0; k < r->n_circumstances; k++) { /* a death naming the person (§17) */
        const circumstance_t *ci = &r->circumstances[k];
        if (ci->kind != CIRC_DEATH || !ci->id_number[0])
            continue;
        char h[PII_HASH_HEX], month[11];
        pii_hash_hex(ci->id_number, h);
        date_format(ci->occurred_on, month);
        pgarr_add_int(&c->deaths[D_REPORTS], report_id);
        pgarr_add_int(&c->deaths[D_CASES], case_id);
        pgarr_add_text(&c->deaths[D_HASHES], h);
        pgarr_add_text(&c->deaths[D_MONTHS], month);
        pgarr_add_int(&c->deaths[D_PCI], a->per_capita_income_fen);
        pgarr_add_int(&c->deaths[D_LIVING], r->n_members);
        c->n_deaths++;
    }
    for (int d = 0; d < DEPT_COUNT; d++)
        if (a->routing & (1u << d)) {
            pgarr_add_int(&c->arr[A_RREPORT], report_id);
            pgarr_add_text(&c->arr[A_RDEPT], policy_dept_names[d]);
        }
    return 0;
}

/* Publishes referral.<dept> for every referral the step made. */
static void publish_referrals(worker_t *w, PGresult *made)
{
    for (int k = 0; k < PQntuples(made); k++) {
        char topic[48];
        snprintf(topic, sizeof topic, "referral.%s", PQgetvalue(made, k, 2));
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 4);
        mp_pack_kv_int(&pk, "seq", atoll(PQgetvalue(made, k, 4)));
        mp_pack_kv_int(&pk, "referral_id", atoll(PQgetvalue(made, k, 3)));
        mp_pack_kv_int(&pk, "case_id", atoll(PQgetvalue(made, k, 1)));
        mp_pack_kv_str(&pk, "department", PQgetvalue(made, k, 2));
        worker_publish(w, topic, sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
    }
}

/* Holds the reports of ids in the queue (045): claims skip them from now on,
 * their cases stay incomplete. In the batch's transaction. 0 or -1. */
static int hold(store_t *store, pgarr_t *ids)
{
    const char *vals[2] = {pgarr_str(ids), "unreadable: the stored body does not open or decode"};
    if (!vals[0])
        return -1;
    PGresult *r = store_exec(store, "elig_hold", 2, vals);
    int rc = r ? 0 : -1;
    PQclear(r);
    return rc;
}

/* Ends the entitlements of the persons whose death the batch's reports name
 * (aid_entitlements_report_deaths), in the batch's transaction. 0 or -1. */
static int ended_deaths(elig_ctx_t *c, store_t *store)
{
    const char *vals[D_COUNT];
    for (int k = 0; k < D_COUNT; k++)
        if (!(vals[k] = pgarr_str(&c->deaths[k])))
            return -1;
    PGresult *r = store_exec(store, "elig_deaths", D_COUNT, vals);
    if (!r)
        return -1;
    log_info("reports.deaths", "deaths", LOG_I(c->n_deaths), "ended", LOG_I(atoll(PQgetvalue(r, 0, 0))),
             NULL);
    PQclear(r);
    return 0;
}

static int step(worker_t *w, void *arg)
{
    elig_ctx_t *c = arg;
    store_t *store = worker_store(w);
    const worker_metrics_t *wm = worker_metrics(w);
    PGresult *r, *made = NULL, *ents = NULL;
    int n = worker_claim(w, "elig_claim", 0, NULL, &r);
    if (n < 0)
        goto fail;
    if (n == 0)
        return 0;
    for (int k = 0; k < A_COUNT; k++)
        pgarr_reset(&c->arr[k]);
    pgarr_reset(&c->held);
    pgarr_reset(&c->claimed);
    for (int k = 0; k < D_COUNT; k++)
        pgarr_reset(&c->deaths[k]);
    c->n_deaths = 0;
    for (int i = 0; i < n; i++)
        pgarr_add_int(&c->claimed, store_i64(r, i, 0));
    const char *cv = pgarr_str(&c->claimed);
    if (!cv || !(ents = store_exec(store, "elig_entitled", 1, &cv)))
        goto fail;
    int held = 0, ne = PQntuples(ents), ei = 0;
    for (int i = 0; i < n; i++) {
        int64_t report_id = store_i64(r, i, 0);
        while (ei < ne && atoll(PQgetvalue(ents, ei, 0)) < report_id)
            ei++; /* both ordered by report_id */
        int ent = ei < ne && atoll(PQgetvalue(ents, ei, 0)) == report_id ? ei : -1;
        if (assess_row(c, worker_params(w), r, i, ents, ent) != 0) {
            log_error("report.unreadable", "report_id", LOG_I(report_id), "action", LOG_S("held"),
                      NULL);
            pgarr_add_int(&c->held, report_id);
            held++;
            continue;
        }
        if (add_report(c, report_id, store_i64(r, i, 1)) != 0)
            goto fail;
        log_debug("report.assessed", "report_id", LOG_I(report_id), NULL);
    }
    if (held && hold(store, &c->held) != 0)
        goto fail;
    if (held == n) { /* nothing readable: only the holds to commit */
        if (store_commit(store) != 0)
            goto fail;
        PQclear(ents);
        PQclear(r);
        return n;
    }
    if (c->n_deaths && ended_deaths(c, store) != 0)
        goto fail;
    const char *vals[A_COUNT];
    for (int k = 0; k < A_COUNT; k++)
        if (!(vals[k] = pgarr_str(&c->arr[k])))
            goto fail;
    made = store_exec_commit(store, "elig_record_batch", A_COUNT, vals);
    if (!made)
        goto fail;
    publish_referrals(w, made);
    metric_add(wm->decided, n - held);
    for (int i = 0; i < n; i++)
        metric_observe_us(wm->latency, store_i64(r, i, 3));
    log_info("reports.assessed", "reports", LOG_I(n - held), "referrals", LOG_I(PQntuples(made)),
             NULL);
    PQclear(made);
    PQclear(ents);
    PQclear(r);
    return n;
fail:
    log_warn("eligibility.step_failed", "error", LOG_S(store_errmsg(store)), NULL);
    PQclear(made);
    PQclear(ents);
    PQclear(r);
    store_rollback(store);
    return -1;
}

static int64_t depth(worker_t *w, void *arg)
{
    (void)arg;
    return worker_count(w, "elig_depth", 0, NULL);
}

int main(void)
{
    svc_init("eligibility");
    svc_require_pii();
    elig_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return 1;
    for (int k = 0; k < A_COUNT; k++)
        pgarr_init(&c->arr[k]);
    pgarr_init(&c->held);
    pgarr_init(&c->claimed);
    for (int k = 0; k < D_COUNT; k++)
        pgarr_init(&c->deaths[k]);
    msgpack_sbuffer_init(&c->sb);
    worker_config_t cfg = {"eligibility", "report.committed", ELIG_BATCH, step, c, prepare};
    int rc = worker_run_depth(&cfg, depth);
    for (int k = 0; k < A_COUNT; k++)
        pgarr_free(&c->arr[k]);
    pgarr_free(&c->held);
    pgarr_free(&c->claimed);
    for (int k = 0; k < D_COUNT; k++)
        pgarr_free(&c->deaths[k]);
    msgpack_sbuffer_destroy(&c->sb);
    free(c->hex);
    free(c);
    return rc;
}
