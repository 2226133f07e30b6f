/* metrics.h — a service's counters, gauges and latency histograms, served in
 * the Prometheus text format (version 0.0.4) over HTTP by libmicrohttpd.
 *
 *   metrics_t *m = metrics_new("civil");
 *   metric_t *decided = metrics_counter(m, "aid_decided_total", "referrals decided");
 *   metrics_listen(m);                      // AID_METRICS_PORT, own thread
 *   ...
 *   metric_add(decided, n);                 // hot path: one atomic add
 *
 * Every series carries the labels service="<name>" and instance="<name>" or
 * "<name>.<AID_REPLICA>". Registration happens at start-up, before
 * metrics_listen; after that the set of metrics is fixed. Updates are
 * lock-free atomics and never allocate, so any thread may call them; the
 * HTTP thread only reads. A NULL metric_t is accepted and ignored, so a
 * service works the same when a registration failed. */
#ifndef AID_COMMON_METRICS_H
#define AID_COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX 32           /* metrics per registry */

typedef struct metrics metrics_t;
typedef struct metric metric_t;

/* A registry for service (copied). NULL on OOM. */
metrics_t *metrics_new(const char *service);
/* Stops the HTTP server (if any) and frees everything; *self_p = NULL. */
void metrics_destroy(metrics_t **self_p);

/* Registers a metric; name and help must be string literals (not copied).
 * NULL when the registry is full or m is NULL. */
metric_t *metrics_counter(metrics_t *m, const char *name, const char *help);
metric_t *metrics_gauge(metrics_t *m, const char *name, const char *help);
/* A histogram of durations with buckets from 1 ms to 10 s, in seconds. */
metric_t *metrics_histogram(metrics_t *m, const char *name, const char *help);

/* Counter or gauge += n. */
void metric_add(metric_t *c, int64_t n);
/* Gauge = v. */
void metric_set(metric_t *g, int64_t v);
/* Histogram: one observation of us microseconds (negative counts as 0). */
void metric_observe_us(metric_t *h, int64_t us);

/* Makes GET /readyz answer 503 while Postgres at pg_dsn does not answer a
 * query (common/ready.h), 200 "ready" otherwise. Call before metrics_listen.
 * Without it /readyz is always 200. 0, or -1 (too late, or out of memory). */
int metrics_readiness(metrics_t *m, const char *pg_dsn);

/* Serves GET /metrics, GET /healthz (liveness: "ok" while the process
 * lives, whatever the stores) and GET /readyz (above) on AID_METRICS_ADDR
 * (default 127.0.0.1) port AID_METRICS_PORT from a thread of its own.
 * Without AID_METRICS_PORT (or 0) nothing is served and 0 is returned;
 * -1 when the port cannot be bound (logged; the service goes on). */
int metrics_listen(metrics_t *m);
/* The port actually served, 0 when none. */
int metrics_port(const metrics_t *m);

/* Writes the whole exposition into buf (bufsz bytes, NUL-terminated).
 * Returns its length, or the length it would need (≥ bufsz) when cut. */
size_t metrics_render(const metrics_t *m, char *buf, size_t bufsz);

#endif
