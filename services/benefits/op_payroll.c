/* op_payroll.c — the monthly payroll (R-PAY-MONTHLY, POLICY.md §17):
 * payroll.run, payroll.approve (four eyes), payroll.get, payroll.file (the
 * bank's file, a page at a time, audited) and payroll.reconcile (the bank's
 * returns). The SQL functions (ops/sql/57_benefits.sql) check the control
 * totals and pay nobody twice. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ben.h"
#include "benefits.h"
#include "entview.h"
#include "log.h"
#include "pii.h"
#include "mp.h"
#include "write.h"

#define FILE_PAGE 2000 /* lines per payroll.file answer */

static void prepare(store_t *store)
{
    store_prepare(store, "ben_run",
                  "SELECT outcome, run_id, lines, total_fen, blocked"
                  "  FROM aid_payroll_run($1, $2::date, $3, $4)");
    store_prepare(store, "ben_approve",
                  "SELECT a.outcome, coalesce(a.approved_by, ''), r.lines, r.total_fen, r.blocked,"
                  "       r.created_by"
                  "  FROM aid_payroll_approve($1::bigint, $2) a"
                  "  LEFT JOIN payroll_runs r ON r.run_id = $1::bigint");
    store_prepare(store, "ben_settle",
                  "SELECT outcome FROM aid_payroll_settle($1::bigint, $2::bigint, $3, $4)");
    store_prepare(store, "ben_run_get",
                  "SELECT to_char(r.month, 'YYYY-MM'), coalesce(r.township, ''), r.created_by,"
                  "       coalesce(r.approved_by, ''), r.filed_at IS NOT NULL, r.lines, r.total_fen,"
                  "       r.blocked, t.paid, t.paid_fen, t.failed, t.failed_fen"
                  "  FROM payroll_runs r CROSS JOIN LATERAL aid_payroll_totals(r.run_id) t"
                  " WHERE r.run_id = $1::bigint");
    store_prepare(store, "ben_run_open_lines",
                  "SELECT l.line_id, l.case_id, to_char(l.month, 'YYYY-MM'), l.amount_fen, l.kind,"
                  "       l.status, coalesce(l.reason, '')"
                  "  FROM payroll_lines l"
                  " WHERE l.run_id = $1::bigint AND l.status IN ('blocked', 'failed')"
                  " ORDER BY l.line_id LIMIT 1000");
    /* one line per household: its first line of the run (the reference the bank's
     * return gives back) with all its lines of the run summed; a page at a time
     * in the order of the reference lines */
    store_prepare(store, "ben_file_lines",
                  "SELECT h.line_id, h.case_id, to_char(r.month, 'YYYY-MM'), s.amount_fen,"
                  "       p.bank, p.account_enc, s.n"
                  "  FROM (SELECT l.line_id, l.case_id, l.run_id FROM payroll_lines l"
                  "         WHERE l.run_id = $1::bigint AND l.status <> 'blocked'"
                  "           AND l.line_id > $2::bigint"
                  "           AND NOT EXISTS (SELECT 1 FROM payroll_lines k"
                  "                            WHERE k.case_id = l.case_id AND k.run_id = l.run_id"
                  "                              AND k.status <> 'blocked' AND k.line_id < l.line_id)"
                  "         ORDER BY l.line_id LIMIT $3::int) h"
                  "  JOIN payroll_runs r ON r.run_id = h.run_id AND r.approved_at IS NOT NULL"
                  "  CROSS JOIN LATERAL (SELECT sum(k.amount_fen) AS amount_fen, count(*) AS n"
                  "                        FROM payroll_lines k WHERE k.case_id = h.case_id"
                  "                         AND k.run_id = h.run_id AND k.status <> 'blocked') s"
                  "  CROSS JOIN LATERAL (SELECT * FROM payees p WHERE p.case_id = h.case_id"
                  "                       ORDER BY p.since DESC LIMIT 1) p"
                  " ORDER BY h.line_id");
    store_prepare(store, "ben_run_adjustments",
                  "SELECT l.line_id, l.case_id, to_char(l.month, 'YYYY-MM'), l.amount_fen,"
                  "       l.status, coalesce(l.adjust_reason, ''), array_to_string(coalesce(l.rules, '{}'), ',')"
                  "  FROM payroll_lines l"
                  " WHERE l.run_id = $1::bigint AND l.kind = 'adjustment'"
                  " ORDER BY l.line_id LIMIT 1000");
    store_prepare(store, "ben_filed",
                  "UPDATE payroll_runs SET filed_at = coalesce(filed_at, now())"
                  " WHERE run_id = $1::bigint AND approved_at IS NOT NULL RETURNING 1");
}

