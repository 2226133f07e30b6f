/* op_complaint.c — `complaint.submit`, `complaint.get`, `complaint.update`
 * (R-COMPLAINT, POLICY.md §13, proto/CARE.md).
 *
 * A complaint gets a tracking number ("TS202611-000123": its China month
 * and a number counted per month) and is followed registered →
 * investigating → resolved, one step at a time, each with who and a note.
 * Complaints and steps are append-only (triggers in migration 010): a step
 * is a new row, never a change. Text is stored with any ID-number-shaped
 * run masked, like every log line (R-DISCLOSE: masked wherever shown).
 *
 * Reach (migration 051): a complaint belongs to the township it was filed
 * for ("township" of complaint.submit) and to the registered township of its
 * case. complaint.get and complaint.update with "township" (the caller's:
 * the web console sends a caseworker's own) answer a complaint outside it
 * not_found, word for word as a number that does not exist, so numbers
 * cannot be probed; without it they are county-wide, as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care.h"
#include "log.h"
#include "mp.h"
#include "opctx.h"
#include "write.h"

#define UTC_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static void prepare(store_t *store)
{
    store_prepare(store, "care_complaint_submit",
                  "SELECT outcome, coalesce(tracking_no, '')"
                  "  FROM aid_complaint_submit($1, $2, $3, $4::bigint, $5, $6)");
    store_prepare(store, "care_complaint_get",
                  "SELECT c.channel, c.text, coalesce(c.case_id::text, ''), " UTC_TIME("c.created_at")
                  ",      s.step, s.status, s.by_whom, s.note, " UTC_TIME("s.at")
                  "  FROM complaints c JOIN complaint_steps s USING (tracking_no)"
                  " WHERE c.tracking_no = $1 AND aid_complaint_in_reach($1, $2)"
                  " ORDER BY s.step");
    store_prepare(store, "care_complaint_update",
                  "SELECT outcome, coalesce(cur_status, ''), coalesce(step, 0)"
                  "  FROM aid_complaint_update($1, $2, $3, $4, $5, $6)");
}

static int handle_submit(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                         proto_error_t *err)
{
    care_complaint_t c;
    schema_err_t se;
    if (care_complaint_decode(req->body, &c, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    char text[CARE_STR_MAX + 1], by[CARE_STR_MAX + 1], case_num[24];
    log_scrub(c.text, text, sizeof text);
    log_scrub(c.by[0] ? c.by : care_channel_names[c.channel], by, sizeof by);
    snprintf(case_num, sizeof case_num, "%lld", c.case_num);
    const char *vals[6] = {req->id, care_channel_names[c.channel], text,
                           c.case_num ? case_num : NULL, by, c.township[0] ? c.township : NULL};
    PGresult *r = store_exec(ctx->store, "care_complaint_submit", 6, vals);
    if (!r)
        return write_unavailable(err);
    if (strcmp(PQgetvalue(r, 0, 0), "not_found") == 0) {
        PQclear(r);
        return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
    }
    msgpack_pack_map(pk, 2);
    mp_pack_kv_str(pk, "tracking_no", PQgetvalue(r, 0, 1));
    mp_pack_kv_str(pk, "status", "registered");
    PQclear(r);
    return 0;
}

static int handle_get(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                      proto_error_t *err)
{
    care_complaint_step_t q;
    schema_err_t se;
    if (care_complaint_get_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    store_t *store = ctx->store;
    if (!store_ready(store))
        return write_unavailable(err);
    const char *args[2] = {q.tracking_no, q.township[0] ? q.township : NULL};
    PGresult *r = store_exec(store, "care_complaint_get", 2, args);
    if (!r)
        return write_unavailable(err);
    int n = PQntuples(r);
    if (n == 0) {
        PQclear(r);
        return proto_fail(err, PROTO_NOT_FOUND, "tracking_no", "no complaint with this tracking number");
    }
    const char *case_num = PQgetvalue(r, 0, 2);
    msgpack_pack_map(pk, *case_num ? 7 : 6);
    mp_pack_kv_str(pk, "tracking_no", q.tracking_no);
    mp_pack_kv_str(pk, "channel", PQgetvalue(r, 0, 0));
    mp_pack_kv_str(pk, "text", PQgetvalue(r, 0, 1));
    if (*case_num) {
        char buf[40];
        snprintf(buf, sizeof buf, "case-%s", case_num);
        mp_pack_kv_str(pk, "case_id", buf);
    }
    mp_pack_kv_str(pk, "submitted_at", PQgetvalue(r, 0, 3));
    mp_pack_kv_str(pk, "status", PQgetvalue(r, n - 1, 5));
    mp_pack_str(pk, "steps");
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        msgpack_pack_map(pk, 5);
        mp_pack_kv_int(pk, "step", atoll(PQgetvalue(r, i, 4)));
        mp_pack_kv_str(pk, "status", PQgetvalue(r, i, 5));
        mp_pack_kv_str(pk, "by", PQgetvalue(r, i, 6));
        mp_pack_kv_str(pk, "note", PQgetvalue(r, i, 7));
        mp_pack_kv_str(pk, "at", PQgetvalue(r, i, 8));
    }
    /* R-AUDIT: who read the complaint (and so its case, when it names one) */
    char ids[40], action[64];
    snprintf(ids, sizeof ids, "{%s}", *case_num ? case_num : "NULL");
    snprintf(action, sizeof action, "complaint.get %s", q.tracking_no);
    PQclear(r);
    return opctx_audit_read(ctx, action, ids, req->id) != 0 ? write_unavailable(err) : 0;
}

