/* ops.h — the operations intake serves itself (the front door's own:
 * op_<area>.c, each registered with OP_HANDLER, common/opctx.h); intake.c
 * knows none of them by name. They are reads: every write, and every other
 * operation, is forwarded to the service that owns it (forward.h). */
#ifndef AID_INTAKE_OPS_H
#define AID_INTAKE_OPS_H

#include <stdbool.h>

#include "opctx.h"
#include "write.h"

typedef struct intake intake_t;

/* health's view of the front door: the handler's host is intake */
static inline intake_t *intake_of(opctx_t *c) { return (intake_t *)c->host; }
/* True while the bus publisher is connected to the broker. */
bool intake_bus_connected(intake_t *in);

#endif
