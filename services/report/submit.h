/* submit.h — report.submit with group commit, the report path in intake's
 * process: the front door (services/intake) queues each report.submit of a
 * pass of its loop here and then commits them all in one transaction; each
 * is answered through the functions the front door gave (submit_door_t), so
 * this path does not know intake's insides. */
#ifndef AID_REPORT_SUBMIT_H
#define AID_REPORT_SUBMIT_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "metrics.h"
#include "proto.h"
#include "store.h"

#define SUBMIT_MAX 256 /* reports of one batch at most (the front door's pass) */

typedef struct submit submit_t;

/* How the report path answers a caller (the front door's handle of the
 * request) and wakes eligibility (an event whose "seq" the door numbers). */
typedef struct {
    void *arg; /* the front door */
    void (*reply_ok)(void *arg, void *caller, const char *id, const msgpack_sbuffer *result);
    void (*reply_error)(void *arg, void *caller, const char *id, const proto_error_t *e);
    void (*publish)(void *arg, const char *topic, const void *body, size_t len);
} submit_door_t;

/* The group commit answering through door, on store and cache, counting
 * into the metrics. NULL when out of memory. */
submit_t *submit_new(const submit_door_t *door, store_t *store, cache_t *cache,
                     metric_t *decided, metric_t *batches, metric_t *latency);
void submit_destroy(submit_t **self_p);
/* Registers the statements of the report path (the filer's, and the lookup
 * after a lost COMMIT answer). */
void submit_prepare(store_t *store);
/* Validates the report of req (from caller, read at t_us: monotonic µs) and
 * queues it in slot (the pass's count of queued reports so far, below
 * SUBMIT_MAX): 1 when queued; 0 when it was answered at once (invalid, no
 * memory). */
int submit_queue(submit_t *self, void *caller, int64_t t_us, const proto_request_t *req,
                 int slot);
/* Commits the n queued reports in one transaction, answers each, wakes
 * eligibility and remembers the new ids in Redis. */
void submit_commit(submit_t *self, int n);

#endif
