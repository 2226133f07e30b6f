/* case_entitlements.c — case.get's "entitlements" (case_entitlements.h). */
#include "case_entitlements.h"

#include <stdio.h>

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
    store_prepare(store, "case_resolve", "SELECT aid_case_resolve($1::bigint)");
    store_prepare(store, "case_merged",
                  "SELECT coalesce(array_to_string(array_remove(aid_case_family($1::bigint),"
                  " $1::bigint), ','), '')");
}

int case_entitlements_resolve(store_t *store, char *case_id, size_t size)
{
    const char *a[1] = {case_id};
    PGresult *r = store_exec(store, "case_resolve", 1, a);
    if (!r)
        return -1;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        snprintf(case_id, size, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

int case_entitlements_merged(store_t *store, const char *case_id, char *csv, size_t size)
{
    const char *a[1] = {case_id};
    PGresult *r = store_exec(store, "case_merged", 1, a);
    if (!r)
        return -1;
    snprintf(csv, size, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return 0;
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
