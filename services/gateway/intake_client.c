/* intake_client.c — DEALER pool to intake (see intake_client.h). */
#include "intake_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <sodium.h>

#include "curve.h"
#include "jsonmp.h"
#include "log.h"
#include "mp.h"
#include "proto.h"
#include "svc.h"

#define IC_MAX_REPLY (16 * 1024 * 1024) /* a ledger can be long; more is refused */

struct ic {
    void *zctx;
    char *endpoints;          /* comma-separated, owned */
    int timeout_ms;
    int max;                  /* sockets open at most */
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* a socket came back or was closed */
    void **idle;              /* sockets ready to lend (max slots) */
    int nidle;
    int open;                 /* idle + lent */
};

static int fail(ic_err_t *e, const char *code, const char *field, const char *message)
{
    snprintf(e->code, sizeof e->code, "%s", code);
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    snprintf(e->message, sizeof e->message, "%s", message ? message : "");
    return -1;
}

ic_t *ic_new(void *zctx, const char *endpoints, int timeout_ms, int max_sockets)
{
    ic_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->zctx = zctx;
    self->endpoints = strdup(endpoints);
    self->timeout_ms = timeout_ms;
    self->max = max_sockets > 0 ? max_sockets : 1;
    self->idle = calloc((size_t)self->max, sizeof *self->idle);
    if (!self->endpoints || !self->idle) {
        free(self->endpoints);
        free(self->idle);
        free(self);
        return NULL;
    }
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->cv, NULL);
    return self;
}

void ic_destroy(ic_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ic_t *self = *self_p;
    for (int i = 0; i < self->nidle; i++)
        zmq_close(self->idle[i]);
    pthread_cond_destroy(&self->cv);
    pthread_mutex_destroy(&self->mu);
    free(self->idle);
    free(self->endpoints);
    free(self);
    *self_p = NULL;
}

/* A new DEALER connected to every endpoint, or NULL (logged). */
static void *socket_open(ic_t *self)
{
    void *s = zmq_socket(self->zctx, ZMQ_DEALER);
    if (!s)
        return NULL;
    int linger = 0, immediate = 1;
    int64_t maxsz = IC_MAX_REPLY;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    /* queue only on live connections: a dead intake of the list gets nothing */
    zmq_setsockopt(s, ZMQ_IMMEDIATE, &immediate, sizeof immediate);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz);
    /* a fresh socket connects in the background: sending waits for it */
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &self->timeout_ms, sizeof self->timeout_ms);
    /* secure mode: a CURVE client of intake with the services' key pair */
    if (curve_client_setup(s, "AID_INTAKE_PUBKEY", "AID_SERVICE") != 0) {
        zmq_close(s);
        return NULL;
    }
    char list[1024];
    snprintf(list, sizeof list, "%s", self->endpoints);
    char *save = NULL;
    int connected = 0;
    for (char *ep = strtok_r(list, ",", &save); ep; ep = strtok_r(NULL, ",", &save)) {
        while (*ep == ' ')
            ep++;
        if (!*ep)
            continue;
        if (zmq_connect(s, ep) != 0) {
            log_error("gateway.intake_connect_failed", "endpoint", LOG_S(ep), "error",
                      LOG_S(zmq_strerror(errno)), NULL);
            continue;
        }
        connected++;
    }
    if (!connected) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

static void *borrow(ic_t *self)
{
    pthread_mutex_lock(&self->mu);
    while (self->nidle == 0 && self->open >= self->max)
        pthread_cond_wait(&self->cv, &self->mu);
    void *s = NULL;
    if (self->nidle > 0) {
        s = self->idle[--self->nidle];
        pthread_mutex_unlock(&self->mu);
        return s;
    }
    self->open++;
    pthread_mutex_unlock(&self->mu);
    s = socket_open(self);
    if (!s) {
        pthread_mutex_lock(&self->mu);
        self->open--;
        pthread_cond_signal(&self->cv);
        pthread_mutex_unlock(&self->mu);
    }
    return s;
}

/* Returns s to the pool, or closes it when it may still hold a late reply. */
static void give_back(ic_t *self, void *s, int reusable)
{
    if (!reusable)
        zmq_close(s);
    pthread_mutex_lock(&self->mu);
    if (reusable)
        self->idle[self->nidle++] = s;
    else
        self->open--;
    pthread_cond_signal(&self->cv);
    pthread_mutex_unlock(&self->mu);
}

/* Before a request: drops anything still queued on s and lets libzmq process
 * its pending commands now. A non-blocking receive that finds nothing does
 * both and resets libzmq's receive counter, so the two frames of the reply
 * that follows are read without commands processed between them (libzmq 4.3
 * does that every 100th receive; with ZMQ_IMMEDIATE, a disconnect processed
 * there ends the pipe mid-reply and aborts in fq.cpp "!_more"). */
static void settle(void *s)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (zmq_msg_recv(&msg, s, ZMQ_DONTWAIT) >= 0)
        ;
    zmq_msg_close(&msg);
}

/* Receives one message: an empty delimiter then the body, copied to *raw.
 * 0 done, -1 nothing until the deadline, -2 malformed (dropped). */
