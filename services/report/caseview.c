/* caseview.c — case.get: where a case stands (PROTOCOL.md).
 *
 * Three reads of one case — persons, referrals with decisions, measures — in
 * one REPEATABLE READ transaction, so the picture is consistent. ID numbers
 * and names leave this file masked, never whole. The decisions and measures
 * of the case's referrals are read per referral (LATERAL … OFFSET 0, which the
 * planner cannot flatten into a join): a case has a handful of referrals, and
 * a plan that hashed the whole decisions or measures table for them — chosen
 * when the estimate for "referrals of one case" was off — cost a full scan
 * per case.get.
 *
 * With "township" (migration 050) only the reports filed in that township
 * are shown: the persons their assessments name (groups and all as those
 * assessed them; none before assessment), their referrals and measures, and
 * `complete` for them alone; a case with no report there is not_found, and
 * so is a person by ID number whom none of them names. The
 * web console asks so for a caseworker whose township filed a report in a
 * case registered elsewhere: they see what they filed and its outcome, not
 * the household's other reports.
 *
 * A referral under review (POLICY.md §16, ops/sql/55_casework.sql) carries a
 * `review` object: its stage, due date, notice and steps; a refused one shows
 * the refusal's reason as its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case_entitlements.h"
#include "date.h"
#include "idcard.h"
#include "caseview.h"
#include "mp.h"
#include "pii.h"

/* A case's referrals with their decisions, and their measures (the WHERE
 * and ORDER BY follow). */
#define REFERRAL_ROWS                                                                        \
    "SELECT f.referral_id, f.report_id, f.department, f.status,"                             \
    "       coalesce(d.reason, ''), coalesce(array_to_string(d.rules, ','), ''),"            \
    "       coalesce(to_char(d.decided_at AT TIME ZONE 'UTC',"                               \
    "                        'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"                          \
    "  FROM referrals f"                                                                     \
    "  LEFT JOIN LATERAL (SELECT d.reason, d.rules, d.decided_at FROM decisions d"           \
    "                      WHERE d.referral_id = f.referral_id OFFSET 0) d ON true"
#define MEASURE_ROWS                                                                         \
    "SELECT f.referral_id, m.code, coalesce(m.id_masked, ''), m.amount_fen,"                 \
    "       m.period, m.form"                                                                \
    "  FROM referrals f"                                                                     \
    "  CROSS JOIN LATERAL (SELECT m.* FROM measures m"                                       \
    "                       WHERE m.referral_id = f.referral_id OFFSET 0) m"
/* The reviews of a case's referrals, one row per step (the WHERE follows). */
#define REVIEW_ROWS                                                                          \
    "SELECT v.referral_id, s.stage, coalesce(s.due_on::text, ''), s.overdue,"               \
    "       coalesce(s.notice_ends_on::text, ''), coalesce(t.action, ''),"                  \
    "       coalesce(t.by_account, ''), coalesce(t.on_day::text, ''), coalesce(t.note, '')" \
    "  FROM reviews v CROSS JOIN LATERAL aid_review_state(v, aid_china_date(now())) s"       \
    "  LEFT JOIN review_steps t ON t.referral_id = v.referral_id"
/* Case $1 and the cases merged into it (issue 17): their reports, referrals and
 * decisions are its history (aid_case_family, ops/sql/57_benefits.sql). */
#define FAMILY "aid_case_family($1::bigint)"
/* The reports of case $1 filed in township $2. */
#define REPORTS_IN                                                                           \
    "(SELECT r.report_id FROM reports r WHERE r.case_id = ANY (" FAMILY ")"                   \
    "    AND r.township = $2::bpchar)"

