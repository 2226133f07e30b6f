/* op_trigger_read.c — `triggers.list` and `trigger.get`: what the events of
 * other bureaus reached (proto/DEPARTMENTS.md "Following a trigger").
 *
 * triggers.list: the recent triggers, newest first — kind, hazard and
 * areas (a disaster), when, how many households it reached and the
 * outcome of their referrals so far. No personal data: a trigger about one
 * person is shown by its case, never by the ID number it carried.
 *
 * trigger.get: one trigger and the households it reached, a page at a
 * time in case order — each with its target status (filed, pending,
 * skipped and why), the report filed, its members (ID numbers and names
 * masked) and every referral of that report with its status and decision.
 *
 * The households of a disaster over areas are its trigger_targets; the
 * household of a person trigger is the report filed under its request id
 * "<id>#1" (op_trigger.c). Both reads are audited (R-AUDIT) with the cases
 * they show, like case.get. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idcard.h"
#include "mp.h"
#include "opctx.h"
#include "write.h"
#include "pgarr.h"
#include "pii.h"
#include "report.h"

#define LIST_MAX 200
#define HOUSEHOLDS_MAX 1000

/* The households a trigger reached (case, target status, report, note):
 * its targets and, for a person trigger, the report of "<request id>#1";
 * used inside a statement where g is the trigger's row. */
#define TRIGGER_HOUSEHOLDS                                                             \
    "SELECT t.case_id, t.status, t.report_id, t.note FROM trigger_targets t"           \
    " WHERE t.trigger_id = g.trigger_id"                                               \
    " UNION ALL"                                                                       \
    " SELECT q.case_id, 'filed', q.report_id, '' FROM requests q"                      \
    " WHERE q.request_id = g.request_id || '#1' AND q.report_id IS NOT NULL"

#define UTC_TEXT(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static void prepare(store_t *store)
{
    store_prepare(store, "trigger_list",
                  "SELECT g.trigger_id, g.kind, g.body, g.cases, g.reached,"
                  "       " UTC_TEXT("g.created_at") ", coalesce(" UTC_TEXT("g.done_at") ", ''),"
                  "       o.pending, o.granted, o.denied, o.referred, o.in_review,"
                  "       coalesce(p.case_id, 0)"
                  "  FROM triggers g"
                  "  LEFT JOIN LATERAL (SELECT q.case_id FROM requests q"
                  "                      WHERE q.request_id = g.request_id || '#1'"
                  "                        AND q.report_id IS NOT NULL) p ON true"
                  "  CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE f.status = 'pending') AS pending,"
                  "                             count(*) FILTER (WHERE f.status = 'granted') AS granted,"
                  "                             count(*) FILTER (WHERE f.status = 'denied') AS denied,"
                  "                             count(*) FILTER (WHERE f.status = 'referred') AS referred,"
                  "                             count(*) FILTER (WHERE f.status = 'in_review') AS in_review"
                  "                        FROM (" TRIGGER_HOUSEHOLDS ") h"
                  "                        JOIN referrals f ON f.report_id = h.report_id) o"
                  " WHERE ($1 = '' OR g.kind = $1) AND ($2::bigint = 0 OR g.trigger_id < $2::bigint)"
                  " ORDER BY g.trigger_id DESC LIMIT $3::int");
    store_prepare(store, "trigger_one",
                  "SELECT g.trigger_id, g.kind, g.body, g.cases, g.reached,"
                  "       " UTC_TEXT("g.created_at") ", coalesce(" UTC_TEXT("g.done_at") ", ''),"
                  "       o.pending, o.granted, o.denied, o.referred, o.in_review"
                  "  FROM triggers g"
                  "  CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE f.status = 'pending') AS pending,"
                  "                             count(*) FILTER (WHERE f.status = 'granted') AS granted,"
                  "                             count(*) FILTER (WHERE f.status = 'denied') AS denied,"
                  "                             count(*) FILTER (WHERE f.status = 'referred') AS referred,"
                  "                             count(*) FILTER (WHERE f.status = 'in_review') AS in_review"
                  "                        FROM (" TRIGGER_HOUSEHOLDS ") h"
                  "                        JOIN referrals f ON f.report_id = h.report_id) o"
                  " WHERE g.trigger_id = $1::bigint");
    store_prepare(store, "trigger_households",
                  "SELECT h.case_id, h.status, coalesce(h.report_id, 0), h.note"
                  "  FROM triggers g CROSS JOIN LATERAL (" TRIGGER_HOUSEHOLDS ") h"
                  " WHERE g.trigger_id = $1::bigint AND h.case_id > $2::bigint"
                  " ORDER BY h.case_id LIMIT $3::int");
    store_prepare(store, "trigger_members",
                  "SELECT case_id, id_enc, name FROM case_members"
                  " WHERE case_id = ANY ($1::bigint[]) ORDER BY case_id, joined_at");
    store_prepare(store, "trigger_referrals",
                  "SELECT f.report_id, f.referral_id, f.department, f.status,"
                  "       coalesce(d.reason, ''), coalesce(array_to_string(d.rules, ','), ''),"
                  "       coalesce(" UTC_TEXT("d.decided_at") ", '')"
                  "  FROM referrals f LEFT JOIN decisions d USING (referral_id)"
                  " WHERE f.report_id = ANY ($1::bigint[]) ORDER BY f.report_id, f.referral_id");
}

