/* op_merge.c — case.merge (a write): two cases that prove to be one
 * household; history kept and audited (aid_case_merge). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ben.h"
#include "benefits.h"
#include "mp.h"
#include "write.h"

static void prepare(store_t *store)
{
    store_prepare(store, "ben_merge",
                  "SELECT outcome, members, moved, ended"
                  "  FROM aid_case_merge($1, $2::bigint, $3::bigint, $4, $5, $6::date)");
}

/* case.merge (a write): two cases that prove to be one household. */
static int handle_merge(opctx_t *c, const proto_request_t *req,
                        msgpack_packer *pk, proto_error_t *err)
{
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
    PGresult *r = store_exec(c->store, "ben_merge", 6, a);
    if (!r)
        return write_unavailable(err);
    const char *o = PQgetvalue(r, 0, 0);
    static const ben_outcome_t fails[] = {
        {"same", PROTO_INVALID_FIELD, "from", "a case cannot be merged into itself"},
        {"no_into", PROTO_NOT_FOUND, "into", "no such case"},
        {"no_from", PROTO_NOT_FOUND, "from", "no such case"},
        {"merged", PROTO_CONFLICT, "from", "the case was merged into another before"},
        {"into_merged", PROTO_CONFLICT, "into", "the case was merged into another: merge into that one"},
        {NULL, 0, NULL, NULL}};
    int rc = ben_outcome(o, fails, err);
    if (rc == 0) {
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

OP_HANDLER(case_merge_op, {"case.merge", prepare, handle_merge})
