/* op_ledger.c — `ledger.monthly`, `ledger.submit` (R-LEDGER-MONTHLY) and
 * `disclosure.list` (R-DISCLOSE), POLICY.md §12–13, proto/CARE.md.
 *
 * The figures are computed by aid_ledger and aid_ledger_benefits (entitlements,
 * payroll, re-checks, exits; ops/sql/80_supervision.sql) in one REPEATABLE
 * READ snapshot, with the townships and departments that have not submitted
 * (aid_ledger_missing; a department submits too, R-LEDGER-MONTHLY); only the centralized-care rate needs this file:
 * whether a tekun person is dispersed or centralized is in the report body,
 * so the tekun households' latest reports are decoded here. The public list
 * carries a masked name, the household size, the measure and its amount —
 * never an ID number, never a health or disability detail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care.h"
#include "idcard.h"
#include "mp.h"
#include "pii.h"
#include "rules.h"
#include "opctx.h"
#include "write.h"

/* The cash measures the public list shows. civil.tekun_care (its amount
 * follows the person's self-care ability) and medical.retro_aid (medical
 * expenses) would disclose health or disability and are never shown. */
#define DISCLOSED_CODES                                                              \
    "'civil.dibao_supplement', 'civil.tekun_support', 'tempaid.emergency_cash',"     \
    " 'tempaid.expenditure_cash', 'education.preschool', 'education.compulsory',"    \
    " 'education.senior', 'education.vocational', 'education.higher',"               \
    " 'civil.dibao_grant'"

static void prepare(store_t *store)
{
    store_prepare(store, "care_ledger_rows",
                  "SELECT township, section, item, count, amount_fen"
                  "  FROM aid_ledger($1::date, $2)");
    store_prepare(store, "care_ledger_tekun",
                  "SELECT ro.township, r.body FROM aid_roster($2, NULL, $1::date) ro"
                  "  JOIN reports r ON r.report_id = ro.report_id"
                  " WHERE EXISTS (SELECT 1 FROM assessed_persons ap"
                  "                WHERE ap.report_id = ro.report_id AND 'S2' = ANY (ap.groups))");
    store_prepare(store, "care_ledger_state",
                  "SELECT coalesce((SELECT p.value FROM params p"
                  "                  WHERE p.name = 'P_CENTRAL_TARGET' AND p.effective_from <= $2::date"
                  "                  ORDER BY p.effective_from DESC, p.created_at DESC LIMIT 1), 60),"
                  "       coalesce((SELECT string_agg(s.township::text, ',' ORDER BY s.township)"
                  "                   FROM ledger_submissions s WHERE s.month = $1::date), '')");
    store_prepare(store, "care_ledger_benefits",
                  "SELECT township, section, item, count, amount_fen"
                  "  FROM aid_ledger_benefits($1::date, $2)");
    /* who has not submitted the month's ledger (R-LEDGER-MONTHLY) */
    store_prepare(store, "care_ledger_missing",
                  "SELECT kind, code FROM aid_ledger_missing($1::date, $2::text[])");
    store_prepare(store, "care_ledger_dept_submit",
                  "INSERT INTO ledger_dept_submissions (month, department, submitted_by, request_id)"
                  " VALUES ($1::date, $2, $3, $4) ON CONFLICT DO NOTHING"
                  " RETURNING to_char(aid_china_date(submitted_at), 'YYYY-MM-DD')");
    store_prepare(store, "care_ledger_submit",
                  "INSERT INTO ledger_submissions (month, township, submitted_by, request_id)"
                  " VALUES ($1::date, $2, $3, $4) ON CONFLICT DO NOTHING"
                  " RETURNING to_char(aid_china_date(submitted_at), 'YYYY-MM-DD')");
    /* one row per household and measure: recurring measures (month, year)
     * from the household's latest decision of the month that has them, so a
     * re-decision never doubles a monthly amount; one-off cash summed */
    store_prepare(store, "care_disclosure",
                  "WITH m AS ("
                  "  SELECT f.case_id, f.report_id, d.referral_id, f.decided_at, ms.code,"
                  "         ms.period, ms.amount_fen"
                  "    FROM decisions d JOIN referrals f USING (referral_id)"
                  "    JOIN reports r ON r.report_id = f.report_id"
                  "    JOIN measures ms ON ms.referral_id = d.referral_id"
                  "   WHERE r.village = $1 AND f.status = 'granted' AND ms.form = 'cash'"
                  "     AND ms.code IN (" DISCLOSED_CODES ")"
                  "     AND aid_china_date(f.decided_at) BETWEEN $2::date AND $3::date),"
                  " latest AS ("
                  "  SELECT DISTINCT ON (case_id, code) case_id, code, referral_id FROM m"
                  "   WHERE period <> 'once'"
                  "   ORDER BY case_id, code, decided_at DESC, referral_id DESC),"
                  " hh AS ("
                  "  SELECT m.case_id, m.code, sum(m.amount_fen)::bigint AS amount,"
                  "         max(m.report_id) AS report_id FROM m"
                  "   WHERE m.period = 'once' OR m.referral_id = (SELECT l.referral_id FROM latest l"
                  "                     WHERE l.case_id = m.case_id AND l.code = m.code)"
                  "   GROUP BY m.case_id, m.code),"
                  /* issue 17: and the entitlements active in the month (a household
                   * granted in November is on December's list), unless listed above */
                  " ents AS ("
                  "  SELECT x.case_id, x.code, x.amount, x.report_id"
                  "    FROM aid_disclosure_entitlements($1, $2::date) x"
                  "   WHERE NOT EXISTS (SELECT 1 FROM hh WHERE hh.case_id = x.case_id"
                  "                        AND hh.code = x.code))"
                  " SELECT h.code, h.amount, head.name,"
                  "        (SELECT count(*) FROM assessed_persons x WHERE x.report_id = h.report_id)"
                  "   FROM (SELECT * FROM hh UNION ALL SELECT * FROM ents) h"
                  "   JOIN assessed_persons head"
                  "     ON head.report_id = h.report_id AND head.idx = 0"
                  "  ORDER BY h.case_id, h.code");
    /* the proposals under public notice (公示), apart from the recipients */
    store_prepare(store, "care_notices",
                  "SELECT o_code, o_amount_fen, coalesce(o_name, ''), o_size, o_notice_ends_on::text"
                  "  FROM aid_review_notices($1, $2::date, $3::date)");
}

