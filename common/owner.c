/* owner.c — serving operations behind the front door: register, receive
 * forwarded requests with the caller's identity, reply (owner.h). */
#include "owner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "config.h"
#include "curve.h"
#include "log.h"
#include "svc.h"
#include "write.h"

#define MAGIC "AIDO1"
#define INTAKES_MAX 16

struct owner {
    void *socks[INTAKES_MAX];
    int nsocks;
    char service[64];
    char *ops;
    char instance[160];      /* "<service>@<host>#<slot>" (forward.h) */
    char started[24];        /* when this process began serving, µs */
    int heartbeat_ms;
    int64_t next_beat_ms;
};

static void send_ready(owner_t *self)
{
    for (int i = 0; i < self->nsocks; i++) {
        zmq_send(self->socks[i], "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(self->socks[i], MAGIC, strlen(MAGIC), ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(self->socks[i], "READY", 5, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(self->socks[i], self->service, strlen(self->service),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(self->socks[i], self->ops, strlen(self->ops), ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(self->socks[i], self->instance, strlen(self->instance),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(self->socks[i], self->started, strlen(self->started), ZMQ_DONTWAIT);
    }
    self->next_beat_ms = svc_now_ms() + self->heartbeat_ms;
}

owner_t *owner_new(void *zctx, const char *service, const char *ops)
{
    owner_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->service, sizeof self->service, "%s", service);
    self->ops = strdup(ops);
    /* who it is, so that its restart replaces it at once: the host (a pod's
     * name) and the replica number of this host (AID_REPLICA, 1 by default) */
    char host[64] = "";
    if (gethostname(host, sizeof host) != 0)
        host[0] = 0;
    host[sizeof host - 1] = 0;
    snprintf(self->instance, sizeof self->instance, "%s@%s#%s", service, host,
             config_str("AID_REPLICA", "1"));
    snprintf(self->started, sizeof self->started, "%lld", (long long)svc_wall_us());
    self->heartbeat_ms = (int)config_int("AID_OWNER_HEARTBEAT_MS", 1000, 50, 60000);
    const char *list = config_str("AID_INTAKE_API", "tcp://127.0.0.1:5601");
    for (const char *ep = list; self->ops && *ep && self->nsocks < INTAKES_MAX;) {
        while (*ep == ' ' || *ep == ',')
            ep++;
        size_t n = strcspn(ep, ",");
        if (!n)
            break;
        char one[256];
        snprintf(one, sizeof one, "%.*s", (int)n, ep);
        ep += n;
        void *s = zmq_socket(zctx, ZMQ_DEALER);
        int linger = 0;
        if (s) /* not ZMQ_IMMEDIATE: the first READY waits for the connection */
            zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
        if (!s || curve_client_setup(s, "AID_INTAKE_PUBKEY", "AID_SERVICE") != 0 ||
            zmq_connect(s, one) != 0) {
            log_error("owner.connect_failed", "endpoint", LOG_S(one), "error",
                      LOG_S(zmq_strerror(errno)), NULL);
            if (s)
                zmq_close(s);
            owner_destroy(&self);
            return NULL;
        }
        self->socks[self->nsocks++] = s;
    }
    if (!self->ops || self->nsocks == 0) {
        owner_destroy(&self);
        return NULL;
    }
    log_info("owner.started", "service", LOG_S(service), "ops", LOG_S(ops), "intakes",
             LOG_I(self->nsocks), NULL);
    send_ready(self);
    return self;
}