static int recv_one(void *s, int64_t deadline, char **raw, size_t *len)
{
    for (;;) {
        int64_t left = deadline - svc_now_ms();
        if (left <= 0)
            return -1;
        zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&item, 1, (long)left);
        if (rc < 0 && zmq_errno() == EINTR)
            continue;
        if (rc < 0)
            return -1;
        if (rc > 0)
            break;
    }
    int frames = 0, bad = 0, more = 1;
    *raw = NULL;
    while (more) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, s, 0) < 0) {
            zmq_msg_close(&msg);
            free(*raw);
            *raw = NULL;
            return -1;
        }
        more = zmq_msg_more(&msg);
        size_t size = zmq_msg_size(&msg);
        if (frames == 0 && size != 0)
            bad = 1;
        if (frames == 1 && !bad) {
            *raw = malloc(size ? size : 1);
            if (*raw) {
                memcpy(*raw, zmq_msg_data(&msg), size);
                *len = size;
            }
        }
        zmq_msg_close(&msg);
        frames++;
    }
    if (bad || frames != 2 || !*raw) {
        free(*raw);
        *raw = NULL;
        return -2;
    }
    return 0;
}

/* Reads the reply envelope. 1 when it answers id (0 when it is another's),
 * with the outcome in *result or e; -1 when it is not an envelope.
 *
 * A reply without an id (or with "") answers this request too: intake sends
 * that when it could not read the request's id, and a pooled socket has one
 * request in flight — a socket whose request went unanswered is closed, never
 * lent again — so nothing else can be answered on it. */
static int read_reply(const char *raw, size_t len, const char *id, json_t **result, ic_err_t *e)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = -1;
    if (mp_unpack(raw, len, &u) != MP_OK || u.data.type != MSGPACK_OBJECT_MAP)
        goto out;
    const msgpack_object *o = &u.data;
    const msgpack_object *rid = mp_get(o, "id"), *ok = mp_get(o, "ok");
    bool anonymous = !rid || rid->type == MSGPACK_OBJECT_NIL || mp_str_is(rid, "");
    if (!anonymous && !mp_str_is(rid, id)) {
        rc = 0;
        goto out;
    }
    if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN)
        goto out;
    if (ok->via.boolean) {
        const msgpack_object *res = mp_get(o, "result");
        if (!res)
            goto out;
        *result = jsonmp_to_json(res);
        rc = *result ? 1 : -1;
        goto out;
    }
    const msgpack_object *err = mp_get(o, "error");
    char code[32] = "", field[160] = "", message[256] = "";
    if (!err || mp_str_copy(mp_get(err, "code"), code, sizeof code) != 0)
        goto out;
    const msgpack_object *f = mp_get(err, "field"), *m = mp_get(err, "message");
    if (f)
        mp_str_copy(f, field, sizeof field);
    if (m)
        mp_str_copy(m, message, sizeof message);
    fail(e, code, field, message);
    rc = 1;
out:
    msgpack_unpacked_destroy(&u);
    return rc;
}

int ic_call(ic_t *self, const char *op, const char *id, const json_t *body, json_t **result,
            ic_err_t *e)
{
    *result = NULL;
    char corr[64];
    if (!id) {
        /* a read: the id only pairs the reply with this request */
        unsigned char rnd[12];
        randombytes_buf(rnd, sizeof rnd);
        char hex[2 * sizeof rnd + 1];
        sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
        snprintf(corr, sizeof corr, "gw-read-%s", hex);
        id = corr;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, body ? 4 : 3);
    mp_pack_kv_int(&pk, "v", PROTO_VERSION);
    mp_pack_kv_str(&pk, "op", op);
    mp_pack_kv_str(&pk, "id", id);
    int rc = -1;
    if (body) {
        mp_pack_str(&pk, "body");
        jsonmp_err_t je;
        if (jsonmp_pack(&pk, body, "", &je) != 0) {
            fail(e, "invalid_field", je.path, je.message);
            goto out;
        }
    }
    if (sb.size > PROTO_MAX_REQUEST) {
        fail(e, "too_large", NULL, "request is larger than 64 KiB");
        goto out;
    }
    void *s = borrow(self);
    if (!s) {
        fail(e, "unavailable", NULL, "cannot reach intake");
        goto out;
    }
    settle(s);
    int64_t deadline = svc_now_ms() + self->timeout_ms;
    int reusable = 0;
    if (zmq_send(s, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(s, sb.data, sb.size, 0) < 0) {
        /* ZMQ_IMMEDIATE: no intake was connected within the timeout */
        fail(e, "unavailable", NULL, "intake is not reachable, retry later");
        give_back(self, s, 0);
        goto out;
    }
    for (;;) {
        char *raw = NULL;
        size_t len = 0;
        int got = recv_one(s, deadline, &raw, &len);
        if (got == -1) {
            fail(e, "unavailable", NULL, "intake did not answer in time, retry later");
            break;
        }
        if (got == -2)
            continue;
        int r = read_reply(raw, len, id, result, e);
        free(raw);
        if (r == 0)
            continue; /* a late answer to an earlier request: not ours */
        if (r < 0) {
            fail(e, "unavailable", NULL, "intake sent a malformed reply");
            break;
        }
        reusable = 1;
        rc = *result ? 0 : -1;
        break;
    }
    give_back(self, s, reusable);
out:
    msgpack_sbuffer_destroy(&sb);
    return rc;
}
