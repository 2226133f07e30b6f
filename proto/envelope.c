/* envelope.c — request envelope parsing and reply writing (PROTOCOL.md). */
#include "proto.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mp.h"

const char *const proto_code_names[] = {
    "ok",        "bad_request", "unknown_op",   "invalid_field", "too_large",
    "unauthorized", "not_found", "conflict",    "rate_limited",  "unavailable",
};

const proto_op_info_t proto_ops[] = {
    [OP_REPORT_SUBMIT] = {"report.submit", true},
    [OP_CASE_GET] = {"case.get", false},
    [OP_HEALTH] = {"health", false},
    /* one line per further operation, in any order: */
    {"case.area", false},
    {"trigger.submit", true},
    {"trigger.batch", true},
    {"triggers.list", false},
    {"trigger.get", false},
    {"referrals.pending", false},
    {"decision.submit", true},
    {"visits.due", false},
    {"visit.record", true},
    {"caregiver.score", true},
    {"ledger.monthly", false},
    {"ledger.submit", true},
    {"disclosure.list", false},
    {"complaint.submit", true},
    {"complaint.get", false},
    {"complaint.update", true},
    {"referrals.overdue", false},
    {"move.queue", false},
    {"move.decide", true},
    {"entitlements.list", false},
    {"payee.set", true},
    {"payroll.run", true},
    {"payroll.approve", true},
    {"payroll.get", false},
    {"payroll.file", false},
    {"payroll.reconcile", true},
    {"entitlement.exit", true},
    {"entitlement.suspend", true},
    {"entitlement.resume", true},
    {"recheck.due", false},
    {"case.merge", true},
    {"review.queue", false},
    {"review.step", true},
    {"review.draw", true},
    {"calendar.set", true},
    {"calendar.get", false},
    {"case.search", false},
    {"recheck.open", true},
};
const int proto_op_count = (int)(sizeof proto_ops / sizeof proto_ops[0]);

int proto_fail(proto_error_t *e, proto_code_t code, const char *field, const char *message)
{
    e->code = code;
    /* what a client is told never holds a full ID number (a key may be one):
     * masked as in the logs, POLICY.md §13 */
    log_scrub(field ? field : "", e->field, sizeof e->field);
    log_scrub(message ? message : "", e->message, sizeof e->message);
    return -1;
}

int proto_request_parse(const char *buf, size_t len, msgpack_unpacked *u, proto_request_t *req,
                        proto_error_t *err)
{
    memset(req, 0, sizeof *req);
    req->op = -1;
    if (len > PROTO_MAX_REQUEST)
        return proto_fail(err, PROTO_TOO_LARGE, NULL, "request is larger than 64 KiB");
    mp_err_t me = mp_unpack(buf, len, u);
    if (me != MP_OK)
        return proto_fail(err, PROTO_BAD_REQUEST, NULL, mp_strerror(me));
    const msgpack_object *o = &u->data;
    if (o->type != MSGPACK_OBJECT_MAP)
        return proto_fail(err, PROTO_BAD_REQUEST, NULL, "request must be a MessagePack map");
    /* the id first, so every later error can echo it */
    const msgpack_object *id = mp_get(o, "id");
    if (id && (mp_str_copy(id, req->id, sizeof req->id) != 0 ||
               !schema_utf8_valid(req->id, strlen(req->id)))) {
        req->id[0] = '\0';
        return proto_fail(err, PROTO_INVALID_FIELD, "id", "must be text of at most 256 bytes");
    }
    const msgpack_object *op = mp_get(o, "op");
    if (!op)
        return proto_fail(err, PROTO_BAD_REQUEST, "op", "request has no op");
    if (op->type != MSGPACK_OBJECT_STR)
        return proto_fail(err, PROTO_BAD_REQUEST, "op", "op must be a string");
    static const char *const keys[] = {"v", "op", "id", "body"};
    unsigned seen = 0;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        int known = -1;
        for (int j = 0; j < 4; j++)
            if (mp_str_is(k, keys[j]))
                known = j;
        if (known >= 0) {
            if (seen & (1u << known))
                return proto_fail(err, PROTO_INVALID_FIELD, keys[known], "appears twice");
            seen |= 1u << known;
            continue;
        }
        char name[64] = "?";
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 0)
            snprintf(name, sizeof name, "\"\"");
        else if (k->type == MSGPACK_OBJECT_STR && k->via.str.size < sizeof name &&
                 schema_utf8_valid(k->via.str.ptr, k->via.str.size))
            snprintf(name, sizeof name, "%.*s", (int)k->via.str.size, k->via.str.ptr);
        return proto_fail(err, PROTO_INVALID_FIELD, name,
                          "unknown envelope field (allowed: v, op, id, body)");
    }
    const msgpack_object *v = mp_get(o, "v");
    int64_t vn;
    if (v && (mp_int(v, &vn) != 0 || vn != PROTO_VERSION))
        return proto_fail(err, PROTO_INVALID_FIELD, "v", "protocol version must be 1");
    for (int i = 0; i < proto_op_count; i++)
        if (mp_str_is(op, proto_ops[i].name))
            req->op = i;
    if (req->op < 0)
        return proto_fail(err, PROTO_UNKNOWN_OP, "op", "no such operation");
    if (proto_ops[req->op].writes && !req->id[0])
        return proto_fail(err, PROTO_INVALID_FIELD, "id",
                          "an operation that changes something needs an id (its idempotency key)");
    req->body = mp_get(o, "body");
    if (req->body && req->body->type != MSGPACK_OBJECT_MAP)
        return proto_fail(err, PROTO_INVALID_FIELD, "body", "body must be a map");
    return 0;
}

static void pack_head(msgpack_packer *pk, const char *id, bool ok)
{
    msgpack_pack_map(pk, 4);
    mp_pack_kv_int(pk, "v", PROTO_VERSION);
    mp_pack_kv_str(pk, "id", id ? id : "");
    mp_pack_kv_bool(pk, "ok", ok);
}

void proto_reply_ok_begin(msgpack_packer *pk, const char *id)
{
    pack_head(pk, id, true);
    mp_pack_str(pk, "result");
}

void proto_reply_error(msgpack_packer *pk, const char *id, const proto_error_t *e)
{
    pack_head(pk, id, false);
    mp_pack_str(pk, "error");
    msgpack_pack_map(pk, e->field[0] ? 3 : 2);
    mp_pack_kv_str(pk, "code", proto_code_names[e->code]);
    if (e->field[0])
        mp_pack_kv_str(pk, "field", e->field);
    mp_pack_kv_str(pk, "message", e->message);
}

static const schema_field_t case_get_fields[] = {
    SF_STR(proto_case_get_t, case_id, "case_id", false, 63),
    SF_IDNUM(proto_case_get_t, id_number, "id_number", false),
    SF_DIGITS(proto_case_get_t, township, "township", false, 9),
};
static SCHEMA(case_get_schema, "body", case_get_fields);

int proto_case_get_decode(const msgpack_object *body, proto_case_get_t *q, schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (!body) {
        snprintf(err->field, sizeof err->field, "body");
        snprintf(err->message, sizeof err->message, "needs case_id or id_number");
        return -1;
    }
    if (schema_decode(&case_get_schema, body, q, "", err) != 0)
        return -1;
    if (!q->case_id[0] == !q->id_number[0]) {
        snprintf(err->field, sizeof err->field, "case_id");
        snprintf(err->message, sizeof err->message, "give exactly one of case_id and id_number");
        return -1;
    }
    return 0;
}