void caseview_prepare(store_t *store)
{
    case_entitlements_prepare(store);
    store_prepare(store, "case_by_id", "SELECT case_id FROM cases WHERE case_id = $1::bigint");
    store_prepare(store, "case_by_person",
                  "SELECT case_id FROM case_members WHERE id_hash = decode($1, 'hex')");
    /* ordered by joined_at, then ID number: the second key is sorted here,
     * after the ID numbers are opened (the table holds only their hashes) */
    store_prepare(
        store, "case_persons",
        "SELECT m.id_enc, m.name, coalesce(ap.age, -1),"
        "       coalesce(array_to_string(ap.groups, ','), ''),"
        "       coalesce(ap.supplement_fen, 0), coalesce(ap.visit_every, 'none'),"
        "       coalesce(ap.care_category, 0),"
        "       (extract(epoch FROM m.joined_at) * 1000000)::bigint"
        "  FROM case_members m"
        "  LEFT JOIN LATERAL (SELECT a.* FROM assessed_persons a"
        "                      WHERE a.id_hash = m.id_hash"
        "                      ORDER BY a.report_id DESC LIMIT 1) ap ON true"
        " WHERE m.case_id = $1::bigint ORDER BY m.joined_at");
    store_prepare(store, "case_referrals",
                  REFERRAL_ROWS
                  " WHERE f.case_id = ANY (" FAMILY ") ORDER BY f.referral_id");
    store_prepare(store, "case_measures",
                  MEASURE_ROWS
                  " WHERE f.case_id = ANY (" FAMILY ") ORDER BY f.referral_id, m.ord");
    store_prepare(store, "case_reviews",
                  REVIEW_ROWS " WHERE v.case_id = ANY (" FAMILY ") ORDER BY v.referral_id, t.n");
    store_prepare(store, "case_complete",
                  "SELECT NOT EXISTS (SELECT 1 FROM reports r JOIN report_queue q USING (report_id)"
                  "                    WHERE r.case_id = ANY (" FAMILY "))"
                  "   AND NOT EXISTS (SELECT 1 FROM referrals WHERE case_id = ANY (" FAMILY ")"
                  "                      AND status = 'pending')");
    /* the same, for the reports filed in township $2 only */
    store_prepare(store, "case_by_id_in",
                  "SELECT case_id FROM cases c WHERE case_id = $1::bigint"
                  "   AND EXISTS (SELECT 1 FROM reports r WHERE r.case_id = ANY (" FAMILY ")"
                  "                  AND r.township = $2::bpchar)");
    store_prepare(
        store, "case_persons_in",
        "SELECT m.id_enc, m.name, ap.age, array_to_string(ap.groups, ','),"
        "       ap.supplement_fen, ap.visit_every, ap.care_category,"
        "       (extract(epoch FROM m.joined_at) * 1000000)::bigint"
        "  FROM case_members m"
        "  JOIN LATERAL (SELECT a.* FROM assessed_persons a JOIN reports r USING (report_id)"
        "                 WHERE a.id_hash = m.id_hash AND r.case_id = ANY (" FAMILY ")"
        "                   AND r.township = $2::bpchar"
        "                 ORDER BY a.report_id DESC LIMIT 1) ap ON true"
        " WHERE m.case_id = $1::bigint ORDER BY m.joined_at");
    store_prepare(store, "case_referrals_in",
                  REFERRAL_ROWS
                  " WHERE f.case_id = ANY (" FAMILY ") AND f.report_id IN " REPORTS_IN
                  " ORDER BY f.referral_id");
    store_prepare(store, "case_measures_in",
                  MEASURE_ROWS
                  " WHERE f.case_id = ANY (" FAMILY ") AND f.report_id IN " REPORTS_IN
                  " ORDER BY f.referral_id, m.ord");
    store_prepare(store, "case_reviews_in",
                  REVIEW_ROWS " WHERE v.case_id = ANY (" FAMILY ") AND v.referral_id IN"
                  " (SELECT f.referral_id FROM referrals f WHERE f.report_id IN " REPORTS_IN ")"
                  " ORDER BY v.referral_id, t.n");
    store_prepare(store, "case_complete_in",
                  "SELECT NOT EXISTS (SELECT 1 FROM reports r JOIN report_queue q USING (report_id)"
                  "                    WHERE r.case_id = ANY (" FAMILY ") AND r.township = $2::bpchar)"
                  "   AND NOT EXISTS (SELECT 1 FROM referrals f JOIN reports r USING (report_id)"
                  "                    WHERE f.case_id = ANY (" FAMILY ") AND f.status = 'pending'"
                  "                      AND r.township = $2::bpchar)");
}

/* Packs a comma-separated list as an array of strings. */
static void pack_csv(msgpack_packer *pk, const char *csv)
{
    int n = 0;
    for (const char *p = csv; *p; p++)
        n += *p == ',';
    n += *csv != '\0';
    msgpack_pack_array(pk, (size_t)n);
    const char *start = csv;
    for (int i = 0; i < n; i++) {
        const char *comma = strchr(start, ',');
        size_t len = comma ? (size_t)(comma - start) : strlen(start);
        mp_pack_strn(pk, start, len);
        start = comma ? comma + 1 : start + len;
    }
}

