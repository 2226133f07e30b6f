/* intake.h — the front door: a ZeroMQ ROUTER speaking PROTOCOL.md.
 *
 * Requests are drained in batches; the reports of a batch are committed in
 * one transaction (group commit) and only then answered `ok`. Reads and
 * errors are answered at once. */
#ifndef AID_INTAKE_H
#define AID_INTAKE_H

#include <msgpack.h>

#include "cache.h"
#include "proto.h"
#include "store.h"

typedef struct intake intake_t;

/* Binds the API socket and connects the bus publisher; NULL on failure
 * (logged). Stores connect lazily. */
intake_t *intake_new(void);
void intake_destroy(intake_t **self_p);
/* Serves until SIGTERM/SIGINT. Returns the process exit code. */
int intake_run(intake_t *self);

/* case.get: writes the result map for the case and gives its id (decimal)
 * in case_out, or fails with not_found / unavailable. Defined in caseview.c. */
void caseview_prepare(store_t *store);
int caseview_write_case(store_t *store, const proto_case_get_t *q, msgpack_packer *pk,
                        proto_error_t *err, char *case_out, size_t case_outsz);

#endif
