/* intake.c — the front door: the ROUTER socket (and ZAP in secure mode), the
 * envelope, limits per client key, authentication, the operation registry
 * and forwarding to the owners of other operations (forward.h), and the
 * loop that serves them.
 *
 * One pass of the loop: wait for a request, drain up to BATCH_MAX more,
 * answer errors and reads at once (audit.c holds those whose audit rows
 * must commit first), forward every other operation to its owner (writes
 * always: each runs exactly once in its owner's transaction, common/serve.c),
 * hand every report.submit to the report path's group commit
 * (services/report/submit.c), which commits them in one transaction and
 * answers them, then answer the held reads. */
#include "intake.h"
#include "door.h"
#include "submit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "bus.h"
#include "config.h"
#include "curve.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "svc.h"
#include "write.h"

/* Larger than the 64 KiB request limit, so an oversized request is still
 * read and answered too_large; beyond this libzmq drops the connection. */
/* In secure mode each frame also carries CURVE's 33 bytes (command name,
 * nonce, MAC, flags) and the limit applies to that: the 64 spare bytes keep
 * the same limit on the content in both modes. */
#define SOCKET_MAX_MSG ((1 << 20) + 64)
/* Client keys the rate limiter tracks at most (bounded memory; the key idle
 * longest is forgotten first, with a bucket that had refilled anyway). */
#define RATE_KEYS 4096

int64_t intake_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The report path's way out (services/report/submit.h): its callers are
 * this door's inbound requests. */
_Static_assert(BATCH_MAX <= SUBMIT_MAX, "a pass queues at most SUBMIT_MAX reports");
static void submit_reply_ok(void *door, void *caller, const char *id, const msgpack_sbuffer *res)
{
    intake_reply_ok(door, caller, id, res);
}
static void submit_reply_error(void *door, void *caller, const char *id, const proto_error_t *e)
{
    intake_reply_error(door, caller, id, e);
}
static void submit_publish(void *door, const char *topic, const void *body, size_t len)
{
    intake_publish_now(door, topic, body, len);
}

