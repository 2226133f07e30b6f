/* cache.c — hiredis connection with throttled reconnects and timeouts; with
 * AID_REDIS_SENTINELS, the master is asked of the Sentinels on every connect. */
#include "cache.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "log.h"

#define CACHE_MAX_SENTINELS 8

struct cache {
    char host[256];          /* the server (with Sentinels: the master last found) */
    int port;
    int nsentinels;          /* 0: host:port is the server itself */
    char sentinel_host[CACHE_MAX_SENTINELS][64];
    int sentinel_port[CACHE_MAX_SENTINELS];
    char master_name[64];
    redisContext *ctx;       /* NULL when not connected */
    int64_t next_try_ms;     /* earliest next reconnect */
    int64_t retry_ms;
    int64_t timeout_ms;
    char err[128];           /* last error; "" when healthy */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Splits "host:port" (port default def) into host (size n) and *port. */
static void split_hostport(const char *hp, size_t len, char *host, size_t n, int *port, int def)
{
    const char *colon = memrchr(hp, ':', len);
    size_t hlen = colon ? (size_t)(colon - hp) : len;
    if (hlen >= n)
        hlen = n - 1;
    memcpy(host, hp, hlen);
    host[hlen] = '\0';
    *port = colon ? atoi(colon + 1) : def;
}

/* AID_REDIS_SENTINELS=host:port,... (up to CACHE_MAX_SENTINELS) and
 * AID_REDIS_MASTER_NAME (default "aid"): the master is found through them. */
static void sentinels_parse(cache_t *self)
{
    const char *list = config_str("AID_REDIS_SENTINELS", "");
    snprintf(self->master_name, sizeof self->master_name, "%s",
             config_str("AID_REDIS_MASTER_NAME", "aid"));
    while (*list && self->nsentinels < CACHE_MAX_SENTINELS) {
        size_t len = strcspn(list, ",");
        while (len && (*list == ' ')) {
            list++;
            len--;
        }
        if (len) {
            int i = self->nsentinels;
            split_hostport(list, len, self->sentinel_host[i], sizeof self->sentinel_host[i],
                           &self->sentinel_port[i], 26379);
            if (self->sentinel_port[i] > 0 && self->sentinel_port[i] < 65536)
                self->nsentinels++;
            else
                log_warn("cache.bad_sentinel", "field", LOG_S("AID_REDIS_SENTINELS"), NULL);
        }
        list += len;
        if (*list == ',')
            list++;
    }
}

cache_t *cache_new(const char *url)
{
    cache_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    const char *hp = strncmp(url, "redis://", 8) == 0 ? url + 8 : url;
    split_hostport(hp, strlen(hp), self->host, sizeof self->host, &self->port, 6379);
    sentinels_parse(self);
    self->retry_ms = config_int("AID_REDIS_RETRY_MS", 1000, 10, 60000);
    self->timeout_ms = config_int("AID_REDIS_TIMEOUT_MS", 200, 10, 60000);
    snprintf(self->err, sizeof self->err, "not connected");
    return self;
}

void cache_destroy(cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->ctx)
        redisFree((*self_p)->ctx);
    free(*self_p);
    *self_p = NULL;
}

/* Forgets the connection. why may point into the context (its errstr), so it
 * is copied before the context is freed. */
static void drop(cache_t *self, const char *why)
{
    char reason[sizeof self->err];
    snprintf(reason, sizeof reason, "%s", why);
    if (self->ctx) {
        log_warn("cache.down", "error", LOG_S(reason), NULL);
        redisFree(self->ctx);
        self->ctx = NULL;
    }
    snprintf(self->err, sizeof self->err, "%s", reason);
}

