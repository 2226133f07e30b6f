/* recheck.c — recheck.open (POLICY.md §17 R-RECHECK, proto/README.md §11.2): opens
 * a household's re-check as a review (investigation → notice → confirmation by
 * another person) whose proposal is its entitlements in force. The checks and the
 * records are in SQL (aid_recheck_open, ops/sql/55_casework.sql); the
 * investigation recomputes the proposal like any other (review.c), and the
 * confirmation supersedes the entitlements (aid_recheck_confirm). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casework.h"
#include "date.h"
#include "log.h"
#include "mp.h"
#include "schema.h"

#define BY_MAX 64

typedef struct {
    char case_id[64];
    char by[BY_MAX + 1];
    aid_date_t on;
} open_q_t;

static const schema_field_t open_fields[] = {
    SF_STR(open_q_t, case_id, "case_id", true, 63),
    SF_STR(open_q_t, by, "by", true, BY_MAX),
    SF_DATE(open_q_t, on, "on", false),
};
static SCHEMA(open_schema, "recheck.open", open_fields);

void recheck_prepare(store_t *store)
{
    store_prepare(store, "cw_recheck_open",
                  "SELECT o_referral_id, o_case_id, o_kind, to_char(o_due_month, 'YYYY-MM'),"
                  "       o_stage, coalesce(o_due_on::text, '')"
                  "  FROM aid_recheck_open($1, $2::bigint, $3, $4::date, $5)");
}

int recheck_open(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                 proto_error_t *err)
{
    casework_t *cw = arg;
    open_q_t q = {0};
    schema_err_t se;
    if (!req->body || schema_decode(&open_schema, req->body, &q, "", &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, req->body ? se.field : "body",
                          req->body ? se.message : "required");
    const char *digits = q.case_id + 5;
    if (strncmp(q.case_id, "case-", 5) != 0 || !*digits || strlen(digits) > 18 ||
        strspn(digits, "0123456789") != strlen(digits))
        return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
    aid_date_t today = date_today();
    if (!q.on)
        q.on = today;
    if (q.on > today)
        return proto_fail(err, PROTO_INVALID_FIELD, "on", "must not be after today");
    char township[10] = ""; /* a township's key: its own township's cases only */
    if (casework_acts_for(client, q.by, err) != 0 ||
        casework_township_reach(client, township, err) != 0)
        return -1;
    char on[11], by[BY_MAX + 1];
    date_format(q.on, on);
    log_scrub(q.by, by, sizeof by);
    const char *vals[5] = {req->id, digits, by, on, township[0] ? township : NULL};
    PGresult *r = store_exec(cw->store, "cw_recheck_open", 5, vals);
    if (!r)
        return casework_sql_error(cw->store, err);
    if (PQntuples(r) != 1) {
        PQclear(r);
        return casework_unavailable(err);
    }
    char buf[48];
    const char *due = PQgetvalue(r, 0, 5);
    msgpack_pack_map(pk, 5 + (*due != 0));
    snprintf(buf, sizeof buf, "referral-%s", PQgetvalue(r, 0, 0));
    mp_pack_kv_str(pk, "referral_id", buf);
    snprintf(buf, sizeof buf, "case-%s", PQgetvalue(r, 0, 1));
    mp_pack_kv_str(pk, "case_id", buf);
    mp_pack_kv_str(pk, "kind", PQgetvalue(r, 0, 2));
    mp_pack_kv_str(pk, "due_month", PQgetvalue(r, 0, 3));
    mp_pack_kv_str(pk, "stage", PQgetvalue(r, 0, 4));
    if (*due)
        mp_pack_kv_str(pk, "due_on", due);
    log_info("recheck.open", "referral", LOG_S(PQgetvalue(r, 0, 0)), "case",
             LOG_S(PQgetvalue(r, 0, 1)), NULL);
    PQclear(r);
    return 0;
}
