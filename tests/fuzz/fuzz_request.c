/* fuzz_request.c — fuzz target for every request validator of the contract:
 * the envelope, then the body decoder of the operation it names.
 *
 * Invariants: no crash, no leak, no undefined behaviour on any input; every
 * refusal names its field and shows no full ID number (a key that is one is
 * named masked, POLICY.md §13); a report that validates re-encodes
 * (proto_report_encode) to bytes that validate again to the very same
 * struct. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "care.h"
#include "department.h"
#include "log.h"
#include "mp.h"
#include "proto.h"
#include "trigger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts when text holds an ID number that the log scrubber would mask. */
static void masked(const char *text)
{
    char scrubbed[256];
    log_scrub(text, scrubbed, sizeof scrubbed);
    if (strncmp(text, scrubbed, sizeof scrubbed - 1) != 0)
        abort();
}

/* A refusal must say which field is wrong, without a full ID number. */
static void named(int rc, const schema_err_t *err)
{
    if (rc == 0)
        return;
    if (!err->field[0] || !err->message[0])
        abort();
    masked(err->field);
    masked(err->message);
}

static void check_report(const msgpack_object *body)
{
    static report_t r, again; /* large: keep them off the stack */
    schema_err_t err;
    memset(&r, 0, sizeof r);
    if (proto_report_decode(body, 20261129, &r, &err) != 0) {
        named(-1, &err);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_report_encode(&r, &pk);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    memset(&again, 0, sizeof again);
    if (mp_unpack(sb.data, sb.size, &u) != MP_OK ||
        proto_report_decode(&u.data, 20261129, &again, &err) != 0 ||
        memcmp(&r, &again, sizeof r) != 0)
        abort(); /* the canonical form must validate to the same report */
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* The body validator of every other operation, chosen by its name; the
 * structs are static because some are large. */
static void check_other(const char *op, const msgpack_object *body)
{
    static union {
        proto_case_get_t case_get;
        proto_trigger_t trigger;
        proto_pending_t pending;
        proto_decision_t decision;
        care_visits_due_t due;
        care_visit_t visit;
        care_score_t score;
        care_month_query_t month;
        care_complaint_t complaint;
        care_complaint_step_t step;
        care_overdue_t overdue;
    } b;
    schema_err_t e;
    const aid_date_t today = 20261129;
    memset(&b, 0, sizeof b);
    memset(&e, 0, sizeof e);
    if (!strcmp(op, "case.get"))
        named(proto_case_get_decode(body, &b.case_get, &e), &e);
    else if (!strcmp(op, "trigger.submit"))
        named(proto_trigger_decode(body, today, "", &b.trigger, &e), &e);
    else if (!strcmp(op, "referrals.pending"))
        named(proto_pending_decode(body, &b.pending, &e), &e);
    else if (!strcmp(op, "decision.submit")) {
        int rc = proto_decision_decode(body, &b.decision, &e);
        named(rc, &e);
        if (rc == 0)
            named(proto_decision_check(&b.decision, "housing", 3, &e), &e);
    } else if (!strcmp(op, "visits.due"))
        named(care_visits_due_decode(body, today, &b.due, &e), &e);
    else if (!strcmp(op, "visit.record"))
        named(care_visit_decode(body, today, &b.visit, &e), &e);
    else if (!strcmp(op, "caregiver.score"))
        named(care_score_decode(body, today, &b.score, &e), &e);
    else if (!strcmp(op, "ledger.monthly"))
        named(care_ledger_decode(body, &b.month, &e), &e);
    else if (!strcmp(op, "disclosure.list"))
        named(care_disclosure_decode(body, &b.month, &e), &e);
    else if (!strcmp(op, "complaint.submit"))
        named(care_complaint_decode(body, &b.complaint, &e), &e);
    else if (!strcmp(op, "complaint.get"))
        named(care_complaint_get_decode(body, &b.step, &e), &e);
    else if (!strcmp(op, "complaint.update"))
        named(care_complaint_update_decode(body, &b.step, &e), &e);
    else if (!strcmp(op, "referrals.overdue"))
        named(care_overdue_decode(body, today, &b.overdue, &e), &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    proto_request_t req;
    proto_error_t e;
    if (proto_request_parse((const char *)data, size, &u, &req, &e) != 0) {
        masked(e.field);
        masked(e.message);
    } else if (req.body) {
        if (req.op == OP_REPORT_SUBMIT)
            check_report(req.body);
        else
            check_other(proto_ops[req.op].name, req.body);
    }
    msgpack_unpacked_destroy(&u);
    return 0;
}
