/* ratelimit.h — a token bucket per client key, so one misbehaving client
 * (a township app gone into a retry loop) cannot starve the others.
 *
 * Each key (the connection's ZAP User-Id, or its peer address in plaintext
 * mode) has a bucket of `burst` tokens refilled at `rate_per_s`; a request
 * takes one token or is refused with rate_limited. Pure logic: the caller
 * passes the time, so tests drive the clock.
 *
 * Memory is bounded: a fixed open-addressing table (linear probing) of
 * `capacity` slots, at most 3/4 of them used; when it is full the key seen
 * least recently is evicted. Its bucket had refilled the longest, so for a
 * table sized above the number of active clients eviction forgets nothing
 * that matters. Keys are compared in full up to RATELIMIT_KEY_MAX bytes and
 * by a 64-bit hash of the whole string beyond that.
 *
 * One limiter per process (intake: per replica, so with N replicas a client
 * may reach N times the rate — the replicas share nothing). Not thread-safe. */
#ifndef AID_COMMON_RATELIMIT_H
#define AID_COMMON_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX 95          /* bytes of a key kept for comparison */
#define RATELIMIT_RATE_DEFAULT 200    /* AID_RATE_PER_S */
#define RATELIMIT_BURST_DEFAULT 400   /* AID_RATE_BURST */

typedef struct ratelimit ratelimit_t;

/* A limiter of rate_per_s tokens per second, buckets of burst tokens, for
 * up to capacity*3/4 keys (capacity is rounded up to a power of two, at
 * least 16). NULL when an argument is out of range (rate and burst 1 to
 * 1000000) or memory is short. */
ratelimit_t *ratelimit_new(int64_t rate_per_s, int64_t burst, size_t capacity);
/* The limiter configured by AID_RATE_PER_S (default 200) and
 * AID_RATE_BURST (default 400), each 1..1000000 (out of range: the
 * default), with capacity slots. NULL when AID_RATE_PER_S is 0: limiting
 * is off, and ratelimit_allow(NULL, ...) admits everything. */
ratelimit_t *ratelimit_from_config(size_t capacity);
void ratelimit_destroy(ratelimit_t **self_p);

/* Takes one token from key's bucket at time now_us (microseconds, any
 * monotonic origin; a clock going backwards counts as no time passing).
 * true when the request may go on; false when the bucket is empty, with
 * *retry_us (when not NULL) set to the wait until the next token. A NULL
 * limiter admits everything. */
bool ratelimit_allow(ratelimit_t *self, const char *key, int64_t now_us, int64_t *retry_us);

/* Keys currently tracked (for tests and metrics). */
size_t ratelimit_count(const ratelimit_t *self);

#endif