/* The series of the intake's metrics port (see common/metrics.h). */
static void metrics_open(intake_t *self)
{
    metrics_t *m = self->metrics = metrics_new("intake");
    self->m_requests = metrics_counter(m, "aid_requests_total", "requests received (any operation)");
    self->m_received = metrics_counter(m, "aid_received_total", "valid report.submit requests received");
    self->m_decided = metrics_counter(m, "aid_decided_total",
                                      "reports committed and answered ok (new, not duplicates)");
    self->m_errors = metrics_counter(m, "aid_errors_total", "error replies (any code)");
    self->m_depth = metrics_gauge(m, "aid_queue_depth", "requests drained by the last pass");
    self->m_batches = metrics_counter(m, "aid_batches_total", "group commits (one transaction each)");
    self->m_latency = metrics_histogram(m, "aid_latency_seconds",
                                        "report.submit: received to answered (after COMMIT)");
    self->m_limited = metrics_counter(m, "aid_rate_limited_total",
                                      "requests refused rate_limited (limits per client key)");
    /* /readyz: 503 while Postgres does not answer (intake cannot commit a report) */
    metrics_readiness(m, config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    metrics_listen(m);
}

static void prepare_statements(store_t *store)
{
    submit_prepare(store);
    intake_audit_prepare(store);
    op_prepare_all(store);
}

intake_t *intake_new(void)
{
    intake_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->inbound = calloc(BATCH_MAX, sizeof *self->inbound);
    self->audit.held = calloc(BATCH_MAX, sizeof *self->audit.held);
    self->zctx = zmq_ctx_new();
    self->store = store_new(config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    self->cache = cache_new(config_str("AID_REDIS_URL", "redis://127.0.0.1:6379"));
    /* Intake's statements find their rows through indexes (a case, a person,
     * a township, a queue). Their plans are cached per session, and one made
     * while the tables were empty (a fresh cluster) would otherwise scan
     * them whole once they have grown: sequential scans only as a last
     * resort. Generic plans always: left to choose, Postgres planned case.get's
     * five statements afresh at every call (a custom plan looked cheaper than
     * the generic one), 0.7 ms of planning for 0.24 ms of execution, and the
     * generic plans run as fast (make bench's 10,400 case.get, pg_stat_statements
     * with track_planning). */
    if (self->store)
        store_session(self->store,
                      "SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan");
    if (!self->inbound || !self->audit.held || !self->zctx || !self->store || !self->cache)
        goto fail;
    prepare_statements(self->store);
    metrics_open(self);
    const submit_door_t door = {self, submit_reply_ok, submit_reply_error, submit_publish};
    if (!(self->submit = submit_new(&door, self->store, self->cache, self->m_decided,
                                    self->m_batches, self->m_latency)))
        goto fail;
    const char *api = config_str("AID_INTAKE_BIND", config_str("AID_INTAKE_API", "tcp://127.0.0.1:5601"));
    self->router = zmq_socket(self->zctx, ZMQ_ROUTER);
    int64_t maxsz = SOCKET_MAX_MSG;
    int linger = 0, hwm = 10000;
    zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz);
    zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    /* secure mode: the ZAP handler runs before the bind, never an unprotected moment */
    if (curve_secure() &&
        !(self->zap = curve_server_setup(self->zctx, "AID_INTAKE", &self->router, 1)))
        goto fail;
    self->rl = ratelimit_from_config(RATE_KEYS);
    self->linger_ms = config_int("AID_INTAKE_LINGER_MS", INTAKE_LINGER_MS, 0, 1000);
    if (zmq_bind(self->router, api) != 0) {
        log_error("intake.bind_failed", "endpoint", LOG_S(api), "error",
                  LOG_S(zmq_strerror(errno)), NULL);
        goto fail;
    }
    if (!(self->fw = forward_new(self->router)))
        goto fail;
    self->pub = bus_pub_open_monitored(self->zctx,
                                       config_str("AID_BUS_PUB", "tcp://127.0.0.1:5603"),
                                       ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED,
                                       &self->pub_monitor);
    if (!self->pub)
        goto fail;
    self->seq = svc_wall_us(); /* restarts never reuse a sequence number */
    log_info("intake.started", "endpoint", LOG_S(api), NULL);
    return self;
fail:
    intake_destroy(&self);
    return NULL;
}

void intake_destroy(intake_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    intake_t *self = *self_p;
    forward_destroy(&self->fw); /* answers what waits for an owner */
    if (self->router)
        zmq_close(self->router);
    if (self->pub_monitor)
        zmq_close(self->pub_monitor);
    if (self->pub)
        zmq_close(self->pub);
    curve_zap_stop(&self->zap); /* after its sockets are closed, before the context */
    if (self->zctx)
        zmq_ctx_term(self->zctx);
    store_destroy(&self->store);
    cache_destroy(&self->cache);
    metrics_destroy(&self->metrics);
    free(self->inbound);
    free(self->audit.held); /* empty: intake_run answers every held read before it returns */
    intake_audit_free(self);
    submit_destroy(&self->submit);
    ratelimit_destroy(&self->rl);
    free(self);
    *self_p = NULL;
}

/* ---- socket I/O --------------------------------------------------------- */

/* The sender's name: the User-Id its ZAP handler gave the connection (secure
 * mode, common/curve.h: the key's name on the allow-list), "" in plaintext. */
static void client_of(const zmq_msg_t *m, char *out, size_t outsz)
{
    const char *who = zmq_msg_gets(m, "User-Id");
    snprintf(out, outsz, "%s", who ? who : "");
}

static bool rate_allow(intake_t *self, inbound_t *in, proto_error_t *e);

/* Reads one whole request (route frames, empty delimiter, body) without
 * blocking. 1 when read, 0 when none is waiting, 2 when its framing is wrong
 * (no delimiter, several body frames: the caller answers bad_request to the
 * sender), 3 when it was an owner's message (handled: forward.h), -1 on a
 * socket error. */
static int read_inbound(intake_t *self, inbound_t *in)
{
    zmq_msg_t frames[MAX_ROUTE_FRAMES + 2];
    int n = 0, more = 1, more_dropped = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->router, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&m);
            for (int i = 0; i < n; i++)
                zmq_msg_close(&frames[i]);
            return n == 0 && errno == EAGAIN ? 0 : -1;
        }
        more = zmq_msg_more(&m);
        if (n < MAX_ROUTE_FRAMES + 2) {
            frames[n++] = m;
        } else {
            zmq_msg_close(&m);
            more_dropped = 1;
        }
    }
    client_of(&frames[n - 1], in->client, sizeof in->client); /* a frame off the wire */
    /* route frames, one empty delimiter, then exactly one body frame */
    int delim = -1;
    for (int i = 0; i < n; i++)
        if (zmq_msg_size(&frames[i]) == 0) {
            delim = i;
            break;
        }
    if (!more_dropped && forward_is_owner(frames, n, delim)) {
        /* an owner's heartbeat costs nothing; anyone else's owner-framed
         * message costs a token like a request (a flood is limited) */
        proto_error_t limited;
        if (forward_may_own(in->client) || rate_allow(self, in, &limited))
            forward_owner_msg(self->fw, in->client, frames, n, delim, svc_now_ms());
        else
            for (int i = 0; i < n; i++)
                zmq_msg_close(&frames[i]);
        return 3;
    }
    if (delim < 1 || delim != n - 2 || more_dropped) {
        /* Still answer (never a silent drop): to the sender's identity, with
         * the delimiter only if it sent one. */
        log_warn("intake.malformed_envelope", "frames", LOG_I(n), NULL);
        in->nroute = delim >= 1 ? delim + 1 : 1;
        for (int i = 0; i < n; i++) {
            if (i < in->nroute)
                in->route[i] = frames[i];
            else
                zmq_msg_close(&frames[i]);
        }
        zmq_msg_init(&in->body);
        return 2;
    }
    in->nroute = delim + 1; /* keep the delimiter: replies echo it */
    for (int i = 0; i < in->nroute; i++)
        in->route[i] = frames[i];
    in->body = frames[n - 1];
    return 1;
}

