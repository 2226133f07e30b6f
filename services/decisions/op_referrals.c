/* op_referrals.c — the department handler protocol (PROTOCOL.md "Department
 * handlers", proto/DEPARTMENTS.md): `referrals.pending` and
 * `decision.submit`, for departments that run their own system
 * (AID_EXTERNAL_DEPARTMENTS).
 *
 * referrals.pending is a read: a department's undecided referrals after a
 * seq, oldest first, each with what a handler needs to decide — the report
 * (IDs and names masked) and the assessment per person (full ID numbers only
 * for the departments that register measures in a person's name:
 * proto_department_sees_ids).
 *
 * decision.submit is a write: checked as strictly as a report
 * (proto_decision_check), then recorded by the one decision recorder the
 * built-in departments use (services/department/record.h: aid_apply_decisions
 * with one row) with decided_by "external:<department>" — decision, measures
 * and the referral's completion in one statement. A referral already decided the same way
 * answers ok with duplicate: true; decided differently, conflict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "department.h"
#include "idcard.h"
#include "log.h"
#include "mp.h"
#include "opctx.h"
#include "write.h"
#include "pgarr.h"
#include "pii.h"
#include "record.h"

static void prepare(store_t *store)
{
    store_prepare(store, "pending_list",
                  "SELECT f.referral_id, f.seq, f.case_id, f.report_id, r.body,"
                  "       to_char(f.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                  "  FROM referral_queue q JOIN referrals f USING (referral_id)"
                  "  JOIN reports r USING (report_id)"
                  " WHERE q.department = $1 AND q.seq > $2::bigint"
                  " ORDER BY q.seq LIMIT $3::int");
    store_prepare(store, "pending_persons",
                  "SELECT a.report_id, a.idx, m.id_enc, a.age, array_to_string(a.groups, ','),"
                  "       a.supplement_fen, a.visit_every, a.care_category"
                  "  FROM assessed_persons a LEFT JOIN case_members m USING (id_hash)"
                  " WHERE a.report_id = ANY ($1::bigint[])"
                  " ORDER BY a.report_id, a.idx");
    store_prepare(store, "decision_referral",
                  "SELECT f.department, f.status, r.body, f.case_id"
                  "  FROM referrals f JOIN reports r USING (report_id)"
                  " WHERE f.referral_id = $1::bigint FOR UPDATE OF f");
    store_prepare(store, "decision_record",
                  "SELECT o_referral_id FROM aid_apply_decisions(" RECORD_SQL_ARGS ")");
    store_prepare(store, "decision_stored",
                  "SELECT status, reason, array_to_string(rules, ','), decided_by"
                  "  FROM decisions WHERE referral_id = $1::bigint");
    store_prepare(store, "decision_stored_measures",
                  "SELECT code, coalesce(person_idx, -1), amount_fen, period, form"
                  "  FROM measures WHERE referral_id = $1::bigint ORDER BY ord");
}

/* Decodes the stored report body at (row, col) into r; -1 when unreadable. */
static int load_report(PGresult *res, int row, int col, report_t *r)
{
    size_t len = 0;
    unsigned char *body = store_sealed(res, row, col, PII_AD_REPORT, &len);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    schema_err_t se;
    int rc = body && mp_unpack((const char *)body, len, &u) == MP_OK &&
                     proto_report_decode(&u.data, date_today(), r, &se) == 0
                 ? 0
                 : -1;
    msgpack_unpacked_destroy(&u);
    free(body);
    return rc;
}

/* Packs a comma-separated list as an array of strings. */
static void pack_csv(msgpack_packer *pk, const char *csv)
{
    int n = *csv ? 1 : 0;
    for (const char *p = csv; *p; p++)
        n += *p == ',';
    msgpack_pack_array(pk, (size_t)n);
    for (const char *p = csv; n-- > 0;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        mp_pack_strn(pk, p, len);
        p += len + (comma ? 1 : 0);
    }
}

/* ---- referrals.pending --------------------------------------------------------- */

/* The household class and persons of report_id (rows of ps, ordered by
 * report and index; the referrals of a page need not be in report order). */
