/* events.c — the case.updated subscriber and its waiters (see events.h). */
#include "events.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "bus.h"
#include "log.h"
#include "mp.h"
#include "svc.h"

#define EVENTS_RING 1024
#define EVENTS_WAKE_MS 1000 /* parked waiters look again at least this often */

typedef struct {
    void (*wake)(void *);
    void *arg;
} parked_t;

struct events {
    void *sub;                      /* SUB socket, used by the thread only */
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;              /* broadcast on every event and on stop */
    bool stopping;
    uint64_t gen;                   /* events seen so far */
    int64_t ring[EVENTS_RING];      /* case id of event number g at g % EVENTS_RING */
    parked_t *parked;               /* waiters to wake (events_park) */
    size_t nparked, capparked;
    uint64_t woken_gen;             /* gen when they were last woken */
    int64_t woken_at;               /* and when */
};

/* Wakes every parked waiter; under mu. */
static void wake_all(events_t *self)
{
    for (size_t i = 0; i < self->nparked; i++)
        self->parked[i].wake(self->parked[i].arg);
    self->nparked = 0;
    self->woken_gen = self->gen;
    self->woken_at = svc_now_ms();
}

static int64_t case_number(const char *case_id)
{
    if (strncmp(case_id, "case-", 5) != 0)
        return -1;
    char *end;
    long long n = strtoll(case_id + 5, &end, 10);
    return *end || end == case_id + 5 ? -1 : (int64_t)n;
}

static void push(events_t *self, int64_t case_id)
{
    pthread_mutex_lock(&self->mu);
    self->ring[self->gen % EVENTS_RING] = case_id;
    self->gen++;
    pthread_cond_broadcast(&self->cv);
    pthread_mutex_unlock(&self->mu);
}

void events_notify(events_t *self, const char *case_id)
{
    int64_t n = case_number(case_id);
    if (n >= 0)
        push(self, n);
}

static void record(events_t *self, const char *body, int len)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int64_t case_id;
    if (mp_unpack(body, (size_t)len, &u) == MP_OK &&
        mp_int(mp_get(&u.data, "case_id"), &case_id) == 0)
        push(self, case_id);
    msgpack_unpacked_destroy(&u);
}

static void *run(void *arg)
{
    events_t *self = arg;
    char topic[64], body[4096];
    for (;;) {
        pthread_mutex_lock(&self->mu);
        bool stop = self->stopping;
        /* parked waiters: woken after any event, else now and then */
        if (!stop && self->nparked &&
            (self->gen != self->woken_gen || svc_now_ms() - self->woken_at >= EVENTS_WAKE_MS))
            wake_all(self);
        pthread_mutex_unlock(&self->mu);
        if (stop)
            break;
        zmq_pollitem_t item = {.socket = self->sub, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        int n;
        while ((n = bus_recv(self->sub, topic, sizeof topic, body, sizeof body)) != -1)
            if (n >= 0 && strcmp(topic, "case.updated") == 0)
                record(self, body, n);
    }
    return NULL;
}

events_t *events_new(void *zctx, const char *bus_sub)
{
    events_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->cv, NULL);
    static const char *const topics[] = {"case.updated", NULL};
    self->sub = bus_sub_open(zctx, bus_sub, topics);
    if (!self->sub) {
        log_error("gateway.bus_failed", "endpoint", LOG_S(bus_sub), "error",
                  LOG_S(zmq_strerror(errno)), NULL);
        events_destroy(&self);
        return NULL;
    }
    if (pthread_create(&self->thread, NULL, run, self) != 0) {
        events_destroy(&self);
        return NULL;
    }
    self->started = true;
    return self;
}

void events_stop(events_t *self)
{
    pthread_mutex_lock(&self->mu);
    self->stopping = true;
    wake_all(self);
    pthread_cond_broadcast(&self->cv);
    pthread_mutex_unlock(&self->mu);
}

void events_destroy(events_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    events_t *self = *self_p;
    events_stop(self);
    if (self->started)
        pthread_join(self->thread, NULL);
    if (self->sub)
        zmq_close(self->sub);
    pthread_cond_destroy(&self->cv);
    pthread_mutex_destroy(&self->mu);
    free(self->parked);
    free(self);
    *self_p = NULL;
}

uint64_t events_generation(events_t *self)
{
    pthread_mutex_lock(&self->mu);
    uint64_t g = self->gen;
    pthread_mutex_unlock(&self->mu);
    return g;
}

/* True when an event after *gen names case_id (or events were lost). */
static bool changed_since(const events_t *self, int64_t case_id, uint64_t since)
{
    if (self->gen - since > EVENTS_RING)
        return true; /* the ring moved on: tell the page to look */
    for (uint64_t g = since; g < self->gen; g++)
        if (self->ring[g % EVENTS_RING] == case_id)
            return true;
    return false;
}

int events_wait(events_t *self, const char *case_id, uint64_t *gen, int timeout_ms)
{
    int64_t want = case_number(case_id);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&self->mu);
    for (;;) {
        if (self->stopping) {
            rc = -1;
            break;
        }
        if (self->gen != *gen) {
            bool hit = changed_since(self, want, *gen);
            *gen = self->gen;
            if (hit) {
                rc = 1;
                break;
            }
        }
        if (pthread_cond_timedwait(&self->cv, &self->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&self->mu);
    return rc;
}

int events_park(events_t *self, uint64_t gen, void (*suspend)(void *), void (*wake)(void *),
                void *arg)
{
    int rc = 0;
    pthread_mutex_lock(&self->mu);
    if (self->stopping) {
        rc = -1;
    } else if (self->gen != gen) {
        rc = 1;
    } else {
        if (self->nparked == self->capparked) {
            size_t cap = self->capparked ? 2 * self->capparked : 64;
            parked_t *p = realloc(self->parked, cap * sizeof *p);
            if (!p) {
                pthread_mutex_unlock(&self->mu);
                return -1;
            }
            self->parked = p;
            self->capparked = cap;
        }
        suspend(arg);
        self->parked[self->nparked++] = (parked_t){wake, arg};
    }
    pthread_mutex_unlock(&self->mu);
    return rc;
}