/* ---- ledger.monthly ------------------------------------------------------------ */

typedef struct {
    char township[10];
    int section;            /* index in sections[] */
    int item_rank;          /* known items in their order, then by name */
    char item[64];
    long long count, amount_fen;
} ledger_row_t;

typedef struct {
    ledger_row_t *rows;
    size_t n, cap;
} ledger_t;

static const char *const sections[] = {"groups", "visits", "decisions", "measures",
                                       "central_care", "reviews", "benefits", NULL};
/* Items listed in this order within their section (by sections[] index);
 * others (decisions, measures) by name after them. */
static const char *const ranked_items[][16] = {
    {"S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "M1", "M2", "O1", "any", NULL},
    {"due", "done", "rate_pct", "recorded", NULL},
    {NULL},
    {NULL},
    {"centralized", "dispersed", "rate_pct", "target_pct", NULL},
    {"overdue", "confirmed", "refused", NULL},
    {"households", "persons", "owed", "paid", "failed", "rechecks_due", "rechecks_overdue",
     "rechecks_done", NULL},
};

static int find(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static int ledger_add(ledger_t *l, const char *township, const char *section, const char *item,
                      long long count, long long amount)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        ledger_row_t *rows = realloc(l->rows, cap * sizeof *rows);
        if (!rows)
            return -1;
        l->rows = rows;
        l->cap = cap;
    }
    ledger_row_t *r = &l->rows[l->n++];
    snprintf(r->township, sizeof r->township, "%s", township);
    r->section = find(sections, section);
    if (r->section < 0)
        r->section = 0; /* aid_ledger only writes the sections above */
    snprintf(r->item, sizeof r->item, "%s", item);
    int rank = find(ranked_items[r->section], item);
    r->item_rank = rank < 0 ? 1000 : rank;
    r->count = count;
    r->amount_fen = amount;
    return 0;
}

static int row_cmp(const void *a, const void *b)
{
    const ledger_row_t *x = a, *y = b;
    int c = strcmp(x->township, y->township);
    if (c)
        return c;
    if (x->section != y->section)
        return x->section < y->section ? -1 : 1;
    if (x->item_rank != y->item_rank)
        return x->item_rank < y->item_rank ? -1 : 1;
    return strcmp(x->item, y->item);
}

/* Per township: tekun persons by kind, from the decoded latest reports. */
typedef struct {
    char township[10];
    long long centralized, dispersed;
} central_t;

