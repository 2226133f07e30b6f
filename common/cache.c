/* cache.c — hiredis connection with throttled reconnects and timeouts. */
#include "cache.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"

struct cache {
    char host[256];
    int port;
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

cache_t *cache_new(const char *url)
{
    cache_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    const char *hp = strncmp(url, "redis://", 8) == 0 ? url + 8 : url;
    const char *colon = strrchr(hp, ':');
    size_t hlen = colon ? (size_t)(colon - hp) : strlen(hp);
    if (hlen >= sizeof self->host)
        hlen = sizeof self->host - 1;
    memcpy(self->host, hp, hlen);
    self->port = colon ? atoi(colon + 1) : 6379;
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

bool cache_ready(cache_t *self)
{
    if (self->ctx)
        return true;
    int64_t now = now_ms();
    if (now < self->next_try_ms)
        return false;
    self->next_try_ms = now + self->retry_ms;
    struct timeval tv = {self->timeout_ms / 1000, (self->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(self->host, self->port, tv);
    if (!c || c->err) {
        snprintf(self->err, sizeof self->err, "%s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return false;
    }
    redisSetTimeout(c, tv);
    self->ctx = c;
    self->err[0] = '\0';
    log_info("cache.connected", NULL);
    return true;
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
            rc = -1;
        freeReplyObject(reply);
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
