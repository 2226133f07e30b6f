/* owner.c — serving operations behind the front door: register, receive
 * forwarded requests with the caller's identity, reply (owner.h).
 *
 * Threads. A ZeroMQ socket is used by one thread only, so the owner has two:
 *   - its link thread (started by owner_new, joined by owner_destroy) owns
 *     every DEALER to the intakes: it says READY every AID_OWNER_HEARTBEAT_MS,
 *     re-resolves AID_INTAKE_API, passes each REQUEST it receives down an
 *     inproc PAIR pipe, sends each reply that comes up the pipe to the intake
 *     the request came from, and with each heartbeat says HOLDS with the tokens
 *     of the requests it passed on and has not yet seen answered;
 *   - the caller's thread (the service's loop: owner_recv, owner_reply,
 *     owner_answer) owns only the other end of the pipe.
 * So however long a handler runs (a trigger over 100,000 households, a
 * county's payroll run), the heartbeat goes on and intake keeps the owner and
 * waits for what it holds (services/intake/forward.h); a killed process says
 * nothing, and intake drops it after AID_OWNER_EXPIRY_MS as before. The
 * sockets are made in owner_new before the thread starts (pthread_create is
 * the memory barrier ZeroMQ asks for when a socket changes threads); the
 * thread blocks every signal, so SIGTERM reaches the service's own loop.
 * Pipe frames: down <pass_t> <request envelope>; up <pass_t> <reply
 * envelope>, or "STOP" (say GONE to every intake, close, end). */
#include "owner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
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
#define HELD_MAX 1024                   /* intake's own bound on requests in flight */

/* What travels with a request down the pipe and with its reply up it. */
typedef struct {
    int sock;                           /* the slot of the intake it came from */
    unsigned gen;                       /* that slot's connection (a slot is reused) */
    char token[24];
    char client[80];
} pass_t;

struct owner {
    void *zctx;
    void *pipe;                         /* the caller's end of the pipe */
    void *link_pipe;                    /* the link thread's end */
    pthread_t link;
    bool link_started;
    /* everything below: the link thread's alone once it runs */
    void *socks[INTAKES_MAX];           /* NULL: a free slot */
    unsigned gens[INTAKES_MAX];         /* bumped at each connect of the slot */
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
    pass_t held[HELD_MAX];              /* passed to the handler, not yet answered */
    int nheld;
};

/* Says HOLDS with the tokens of slot i's requests the service holds (maybe
 * none) and how many it holds from every intake, when it holds any. */