typedef struct {
    int row;
    long long joined_us;
    char id[19];
} person_key_t;

static int person_cmp(const void *a, const void *b)
{
    const person_key_t *x = a, *y = b;
    if (x->joined_us != y->joined_us)
        return x->joined_us < y->joined_us ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The persons in the order of joining, then of ID number. -1 when an ID
 * number does not open (wrong key or corruption) or on OOM. */
static int pack_persons(msgpack_packer *pk, PGresult *r)
{
    int n = PQntuples(r);
    person_key_t *keys = malloc((size_t)(n ? n : 1) * sizeof *keys);
    if (!keys)
        return -1;
    for (int i = 0; i < n; i++) {
        keys[i].row = i;
        keys[i].joined_us = atoll(PQgetvalue(r, i, 7));
        if (store_pii_id(r, i, 0, keys[i].id) != 0) {
            free(keys);
            return -1;
        }
    }
    qsort(keys, (size_t)n, sizeof *keys, person_cmp);
    msgpack_pack_array(pk, (size_t)n);
    for (int k = 0; k < n; k++) {
        int i = keys[k].row;
        char idm[20], namem[300];
        const char *id = keys[k].id;
        idcard_mask(id, strlen(id), idm, sizeof idm);
        name_mask(PQgetvalue(r, i, 1), namem, sizeof namem);
        long long age = atoll(PQgetvalue(r, i, 2));
        if (age < 0) /* never assessed: the age today, from the ID number */
            age = date_years_between(idcard_birth(id), date_today());
        msgpack_pack_map(pk, 7);
        mp_pack_kv_str(pk, "id_masked", idm);
        mp_pack_kv_str(pk, "name_masked", namem);
        mp_pack_kv_int(pk, "age", age);
        mp_pack_str(pk, "groups");
        pack_csv(pk, PQgetvalue(r, i, 3));
        mp_pack_kv_int(pk, "dibao_supplement_fen", atoll(PQgetvalue(r, i, 4)));
        mp_pack_kv_str(pk, "visit_every", PQgetvalue(r, i, 5));
        mp_pack_kv_int(pk, "care_category", atoll(PQgetvalue(r, i, 6)));
    }
    free(keys);
    return 0;
}

/* The review of a referral: rows [first, first + count) of rv (REVIEW_ROWS). */
static void pack_review(msgpack_packer *pk, PGresult *rv, int first, int count)
{
    const char *ends = PQgetvalue(rv, first, 4), *due = PQgetvalue(rv, first, 2);
    int steps = PQgetvalue(rv, first, 5)[0] ? count : 0;
    msgpack_pack_map(pk, 3 + (*due != 0) + (*ends != 0));
    mp_pack_kv_str(pk, "stage", PQgetvalue(rv, first, 1));
    if (*due)
        mp_pack_kv_str(pk, "due_on", due);
    mp_pack_kv_bool(pk, "overdue", PQgetvalue(rv, first, 3)[0] == 't');
    if (*ends)
        mp_pack_kv_str(pk, "notice_ends_on", ends);
    mp_pack_str(pk, "steps");
    msgpack_pack_array(pk, (size_t)steps);
    for (int k = first; k < first + steps; k++) {
        msgpack_pack_map(pk, 4);
        mp_pack_kv_str(pk, "action", PQgetvalue(rv, k, 5));
        mp_pack_kv_str(pk, "by", PQgetvalue(rv, k, 6));
        mp_pack_kv_str(pk, "on", PQgetvalue(rv, k, 7));
        mp_pack_kv_str(pk, "note", PQgetvalue(rv, k, 8));
    }
}

static void pack_referrals(msgpack_packer *pk, PGresult *refs, PGresult *ms, PGresult *rv)
{
    int n = PQntuples(refs), nm = PQntuples(ms), nr = PQntuples(rv), j = 0, jr = 0;
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        long long rid = atoll(PQgetvalue(refs, i, 0));
        char buf[48];
        /* reviews are ordered by referral id, like the referrals */
        while (jr < nr && atoll(PQgetvalue(rv, jr, 0)) < rid)
            jr++;
        int rfirst = jr, rcount = 0;
        while (jr + rcount < nr && atoll(PQgetvalue(rv, jr + rcount, 0)) == rid)
            rcount++;
        jr += rcount;
        const char *reason = PQgetvalue(refs, i, 4);
        for (int k = rfirst; k < rfirst + rcount && !*reason; k++)
            if (strcmp(PQgetvalue(rv, k, 5), "refuse") == 0)
                reason = PQgetvalue(rv, k, 8); /* R-PROC-CONFIRM: the refusal's reason */
        msgpack_pack_map(pk, rcount ? 9 : 8);
        snprintf(buf, sizeof buf, "referral-%lld", rid);
        mp_pack_kv_str(pk, "referral_id", buf);
        snprintf(buf, sizeof buf, "report-%s", PQgetvalue(refs, i, 1));
        mp_pack_kv_str(pk, "report_id", buf);
        mp_pack_kv_str(pk, "department", PQgetvalue(refs, i, 2));
        mp_pack_kv_str(pk, "status", PQgetvalue(refs, i, 3));
        mp_pack_kv_str(pk, "reason", reason);
        if (rcount) {
            mp_pack_str(pk, "review");
            pack_review(pk, rv, rfirst, rcount);
        }
        /* measures are ordered by referral id, like the referrals */
        while (j < nm && atoll(PQgetvalue(ms, j, 0)) < rid)
            j++;
        int first = j, count = 0;
        while (j + count < nm && atoll(PQgetvalue(ms, j + count, 0)) == rid)
            count++;
        mp_pack_str(pk, "measures");
        msgpack_pack_array(pk, (size_t)count);
        for (int k = first; k < first + count; k++) {
            const char *idm = PQgetvalue(ms, k, 2);
            msgpack_pack_map(pk, *idm ? 5 : 4);
            mp_pack_kv_str(pk, "code", PQgetvalue(ms, k, 1));
            if (*idm)
                mp_pack_kv_str(pk, "id_masked", idm);
            mp_pack_kv_int(pk, "amount_fen", atoll(PQgetvalue(ms, k, 3)));
            mp_pack_kv_str(pk, "period", PQgetvalue(ms, k, 4));
            mp_pack_kv_str(pk, "form", PQgetvalue(ms, k, 5));
        }
        j += count;
        mp_pack_str(pk, "rules");
        pack_csv(pk, PQgetvalue(refs, i, 5));
        const char *at = PQgetvalue(refs, i, 6);
        mp_pack_str(pk, "decided_at");
        if (*at)
            mp_pack_str(pk, at);
        else
            msgpack_pack_nil(pk);
    }
}