/* payroll.run (a write): the month's payroll of a township or the county. */
static int handle_run(opctx_t *c, const proto_request_t *req,
                      msgpack_packer *pk, proto_error_t *err)
{
    benefits_run_t q;
    schema_err_t se;
    if (benefits_run_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    char month[11];
    date_format(q.month_first, month);
    const char *a[4] = {req->id, month, q.township[0] ? q.township : NULL, q.by};
    PGresult *r = store_exec(c->store, "ben_run", 4, a);
    if (!r)
        return write_unavailable(err);
    int rc = 0;
    if (strcmp(PQgetvalue(r, 0, 0), "exists") == 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "the payroll of %s for %s was run before: run %s", q.month,
                 q.township[0] ? q.township : "the county", PQgetvalue(r, 0, 1));
        rc = proto_fail(err, PROTO_CONFLICT, "month", msg);
    } else {
        msgpack_pack_map(pk, q.township[0] ? 6 : 5);
        mp_pack_kv_int(pk, "run_id", atoll(PQgetvalue(r, 0, 1)));
        mp_pack_kv_str(pk, "month", q.month);
        if (q.township[0])
            mp_pack_kv_str(pk, "township", q.township);
        mp_pack_kv_int(pk, "lines", atoll(PQgetvalue(r, 0, 2)));
        mp_pack_kv_int(pk, "total_fen", atoll(PQgetvalue(r, 0, 3)));
        mp_pack_kv_int(pk, "blocked", atoll(PQgetvalue(r, 0, 4)));
        log_info("benefits.payroll_run", "run", LOG_S(PQgetvalue(r, 0, 1)), "month",
                 LOG_S(q.month), "lines", LOG_S(PQgetvalue(r, 0, 2)), "total_fen",
                 LOG_S(PQgetvalue(r, 0, 3)), NULL);
    }
    PQclear(r);
    return rc;
}

