/* cache.h — the Redis connection of a service (hiredis).
 *
 * Redis is a fast path, never the only copy (DESIGN.md): every caller must
 * work, more slowly, when cache_cmd returns NULL. Reconnects are throttled
 * like the store's, and commands time out after AID_REDIS_TIMEOUT_MS.
 *
 * With AID_REDIS_SENTINELS=host:port,... the url is not used: on every connect
 * the Sentinels are asked in turn (SENTINEL get-master-addr-by-name
 * AID_REDIS_MASTER_NAME, default "aid"), and the server they name must answer
 * ROLE as master. A lost connection or a READONLY/MASTERDOWN/LOADING reply
 * drops the connection, so the next use asks the Sentinels again (a failover
 * costs the callers one failed command each, never a write to a replica). */
#ifndef AID_COMMON_CACHE_H
#define AID_COMMON_CACHE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct cache cache_t;

/* A cache for url ("redis://host:port"); does not connect yet. */
cache_t *cache_new(const char *url);
void cache_destroy(cache_t **self_p);

/* True when connected (reconnecting, throttled, when not). */
bool cache_ready(cache_t *self);
/* Runs a command (printf-like, hiredis formats). NULL when Redis is not
 * reachable or answered with an error; the caller frees with freeReplyObject. */
redisReply *cache_cmd(cache_t *self, const char *fmt, ...);
/* Runs n commands given as argv arrays in one round trip (pipelining).
 * Returns 0 when every reply arrived; replies are discarded. */
int cache_pipeline(cache_t *self, int n, const int *argcs, const char *const *const *argvs,
                   const size_t *const *argvlens);
/* Human-readable state for health: "ok" or the last error. */
const char *cache_status(cache_t *self);

#endif
