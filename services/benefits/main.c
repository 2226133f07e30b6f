/* benefits — the owner of entitlements (issue 17, POLICY.md §17): the monthly
 * benefits of households and persons over time.
 *
 * Behind the front door (common/owner.h): it registers its operations with
 * every intake and answers them; reads through owner_answer (a read of a case
 * records its R-AUDIT row, committed before the answer), writes through
 * owner_answer_write (each request id runs once, in the transaction that
 * records it).
 *
 * Between requests it sweeps, every AID_BENEFITS_SWEEP_MS (default 1000): the
 * death triggers not handled yet end the person's entitlements, and the
 * granted civil decisions not yet turned into entitlements are started in
 * batches (aid_entitlements_sweep, ops/sql/57_benefits.sql) — no trigger on the
 * decisions, so the report's hot path is unchanged. A sweep lasts at most half
 * a second before the owner serves and beats again (a backlog is swept on right
 * after). A crash loses nothing: the sweep finds what it did not record. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "benefits.h"
#include "config.h"
#include "curve.h"
#include "idcard.h"
#include "entview.h"
#include "log.h"
#include "metrics.h"
#include "mp.h"
#include "owner.h"
#include "pii.h"
#include "proto.h"
#include "store.h"
#include "svc.h"
#include "trigger.h"
#include "write.h"

#define SWEEP_BATCH "50"         /* decisions per sweep statement */
#define SWEEP_BUDGET_MS 500     /* sweeping between two heartbeats, at most */
#define BENEFITS_OPS                                                                          \
    "entitlements.list payee.set payroll.run payroll.approve payroll.get payroll.file "        \
    "payroll.reconcile entitlement.exit entitlement.suspend entitlement.resume "  \
    "recheck.due case.merge"
#define AD_ACCOUNT "payees.account" /* the associated data of a sealed account number */
#define FILE_PAGE 2000             /* lines per payroll.file answer */

typedef struct {
    store_t *store;
    metric_t *started;
} benefits_t;

static void prepare(store_t *store)
{
    store_prepare(store, "ben_sweep", "SELECT aid_entitlements_sweep($1::int)");
    store_prepare(store, "ben_case_of_person",
                  "SELECT case_id FROM case_members WHERE id_hash = decode($1, 'hex')");
    store_prepare(store, "ben_case", "SELECT 1 FROM cases WHERE case_id = $1::bigint");
    store_prepare(store, "ben_list",
                  "SELECT " ENTVIEW_COLUMNS
                  "  FROM entitlements e"
                  " WHERE e.case_id = $1::bigint AND " ENTVIEW_NOT_VOID
                  "   AND ($2::date IS NULL OR (e.first_month <= $2::date"
                  "        AND (e.last_month IS NULL OR e.last_month >= $2::date)))"
                  " ORDER BY e.first_month, e.entitlement_id");
    store_prepare(store, "ben_payee_set",
                  "INSERT INTO payees (case_id, holder_hash, holder_enc, bank, account_enc,"
                  "                    account_last4, set_by, request_id)"
                  " SELECT $1::bigint, decode($2, 'hex'), decode($3, 'hex'), $4, decode($5, 'hex'),"
                  "        $6, $7, $8 WHERE EXISTS (SELECT 1 FROM cases WHERE case_id = $1::bigint)"
                  " RETURNING 1");
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
    store_prepare(store, "ben_file_lines",
                  "SELECT l.line_id, l.case_id, to_char(l.month, 'YYYY-MM'), l.amount_fen,"
                  "       p.bank, p.account_enc"
                  "  FROM payroll_lines l"
                  "  JOIN payroll_runs r ON r.run_id = l.run_id AND r.approved_at IS NOT NULL"
                  "  CROSS JOIN LATERAL (SELECT * FROM payees p WHERE p.case_id = l.case_id"
                  "                       ORDER BY p.since DESC LIMIT 1) p"
                  " WHERE l.run_id = $1::bigint AND l.status <> 'blocked' AND l.line_id > $2::bigint"
                  " ORDER BY l.line_id LIMIT $3::int");
    store_prepare(store, "ben_filed",
                  "UPDATE payroll_runs SET filed_at = coalesce(filed_at, now())"
                  " WHERE run_id = $1::bigint AND approved_at IS NOT NULL RETURNING 1");
    store_prepare(store, "ben_exit",
                  "SELECT x.outcome, x.ended, coalesce(to_char(x.last_month, 'YYYY-MM'), '')"
                  "  FROM aid_entitlements_exit($1, $2::bigint, decode($3, 'hex'), $4, $5::date, $6) x"
                  " WHERE EXISTS (SELECT 1 FROM cases WHERE case_id = $2::bigint)");
    store_prepare(store, "ben_pause",
                  "SELECT outcome FROM aid_entitlement_pause($1, $2::bigint, $3::date, $4, $5)");
    store_prepare(store, "ben_resume",
                  "SELECT outcome FROM aid_entitlement_resume($1::bigint, $2::date, $3)");
    store_prepare(store, "ben_recheck",
                  "SELECT case_id, kind, coalesce(id_masked, ''), to_char(due_month, 'YYYY-MM'),"
                  "       due_month < $1::date, township"
                  "  FROM aid_recheck_due($1::date, $2) LIMIT 5001");
    store_prepare(store, "ben_merge",
                  "SELECT outcome, members, moved, ended"
                  "  FROM aid_case_merge($1, $2::bigint, $3::bigint, $4, $5, $6::date)");
    store_prepare(store, "ben_deaths",
                  "SELECT t.trigger_id, t.body, to_char(aid_china_date(t.created_at), 'YYYY-MM-01')"
                  "  FROM triggers t"
                  " WHERE t.kind = 'death' AND NOT EXISTS (SELECT 1 FROM entitlement_deaths d"
                  "                                         WHERE d.trigger_id = t.trigger_id)"
                  " ORDER BY t.trigger_id LIMIT 100");
    store_prepare(store, "ben_death",
                  "SELECT aid_entitlements_death($1::bigint, decode($2, 'hex'), $3::date)");
    store_prepare(store, "ben_audit",
                  "INSERT INTO audit_log (who, action, case_id, detail)"
                  " VALUES ($1, $2, $3::bigint, $4)");
}

