/* submit.h — report.submit with group commit, the report path in intake's
 * process: the front door (services/intake/door.h) queues each report.submit
 * of a pass of its loop here and then commits them all in one transaction;
 * each is answered through the front door. */
#ifndef AID_REPORT_SUBMIT_H
#define AID_REPORT_SUBMIT_H

#include "door.h"

/* The group commit of intake door, on its store and cache, counting into
 * its metrics. NULL when out of memory. */
submit_t *submit_new(intake_t *door, store_t *store, cache_t *cache, metric_t *decided,
                     metric_t *batches, metric_t *latency);
void submit_destroy(submit_t **self_p);
/* Registers the statements of the report path (the filer's, and the lookup
 * after a lost COMMIT answer). */
void submit_prepare(store_t *store);
/* Validates the report of req (read into in) and queues it in slot (the
 * pass's count of queued reports so far): 1 when queued; 0 when it was
 * answered at once (invalid, no memory). */
int submit_queue(submit_t *self, inbound_t *in, const proto_request_t *req, int slot);
/* Commits the n queued reports in one transaction, answers each, wakes
 * eligibility and remembers the new ids in Redis. */
void submit_commit(submit_t *self, int n);

#endif