static void pack_persons(msgpack_packer *pk, PGresult *ps, const char *report_id, bool full_ids)
{
    int n = PQntuples(ps), first = 0, count = 0;
    while (first < n && strcmp(PQgetvalue(ps, first, 0), report_id) != 0)
        first++;
    while (first + count < n && strcmp(PQgetvalue(ps, first + count, 0), report_id) == 0)
        count++;
    char cls = 0; /* the household class of POLICY.md §0: S, then M, then O */
    for (int i = first; i < first + count; i++) {
        const char *g = PQgetvalue(ps, i, 4);
        if (strchr(g, 'S'))
            cls = 'S';
        else if (strchr(g, 'M') && cls != 'S')
            cls = 'M';
        else if (strchr(g, 'O') && !cls)
            cls = 'O';
    }
    mp_pack_str(pk, "household");
    msgpack_pack_map(pk, 1);
    char cs[2] = {cls, 0};
    mp_pack_kv_str(pk, "class", cls ? cs : "none");
    mp_pack_str(pk, "persons");
    msgpack_pack_array(pk, (size_t)count);
    for (int i = first; i < first + count; i++) {
        char id[19];
        store_pii_id(ps, i, 2, id); /* "" when it does not open: shown masked as such */
        char masked[20];
        idcard_mask(id, strlen(id), masked, sizeof masked);
        msgpack_pack_map(pk, full_ids ? 8 : 7);
        mp_pack_kv_int(pk, "index", atoll(PQgetvalue(ps, i, 1)));
        mp_pack_kv_str(pk, "id_masked", masked);
        if (full_ids)
            mp_pack_kv_str(pk, "id_number", id);
        mp_pack_kv_int(pk, "age", atoll(PQgetvalue(ps, i, 3)));
        mp_pack_str(pk, "groups");
        pack_csv(pk, PQgetvalue(ps, i, 4));
        mp_pack_kv_int(pk, "dibao_supplement_fen", atoll(PQgetvalue(ps, i, 5)));
        mp_pack_kv_str(pk, "visit_every", PQgetvalue(ps, i, 6));
        mp_pack_kv_int(pk, "care_category", atoll(PQgetvalue(ps, i, 7)));
    }
}

static int handle_pending(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                          proto_error_t *err)
{
    proto_pending_t q;
    schema_err_t se;
    if (proto_pending_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    store_t *store = ctx->store;
    if (!store_ready(store))
        return write_unavailable(err);
    const char *dept = rules_departments[q.department];
    if (acts_for(ctx->client, dept, "department", err) != 0)
        return -1;
    char after[24], limit[24];
    snprintf(after, sizeof after, "%lld", (long long)q.after_seq);
    snprintf(limit, sizeof limit, "%lld", (long long)q.limit);
    const char *vals[3] = {dept, after, limit};
    PGresult *list = store_exec(store, "pending_list", 3, vals), *ps = NULL;
    report_t *r = malloc(sizeof *r);
    pgarr_t ids;
    pgarr_init(&ids);
    int rc = -1, n = list ? PQntuples(list) : 0;
    for (int i = 0; i < n; i++)
        pgarr_add_text(&ids, PQgetvalue(list, i, 3));
    const char *idv = pgarr_str(&ids);
    if (!list || !r || !idv || !(ps = store_exec(store, "pending_persons", 1, &idv))) {
        write_unavailable(err);
        goto out;
    }
    bool full_ids = proto_department_sees_ids(dept);
    msgpack_pack_map(pk, 3);
    mp_pack_kv_str(pk, "department", dept);
    mp_pack_kv_bool(pk, "more", n == q.limit);
    mp_pack_str(pk, "referrals");
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        char buf[48];
        bool readable = load_report(list, i, 4, r) == 0;
        msgpack_pack_map(pk, 9);
        snprintf(buf, sizeof buf, "referral-%s", PQgetvalue(list, i, 0));
        mp_pack_kv_str(pk, "referral_id", buf);
        mp_pack_kv_int(pk, "seq", atoll(PQgetvalue(list, i, 1)));
        snprintf(buf, sizeof buf, "case-%s", PQgetvalue(list, i, 2));
        mp_pack_kv_str(pk, "case_id", buf);
        snprintf(buf, sizeof buf, "report-%s", PQgetvalue(list, i, 3));
        mp_pack_kv_str(pk, "report_id", buf);
        mp_pack_kv_str(pk, "department", dept);
        mp_pack_kv_str(pk, "created_at", PQgetvalue(list, i, 5));
        pack_persons(pk, ps, PQgetvalue(list, i, 3), full_ids); /* household, persons */
        mp_pack_str(pk, "report");
        if (readable)
            proto_department_pack_report(r, pk);
        else
            msgpack_pack_nil(pk); /* corruption: the handler refers it to an operator */
    }
    log_info("referrals.read", "department", LOG_S(dept), "referrals", LOG_I(n), "ids",
             LOG_S(full_ids ? "full" : "masked"), NULL);
    /* R-AUDIT: the cases this department's handler read */
    pgarr_t cases;
    pgarr_init(&cases);
    for (int i = 0; i < n; i++)
        pgarr_add_text(&cases, PQgetvalue(list, i, 2));
    const char *cv = pgarr_str(&cases);
    char action[64];
    snprintf(action, sizeof action, "referrals.pending %s", dept);
    rc = 0;
    if (n > 0 && (!cv || opctx_audit_read(ctx, action, cv, req->id) != 0))
        rc = write_unavailable(err);
    pgarr_free(&cases);
out:
    PQclear(list);
    PQclear(ps);
    pgarr_free(&ids);
    free(r);
    return rc;
}

