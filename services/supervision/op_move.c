/* op_move.c — `move.queue`, `move.decide`: possible moves (住址变更) to
 * confirm or reject (migration 050, proto/README.md §11.1).
 *
 * A report filed in a township other than its case's registered township
 * is kept and decided as any report, but moves nobody: it waits as a move
 * for the case's township (or the county) to confirm — the case is then
 * registered where the report was filed — or reject. Until then the
 * household stays where it is registered, in reach, ledgers and lists.
 * Decisions are append-only rows with who, when, how and why. "township"
 * is the caller's reach: a move of a case registered elsewhere is not_found,
 * as one that does not exist. In secure mode only a township's own keys
 * (for its cases) and the county's services (AID_DEPARTMENT_ANY, such as the
 * web console, which keeps staff to their townships) decide; others get
 * unauthorized. The queue carries no personal data. */
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
    store_prepare(store, "move_queue",
                  "SELECT move_id, case_id, report_id, township, to_township, to_village, "
                  UTC_TIME("created_at") " FROM aid_move_queue($1)");
    store_prepare(store, "move_decide",
                  "SELECT outcome, coalesce(case_id, 0), coalesce(township, ''),"
                  "       coalesce(prev_decision, '')"
                  "  FROM aid_move_decide($1, $2::bigint, $3, $4, $5, $6)");
}

static int handle_queue(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                        proto_error_t *err)
{
    care_move_t q;
    schema_err_t se;
    if (care_move_queue_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    store_t *store = ctx->store;
    if (!store_ready(store))
        return write_unavailable(err);
    const char *arg = q.township[0] ? q.township : NULL;
    PGresult *r = store_exec(store, "move_queue", 1, &arg);
    if (!r)
        return write_unavailable(err);
    int n = PQntuples(r);
    msgpack_pack_map(pk, q.township[0] ? 2 : 1);
    if (q.township[0])
        mp_pack_kv_str(pk, "township", q.township);
    mp_pack_str(pk, "moves");
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        char buf[48];
        msgpack_pack_map(pk, 7);
        snprintf(buf, sizeof buf, "move-%s", PQgetvalue(r, i, 0));
        mp_pack_kv_str(pk, "move_id", buf);
        snprintf(buf, sizeof buf, "case-%s", PQgetvalue(r, i, 1));
        mp_pack_kv_str(pk, "case_id", buf);
        snprintf(buf, sizeof buf, "report-%s", PQgetvalue(r, i, 2));
        mp_pack_kv_str(pk, "report_id", buf);
        mp_pack_kv_str(pk, "township", PQgetvalue(r, i, 3));
        mp_pack_kv_str(pk, "to_township", PQgetvalue(r, i, 4));
        mp_pack_kv_str(pk, "to_village", PQgetvalue(r, i, 5));
        mp_pack_kv_str(pk, "reported_at", PQgetvalue(r, i, 6));
    }
    PQclear(r);
    return 0;
}

static int handle_decide(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                         proto_error_t *err)
{
    care_move_t q;
    schema_err_t se;
    if (care_move_decide_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (acts_for_township(ctx->client, q.township, "township", err) != 0)
        return -1;
    char by[CARE_STR_MAX + 1], note[CARE_STR_MAX + 1], num[24];
    log_scrub(q.by, by, sizeof by);
    log_scrub(q.note, note, sizeof note);
    snprintf(num, sizeof num, "%lld", q.move_num);
    const char *decision = care_move_decision_names[q.decision];
    const char *vals[6] = {req->id, num, decision, by, note, q.township[0] ? q.township : NULL};
    PGresult *r = store_exec(ctx->store, "move_decide", 6, vals);
    if (!r)
        return write_unavailable(err);
    const char *outcome = PQgetvalue(r, 0, 0);
    char msg[160];
    int rc = 0;
    if (strcmp(outcome, "not_found") == 0) {
        rc = proto_fail(err, PROTO_NOT_FOUND, "move_id", "no such move");
    } else if (strcmp(outcome, "conflict") == 0) {
        snprintf(msg, sizeof msg, "the move is decided already (%s): a move is decided once",
                 PQgetvalue(r, 0, 3));
        rc = proto_fail(err, PROTO_CONFLICT, "move_id", msg);
    } else {
        char buf[40];
        msgpack_pack_map(pk, 4);
        mp_pack_kv_str(pk, "move_id", q.move_id);
        mp_pack_kv_str(pk, "decision", decision);
        snprintf(buf, sizeof buf, "case-%s", PQgetvalue(r, 0, 1));
        mp_pack_kv_str(pk, "case_id", buf);
        mp_pack_kv_str(pk, "township", PQgetvalue(r, 0, 2));
        log_info("move.decided", "move", LOG_S(q.move_id), "decision", LOG_S(decision),
                 "case", LOG_S(buf), NULL);
    }
    PQclear(r);
    return rc;
}

OP_HANDLER(move_queue_op, {"move.queue", prepare, handle_queue})
OP_HANDLER(move_decide_op, {"move.decide", NULL, handle_decide})
