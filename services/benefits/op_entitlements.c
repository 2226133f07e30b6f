/* op_entitlements.c — a case's entitlements over time (POLICY.md §17):
 * entitlements.list (a read, audited), entitlement.exit (R-EXIT),
 * entitlement.suspend and entitlement.resume (a pause is not an exit). */
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

static void prepare(store_t *store)
{
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
    store_prepare(store, "ben_exit",
                  "SELECT x.outcome, x.ended, coalesce(to_char(x.last_month, 'YYYY-MM'), '')"
                  "  FROM aid_entitlements_exit($1, $2::bigint, decode($3, 'hex'), $4, $5::date, $6) x"
                  " WHERE EXISTS (SELECT 1 FROM cases WHERE case_id = $2::bigint)");
    store_prepare(store, "ben_pause",
                  "SELECT outcome FROM aid_entitlement_pause($1, $2::bigint, $3::date, $4, $5)");
    store_prepare(store, "ben_resume",
                  "SELECT outcome FROM aid_entitlement_resume($1::bigint, $2::date, $3, $4::boolean)");
}

/* entitlements.list: the case's entitlements (those active in month, when
 * given; else every one that ran, with how it ended). */
static int handle_list(opctx_t *c, const proto_request_t *req,
                       msgpack_packer *pk, proto_error_t *err)
{
    benefits_list_t q;
    schema_err_t se;
    if (benefits_list_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (!store_ready(c->store))
        return ben_unavailable(err);
    char case_num[24];
    PGresult *r;
    if (q.id_number[0]) {
        char hex[PII_HASH_HEX];
        pii_hash_hex(q.id_number, hex);
        const char *a[1] = {hex};
        if (!(r = store_exec(c->store, "ben_case_of_person", 1, a)))
            return ben_unavailable(err);
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
        if (!(r = store_exec(c->store, "ben_case", 1, a)))
            return ben_unavailable(err);
        int found = PQntuples(r);
        PQclear(r);
        if (!found)
            return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
    }
    char month[11] = "";
    if (q.month_first)
        date_format(q.month_first, month);
    const char *a[2] = {case_num, month[0] ? month : NULL};
    if (!(r = store_exec(c->store, "ben_list", 2, a)))
        return ben_unavailable(err);
    /* R-AUDIT: the read is recorded (committed) before it is answered */
    char action[48], caseid[40];
    snprintf(action, sizeof action, "entitlements.list%s%s", month[0] ? " " : "", q.month);
    if (ben_audit(c, action, case_num, req->id, err) != 0) {
        PQclear(r);
        return -1;
    }
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

/* entitlement.exit (a write): R-EXIT — a death, income at the standard (gradual
 * exit), a move to another household, or another end; each with its reason,
 * rule and who. */
static int handle_exit(opctx_t *c, const proto_request_t *req,
                       msgpack_packer *pk, proto_error_t *err)
{
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
    PGresult *r = store_exec(c->store, "ben_exit", 6, a);
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
static int handle_pause(opctx_t *c, const proto_request_t *req,
                        msgpack_packer *pk, proto_error_t *err, bool resume)
{
    benefits_pause_t q;
    schema_err_t se;
    if ((resume ? benefits_resume_decode : benefits_suspend_decode)(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    char ent[24], month[11];
    snprintf(ent, sizeof ent, "%lld", (long long)q.entitlement_id);
    date_format(q.month_first, month);
    PGresult *r;
    if (resume) {
        const char *a[4] = {ent, month, q.by, q.back_pay ? "true" : "false"};
        r = store_exec(c->store, "ben_resume", 4, a);
    } else {
        const char *a[5] = {req->id, ent, month, q.reason, q.by};
        r = store_exec(c->store, "ben_pause", 5, a);
    }
    if (!r)
        return write_unavailable(err);
    const char *o = PQgetvalue(r, 0, 0);
    static const ben_outcome_t fails[] = {
        {"not_found", PROTO_NOT_FOUND, "entitlement_id", "no such entitlement"},
        {"paused", PROTO_CONFLICT, "entitlement_id", "it is paused already"},
        {"not_paused", PROTO_CONFLICT, "entitlement_id", "it is not paused"},
        {"ended", PROTO_CONFLICT, "from_month", "the entitlement ended before"},
        {NULL, 0, NULL, NULL}};
    int rc = ben_outcome(o, fails, err);
    if (rc == 0) {
        msgpack_pack_map(pk, resume ? 4 : 3);
        mp_pack_kv_int(pk, "entitlement_id", q.entitlement_id);
        mp_pack_kv_str(pk, resume ? "resumed" : "paused_from", q.month);
        mp_pack_kv_str(pk, "by", q.by);
        if (resume) /* the paused months: owed (adjustment lines of the next run) or not */
            mp_pack_kv_bool(pk, "back_pay", q.back_pay);
    }
    PQclear(r);
    return rc;
}

static int handle_suspend(opctx_t *c, const proto_request_t *req, msgpack_packer *pk,
                          proto_error_t *err)
{
    return handle_pause(c, req, pk, err, false);
}

static int handle_resume(opctx_t *c, const proto_request_t *req, msgpack_packer *pk,
                         proto_error_t *err)
{
    return handle_pause(c, req, pk, err, true);
}

OP_HANDLER(entitlements_list_op, {"entitlements.list", prepare, handle_list})
OP_HANDLER(entitlement_exit_op, {"entitlement.exit", NULL, handle_exit})
OP_HANDLER(entitlement_suspend_op, {"entitlement.suspend", NULL, handle_suspend})
OP_HANDLER(entitlement_resume_op, {"entitlement.resume", NULL, handle_resume})
