/* op_overdue.c — `referrals.overdue`: pending referrals past their deadline
 * in working days (R-PROC-*, POLICY.md §14, proto/CARE.md), the list the
 * quarterly joint meeting reviews, urgent reports first.
 *
 * A referral's deadline is its creation day (China time) plus a number of
 * working days of the county calendar (Monday–Friday, minus its holidays,
 * plus its adjusted working days: calendar.set, ops/sql/55_casework.sql):
 * P_PROC_CIVIL_DAYS for civil affairs (the whole dibao review, R-PROC-DIBAO;
 * tekun 15 + 15, R-PROC-TEKUN), else the county default P_PROC_DEFAULT_DAYS —
 * both parameters in force on the creation day. A referral under review
 * (POLICY.md §16) has left its department's queue: it is overdue when its
 * review's stage is past its date (due_on), and shows that date and stage.
 * The working days overdue are counted in the same calendar. Beside them,
 * `rechecks`: the re-checks of dibao households and tekun persons past their
 * month (R-RECHECK, aid_rechecks_overdue), with the review of one opened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care.h"
#include "mp.h"
#include "opctx.h"
#include "write.h"

typedef struct {
    long long referral_id, case_id;
    char department[16];
    char township[10], village[13];
    aid_date_t created, deadline;
    int days;
    char stage[16];         /* a review's stage; "" for a pending referral */
    int64_t overdue;        /* working days past the deadline */
    bool urgent;
} overdue_t;

static void prepare(store_t *store)
{
    /* every deadline and count in the county calendar's working days
     * (aid_workdays_add / aid_workdays_between, ops/sql/55_casework.sql);
     * only what is past its deadline on $2 */
    store_prepare(store, "care_overdue",
                  "SELECT x.referral_id, x.case_id, x.department, to_char(x.created, 'YYYYMMDD'),"
                  "       x.township, x.village, x.urgent, x.days,"
                  "       to_char(x.deadline, 'YYYYMMDD'), x.stage,"
                  "       aid_workdays_between(x.deadline, $2::date)"
                  "  FROM ("
                  "SELECT f.referral_id, f.case_id, f.department, c.created,"
                  "       r.township, r.village, r.urgent, d.days,"
                  "       aid_workdays_add(c.created, d.days) AS deadline, '' AS stage"
                  "  FROM referral_queue q JOIN referrals f ON f.referral_id = q.referral_id"
                  "  JOIN reports r ON r.report_id = f.report_id"
                  " CROSS JOIN LATERAL (SELECT aid_china_date(f.created_at) AS created) c"
                  " CROSS JOIN LATERAL (SELECT coalesce((SELECT p.value FROM params p"
                  "                  WHERE p.name = CASE f.department WHEN 'civil'"
                  "                                 THEN 'P_PROC_CIVIL_DAYS' ELSE 'P_PROC_DEFAULT_DAYS' END"
                  "                    AND p.effective_from <= c.created"
                  "                  ORDER BY p.effective_from DESC, p.created_at DESC LIMIT 1),"
                  "                CASE f.department WHEN 'civil' THEN 30 ELSE 10 END)::int AS days) d"
                  " WHERE $1::text IS NULL OR r.township = $1"
                  " UNION ALL "
                  "SELECT v.referral_id, v.case_id, v.department, v.started_on,"
                  "       v.township, v.village, r.urgent,"
                  "       aid_workdays_between(v.started_on, s.due_on), s.due_on, s.stage"
                  "  FROM reviews v CROSS JOIN LATERAL aid_review_state(v, $2::date) s"
                  "  JOIN referrals f ON f.referral_id = v.referral_id"
                  "  JOIN reports r ON r.report_id = f.report_id"
                  " WHERE v.stage <> 'done' AND s.overdue"
                  "   AND ($1::text IS NULL OR v.township = $1)"
                  ") x WHERE x.deadline < $2::date");
    store_prepare(store, "care_recheck_overdue",
                  "SELECT case_id, kind, coalesce(id_masked, ''), to_char(due_month, 'YYYY-MM'),"
                  "       township, coalesce(referral_id::text, '')"
                  "  FROM aid_rechecks_overdue($2::date, $1::text)"
                  " ORDER BY due_month, case_id, id_masked");
}

/* The re-checks past their month, as "rechecks": [...]. */
static void pack_rechecks(msgpack_packer *pk, PGresult *r)
{
    mp_pack_str(pk, "rechecks");
    msgpack_pack_array(pk, (size_t)PQntuples(r));
    for (int i = 0; i < PQntuples(r); i++) {
        const char *mask = PQgetvalue(r, i, 2), *ref = PQgetvalue(r, i, 5);
        char buf[48];
        msgpack_pack_map(pk, 6 + (*mask != 0) + (*ref != 0));
        snprintf(buf, sizeof buf, "case-%s", PQgetvalue(r, i, 0));
        mp_pack_kv_str(pk, "case_id", buf);
        mp_pack_kv_str(pk, "department", "civil"); /* whose re-check it is */
        mp_pack_kv_str(pk, "kind", PQgetvalue(r, i, 1));
        if (*mask)
            mp_pack_kv_str(pk, "id_masked", mask);
        mp_pack_kv_str(pk, "due_month", PQgetvalue(r, i, 3));
        mp_pack_kv_str(pk, "township", PQgetvalue(r, i, 4));
        if (*ref) {
            snprintf(buf, sizeof buf, "referral-%s", ref);
            mp_pack_kv_str(pk, "referral_id", buf);
        }
        mp_pack_str(pk, "rules");
        msgpack_pack_array(pk, 1);
        mp_pack_str(pk, "R-RECHECK");
    }
}

