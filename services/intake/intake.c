/* intake.c — the ROUTER front door with group commit.
 *
 * One pass of the loop: wait for a request, drain up to BATCH_MAX more,
 * answer what needs no write at once (errors, health, case.get), then commit
 * every report of the pass in one transaction and answer them all. `ok` is
 * sent only after COMMIT returned; a failed batch is answered `unavailable`
 * and nothing of it is acknowledged (a retry with the same id is safe).
 *
 * Redis is the fast path for idempotency (a retried id is answered without
 * touching Postgres); the requests table's primary key is the truth. */
#include "intake.h"
#include "ops.h"
#include "synth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bus.h"
#include "config.h"
#include "idcard.h"
#include "log.h"
#include "mp.h"
#include "pgarr.h"
#include "svc.h"

#define BATCH_MAX 256
#define MAX_ROUTE_FRAMES 8
/* Larger than the 64 KiB request limit, so an oversized request is still
 * read and answered too_large; beyond this libzmq drops the connection. */
#define SOCKET_MAX_MSG (1 << 20)

/* One request waiting for its reply: the ROUTER route frames and the body. */
typedef struct {
    zmq_msg_t route[MAX_ROUTE_FRAMES];
    int nroute;
    zmq_msg_t body;
} inbound_t;

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

struct intake {
    void *zctx;
    void *router;             /* the API socket */
    void *pub;                /* bus publisher */
    void *pub_monitor;        /* connection events of pub */
    bool bus_up;              /* pub connected to the broker, per the monitor */
    store_t *store;
    cache_t *cache;
    int64_t seq;              /* report.committed stream sequence */
    inbound_t *inbound;       /* BATCH_MAX slots */
    pending_t *pending;       /* BATCH_MAX slots */
    pgarr_t ids, names;       /* statement parameters, reused */
};

static void ops_prepare_all(store_t *store);

static void prepare_statements(store_t *store)
{
    store_prepare(store, "submit_report",
                  "SELECT report_id, case_id, outcome FROM aid_submit_report("
                  "$1, $2::bytea, $3::text[], $4::text[], $5, $6::date, $7, $8, $9::boolean,"
                  " $10::bytea)");
    store_prepare(store, "begin_request",
                  "SELECT outcome, result FROM aid_begin_request($1, $2, $3::bytea)");
    store_prepare(store, "finish_request",
                  "UPDATE requests SET result = $2::bytea WHERE request_id = $1");
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
    self->zctx = zmq_ctx_new();
    self->store = store_new(config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    self->cache = cache_new(config_str("AID_REDIS_URL", "redis://127.0.0.1:6379"));
    if (!self->inbound || !self->pending || !self->zctx || !self->store || !self->cache)
        goto fail;
    prepare_statements(self->store);
    const char *api = config_str("AID_INTAKE_BIND", config_str("AID_INTAKE_API", "tcp://127.0.0.1:5601"));
    self->router = zmq_socket(self->zctx, ZMQ_ROUTER);
    int64_t maxsz = SOCKET_MAX_MSG;
    int linger = 0, hwm = 10000;
    zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz);
    zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (zmq_bind(self->router, api) != 0) {
        log_error("intake.bind_failed", "endpoint", LOG_S(api), "error",
                  LOG_S(zmq_strerror(errno)), NULL);
        goto fail;
    }
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
    if (self->router)
        zmq_close(self->router);
    if (self->pub_monitor)
        zmq_close(self->pub_monitor);
    if (self->pub)
        zmq_close(self->pub);
    if (self->zctx)
        zmq_ctx_term(self->zctx);
    store_destroy(&self->store);
    cache_destroy(&self->cache);
    free(self->inbound);
    free(self->pending);
    pgarr_free(&self->ids);
    pgarr_free(&self->names);
    free(self);
    *self_p = NULL;
}

/* ---- socket I/O --------------------------------------------------------- */