/* A connection to host:port with the cache's timeouts, or NULL (err set). */
static redisContext *connect_to(cache_t *self, const char *host, int port)
{
    struct timeval tv = {self->timeout_ms / 1000, (self->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        snprintf(self->err, sizeof self->err, "%s:%d: %s", host, port,
                 c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

/* Asks the Sentinels in turn for the current master of master_name; the first
 * answer wins. 0 and self->host/port set, or -1 with err set. */
static int sentinel_master(cache_t *self)
{
    for (int i = 0; i < self->nsentinels; i++) {
        redisContext *c = connect_to(self, self->sentinel_host[i], self->sentinel_port[i]);
        if (!c)
            continue;
        redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", self->master_name);
        bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                  r->element[0]->type == REDIS_REPLY_STRING &&
                  r->element[1]->type == REDIS_REPLY_STRING;
        if (ok) {
            snprintf(self->host, sizeof self->host, "%s", r->element[0]->str);
            self->port = atoi(r->element[1]->str);
        } else {
            snprintf(self->err, sizeof self->err, "sentinel %s:%d: no master named %s",
                     self->sentinel_host[i], self->sentinel_port[i], self->master_name);
        }
        if (r)
            freeReplyObject(r);
        redisFree(c);
        if (ok)
            return 0;
    }
    return -1;
}

/* With Sentinels: the server found must say it is a master (ROLE), so that a
 * Sentinel's stale answer during a failover never sends writes to a replica. */
static bool is_master(cache_t *self, redisContext *c)
{
    redisReply *r = redisCommand(c, "ROLE");
    bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
              r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0;
    if (!ok)
        snprintf(self->err, sizeof self->err, "%s:%d is not the master (yet)", self->host,
                 self->port);
    if (r)
        freeReplyObject(r);
    return ok;
}

bool cache_ready(cache_t *self)
{
    if (self->ctx)
        return true;
    int64_t now = now_ms();
    if (now < self->next_try_ms)
        return false;
    self->next_try_ms = now + self->retry_ms;
    if (self->nsentinels && sentinel_master(self) != 0)
        return false;
    redisContext *c = connect_to(self, self->host, self->port);
    if (!c)
        return false;
    if (self->nsentinels && !is_master(self, c)) {
        redisFree(c);
        return false;
    }
    self->ctx = c;
    self->err[0] = '\0';
    log_info("cache.connected", "port", LOG_I(self->port), NULL);
    return true;
}

/* An error reply that means this server is not (or no longer) a writable master:
 * with Sentinels the connection is dropped, and the next use asks them again. */
static bool role_error(const cache_t *self, const redisReply *r)
{
    if (!self->nsentinels || r->type != REDIS_REPLY_ERROR || !r->str)
        return false;
    return strncasecmp(r->str, "READONLY", 8) == 0 || strncasecmp(r->str, "MASTERDOWN", 10) == 0 ||
           strncasecmp(r->str, "LOADING", 7) == 0;
}

redisReply *cache_cmd(cache_t *self, const char *fmt, ...)
{
    if (!cache_ready(self))
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(self->ctx, fmt, ap);
    va_end(ap);
    if (!r) {
        drop(self, self->ctx->errstr[0] ? self->ctx->errstr : "connection lost");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        log_warn("cache.error", "error", LOG_S(r->str), NULL);
        if (role_error(self, r))
            drop(self, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

int cache_pipeline(cache_t *self, int n, const int *argcs, const char *const *const *argvs,
                   const size_t *const *argvlens)
{
    if (!cache_ready(self))
        return -1;
    for (int i = 0; i < n; i++)
        if (redisAppendCommandArgv(self->ctx, argcs[i], (const char **)argvs[i], argvlens[i]) !=
            REDIS_OK) {
            drop(self, "append failed");
            return -1;
        }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        void *reply = NULL;
        if (redisGetReply(self->ctx, &reply) != REDIS_OK) {
            drop(self, self->ctx->errstr[0] ? self->ctx->errstr : "connection lost");
            return -1;
        }
        if (((redisReply *)reply)->type == REDIS_REPLY_ERROR)
            rc = role_error(self, reply) ? -2 : -1;
        freeReplyObject(reply);
    }
    if (rc == -2) {
        drop(self, "not the master");
        rc = -1;
    }
    return rc;
}

const char *cache_status(cache_t *self)
{
    if (!cache_ready(self))
        return self->err;
    redisReply *r = cache_cmd(self, "PING");
    if (!r)
        return self->err;
    freeReplyObject(r);
    return "ok";
}
