/* case_entitlements.c — case.get's "entitlements" (case_entitlements.h). */
#include "case_entitlements.h"

#include "entview.h"

void case_entitlements_prepare(store_t *store)
{
    store_prepare(store, "case_entitlements",
                  "SELECT " ENTVIEW_COLUMNS
                  "  FROM entitlements e"
                  " WHERE e.case_id = $1::bigint AND " ENTVIEW_NOT_VOID
                  "   AND ($2::bpchar IS NULL OR EXISTS (SELECT 1 FROM cases c"
                  "        WHERE c.case_id = $1::bigint AND c.township = $2::bpchar))"
                  " ORDER BY e.first_month, e.entitlement_id");
}

int case_entitlements_pack(store_t *store, const char *case_id, const char *township,
                           msgpack_packer *pk)
{
    const char *a[2] = {case_id, township && township[0] ? township : NULL};
    PGresult *r = store_exec(store, "case_entitlements", 2, a);
    if (!r)
        return -1;
    entview_pack(pk, r);
    PQclear(r);
    return 0;
}