/* Reads one whole request (route frames, empty delimiter, body) without
 * blocking. 1 when read, 0 when none is waiting, 2 when its framing is wrong
 * (no delimiter, several body frames: the caller answers bad_request to the
 * sender), -1 on a socket error. */
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
    /* route frames, one empty delimiter, then exactly one body frame */
    int delim = -1;
    for (int i = 0; i < n; i++)
        if (zmq_msg_size(&frames[i]) == 0) {
            delim = i;
            break;
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
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_reply_error(&pk, id, e);
    send_reply(self, in, &sb);
    msgpack_sbuffer_destroy(&sb);
    if (e->code != PROTO_NOT_FOUND)
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
cache_t *intake_cache(intake_t *in) { return in->cache; }

void intake_publish(intake_t *in, const char *topic, const void *body, size_t len)
{
    if (bus_publish(in->pub, topic, body, len) != 0)
        log_debug("bus.publish_dropped", "topic", LOG_S(topic), NULL);
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

int intake_unavailable(proto_error_t *err)
{
    return proto_fail(err, PROTO_UNAVAILABLE, NULL,
                      "database unavailable: nothing was accepted, retry later");
}

/* Re-packs a stored result map with "duplicate" added. */
static void pack_result(msgpack_sbuffer *out, const char *data, size_t len, bool duplicate)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (mp_unpack(data, len, &u) == MP_OK && u.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object_map *m = &u.data.via.map;
        msgpack_pack_map(&pk, m->size + 1);
        for (uint32_t i = 0; i < m->size; i++) {
            msgpack_pack_object(&pk, m->ptr[i].key);
            msgpack_pack_object(&pk, m->ptr[i].val);
        }
    } else {
        msgpack_pack_map(&pk, 1);
    }
    mp_pack_kv_bool(&pk, "duplicate", duplicate);
    msgpack_unpacked_destroy(&u);
}

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

static void run_read(intake_t *self, inbound_t *in, const intake_op_t *op,
                     const proto_request_t *req)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_error_t e;
    if (op->handle(self, req, &pk, &e) == 0)
        reply_ok(self, in, req->id, &sb);
    else
        reply_error(self, in, req->id, &e);
    msgpack_sbuffer_destroy(&sb);
}

/* A write in its own transaction, opened with the idempotency check. */
static void run_write(intake_t *self, inbound_t *in, const intake_op_t *op,
                      const proto_request_t *req)
{
    proto_error_t e;
    msgpack_sbuffer raw, result, reply;
    msgpack_sbuffer_init(&raw);
    msgpack_sbuffer_init(&result);
    msgpack_sbuffer_init(&reply);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &raw, msgpack_sbuffer_write);
    if (req->body)
        mp_pack_sorted(&pk, req->body);
    else
        msgpack_pack_nil(&pk);
    PGresult *r = NULL;
    int stored = 0;
    if (!store_ready(self->store) || store_begin(self->store) != 0) {
        intake_unavailable(&e);
        goto fail;
    }
    const char *vals[3] = {req->id, op->name, raw.data};
    int lens[3] = {0, 0, (int)raw.size}, fmts[3] = {0, 0, 1};
    r = store_exec_bin(self->store, "begin_request", 3, vals, lens, fmts);
    if (!r) {
        intake_unavailable(&e);
        goto fail;
    }
    const char *outcome = PQgetvalue(r, 0, 0);
    if (strcmp(outcome, "conflict") == 0) {
        proto_fail(&e, PROTO_CONFLICT, "id", "this request id was already used with a different body");
        goto fail;
    }
    if (strcmp(outcome, "duplicate") == 0) {
        size_t len;
        unsigned char *prev = store_bytea(r, 0, 1, &len);
        pack_result(&reply, (const char *)prev, len, true);
        PQfreemem(prev);
        store_rollback(self->store);
        reply_ok(self, in, req->id, &reply);
        goto done;
    }
    msgpack_packer_init(&pk, &result, msgpack_sbuffer_write);
    if (op->handle(self, req, &pk, &e) != 0)
        goto fail;
    const char *fin[2] = {req->id, result.data};
    int flens[2] = {0, (int)result.size}, ffmts[2] = {0, 1};
    PGresult *f = store_exec_bin(self->store, "finish_request", 2, fin, flens, ffmts);
    stored = f != NULL;
    PQclear(f);
    if (!stored || store_commit(self->store) != 0) {
        intake_unavailable(&e);
        goto fail;
    }
    pack_result(&reply, result.data, result.size, false);
    reply_ok(self, in, req->id, &reply);
    publish_wakeup(self);
    goto done;
fail:
    store_rollback(self->store);
    reply_error(self, in, req->id, &e);
done:
    PQclear(r);
    msgpack_sbuffer_destroy(&raw);
    msgpack_sbuffer_destroy(&result);
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
 * entries it settles (outcome set, report/case ids known). */
static void lookup_cached(intake_t *self, pending_t *ps, int n)
{
    if (!cache_ready(self->cache))
        return;
    for (int i = 0; i < n; i++) {
        redisReply *r = cache_cmd(self->cache, "GET idem:%s", ps[i].id);
        if (!r)
            return;
        unsigned long long fp;
        long long rid, cid;
        if (r->type == REDIS_REPLY_STRING &&
            sscanf(r->str, "%llx %lld %lld", &fp, &rid, &cid) == 3) {
            ps[i].outcome = fp == ps[i].fingerprint ? 1 : 2;
            ps[i].report_id = rid;
            ps[i].case_id = cid;
        }
        freeReplyObject(r);
    }
}

