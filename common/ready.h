/* ready.h — readiness: can this process reach its Postgres now?
 *
 * /readyz (common/metrics.c, the gateway) answers from ready_check: a cheap
 * query on a connection of its own (never the service's: that one belongs to
 * the service's thread), reconnected once when the idle connection is dead.
 * Every wait is bounded (connect and query: AID_READY_TIMEOUT_MS, default
 * 2000), so a probe never hangs. Redis is not checked: without it a service
 * is degraded, not unready (Postgres is the source of truth). Thread-safe. */
#ifndef AID_COMMON_READY_H
#define AID_COMMON_READY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ready ready_t;

/* A checker for dsn (copied); does not connect yet. NULL on OOM. */
ready_t *ready_new(const char *dsn);
void ready_destroy(ready_t **self_p);

/* True when Postgres answers a query now. On false, why (a short libpq
 * message, no secrets) is written to why (whysz bytes) when given. */
bool ready_check(ready_t *self, char *why, size_t whysz);

#endif