void owner_destroy(owner_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    owner_t *self = *self_p;
    for (int i = 0; i < self->nsocks; i++) {
        zmq_send(self->socks[i], "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(self->socks[i], MAGIC, strlen(MAGIC), ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(self->socks[i], "GONE", 4, ZMQ_DONTWAIT);
        int linger = 200; /* time for GONE to leave */
        zmq_setsockopt(self->socks[i], ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(self->socks[i]);
    }
    free(self->ops);
    free(self);
    *self_p = NULL;
}

/* Reads one message of s: 1 when it was a REQUEST (req filled), 0 else. */
static int read_one(void *s, owner_request_t *req)
{
    zmq_msg_t f[6];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 6)
            f[n++] = m;
        else
            zmq_msg_close(&m);
    }
    int ok = n == 6 && zmq_msg_size(&f[0]) == 0 && zmq_msg_size(&f[1]) == strlen(MAGIC) &&
             memcmp(zmq_msg_data(&f[1]), MAGIC, strlen(MAGIC)) == 0 &&
             zmq_msg_size(&f[2]) == 7 && memcmp(zmq_msg_data(&f[2]), "REQUEST", 7) == 0 &&
             zmq_msg_size(&f[3]) < sizeof req->token && zmq_msg_size(&f[4]) < sizeof req->client;
    if (ok) {
        snprintf(req->token, sizeof req->token, "%.*s", (int)zmq_msg_size(&f[3]),
                 (const char *)zmq_msg_data(&f[3]));
        snprintf(req->client, sizeof req->client, "%.*s", (int)zmq_msg_size(&f[4]),
                 (const char *)zmq_msg_data(&f[4]));
        zmq_msg_init(&req->body);
        zmq_msg_move(&req->body, &f[5]);
    } else if (n > 0) {
        log_warn("owner.bad_message", "frames", LOG_I(n), NULL);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return ok;
}

int owner_recv(owner_t *self, int timeout_ms, owner_request_t *req)
{
    int64_t until = svc_now_ms() + timeout_ms;
    for (;;) {
        int64_t now = svc_now_ms();
        if (now >= self->next_beat_ms)
            send_ready(self);
        int64_t wait = (until < self->next_beat_ms ? until : self->next_beat_ms) - now;
        zmq_pollitem_t items[INTAKES_MAX];
        for (int i = 0; i < self->nsocks; i++)
            items[i] = (zmq_pollitem_t){self->socks[i], 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(items, self->nsocks, wait > 0 ? (long)wait : 0);
        if (rc < 0)
            return errno == EINTR ? 0 : -1;
        for (int i = 0; i < self->nsocks; i++)
            if (items[i].revents & ZMQ_POLLIN) {
                while (zmq_poll(&items[i], 1, 0) > 0 && (items[i].revents & ZMQ_POLLIN)) {
                    if (read_one(self->socks[i], req)) {
                        req->sock = i;
                        return 1;
                    }
                }
            }
        if (svc_now_ms() >= until)
            return 0;
    }
}

int owner_reply(owner_t *self, owner_request_t *req, const void *reply, size_t len)
{
    void *s = self->socks[req->sock];
    int rc = zmq_send(s, "", 0, ZMQ_SNDMORE) < 0 ||
                     zmq_send(s, MAGIC, strlen(MAGIC), ZMQ_SNDMORE) < 0 ||
                     zmq_send(s, "REPLY", 5, ZMQ_SNDMORE) < 0 ||
                     zmq_send(s, req->token, strlen(req->token), ZMQ_SNDMORE) < 0 ||
                     zmq_send(s, reply, len, 0) < 0
                 ? -1
                 : 0;
    zmq_msg_close(&req->body);
    return rc;
}

/* How a request's result is made: by the handler alone (a read), or through
 * write_once (the request id recorded in the write's own transaction). */
typedef struct {
    owner_handler_fn handler;
    void *arg;
    const char *client;
    const proto_request_t *req;
    store_t *store; /* NULL: a read */
} owned_t;

static int owned_write(void *arg, msgpack_packer *pk, proto_error_t *err)
{
    owned_t *w = arg;
    return w->handler(w->arg, w->client, w->req, pk, err);
}

/* Parses the request, makes its result (run), replies ok with it or with the
 * error: the one frame of owner_answer and owner_answer_write. */
static int answer(owner_t *self, owner_request_t *req, owned_t *w)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    proto_request_t pr = {0};
    proto_error_t e;
    msgpack_sbuffer result, reply;
    msgpack_sbuffer_init(&result);
    msgpack_sbuffer_init(&reply);
    msgpack_packer pk, rpk;
    msgpack_packer_init(&pk, &result, msgpack_sbuffer_write);
    msgpack_packer_init(&rpk, &reply, msgpack_sbuffer_write);
    w->client = req->client;
    w->req = &pr;
    bool fresh = false;
    int rc = proto_request_parse(zmq_msg_data(&req->body), zmq_msg_size(&req->body), &u, &pr, &e);
    if (rc == 0)
        rc = w->store ? write_once(w->store, pr.id, proto_ops[pr.op].name, pr.body, owned_write, w,
                                   &result, &fresh, &e)
                      : w->handler(w->arg, req->client, &pr, &pk, &e);
    req->committed = rc == 0 && fresh;
    if (rc == 0) {
        proto_reply_ok_begin(&rpk, pr.id);
        msgpack_sbuffer_write(&reply, result.data, result.size);
    } else {
        proto_reply_error(&rpk, pr.id, &e);
    }
    rc = owner_reply(self, req, reply.data, reply.size);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&result);
    msgpack_sbuffer_destroy(&reply);
    return rc;
}

int owner_answer(owner_t *self, owner_request_t *req, owner_handler_fn handler, void *arg)
{
    owned_t w = {.handler = handler, .arg = arg};
    return answer(self, req, &w);
}

int owner_answer_write(owner_t *self, owner_request_t *req, store_t *store,
                       owner_handler_fn handler, void *arg)
{
    owned_t w = {.handler = handler, .arg = arg, .store = store};
    return answer(self, req, &w);
}
