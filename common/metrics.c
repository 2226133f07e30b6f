/* metrics.c — the registry, the text exposition and the HTTP face. */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "ready.h"

enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

/* Histogram bucket upper bounds, microseconds (exposed in seconds). */
static const int64_t bucket_us[] = {1000,   2000,   5000,    10000,   25000,   50000,  100000,
                                    250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define NBUCKETS (sizeof bucket_us / sizeof bucket_us[0])

struct metric {
    const char *name, *help;
    int kind;
    _Atomic int64_t value;              /* counter, gauge; histogram: sum in µs */
    _Atomic int64_t count;              /* histogram: observations */
    _Atomic int64_t buckets[NBUCKETS];  /* histogram: per bucket (not cumulative) */
};

struct metrics {
    char labels[160];                   /* service="x",instance="x.2" */
    int n;
    struct metric all[METRICS_MAX];
    struct MHD_Daemon *daemon;
    int port;
    ready_t *ready;                     /* /readyz: Postgres reachable (NULL: always ready) */
};

metrics_t *metrics_new(const char *service)
{
    metrics_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    const char *replica = config_str("AID_REPLICA", NULL);
    char instance[80];
    if (replica)
        snprintf(instance, sizeof instance, "%s.%s", service, replica);
    else
        snprintf(instance, sizeof instance, "%s", service);
    /* service names are [a-z]+ and replicas digits: nothing to escape */
    snprintf(m->labels, sizeof m->labels, "service=\"%s\",instance=\"%s\"", service, instance);
    return m;
}

void metrics_destroy(metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_t *m = *self_p;
    if (m->daemon)
        MHD_stop_daemon(m->daemon);
    ready_destroy(&m->ready);
    free(m);
    *self_p = NULL;
}

static metric_t *add(metrics_t *m, const char *name, const char *help, int kind)
{
    if (!m || m->n == METRICS_MAX)
        return NULL;
    metric_t *x = &m->all[m->n++];
    x->name = name;
    x->help = help;
    x->kind = kind;
    return x;
}

metric_t *metrics_counter(metrics_t *m, const char *name, const char *help)
{
    return add(m, name, help, KIND_COUNTER);
}

metric_t *metrics_gauge(metrics_t *m, const char *name, const char *help)
{
    return add(m, name, help, KIND_GAUGE);
}

metric_t *metrics_histogram(metrics_t *m, const char *name, const char *help)
{
    return add(m, name, help, KIND_HISTOGRAM);
}

void metric_add(metric_t *c, int64_t n)
{
    if (c)
        atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

void metric_set(metric_t *g, int64_t v)
{
    if (g)
        atomic_store_explicit(&g->value, v, memory_order_relaxed);
}

void metric_observe_us(metric_t *h, int64_t us)
{
    if (!h)
        return;
    if (us < 0)
        us = 0;
    size_t b = 0;
    while (b < NBUCKETS && us > bucket_us[b])
        b++;
    if (b < NBUCKETS)
        atomic_fetch_add_explicit(&h->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->value, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

/* ---- exposition --------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t size, len;            /* len may exceed size: the length needed */
} out_t;

static void put(out_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->size ? o->size - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

size_t metrics_render(const metrics_t *m, char *buf, size_t bufsz)
{
    out_t o = {buf, bufsz, 0};
    if (bufsz)
        buf[0] = '\0';
    for (int i = 0; i < m->n; i++) {
        const metric_t *x = &m->all[i];
        static const char *const types[] = {"counter", "gauge", "histogram"};
        put(&o, "# HELP %s %s\n# TYPE %s %s\n", x->name, x->help, x->name, types[x->kind]);
        if (x->kind != KIND_HISTOGRAM) {
            put(&o, "%s{%s} %lld\n", x->name, m->labels,
                (long long)atomic_load_explicit(&x->value, memory_order_relaxed));
            continue;
        }
        /* read the count first: buckets observed after it only make +Inf larger */
        long long count = atomic_load_explicit(&x->count, memory_order_relaxed), cum = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cum += atomic_load_explicit(&x->buckets[b], memory_order_relaxed);
            if (cum > count)
                cum = count;
            put(&o, "%s_bucket{%s,le=\"%g\"} %lld\n", x->name, m->labels, bucket_us[b] / 1e6, cum);
        }
        put(&o, "%s_bucket{%s,le=\"+Inf\"} %lld\n", x->name, m->labels, count);
        put(&o, "%s_sum{%s} %.6f\n", x->name, m->labels,
            atomic_load_explicit(&x->value, memory_order_relaxed) / 1e6);
        put(&o, "%s_count{%s} %lld\n", x->name, m->labels, count);
    }
    return o.len;
}

/* ---- HTTP ---------------------------------------------------------------- */

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)con_cls;
    metrics_t *m = cls;
    if (*upload_size)
        return MHD_NO; /* no request bodies here */
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return MHD_NO;
    int status = MHD_HTTP_OK;
    const char *type = "text/plain; version=0.0.4; charset=utf-8";
    char *body = NULL;
    size_t len = 0;
    if (!strcmp(url, "/metrics")) {
        size_t need = metrics_render(m, NULL, 0) + 1;
        body = malloc(need);
        if (!body)
            return MHD_NO;
        len = metrics_render(m, body, need);
    } else if (!strcmp(url, "/healthz")) {
        /* liveness: this thread answers, the process lives; never the stores */
        body = strdup("ok\n");
        len = body ? 3 : 0;
        type = "text/plain; charset=utf-8";
    } else if (!strcmp(url, "/readyz")) {
        char why[200] = "";
        bool ok = !m->ready || ready_check(m->ready, why, sizeof why);
        if (!ok)
            status = MHD_HTTP_SERVICE_UNAVAILABLE;
        if (asprintf(&body, ok ? "ready\n" : "unready: %s\n", why) < 0)
            body = NULL;
        len = body ? strlen(body) : 0;
        type = "text/plain; charset=utf-8";
    } else {
        body = strdup("not found: try /metrics, /healthz, /readyz\n");
        len = body ? strlen(body) : 0;
        status = MHD_HTTP_NOT_FOUND;
        type = "text/plain; charset=utf-8";
    }
    if (!body)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

int metrics_listen(metrics_t *m)
{
    if (!m)
        return 0;
    int port = (int)config_int("AID_METRICS_PORT", 0, 0, 65535);
    if (port == 0)
        return 0;
    const char *addr = config_str("AID_METRICS_ADDR", "127.0.0.1");
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        log_error("metrics.bad_address", "address", LOG_S(addr), NULL);
        return -1;
    }
    /* The server thread inherits this mask: SIGTERM/SIGINT stay with the
     * service's own thread, whose poll they interrupt. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    /* a thread per connection: a slow /readyz (bounded) never delays /healthz */
    m->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                     MHD_USE_POLL,
                                 (uint16_t)port, NULL, NULL,
                                 answer, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                 MHD_OPTION_CONNECTION_LIMIT, 16U,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!m->daemon) {
        log_error("metrics.listen_failed", "address", LOG_S(addr), "port", LOG_I(port), "error",
                  LOG_S(strerror(err)), NULL);
        return -1;
    }
    m->port = port;
    log_info("metrics.listening", "address", LOG_S(addr), "port", LOG_I(port), NULL);
    return 0;
}

int metrics_port(const metrics_t *m) { return m ? m->port : 0; }

int metrics_readiness(metrics_t *m, const char *pg_dsn)
{
    if (!m || m->daemon)
        return -1;
    ready_destroy(&m->ready);
    m->ready = ready_new(pg_dsn);
    return m->ready ? 0 : -1;
}
