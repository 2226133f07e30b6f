/* ready.c — the readiness check: one idle connection of its own, a bounded ping. */
#include "ready.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"

struct ready {
    char *dsn;
    PGconn *conn;
    int timeout_ms;
    pthread_mutex_t lock;
};

ready_t *ready_new(const char *dsn)
{
    ready_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->dsn = strdup(dsn ? dsn : "");
    if (!self->dsn) {
        free(self);
        return NULL;
    }
    self->timeout_ms = (int)config_int("AID_READY_TIMEOUT_MS", 2000, 100, 60000);
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

void ready_destroy(ready_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ready_t *self = *self_p;
    if (self->conn)
        PQfinish(self->conn);
    pthread_mutex_destroy(&self->lock);
    free(self->dsn);
    free(self);
    *self_p = NULL;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void why_set(char *why, size_t whysz, const char *msg)
{
    if (!why || !whysz)
        return;
    snprintf(why, whysz, "%s", msg && *msg ? msg : "postgres unreachable");
    why[strcspn(why, "\n")] = '\0';
}

/* Waits until the socket is ready for dir (POLLIN/POLLOUT) or the deadline. */
static bool wait_sock(PGconn *c, short dir, long long deadline)
{
    long long left = deadline - now_ms();
    if (left <= 0)
        return false;
    struct pollfd p = {.fd = PQsocket(c), .events = dir};
    return p.fd >= 0 && poll(&p, 1, (int)left) > 0;
}

/* A fresh connection, non-blocking and bounded; NULL (why set) when it fails. */
static PGconn *connect_bounded(ready_t *self, long long deadline, char *why, size_t whysz)
{
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {self->dsn, "aid-readyz", NULL};
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    if (!c) {
        why_set(why, whysz, "out of memory");
        return NULL;
    }
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (PQstatus(c) != CONNECTION_BAD) {
        if (st == PGRES_POLLING_OK) {
            PQsetnonblocking(c, 1);
            return c;
        }
        if (st == PGRES_POLLING_FAILED)
            break;
        if (!wait_sock(c, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline)) {
            why_set(why, whysz, "postgres: connect timed out");
            PQfinish(c);
            return NULL;
        }
        st = PQconnectPoll(c);
    }
    why_set(why, whysz, PQerrorMessage(c));
    PQfinish(c);
    return NULL;
}

/* One "SELECT 1" on c within the deadline. */
static bool ping(PGconn *c, long long deadline, char *why, size_t whysz)
{
    if (PQstatus(c) != CONNECTION_OK || !PQsendQuery(c, "SELECT 1")) {
        why_set(why, whysz, PQerrorMessage(c));
        return false;
    }
    while (PQflush(c) == 1)
        if (!wait_sock(c, POLLOUT, deadline))
            goto timeout;
    bool ok = false;
    for (;;) {
        while (PQisBusy(c)) {
            if (!wait_sock(c, POLLIN, deadline))
                goto timeout;
            if (!PQconsumeInput(c)) {
                why_set(why, whysz, PQerrorMessage(c));
                return false;
            }
        }
        PGresult *r = PQgetResult(c);
        if (!r)
            return ok;
        ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            why_set(why, whysz, PQresultErrorMessage(r));
        PQclear(r);
    }
timeout:
    why_set(why, whysz, "postgres: query timed out");
    return false;
}

bool ready_check(ready_t *self, char *why, size_t whysz)
{
    if (!self) {
        why_set(why, whysz, "no readiness check");
        return false;
    }
    pthread_mutex_lock(&self->lock);
    bool ok = false;
    /* the idle connection first; when it is dead (server restarted, network
     * cut), one fresh connection and one more try */
    for (int attempt = 0; attempt < 2 && !ok; attempt++) {
        long long deadline = now_ms() + self->timeout_ms;
        if (!self->conn)
            self->conn = connect_bounded(self, deadline, why, whysz);
        else if (attempt == 0 && PQstatus(self->conn) != CONNECTION_OK) {
            PQfinish(self->conn);
            self->conn = connect_bounded(self, deadline, why, whysz);
        }
        if (!self->conn)
            break; /* a fresh connect failed: no second try needed */
        ok = ping(self->conn, deadline, why, whysz);
        if (!ok) {
            PQfinish(self->conn);
            self->conn = NULL;
        }
    }
    pthread_mutex_unlock(&self->lock);
    return ok;
}