static void send_reply(intake_t *self, inbound_t *in, const msgpack_sbuffer *buf)
{
    for (int i = 0; i < in->nroute; i++)
        zmq_msg_send(&in->route[i], self->router, ZMQ_SNDMORE);
    zmq_send(self->router, buf->data, buf->size, 0);
    in->nroute = 0;
    zmq_msg_close(&in->body);
}

void intake_reply_error(intake_t *self, inbound_t *in, const char *id, const proto_error_t *e)
{
    metric_add(self->m_errors, 1);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_reply_error(&pk, id, e);
    send_reply(self, in, &sb);
    msgpack_sbuffer_destroy(&sb);
    if (e->code != PROTO_NOT_FOUND && e->code != PROTO_RATE_LIMITED) /* that one: rate_allow */
        log_info("request.rejected", "code", LOG_S(proto_code_names[e->code]), "field",
                 LOG_S(e->field), NULL);
}

/* Sends {ok:true, result: <bytes of result>}. */
void intake_reply_ok(intake_t *self, inbound_t *in, const char *id, const msgpack_sbuffer *result)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_reply_ok_begin(&pk, id);
    msgpack_sbuffer_write(&sb, result->data, result->size);
    send_reply(self, in, &sb);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- what intake's own handlers see (common/opctx.h) ------------------ */

const char *intake_client(intake_t *in)
{
    return in->cur_client && in->cur_client[0] ? in->cur_client : "local";
}

opctx_t intake_ctx(intake_t *self)
{
    return (opctx_t){.store = self->store, .cache = self->cache, .client = intake_client(self),
                     .audit = intake_audit_read, .publish = intake_publish, .host = self};
}

/* Takes one token from the sender's bucket: true when it may go on; false
 * with e filled (rate_limited, and when to retry) when it has none left.
 * Only clients with a key are limited (secure mode); names listed in
 * AID_RATE_EXEMPT (the county's own services) never are. */
static bool rate_allow(intake_t *self, inbound_t *in, proto_error_t *e)
{
    if (!self->rl || !in->client[0] || config_list_has("AID_RATE_EXEMPT", in->client))
        return true;
    int64_t now = intake_now_us(), retry_us;
    if (ratelimit_allow(self->rl, in->client, now, &retry_us))
        return true;
    metric_add(self->m_limited, 1);
    self->rl_refused++;
    if (now - self->rl_logged_us >= 1000000) { /* a line a second, not one per request */
        log_warn("intake.rate_limited", "client", LOG_S(in->client), "refused",
                 LOG_I(self->rl_refused), NULL);
        self->rl_logged_us = now;
        self->rl_refused = 0;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "too many requests from this client: retry in %lld ms",
             (long long)((retry_us + 999) / 1000));
    proto_fail(e, PROTO_RATE_LIMITED, NULL, msg);
    return false;
}

