/* serve.c — the owner loop: forwarded requests answered by this program's
 * operations (serve.h). */
#include "serve.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bus.h"
#include "config.h"
#include "log.h"
#include "opctx.h"
#include "owner.h"
#include "pgarr.h"
#include "svc.h"
#include "write.h"

#define OUTBOX_MAX 64

static volatile sig_atomic_t stop_asked; /* serve_stop */

typedef struct {
    char topic[64];
    void *body;
    size_t len;
} event_t;

typedef struct {
    store_t *store;
    cache_t *cache;
    void *pub;
    int64_t seq;                       /* this service's event stream */
    bool in_write;
    event_t outbox[OUTBOX_MAX];        /* a write's events, sent after COMMIT */
    int n_outbox;
    pgarr_t a_who, a_action, a_cases, a_detail; /* the read's R-AUDIT rows */
    int a_rows;
} serve_t;

static int audit(opctx_t *c, const char *action, const char *case_ids, const char *request_id)
{
    serve_t *s = c->host;
    char detail[PROTO_STR_MAX + 16];
    snprintf(detail, sizeof detail, "request %s", request_id && *request_id ? request_id : "-");
    pgarr_add_text(&s->a_who, c->client);
    pgarr_add_text(&s->a_action, action);
    pgarr_add_text(&s->a_cases, case_ids);
    pgarr_add_text(&s->a_detail, detail);
    s->a_rows++;
    return 0;
}

static void send_event(serve_t *s, const char *topic, const void *body, size_t len)
{
    if (bus_publish_seq(s->pub, topic, body, len, &s->seq) != 0)
        log_debug("bus.publish_dropped", "topic", LOG_S(topic), NULL);
}

static void publish(opctx_t *c, const char *topic, const void *body, size_t len)
{
    serve_t *s = c->host;
    if (!s->in_write) {
        send_event(s, topic, body, len);
        return;
    }
    event_t *e = s->n_outbox < OUTBOX_MAX ? &s->outbox[s->n_outbox] : NULL;
    if (!e || !(e->body = malloc(len ? len : 1))) {
        log_warn("bus.outbox_full", "topic", LOG_S(topic), NULL); /* only a delay */
        return;
    }
    memcpy(e->body, body, len);
    e->len = len;
    snprintf(e->topic, sizeof e->topic, "%s", topic);
    s->n_outbox++;
}

/* After a write: its events sent when it committed now, else dropped. */
static void outbox_flush(serve_t *s, bool send)
{
    for (int i = 0; i < s->n_outbox; i++) {
        if (send)
            send_event(s, s->outbox[i].topic, s->outbox[i].body, s->outbox[i].len);
        free(s->outbox[i].body);
    }
    s->n_outbox = 0;
    s->in_write = false;
}

static void audit_reset(serve_t *s)
{
    pgarr_reset(&s->a_who);
    pgarr_reset(&s->a_action);
    pgarr_reset(&s->a_cases);
    pgarr_reset(&s->a_detail);
    s->a_rows = 0;
}

/* Writes the request's R-AUDIT rows: in a write's own transaction, or for a
 * read in one of their own, committed (store_exec_once) before the answer. */
static int audit_write(serve_t *s, proto_error_t *err)
{
    const char *vals[4] = {pgarr_str(&s->a_who), pgarr_str(&s->a_action),
                           pgarr_str(&s->a_cases), pgarr_str(&s->a_detail)};
    if (!vals[0] || !vals[1] || !vals[2] || !vals[3])
        return write_unavailable(err);
    if (s->in_write) {
        PGresult *r = store_exec(s->store, "audit_reads", 4, vals);
        PQclear(r);
        return r ? 0 : write_unavailable(err);
    }
    store_outcome_t truth = STORE_ABORTED;
    PQclear(store_exec_once(s->store, "audit_reads", 4, vals, &truth));
    if (truth == STORE_COMMITTED)
        return 0;
    log_error("serve.audit_failed", "error", LOG_S(store_errmsg(s->store)), NULL);
    return truth == STORE_ABORTED ? write_unavailable(err) : write_outcome_unknown(err);
}

