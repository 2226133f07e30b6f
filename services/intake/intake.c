/* intake.c — the ROUTER front door with group commit.
 *
 * One pass of the loop: wait for a request, drain up to BATCH_MAX more,
 * answer what needs no write at once (errors, health, case.get), then commit
 * every report of the pass in one transaction and answer them all. `ok` is
 * sent only for what committed; a batch that failed is answered `unavailable`
 * and nothing of it is acknowledged (a retry with the same id is safe). When
 * the link breaks after COMMIT was sent, the truth is learned from the
 * transaction id taken with BEGIN (store_outcome: pg_xact_status, and a
 * `committed` checked in the rows, whose xmin is that id, since a crash
 * restart may hand the id out again): what committed is answered `ok`, and
 * what cannot be learned in time `unavailable` saying the outcome is unknown
 * — never "nothing was accepted".
 *
 * Redis is the fast path for idempotency (a retried id is answered without
 * touching Postgres); the requests table's primary key is the truth. */
#include "intake.h"
#include "forward.h"
#include "ops.h"
#include "report_store.h"
#include "synth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "bus.h"
#include "config.h"
#include "curve.h"
#include "idcard.h"
#include "log.h"
#include "metrics.h"
#include "mp.h"
#include "pgarr.h"
#include "pii.h"
#include "ratelimit.h"
#include "svc.h"
#include "write.h"

#define BATCH_MAX 256
#define MAX_ROUTE_FRAMES 8
/* Larger than the 64 KiB request limit, so an oversized request is still
 * read and answered too_large; beyond this libzmq drops the connection. */
/* In secure mode each frame also carries CURVE's 33 bytes (command name,
 * nonce, MAC, flags) and the limit applies to that: the 64 spare bytes keep
 * the same limit on the content in both modes. */
#define SOCKET_MAX_MSG ((1 << 20) + 64)
/* Client keys the rate limiter tracks at most (bounded memory; the key idle
 * longest is forgotten first, with a bucket that had refilled anyway). */
#define RATE_KEYS 4096

/* One request waiting for its reply: the ROUTER route frames and the body. */
typedef struct {
    zmq_msg_t route[MAX_ROUTE_FRAMES];
    int nroute;
    zmq_msg_t body;
    int64_t t_us;             /* when it was read (monotonic), for the latency histogram */
    char client[CURVE_NAME_MAX + 1]; /* the sender: its ZAP User-Id (secure mode), else "" */
} inbound_t;

/* A read's answer held until its audit rows are committed (R-AUDIT): the
 * reads of one loop iteration share one INSERT and one commit. */
typedef struct {
    zmq_msg_t route[MAX_ROUTE_FRAMES];
    int nroute;
    char *id;                 /* the request id, for an error answer */
    msgpack_sbuffer reply;    /* the whole answer, ready to send */
} held_t;

/* A report.submit that passed validation and waits for the batch commit. */
typedef struct {
    inbound_t *in;
    char id[PROTO_STR_MAX + 1];
    msgpack_sbuffer raw;      /* the body as received, keys sorted: idempotency hash */
    msgpack_sbuffer canon;    /* the canonical report, as_of filled in */
    uint64_t fingerprint;     /* FNV-1a of raw, for the Redis fast path */
    report_t *report;
    long long report_id, case_id;
    int outcome;              /* 0 new, 1 duplicate, 2 conflict */
} pending_t;

/* An event a write's handler published: sent once the write commits. */
#define OUTBOX_MAX 64
typedef struct {
    char topic[48];
    void *body;
    size_t len;
} outbox_t;

