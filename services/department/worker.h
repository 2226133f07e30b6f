/* worker.h — the consumer loop shared by eligibility and every department.
 *
 * The bus only wakes a worker; the work itself is always read from Postgres
 * (rows still pending, claimed with FOR UPDATE SKIP LOCKED). So the same
 * step runs on start, on every bus message, after the SUB socket
 * (re)connects, when a sequence gap shows a lost message, and on a periodic
 * sweep (AID_SWEEP_MS, default 1000): a dropped message delays work by at
 * most one sweep, and nothing is ever decided from the message alone. */
#ifndef AID_WORKER_H
#define AID_WORKER_H

#include <stdint.h>

#include "cache.h"
#include "metrics.h"
#include "params_store.h"
#include "store.h"

typedef struct worker worker_t;

/* One step: claim and finish up to a batch of pending rows in one
 * transaction. Returns how many it finished (0 when nothing is pending), or
 * -1 on a failure (the transaction was rolled back; retried next sweep). */
typedef int (*worker_step_fn)(worker_t *w, void *arg);

typedef struct {
    const char *name;          /* service name, e.g. "civil" */
    const char *topic;         /* bus topic that wakes it, e.g. "referral.civil"; one
                                * ending in '.' is a prefix: "referral." wakes it for all */
    int batch;                 /* rows per step; a step returning this much runs again */
    worker_step_fn step;
    void *arg;
    void (*prepare)(store_t *store); /* registers the step's statements */
} worker_config_t;

/* Rows waiting (for the queue-depth gauge), read on each sweep; -1 when
 * unknown. */
typedef int64_t (*worker_depth_fn)(worker_t *w, void *arg);

/* The standard series every worker exposes on its metrics port
 * (AID_METRICS_PORT): the step counts received/decided/latency, the loop
 * counts errors and batches and sets the queue depth. */
typedef struct {
    metric_t *received;        /* rows claimed */
    metric_t *decided;         /* rows finished and committed */
    metric_t *errors;          /* failed steps (rolled back, retried) */
    metric_t *batches;         /* committed steps */
    metric_t *depth;           /* rows waiting, as of the last sweep */
    metric_t *latency;         /* per row: created → committed */
} worker_metrics_t;

/* Runs the loop until SIGTERM/SIGINT. Returns the exit code. */
int worker_run(const worker_config_t *cfg);
/* The same, with a queue-depth probe (may be NULL). */
int worker_run_depth(const worker_config_t *cfg, worker_depth_fn depth);

/* Accessors for the step. */
store_t *worker_store(worker_t *w);
cache_t *worker_cache(worker_t *w);
const param_cache_t *worker_params(worker_t *w);
const worker_metrics_t *worker_metrics(worker_t *w);
/* BEGIN and the step's claim statement stmt in one round trip, its
 * parameters the batch size ($1) and the n (at most WORKER_CLAIM_EXTRA) of
 * extra after it.
 * Returns how many rows it claimed, counted as received, with *out its binary
 * result and the transaction open; 0 when nothing is pending (*out NULL,
 * nothing left open); -1 on an error in the store (*out NULL, nothing left
 * open, the error in store_errmsg). */
#define WORKER_CLAIM_EXTRA 3
/* Milliseconds between a small step (under a quarter of a batch) and the
 * next one (AID_WORKER_LINGER_MS, 0 for none): see worker_run_depth. */
#define WORKER_LINGER_MS 5
int worker_claim(worker_t *w, const char *stmt, int n, const char *const *extra, PGresult **out);
/* The one count prepared statement stmt returns (the queue-depth probes),
 * or -1 when it fails. */
int64_t worker_count(worker_t *w, const char *stmt, int n, const char *const *vals);
/* Publishes an event (a MessagePack map the caller built, with its seq) on
 * the bus. Never blocks; a dropped event only delays its consumers. */
void worker_publish(worker_t *w, const char *topic, const void *body, size_t len);

#endif
