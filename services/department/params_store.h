/* params_store.h — county policy parameters from Postgres, effective-dated.
 *
 * The params table holds every version of every P_… parameter; a report is
 * decided under the values in force on its as_of date. Services keep the
 * table in memory and reload it every AID_PARAMS_REFRESH_MS (default 30 s),
 * so an operator's change needs no rebuild and no restart. */
#ifndef AID_PARAMS_STORE_H
#define AID_PARAMS_STORE_H

#include "date.h"
#include "policy.h"
#include "store.h"

#define PARAMS_MAX_ROWS 512

typedef struct {
    char name[32];
    aid_date_t from;
    int64_t value;
} param_row_t;

typedef struct {
    int n;
    param_row_t rows[PARAMS_MAX_ROWS];  /* ordered by name, then effective date */
    int64_t loaded_ms;                  /* 0 = never loaded */
} param_cache_t;

/* Registers the statement; call before store_ready. */
void params_store_prepare(store_t *store);
/* Reloads when older than the refresh interval (or never loaded). Keeps the
 * previous values when the database is unreachable. 0 when usable. */
int params_store_refresh(param_cache_t *pc, store_t *store, int64_t now_ms);
/* The parameters in force on as_of: defaults, overridden by the latest row of
 * each name with effective date ≤ as_of. Pure. */
void params_store_resolve(const param_cache_t *pc, aid_date_t as_of, params_t *out);

#endif