static int unavailable(proto_error_t *err)
{
    return proto_fail(err, PROTO_UNAVAILABLE, NULL, "the database is unavailable: nothing was read");
}

/* entitlements.list: the case's entitlements (those active in month, when
 * given; else every one that ran, with how it ended). */
static int handle_list(benefits_t *b, const char *client, const proto_request_t *req,
                       msgpack_packer *pk, proto_error_t *err)
{
    benefits_list_t q;
    schema_err_t se;
    if (benefits_list_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (!store_ready(b->store))
        return unavailable(err);
    char case_num[24];
    PGresult *r;
    if (q.id_number[0]) {
        char hex[PII_HASH_HEX];
        pii_hash_hex(q.id_number, hex);
        const char *a[1] = {hex};
        if (!(r = store_exec(b->store, "ben_case_of_person", 1, a)))
            return unavailable(err);
        if (PQntuples(r) == 0) {
            PQclear(r);
            return proto_fail(err, PROTO_NOT_FOUND, "id_number", "no case holds this ID number");
        }
        snprintf(case_num, sizeof case_num, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    } else {
        if (!q.case_num)
            return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
        snprintf(case_num, sizeof case_num, "%lld", q.case_num);
        const char *a[1] = {case_num};
        if (!(r = store_exec(b->store, "ben_case", 1, a)))
            return unavailable(err);
        int found = PQntuples(r);
        PQclear(r);
        if (!found)
            return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
    }
    char month[11] = "";
    if (q.month_first)
        date_format(q.month_first, month);
    const char *a[2] = {case_num, month[0] ? month : NULL};
    if (!(r = store_exec(b->store, "ben_list", 2, a)))
        return unavailable(err);
    /* R-AUDIT: the read is recorded (committed) before it is answered */
    char action[48], caseid[40];
    snprintf(action, sizeof action, "entitlements.list%s%s", month[0] ? " " : "", q.month);
    const char *au[4] = {client, action, case_num, req->id};
    PGresult *w = store_exec(b->store, "ben_audit", 4, au);
    if (!w) {
        PQclear(r);
        return unavailable(err);
    }
    PQclear(w);
    snprintf(caseid, sizeof caseid, "case-%s", case_num);
    msgpack_pack_map(pk, q.month[0] ? 3 : 2);
    mp_pack_kv_str(pk, "case_id", caseid);
    if (q.month[0])
        mp_pack_kv_str(pk, "month", q.month);
    mp_pack_str(pk, "entitlements");
    entview_pack(pk, r);
    PQclear(r);
    return 0;
}

/* The bytes of n as lowercase hex into a new buffer (free()). */
static char *hex_of(const unsigned char *b, size_t n)
{
    char *out = malloc(2 * n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return out;
}

/* payee.set (a write): the account a case is paid to. The holder's ID number
 * keyed and sealed, the account sealed; only its last 4 digits in the clear. */
static int handle_payee(benefits_t *b, const char *client, const proto_request_t *req,
                        msgpack_packer *pk, proto_error_t *err)
{
    (void)client;
    benefits_payee_t p;
    schema_err_t se;
    if (benefits_payee_decode(req->body, &p, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (!p.case_num)
        return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
    char num[24], hash[PII_HASH_HEX], enc[PII_ID_ENC_HEX], last4[5], masked[24], acc_masked[16];
    snprintf(num, sizeof num, "%lld", p.case_num);
    pii_hash_hex(p.holder_id_number, hash);
    pii_id_enc_hex(p.holder_id_number, enc);
    size_t alen = strlen(p.account), slen = 0;
    snprintf(last4, sizeof last4, "%s", p.account + alen - 4);
    unsigned char *sealed = pii_seal_alloc(AD_ACCOUNT, p.account, alen, &slen);
    char *acc_hex = sealed ? hex_of(sealed, slen) : NULL;
    free(sealed);
    memset(p.account, 0, sizeof p.account);
    if (!acc_hex)
        return proto_fail(err, PROTO_UNAVAILABLE, NULL, "out of memory: nothing was stored");
    const char *by = p.by[0] ? p.by : client;
    const char *a[8] = {num, hash, enc, p.bank, acc_hex, last4, by, req->id};
    PGresult *r = store_exec(b->store, "ben_payee_set", 8, a);
    free(acc_hex);
    if (!r)
        return write_unavailable(err);
    int found = PQntuples(r);
    PQclear(r);
    if (!found)
        return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
    idcard_mask(p.holder_id_number, 18, masked, sizeof masked);
    snprintf(acc_masked, sizeof acc_masked, "****%s", last4);
    msgpack_pack_map(pk, 4);
    mp_pack_kv_str(pk, "case_id", p.case_id);
    mp_pack_kv_str(pk, "holder_masked", masked);
    mp_pack_kv_str(pk, "bank", p.bank);
    mp_pack_kv_str(pk, "account_masked", acc_masked);
    return 0;
}

/* payroll.run (a write): the month's payroll of a township or the county. */
static int handle_run(benefits_t *b, const char *client, const proto_request_t *req,
                      msgpack_packer *pk, proto_error_t *err)
{
    (void)client;
    benefits_run_t q;
    schema_err_t se;
    if (benefits_run_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    char month[11];
    date_format(q.month_first, month);
    const char *a[4] = {req->id, month, q.township[0] ? q.township : NULL, q.by};
    PGresult *r = store_exec(b->store, "ben_run", 4, a);
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
static int handle_approve(benefits_t *b, const char *client, const proto_request_t *req,
                          msgpack_packer *pk, proto_error_t *err)
{
    (void)client;
    benefits_run_ref_t q;
    schema_err_t se;
    if (benefits_approve_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    char run[24], msg[200];
    snprintf(run, sizeof run, "%lld", (long long)q.run_id);
    const char *a[2] = {run, q.by};
    PGresult *r = store_exec(b->store, "ben_approve", 2, a);
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
static int handle_reconcile(benefits_t *b, const char *client, const proto_request_t *req,
                            msgpack_packer *pk, proto_error_t *err)
{
    (void)client;
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
        PGresult *r = store_exec(b->store, "ben_settle", 4, a);
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
static int handle_run_get(benefits_t *b, const char *client, const proto_request_t *req,
                          msgpack_packer *pk, proto_error_t *err)
{
    (void)client;
    benefits_run_ref_t q;
    schema_err_t se;
    if (benefits_run_ref_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (!store_ready(b->store))
        return unavailable(err);
    char run[24];
    snprintf(run, sizeof run, "%lld", (long long)q.run_id);
    const char *a[1] = {run};
    PGresult *r = store_exec(b->store, "ben_run_get", 1, a);
    if (!r)
        return unavailable(err);
    if (PQntuples(r) == 0) {
        PQclear(r);
        return proto_fail(err, PROTO_NOT_FOUND, "run_id", "no such payroll run");
    }
    PGresult *ls = store_exec(b->store, "ben_run_open_lines", 1, a);
    if (!ls) {
        PQclear(r);
        return unavailable(err);
    }
    const char *town = PQgetvalue(r, 0, 1), *appr = PQgetvalue(r, 0, 3);
    msgpack_pack_map(pk, 9 + (*town != 0) + (*appr != 0));
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
    PQclear(ls);
    PQclear(r);
    return 0;
}

/* payroll.file (a read): a page of the bank's file of an approved run — the
 * lines to pay with the account each goes to, in the clear for the bank
 * only; every page audited (R-AUDIT), committed before it is answered. */
static int handle_file(benefits_t *b, const char *client, const proto_request_t *req,
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
    if (!store_ready(b->store))
        return unavailable(err);
    char run[24], aft[24], lim[16];
    snprintf(run, sizeof run, "%lld", (long long)q.run_id);
    snprintf(aft, sizeof aft, "%lld", (long long)after);
    snprintf(lim, sizeof lim, "%d", FILE_PAGE);
    const char *a1[1] = {run};
    PGresult *f = store_exec(b->store, "ben_filed", 1, a1);
    if (!f)
        return unavailable(err);
    int approved = PQntuples(f);
    PQclear(f);
    if (!approved) {
        PGresult *g = store_exec(b->store, "ben_run_get", 1, a1);
        int exists = g && PQntuples(g) > 0;
        PQclear(g);
        return exists ? proto_fail(err, PROTO_CONFLICT, "run_id",
                                   "the run is not approved: a second person approves it "
                                   "before its file is written (four eyes)")
                      : proto_fail(err, PROTO_NOT_FOUND, "run_id", "no such payroll run");
    }
    const char *a[3] = {run, aft, lim};
    PGresult *r = store_exec(b->store, "ben_file_lines", 3, a);
    if (!r)
        return unavailable(err);
    char action[64];
    snprintf(action, sizeof action, "payroll.file run %s after %s", run, aft);
    const char *au[4] = {client, action, NULL, req->id};
    PGresult *w = store_exec(b->store, "ben_audit", 4, au);
    if (!w) {
        PQclear(r);
        return unavailable(err);
    }
    PQclear(w);
    int n = PQntuples(r);
    msgpack_pack_map(pk, 3);
    mp_pack_kv_int(pk, "run_id", q.run_id);
    mp_pack_str(pk, "lines");
    msgpack_pack_array(pk, (size_t)n);
    int64_t last = 0;
    for (int i = 0; i < n; i++) {
        size_t slen = 0;
        unsigned char *acc = store_sealed(r, i, 5, AD_ACCOUNT, &slen);
        char cid[40];
        snprintf(cid, sizeof cid, "case-%s", PQgetvalue(r, i, 1));
        last = atoll(PQgetvalue(r, i, 0));
        msgpack_pack_map(pk, 6);
        mp_pack_kv_int(pk, "line_id", last);
        mp_pack_kv_str(pk, "case_id", cid);
        mp_pack_kv_str(pk, "month", PQgetvalue(r, i, 2));
        mp_pack_kv_int(pk, "amount_fen", atoll(PQgetvalue(r, i, 3)));
        mp_pack_kv_str(pk, "bank", PQgetvalue(r, i, 4));
        mp_pack_kv_str(pk, "account", acc ? (const char *)acc : "");
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

/* entitlement.exit (a write): R-EXIT — a death, income at the standard (gradual
 * exit), a move to another household, or another end; each with its reason,
 * rule and who. */
static int handle_exit(benefits_t *b, const char *client, const proto_request_t *req,
                       msgpack_packer *pk, proto_error_t *err)
{
    (void)client;
    benefits_exit_t x;
    schema_err_t se;
    if (benefits_exit_decode(req->body, &x, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (!x.case_num)
        return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
    char num[24], hash[PII_HASH_HEX] = "", month[11];
    snprintf(num, sizeof num, "%lld", x.case_num);
    if (x.id_number[0])
        pii_hash_hex(x.id_number, hash);
    date_format(x.month_first, month);
    const char *a[6] = {req->id, num, hash[0] ? hash : NULL, benefits_exit_names[x.reason],
                        month, x.by};
    PGresult *r = store_exec(b->store, "ben_exit", 6, a);
    if (!r)
        return write_unavailable(err);
    int rc = 0;
    if (PQntuples(r) == 0) {
        rc = proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
    } else if (strcmp(PQgetvalue(r, 0, 0), "keep") == 0) {
        rc = proto_fail(err, PROTO_CONFLICT, "reason",
                        "the household keeps its dibao (R-DIBAO-KEEP, 四个不摘): its latest "
                        "civil decision records civil.dibao_keep");
    } else if (strcmp(PQgetvalue(r, 0, 0), "none") == 0) {
        rc = proto_fail(err, PROTO_NOT_FOUND, x.id_number[0] ? "id_number" : "case_id",
                        "no entitlement of it runs past that month");
    } else {
        msgpack_pack_map(pk, 5);
        mp_pack_kv_str(pk, "case_id", x.case_id);
        mp_pack_kv_str(pk, "reason", benefits_exit_names[x.reason]);
        mp_pack_kv_int(pk, "ended", atoll(PQgetvalue(r, 0, 1)));
        mp_pack_kv_str(pk, "last_month", PQgetvalue(r, 0, 2));
        mp_pack_str(pk, "rules");
        msgpack_pack_array(pk, x.reason == 1 ? 2 : 1);
        mp_pack_str(pk, "R-EXIT");
        if (x.reason == 1)
            mp_pack_str(pk, "R-RECHECK");
    }
    PQclear(r);
    return rc;
}

/* entitlement.suspend and entitlement.resume (writes). */
static int handle_pause(benefits_t *b, const char *client, const proto_request_t *req,
                        msgpack_packer *pk, proto_error_t *err, bool resume)
{
    (void)client;
    benefits_pause_t q;
    schema_err_t se;
    if ((resume ? benefits_resume_decode : benefits_suspend_decode)(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    char ent[24], month[11];
    snprintf(ent, sizeof ent, "%lld", (long long)q.entitlement_id);
    date_format(q.month_first, month);
    PGresult *r;
    if (resume) {
        const char *a[3] = {ent, month, q.by};
        r = store_exec(b->store, "ben_resume", 3, a);
    } else {
        const char *a[5] = {req->id, ent, month, q.reason, q.by};
        r = store_exec(b->store, "ben_pause", 5, a);
    }
    if (!r)
        return write_unavailable(err);
    const char *o = PQgetvalue(r, 0, 0);
    int rc = 0;
    if (strcmp(o, "not_found") == 0)
        rc = proto_fail(err, PROTO_NOT_FOUND, "entitlement_id", "no such entitlement");
    else if (strcmp(o, "paused") == 0)
        rc = proto_fail(err, PROTO_CONFLICT, "entitlement_id", "it is paused already");
    else if (strcmp(o, "not_paused") == 0)
        rc = proto_fail(err, PROTO_CONFLICT, "entitlement_id", "it is not paused");
    else if (strcmp(o, "ended") == 0)
        rc = proto_fail(err, PROTO_CONFLICT, "from_month", "the entitlement ended before");
    else {
        msgpack_pack_map(pk, 3);
        mp_pack_kv_int(pk, "entitlement_id", q.entitlement_id);
        mp_pack_kv_str(pk, resume ? "resumed" : "paused_from", q.month);
        mp_pack_kv_str(pk, "by", q.by);
    }
    PQclear(r);
    return rc;
}

/* recheck.due (a read): the re-checks due by the month (R-RECHECK). */
static int handle_recheck(benefits_t *b, const char *client, const proto_request_t *req,
                          msgpack_packer *pk, proto_error_t *err)
{
    benefits_recheck_t q;
    schema_err_t se;
    if (benefits_recheck_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (!store_ready(b->store))
        return unavailable(err);
    char month[11];
    date_format(q.month_first, month);
    const char *a[2] = {month, q.township[0] ? q.township : NULL};
    PGresult *r = store_exec(b->store, "ben_recheck", 2, a);
    if (!r)
        return unavailable(err);
    int n = PQntuples(r), shown = n > 5000 ? 5000 : n;
    /* R-AUDIT: a list of persons (masked) read by client */
    char action[64];
    snprintf(action, sizeof action, "recheck.due %s %s", q.month, q.township);
    const char *au[4] = {client, action, NULL, req->id};
    PGresult *w = store_exec(b->store, "ben_audit", 4, au);
    if (!w) {
        PQclear(r);
        return unavailable(err);
    }
    PQclear(w);
    msgpack_pack_map(pk, 3);
    mp_pack_kv_str(pk, "month", q.month);
    mp_pack_kv_bool(pk, "truncated", n > shown);
    mp_pack_str(pk, "due");
    msgpack_pack_array(pk, (size_t)shown);
    for (int i = 0; i < shown; i++) {
        char cid[40];
        snprintf(cid, sizeof cid, "case-%s", PQgetvalue(r, i, 0));
        const char *masked = PQgetvalue(r, i, 2);
        msgpack_pack_map(pk, 5 + (*masked != 0));
        mp_pack_kv_str(pk, "case_id", cid);
        mp_pack_kv_str(pk, "kind", PQgetvalue(r, i, 1));
        if (*masked)
            mp_pack_kv_str(pk, "id_masked", masked);
        mp_pack_kv_str(pk, "due_month", PQgetvalue(r, i, 3));
        mp_pack_kv_bool(pk, "overdue", PQgetvalue(r, i, 4)[0] == 't');
        mp_pack_kv_str(pk, "township", PQgetvalue(r, i, 5));
    }
    PQclear(r);
    return 0;
}

/* case.merge (a write): two cases that prove to be one household. */
static int handle_merge(benefits_t *b, const char *client, const proto_request_t *req,
                        msgpack_packer *pk, proto_error_t *err)
{
    (void)client;
    benefits_merge_t m;
    schema_err_t se;
    if (benefits_merge_decode(req->body, &m, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (!m.into_num)
        return proto_fail(err, PROTO_NOT_FOUND, "into", "no such case");
    if (!m.from_num)
        return proto_fail(err, PROTO_NOT_FOUND, "from", "no such case");
    char into[24], from[24], month[11];
    snprintf(into, sizeof into, "%lld", m.into_num);
    snprintf(from, sizeof from, "%lld", m.from_num);
    aid_date_t today = date_today();
    int y = 0, mo = 0, d = 0;
    date_format(today, month);
    if (sscanf(month, "%d-%d-%d", &y, &mo, &d) == 3)
        snprintf(month, sizeof month, "%04d-%02d-01", y, mo);
    const char *a[6] = {req->id, into, from, m.by, m.reason, month};
    PGresult *r = store_exec(b->store, "ben_merge", 6, a);
    if (!r)
        return write_unavailable(err);
    const char *o = PQgetvalue(r, 0, 0);
    int rc = 0;
    if (strcmp(o, "same") == 0)
        rc = proto_fail(err, PROTO_INVALID_FIELD, "from", "a case cannot be merged into itself");
    else if (strcmp(o, "no_into") == 0)
        rc = proto_fail(err, PROTO_NOT_FOUND, "into", "no such case");
    else if (strcmp(o, "no_from") == 0)
        rc = proto_fail(err, PROTO_NOT_FOUND, "from", "no such case");
    else if (strcmp(o, "merged") == 0)
        rc = proto_fail(err, PROTO_CONFLICT, "from", "the case was merged into another before");
    else if (strcmp(o, "into_merged") == 0)
        rc = proto_fail(err, PROTO_CONFLICT, "into",
                        "the case was merged into another: merge into that one");
    else {
        msgpack_pack_map(pk, 5);
        mp_pack_kv_str(pk, "into", m.into);
        mp_pack_kv_str(pk, "from", m.from);
        mp_pack_kv_int(pk, "members", atoll(PQgetvalue(r, 0, 1)));
        mp_pack_kv_int(pk, "entitlements_moved", atoll(PQgetvalue(r, 0, 2)));
        mp_pack_kv_int(pk, "entitlements_ended", atoll(PQgetvalue(r, 0, 3)));
    }
    PQclear(r);
    return rc;
}

/* May client run the county's payroll, set payees, record exits and pauses,
 * merge cases and list the re-checks? In plaintext mode (loopback development)
 * every client may; in secure mode the civil-affairs office's keys ("civil",
 * "civil.<anything>") and the names in AID_DEPARTMENT_ANY (the county's services,
 * like the web console, which check their users' rights themselves). Reading a
 * case's entitlements is open to every client, like case.get. */
static int acts_for_county(const char *client, proto_error_t *err)
{
    if (!curve_secure() || curve_user_is_department(client, "civil") ||
        config_list_has("AID_DEPARTMENT_ANY", client))
        return 0;
    log_warn("benefits.unauthorized", "client", LOG_S(client), NULL);
    return proto_fail(err, PROTO_UNAUTHORIZED, "op",
                      "only the civil-affairs office's keys and the county's services may do this");
}

static int handle(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                  proto_error_t *err)
{
    const char *op = proto_ops[req->op].name;
    if (strcmp(op, "entitlements.list") != 0 && acts_for_county(client, err) != 0)
        return -1;
    if (strcmp(op, "entitlements.list") == 0)
        return handle_list(arg, client, req, pk, err);
    if (strcmp(op, "payee.set") == 0)
        return handle_payee(arg, client, req, pk, err);
    if (strcmp(op, "payroll.run") == 0)
        return handle_run(arg, client, req, pk, err);
    if (strcmp(op, "payroll.approve") == 0)
        return handle_approve(arg, client, req, pk, err);
    if (strcmp(op, "payroll.reconcile") == 0)
        return handle_reconcile(arg, client, req, pk, err);
    if (strcmp(op, "payroll.get") == 0)
        return handle_run_get(arg, client, req, pk, err);
    if (strcmp(op, "payroll.file") == 0)
        return handle_file(arg, client, req, pk, err);
    if (strcmp(op, "case.merge") == 0)
        return handle_merge(arg, client, req, pk, err);
    if (strcmp(op, "recheck.due") == 0)
        return handle_recheck(arg, client, req, pk, err);
    if (strcmp(op, "entitlement.exit") == 0)
        return handle_exit(arg, client, req, pk, err);
    if (strcmp(op, "entitlement.suspend") == 0)
        return handle_pause(arg, client, req, pk, err, false);
    if (strcmp(op, "entitlement.resume") == 0)
        return handle_pause(arg, client, req, pk, err, true);
    return proto_fail(err, PROTO_UNKNOWN_OP, "op", "the benefits service does not serve this operation");
}

/* Whether the forwarded request is for a write (its op's entry in proto_ops). */
static bool request_writes(const owner_request_t *req)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    bool w = false;
    if (mp_unpack(zmq_msg_data((zmq_msg_t *)&req->body), zmq_msg_size((zmq_msg_t *)&req->body),
                  &u) == MP_OK) {
        const msgpack_object *op = mp_get(&u.data, "op");
        for (int i = 0; op && i < proto_op_count; i++)
            if (mp_str_is(op, proto_ops[i].name))
                w = proto_ops[i].writes;
    }
    msgpack_unpacked_destroy(&u);
    return w;
}

/* The death triggers not handled yet: each ends the person's entitlements at
 * the end of the month of the death (R-EXIT), once (aid_entitlements_death). */
static void sweep_deaths(benefits_t *b)
{
    static proto_trigger_t t; /* large (a disaster's areas): not on the stack */
    PGresult *r = store_exec(b->store, "ben_deaths", 0, NULL);
    if (!r) {
        log_warn("benefits.deaths_failed", "error", LOG_S(store_errmsg(b->store)), NULL);
        return;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        size_t len = 0;
        unsigned char *body = store_sealed(r, i, 1, PII_AD_TRIGGER, &len);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        schema_err_t se;
        char hash[PII_HASH_HEX] = "", month[11];
        snprintf(month, sizeof month, "%s", PQgetvalue(r, i, 2));
        if (body && mp_unpack((const char *)body, len, &u) == MP_OK &&
            proto_trigger_decode(&u.data, date_today(), "", &t, &se) == 0 && t.id_number[0]) {
            pii_hash_hex(t.id_number, hash);
            if (t.occurred_on) {
                date_format(t.occurred_on, month);
                month[8] = '0', month[9] = '1';
            }
        }
        msgpack_unpacked_destroy(&u);
        free(body);
        memset(&t, 0, sizeof t);
        /* one that does not open or decode is recorded as handled, ending nothing */
        const char *a[3] = {PQgetvalue(r, i, 0), hash[0] ? hash : NULL, month};
        PGresult *w = store_exec(b->store, "ben_death", 3, a);
        if (!w) {
            log_warn("benefits.death_failed", "trigger", LOG_S(PQgetvalue(r, i, 0)), "error",
                     LOG_S(store_errmsg(b->store)), NULL);
            break;
        }
        log_info("benefits.death", "trigger", LOG_S(PQgetvalue(r, i, 0)), "ended",
                 LOG_S(PQgetvalue(w, 0, 0)), NULL);
        PQclear(w);
    }
    PQclear(r);
}

/* Starts the entitlements of newly granted decisions, a batch at a time, for
 * at most SWEEP_BUDGET_MS: the owner's heartbeats wait while it sweeps, and
 * intake drops an owner silent for AID_OWNER_EXPIRY_MS (3 s). Returns true when
 * there is more to do now (the caller sweeps again right after serving). */
static bool sweep(benefits_t *b)
{
    if (!store_ready(b->store))
        return false;
    sweep_deaths(b);
    int64_t until = svc_now_ms() + SWEEP_BUDGET_MS;
    while (!svc_stopping()) {
        const char *a[1] = {SWEEP_BATCH};
        PGresult *r = store_exec(b->store, "ben_sweep", 1, a);
        if (!r) {
            log_warn("benefits.sweep_failed", "error", LOG_S(store_errmsg(b->store)), NULL);
            return false;
        }
        long long n = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
        metric_add(b->started, n);
        if (n < atoll(SWEEP_BATCH))
            return false;
        if (svc_now_ms() >= until)
            return true;
    }
    return false;
}

int main(void)
{
    svc_init("benefits");
    svc_require_pii();
    const char *dsn = config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid");
    int64_t sweep_ms = config_int("AID_BENEFITS_SWEEP_MS", 1000, 50, 3600000);
    benefits_t b = {.store = store_new(dsn)};
    if (!b.store)
        return 1;
    prepare(b.store);
    write_prepare(b.store);
    metrics_t *m = metrics_new("benefits");
    b.started = metrics_counter(m, "aid_benefits_decisions_total",
                                "granted decisions turned into entitlements");
    metrics_readiness(m, dsn);
    metrics_listen(m);
    void *zctx = zmq_ctx_new();
    owner_t *o = owner_new(zctx, "benefits", BENEFITS_OPS);
    if (!o) {
        store_destroy(&b.store);
        return 1;
    }
    log_info("benefits.started", "ops", LOG_S(BENEFITS_OPS), NULL);
    int64_t next_sweep = 0;
    while (!svc_stopping()) {
        bool more = false;
        if (svc_now_ms() >= next_sweep) {
            more = sweep(&b);
            next_sweep = svc_now_ms() + (more ? 0 : sweep_ms);
        }
        owner_request_t req;
        int got = owner_recv(o, more ? 0 : 200, &req);
        if (got < 0)
            break;
        if (got == 0)
            continue;
        if (request_writes(&req))
            owner_answer_write(o, &req, b.store, handle, &b);
        else
            owner_answer(o, &req, handle, &b);
    }
    owner_destroy(&o);
    zmq_ctx_term(zctx);
    metrics_destroy(&m);
    store_destroy(&b.store);
    log_info("benefits.stopped", NULL);
    return 0;
}
