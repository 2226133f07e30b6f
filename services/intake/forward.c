/* forward.c — the owners behind the front door: who serves which operation,
 * the requests forwarded to them, and their answers (forward.h). */
#include "forward.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "curve.h"
#include "log.h"
#include "proto.h"

#define OWNERS_MAX 64
#define WAITING_MAX 1024      /* requests forwarded and not answered yet */
#define ROUTE_MAX 8
#define OPS_MAX 64            /* bits of an owner's op mask */
#define IDENTITY_MAX 256
#define INSTANCE_MAX 160

typedef struct {
    bool live;
    unsigned char identity[IDENTITY_MAX]; /* its ROUTER routing id */
    size_t identity_len;
    char name[CURVE_NAME_MAX + 1];        /* its key's name, or the service it named */
    char instance[INSTANCE_MAX];          /* "<service>@<host>#<replica>.<n>", "" if not said */
    int64_t started_us;                   /* when that instance started */
    uint64_t ops;                         /* bit i: serves proto_ops[i] */
    int64_t seen_ms;                      /* last READY */
    int inflight;
    int held_elsewhere;                   /* what it holds from other intakes (HOLDS) */
    uint64_t used;                        /* when last chosen (a counter) */
} peer_t;

typedef struct {
    uint64_t token;                       /* 0: free */
    zmq_msg_t route[ROUTE_MAX];
    int nroute;
    int owner;
    int op;
    int64_t deadline_ms;
    int64_t limit_ms;                     /* the bound however long it is held */
    bool held;                            /* its owner said HOLDS for it */
    char id[PROTO_STR_MAX + 1];
} waiting_t;

struct forward {
    void *router;
    peer_t owners[OWNERS_MAX];
    waiting_t *waiting;                   /* WAITING_MAX slots */
    uint64_t generation, uses;
    int nwaiting;                         /* slots in use */
    int timeout_ms, expiry_ms, limit_ms;
    int64_t refused_logged_ms;            /* refused registrations: a log line a second */
    int64_t refused;                      /* refused since that line */
};

forward_t *forward_new(void *router)
{
    forward_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->waiting = calloc(WAITING_MAX, sizeof *self->waiting);
    if (!self->waiting) {
        free(self);
        return NULL;
    }
    self->router = router;
    self->timeout_ms = (int)config_int("AID_FORWARD_TIMEOUT_MS", 5000, 50, 600000);
    self->expiry_ms = (int)config_int("AID_OWNER_EXPIRY_MS", 3000, 100, 600000);
    self->limit_ms = (int)config_int("AID_FORWARD_LIMIT_MS", 600000, 50, 3600000);
    return self;
}

/* Sends the whole reply body to w's caller and frees the slot. */
static void answer(forward_t *self, waiting_t *w, const void *body, size_t len)
{
    for (int i = 0; i < w->nroute; i++)
        zmq_msg_send(&w->route[i], self->router, ZMQ_SNDMORE);
    zmq_send(self->router, body, len, 0);
    for (int i = 0; i < w->nroute; i++)
        zmq_msg_close(&w->route[i]);
    w->nroute = 0;
    w->token = 0;
    self->nwaiting--;
    if (w->owner >= 0 && self->owners[w->owner].inflight > 0)
        self->owners[w->owner].inflight--;
}

/* Answers w `unavailable`: "outcome unknown" for a write, which may have been
 * done (proto/README.md §4). */