/* payroll.approve (a write): the second person's approval (four eyes). */
static int handle_approve(opctx_t *c, const proto_request_t *req,
                          msgpack_packer *pk, proto_error_t *err)
{
    benefits_run_ref_t q;
    schema_err_t se;
    if (benefits_approve_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    char run[24], msg[200];
    snprintf(run, sizeof run, "%lld", (long long)q.run_id);
    const char *a[2] = {run, q.by};
    PGresult *r = store_exec(c->store, "ben_approve", 2, a);
    if (!r)
        return write_unavailable(err);
    const char *outcome = PQgetvalue(r, 0, 0);
    int rc = 0;
    if (strcmp(outcome, "not_found") == 0) {
        rc = proto_fail(err, PROTO_NOT_FOUND, "run_id", "no such payroll run");
    } else if (strcmp(outcome, "same_person") == 0) {
        rc = proto_fail(err, PROTO_CONFLICT, "by",
                        "the person who ran the payroll cannot approve it: a second person "
                        "approves (four eyes, R-PAY-MONTHLY)");
    } else if (strcmp(outcome, "approved") == 0) {
        snprintf(msg, sizeof msg, "the run was approved before, by %s", PQgetvalue(r, 0, 1));
        rc = proto_fail(err, PROTO_CONFLICT, "run_id", msg);
    } else if (strcmp(outcome, "totals") == 0) {
        rc = proto_fail(err, PROTO_CONFLICT, "run_id",
                        "the run's lines do not add up to its control totals: not approved");
    } else {
        msgpack_pack_map(pk, 4);
        mp_pack_kv_int(pk, "run_id", q.run_id);
        mp_pack_kv_str(pk, "approved_by", q.by);
        mp_pack_kv_int(pk, "lines", atoll(PQgetvalue(r, 0, 2)));
        mp_pack_kv_int(pk, "total_fen", atoll(PQgetvalue(r, 0, 3)));
    }
    PQclear(r);
    return rc;
}

/* payroll.reconcile (a write): the bank's return, line by line; all or nothing. */
static int handle_reconcile(opctx_t *c, const proto_request_t *req,
                            msgpack_packer *pk, proto_error_t *err)
{
    benefits_reconcile_t *q = malloc(sizeof *q);
    if (!q)
        return proto_fail(err, PROTO_UNAVAILABLE, NULL, "out of memory: nothing was recorded");
    schema_err_t se;
    int rc = 0;
    if (benefits_reconcile_decode(req->body, q, &se) != 0) {
        rc = proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
        goto out;
    }
    char run[24], line[24], field[48];
    snprintf(run, sizeof run, "%lld", (long long)q->run_id);
    int paid = 0, failed = 0;
    for (int i = 0; i < q->n_returns && rc == 0; i++) {
        const benefits_return_t *x = &q->returns[i];
        snprintf(line, sizeof line, "%lld", (long long)x->line_id);
        const char *a[4] = {run, line, benefits_return_names[x->status],
                            x->reason[0] ? x->reason : NULL};
        PGresult *r = store_exec(c->store, "ben_settle", 4, a);
        if (!r) {
            rc = write_unavailable(err);
            break;
        }
        const char *o = PQgetvalue(r, 0, 0);
        snprintf(field, sizeof field, "returns[%d].line_id", i);
        if (strcmp(o, "no_run") == 0)
            rc = proto_fail(err, PROTO_NOT_FOUND, "run_id", "no such payroll run");
        else if (strcmp(o, "not_found") == 0)
            rc = proto_fail(err, PROTO_NOT_FOUND, field, "no such line in this run");
        else if (strcmp(o, "not_approved") == 0)
            rc = proto_fail(err, PROTO_CONFLICT, "run_id",
                            "the run is not approved: nothing of it went to the bank");
        else if (strcmp(o, "blocked") == 0)
            rc = proto_fail(err, PROTO_CONFLICT, field,
                            "a blocked line (no payee) never went to the bank");
        else if (strcmp(o, "settled") == 0) {
            snprintf(field, sizeof field, "returns[%d].status", i);
            rc = proto_fail(err, PROTO_CONFLICT, field,
                            "the line was settled otherwise before: a paid line is never paid "
                            "again, a failed one is carried into the next run");
        } else if (x->status == 0)
            paid++;
        else
            failed++;
        PQclear(r);
    }
    if (rc == 0) {
        msgpack_pack_map(pk, 3);
        mp_pack_kv_int(pk, "run_id", q->run_id);
        mp_pack_kv_int(pk, "paid", paid);
        mp_pack_kv_int(pk, "failed", failed);
    }
out:
    free(q);
    return rc;
}

/* payroll.get (a read): a run, its control totals, its blocked and failed lines. */
static int handle_run_get(opctx_t *c, const proto_request_t *req,
                          msgpack_packer *pk, proto_error_t *err)
{
    benefits_run_ref_t q;
    schema_err_t se;
    if (benefits_run_ref_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (!store_ready(c->store))
        return ben_unavailable(err);
    char run[24];
    snprintf(run, sizeof run, "%lld", (long long)q.run_id);
    const char *a[1] = {run};
    PGresult *r = store_exec(c->store, "ben_run_get", 1, a);
    if (!r)
        return ben_unavailable(err);
    if (PQntuples(r) == 0) {
        PQclear(r);
        return proto_fail(err, PROTO_NOT_FOUND, "run_id", "no such payroll run");
    }
    PGresult *ls = store_exec(c->store, "ben_run_open_lines", 1, a);
    if (!ls) {
        PQclear(r);
        return ben_unavailable(err);
    }
    PGresult *adj = store_exec(c->store, "ben_run_adjustments", 1, a);
    if (!adj) {
        PQclear(ls);
        PQclear(r);
        return ben_unavailable(err);
    }
    const char *town = PQgetvalue(r, 0, 1), *appr = PQgetvalue(r, 0, 3);
    msgpack_pack_map(pk, 10 + (*town != 0) + (*appr != 0));
    mp_pack_kv_int(pk, "run_id", q.run_id);
    mp_pack_kv_str(pk, "month", PQgetvalue(r, 0, 0));
    if (*town)
        mp_pack_kv_str(pk, "township", town);
    mp_pack_kv_str(pk, "by", PQgetvalue(r, 0, 2));
    if (*appr)
        mp_pack_kv_str(pk, "approved_by", appr);
    mp_pack_kv_bool(pk, "filed", PQgetvalue(r, 0, 4)[0] == 't');
    mp_pack_kv_int(pk, "lines", atoll(PQgetvalue(r, 0, 5)));
    mp_pack_kv_int(pk, "total_fen", atoll(PQgetvalue(r, 0, 6)));
    mp_pack_kv_int(pk, "blocked", atoll(PQgetvalue(r, 0, 7)));
    mp_pack_str(pk, "settled");
    msgpack_pack_map(pk, 4);
    mp_pack_kv_int(pk, "paid", atoll(PQgetvalue(r, 0, 8)));
    mp_pack_kv_int(pk, "paid_fen", atoll(PQgetvalue(r, 0, 9)));
    mp_pack_kv_int(pk, "failed", atoll(PQgetvalue(r, 0, 10)));
    mp_pack_kv_int(pk, "failed_fen", atoll(PQgetvalue(r, 0, 11)));
    mp_pack_str(pk, "problems");
    int n = PQntuples(ls);
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        char cid[40];
        snprintf(cid, sizeof cid, "case-%s", PQgetvalue(ls, i, 1));
        const char *why = PQgetvalue(ls, i, 6);
        msgpack_pack_map(pk, 6 + (*why != 0));
        mp_pack_kv_int(pk, "line_id", atoll(PQgetvalue(ls, i, 0)));
        mp_pack_kv_str(pk, "case_id", cid);
        mp_pack_kv_str(pk, "month", PQgetvalue(ls, i, 2));
        mp_pack_kv_int(pk, "amount_fen", atoll(PQgetvalue(ls, i, 3)));
        mp_pack_kv_str(pk, "kind", PQgetvalue(ls, i, 4));
        mp_pack_kv_str(pk, "status", PQgetvalue(ls, i, 5));
        if (*why)
            mp_pack_kv_str(pk, "reason", why);
    }
    /* the corrections of months run before, each with its reason and rules */
    mp_pack_str(pk, "adjustments");
    n = PQntuples(adj);
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        char cid[40];
        snprintf(cid, sizeof cid, "case-%s", PQgetvalue(adj, i, 1));
        msgpack_pack_map(pk, 7);
        mp_pack_kv_int(pk, "line_id", atoll(PQgetvalue(adj, i, 0)));
        mp_pack_kv_str(pk, "case_id", cid);
        mp_pack_kv_str(pk, "month", PQgetvalue(adj, i, 2));
        mp_pack_kv_int(pk, "amount_fen", atoll(PQgetvalue(adj, i, 3)));
        mp_pack_kv_str(pk, "status", PQgetvalue(adj, i, 4));
        mp_pack_kv_str(pk, "reason", PQgetvalue(adj, i, 5));
        mp_pack_str(pk, "rules");
        entview_pack_csv(pk, PQgetvalue(adj, i, 6));
    }
    PQclear(adj);
    PQclear(ls);
    PQclear(r);
    return 0;
}