static int overdue_cmp(const void *x, const void *y)
{
    const overdue_t *a = x, *b = y;
    if (a->urgent != b->urgent)
        return a->urgent ? -1 : 1;
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline ? -1 : 1;
    return a->referral_id < b->referral_id ? -1 : a->referral_id > b->referral_id;
}

static void pack_row(msgpack_packer *pk, const overdue_t *o)
{
    char buf[48], d[11];
    msgpack_pack_map(pk, o->stage[0] ? 12 : 11);
    snprintf(buf, sizeof buf, "referral-%lld", o->referral_id);
    mp_pack_kv_str(pk, "referral_id", buf);
    snprintf(buf, sizeof buf, "case-%lld", o->case_id);
    mp_pack_kv_str(pk, "case_id", buf);
    mp_pack_kv_str(pk, "department", o->department);
    mp_pack_kv_str(pk, "township", o->township);
    mp_pack_kv_str(pk, "village", o->village);
    date_format(o->created, d);
    mp_pack_kv_str(pk, "created_on", d);
    mp_pack_kv_int(pk, "deadline_days", o->days);
    date_format(o->deadline, d);
    mp_pack_kv_str(pk, "deadline", d);
    mp_pack_kv_int(pk, "working_days_overdue", o->overdue);
    mp_pack_kv_bool(pk, "urgent", o->urgent);
    if (o->stage[0])
        mp_pack_kv_str(pk, "review_stage", o->stage);
    bool civil = strcmp(o->department, "civil") == 0;
    mp_pack_str(pk, "rules");
    msgpack_pack_array(pk, civil ? 2 : 0);
    if (civil) {
        mp_pack_str(pk, "R-PROC-DIBAO");
        mp_pack_str(pk, "R-PROC-TEKUN");
    }
}

static int handle(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                  proto_error_t *err)
{
    care_overdue_t q;
    schema_err_t se;
    if (care_overdue_decode(req->body, date_today(), &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    store_t *store = ctx->store;
    if (!store_ready(store))
        return write_unavailable(err);
    char as_of[11];
    date_format(q.as_of, as_of);
    const char *args[2] = {q.township[0] ? q.township : NULL, as_of};
    PGresult *r = store_exec(store, "care_overdue", 2, args);
    if (!r)
        return write_unavailable(err);
    int n = PQntuples(r);
    overdue_t *list = calloc((size_t)n + 1, sizeof *list);
    if (!list) {
        PQclear(r);
        return proto_fail(err, PROTO_UNAVAILABLE, NULL, "out of memory, retry later");
    }
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        overdue_t *o = &list[count];
        o->created = (aid_date_t)atol(PQgetvalue(r, i, 3));
        o->days = atoi(PQgetvalue(r, i, 7));
        o->deadline = (aid_date_t)atol(PQgetvalue(r, i, 8));
        snprintf(o->stage, sizeof o->stage, "%s", PQgetvalue(r, i, 9));
        o->overdue = atoll(PQgetvalue(r, i, 10));
        o->referral_id = atoll(PQgetvalue(r, i, 0));
        o->case_id = atoll(PQgetvalue(r, i, 1));
        snprintf(o->department, sizeof o->department, "%s", PQgetvalue(r, i, 2));
        snprintf(o->township, sizeof o->township, "%s", PQgetvalue(r, i, 4));
        snprintf(o->village, sizeof o->village, "%s", PQgetvalue(r, i, 5));
        o->urgent = PQgetvalue(r, i, 6)[0] == 't';
        count++;
    }
    PQclear(r);
    PGresult *rc = store_exec(store, "care_recheck_overdue", 2, args);
    if (!rc) {
        free(list);
        return write_unavailable(err);
    }
    if (count)
        qsort(list, count, sizeof *list, overdue_cmp);
    char d[11];
    date_format(q.as_of, d);
    msgpack_pack_map(pk, q.township[0] ? 4 : 3);
    if (q.township[0])
        mp_pack_kv_str(pk, "township", q.township);
    mp_pack_kv_str(pk, "as_of", d);
    mp_pack_str(pk, "referrals");
    msgpack_pack_array(pk, count);
    for (size_t i = 0; i < count; i++)
        pack_row(pk, &list[i]);
    pack_rechecks(pk, rc);
    PQclear(rc);
    free(list);
    return 0;
}

OP_HANDLER(referrals_overdue_op, {"referrals.overdue", prepare, handle})