/* ---- bodies ----------------------------------------------------------------- */

typedef struct {
    char kind[32];
    int64_t limit;
    char before[64];
} list_q_t;

static const schema_field_t list_fields[] = {
    SF_STR(list_q_t, kind, "kind", false, 31),
    SF_INT(list_q_t, limit, "limit", false, 1, LIST_MAX),
    SF_STR(list_q_t, before, "before", false, 63),
};
static SCHEMA(list_schema, "body", list_fields);

typedef struct {
    char trigger_id[64];
    int64_t limit;
    char after_case[64];
} get_q_t;

static const schema_field_t get_fields[] = {
    SF_STR(get_q_t, trigger_id, "trigger_id", true, 63),
    SF_INT(get_q_t, limit, "limit", false, 1, HOUSEHOLDS_MAX),
    SF_STR(get_q_t, after_case, "after_case", false, 63),
};
static SCHEMA(get_schema, "body", get_fields);

/* The number of "<prefix><digits>", or -1. */
static long long wire_number(const char *s, const char *prefix)
{
    size_t pl = strlen(prefix);
    const char *p = strncmp(s, prefix, pl) == 0 ? s + pl : "";
    size_t n = strlen(p);
    if (n == 0 || n > 18 || strspn(p, "0123456789") != n)
        return -1;
    return atoll(p);
}

/* ---- shared packing ----------------------------------------------------------- */

/* What the stored body says besides its kind: a disaster's hazard, areas
 * and occurred_on; never the person's ID number (list) — trigger.get adds
 * it masked. */
static int pack_event(msgpack_packer *pk, const PGresult *r, int row, bool with_person)
{
    size_t len = 0;
    unsigned char *body = store_sealed(r, row, 2, PII_AD_TRIGGER, &len);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const msgpack_object *hazard = NULL, *areas = NULL, *occurred = NULL, *id = NULL;
    if (body && mp_unpack((const char *)body, len, &u) == MP_OK &&
        u.data.type == MSGPACK_OBJECT_MAP) {
        hazard = mp_get(&u.data, "hazard");
        areas = mp_get(&u.data, "areas");
        occurred = mp_get(&u.data, "occurred_on");
        id = mp_get(&u.data, "id_number");
    }
    char buf[64];
    mp_pack_str(pk, "hazard");
    if (hazard && mp_str_copy(hazard, buf, sizeof buf) == 0)
        mp_pack_str(pk, buf);
    else
        msgpack_pack_nil(pk);
    mp_pack_str(pk, "areas");
    if (areas && areas->type == MSGPACK_OBJECT_ARRAY)
        msgpack_pack_object(pk, *areas);
    else
        msgpack_pack_array(pk, 0);
    mp_pack_str(pk, "occurred_on");
    if (occurred && mp_str_copy(occurred, buf, sizeof buf) == 0)
        mp_pack_str(pk, buf);
    else
        msgpack_pack_nil(pk); /* the day it was received */
    if (with_person) {
        mp_pack_str(pk, "id_masked");
        char idn[32], masked[20];
        if (id && mp_str_copy(id, idn, sizeof idn) == 0) {
            idcard_mask(idn, strlen(idn), masked, sizeof masked);
            mp_pack_str(pk, masked);
        } else {
            msgpack_pack_nil(pk);
        }
    }
    msgpack_unpacked_destroy(&u);
    free(body);
    return 0;
}