static void answer_unavailable(forward_t *self, waiting_t *w, const char *why)
{
    char msg[200];
    if (proto_ops[w->op].writes)
        snprintf(msg, sizeof msg,
                 "outcome unknown: the owner of %s %s; it may have been accepted: retry with the "
                 "same id and body",
                 proto_ops[w->op].name, why);
    else
        snprintf(msg, sizeof msg, "the owner of %s %s; retry later", proto_ops[w->op].name, why);
    proto_error_t e;
    proto_fail(&e, PROTO_UNAVAILABLE, NULL, msg);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_reply_error(&pk, w->id, &e);
    log_warn("forward.unanswered", "op", LOG_S(proto_ops[w->op].name), "owner",
             LOG_S(w->owner >= 0 ? self->owners[w->owner].name : ""), "why", LOG_S(why), NULL);
    answer(self, w, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

void forward_destroy(forward_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    forward_t *self = *self_p;
    for (int i = 0; i < WAITING_MAX; i++)
        if (self->waiting[i].token)
            answer_unavailable(self, &self->waiting[i], "was not heard from before intake stopped");
    free(self->waiting);
    free(self);
    *self_p = NULL;
}

static bool frame_is(const zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size((zmq_msg_t *)m) == n && memcmp(zmq_msg_data((zmq_msg_t *)m), s, n) == 0;
}

bool forward_is_owner(const zmq_msg_t *frames, int n, int delim)
{
    return delim >= 1 && delim + 2 < n && frame_is(&frames[delim + 1], FORWARD_MAGIC);
}

/* The owner with this routing id, or -1. */
static int peer_find(const forward_t *self, const zmq_msg_t *id)
{
    size_t n = zmq_msg_size((zmq_msg_t *)id);
    for (int i = 0; i < OWNERS_MAX; i++)
        if (self->owners[i].live && self->owners[i].identity_len == n &&
            memcmp(self->owners[i].identity, zmq_msg_data((zmq_msg_t *)id), n) == 0)
            return i;
    return -1;
}

/* Drops owner k: what it owes is answered unavailable. */
static void peer_drop(forward_t *self, int k, const char *why)
{
    for (int i = 0; i < WAITING_MAX; i++)
        if (self->waiting[i].token && self->waiting[i].owner == k)
            answer_unavailable(self, &self->waiting[i], why);
    log_info("forward.owner_dropped", "owner", LOG_S(self->owners[k].name), "why", LOG_S(why),
             NULL);
    self->owners[k].live = false;
}

/* May the client named client register as an owner? Any in plaintext mode
 * (loopback development); in secure mode a key named service.<name>, or a
 * name listed in AID_OWNER_ANY. */
bool forward_may_own(const char *client)
{
    return !curve_secure() || strncmp(client, "service.", 8) == 0 ||
           config_list_has("AID_OWNER_ANY", client);
}

/* A READY from a new routing id naming instance inst, started at started,
 * from the client named client: a live peer of the same instance and client
 * that started earlier is its predecessor, dead or restarted (kill -9, a
 * container restarted in its pod): dropped now, what it owes answered
 * unavailable as at its expiry. 0, or -1 when a live peer of that instance
 * started later (this READY comes from a stale duplicate: ignored). */
static int peer_replace(forward_t *self, const char *client, const char *inst, int64_t started)
{
    for (int i = 0; i < OWNERS_MAX; i++) {
        peer_t *o = &self->owners[i];
        if (!o->live || strcmp(o->instance, inst) != 0 ||
            (client[0] && strcmp(o->name, client) != 0))
            continue;
        if (o->started_us > started) {
            log_warn("forward.stale_instance", "instance", LOG_S(inst), NULL);
            return -1;
        }
        peer_drop(self, i, "was replaced by its restart");
    }
    return 0;
}

static void peer_ready(forward_t *self, const char *client, zmq_msg_t *frames, int n,
                        int delim, int64_t now_ms)
{
    if ((n != delim + 5 && n != delim + 7) || zmq_msg_size(&frames[0]) > IDENTITY_MAX) {
        log_warn("forward.bad_ready", "frames", LOG_I(n), NULL);
        return;
    }
    if (!forward_may_own(client)) {
        /* a flood of these must not flood the log: one line a second */
        self->refused++;
        if (now_ms - self->refused_logged_ms >= 1000) {
            log_warn("forward.refused_owner", "client", LOG_S(client), "refused",
                     LOG_I(self->refused), NULL);
            self->refused_logged_ms = now_ms;
            self->refused = 0;
        }
        return;
    }
    /* the ops it serves: unknown names are logged and skipped */
    uint64_t ops = 0;
    char list[1024];
    size_t ln = zmq_msg_size(&frames[delim + 4]);
    if (ln >= sizeof list)
        ln = sizeof list - 1;
    memcpy(list, zmq_msg_data(&frames[delim + 4]), ln);
    list[ln] = 0;
    char logged[sizeof list];
    memcpy(logged, list, ln + 1);
    for (char *save = NULL, *t = strtok_r(list, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        int i = 0;
        while (i < proto_op_count && strcmp(proto_ops[i].name, t) != 0)
            i++;
        if (i == proto_op_count || i >= OPS_MAX || i == OP_REPORT_SUBMIT)
            log_warn("forward.unknown_op", "op", LOG_S(t), NULL);
        else
            ops |= (uint64_t)1 << i;
    }
    /* the instance it is (optional frames): a restart replaces its dead predecessor */
    char inst[INSTANCE_MAX] = "";
    int64_t started = 0;
    if (n == delim + 7) {
        size_t in = zmq_msg_size(&frames[delim + 5]), tn = zmq_msg_size(&frames[delim + 6]);
        char t[24];
        if (in < sizeof inst && tn < sizeof t) {
            memcpy(inst, zmq_msg_data(&frames[delim + 5]), in);
            inst[in] = 0;
            memcpy(t, zmq_msg_data(&frames[delim + 6]), tn);
            t[tn] = 0;
            started = strtoll(t, NULL, 10);
        }
    }
    int k = peer_find(self, &frames[0]);
    if (k < 0 && inst[0] && peer_replace(self, client, inst, started) != 0)
        return; /* an older instance of the same name: the newer one serves */
    if (k < 0) {
        for (k = 0; k < OWNERS_MAX && self->owners[k].live; k++)
            ;
        if (k == OWNERS_MAX) {
            log_warn("forward.too_many_owners", NULL);
            return;
        }
        peer_t *o = &self->owners[k];
        memset(o, 0, sizeof *o);
        o->live = true;
        o->identity_len = zmq_msg_size(&frames[0]);
        memcpy(o->identity, zmq_msg_data(&frames[0]), o->identity_len);
        char svc[CURVE_NAME_MAX + 1];
        size_t sn = zmq_msg_size(&frames[delim + 3]);
        if (sn >= sizeof svc)
            sn = sizeof svc - 1;
        memcpy(svc, zmq_msg_data(&frames[delim + 3]), sn);
        svc[sn] = 0;
        snprintf(o->name, sizeof o->name, "%s", client[0] ? client : svc);
        snprintf(o->instance, sizeof o->instance, "%s", inst);
        o->started_us = started;
        log_info("forward.owner_ready", "owner", LOG_S(o->name), "ops", LOG_S(logged), NULL);
    }
    self->owners[k].ops = ops;
    self->owners[k].seen_ms = now_ms;
    self->owners[k].held_elsewhere = 0; /* its HOLDS follows if it holds any */
}

static void peer_reply(forward_t *self, zmq_msg_t *frames, int n, int delim)
{
    int k = peer_find(self, &frames[0]);
    char tok[24];
    size_t tn = zmq_msg_size(&frames[delim + 3]);
    if (k < 0 || n != delim + 5 || tn == 0 || tn >= sizeof tok) {
        log_warn("forward.stray_reply", NULL);
        return;
    }
    memcpy(tok, zmq_msg_data(&frames[delim + 3]), tn);
    tok[tn] = 0;
    uint64_t token = strtoull(tok, NULL, 10);
    waiting_t *w = &self->waiting[token % WAITING_MAX];
    if (!token || w->token != token || w->owner != k) {
        log_info("forward.late_reply", "owner", LOG_S(self->owners[k].name), NULL);
        return;
    }
    answer(self, w, zmq_msg_data(&frames[delim + 4]), zmq_msg_size(&frames[delim + 4]));
}

/* HOLDS <tokens, space-separated> <how many it holds from every intake>:
 * the owner (alive: its heartbeat) is still working on these requests, so
 * each waits another AID_FORWARD_TIMEOUT_MS, up to AID_FORWARD_LIMIT_MS in
 * all. */
static void peer_holds(forward_t *self, zmq_msg_t *frames, int n, int delim, int64_t now_ms)
{
    int k = peer_find(self, &frames[0]);
    char list[WAITING_MAX * 24], total[16];
    size_t ln = zmq_msg_size(&frames[delim + 3]), tn = zmq_msg_size(&frames[delim + 4]);
    if (k < 0 || n != delim + 5 || ln >= sizeof list || tn >= sizeof total) {
        log_warn("forward.stray_holds", NULL);
        return;
    }
    self->owners[k].seen_ms = now_ms;
    memcpy(list, zmq_msg_data(&frames[delim + 3]), ln);
    list[ln] = 0;
    memcpy(total, zmq_msg_data(&frames[delim + 4]), tn);
    total[tn] = 0;
    int here = 0;
    for (char *save = NULL, *t = strtok_r(list, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        uint64_t token = strtoull(t, NULL, 10);
        waiting_t *w = &self->waiting[token % WAITING_MAX];
        if (!token || w->token != token || w->owner != k)
            continue; /* answered meanwhile */
        here++;
        w->held = true;
        int64_t d = now_ms + self->timeout_ms;
        if (d > w->limit_ms)
            d = w->limit_ms;
        if (d > w->deadline_ms)
            w->deadline_ms = d;
    }
    int all = atoi(total);
    self->owners[k].held_elsewhere = all > here ? all - here : 0;
}

void forward_owner_msg(forward_t *self, const char *client, zmq_msg_t *frames, int n,
                       int delim, int64_t now_ms)
{
    const zmq_msg_t *cmd = &frames[delim + 2];
    if (frame_is(cmd, "READY"))
        peer_ready(self, client, frames, n, delim, now_ms);
    else if (frame_is(cmd, "HOLDS"))
        peer_holds(self, frames, n, delim, now_ms);
    else if (frame_is(cmd, "REPLY"))
        peer_reply(self, frames, n, delim);
    else if (frame_is(cmd, "GONE")) {
        int k = peer_find(self, &frames[0]);
        if (k >= 0)
            peer_drop(self, k, "stopped");
    } else
        log_warn("forward.bad_command", NULL);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&frames[i]);
}

/* How busy owner o is: what this intake waits for from it, and what it
 * said it holds from other intakes. */
static int peer_load(const peer_t *o) { return o->inflight + o->held_elsewhere; }

/* The owner of op to use now: the least busy, least recently used; -1. */
static int peer_pick(const forward_t *self, int op)
{
    int best = -1;
    for (int i = 0; i < OWNERS_MAX; i++) {
        const peer_t *o = &self->owners[i];
        if (!o->live || op >= OPS_MAX || !(o->ops >> op & 1))
            continue;
        int load = peer_load(o), best_load = best < 0 ? 0 : peer_load(&self->owners[best]);
        if (best < 0 || load < best_load ||
            (load == best_load && o->used < self->owners[best].used))
            best = i;
    }
    return best;
}

bool forward_has(const forward_t *self, const char *op)
{
    for (int i = 0; i < proto_op_count; i++)
        if (strcmp(proto_ops[i].name, op) == 0)
            return peer_pick(self, i) >= 0;
    return false;
}

int forward_request(forward_t *self, zmq_msg_t *route, int *nroute, const char *client,
                    int op, const char *id, const void *body, size_t len, int64_t now_ms,
                    char *msg, size_t msgsz)
{
    int k = peer_pick(self, op);
    if (k < 0) {
        snprintf(msg, msgsz, "no instance of the owner of %s is connected: nothing was accepted, "
                 "retry later", proto_ops[op].name);
        return -1;
    }
    /* a free slot; its token says which slot and which use of it */
    waiting_t *w = NULL;
    for (int tries = 0; tries < WAITING_MAX && !w; tries++) {
        uint64_t t = ++self->generation;
        if (t % WAITING_MAX == 0)
            t = ++self->generation; /* token 0 means free */
        if (!self->waiting[t % WAITING_MAX].token) {
            w = &self->waiting[t % WAITING_MAX];
            w->token = t;
            self->nwaiting++;
        }
    }
    if (!w || *nroute > ROUTE_MAX) {
        if (w) {
            w->token = 0;
            self->nwaiting--;
        }
        snprintf(msg, msgsz, "too many requests wait for the owner of %s: nothing was accepted, "
                 "retry later", proto_ops[op].name);
        return -1;
    }
    peer_t *o = &self->owners[k];
    char tok[24];
    snprintf(tok, sizeof tok, "%" PRIu64, w->token);
    zmq_send(self->router, o->identity, o->identity_len, ZMQ_SNDMORE);
    zmq_send(self->router, "", 0, ZMQ_SNDMORE);
    zmq_send(self->router, FORWARD_MAGIC, strlen(FORWARD_MAGIC), ZMQ_SNDMORE);
    zmq_send(self->router, "REQUEST", 7, ZMQ_SNDMORE);
    zmq_send(self->router, tok, strlen(tok), ZMQ_SNDMORE);
    zmq_send(self->router, client, strlen(client), ZMQ_SNDMORE);
    zmq_send(self->router, body, len, 0);
    for (int i = 0; i < *nroute; i++) {
        zmq_msg_init(&w->route[i]);
        zmq_msg_move(&w->route[i], &route[i]);
        zmq_msg_close(&route[i]);
    }
    w->nroute = *nroute;
    *nroute = 0;
    w->owner = k;
    w->op = op;
    w->deadline_ms = now_ms + self->timeout_ms;
    w->limit_ms = now_ms + self->limit_ms;
    w->held = false;
    snprintf(w->id, sizeof w->id, "%s", id ? id : "");
    o->inflight++;
    o->used = ++self->uses;
    return 0;
}

int forward_tick(forward_t *self, int64_t now_ms)
{
    int64_t next = now_ms + 1000;
    for (int k = 0; k < OWNERS_MAX; k++) {
        peer_t *o = &self->owners[k];
        if (!o->live)
            continue;
        if (now_ms - o->seen_ms >= self->expiry_ms)
            peer_drop(self, k, "stopped answering");
        else if (o->seen_ms + self->expiry_ms < next)
            next = o->seen_ms + self->expiry_ms;
    }
    char why[64], why_held[96];
    snprintf(why, sizeof why, "did not answer within %d ms", self->timeout_ms);
    snprintf(why_held, sizeof why_held, "was still working on it after %d ms (the limit)",
             self->limit_ms);
    for (int i = 0; i < WAITING_MAX && self->nwaiting > 0; i++) {
        waiting_t *w = &self->waiting[i];
        if (!w->token)
            continue;
        if (now_ms >= w->deadline_ms)
            answer_unavailable(self, w, w->held && now_ms >= w->limit_ms ? why_held : why);
        else if (w->deadline_ms < next)
            next = w->deadline_ms;
    }
    return (int)(next - now_ms);
}