static int handle_update(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                         proto_error_t *err)
{
    care_complaint_step_t q;
    schema_err_t se;
    if (care_complaint_update_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    char by[CARE_STR_MAX + 1], note[CARE_STR_MAX + 1];
    log_scrub(q.by, by, sizeof by);
    log_scrub(q.note, note, sizeof note);
    const char *status = care_complaint_next_names[q.status];
    const char *vals[6] = {req->id, q.tracking_no, status, by, note,
                           q.township[0] ? q.township : NULL};
    PGresult *r = store_exec(ctx->store, "care_complaint_update", 6, vals);
    if (!r)
        return write_unavailable(err);
    const char *outcome = PQgetvalue(r, 0, 0), *cur = PQgetvalue(r, 0, 1);
    char msg[200];
    int rc = 0;
    if (strcmp(outcome, "not_found") == 0) {
        rc = proto_fail(err, PROTO_NOT_FOUND, "tracking_no", "no complaint with this tracking number");
    } else if (strcmp(outcome, "conflict") == 0) {
        snprintf(msg, sizeof msg, "the complaint is already %s: steps go registered → "
                 "investigating → resolved, each once, never back", cur);
        rc = proto_fail(err, PROTO_CONFLICT, "status", msg);
    } else if (strcmp(outcome, "skip") == 0) {
        snprintf(msg, sizeof msg, "the complaint is %s: its next step is investigating "
                 "(registered → investigating → resolved, no step skipped)", cur);
        rc = proto_fail(err, PROTO_INVALID_FIELD, "status", msg);
    } else {
        msgpack_pack_map(pk, 3);
        mp_pack_kv_str(pk, "tracking_no", q.tracking_no);
        mp_pack_kv_str(pk, "status", status);
        mp_pack_kv_int(pk, "step", atoll(PQgetvalue(r, 0, 2)));
    }
    PQclear(r);
    return rc;
}

OP_HANDLER(complaint_submit_op, {"complaint.submit", prepare, handle_submit})
OP_HANDLER(complaint_get_op, {"complaint.get", NULL, handle_get})
OP_HANDLER(complaint_update_op, {"complaint.update", NULL, handle_update})