/* The entry of township in cs (n used of cap), added when missing; NULL when
 * cs is full. */
static central_t *central_of(central_t *cs, size_t *n, size_t cap, const char *township)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(cs[i].township, township) == 0)
            return &cs[i];
    if (*n >= cap)
        return NULL;
    central_t *c = &cs[(*n)++];
    snprintf(c->township, sizeof c->township, "%s", township);
    c->centralized = c->dispersed = 0;
    return c;
}

/* Counts the tekun persons of each report row of res. -1 when a stored
 * report cannot be read or memory runs out. */
static int count_tekun(PGresult *res, central_t *cs, size_t *n, size_t cap)
{
    report_t *r = malloc(sizeof *r);
    if (!r)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        size_t len = 0;
        unsigned char *body = store_sealed(res, i, 1, PII_AD_REPORT, &len);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        schema_err_t se;
        if (!body || mp_unpack((const char *)body, len, &u) != MP_OK ||
            proto_report_decode(&u.data, date_today(), r, &se) != 0) {
            rc = -1;
        } else {
            central_t *c = central_of(cs, n, cap, PQgetvalue(res, i, 0));
            if (!c)
                rc = -1; /* cannot happen: cap counts every report row */
            for (int m = 0; c && m < r->n_members; m++) {
                c->centralized += r->members[m].tekun == TEKUN_CENTRALIZED;
                c->dispersed += r->members[m].tekun == TEKUN_DISPERSED;
            }
        }
        msgpack_unpacked_destroy(&u);
        free(body);
    }
    free(r);
    return rc;
}

/* Adds the central_care rows of every township that has any row or any
 * tekun person. */
static int add_central(ledger_t *l, central_t *cs, size_t *ncs, size_t cap, long long target)
{
    size_t nrows = l->n;
    for (size_t i = 0; i < nrows; i++)
        if (!central_of(cs, ncs, cap, l->rows[i].township))
            return -1;
    for (size_t i = 0; i < *ncs; i++) {
        const central_t *c = &cs[i];
        long long total = c->centralized + c->dispersed;
        if (ledger_add(l, c->township, "central_care", "centralized", c->centralized, 0) ||
            ledger_add(l, c->township, "central_care", "dispersed", c->dispersed, 0) ||
            (total > 0 && ledger_add(l, c->township, "central_care", "rate_pct",
                                     (c->centralized * 200 + total) / (2 * total), 0)) ||
            ledger_add(l, c->township, "central_care", "target_pct", target, 0))
            return -1;
    }
    return 0;
}

/* True when township is in the comma-separated list. */
static bool listed(const char *list, const char *township)
{
    size_t n = strlen(township);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, township, n) == 0)
            return true;
        p += len + (comma != NULL);
    }
    return false;
}

static void pack_ledger(msgpack_packer *pk, const care_month_query_t *q, const ledger_t *l,
                        const char *submitted_list, PGresult *missing)
{
    /* submitted: this township's ledger; the whole county's when every
     * township in it has submitted */
    bool submitted;
    if (q->township[0]) {
        submitted = listed(submitted_list, q->township);
    } else {
        submitted = l->n > 0;
        for (size_t i = 0; i < l->n && submitted; i++)
            submitted = listed(submitted_list, l->rows[i].township);
    }
    char due[11];
    snprintf(due, sizeof due, "%.7s-28", q->month);
    msgpack_pack_map(pk, 5);
    mp_pack_kv_str(pk, "month", q->month);
    if (q->township[0])
        mp_pack_kv_str(pk, "township", q->township);
    mp_pack_kv_str(pk, "due_on", due);
    mp_pack_kv_bool(pk, "submitted", submitted);
    if (!q->township[0]) {
        /* the county's view: which townships and departments have not submitted */
        int n = PQntuples(missing), nt = 0;
        for (int i = 0; i < n; i++)
            nt += strcmp(PQgetvalue(missing, i, 0), "township") == 0;
        mp_pack_str(pk, "missing");
        msgpack_pack_map(pk, 2);
        mp_pack_str(pk, "townships");
        msgpack_pack_array(pk, (size_t)nt);
        for (int i = 0; i < n; i++)
            if (strcmp(PQgetvalue(missing, i, 0), "township") == 0)
                mp_pack_str(pk, PQgetvalue(missing, i, 1));
        mp_pack_str(pk, "departments");
        msgpack_pack_array(pk, (size_t)(n - nt));
        for (int i = 0; i < n; i++)
            if (strcmp(PQgetvalue(missing, i, 0), "township") != 0)
                mp_pack_str(pk, PQgetvalue(missing, i, 1));
    }
    mp_pack_str(pk, "rows");
    msgpack_pack_array(pk, l->n);
    for (size_t i = 0; i < l->n; i++) {
        const ledger_row_t *r = &l->rows[i];
        msgpack_pack_map(pk, 5);
        mp_pack_kv_str(pk, "township", r->township);
        mp_pack_kv_str(pk, "section", sections[r->section]);
        mp_pack_kv_str(pk, "item", r->item);
        mp_pack_kv_int(pk, "count", r->count);
        mp_pack_kv_int(pk, "amount_fen", r->amount_fen);
    }
}