/* Handles one request: answers it, or queues it (returns 1). */
static int dispatch(intake_t *self, inbound_t *in, int slot)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    proto_request_t req;
    proto_error_t e;
    int queued = 0;
    proto_error_t limited;
    int bad = proto_request_parse(zmq_msg_data(&in->body), zmq_msg_size(&in->body), &u, &req, &e);
    self->cur_client = in->client;
    if (!rate_allow(self, in, &limited)) /* well-formed or not, a request costs a token */
        intake_reply_error(self, in, req.id, &limited);
    else if (bad != 0)
        intake_reply_error(self, in, req.id, &e);
    else if (req.op == OP_REPORT_SUBMIT)
        queued = submit_queue(self->submit, in, in->t_us, &req, slot); /* batched: group commit */
    else {
        const op_handler_t *op = op_find(proto_ops[req.op].name);
        if (proto_ops[req.op].writes || forward_has(self->fw, proto_ops[req.op].name) || !op) {
            /* an owner serves it (forward.h); none connected: unavailable at once */
            if (forward_request(self->fw, in->route, &in->nroute, intake_client(self), req.op,
                                req.id, zmq_msg_data(&in->body), zmq_msg_size(&in->body),
                                svc_now_ms(), e.message, sizeof e.message) == 0) {
                zmq_msg_close(&in->body);
            } else {
                char why[sizeof e.message];
                snprintf(why, sizeof why, "%s", e.message);
                proto_fail(&e, PROTO_UNAVAILABLE, NULL, why);
                intake_reply_error(self, in, req.id, &e);
            }
        } else {
            intake_run_read(self, in, op, &req);
        }
    }
    msgpack_unpacked_destroy(&u);
    return queued;
}

int intake_run(intake_t *self)
{
    zmq_pollitem_t items[] = {{self->router, 0, ZMQ_POLLIN, 0}};
    store_ready(self->store); /* connect early; failures are retried per batch */
    int64_t hold_until = 0;
    while (!svc_stopping() && !store_refused(self->store)) {
        /* after a small group commit (svc_linger_ms) the next one waits
         * AID_INTAKE_LINGER_MS: what arrives meanwhile commits together, one
         * transaction's fixed cost for all of it; a busy door never waits */
        int64_t hold = hold_until - svc_now_ms();
        if (hold > 0)
            zmq_poll(NULL, 0, (long)hold);
        int wait_ms = forward_tick(self->fw, svc_now_ms());
        if (zmq_poll(items, 1, wait_ms < 500 ? (wait_ms > 0 ? wait_ms : 0) : 500) <= 0) {
            metric_set(self->m_depth, 0); /* idle */
            continue;
        }
        int queued = 0, got = 0;
        for (int i = 0; i < BATCH_MAX; i++) {
            inbound_t *in = &self->inbound[queued];
            int rc = read_inbound(self, in);
            if (rc == 0)
                break;
            if (rc < 0 || rc == 3)
                continue;
            in->t_us = intake_now_us();
            got++;
            if (rc == 2) {
                proto_error_t e;
                if (rate_allow(self, in, &e))
                    proto_fail(&e, PROTO_BAD_REQUEST, NULL,
                               "framing: send an empty delimiter frame, then one body frame");
                intake_reply_error(self, in, "", &e);
                continue;
            }
            queued += dispatch(self, in, queued);
        }
        metric_add(self->m_requests, got);
        metric_set(self->m_depth, got);
        metric_add(self->m_received, queued);
        if (queued) {
            submit_commit(self->submit, queued);
            hold_until = svc_now_ms() + svc_linger_ms(got, BATCH_MAX, self->linger_ms);
        }
        intake_flush_held(self); /* reads answered after their audit rows commit */
    }
    log_info("intake.stopped", NULL);
    /* a database the store refused (another PII key: logged by the check) */
    return store_refused(self->store) ? 1 : 0;
}