static void remember_cached(intake_t *self, pending_t *ps, int n)
{
    if (!cache_ready(self->cache))
        return;
    for (int i = 0; i < n; i++) {
        if (ps[i].outcome != 0 || ps[i].report_id == 0)
            continue;
        char val[64];
        snprintf(val, sizeof val, "%llx %lld %lld", (unsigned long long)ps[i].fingerprint,
                 ps[i].report_id, ps[i].case_id);
        redisReply *r = cache_cmd(self->cache, "SET idem:%s %s EX 86400", ps[i].id, val);
        if (!r)
            return;
        freeReplyObject(r);
    }
}

/* Runs aid_submit_report for every unsettled entry inside the current
 * transaction. 0, or -1 when a statement failed (the caller rolls back). */
static int submit_all(intake_t *self, pending_t *ps, int n)
{
    for (int i = 0; i < n; i++) {
        pending_t *p = &ps[i];
        if (p->outcome != 0 || !p->report)
            continue;
        const report_t *r = p->report;
        pgarr_reset(&self->ids);
        pgarr_reset(&self->names);
        for (int m = 0; m < r->n_members; m++) {
            pgarr_add_text(&self->ids, r->members[m].id_number);
            pgarr_add_text(&self->names, r->members[m].name);
        }
        const char *ids = pgarr_str(&self->ids), *names = pgarr_str(&self->names);
        if (!ids || !names)
            return -1;
        char as_of[11];
        date_format(r->as_of, as_of);
        static const char *const sources[] = {"visit", "hotline", "wechat", "department", "self"};
        const char *vals[10] = {p->id,      p->raw.data, ids,         names,
                                sources[r->source], as_of, r->township, r->village,
                                r->urgency == URGENCY_URGENT ? "true" : "false", p->canon.data};
        int lens[10] = {0, (int)p->raw.size, 0, 0, 0, 0, 0, 0, 0, (int)p->canon.size};
        int fmts[10] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
        PGresult *res = store_exec_bin(self->store, "submit_report", 10, vals, lens, fmts);
        if (!res)
            return -1;
        p->report_id = atoll(PQgetvalue(res, 0, 0));
        p->case_id = atoll(PQgetvalue(res, 0, 1));
        const char *oc = PQgetvalue(res, 0, 2);
        p->outcome = !strcmp(oc, "new") ? 0 : !strcmp(oc, "duplicate") ? 1 : 2;
        PQclear(res);
    }
    return 0;
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
    int todo = 0;
    for (int i = 0; i < n; i++)
        todo += ps[i].outcome == 0;
    int ok = 1;
    if (todo) {
        ok = store_ready(self->store) && store_begin(self->store) == 0 &&
             submit_all(self, ps, n) == 0 && store_commit(self->store) == 0;
        if (!ok) {
            log_warn("intake.batch_failed", "reports", LOG_I(todo), "error",
                     LOG_S(store_errmsg(self->store)), NULL);
            store_rollback(self->store);
        }
    }
    for (int i = 0; i < n; i++) {
        if (ok || ps[i].outcome != 0) {
            answer_report(self, &ps[i]);
        } else {
            proto_error_t e;
            proto_fail(&e, PROTO_UNAVAILABLE, NULL,
                       "database unavailable: nothing was accepted, retry with the same id");
            reply_error(self, ps[i].in, ps[i].id, &e);
        }
    }
    if (ok && todo) {
        publish_committed(self, ps, n);
        remember_cached(self, ps, n);
    }
    for (int i = 0; i < n; i++)
        pending_free(&ps[i]);
}

/* Handles one request: answers it, or queues it (returns 1). */
static int dispatch(intake_t *self, inbound_t *in, int slot)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    proto_request_t req;
    proto_error_t e;
    int queued = 0;
    if (proto_request_parse(zmq_msg_data(&in->body), zmq_msg_size(&in->body), &u, &req, &e) != 0)
        reply_error(self, in, req.id, &e);
    else if (req.op == OP_REPORT_SUBMIT)
        queued = queue_report(self, in, &req, slot); /* batched: group commit */
    else {
        const intake_op_t *op = intake_find(proto_ops[req.op].name);
        if (!op) {
            proto_fail(&e, PROTO_UNKNOWN_OP, "op", "operation not served by this intake");
            reply_error(self, in, req.id, &e);
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
    while (!svc_stopping()) {
        if (zmq_poll(items, 1, 500) <= 0)
            continue;
        int queued = 0;
        for (int i = 0; i < BATCH_MAX; i++) {
            inbound_t *in = &self->inbound[queued];
            int rc = read_inbound(self, in);
            if (rc == 0)
                break;
            if (rc < 0)
                continue;
            if (rc == 2) {
                proto_error_t e;
                proto_fail(&e, PROTO_BAD_REQUEST, NULL,
                           "framing: send an empty delimiter frame, then one body frame");
                reply_error(self, in, "", &e);
                continue;
            }
            queued += dispatch(self, in, queued);
        }
        if (queued)
            commit_batch(self, queued);
    }
    log_info("intake.stopped", NULL);
    return 0;
}