OP_HANDLER(referrals_pending_op, {"referrals.pending", prepare, handle_pending})

/* ---- decision.submit ------------------------------------------------------------ */

/* True when the decision stored for rid is exactly d (status, reason, rules
 * and measures in order); -1 on a store error. */
static int same_as_stored(store_t *store, const char *rid, const proto_decision_t *d,
                          char *by, size_t bysz)
{
    const char *arg = rid;
    PGresult *dec = store_exec(store, "decision_stored", 1, &arg);
    PGresult *ms = dec ? store_exec(store, "decision_stored_measures", 1, &arg) : NULL;
    if (!ms) {
        PQclear(dec);
        return -1;
    }
    int same = PQntuples(dec) == 1;
    if (same) {
        snprintf(by, bysz, "%s", PQgetvalue(dec, 0, 3));
        char rules[PROTO_DECISION_MAX_RULES * 32] = "";
        for (int i = 0; i < d->n_rules; i++) {
            size_t l = strlen(rules);
            snprintf(rules + l, sizeof rules - l, "%s%s", i ? "," : "", d->rules[i]);
        }
        same = strcmp(PQgetvalue(dec, 0, 0), proto_statuses[d->status]) == 0 &&
               strcmp(PQgetvalue(dec, 0, 1), d->reason) == 0 &&
               strcmp(PQgetvalue(dec, 0, 2), rules) == 0 && PQntuples(ms) == d->n_measures;
    }
    for (int i = 0; same && i < d->n_measures; i++) {
        const proto_measure_in_t *m = &d->measures[i];
        same = strcmp(PQgetvalue(ms, i, 0), m->code) == 0 &&
               atoll(PQgetvalue(ms, i, 1)) == m->person &&
               atoll(PQgetvalue(ms, i, 2)) == m->amount_fen &&
               strcmp(PQgetvalue(ms, i, 3), proto_periods[m->period]) == 0 &&
               strcmp(PQgetvalue(ms, i, 4), proto_forms[m->form]) == 0;
    }
    PQclear(dec);
    PQclear(ms);
    return same;
}

_Static_assert(PROTO_DECISION_MAX_MEASURES <= DECISION_MAX_MEASURES &&
                   PROTO_DECISION_MAX_RULES <= DECISION_MAX_RULES,
               "a submitted decision fits the recorder's");

/* Records d for referral num (its report r) with the one recorder: 1
 * recorded, 0 already decided, -1 error. */
static int record(store_t *store, long long num, const proto_decision_t *d, const report_t *r,
                  const char *by)
{
    decision_t *dec = calloc(1, sizeof *dec);
    record_batch_t b;
    record_init(&b);
    int rc = -1;
    if (!dec)
        goto out;
    dec->status = d->status;
    snprintf(dec->reason, sizeof dec->reason, "%s", d->reason);
    dec->n_rules = d->n_rules;
    for (int i = 0; i < d->n_rules; i++)
        dec->rules[i] = d->rules[i];
    dec->n_measures = d->n_measures;
    for (int i = 0; i < d->n_measures; i++) {
        const proto_measure_in_t *m = &d->measures[i];
        measure_t *o = &dec->measures[i];
        snprintf(o->code, sizeof o->code, "%s", m->code);
        o->person = (int)m->person;
        o->amount_fen = m->amount_fen;
        o->period = m->period;
        o->form = m->form;
    }
    record_entry_t e = {num, dec, r};
    record_add(&b, &e);
    const char *vals[RECORD_PARAMS];
    if (record_params(&b, by, vals) != 0)
        goto out;
    PGresult *res = store_exec(store, "decision_record", RECORD_PARAMS, vals);
    if (res)
        rc = PQntuples(res) == 1;
    PQclear(res);
out:
    record_free(&b);
    free(dec);
    return rc;
}

