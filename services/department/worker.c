/* worker.c — wake on the bus, sweep on a timer, always work from Postgres. */
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bus.h"
#include "config.h"
#include "log.h"
#include "mp.h"
#include "svc.h"

struct worker {
    const worker_config_t *cfg;
    void *zctx, *sub, *pub, *monitor;
    store_t *store;
    cache_t *cache;
    param_cache_t params;
    int64_t last_seq;         /* last seq seen on cfg->topic */
    int prefix_topic;         /* cfg->topic ends in '.': the streams of several topics */
    metrics_t *metrics;
    worker_metrics_t m;
    worker_depth_fn depth;
};

store_t *worker_store(worker_t *w) { return w->store; }

int worker_claim(worker_t *w, const char *stmt, int n, const char *const *extra, PGresult **out)
{
    *out = NULL;
    if (n < 0 || n > WORKER_CLAIM_EXTRA) {
        log_error("worker.claim_parameters", "statement", LOG_S(stmt), "extra", LOG_I(n), NULL);
        return -1;
    }
    char limit[16];
    snprintf(limit, sizeof limit, "%d", w->cfg->batch);
    const char *vals[1 + WORKER_CLAIM_EXTRA] = {limit};
    for (int k = 0; k < n; k++)
        vals[k + 1] = extra[k];
    PGresult *r = *out = store_begin_exec(w->store, stmt, 1 + n, vals, 1);
    if (!r)
        return -1;
    int rows = PQntuples(r);
    if (rows == 0) { /* nothing pending: nothing to keep open */
        PQclear(r);
        *out = NULL;
        store_rollback(w->store);
        return 0;
    }
    metric_add(w->m.received, rows);
    return rows;
}
int64_t worker_count(worker_t *w, const char *stmt, int n, const char *const *vals)
{
    PGresult *r = store_exec(w->store, stmt, n, vals);
    int64_t d = r && PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return d;
}
cache_t *worker_cache(worker_t *w) { return w->cache; }
const param_cache_t *worker_params(worker_t *w) { return &w->params; }
const worker_metrics_t *worker_metrics(worker_t *w) { return &w->m; }

void worker_publish(worker_t *w, const char *topic, const void *body, size_t len)
{
    if (bus_publish(w->pub, topic, body, len) != 0)
        log_debug("bus.publish_dropped", "topic", LOG_S(topic), NULL);
}

/* Runs steps until one finishes less than a full batch (or fails). Returns
 * the rows of its last step; a full batch when it stopped with a backlog
 * still behind it (not finished in 1000 rounds). */
static int drain(worker_t *w)
{
    if (!store_ready(w->store))
        return 0;
    if (params_store_refresh(&w->params, w->store, svc_now_ms()) != 0)
        return 0; /* no parameters, no decisions */
    int n = 0;
    for (int rounds = 0; rounds < 1000 && !svc_stopping(); rounds++) {
        n = w->cfg->step(w, w->cfg->arg);
        if (n < 0)
            metric_add(w->m.errors, 1);
        else if (n > 0)
            metric_add(w->m.batches, 1);
        if (n < w->cfg->batch)
            return n;
    }
    return n;
}

/* Registers the standard series and starts the metrics server. */
static void metrics_open(worker_t *w)
{
    metrics_t *m = w->metrics = metrics_new(w->cfg->name);
    w->m.received = metrics_counter(m, "aid_received_total", "rows claimed for work");
    w->m.decided = metrics_counter(m, "aid_decided_total", "rows finished and committed");
    w->m.errors = metrics_counter(m, "aid_errors_total", "failed steps (rolled back, retried)");
    w->m.batches = metrics_counter(m, "aid_batches_total", "committed steps (one transaction each)");
    w->m.depth = metrics_gauge(m, "aid_queue_depth", "rows waiting, as of the last sweep");
    w->m.latency = metrics_histogram(m, "aid_latency_seconds",
                                     "per row: from creation to the committed result");
    /* /readyz: 503 while Postgres does not answer (no row can be claimed) */
    metrics_readiness(m, config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    metrics_listen(m);
}

static void sweep_depth(worker_t *w)
{
    if (w->depth && store_ready(w->store)) {
        int64_t d = w->depth(w, w->cfg->arg);
        if (d >= 0)
            metric_set(w->m.depth, d);
    }
}

/* Reads every waiting bus message; returns 1 when any arrived. */
static int read_bus(worker_t *w)
{
    char topic[64], body[4096];
    int any = 0, len;
    for (int i = 0; i < 100000; i++) {
        len = bus_recv(w->sub, topic, sizeof topic, body, sizeof body);
        if (len == -1)
            break;
        if (len < 0)
            continue; /* malformed event: ignored, the sweep covers it */
        any = 1;
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        int64_t seq;
        /* a topic prefix ("referral.") takes several streams, each with its own
         * order: no single sequence to find gaps in */
        if (!w->prefix_topic && mp_unpack(body, (size_t)len, &u) == MP_OK &&
            mp_int(mp_get(&u.data, "seq"), &seq) == 0 && bus_seq_gap(&w->last_seq, seq))
            log_info("bus.gap", "topic", LOG_S(topic), "seq", LOG_I(seq), NULL);
        msgpack_unpacked_destroy(&u);
    }
    return any;
}

/* True when the monitor reported a (re)connection of the SUB socket. */
static int read_monitor(worker_t *w)
{
    int connected = 0;
    zmq_msg_t m;
    for (;;) {
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, w->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return connected;
        }
        /* first frame: 16-bit event id + 32-bit value; second: the address */
        if (zmq_msg_size(&m) >= 2) {
            uint16_t ev;
            memcpy(&ev, zmq_msg_data(&m), 2);
            connected |= ev == ZMQ_EVENT_CONNECTED;
        }
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (more) {
            zmq_msg_init(&m);
            zmq_msg_recv(&m, w->monitor, 0);
            zmq_msg_close(&m);
        }
    }
}