struct intake {
    void *zctx;
    void *router;             /* the API socket */
    void *pub;                /* bus publisher */
    void *pub_monitor;        /* connection events of pub */
    bool bus_up;              /* pub connected to the broker, per the monitor */
    curve_zap_t *zap;         /* the ZAP handler (secure mode), else NULL */
    forward_t *fw;            /* the owners of the operations intake forwards */
    ratelimit_t *rl;          /* token buckets per client key; NULL: no limits */
    int64_t rl_logged_us;     /* when rate limiting was last logged */
    int64_t rl_refused;       /* requests refused rate_limited since then */
    metric_t *m_limited;      /* requests refused rate_limited */
    store_t *store;
    cache_t *cache;
    int64_t seq;              /* report.committed stream sequence */
    inbound_t *inbound;       /* BATCH_MAX slots */
    pending_t *pending;       /* BATCH_MAX slots */
    report_store_t *filer;    /* the report filer's parameters, reused */
    pgarr_t ids;              /* lookup_committed's parameters, reused */
    pgbin_t raws;
    bool in_write;            /* a write's transaction is open: events wait */
    const char *cur_client;   /* the request being handled: its sender's name, or "" */
    bool audit_added;         /* the read being handled added audit rows */
    pgarr_t a_who, a_action, a_cases, a_detail; /* audit rows of held reads, per read */
    int a_rows;               /* reads in the a_* arrays */
    held_t *held;             /* BATCH_MAX slots */
    int n_held;
    int n_outbox;
    outbox_t outbox[OUTBOX_MAX];
    metrics_t *metrics;       /* served on AID_METRICS_PORT */
    metric_t *m_requests, *m_received, *m_decided, *m_errors, *m_depth, *m_batches, *m_latency;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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

static void ops_prepare_all(store_t *store);

static void prepare_statements(store_t *store)
{
    report_store_prepare(store);
    /* the batch's entries after a COMMIT whose answer was lost: $3 is the
     * low 32 bits of the batch's transaction id, the xmin of the rows it made */
    store_prepare(store, "committed_reports",
                  "SELECT r.request_id, r.report_id, r.case_id,"
                  "       CASE WHEN r.op <> 'report.submit' OR r.body_hash <> sha256(t.raw)"
                  "            THEN 'conflict'"
                  "            WHEN r.xmin::text = $3 THEN 'new' ELSE 'duplicate' END"
                  "  FROM unnest($1::text[], $2::bytea[]) AS t(id, raw)"
                  "  JOIN requests r ON r.request_id = t.id");
    /* R-AUDIT: reads of cases by clients, one row per read case (040_roles.sql);
     * $3 holds each read's cases as an array literal */
    store_prepare(store, "audit_reads",
                  "INSERT INTO audit_log (who, action, case_id, detail)"
                  " SELECT t.who, t.action, c, t.detail"
                  "   FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])"
                  "        AS t(who, action, cases, detail)"
                  "  CROSS JOIN LATERAL unnest(t.cases::bigint[]) AS c");
    write_prepare(store);
    synth_prepare(store);
    ops_prepare_all(store);
}

intake_t *intake_new(void)
{
    intake_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->inbound = calloc(BATCH_MAX, sizeof *self->inbound);
    self->pending = calloc(BATCH_MAX, sizeof *self->pending);
    self->held = calloc(BATCH_MAX, sizeof *self->held);
    self->filer = report_store_new();
    self->zctx = zmq_ctx_new();
    self->store = store_new(config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    self->cache = cache_new(config_str("AID_REDIS_URL", "redis://127.0.0.1:6379"));
    /* Intake's statements find their rows through indexes (a case, a person,
     * a township, a queue). Their plans are cached per session, and one made
     * while the tables were empty (a fresh cluster) would otherwise scan
     * them whole once they have grown: sequential scans only as a last
     * resort. (Planning every execution instead, force_custom_plan, made
     * planning the largest part of intake's database time: case.get is five
     * statements.) */
    if (self->store)
        store_session(self->store, "SET enable_seqscan = off");
    if (!self->inbound || !self->pending || !self->held || !self->filer || !self->zctx ||
        !self->store || !self->cache)
        goto fail;
    prepare_statements(self->store);
    metrics_open(self);
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
    free(self->pending);
    free(self->held); /* empty: intake_run answers every held read before it returns */
    pgarr_free(&self->a_who);
    pgarr_free(&self->a_action);
    pgarr_free(&self->a_cases);
    pgarr_free(&self->a_detail);
    pgarr_free(&self->ids);
    pgbin_free(&self->raws);
    report_store_destroy(&self->filer);
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

static void reply_error(intake_t *self, inbound_t *in, const char *id, const proto_error_t *e)
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
static void reply_ok(intake_t *self, inbound_t *in, const char *id, const msgpack_sbuffer *result)
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

/* ---- the operation registry ------------------------------------------- */

/* Filled by the INTAKE_OP constructors before main() runs; read-only after. */
#define MAX_OPS 64
static const intake_op_t *registry[MAX_OPS];
static int registry_count;

void intake_register(const intake_op_t *op)
{
    if (registry_count < MAX_OPS)
        registry[registry_count++] = op;
}

const intake_op_t *intake_find(const char *name)
{
    for (int i = 0; i < registry_count; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

static void ops_prepare_all(store_t *store)
{
    for (int i = 0; i < registry_count; i++)
        if (registry[i]->prepare)
            registry[i]->prepare(store);
}

store_t *intake_store(intake_t *in) { return in->store; }

const char *intake_client(intake_t *in)
{
    return in->cur_client && in->cur_client[0] ? in->cur_client : "local";
}

int intake_acts_for(intake_t *in, const char *department, const char *field,
                    proto_error_t *err)
{
    const char *who = in->cur_client;
    if (!who || !who[0])
        return 0; /* plaintext: no key, no name */
    if (curve_user_is_department(who, department) || config_list_has("AID_DEPARTMENT_ANY", who))
        return 0;
    log_warn("intake.unauthorized", "client", LOG_S(who), "department", LOG_S(department), NULL);
    char msg[160];
    snprintf(msg, sizeof msg, "this client may not act for the department %s", department);
    return proto_fail(err, PROTO_UNAUTHORIZED, field, msg);
}

int intake_acts_for_township(intake_t *in, char township[10], const char *field,
                             proto_error_t *err)
{
    const char *who = in->cur_client;
    char own[10];
    if (!who || !who[0] || config_list_has("AID_DEPARTMENT_ANY", who))
        return 0;
    if (curve_user_township(who, own) && (!township[0] || strcmp(township, own) == 0)) {
        memcpy(township, own, sizeof own);
        return 0;
    }
    log_warn("intake.unauthorized", "client", LOG_S(who), "township", LOG_S(township), NULL);
    return proto_fail(err, PROTO_UNAUTHORIZED, field,
                      "this client may not decide for that township: only the township's "
                      "own keys and the county's services may");
}

int intake_audit_read(intake_t *in, const char *action, const char *case_ids,
                      const char *request_id)
{
    char detail[PROTO_STR_MAX + 16];
    snprintf(detail, sizeof detail, "request %s", request_id && *request_id ? request_id : "-");
    pgarr_add_text(&in->a_who, intake_client(in));
    pgarr_add_text(&in->a_action, action);
    pgarr_add_text(&in->a_cases, case_ids);
    pgarr_add_text(&in->a_detail, detail);
    in->a_rows++;
    in->audit_added = true; /* the answer waits for the rows (flush_held) */
    return 0;
}
cache_t *intake_cache(intake_t *in) { return in->cache; }

/* Sends one event, giving its "seq" key the next number of intake's stream. */
static void send_event(intake_t *in, const char *topic, const void *body, size_t len)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (mp_unpack(body, len, &u) == MP_OK && u.data.type == MSGPACK_OBJECT_MAP) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        const msgpack_object_map *m = &u.data.via.map;
        msgpack_pack_map(&pk, m->size);
        for (uint32_t i = 0; i < m->size; i++) {
            msgpack_pack_object(&pk, m->ptr[i].key);
            if (mp_str_is(&m->ptr[i].key, "seq"))
                msgpack_pack_int64(&pk, ++in->seq);
            else
                msgpack_pack_object(&pk, m->ptr[i].val);
        }
        body = sb.data;
        len = sb.size;
    }
    if (bus_publish(in->pub, topic, body, len) != 0)
        log_debug("bus.publish_dropped", "topic", LOG_S(topic), NULL);
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&u);
}

void intake_publish(intake_t *in, const char *topic, const void *body, size_t len)
{
    if (!in->in_write) {
        send_event(in, topic, body, len);
        return;
    }
    if (in->n_outbox == OUTBOX_MAX) {
        /* only a delay: consumers catch up from Postgres */
        log_warn("bus.outbox_full", "topic", LOG_S(topic), NULL);
        return;
    }
    outbox_t *o = &in->outbox[in->n_outbox];
    o->body = malloc(len ? len : 1);
    if (!o->body)
        return;
    memcpy(o->body, body, len);
    o->len = len;
    snprintf(o->topic, sizeof o->topic, "%s", topic);
    in->n_outbox++;
}

/* After a write's COMMIT (send) or rollback (drop): empties the outbox. */
static void outbox_flush(intake_t *in, bool send)
{
    for (int i = 0; i < in->n_outbox; i++) {
        if (send)
            send_event(in, in->outbox[i].topic, in->outbox[i].body, in->outbox[i].len);
        free(in->outbox[i].body);
    }
    in->n_outbox = 0;
    in->in_write = false;
}

bool intake_bus_connected(intake_t *in)
{
    /* drain the monitor: event frames are a 16-bit id + 32-bit value, then an address */
    for (int i = 0; i < 1000; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, in->pub_monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        if (zmq_msg_size(&m) >= 2) {
            uint16_t ev;
            memcpy(&ev, zmq_msg_data(&m), 2);
            in->bus_up = ev == ZMQ_EVENT_CONNECTED;
        }
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (more) {
            zmq_msg_init(&m);
            zmq_msg_recv(&m, in->pub_monitor, 0);
            zmq_msg_close(&m);
        }
    }
    return in->bus_up;
}

int intake_unavailable(proto_error_t *err) { return write_unavailable(err); }

int intake_outcome_unknown(proto_error_t *err) { return write_outcome_unknown(err); }

/* Wakes eligibility after a write that may have filed a report. */
static void publish_wakeup(intake_t *self)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    mp_pack_kv_int(&pk, "seq", ++self->seq);
    bus_publish(self->pub, "report.committed", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Keeps the answer to in (request id, result) until flush_held: 0, or -1
 * when it cannot be kept (no memory), and then it is not answered yet. */
static int hold_reply(intake_t *self, inbound_t *in, const char *id,
                      const msgpack_sbuffer *result)
{
    held_t *h = &self->held[self->n_held];
    h->id = strdup(id ? id : "");
    if (!h->id)
        return -1;
    msgpack_sbuffer_init(&h->reply);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &h->reply, msgpack_sbuffer_write);
    proto_reply_ok_begin(&pk, id);
    msgpack_sbuffer_write(&h->reply, result->data, result->size);
    for (int i = 0; i < in->nroute; i++) {
        zmq_msg_init(&h->route[i]);
        zmq_msg_move(&h->route[i], &in->route[i]);
    }
    h->nroute = in->nroute;
    in->nroute = 0;
    zmq_msg_close(&in->body);
    self->n_held++;
    return 0;
}

/* Commits the audit rows of the held reads (one statement, one commit), then
 * answers them; when the rows cannot be written, every held read is answered
 * unavailable instead (R-AUDIT: no answer without its audit row). */
static void flush_held(intake_t *self)
{
    if (self->n_held == 0 && self->a_rows == 0)
        return;
    const char *vals[4] = {pgarr_str(&self->a_who), pgarr_str(&self->a_action),
                           pgarr_str(&self->a_cases), pgarr_str(&self->a_detail)};
    /* in a transaction of its own with its id: rows committed although the
     * answer was lost still answer the reads (store_exec_once) */
    store_outcome_t truth = STORE_ABORTED;
    if (vals[0] && vals[1] && vals[2] && vals[3] && store_ready(self->store))
        PQclear(store_exec_once(self->store, "audit_reads", 4, vals, &truth));
    if (truth != STORE_COMMITTED)
        log_error("intake.audit_failed", "reads", LOG_I(self->n_held), "error",
                  LOG_S(store_errmsg(self->store)), NULL);
    for (int k = 0; k < self->n_held; k++) {
        held_t *h = &self->held[k];
        if (truth == STORE_COMMITTED) {
            for (int i = 0; i < h->nroute; i++)
                zmq_msg_send(&h->route[i], self->router, ZMQ_SNDMORE);
            zmq_send(self->router, h->reply.data, h->reply.size, 0);
        } else {
            inbound_t in = {.nroute = h->nroute};
            for (int i = 0; i < h->nroute; i++) {
                zmq_msg_init(&in.route[i]);
                zmq_msg_move(&in.route[i], &h->route[i]);
            }
            zmq_msg_init(&in.body);
            proto_error_t e;
            if (truth == STORE_ABORTED)
                intake_unavailable(&e);
            else
                intake_outcome_unknown(&e);
            reply_error(self, &in, h->id, &e);
        }
        for (int i = 0; i < h->nroute; i++)
            zmq_msg_close(&h->route[i]);
        msgpack_sbuffer_destroy(&h->reply);
        free(h->id);
    }
    self->n_held = self->a_rows = 0;
    pgarr_reset(&self->a_who);
    pgarr_reset(&self->a_action);
    pgarr_reset(&self->a_cases);
    pgarr_reset(&self->a_detail);
}

static void run_read(intake_t *self, inbound_t *in, const intake_op_t *op,
                     const proto_request_t *req)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_error_t e;
    self->audit_added = false;
    if (op->handle(self, req, &pk, &e) != 0)
        reply_error(self, in, req->id, &e);
    else if (!self->audit_added)
        reply_ok(self, in, req->id, &sb);
    else if (hold_reply(self, in, req->id, &sb) != 0) {
        intake_unavailable(&e);
        reply_error(self, in, req->id, &e);
    }
    msgpack_sbuffer_destroy(&sb);
}

typedef struct {
    intake_t *self;
    const intake_op_t *op;
    const proto_request_t *req;
} write_ctx_t;

/* write_fn of an op's handler: the events it publishes wait for COMMIT. */
static int write_handler(void *arg, msgpack_packer *pk, proto_error_t *err)
{
    write_ctx_t *c = arg;
    c->self->in_write = true;
    return c->op->handle(c->self, c->req, pk, err);
}

/* A write in its own transaction, exactly once by its id (common/write.h). */
static void run_write(intake_t *self, inbound_t *in, const intake_op_t *op,
                      const proto_request_t *req)
{
    proto_error_t e;
    msgpack_sbuffer reply;
    msgpack_sbuffer_init(&reply);
    write_ctx_t c = {self, op, req};
    bool fresh = false;
    if (write_once(self->store, req->id, op->name, req->body, write_handler, &c, &reply, &fresh,
                   &e) == 0) {
        reply_ok(self, in, req->id, &reply);
        if (fresh) {
            outbox_flush(self, true);
            publish_wakeup(self);
        }
    } else {
        outbox_flush(self, false);
        reply_error(self, in, req->id, &e);
    }
    msgpack_sbuffer_destroy(&reply);
}

/* ---- report.submit with group commit ----------------------------------- */

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* Validates a report and queues it; answers at once when invalid. */
static int queue_report(intake_t *self, inbound_t *in, const proto_request_t *req, int slot)
{
    proto_error_t e;
    schema_err_t se;
    if (!req->body) {
        proto_fail(&e, PROTO_INVALID_FIELD, "body", "report.submit needs a body");
        reply_error(self, in, req->id, &e);
        return 0;
    }
    pending_t *p = &self->pending[slot];
    memset(p, 0, sizeof *p);
    p->report = malloc(sizeof *p->report);
    if (!p->report) {
        proto_fail(&e, PROTO_UNAVAILABLE, NULL, "out of memory, retry later");
        reply_error(self, in, req->id, &e);
        return 0;
    }
    if (proto_report_decode(req->body, date_today(), p->report, &se) != 0) {
        proto_fail(&e, PROTO_INVALID_FIELD, se.field, se.message);
        reply_error(self, in, req->id, &e);
        free(p->report);
        return 0;
    }
    p->in = in;
    snprintf(p->id, sizeof p->id, "%s", req->id);
    msgpack_packer pk;
    msgpack_sbuffer_init(&p->raw);
    msgpack_packer_init(&pk, &p->raw, msgpack_sbuffer_write);
    mp_pack_sorted(&pk, req->body);
    msgpack_sbuffer_init(&p->canon);
    msgpack_packer_init(&pk, &p->canon, msgpack_sbuffer_write);
    proto_report_encode(p->report, &pk);
    p->fingerprint = fnv1a(p->raw.data, p->raw.size);
    return 1;
}

static void pending_free(pending_t *p)
{
    msgpack_sbuffer_destroy(&p->raw);
    msgpack_sbuffer_destroy(&p->canon);
    free(p->report);
    p->report = NULL;
}

/* Redis fast path: a retried id answered without Postgres. Marks the
 * entries it settles (outcome set, report/case ids known). One MGET per
 * MGET_CHUNK entries (a fixed arity, padded by repeating the last id). */
#define MGET_CHUNK 16
#define K8 "idem:%s idem:%s idem:%s idem:%s idem:%s idem:%s idem:%s idem:%s"
static void lookup_cached(intake_t *self, pending_t *ps, int n)
{
    if (!cache_ready(self->cache))
        return;
    for (int lo = 0; lo < n; lo += MGET_CHUNK) {
        const char *k[MGET_CHUNK];
        for (int j = 0; j < MGET_CHUNK; j++)
            k[j] = ps[lo + j < n ? lo + j : n - 1].id;
        redisReply *r = cache_cmd(self->cache, "MGET " K8 " " K8, k[0], k[1], k[2], k[3], k[4],
                                  k[5], k[6], k[7], k[8], k[9], k[10], k[11], k[12], k[13],
                                  k[14], k[15]);
        if (!r)
            return;
        for (int j = 0; r->type == REDIS_REPLY_ARRAY && j < MGET_CHUNK && lo + j < n; j++) {
            const redisReply *e = j < (int)r->elements ? r->element[j] : NULL;
            unsigned long long fp;
            long long rid, cid;
            if (e && e->type == REDIS_REPLY_STRING &&
                sscanf(e->str, "%llx %lld %lld", &fp, &rid, &cid) == 3) {
                pending_t *p = &ps[lo + j];
                p->outcome = fp == p->fingerprint ? 1 : 2;
                p->report_id = rid;
                p->case_id = cid;
            }
        }
        freeReplyObject(r);
    }
}
#undef K8

/* Remembers the batch's new ids in Redis: one pipelined round trip. */
static void remember_cached(intake_t *self, pending_t *ps, int n)
{
    if (!cache_ready(self->cache))
        return;
    enum { KEY = PROTO_STR_MAX + 8, VAL = 64 };
    char *buf = malloc((size_t)n * (KEY + VAL));
    const char **argv = malloc((size_t)n * 5 * sizeof *argv);
    const char *const **argvs = malloc((size_t)n * sizeof *argvs);
    const size_t **lens = calloc((size_t)n, sizeof *lens);
    int *argcs = malloc((size_t)n * sizeof *argcs);
    int m = 0;
    for (int i = 0; buf && argv && argvs && lens && argcs && i < n; i++) {
        if (ps[i].outcome != 0 || ps[i].report_id == 0)
            continue;
        char *key = buf + (size_t)m * (KEY + VAL), *val = key + KEY;
        snprintf(key, KEY, "idem:%s", ps[i].id);
        snprintf(val, VAL, "%llx %lld %lld", (unsigned long long)ps[i].fingerprint,
                 ps[i].report_id, ps[i].case_id);
        const char **a = argv + (size_t)m * 5;
        a[0] = "SET", a[1] = key, a[2] = val, a[3] = "EX", a[4] = "86400";
        argvs[m] = a;
        argcs[m] = 5;
        m++;
    }
    if (m)
        cache_pipeline(self->cache, m, argcs, argvs, lens); /* a miss only costs a lookup */
    free(buf);
    free(argv);
    free(argvs);
    free(lens);
    free(argcs);
}

/* ---- the batch's statements: one pipelined round trip ------------------- */

typedef struct {
    const char *key;
    int entry;
} keyref_t;

static int keyref_cmp(const void *a, const void *b)
{
    return strcmp(((const keyref_t *)a)->key, ((const keyref_t *)b)->key);
}

/* Marks linked[q] for every unsettled entry that shares its request id or one of
 * its members' ID numbers with another entry of the batch: those go through
 * aid_submit_report one by one, in order, so a household reported twice in
 * one batch joins its case exactly as it would in two batches. */
static void mark_linked(const pending_t *ps, const int *unsettled, int nq, bool *linked)
{
    int cap = nq * (REPORT_MAX_MEMBERS + 1), nk = 0;
    keyref_t *keys = malloc((size_t)(cap ? cap : 1) * sizeof *keys);
    for (int q = 0; q < nq; q++)
        linked[q] = keys == NULL; /* no memory: all one by one, still correct */
    if (!keys)
        return;
    for (int pass = 0; pass < 2; pass++) { /* request ids, then ID numbers */
        nk = 0;
        for (int q = 0; q < nq; q++) {
            const pending_t *p = &ps[unsettled[q]];
            if (pass == 0)
                keys[nk++] = (keyref_t){p->id, q};
            else
                for (int m = 0; m < p->report->n_members; m++)
                    keys[nk++] = (keyref_t){p->report->members[m].id_number, q};
        }
        qsort(keys, (size_t)nk, sizeof *keys, keyref_cmp);
        for (int k = 1; k < nk; k++)
            if (!strcmp(keys[k].key, keys[k - 1].key) && keys[k].entry != keys[k - 1].entry)
                linked[keys[k].entry] = linked[keys[k - 1].entry] = true;
    }
    free(keys);
}

/* The filing of a pending report (report_store.h). */
static report_filing_t filing_of(const pending_t *p)
{
    return (report_filing_t){.request_id = p->id, .report = p->report, .raw = p->raw.data,
                             .raw_len = p->raw.size, .body = p->canon.data,
                             .body_len = p->canon.size};
}

/* Sends the aid_submit_reports call for the independent entries. */
static int send_batch(intake_t *self, PGconn *conn, pending_t *ps, const int *unsettled,
                      const bool *linked, int nq)
{
    report_store_batch_begin(self->filer);
    for (int q = 0; q < nq; q++) {
        if (linked[q])
            continue;
        report_filing_t f = filing_of(&ps[unsettled[q]]);
        report_store_batch_add(self->filer, &f);
    }
    return report_store_batch_send(self->filer, conn) == 0;
}

/* Sends one aid_submit_report call (a linked entry). */
static int send_one(intake_t *self, PGconn *conn, const pending_t *p)
{
    report_filing_t f = filing_of(p);
    return report_store_send(self->filer, conn, &f) == 0;
}

static void set_outcome(pending_t *p, PGresult *res, int row, int col)
{
    report_filed_t out;
    report_store_result(res, row, col, &out);
    p->report_id = out.report_id;
    p->case_id = out.case_id;
    p->outcome = (int)out.outcome;
}

/* After the batch's transaction committed: the entries whose results were
 * lost with the link (report_id still 0) are looked up by request id — the
 * row this transaction inserted (its xmin is the batch's transaction id) is
 * `new`, one that was there before is `duplicate` or `conflict`, as
 * aid_submit_reports would have answered. Entries it cannot settle stay
 * unsettled (answered outcome unknown). */
static int lookup_committed(intake_t *self, pending_t *ps, const int *unsettled, int nq,
                            uint64_t xid)
{
    int n = 0;
    pgarr_reset(&self->ids);
    pgbin_reset(&self->raws);
    for (int q = 0; q < nq; q++)
        n += ps[unsettled[q]].report_id == 0 && ps[unsettled[q]].outcome == 0;
    if (!n)
        return 0;
    for (int q = 0; q < nq; q++) {
        const pending_t *p = &ps[unsettled[q]];
        if (p->report_id || p->outcome)
            continue;
        pgarr_add_text(&self->ids, p->id);
        pgbin_add(&self->raws, p->raw.data, p->raw.size);
    }
    char x32[24];
    snprintf(x32, sizeof x32, "%llu", (unsigned long long)(xid & 0xffffffffu));
    int len = 0;
    const char *vals[3] = {pgarr_str(&self->ids), pgbin_data(&self->raws, &len), x32};
    int lens[3] = {0, len, 0}, fmts[3] = {0, 1, 0};
    PGresult *r = vals[0] && vals[1] && store_ready(self->store)
                      ? store_exec_bin(self->store, "committed_reports", 3, vals, lens, fmts)
                      : NULL;
    for (int row = 0; r && row < PQntuples(r); row++) {
        const char *id = PQgetvalue(r, row, 0);
        for (int q = 0; q < nq; q++) {
            pending_t *p = &ps[unsettled[q]];
            if (!p->report_id && !p->outcome && !strcmp(p->id, id)) {
                set_outcome(p, r, row, 1);
                break;
            }
        }
    }
    if (!r)
        log_warn("intake.lookup_failed", "reports", LOG_I(n), "error",
                 LOG_S(store_errmsg(self->store)), NULL);
    int rc = r ? 0 : -1;
    PQclear(r);
    return rc;
}

/* The batch being resolved, for verify_batch. */
typedef struct {
    intake_t *self;
    pending_t *ps;
    const int *unsettled;
    int nq;
} batch_ref_t;

static void unsettle(pending_t *ps, const int *unsettled, int nq)
{
    for (int q = 0; q < nq; q++) {
        ps[unsettled[q]].outcome = 0;
        ps[unsettled[q]].report_id = ps[unsettled[q]].case_id = 0;
    }
}

/* store_verify_fn of a batch whose transaction is over (pg_xact_status said
 * committed, which after a crash restart may be another transaction's): it
 * committed when one of its entries' rows was made by it (xmin = xid). The
 * lookup also gives every entry its answer; when every entry has a row made
 * before (duplicates, conflicts), those rows are the answer either way. */
static int verify_batch(store_t *store, uint64_t xid, void *arg)
{
    (void)store;
    batch_ref_t *b = arg;
    unsettle(b->ps, b->unsettled, b->nq);
    if (lookup_committed(b->self, b->ps, b->unsettled, b->nq, xid) != 0)
        return -1;
    int found = 0;
    for (int q = 0; q < b->nq; q++) {
        const pending_t *p = &b->ps[b->unsettled[q]];
        if (p->outcome == 0 && p->report_id)
            return 1; /* a row this transaction made */
        found += p->outcome != 0;
    }
    return found == b->nq;
}

/* Commits every unsettled entry in ONE round trip. In pipeline mode it
 * sends BEGIN with the transaction id (store_pipe_begin), one
 * aid_submit_reports for the entries independent of each other, one
 * aid_submit_report per linked entry (see mark_linked), a flush request (the
 * results are sent before COMMIT runs), COMMIT and a sync, then reads every
 * result. Returns the truth: STORE_COMMITTED (the entries' outcomes set; an
 * entry whose result is lost is looked up), STORE_ABORTED (nothing was kept:
 * rolled back) or STORE_UNKNOWN (the link broke after COMMIT was sent and
 * the outcome could not be learned, store_outcome). */
static store_outcome_t submit_all(intake_t *self, pending_t *ps, int n)
{
    PGconn *conn = store_conn(self->store);
    if (!conn || PQenterPipelineMode(conn) != 1)
        return STORE_ABORTED;
    int unsettled[BATCH_MAX], nq = 0, nb = 0;
    bool linked[BATCH_MAX];
    for (int i = 0; i < n; i++)
        if (ps[i].outcome == 0 && ps[i].report)
            unsettled[nq++] = i;
    mark_linked(ps, unsettled, nq, linked);
    for (int q = 0; q < nq; q++)
        nb += !linked[q];
    bool sent = store_pipe_begin(self->store), commit_sent = false, committed = false;
    if (sent && nb)
        sent = send_batch(self, conn, ps, unsettled, linked, nq);
    for (int q = 0; sent && q < nq; q++)
        if (linked[q])
            sent = send_one(self, conn, &ps[unsettled[q]]);
    sent = sent && PQsendFlushRequest(conn) == 1 &&
           (commit_sent = PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1) &&
           PQpipelineSync(conn) == 1;
    bool ok = sent, piped = true; /* piped: every statement succeeded */
    uint64_t xid = 0;
    if (sent) {
        xid = store_pipe_xid(self->store, &piped); /* BEGIN, the transaction id */
        PGresult *r;
        if (nb) {
            /* one row per independent entry: its k (1-based, in unsettled order) */
            int map[BATCH_MAX], k = 0;
            for (int q = 0; q < nq; q++)
                if (!linked[q])
                    map[k++] = unsettled[q];
            r = store_pipe_next(self->store, &piped);
            if (!r || PQntuples(r) != nb)
                ok = false;
            for (int row = 0; ok && row < PQntuples(r); row++) {
                int ord = atoi(PQgetvalue(r, row, 0));
                if (ord < 1 || ord > nb)
                    ok = false;
                else
                    set_outcome(&ps[map[ord - 1]], r, row, 1);
            }
            PQclear(r);
        }
        for (int q = 0; q < nq; q++) {
            if (!linked[q])
                continue;
            PGresult *res = store_pipe_next(self->store, &piped);
            if (res && PQntuples(res) == 1)
                set_outcome(&ps[unsettled[q]], res, 0, 0);
            else
                ok = false;
            PQclear(res);
        }
        r = store_pipe_next(self->store, &piped); /* COMMIT */
        committed = piped && r && !strcmp(PQcmdStatus(r), "COMMIT");
        ok = ok && committed;
        PQclear(r);
    }
    if (store_pipe_end(self->store, sent, ok))
        return STORE_COMMITTED;
    /* Failed: rolled back, or the link broke; a COMMIT that answered COMMIT
     * holds whatever failed after it (the sync: the link lost just then) */
    log_warn("intake.pipeline_failed", "error",
             LOG_S(!piped ? store_errmsg(self->store) : PQerrorMessage(conn)), NULL);
    batch_ref_t ref = {self, ps, unsettled, nq};
    store_outcome_t truth = committed ? STORE_COMMITTED
                                      : store_outcome(self->store, xid, commit_sent,
                                                      verify_batch, &ref);
    if (truth == STORE_COMMITTED) {
        lookup_committed(self, ps, unsettled, nq, xid);
        return truth;
    }
    unsettle(ps, unsettled, nq); /* nothing of it is known to have happened */
    return truth;
}

static void answer_report(intake_t *self, pending_t *p)
{
    if (p->outcome == 2) {
        proto_error_t e;
        proto_fail(&e, PROTO_CONFLICT, "id",
                   "this request id was already used with a different body");
        reply_error(self, p->in, p->id, &e);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    char buf[48];
    msgpack_pack_map(&pk, 3);
    snprintf(buf, sizeof buf, "report-%lld", p->report_id);
    mp_pack_kv_str(&pk, "report_id", buf);
    snprintf(buf, sizeof buf, "case-%lld", p->case_id);
    mp_pack_kv_str(&pk, "case_id", buf);
    mp_pack_kv_bool(&pk, "duplicate", p->outcome == 1);
    reply_ok(self, p->in, p->id, &sb);
    msgpack_sbuffer_destroy(&sb);
    if (p->outcome == 0)
        log_info("report.accepted", "report_id", LOG_I(p->report_id),
                 "case_id", LOG_I(p->case_id), "members", LOG_I(p->report->n_members),
                 "head", LOG_ID(p->report->members[0].id_number), NULL);
}

/* Tells eligibility that reports were committed (a wake-up; it reads the
 * reports themselves from Postgres). */
static void publish_committed(intake_t *self, pending_t *ps, int n)
{
    long long last = 0;
    int fresh = 0;
    for (int i = 0; i < n; i++)
        if (ps[i].outcome == 0 && ps[i].report_id) {
            fresh++;
            if (ps[i].report_id > last)
                last = ps[i].report_id;
        }
    if (!fresh)
        return;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    mp_pack_kv_int(&pk, "seq", ++self->seq);
    mp_pack_kv_int(&pk, "count", fresh);
    mp_pack_kv_int(&pk, "last_report", last);
    bus_publish(self->pub, "report.committed", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

static void commit_batch(intake_t *self, int n)
{
    pending_t *ps = self->pending;
    lookup_cached(self, ps, n);
    int unsettled = 0;
    for (int i = 0; i < n; i++)
        unsettled += ps[i].outcome == 0;
    store_outcome_t truth = STORE_COMMITTED;
    if (unsettled) {
        /* BEGIN … COMMIT in one pipelined round trip (submit_all) */
        truth = store_ready(self->store) ? submit_all(self, ps, n) : STORE_ABORTED;
        if (truth != STORE_COMMITTED) {
            log_warn("intake.batch_failed", "reports", LOG_I(unsettled), "outcome",
                     LOG_S(truth == STORE_UNKNOWN ? "unknown" : "aborted"), "error",
                     LOG_S(store_errmsg(self->store)), NULL);
        }
    }
    int64_t now = now_us();
    for (int i = 0; i < n; i++) {
        metric_observe_us(self->m_latency, now - ps[i].in->t_us);
        /* settled: from the cache, or by the committed transaction (its own
         * result, or looked up when the link broke after COMMIT) */
        if (ps[i].outcome != 0 || (truth == STORE_COMMITTED && ps[i].report_id)) {
            if (ps[i].outcome == 0)
                metric_add(self->m_decided, 1);
            answer_report(self, &ps[i]);
        } else {
            proto_error_t e;
            if (truth == STORE_ABORTED)
                proto_fail(&e, PROTO_UNAVAILABLE, NULL,
                           "database unavailable: nothing was accepted, retry with the same id");
            else
                intake_outcome_unknown(&e);
            reply_error(self, ps[i].in, ps[i].id, &e);
        }
    }
    if (truth == STORE_COMMITTED && unsettled) {
        metric_add(self->m_batches, 1);
        publish_committed(self, ps, n);
        remember_cached(self, ps, n);
    }
    for (int i = 0; i < n; i++)
        pending_free(&ps[i]);
}

/* Takes one token from the sender's bucket: true when it may go on; false
 * with e filled (rate_limited, and when to retry) when it has none left.
 * Only clients with a key are limited (secure mode); names listed in
 * AID_RATE_EXEMPT (the county's own services) never are. */
static bool rate_allow(intake_t *self, inbound_t *in, proto_error_t *e)
{
    if (!self->rl || !in->client[0] || config_list_has("AID_RATE_EXEMPT", in->client))
        return true;
    int64_t now = now_us(), retry_us;
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
        reply_error(self, in, req.id, &limited);
    else if (bad != 0)
        reply_error(self, in, req.id, &e);
    else if (req.op == OP_REPORT_SUBMIT)
        queued = queue_report(self, in, &req, slot); /* batched: group commit */
    else {
        const intake_op_t *op = intake_find(proto_ops[req.op].name);
        if (forward_has(self->fw, proto_ops[req.op].name) || !op) {
            /* an owner serves it (forward.h); none connected: unavailable at once */
            if (forward_request(self->fw, in->route, &in->nroute, intake_client(self), req.op,
                                req.id, zmq_msg_data(&in->body), zmq_msg_size(&in->body),
                                svc_now_ms(), e.message, sizeof e.message) == 0) {
                zmq_msg_close(&in->body);
            } else {
                char why[sizeof e.message];
                snprintf(why, sizeof why, "%s", e.message);
                proto_fail(&e, PROTO_UNAVAILABLE, NULL, why);
                reply_error(self, in, req.id, &e);
            }
        } else if (proto_ops[req.op].writes) {
            run_write(self, in, op, &req);
        } else {
            run_read(self, in, op, &req);
        }
    }
    msgpack_unpacked_destroy(&u);
    return queued;
}

int intake_run(intake_t *self)
{
    zmq_pollitem_t items[] = {{self->router, 0, ZMQ_POLLIN, 0}};
    store_ready(self->store); /* connect early; failures are retried per batch */
    while (!svc_stopping() && !store_refused(self->store)) {
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
            in->t_us = now_us();
            got++;
            if (rc == 2) {
                proto_error_t e;
                if (rate_allow(self, in, &e))
                    proto_fail(&e, PROTO_BAD_REQUEST, NULL,
                               "framing: send an empty delimiter frame, then one body frame");
                reply_error(self, in, "", &e);
                continue;
            }
            queued += dispatch(self, in, queued);
        }
        metric_add(self->m_requests, got);
        metric_set(self->m_depth, got);
        metric_add(self->m_received, queued);
        if (queued)
            commit_batch(self, queued);
        flush_held(self); /* reads answered after their audit rows commit */
    }
    log_info("intake.stopped", NULL);
    /* a database the store refused (another PII key: logged by the check) */
    return store_refused(self->store) ? 1 : 0;
}
