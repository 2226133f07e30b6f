/* search.c — case.search: the case list of a township or village, searched by
 * name or ID number (issue 16; proto/README.md §11.2). Results are masked (the
 * first member's name and ID number), and every search is an audit_log row
 * committed before the answer (R-AUDIT) naming what was searched — the name or
 * ID number masked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casework.h"
#include "idcard.h"
#include "log.h"
#include "mp.h"
#include "pii.h"
#include "schema.h"

void search_prepare(store_t *store)
{
    store_prepare(store, "cw_search",
                  "SELECT o_case_id, coalesce(o_township, ''), coalesce(o_village, ''),"
                  "       o_name, o_id_enc, o_members"
                  "  FROM aid_case_search($1, $2, $3, decode($4, 'hex'), $5::int)");
}

typedef struct {
    char township[10];
    char village[13];
    char name[97];
    char id_number[19];
    int64_t limit;
} search_q_t;

static const schema_field_t search_fields[] = {
    SF_DIGITS(search_q_t, township, "township", false, 9),
    SF_DIGITS(search_q_t, village, "village", false, 12),
    SF_STR(search_q_t, name, "name", false, 96),
    SF_IDNUM(search_q_t, id_number, "id_number", false),
    SF_INT(search_q_t, limit, "limit", false, 1, 200),
};
static SCHEMA(search_schema, "case.search", search_fields);

int case_search(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                proto_error_t *err)
{
    casework_t *cw = arg;
    search_q_t q = {0};
    schema_err_t se;
    if (req->body && schema_decode(&search_schema, req->body, &q, "", &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (!q.limit)
        q.limit = 50;
    if (casework_township_reach(client, q.township, err) != 0)
        return -1;
    if (q.village[0] && q.township[0] && strncmp(q.village, q.township, 9) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, "village", "not a village of township");
    if (!store_ready(cw->store))
        return casework_unavailable(err);
    /* what was searched, for the audit trail: never a name or ID number in full */
    char detail[300], namem[300] = "", idm[20] = "";
    if (q.name[0])
        name_mask(q.name, namem, sizeof namem);
    if (q.id_number[0])
        idcard_mask(q.id_number, 18, idm, sizeof idm);
    snprintf(detail, sizeof detail, "request %s township %s village %s name %s id %s",
             req->id[0] ? req->id : "-", q.township[0] ? q.township : "-",
             q.village[0] ? q.village : "-", namem[0] ? namem : "-", idm[0] ? idm : "-");
    if (casework_audit(cw->store, client, "case.search", NULL, detail, err) != 0)
        return -1;
    char hash[PII_HASH_HEX], lim[16];
    if (q.id_number[0])
        pii_hash_hex(q.id_number, hash);
    snprintf(lim, sizeof lim, "%lld", (long long)q.limit);
    const char *vals[5] = {q.township[0] ? q.township : NULL, q.village[0] ? q.village : NULL,
                           q.name[0] ? q.name : NULL, q.id_number[0] ? hash : NULL, lim};
    PGresult *r = store_exec(cw->store, "cw_search", 5, vals);
    if (!r)
        return casework_unavailable(err);
    int n = PQntuples(r), shown = n > q.limit ? (int)q.limit : n;
    msgpack_pack_map(pk, 2);
    mp_pack_str(pk, "cases");
    msgpack_pack_array(pk, (size_t)shown);
    for (int i = 0; i < shown; i++) {
        char buf[48], id[19] = "", masked[20] = "", nm[300];
        if (store_pii_id(r, i, 4, id) == 0)
            idcard_mask(id, 18, masked, sizeof masked);
        name_mask(PQgetvalue(r, i, 3), nm, sizeof nm);
        msgpack_pack_map(pk, 6);
        snprintf(buf, sizeof buf, "case-%s", PQgetvalue(r, i, 0));
        mp_pack_kv_str(pk, "case_id", buf);
        mp_pack_kv_str(pk, "township", PQgetvalue(r, i, 1));
        mp_pack_kv_str(pk, "village", PQgetvalue(r, i, 2));
        mp_pack_kv_str(pk, "name_masked", nm);
        mp_pack_kv_str(pk, "id_masked", masked);
        mp_pack_kv_int(pk, "members", atoll(PQgetvalue(r, i, 5)));
    }
    mp_pack_kv_bool(pk, "more", n > q.limit);
    PQclear(r);
    return 0;
}
