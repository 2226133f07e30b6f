/* entview.c — entitlement rows as the contract shows them (entview.h). */
#include "entview.h"

#include <stdlib.h>
#include <string.h>

#include "mp.h"

void entview_pack_csv(msgpack_packer *pk, const char *csv)
{
    size_t n = 0;
    for (const char *p = csv; *p; n++) {
        p += strcspn(p, ",");
        if (*p)
            p++;
    }
    msgpack_pack_array(pk, n);
    for (const char *p = csv; *p;) {
        size_t k = strcspn(p, ",");
        mp_pack_strn(pk, p, k);
        p += k;
        if (*p)
            p++;
    }
}

void entview_pack(msgpack_packer *pk, const PGresult *r)
{
    int n = PQntuples(r);
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        const char *masked = PQgetvalue(r, i, 2), *last = PQgetvalue(r, i, 5),
                   *why = PQgetvalue(r, i, 7);
        msgpack_pack_map(pk, 6 + (*masked != 0) + (*why != 0));
        mp_pack_kv_int(pk, "entitlement_id", atoll(PQgetvalue(r, i, 0)));
        mp_pack_kv_str(pk, "kind", PQgetvalue(r, i, 1));
        if (*masked)
            mp_pack_kv_str(pk, "id_masked", masked);
        mp_pack_kv_int(pk, "amount_fen", atoll(PQgetvalue(r, i, 3)));
        mp_pack_kv_str(pk, "first_month", PQgetvalue(r, i, 4));
        mp_pack_str(pk, "last_month");
        if (*last)
            mp_pack_str(pk, last);
        else
            msgpack_pack_nil(pk);
        mp_pack_str(pk, "rules");
        entview_pack_csv(pk, PQgetvalue(r, i, 6));
        if (*why)
            mp_pack_kv_str(pk, "end_reason", why);
    }
}