/* True when one of the persons rows (id_enc first) is id_number: with
 * "township", a person is found only through the reports filed there. */
static bool names_person(PGresult *persons, const char *id_number)
{
    char id[19];
    for (int i = 0; i < PQntuples(persons); i++)
        if (store_pii_id(persons, i, 0, id) == 0 && strcmp(id, id_number) == 0)
            return true;
    return false;
}

/* The decimal case number of a wire case id ("case-<n>"), or NULL. */
static const char *case_number(const char *wire)
{
    const char *p = strncmp(wire, "case-", 5) == 0 ? wire + 5 : "";
    return *p && strspn(p, "0123456789") == strlen(p) && strlen(p) <= 18 ? p : NULL;
}

/* Finds the case id (as decimal text) of a person. */
static int resolve(store_t *store, const proto_case_get_t *q, char *out, size_t outsz,
                   proto_error_t *err)
{
    char hash[PII_HASH_HEX];
    pii_hash_hex(q->id_number, hash);
    const char *arg = hash;
    PGresult *r = store_exec(store, "case_by_person", 1, &arg);
    if (!r)
        return proto_fail(err, PROTO_UNAVAILABLE, NULL, "database unavailable, retry later");
    int found = PQntuples(r) == 1;
    if (found)
        snprintf(out, outsz, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!found)
        return proto_fail(err, PROTO_NOT_FOUND, "id_number", "no such case");
    return 0;
}

/* The four reads of case `num` in one REPEATABLE READ transaction, sent as
 * one pipeline (one round trip instead of seven); with township ("" for the
 * whole case) of the reports filed there only. 1 when they were read
 * (*found: whether the case exists, with a report in township), 0 when the
 * database failed. */
