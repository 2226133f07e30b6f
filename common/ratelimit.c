/* ratelimit.c — token buckets per key in a bounded open-addressing table.
 *
 * Tokens are counted in millionths (1 token = 1000000 units), so that with
 * time in microseconds a refill is exactly elapsed_us * rate units: integer
 * arithmetic, no drift. */
#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"

#define UNIT 1000000LL            /* units per token */
#define LIMIT_MAX 1000000LL       /* rate and burst bound */

typedef struct {
    uint64_t hash;                /* 0: the slot is free */
    char key[RATELIMIT_KEY_MAX + 1];
    int64_t tokens;               /* units, 0..burst*UNIT, as of last_us */
    int64_t last_us;              /* the last refill (and the last use) */
} bucket_t;

struct ratelimit {
    int64_t rate;                 /* tokens per second = units per microsecond */
    int64_t cap_units;            /* burst * UNIT */
    bucket_t *slots;
    size_t mask;                  /* slots - 1 (a power of two) */
    size_t used, max_used;        /* max_used: 3/4 of the slots */
};

ratelimit_t *ratelimit_new(int64_t rate_per_s, int64_t burst, size_t capacity)
{
    if (rate_per_s < 1 || rate_per_s > LIMIT_MAX || burst < 1 || burst > LIMIT_MAX ||
        capacity > ((size_t)1 << 24))
        return NULL;
    size_t n = 16;
    while (n < capacity)
        n <<= 1;
    ratelimit_t *self = calloc(1, sizeof *self);
    if (!self || !(self->slots = calloc(n, sizeof *self->slots))) {
        free(self);
        return NULL;
    }
    self->rate = rate_per_s;
    self->cap_units = burst * UNIT;
    self->mask = n - 1;
    self->max_used = n / 4 * 3;
    return self;
}

ratelimit_t *ratelimit_from_config(size_t capacity)
{
    int64_t rate = config_int("AID_RATE_PER_S", RATELIMIT_RATE_DEFAULT, 0, LIMIT_MAX);
    int64_t burst = config_int("AID_RATE_BURST", RATELIMIT_BURST_DEFAULT, 1, LIMIT_MAX);
    return rate == 0 ? NULL : ratelimit_new(rate, burst, capacity);
}

void ratelimit_destroy(ratelimit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

size_t ratelimit_count(const ratelimit_t *self) { return self ? self->used : 0; }

/* FNV-1a over the whole key, never 0 (0 marks a free slot). */
static uint64_t key_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h ? h : 1;
}

/* Removes slot i, shifting later members of its probe run back so every
 * remaining key stays reachable from its home slot (no tombstones). */
static void slot_remove(ratelimit_t *self, size_t i)
{
    size_t j = i;
    for (;;) {
        self->slots[i].hash = 0;
        for (;;) {
            j = (j + 1) & self->mask;
            if (self->slots[j].hash == 0) {
                self->used--;
                return;
            }
            size_t home = self->slots[j].hash & self->mask;
            /* j's entry may move to i when its home is not in (i, j] */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        self->slots[i] = self->slots[j];
        i = j;
    }
}

static void evict_oldest(ratelimit_t *self)
{
    size_t oldest = 0;
    bool found = false;
    for (size_t i = 0; i <= self->mask; i++)
        if (self->slots[i].hash &&
            (!found || self->slots[i].last_us < self->slots[oldest].last_us)) {
            oldest = i;
            found = true;
        }
    if (found)
        slot_remove(self, oldest);
}

/* The bucket of key, created full when new. */
static bucket_t *bucket_of(ratelimit_t *self, const char *key, int64_t now_us)
{
    uint64_t h = key_hash(key);
    size_t i = h & self->mask;
    for (; self->slots[i].hash; i = (i + 1) & self->mask)
        if (self->slots[i].hash == h && strncmp(self->slots[i].key, key, RATELIMIT_KEY_MAX) == 0)
            return &self->slots[i];
    if (self->used >= self->max_used) {
        evict_oldest(self);
        /* the free slot found above may have moved: probe again */
        for (i = h & self->mask; self->slots[i].hash; i = (i + 1) & self->mask)
            ;
    }
    bucket_t *b = &self->slots[i];
    b->hash = h;
    strncpy(b->key, key, RATELIMIT_KEY_MAX);
    b->key[RATELIMIT_KEY_MAX] = '\0';
    b->tokens = self->cap_units;
    b->last_us = now_us;
    self->used++;
    return b;
}

bool ratelimit_allow(ratelimit_t *self, const char *key, int64_t now_us, int64_t *retry_us)
{
    if (retry_us)
        *retry_us = 0;
    if (!self)
        return true;
    bucket_t *b = bucket_of(self, key ? key : "", now_us);
    int64_t elapsed = now_us - b->last_us;
    if (elapsed > 0) {
        /* past the time to fill the bucket, it is full: no overflow */
        int64_t fill_us = (self->cap_units - b->tokens) / self->rate + 1;
        b->tokens = elapsed >= fill_us ? self->cap_units : b->tokens + elapsed * self->rate;
        if (b->tokens > self->cap_units)
            b->tokens = self->cap_units;
        b->last_us = now_us;
    }
    if (b->tokens >= UNIT) {
        b->tokens -= UNIT;
        return true;
    }
    if (retry_us)
        *retry_us = (UNIT - b->tokens + self->rate - 1) / self->rate;
    return false;
}
