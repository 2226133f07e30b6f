/* intake_client.c — DEALER pool to intake (see intake_client.h). */
#include "intake_client.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <sodium.h>

#include "curve.h"
#include "dealer.h"
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
    /* queue only on live connections: a dead intake of the list gets nothing */
    dealer_opts_t o = {.send_timeout_ms = self->timeout_ms, .max_reply = IC_MAX_REPLY,
                       .immediate = true};
    void *s = dealer_new(self->zctx, &o);
    if (!s)
        return NULL;
    /* secure mode: a CURVE client of intake with the services' key pair */
    if (curve_client_setup(s, "AID_INTAKE_PUBKEY", "AID_SERVICE") != 0) {
        zmq_close(s);
        return NULL;
    }
    char err[256];
    int err_no = 0;
    int connected = dealer_connect(s, self->endpoints, &err_no, err, sizeof err);
    if (err_no)
        log_error("gateway.intake_connect_failed", "error", LOG_S(err), NULL);
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

/* Fills *result or e from the checked reply. 0, or -1 when the error is
 * not one the contract can carry. */
static int read_reply(const dealer_reply_t *rep, json_t **result, ic_err_t *e)
{
    if (rep->ok) {
        *result = jsonmp_to_json(rep->result);
        return 0;
    }
    char code[32] = "", field[160] = "", message[256] = "";
    if (mp_str_copy(mp_get(rep->error, "code"), code, sizeof code) != 0)
        return -1;
    const msgpack_object *f = mp_get(rep->error, "field"), *m = mp_get(rep->error, "message");
    if (f)
        mp_str_copy(f, field, sizeof field);
    if (m)
        mp_str_copy(m, message, sizeof message);
    fail(e, code, field, message);
    return 0;
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
    dealer_reply_t rep;
    char why[256];
    int got = dealer_call(s, sb.data, sb.size, id, svc_now_ms() + self->timeout_ms, &rep, why,
                          sizeof why);
    int reusable = got == DEALER_OK;
    if (got == DEALER_UNSENT) /* ZMQ_IMMEDIATE: no intake was connected within the timeout */
        fail(e, "unavailable", NULL, "intake is not reachable, retry later");
    else if (got == DEALER_TIMEOUT)
        fail(e, "unavailable", NULL, "intake did not answer in time, retry later");
    else if (got != DEALER_OK || read_reply(&rep, result, e) != 0)
        fail(e, "unavailable", NULL, "intake sent a malformed reply");
    else
        rc = rep.ok ? (*result ? 0 : fail(e, "unavailable", NULL, "out of memory")) : -1;
    dealer_reply_free(&rep);
    give_back(self, s, reusable);
out:
    msgpack_sbuffer_destroy(&sb);
    return rc;
}
