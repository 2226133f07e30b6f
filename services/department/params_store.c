/* params_store.c — effective-dated parameter cache. */
#include "params_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

void params_store_prepare(store_t *store)
{
    store_prepare(store, "params_all",
                  "SELECT name, to_char(effective_from, 'YYYY-MM-DD'), value FROM params"
                  " ORDER BY name, effective_from, created_at");
}

int params_store_refresh(param_cache_t *pc, store_t *store, int64_t now_ms)
{
    int64_t every = config_int("AID_PARAMS_REFRESH_MS", 30000, 100, 86400000);
    if (pc->loaded_ms && now_ms - pc->loaded_ms < every)
        return 0;
    PGresult *r = store_ready(store) ? store_exec(store, "params_all", 0, NULL) : NULL;
    if (!r)
        return pc->loaded_ms ? 0 : -1;
    int n = PQntuples(r);
    if (n > PARAMS_MAX_ROWS) {
        log_warn("params.too_many_rows", "rows", LOG_I(n), NULL);
        n = PARAMS_MAX_ROWS;
    }
    for (int i = 0; i < n; i++) {
        param_row_t *row = &pc->rows[i];
        snprintf(row->name, sizeof row->name, "%s", PQgetvalue(r, i, 0));
        const char *d = PQgetvalue(r, i, 1);
        row->from = date_parse(d, strlen(d));
        row->value = atoll(PQgetvalue(r, i, 2));
    }
    pc->n = n;
    pc->loaded_ms = now_ms;
    PQclear(r);
    return 0;
}

void params_store_resolve(const param_cache_t *pc, aid_date_t as_of, params_t *out)
{
    policy_params_default(out);
    /* rows are ordered by name then date: the last one in force wins */
    for (int i = 0; i < pc->n; i++)
        if (pc->rows[i].from <= as_of)
            policy_params_set(out, pc->rows[i].name, pc->rows[i].value);
}