static int open_sockets(worker_t *w)
{
    const char *topics[] = {w->cfg->topic, NULL};
    w->zctx = zmq_ctx_new();
    w->sub = bus_sub_open(w->zctx, config_str("AID_BUS_SUB", "tcp://127.0.0.1:5602"), topics);
    w->pub = bus_pub_open(w->zctx, config_str("AID_BUS_PUB", "tcp://127.0.0.1:5603"));
    if (!w->sub || !w->pub)
        return -1;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://monitor-%p", (void *)w);
    if (zmq_socket_monitor(w->sub, ep, ZMQ_EVENT_CONNECTED) != 0)
        return -1;
    w->monitor = zmq_socket(w->zctx, ZMQ_PAIR);
    return w->monitor && zmq_connect(w->monitor, ep) == 0 ? 0 : -1;
}

int worker_run(const worker_config_t *cfg) { return worker_run_depth(cfg, NULL); }

int worker_run_depth(const worker_config_t *cfg, worker_depth_fn depth)
{
    worker_t w;
    memset(&w, 0, sizeof w);
    w.cfg = cfg;
    w.depth = depth;
    size_t tlen = strlen(cfg->topic);
    w.prefix_topic = tlen > 0 && cfg->topic[tlen - 1] == '.';
    w.store = store_new(config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    w.cache = cache_new(config_str("AID_REDIS_URL", "redis://127.0.0.1:6379"));
    int rc = 1;
    if (!w.store || !w.cache || open_sockets(&w) != 0) {
        log_error("worker.start_failed", "error", LOG_S(zmq_strerror(errno)), NULL);
        goto out;
    }
    /* Workers find every row by key (claims through the queues' keys, batch
     * writes by primary key). Their plans are cached per session, and one
     * made while the tables were empty (a fresh cluster) would scan them
     * whole once they have grown: sequential scans only as a last resort. */
    store_session(w.store, "SET enable_seqscan = off");
    params_store_prepare(w.store);
    cfg->prepare(w.store);
    metrics_open(&w);
    int64_t sweep_ms = config_int("AID_SWEEP_MS", 1000, 10, 3600000);
    /* After a small step (svc_linger_ms) the next waits this long, however
     * soon the bus wakes the worker: what arrives meanwhile makes one batch,
     * not one transaction per upstream commit (the fixed cost of a
     * transaction, about a millisecond of Postgres, paid once for all of
     * it). At a load that fills a quarter of a batch nothing waits, and a
     * full batch runs the next step at once: a backlog is never held back. */
    int64_t linger_ms = config_int("AID_WORKER_LINGER_MS", WORKER_LINGER_MS, 0, 1000);
    log_info("worker.started", "topic", LOG_S(cfg->topic), "sweep_ms", LOG_I(sweep_ms),
             "linger_ms", LOG_I(linger_ms), NULL);
    drain(&w); /* catch up with whatever waited while we were down */
    int64_t next_sweep = svc_now_ms() + sweep_ms, hold_until = svc_now_ms() + linger_ms;
    int due = 0; /* woken, its drain not run yet (held until hold_until) */
    zmq_pollitem_t items[] = {{w.sub, 0, ZMQ_POLLIN, 0}, {w.monitor, 0, ZMQ_POLLIN, 0}};
    while (!svc_stopping() && !store_refused(w.store)) {
        int64_t until = due && hold_until < next_sweep ? hold_until : next_sweep;
        int64_t wait = until - svc_now_ms();
        if (wait < 0)
            wait = 0;
        zmq_poll(items, 2, (long)wait);
        if (items[0].revents & ZMQ_POLLIN)
            due |= read_bus(&w);
        if (items[1].revents & ZMQ_POLLIN && read_monitor(&w)) {
            log_info("bus.connected", NULL);
            due = 1;
        }
        if (svc_now_ms() >= next_sweep) {
            due = 1;
            next_sweep = svc_now_ms() + sweep_ms;
            sweep_depth(&w);
        }
        if (due && svc_now_ms() >= hold_until) {
            int n = drain(&w);
            due = n >= w.cfg->batch; /* a backlog left behind: on at once */
            hold_until = svc_now_ms() + svc_linger_ms(n, w.cfg->batch, linger_ms);
        }
    }
    /* a database the store refused (another PII key: logged by the check) */
    rc = store_refused(w.store) ? 1 : 0;
    log_info("worker.stopped", NULL);
out:
    if (w.monitor)
        zmq_close(w.monitor);
    if (w.sub)
        zmq_close(w.sub);
    if (w.pub)
        zmq_close(w.pub);
    if (w.zctx)
        zmq_ctx_term(w.zctx);
    store_destroy(&w.store);
    cache_destroy(&w.cache);
    metrics_destroy(&w.metrics);
    return rc;
}