/* payroll.file (a read): a page of the bank's file of an approved run — the
 * lines to pay with the account each goes to, in the clear for the bank
 * only; every page audited (R-AUDIT), committed before it is answered. */
static int handle_file(opctx_t *c, const proto_request_t *req,
                       msgpack_packer *pk, proto_error_t *err)
{
    const msgpack_object *after_o = req->body ? mp_get(req->body, "after_line") : NULL;
    int64_t after = 0;
    if (after_o && (mp_int(after_o, &after) != 0 || after < 0))
        return proto_fail(err, PROTO_INVALID_FIELD, "after_line", "must be a line id (0 or more)");
    /* run_id alone through the schema; after_line checked above */
    benefits_run_ref_t q = {0};
    if (!req->body || req->body->type != MSGPACK_OBJECT_MAP)
        return proto_fail(err, PROTO_INVALID_FIELD, "body", "this operation needs a body");
    const msgpack_object *run_o = mp_get(req->body, "run_id");
    if (!run_o)
        return proto_fail(err, PROTO_INVALID_FIELD, "run_id", "is required");
    if (mp_int(run_o, &q.run_id) != 0 || q.run_id < 1)
        return proto_fail(err, PROTO_INVALID_FIELD, "run_id", "must be a run id (1 or more)");
    for (uint32_t i = 0; i < req->body->via.map.size; i++) {
        const msgpack_object *k = &req->body->via.map.ptr[i].key;
        if (!mp_str_is(k, "run_id") && !mp_str_is(k, "after_line"))
            return proto_fail(err, PROTO_INVALID_FIELD, "body", "unknown field: run_id and after_line only");
    }
    if (!store_ready(c->store))
        return ben_unavailable(err);
    char run[24], aft[24], lim[16];
    snprintf(run, sizeof run, "%lld", (long long)q.run_id);
    snprintf(aft, sizeof aft, "%lld", (long long)after);
    snprintf(lim, sizeof lim, "%d", FILE_PAGE);
    const char *a1[1] = {run};
    PGresult *f = store_exec(c->store, "ben_filed", 1, a1);
    if (!f)
        return ben_unavailable(err);
    int approved = PQntuples(f);
    PQclear(f);
    if (!approved) {
        PGresult *g = store_exec(c->store, "ben_run_get", 1, a1);
        int exists = g && PQntuples(g) > 0;
        PQclear(g);
        return exists ? proto_fail(err, PROTO_CONFLICT, "run_id",
                                   "the run is not approved: a second person approves it "
                                   "before its file is written (four eyes)")
                      : proto_fail(err, PROTO_NOT_FOUND, "run_id", "no such payroll run");
    }
    const char *a[3] = {run, aft, lim};
    PGresult *r = store_exec(c->store, "ben_file_lines", 3, a);
    if (!r)
        return ben_unavailable(err);
    char action[64];
    snprintf(action, sizeof action, "payroll.file run %s after %s", run, aft);
    if (ben_audit(c, action, NULL, req->id, err) != 0) {
        PQclear(r);
        return -1;
    }
    int n = PQntuples(r);
    msgpack_pack_map(pk, 3);
    mp_pack_kv_int(pk, "run_id", q.run_id);
    mp_pack_str(pk, "lines");
    msgpack_pack_array(pk, (size_t)n);
    int64_t last = 0;
    for (int i = 0; i < n; i++) {
        size_t slen = 0;
        unsigned char *acc = store_sealed(r, i, 5, BEN_AD_ACCOUNT, &slen);
        char cid[40];
        snprintf(cid, sizeof cid, "case-%s", PQgetvalue(r, i, 1));
        last = atoll(PQgetvalue(r, i, 0));
        msgpack_pack_map(pk, 7);
        mp_pack_kv_int(pk, "line_id", last);
        mp_pack_kv_str(pk, "case_id", cid);
        mp_pack_kv_str(pk, "month", PQgetvalue(r, i, 2));
        mp_pack_kv_int(pk, "amount_fen", atoll(PQgetvalue(r, i, 3)));
        mp_pack_kv_str(pk, "bank", PQgetvalue(r, i, 4));
        mp_pack_kv_str(pk, "account", acc ? (const char *)acc : "");
        mp_pack_kv_int(pk, "lines", atoll(PQgetvalue(r, i, 6)));
        if (acc) {
            memset(acc, 0, slen);
            free(acc);
        }
    }
    mp_pack_str(pk, "next_after");
    if (n == FILE_PAGE)
        msgpack_pack_int64(pk, last);
    else
        msgpack_pack_nil(pk);
    PQclear(r);
    return 0;
}

OP_HANDLER(payroll_run_op, {"payroll.run", prepare, handle_run})
OP_HANDLER(payroll_approve_op, {"payroll.approve", NULL, handle_approve})
OP_HANDLER(payroll_reconcile_op, {"payroll.reconcile", NULL, handle_reconcile})
OP_HANDLER(payroll_get_op, {"payroll.get", NULL, handle_run_get})
OP_HANDLER(payroll_file_op, {"payroll.file", NULL, handle_file})