/* The columns common to trigger_list and trigger_one (0–10). */
static void pack_trigger(msgpack_packer *pk, const PGresult *r, int row, bool with_person)
{
    char buf[48];
    snprintf(buf, sizeof buf, "trigger-%s", PQgetvalue(r, row, 0));
    mp_pack_kv_str(pk, "trigger_id", buf);
    mp_pack_kv_str(pk, "kind", PQgetvalue(r, row, 1));
    pack_event(pk, r, row, with_person); /* hazard, areas, occurred_on[, id_masked] */
    mp_pack_kv_str(pk, "created_at", PQgetvalue(r, row, 5));
    mp_pack_str(pk, "done_at");
    if (*PQgetvalue(r, row, 6))
        mp_pack_str(pk, PQgetvalue(r, row, 6));
    else
        msgpack_pack_nil(pk);
    mp_pack_kv_int(pk, "cases", atoll(PQgetvalue(r, row, 3)));
    mp_pack_kv_int(pk, "reached", atoll(PQgetvalue(r, row, 4)));
    mp_pack_str(pk, "outcomes");
    msgpack_pack_map(pk, 5);
    mp_pack_kv_int(pk, "pending", atoll(PQgetvalue(r, row, 7)));
    mp_pack_kv_int(pk, "granted", atoll(PQgetvalue(r, row, 8)));
    mp_pack_kv_int(pk, "denied", atoll(PQgetvalue(r, row, 9)));
    mp_pack_kv_int(pk, "referred", atoll(PQgetvalue(r, row, 10)));
    mp_pack_kv_int(pk, "in_review", atoll(PQgetvalue(r, row, 11))); /* POLICY.md §16 */
}
#define TRIGGER_KEYS 10 /* keys pack_trigger writes without the person */

/* ---- triggers.list --------------------------------------------------------------- */

