/* api_audit.c — the audit trail for auditors and the county office:
 * GET /api/audit?case_id=&username=&limit= (newest first, at most 500,
 * times in UTC+8 with the zone); and the county's place names for every
 * page, GET /api/places → {"names": {code: name}}. */
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

int api_places(gw_req_t *r, gw_reply_t *out)
{
    json_t *names = db_places(r->gw->db);
    if (!names)
        return gw_fail(out, 503, "unavailable", NULL, "数据库暂不可用,请稍后重试");
    return gw_ok(out, json_pack("{s:o}", "names", names));
}