static int read_case(store_t *store, const char *num, const char *township, PGresult **res,
                     bool *found)
{
    static const char *const all[] = {"case_by_id", "case_persons", "case_referrals",
                                      "case_measures", "case_complete", "case_reviews"};
    static const char *const in[] = {"case_by_id_in", "case_persons_in", "case_referrals_in",
                                     "case_measures_in", "case_complete_in", "case_reviews_in"};
    const char *const *stmts = *township ? in : all;
    const char *args[2] = {num, township};
    int nargs = *township ? 2 : 1;
    PGconn *conn = store_conn(store);
    if (!conn || PQenterPipelineMode(conn) != 1)
        return 0;
    bool sent = PQsendQueryParams(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0,
                                  NULL, NULL, NULL, NULL, 0) == 1;
    for (int k = 0; sent && k < 6; k++)
        sent = PQsendQueryPrepared(conn, stmts[k], nargs, args, NULL, NULL, 0) == 1;
    sent = sent && PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1 &&
           PQpipelineSync(conn) == 1;
    bool ok = sent;
    if (sent) {
        PQclear(store_pipe_next(store, &ok)); /* BEGIN */
        PGresult *by_id = store_pipe_next(store, &ok);
        *found = by_id && PQntuples(by_id) == 1;
        PQclear(by_id);
        for (int k = 0; k < 5; k++)
            res[k] = store_pipe_next(store, &ok);
        PQclear(store_pipe_next(store, &ok)); /* COMMIT */
    }
    return store_pipe_end(store, sent, ok);
}

int caseview_write_case(store_t *store, const proto_case_get_t *q, msgpack_packer *pk,
                        proto_error_t *err, char *case_out, size_t case_outsz)
{
    if (!store_ready(store))
        return proto_fail(err, PROTO_UNAVAILABLE, NULL, "database unavailable, retry later");
    char case_id[32];
    if (q->case_id[0]) {
        const char *num = case_number(q->case_id);
        if (!num)
            return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
        snprintf(case_id, sizeof case_id, "%s", num);
        /* issue 17: a merged case answers as the case it went on as */
        if (case_entitlements_resolve(store, case_id, sizeof case_id) != 0)
            return proto_fail(err, PROTO_UNAVAILABLE, NULL, "database unavailable, retry later");
    } else {
        /* a person's case: found first (a case never loses a member, so the
         * answer holds for the transaction that reads it) */
        int rc = resolve(store, q, case_id, sizeof case_id, err);
        if (rc != 0)
            return rc;
    }
    PGresult *res[5] = {NULL, NULL, NULL, NULL, NULL};
    bool found = false;
    int rc = 0;
    if (!read_case(store, case_id, q->township, res, &found)) {
        rc = proto_fail(err, PROTO_UNAVAILABLE, NULL, "database unavailable, retry later");
        goto out;
    }
    if (!found) {
        rc = proto_fail(err, PROTO_NOT_FOUND, q->case_id[0] ? "case_id" : "id_number",
                        "no such case");
        goto out;
    }
    PGresult *persons = res[0], *refs = res[1], *ms = res[2], *done = res[3], *rv = res[4];
    if (q->township[0] && q->id_number[0] && !names_person(persons, q->id_number)) {
        rc = proto_fail(err, PROTO_NOT_FOUND, "id_number", "no such case");
        goto out;
    }
    char wire_id[40], merged[512] = "";
    snprintf(wire_id, sizeof wire_id, "case-%s", case_id);
    /* issue 17: the cases merged into this one, whose history it shows */
    if (!q->township[0] && case_entitlements_merged(store, case_id, merged, sizeof merged) != 0) {
        rc = proto_fail(err, PROTO_UNAVAILABLE, NULL, "database unavailable, retry later");
        goto out;
    }
    msgpack_pack_map(pk, merged[0] ? 6 : 5);
    mp_pack_kv_str(pk, "case_id", wire_id);
    mp_pack_kv_bool(pk, "complete", PQgetvalue(done, 0, 0)[0] == 't');
    mp_pack_str(pk, "persons");
    if (pack_persons(pk, persons) != 0) { /* the caller drops what was packed */
        rc = proto_fail(err, PROTO_UNAVAILABLE, NULL, "the case's persons could not be read");
        goto out;
    }
    mp_pack_str(pk, "referrals");
    pack_referrals(pk, refs, ms, rv);
    mp_pack_str(pk, "entitlements"); /* issue 17: case_entitlements.c */
    if (case_entitlements_pack(store, case_id, q->township, pk) != 0) {
        rc = proto_fail(err, PROTO_UNAVAILABLE, NULL, "the case's entitlements could not be read");
        goto out;
    }
    if (merged[0]) {
        mp_pack_str(pk, "merged_from");
        mp_pack_id_list(pk, merged, "case-");
    }
    snprintf(case_out, case_outsz, "%s", case_id);
out:
    for (int k = 0; k < 5; k++)
        PQclear(res[k]);
    return rc;
}