/* owner_handler_fn: the operation's handler with the caller's name. */
static int handle(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                  proto_error_t *err)
{
    serve_t *s = arg;
    const op_handler_t *op = op_find(proto_ops[req->op].name);
    if (!op)
        return proto_fail(err, PROTO_UNAVAILABLE, NULL, "this service does not serve that operation");
    opctx_t c = {.store = s->store, .cache = s->cache, .client = client, .audit = audit,
                 .publish = publish, .host = s};
    audit_reset(s);
    int rc = op->handle(&c, req, pk, err);
    if (rc == 0 && s->a_rows > 0)
        rc = audit_write(s, err);
    audit_reset(s);
    return rc;
}

/* Does the request envelope name an operation that writes? */
static bool is_write(const owner_request_t *req)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    proto_request_t pr;
    proto_error_t e;
    bool w = proto_request_parse(zmq_msg_data((zmq_msg_t *)&req->body),
                                 zmq_msg_size((zmq_msg_t *)&req->body), &u, &pr, &e) == 0 &&
             proto_ops[pr.op].writes;
    msgpack_unpacked_destroy(&u);
    return w;
}

int serve_run(const char *service)
{
    serve_t s = {0};
    char ops[1024];
    op_names(ops, sizeof ops);
    void *zctx = zmq_ctx_new();
    s.store = store_new(config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    s.cache = cache_new(config_str("AID_REDIS_URL", "redis://127.0.0.1:6379"));
    s.pub = zctx ? bus_pub_open(zctx, config_str("AID_BUS_PUB", "tcp://127.0.0.1:5603")) : NULL;
    s.seq = svc_wall_us(); /* restarts never reuse a sequence number */
    pgarr_init(&s.a_who);
    pgarr_init(&s.a_action);
    pgarr_init(&s.a_cases);
    pgarr_init(&s.a_detail);
    owner_t *owner = NULL;
    int rc = 1;
    if (!zctx || !s.store || !s.cache || !s.pub || !(owner = owner_new(zctx, service, ops))) {
        log_error("serve.start_failed", "service", LOG_S(service), NULL);
        goto out;
    }
    write_prepare(s.store);
    opctx_prepare_audit(s.store);
    op_prepare_all(s.store);
    store_ready(s.store); /* connect early; a request retries */
    /* a database that refused us (another PII key: common/pii.h) ends the service */
    while (!svc_stopping() && !stop_asked && !store_refused(s.store)) {
        owner_request_t req;
        int got = owner_recv(owner, 500, &req);
        if (got < 0) {
            usleep(100 * 1000);
            continue;
        }
        if (got == 0)
            continue;
        if (is_write(&req)) {
            s.in_write = true;
            owner_answer_write(owner, &req, s.store, handle, &s);
            outbox_flush(&s, req.committed);
        } else {
            owner_answer(owner, &req, handle, &s);
        }
    }
    rc = store_refused(s.store) ? 1 : 0;
out:
    owner_destroy(&owner);
    if (s.pub)
        zmq_close(s.pub);
    store_destroy(&s.store);
    cache_destroy(&s.cache);
    pgarr_free(&s.a_who);
    pgarr_free(&s.a_action);
    pgarr_free(&s.a_cases);
    pgarr_free(&s.a_detail);
    if (zctx)
        zmq_ctx_term(zctx);
    log_info("serve.stopped", "service", LOG_S(service), NULL);
    return rc;
}

static void *serve_thread(void *arg)
{
    serve_run(arg);
    return NULL;
}

int serve_start(const char *service, pthread_t *thread)
{
    if (pthread_create(thread, NULL, serve_thread, (void *)service) != 0) {
        log_error("serve.thread_failed", "service", LOG_S(service), NULL);
        return -1;
    }
    return 0;
}

void serve_stop(pthread_t thread)
{
    stop_asked = 1;
    pthread_join(thread, NULL);
}
