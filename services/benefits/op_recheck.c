/* op_recheck.c — recheck.due (a read, audited): the re-checks due by a month,
 * overdue ones flagged (R-RECHECK). */
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
    store_prepare(store, "ben_recheck",
                  "SELECT case_id, kind, coalesce(id_masked, ''), to_char(due_month, 'YYYY-MM'),"
                  "       due_month < $1::date, township"
                  "  FROM aid_recheck_due($1::date, $2) LIMIT 5001");
}

/* recheck.due (a read): the re-checks due by the month (R-RECHECK). */
static int handle_recheck(opctx_t *c, const proto_request_t *req,
                          msgpack_packer *pk, proto_error_t *err)
{
    benefits_recheck_t q;
    schema_err_t se;
    if (benefits_recheck_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    char month[11];
    date_format(q.month_first, month);
    const char *a[2] = {month, q.township[0] ? q.township : NULL};
    PGresult *r = ben_read(c, "ben_recheck", 2, a, err);
    if (!r)
        return -1;
    int n = PQntuples(r), shown = n > 5000 ? 5000 : n;
    /* R-AUDIT: a list of persons (masked) read by the caller */
    char action[64];
    snprintf(action, sizeof action, "recheck.due %s %s", q.month, q.township);
    if (ben_audit(c, action, NULL, req->id, err) != 0) {
        PQclear(r);
        return -1;
    }
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

OP_HANDLER(recheck_due_op, {"recheck.due", prepare, handle_recheck})