static void send_holds(owner_t *self, int i)
{
    char list[HELD_MAX * 24];
    size_t len = 0;
    for (int h = 0; h < self->nheld; h++)
        if (self->held[h].sock == i && self->held[h].gen == self->gens[i] &&
            len + strlen(self->held[h].token) + 2 < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? " " : "",
                                    self->held[h].token);
    if (!self->nheld)
        return;
    char total[16];
    snprintf(total, sizeof total, "%d", self->nheld);
    zmq_send(self->socks[i], "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(self->socks[i], MAGIC, strlen(MAGIC), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(self->socks[i], "HOLDS", 5, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(self->socks[i], list, len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(self->socks[i], total, strlen(total), ZMQ_DONTWAIT);
}

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
        send_holds(self, i);
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
    /* what it held from there: that intake answered its callers itself */
    int k = 0;
    for (int h = 0; h < self->nheld; h++)
        if (self->held[h].sock != i)
            self->held[k++] = self->held[h];
    self->nheld = k;
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
        self->gens[slot]++;
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

/* Reads one message of s: 1 when it was a REQUEST (p and body filled), 0 else. */
static int read_one(void *s, pass_t *p, zmq_msg_t *body)
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
             zmq_msg_size(&f[3]) > 0 && zmq_msg_size(&f[3]) < sizeof p->token &&
             zmq_msg_size(&f[4]) < sizeof p->client;
    if (ok) {
        snprintf(p->token, sizeof p->token, "%.*s", (int)zmq_msg_size(&f[3]),
                 (const char *)zmq_msg_data(&f[3]));
        snprintf(p->client, sizeof p->client, "%.*s", (int)zmq_msg_size(&f[4]),
                 (const char *)zmq_msg_data(&f[4]));
        zmq_msg_init(body);
        zmq_msg_move(body, &f[5]);
    } else if (n > 0) {
        log_warn("owner.bad_message", "frames", LOG_I(n), NULL);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return ok;
}

/* The link thread: a request from an intake is held and passed down the
 * pipe. */
static void link_request(owner_t *self, int slot)
{
    pass_t p = {.sock = slot, .gen = self->gens[slot]};
    zmq_msg_t body;
    if (!read_one(self->socks[slot], &p, &body))
        return;
    if (self->nheld < HELD_MAX)
        self->held[self->nheld++] = p; /* else only its HOLDS is missing: intake's bound */
    if (zmq_send(self->link_pipe, &p, sizeof p, ZMQ_SNDMORE) < 0 ||
        zmq_msg_send(&body, self->link_pipe, 0) < 0) /* no high-water mark: never blocks */
        log_error("owner.pipe_failed", "error", LOG_S(zmq_strerror(errno)), NULL);
    zmq_msg_close(&body);
}

/* The link thread: what came up the pipe. A reply goes to the intake its
 * request came from (if that connection is still the same) and is no
 * longer held. 1 on STOP, else 0. */
static int link_reply(owner_t *self)
{
    zmq_msg_t head, body;
    zmq_msg_init(&head);
    zmq_msg_init(&body);
    int stop = 0;
    if (zmq_msg_recv(&head, self->link_pipe, ZMQ_DONTWAIT) < 0)
        goto out;
    if (!zmq_msg_more(&head)) {
        stop = zmq_msg_size(&head) == 4 && memcmp(zmq_msg_data(&head), "STOP", 4) == 0;
        goto out;
    }
    if (zmq_msg_recv(&body, self->link_pipe, 0) < 0 || zmq_msg_size(&head) != sizeof(pass_t))
        goto out;
    pass_t p;
    memcpy(&p, zmq_msg_data(&head), sizeof p);
    for (int h = 0; h < self->nheld; h++)
        if (self->held[h].sock == p.sock && self->held[h].gen == p.gen &&
            strcmp(self->held[h].token, p.token) == 0) {
            self->held[h] = self->held[--self->nheld];
            break;
        }
    void *s = p.sock >= 0 && p.sock < self->nsocks && self->gens[p.sock] == p.gen
                  ? self->socks[p.sock]
                  : NULL;
    if (!s) /* that intake went away meanwhile: its caller was answered by it */
        goto out;
    if (zmq_send(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(s, MAGIC, strlen(MAGIC), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(s, "REPLY", 5, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(s, p.token, strlen(p.token), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_msg_send(&body, s, ZMQ_DONTWAIT) < 0) /* intake answers it "outcome unknown" */
        log_warn("owner.reply_dropped", "endpoint", LOG_S(self->endpoints[p.sock]), "error",
                 LOG_S(zmq_strerror(errno)), NULL);
out:
    zmq_msg_close(&head);
    zmq_msg_close(&body);
    return stop;
}

/* The link thread's loop, until STOP comes up the pipe or the context ends. */
static void *link_run(void *arg)
{
    owner_t *self = arg;
    for (;;) {
        int64_t now = svc_now_ms();
        if (now >= self->next_resolve_ms)
            owner_sync(self); /* a failure is logged; the links made stay */
        if (now >= self->next_beat_ms)
            send_ready(self);
        int64_t next = self->next_beat_ms < self->next_resolve_ms ? self->next_beat_ms
                                                                  : self->next_resolve_ms;
        zmq_pollitem_t items[INTAKES_MAX + 1] = {{self->link_pipe, 0, ZMQ_POLLIN, 0}};
        int slot[INTAKES_MAX + 1], m = 1;
        for (int i = 0; i < self->nsocks; i++)
            if (self->socks[i]) {
                slot[m] = i;
                items[m++] = (zmq_pollitem_t){self->socks[i], 0, ZMQ_POLLIN, 0};
            }
        int64_t wait = next - svc_now_ms();
        if (zmq_poll(items, m, wait > 0 ? (long)wait : 0) < 0) {
            if (errno == EINTR)
                continue;
            break; /* ETERM: the context is ending */
        }
        if (items[0].revents & ZMQ_POLLIN) {
            zmq_pollitem_t it = {self->link_pipe, 0, ZMQ_POLLIN, 0};
            int stop = 0;
            while (!stop && zmq_poll(&it, 1, 0) > 0 && (it.revents & ZMQ_POLLIN))
                stop = link_reply(self);
            if (stop)
                break;
        }
        for (int j = 1; j < m; j++)
            if (items[j].revents & ZMQ_POLLIN)
                while (self->socks[slot[j]] && zmq_poll(&items[j], 1, 0) > 0 &&
                       (items[j].revents & ZMQ_POLLIN))
                    link_request(self, slot[j]);
    }
    for (int i = 0; i < self->nsocks; i++)
        if (self->socks[i])
            link_close(self, i);
    zmq_close(self->link_pipe);
    self->link_pipe = NULL;
    return NULL;
}

/* The pipe between the caller's thread and the link thread; 0 or -1. */
static int pipe_open(owner_t *self)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://aid-owner-%p", (void *)self);
    self->pipe = zmq_socket(self->zctx, ZMQ_PAIR);
    self->link_pipe = zmq_socket(self->zctx, ZMQ_PAIR);
    int hwm = 0, linger = 0;
    for (int i = 0; i < 2; i++) {
        void *s = i ? self->link_pipe : self->pipe;
        if (!s || zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
            zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
            zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0)
            return -1;
    }
    return zmq_bind(self->pipe, ep) == 0 && zmq_connect(self->link_pipe, ep) == 0 ? 0 : -1;
}

/* Starts the link thread with every signal blocked. 0 or -1. */
static int link_start(owner_t *self)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&self->link, NULL, link_run, self);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    self->link_started = rc == 0;
    return rc == 0 ? 0 : -1;
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
    if (!self->ops || !self->list || owner_sync(self) != 0 || pipe_open(self) != 0) {
        log_error("owner.start_failed", "service", LOG_S(service), NULL);
        owner_destroy(&self);
        return NULL;
    }
    log_info("owner.started", "service", LOG_S(service), "ops", LOG_S(ops), "intakes",
             LOG_I(links(self)), NULL);
    send_ready(self);
    if (link_start(self) != 0) {
        log_error("owner.thread_failed", "service", LOG_S(service), NULL);
        owner_destroy(&self);
        return NULL;
    }
    return self;
}

void owner_destroy(owner_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    owner_t *self = *self_p;
    if (self->link_started) { /* the link thread says GONE and closes its sockets */
        zmq_send(self->pipe, "STOP", 4, ZMQ_DONTWAIT);
        pthread_join(self->link, NULL);
    } else {
        for (int i = 0; i < self->nsocks; i++)
            if (self->socks[i])
                link_close(self, i);
        if (self->link_pipe)
            zmq_close(self->link_pipe);
    }
    if (self->pipe)
        zmq_close(self->pipe);
    free(self->ops);
    free(self->list);
    free(self);
    *self_p = NULL;
}

int owner_recv(owner_t *self, int timeout_ms, owner_request_t *req)
{
    zmq_pollitem_t it = {self->pipe, 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(&it, 1, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    if (rc == 0)
        return 0;
    zmq_msg_t head;
    zmq_msg_init(&head);
    if (zmq_msg_recv(&head, self->pipe, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&head);
        return 0;
    }
    pass_t p;
    bool ok = zmq_msg_more(&head) && zmq_msg_size(&head) == sizeof p;
    if (ok)
        memcpy(&p, zmq_msg_data(&head), sizeof p);
    zmq_msg_close(&head);
    zmq_msg_init(&req->body);
    if (!ok || zmq_msg_recv(&req->body, self->pipe, 0) < 0) {
        zmq_msg_close(&req->body);
        return -1;
    }
    req->sock = p.sock;
    req->gen = p.gen;
    snprintf(req->token, sizeof req->token, "%s", p.token);
    snprintf(req->client, sizeof req->client, "%s", p.client);
    req->committed = false;
    return 1;
}

int owner_reply(owner_t *self, owner_request_t *req, const void *reply, size_t len)
{
    pass_t p = {.sock = req->sock, .gen = req->gen};
    snprintf(p.token, sizeof p.token, "%s", req->token);
    int rc = zmq_send(self->pipe, &p, sizeof p, ZMQ_SNDMORE) < 0 ||
                     zmq_send(self->pipe, reply, len, 0) < 0
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