static int handle_list(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                       proto_error_t *err)
{
    list_q_t q;
    memset(&q, 0, sizeof q);
    schema_err_t se;
    if (req->body && schema_decode(&list_schema, req->body, &q, "", &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (q.kind[0]) {
        int k = 0;
        while (report_trigger_kinds[k] && strcmp(report_trigger_kinds[k], q.kind) != 0)
            k++;
        if (!report_trigger_kinds[k])
            return proto_fail(err, PROTO_INVALID_FIELD, "kind",
                              "must be disaster, medical_expense, unemployment, disability or "
                              "death");
    }
    long long before = 0;
    if (q.before[0] && (before = wire_number(q.before, "trigger-")) < 0)
        return proto_fail(err, PROTO_INVALID_FIELD, "before", "must be trigger-<n>");
    if (q.limit == 0)
        q.limit = 50;
    store_t *store = ctx->store;
    if (!store_ready(store))
        return write_unavailable(err);
    char bs[24], ls[24];
    snprintf(bs, sizeof bs, "%lld", before);
    snprintf(ls, sizeof ls, "%lld", (long long)q.limit);
    const char *vals[3] = {q.kind, bs, ls};
    PGresult *r = store_exec(store, "trigger_list", 3, vals);
    if (!r)
        return write_unavailable(err);
    int n = PQntuples(r);
    pgarr_t cases;
    pgarr_init(&cases);
    msgpack_pack_map(pk, 2);
    mp_pack_kv_bool(pk, "more", n == q.limit);
    mp_pack_str(pk, "triggers");
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        long long cid = atoll(PQgetvalue(r, i, 12));
        msgpack_pack_map(pk, TRIGGER_KEYS + 1);
        pack_trigger(pk, r, i, false);
        mp_pack_str(pk, "case_id"); /* a person trigger's household; nil for areas */
        if (cid > 0) {
            char buf[40];
            snprintf(buf, sizeof buf, "case-%lld", cid);
            mp_pack_str(pk, buf);
            pgarr_add_int(&cases, cid);
        } else {
            msgpack_pack_nil(pk);
        }
    }
    PQclear(r);
    /* R-AUDIT: who looked at the triggers (and the cases of person triggers) */
    const char *cv = cases.count ? pgarr_str(&cases) : "{NULL}";
    int rc = !cv || opctx_audit_read(ctx, "triggers.list", cv, req->id) != 0
                 ? write_unavailable(err)
                 : 0;
    pgarr_free(&cases);
    return rc;
}

OP_HANDLER(triggers_list_op, {"triggers.list", prepare, handle_list})

/* ---- trigger.get ------------------------------------------------------------------- */

/* The first row of r whose column 0 is key, and how many follow with it
 * (r is ordered by column 0; the households come in case order, their
 * reports need not). */
static int rows_of(const PGresult *r, int *from, const char *key)
{
    int n = PQntuples(r), count = 0;
    *from = 0;
    while (*from < n && strcmp(PQgetvalue(r, *from, 0), key) != 0)
        (*from)++;
    while (*from + count < n && strcmp(PQgetvalue(r, *from + count, 0), key) == 0)
        count++;
    return count;
}

static void pack_household(msgpack_packer *pk, const PGresult *hh, int i, const PGresult *mem,
                           int *mi, const PGresult *refs, int *ri)
{
    char buf[48];
    const char *cid = PQgetvalue(hh, i, 0), *rid = PQgetvalue(hh, i, 2);
    msgpack_pack_map(pk, 6);
    snprintf(buf, sizeof buf, "case-%s", cid);
    mp_pack_kv_str(pk, "case_id", buf);
    mp_pack_kv_str(pk, "status", PQgetvalue(hh, i, 1));
    mp_pack_kv_str(pk, "note", PQgetvalue(hh, i, 3));
    mp_pack_str(pk, "report_id");
    if (atoll(rid) > 0) {
        snprintf(buf, sizeof buf, "report-%s", rid);
        mp_pack_str(pk, buf);
    } else {
        msgpack_pack_nil(pk);
    }
    int nm = rows_of(mem, mi, cid);
    mp_pack_str(pk, "persons");
    msgpack_pack_array(pk, (size_t)nm);
    for (int k = *mi; k < *mi + nm; k++) {
        char id[19], idm[20], namem[PROTO_STR_MAX + 1];
        if (store_pii_id(mem, k, 1, id) != 0)
            id[0] = '\0'; /* does not open: shown masked as such */
        idcard_mask(id, strlen(id), idm, sizeof idm);
        name_mask(PQgetvalue(mem, k, 2), namem, sizeof namem);
        msgpack_pack_map(pk, 2);
        mp_pack_kv_str(pk, "id_masked", idm);
        mp_pack_kv_str(pk, "name_masked", namem);
    }
    int nr = atoll(rid) > 0 ? rows_of(refs, ri, rid) : 0;
    mp_pack_str(pk, "referrals");
    msgpack_pack_array(pk, (size_t)nr);
    for (int k = *ri; k < *ri + nr; k++) {
        msgpack_pack_map(pk, 6);
        snprintf(buf, sizeof buf, "referral-%s", PQgetvalue(refs, k, 1));
        mp_pack_kv_str(pk, "referral_id", buf);
        mp_pack_kv_str(pk, "department", PQgetvalue(refs, k, 2));
        mp_pack_kv_str(pk, "status", PQgetvalue(refs, k, 3));
        mp_pack_kv_str(pk, "reason", PQgetvalue(refs, k, 4));
        mp_pack_str(pk, "rules");
        const char *csv = PQgetvalue(refs, k, 5);
        int cnt = *csv ? 1 : 0;
        for (const char *p = csv; *p; p++)
            cnt += *p == ',';
        msgpack_pack_array(pk, (size_t)cnt);
        for (const char *p = csv; cnt-- > 0;) {
            size_t l = strcspn(p, ",");
            mp_pack_strn(pk, p, l);
            p += l + (p[l] == ',');
        }
        mp_pack_str(pk, "decided_at");
        if (*PQgetvalue(refs, k, 6))
            mp_pack_str(pk, PQgetvalue(refs, k, 6));
        else
            msgpack_pack_nil(pk);
    }
}

static int handle_get(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                      proto_error_t *err)
{
    get_q_t q;
    memset(&q, 0, sizeof q);
    schema_err_t se;
    if (!req->body)
        return proto_fail(err, PROTO_INVALID_FIELD, "trigger_id", "is required");
    if (schema_decode(&get_schema, req->body, &q, "", &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    long long tid = wire_number(q.trigger_id, "trigger-"), after = 0;
    if (tid < 0)
        return proto_fail(err, PROTO_NOT_FOUND, "trigger_id", "no such trigger (want trigger-<n>)");
    if (q.after_case[0] && (after = wire_number(q.after_case, "case-")) < 0)
        return proto_fail(err, PROTO_INVALID_FIELD, "after_case", "must be case-<n>");
    if (q.limit == 0)
        q.limit = 200;
    store_t *store = ctx->store;
    /* the trigger's outcomes and its households' referrals from one snapshot, so
     * that the counts and the rows agree while the departments decide */
    if (!store_ready(store) || store_cmd(store, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0)
        return write_unavailable(err);
    char ts[24], as[24], ls[24];
    snprintf(ts, sizeof ts, "%lld", tid);
    snprintf(as, sizeof as, "%lld", after);
    snprintf(ls, sizeof ls, "%lld", (long long)q.limit);
    const char *one = ts, *hv[3] = {ts, as, ls};
    PGresult *t = store_exec(store, "trigger_one", 1, &one), *hh = NULL, *mem = NULL, *refs = NULL;
    int rc = -1;
    pgarr_t cases, reports;
    pgarr_init(&cases);
    pgarr_init(&reports);
    if (!t || !(hh = store_exec(store, "trigger_households", 3, hv))) {
        write_unavailable(err);
        goto out;
    }
    if (PQntuples(t) != 1) {
        proto_fail(err, PROTO_NOT_FOUND, "trigger_id", "no such trigger");
        goto out;
    }
    int n = PQntuples(hh);
    for (int i = 0; i < n; i++) {
        pgarr_add_text(&cases, PQgetvalue(hh, i, 0));
        if (atoll(PQgetvalue(hh, i, 2)) > 0)
            pgarr_add_text(&reports, PQgetvalue(hh, i, 2));
    }
    const char *cv = pgarr_str(&cases), *rv = pgarr_str(&reports);
    if (!cv || !rv || !(mem = store_exec(store, "trigger_members", 1, &cv)) ||
        !(refs = store_exec(store, "trigger_referrals", 1, &rv))) {
        write_unavailable(err);
        goto out;
    }
    store_rollback(store); /* read-only: nothing to commit; the audit row is its own */
    msgpack_pack_map(pk, TRIGGER_KEYS + 1 + 2);
    pack_trigger(pk, t, 0, true); /* with id_masked: nil for a disaster over areas */
    mp_pack_kv_bool(pk, "more", n == q.limit);
    mp_pack_str(pk, "households");
    msgpack_pack_array(pk, (size_t)n);
    int mi = 0, ri = 0; /* set by rows_of */
    for (int i = 0; i < n; i++)
        pack_household(pk, hh, i, mem, &mi, refs, &ri);
    /* R-AUDIT: the cases whose members this read showed */
    rc = opctx_audit_read(ctx, "trigger.get", n ? cv : "{NULL}", req->id) != 0
             ? write_unavailable(err)
             : 0;
out:
    store_rollback(store); /* ends the read on every path (a no-op once ended) */
    PQclear(t);
    PQclear(hh);
    PQclear(mem);
    PQclear(refs);
    pgarr_free(&cases);
    pgarr_free(&reports);
    return rc;
}

OP_HANDLER(trigger_get_op, {"trigger.get", NULL, handle_get})
