/* api_audit.c — the audit trail for auditors and the county office:
 * GET /api/audit?case_id=&username=&limit= (newest first, at most 500). */
#include <stdlib.h>

#include "gateway.h"

int api_audit_list(gw_req_t *r, gw_reply_t *out)
{
    const char *lim = gw_query(r, "limit");
    int limit = lim ? atoi(lim) : 100;
    if (limit < 1 || limit > 500)
        limit = limit < 1 ? 1 : 500;
    json_t *rows = db_audit_list(r->gw->db, gw_query(r, "case_id"), gw_query(r, "username"), limit);
    if (!rows)
        return gw_fail(out, 503, "unavailable", NULL, "数据库暂不可用,请稍后重试");
    return gw_ok(out, json_pack("{s:o}", "rows", rows));
}
