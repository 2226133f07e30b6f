/* ben.c — the helpers the benefits owner's operations share (ben.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ben.h"

void ben_prepare(store_t *store)
{
    store_prepare(store, "ben_audit",
                  "INSERT INTO audit_log (who, action, case_id, detail)"
                  " VALUES ($1, $2, $3::bigint, $4)");
}

int ben_unavailable(proto_error_t *err)
{
    return proto_fail(err, PROTO_UNAVAILABLE, NULL, "the database is unavailable: nothing was read");
}

int ben_audit(opctx_t *c, const char *action, const char *case_num, const char *request_id,
              proto_error_t *err)
{
    const char *a[4] = {c->client, action, case_num, request_id};
    PGresult *w = store_exec(c->store, "ben_audit", 4, a);
    if (!w)
        return ben_unavailable(err);
    PQclear(w);
    return 0;
}

int ben_outcome(const char *outcome, const ben_outcome_t *table, proto_error_t *err)
{
    for (const ben_outcome_t *t = table; t->outcome; t++)
        if (strcmp(outcome, t->outcome) == 0)
            return proto_fail(err, t->code, t->field, t->message);
    return 0;
}

PGresult *ben_read(opctx_t *c, const char *stmt, int n, const char *const *args,
                   proto_error_t *err)
{
    PGresult *r = store_ready(c->store) ? store_exec(c->store, stmt, n, args) : NULL;
    if (!r)
        ben_unavailable(err);
    return r;
}

char *ben_hex(const unsigned char *b, size_t n)
{
    char *out = malloc(2 * n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return out;
}
