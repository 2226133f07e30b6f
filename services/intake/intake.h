/* intake.h — the front door: a ZeroMQ ROUTER speaking PROTOCOL.md.
 *
 * Requests are drained in batches; the reports of a batch go to the report
 * path (services/report/submit.h: one transaction, group commit) and are
 * only then answered `ok`. Reads and errors are answered at once. */
#ifndef AID_INTAKE_H
#define AID_INTAKE_H

#include <msgpack.h>

#include "cache.h"
#include "caseview.h" /* case.get's view (services/report), for op_case*.c */
#include "proto.h"
#include "store.h"

typedef struct intake intake_t;

/* Binds the API socket and connects the bus publisher; NULL on failure
 * (logged). Stores connect lazily. */
intake_t *intake_new(void);
void intake_destroy(intake_t **self_p);
/* Serves until SIGTERM/SIGINT. Returns the process exit code. */
int intake_run(intake_t *self);

#endif