static int handle_monthly(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                          proto_error_t *err)
{
    care_month_query_t q;
    schema_err_t se;
    if (care_ledger_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    store_t *store = ctx->store;
    if (!store_ready(store) || store_cmd(store, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0)
        return write_unavailable(err);
    char first[11], last[11];
    date_format(q.month_first, first);
    date_format(date_from_days(date_to_days(date_add_months(q.month_first, 1)) - 1), last);
    const char *township = q.township[0] ? q.township : NULL;
    const char *rows_args[2] = {first, township}, *tekun_args[2] = {last, township};
    const char *state_args[2] = {first, last};
    PGresult *rows = store_exec(store, "care_ledger_rows", 2, rows_args);
    PGresult *tekun = rows ? store_exec(store, "care_ledger_tekun", 2, tekun_args) : NULL;
    PGresult *state = tekun ? store_exec(store, "care_ledger_state", 2, state_args) : NULL;
    PGresult *ben = state ? store_exec(store, "care_ledger_benefits", 2, rows_args) : NULL;
    char depts[256] = "{";
    for (int i = 0; rules_departments[i]; i++)
        snprintf(depts + strlen(depts), sizeof depts - strlen(depts), "%s%s", i ? "," : "",
                 rules_departments[i]);
    snprintf(depts + strlen(depts), sizeof depts - strlen(depts), "}");
    const char *missing_args[2] = {first, depts};
    PGresult *missing = ben ? store_exec(store, "care_ledger_missing", 2, missing_args) : NULL;
    ledger_t l = {0};
    central_t *cs = NULL;
    size_t ncs = 0;
    int rc = -1;
    if (!missing) {
        write_unavailable(err);
        goto out;
    }
    /* at most one central_t per township of the ledger's rows (the care rows
     * and the benefits rows) or of the tekun reports */
    size_t cap = (size_t)PQntuples(rows) + (size_t)PQntuples(ben) + (size_t)PQntuples(tekun) + 1;
    cs = calloc(cap, sizeof *cs);
    if (!cs)
        goto oom;
    for (int i = 0; i < PQntuples(rows); i++)
        if (ledger_add(&l, PQgetvalue(rows, i, 0), PQgetvalue(rows, i, 1), PQgetvalue(rows, i, 2),
                       atoll(PQgetvalue(rows, i, 3)), atoll(PQgetvalue(rows, i, 4))) != 0)
            goto oom;
    for (int i = 0; i < PQntuples(ben); i++)
        if (ledger_add(&l, PQgetvalue(ben, i, 0), PQgetvalue(ben, i, 1), PQgetvalue(ben, i, 2),
                       atoll(PQgetvalue(ben, i, 3)), atoll(PQgetvalue(ben, i, 4))) != 0)
            goto oom;
    if (count_tekun(tekun, cs, &ncs, cap) != 0) {
        proto_fail(err, PROTO_UNAVAILABLE, NULL, "a stored report could not be read");
        goto out;
    }
    if (add_central(&l, cs, &ncs, cap, atoll(PQgetvalue(state, 0, 0))) != 0)
        goto oom;
    if (l.n)
        qsort(l.rows, l.n, sizeof *l.rows, row_cmp);
    pack_ledger(pk, &q, &l, PQgetvalue(state, 0, 1), missing);
    rc = 0;
    goto out;
oom:
    proto_fail(err, PROTO_UNAVAILABLE, NULL, "out of memory, retry later");
out:
    PQclear(rows);
    PQclear(tekun);
    PQclear(state);
    PQclear(ben);
    PQclear(missing);
    store_rollback(store); /* read-only: nothing to commit */
    free(l.rows);
    free(cs);
    return rc;
}

/* ---- ledger.submit ------------------------------------------------------------------- */

static int handle_submit(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                         proto_error_t *err)
{
    care_month_query_t q;
    schema_err_t se;
    if (care_ledger_submit_decode(req->body, date_today(), &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    char first[11];
    date_format(q.month_first, first);
    const bool dept = q.department[0] != 0;
    const char *vals[4] = {first, dept ? q.department : q.township, q.by, req->id};
    PGresult *r = store_exec(ctx->store, dept ? "care_ledger_dept_submit" : "care_ledger_submit",
                             4, vals);
    if (!r)
        return write_unavailable(err);
    if (PQntuples(r) != 1) {
        PQclear(r);
        return proto_fail(err, PROTO_CONFLICT, dept ? "department" : "township",
                          dept ? "this department's ledger for the month is already submitted"
                               : "this township's ledger for the month is already submitted");
    }
    char due[11];
    snprintf(due, sizeof due, "%.7s-28", q.month);
    const char *on = PQgetvalue(r, 0, 0);
    msgpack_pack_map(pk, 5);
    mp_pack_kv_str(pk, "month", q.month);
    mp_pack_kv_str(pk, dept ? "department" : "township", dept ? q.department : q.township);
    mp_pack_kv_str(pk, "submitted_on", on);
    mp_pack_kv_str(pk, "due_on", due);
    mp_pack_kv_bool(pk, "late", strcmp(on, due) > 0);
    PQclear(r);
    return 0;
}

/* ---- disclosure.list -------------------------------------------------------------------- */

static int handle_disclosure(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                             proto_error_t *err)
{
    care_month_query_t q;
    schema_err_t se;
    if (care_disclosure_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    store_t *store = ctx->store;
    if (!store_ready(store))
        return write_unavailable(err);
    char first[11], last[11];
    date_format(q.month_first, first);
    date_format(date_from_days(date_to_days(date_add_months(q.month_first, 1)) - 1), last);
    const char *vals[3] = {q.village, first, last};
    PGresult *r = store_exec(store, "care_disclosure", 3, vals);
    if (!r)
        return write_unavailable(err);
    PGresult *nt = store_exec(store, "care_notices", 3, vals);
    if (!nt) {
        PQclear(r);
        return write_unavailable(err);
    }
    int n = PQntuples(r);
    msgpack_pack_map(pk, 4);
    mp_pack_kv_str(pk, "village", q.village);
    mp_pack_kv_str(pk, "month", q.month);
    mp_pack_str(pk, "rows");
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        char name[PROTO_STR_MAX + 1];
        name_mask(PQgetvalue(r, i, 2), name, sizeof name);
        msgpack_pack_map(pk, 5);
        mp_pack_kv_str(pk, "village", q.village);
        mp_pack_kv_str(pk, "name_masked", name);
        mp_pack_kv_int(pk, "household_size", atoll(PQgetvalue(r, i, 3)));
        mp_pack_kv_str(pk, "measure", PQgetvalue(r, i, 0));
        mp_pack_kv_int(pk, "amount_fen", atoll(PQgetvalue(r, i, 1)));
    }
    PQclear(r);
    /* 公示 (R-PROC-NOTICE): proposals under notice, not recipients yet */
    mp_pack_str(pk, "notices");
    msgpack_pack_array(pk, (size_t)PQntuples(nt));
    for (int i = 0; i < PQntuples(nt); i++) {
        char name[PROTO_STR_MAX + 1];
        name_mask(PQgetvalue(nt, i, 2), name, sizeof name);
        msgpack_pack_map(pk, 6);
        mp_pack_kv_str(pk, "village", q.village);
        mp_pack_kv_str(pk, "name_masked", name);
        mp_pack_kv_int(pk, "household_size", atoll(PQgetvalue(nt, i, 3)));
        mp_pack_kv_str(pk, "measure", PQgetvalue(nt, i, 0));
        mp_pack_kv_int(pk, "amount_fen", atoll(PQgetvalue(nt, i, 1)));
        mp_pack_kv_str(pk, "notice_ends_on", PQgetvalue(nt, i, 4));
    }
    PQclear(nt);
    return 0;
}

OP_HANDLER(ledger_monthly_op, {"ledger.monthly", prepare, handle_monthly})
OP_HANDLER(ledger_submit_op, {"ledger.submit", NULL, handle_submit})
OP_HANDLER(disclosure_list_op, {"disclosure.list", NULL, handle_disclosure})
