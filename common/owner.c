/* owner.c — serving operations behind the front door: register, receive
 * forwarded requests with the caller's identity, reply (owner.h). */
#include "owner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
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
#define INTAKES_MAX 64

struct owner {
    void *zctx;
    void *socks[INTAKES_MAX];           /* NULL: a free slot */
    char endpoints[INTAKES_MAX][OWNER_ENDPOINT_MAX]; /* what socks[i] connects to */
    int nsocks;                         /* slots used so far (some may be free) */
    char *list;                         /* AID_INTAKE_API */
    int resolve_ms;                     /* AID_OWNER_RESOLVE_MS */
    int64_t next_resolve_ms;
    char service[64];
    char *ops;
    char instance[160];      /* "<service>@<host>#<replica>.<n>" (forward.h) */
    char started[24];        /* when this process began serving, µs */
    int heartbeat_ms;
    int64_t next_beat_ms;
};

static void send_ready(owner_t *self)
{
    for (int i = 0; i < self->nsocks; i++) {
        if (!self->socks[i])
            continue;
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

int (*owner_resolver)(const char *, const char *, const struct addrinfo *,
                      struct addrinfo **) = getaddrinfo;

/* Is host an address literal (nothing to resolve)? */
static bool is_address(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return host[0] == '[' || inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1 || strcmp(host, "*") == 0;
}

static int add_unique(char (*out)[OWNER_ENDPOINT_MAX], int n, int max, const char *ep)
{
    for (int i = 0; i < n; i++)
        if (strcmp(out[i], ep) == 0)
            return n;
    if (n < max)
        snprintf(out[n++], OWNER_ENDPOINT_MAX, "%s", ep);
    return n;
}

int owner_endpoints(const char *list, char (*out)[OWNER_ENDPOINT_MAX], int max)
{
    int n = 0;
    for (const char *ep = list; *ep;) {
        while (*ep == ' ' || *ep == ',')
            ep++;
        size_t len = strcspn(ep, ",");
        while (len && ep[len - 1] == ' ')
            len--;
        if (!len)
            break;
        char one[OWNER_ENDPOINT_MAX], host[OWNER_ENDPOINT_MAX];
        snprintf(one, sizeof one, "%.*s", (int)len, ep);
        ep += len;
        const char *colon = strrchr(one, ':');
        size_t hl = colon && strncmp(one, "tcp://", 6) == 0 ? (size_t)(colon - one - 6) : 0;
        snprintf(host, sizeof host, "%.*s", (int)hl, one + 6);
        if (!hl || is_address(host)) { /* as it is: an address, or not tcp://host:port */
            n = add_unique(out, n, max, one);
            continue;
        }
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
        int rc = owner_resolver(host, colon + 1, &hints, &res);
        if (rc != 0) {
            log_warn("owner.resolve_failed", "host", LOG_S(host), "error", LOG_S(gai_strerror(rc)),
                     NULL);
            continue;
        }
        for (struct addrinfo *a = res; a; a = a->ai_next) {
            char addr[INET6_ADDRSTRLEN], e[OWNER_ENDPOINT_MAX];
            const void *p = a->ai_family == AF_INET
                                ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                                : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
            if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
                !inet_ntop(a->ai_family, p, addr, sizeof addr))
                continue;
            snprintf(e, sizeof e, a->ai_family == AF_INET ? "tcp://%s:%s" : "tcp://[%s]:%s", addr,
                     colon + 1);
            n = add_unique(out, n, max, e);
        }
        freeaddrinfo(res);
    }
    return n;
}

/* The intakes connected now. */
static int links(const owner_t *self)
{
    int n = 0;
    for (int i = 0; i < self->nsocks; i++)
        n += self->socks[i] != NULL;
    return n;
}

/* Says GONE on slot i and closes it. */
static void link_close(owner_t *self, int i)
{
    void *s = self->socks[i];
    zmq_send(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s, MAGIC, strlen(MAGIC), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s, "GONE", 4, ZMQ_DONTWAIT);
    int linger = 200; /* time for GONE to leave */
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(s);
    self->socks[i] = NULL;
}

/* Connects a DEALER to every intake AID_INTAKE_API names now (a name: every
 * address it resolves to, so every pod behind a headless Service) and
 * closes those no longer named (a pod gone); a name that does not resolve
 * now leaves what is connected alone. New links get READY at once. 0, or -1
 * when a socket cannot be made (logged). */
static int owner_sync(owner_t *self)
{
    char want[INTAKES_MAX][OWNER_ENDPOINT_MAX];
    int n = owner_endpoints(self->list, want, INTAKES_MAX), added = 0;
    self->next_resolve_ms = svc_now_ms() + self->resolve_ms;
    for (int i = 0; n > 0 && i < self->nsocks; i++) {
        int k = 0;
        while (self->socks[i] && k < n && strcmp(want[k], self->endpoints[i]) != 0)
            k++;
        if (self->socks[i] && k == n) {
            log_info("owner.intake_gone", "endpoint", LOG_S(self->endpoints[i]), NULL);
            link_close(self, i);
        }
    }
    for (int k = 0; k < n; k++) {
        int i = 0, free_slot = -1;
        for (; i < self->nsocks; i++) {
            if (self->socks[i] && strcmp(self->endpoints[i], want[k]) == 0)
                break;
            if (!self->socks[i] && free_slot < 0)
                free_slot = i;
        }
        if (i < self->nsocks)
            continue; /* connected already */
        if (free_slot < 0 && self->nsocks == INTAKES_MAX)
            break;
        int slot = free_slot >= 0 ? free_slot : self->nsocks;
        void *s = zmq_socket(self->zctx, ZMQ_DEALER);
        int linger = 0;
        if (s) /* not ZMQ_IMMEDIATE: the first READY waits for the connection */
            zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
        if (!s || curve_client_setup(s, "AID_INTAKE_PUBKEY", "AID_SERVICE") != 0 ||
            zmq_connect(s, want[k]) != 0) {
            log_error("owner.connect_failed", "endpoint", LOG_S(want[k]), "error",
                      LOG_S(zmq_strerror(errno)), NULL);
            if (s)
                zmq_close(s);
            return -1;
        }
        self->socks[slot] = s;
        snprintf(self->endpoints[slot], OWNER_ENDPOINT_MAX, "%s", want[k]);
        if (slot == self->nsocks)
            self->nsocks++;
        if (self->ops) /* after owner_new's first sync */
            log_info("owner.intake_added", "endpoint", LOG_S(want[k]), NULL);
        added++;
    }
    if (added)
        send_ready(self);
    return 0;
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
    /* and which owner of its process (a restart makes them in the same order) */
    static int made;
    snprintf(self->instance, sizeof self->instance, "%s@%s#%s.%d", service, host,
             config_str("AID_REPLICA", "1"), __atomic_add_fetch(&made, 1, __ATOMIC_SEQ_CST));
    snprintf(self->started, sizeof self->started, "%lld", (long long)svc_wall_us());
    self->heartbeat_ms = (int)config_int("AID_OWNER_HEARTBEAT_MS", 1000, 50, 60000);
    self->zctx = zctx;
    self->list = strdup(config_str("AID_INTAKE_API", "tcp://127.0.0.1:5601"));
    self->resolve_ms = (int)config_int("AID_OWNER_RESOLVE_MS", 5000, 100, 600000);
    if (!self->ops || !self->list || owner_sync(self) != 0) {
        owner_destroy(&self);
        return NULL;
    }
    log_info("owner.started", "service", LOG_S(service), "ops", LOG_S(ops), "intakes",
             LOG_I(links(self)), NULL);
    send_ready(self);
    return self;
}

void owner_destroy(owner_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    owner_t *self = *self_p;
    for (int i = 0; i < self->nsocks; i++)
        if (self->socks[i])
            link_close(self, i);
    free(self->ops);
    free(self->list);
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
        if (now >= self->next_resolve_ms && owner_sync(self) != 0)
            return -1;
        if (now >= self->next_beat_ms)
            send_ready(self);
        int64_t wait = (until < self->next_beat_ms ? until : self->next_beat_ms) - now;
        zmq_pollitem_t items[INTAKES_MAX];
        int slot[INTAKES_MAX], m = 0;
        for (int i = 0; i < self->nsocks; i++)
            if (self->socks[i]) {
                slot[m] = i;
                items[m++] = (zmq_pollitem_t){self->socks[i], 0, ZMQ_POLLIN, 0};
            }
        int rc = zmq_poll(items, m, wait > 0 ? (long)wait : 0);
        if (rc < 0)
            return errno == EINTR ? 0 : -1;
        for (int j = 0; j < m; j++)
            if (items[j].revents & ZMQ_POLLIN) {
                while (zmq_poll(&items[j], 1, 0) > 0 && (items[j].revents & ZMQ_POLLIN)) {
                    if (read_one(items[j].socket, req)) {
                        req->sock = slot[j];
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
    if (!s) { /* that intake went away meanwhile: its caller was answered by it */
        zmq_msg_close(&req->body);
        return -1;
    }
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
