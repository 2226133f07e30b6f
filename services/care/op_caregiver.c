/* op_caregiver.c — `caregiver.score` (R-CAREGIVER, POLICY.md §12).
 *
 * Each month the caregiver of a dispersed tekun person is scored, once per
 * person and month. A score below P_CAREGIVER_PASS revokes the caregiver at
 * once: aid_caregiver_score (migration 010) records, in this write's
 * transaction, a care referral on the household's latest report issued by
 * the score, its decision (care.caregiver_revoked citing R-CAREGIVER, decided
 * by "caregiver.score") and a task to find a new caregiver. The audit trail
 * is then the ordinary one: case.get shows the referral, its rule and its
 * reason; caregiver_scores and care_tasks keep the score and the task. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care.h"
#include "idcard.h"
#include "mp.h"
#include "pii.h"
#include "opctx.h"
#include "write.h"

static void prepare(store_t *store)
{
    store_prepare(store, "care_person_latest",
                  "SELECT m.case_id, r.report_id, r.body FROM case_members m"
                  " CROSS JOIN LATERAL (SELECT x.report_id, x.body FROM reports x"
                  "                      WHERE x.case_id = m.case_id"
                  "                      ORDER BY x.report_id DESC LIMIT 1) r"
                  " WHERE m.id_hash = decode($1, 'hex')");
    store_prepare(store, "care_score",
                  "SELECT outcome, passed, pass_mark, coalesce(referral_id, 0),"
                  "       coalesce(task_id, 0)"
                  "  FROM aid_caregiver_score($1, $2, $3::date, $4, $5::int, $6::bigint,"
                  "                           $7::bigint, $8::int, $9)");
}

/* The person's index in the household's latest report when they are a
 * dispersed tekun person there; -1 when they are not; -2 when the report
 * cannot be read. */
static int dispersed_index(PGresult *res, const char *id_number)
{
    size_t len = 0;
    unsigned char *body = store_sealed(res, 0, 2, PII_AD_REPORT, &len);
    report_t *r = malloc(sizeof *r);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    schema_err_t se;
    int idx = -2;
    if (body && r && mp_unpack((const char *)body, len, &u) == MP_OK &&
        proto_report_decode(&u.data, date_today(), r, &se) == 0) {
        idx = -1;
        for (int i = 0; i < r->n_members; i++)
            if (strcmp(r->members[i].id_number, id_number) == 0 &&
                r->members[i].tekun == TEKUN_DISPERSED)
                idx = i;
    }
    msgpack_unpacked_destroy(&u);
    free(r);
    free(body);
    return idx;
}

static int handle(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                  proto_error_t *err)
{
    care_score_t s;
    schema_err_t se;
    if (care_score_decode(req->body, date_today(), &s, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    store_t *store = ctx->store;
    char hash[PII_HASH_HEX];
    pii_hash_hex(s.id_number, hash);
    const char *id = hash;
    PGresult *p = store_exec(store, "care_person_latest", 1, &id);
    if (!p)
        return write_unavailable(err);
    if (PQntuples(p) != 1) {
        PQclear(p);
        return proto_fail(err, PROTO_NOT_FOUND, "id_number", "no registered person with this ID number");
    }
    int idx = dispersed_index(p, s.id_number);
    if (idx == -2) {
        PQclear(p);
        return proto_fail(err, PROTO_UNAVAILABLE, NULL, "the household's latest report could not be read");
    }
    if (idx < 0) {
        PQclear(p);
        return proto_fail(err, PROTO_INVALID_FIELD, "id_number",
                          "caregivers are scored only for dispersed tekun persons (R-CAREGIVER); "
                          "the household's latest report does not make this person one");
    }
    char case_id[24], report_id[24], month[11], score[8], pidx[8], masked[20];
    snprintf(case_id, sizeof case_id, "%s", PQgetvalue(p, 0, 0));
    snprintf(report_id, sizeof report_id, "%s", PQgetvalue(p, 0, 1));
    PQclear(p);
    date_format(s.month_first, month);
    snprintf(score, sizeof score, "%d", (int)s.score);
    snprintf(pidx, sizeof pidx, "%d", idx);
    idcard_mask(s.id_number, 18, masked, sizeof masked);
    const char *vals[9] = {req->id, hash, month, s.caregiver, score,
                           case_id, report_id, pidx, masked};
    PGresult *r = store_exec(store, "care_score", 9, vals);
    if (!r)
        return write_unavailable(err);
    if (strcmp(PQgetvalue(r, 0, 0), "conflict") == 0) {
        PQclear(r);
        char msg[160];
        snprintf(msg, sizeof msg,
                 "this person's caregiver is already scored for %.7s: one score per person "
                 "and month", s.month);
        return proto_fail(err, PROTO_CONFLICT, "month", msg);
    }
    bool passed = PQgetvalue(r, 0, 1)[0] == 't';
    long long referral = atoll(PQgetvalue(r, 0, 3)), task = atoll(PQgetvalue(r, 0, 4));
    msgpack_pack_map(pk, passed ? 4 : 6);
    mp_pack_kv_bool(pk, "passed", passed);
    mp_pack_kv_bool(pk, "revoked", !passed);
    mp_pack_kv_int(pk, "score", s.score);
    mp_pack_kv_int(pk, "pass_mark", atoll(PQgetvalue(r, 0, 2)));
    if (!passed) {
        char buf[48];
        snprintf(buf, sizeof buf, "referral-%lld", referral);
        mp_pack_kv_str(pk, "referral_id", buf);
        snprintf(buf, sizeof buf, "task-%lld", task);
        mp_pack_kv_str(pk, "task_id", buf);
    }
    PQclear(r);
    return 0;
}

OP_HANDLER(caregiver_score_op, {"caregiver.score", prepare, handle})