/* case.updated for a decision recorded here, as the built-in departments
 * publish it; the owner sends it only after the transaction commits. */
static void announce(opctx_t *ctx, long long case_id, long long referral_id, const char *dept)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    mp_pack_kv_int(&pk, "seq", 0); /* the host numbers its own stream when it sends */
    mp_pack_kv_int(&pk, "case_id", case_id);
    mp_pack_kv_int(&pk, "referral_id", referral_id);
    mp_pack_kv_str(&pk, "department", dept);
    opctx_publish(ctx, "case.updated", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

static int handle_decision(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                           proto_error_t *err)
{
    store_t *store = ctx->store;
    proto_decision_t *d = malloc(sizeof *d);
    report_t *r = malloc(sizeof *r);
    PGresult *ref = NULL;
    schema_err_t se;
    int rc = -1;
    if (!d || !r) {
        write_unavailable(err);
        goto out;
    }
    if (proto_decision_decode(req->body, d, &se) != 0) {
        proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
        goto out;
    }
    long long num = proto_referral_number(d->referral_id);
    if (num < 0) {
        proto_fail(err, PROTO_NOT_FOUND, "referral_id", "no such referral (want referral-<n>)");
        goto out;
    }
    char rid[24];
    snprintf(rid, sizeof rid, "%lld", num);
    const char *arg = rid;
    if (!(ref = store_exec(store, "decision_referral", 1, &arg))) {
        write_unavailable(err);
        goto out;
    }
    if (PQntuples(ref) != 1) {
        proto_fail(err, PROTO_NOT_FOUND, "referral_id", "no such referral");
        goto out;
    }
    char dept[32], by[64];
    snprintf(dept, sizeof dept, "%s", PQgetvalue(ref, 0, 0));
    if (acts_for(ctx->client, dept, "referral_id", err) != 0)
        goto out;
    if (load_report(ref, 0, 2, r) != 0) {
        proto_fail(err, PROTO_UNAVAILABLE, NULL, "the referral's report could not be read");
        goto out;
    }
    if (proto_decision_check(d, dept, r->n_members, &se) != 0) {
        proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
        goto out;
    }
    snprintf(by, sizeof by, "external:%s", dept);
    int fresh = 0;
    if (strcmp(PQgetvalue(ref, 0, 1), "pending") == 0 && (fresh = record(store, num, d, r, by)) < 0) {
        write_unavailable(err);
        goto out;
    }
    if (!fresh) {
        char decided_by[64] = "";
        int same = same_as_stored(store, rid, d, decided_by, sizeof decided_by);
        if (same < 0) {
            write_unavailable(err);
            goto out;
        }
        if (!same) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s was already decided differently (by %s)",
                     d->referral_id, decided_by);
            proto_fail(err, PROTO_CONFLICT, "referral_id", msg);
            goto out;
        }
    }
    if (fresh)
        announce(ctx, atoll(PQgetvalue(ref, 0, 3)), num, dept);
    msgpack_pack_map(pk, 4);
    mp_pack_kv_str(pk, "referral_id", d->referral_id);
    mp_pack_kv_str(pk, "department", dept);
    mp_pack_kv_str(pk, "status", proto_statuses[d->status]);
    mp_pack_kv_bool(pk, "duplicate", !fresh);
    log_info("decision.external", "referral_id", LOG_I(num), "department", LOG_S(dept), "client",
             LOG_S(ctx->client), "status", LOG_S(proto_statuses[d->status]), "measures",
             LOG_I(d->n_measures), "duplicate", LOG_I(!fresh), NULL);
    rc = 0;
out:
    PQclear(ref);
    free(d);
    free(r);
    return rc;
}

OP_HANDLER(decision_submit_op, {"decision.submit", NULL, handle_decision})
