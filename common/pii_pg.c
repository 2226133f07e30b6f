/* pii_pg.c — sealed values in Postgres results, and the key check that each
 * connection of a process holding the PII key passes (common/store.h). */
#include "pii.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store.h"

unsigned char *store_sealed(const PGresult *r, int row, int col, const char *ad, size_t *len)
{
    size_t n = 0;
    *len = 0;
    if (PQgetisnull(r, row, col))
        return NULL;
    unsigned char *raw = store_bytea(r, row, col, &n);
    unsigned char *plain = raw ? pii_open_alloc(ad, raw, n, len) : NULL;
    PQfreemem(raw);
    return plain;
}

int store_pii_id(const PGresult *r, int row, int col, char out[19])
{
    size_t n = 0;
    out[0] = '\0';
    if (PQgetisnull(r, row, col))
        return -1;
    unsigned char *raw = store_bytea(r, row, col, &n);
    int rc = raw ? pii_id_open(raw, n, out) : -1;
    PQfreemem(raw);
    return rc;
}

/* With another key the process must not read or write anything: the store
 * refuses the database and the service stops (exit 1, pii.key_mismatch), as
 * it does when it has no key at all (svc_require_pii). */
int pii_pg_key_check(PGconn *conn, char *why, size_t whysz)
{
    if (!pii_ready())
        return 0;
    unsigned char check[PII_HASH_BYTES];
    pii_key_check(check);
    const char *vals[1] = {(const char *)check};
    const int lens[1] = {PII_HASH_BYTES}, fmts[1] = {1};
    PGresult *r = PQexecParams(conn, "SELECT aid_pii_key_matches($1::bytea)", 1, NULL, vals, lens,
                               fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        char raw[512];
        snprintf(raw, sizeof raw, "%s", PQresultErrorMessage(r));
        for (size_t n = strlen(raw); n && (raw[n - 1] == '\n' || raw[n - 1] == ' ');)
            raw[--n] = '\0';
        log_scrub(raw, why, whysz);
        log_error("store.pii_key_check_failed", "error", LOG_S(why), NULL);
        PQclear(r);
        return -1;
    }
    bool same = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (same)
        return 0;
    snprintf(why, whysz, "this process's PII key is not the one the database's ID numbers "
                         "and reports are sealed with (ops/SECURITY.md): stopping");
    log_error("pii.key_mismatch", "error", LOG_S(why), NULL);
    return 1;
}
