/* serve.h — a service serving its operations behind the front door (issue
 * 15): the owner loop every owner runs, around common/owner.h.
 *
 * serve_run connects the service to every intake (owner_new) for the
 * operations this program registered (OP_HANDLER, common/opctx.h) and
 * answers each forwarded request with the caller's name until SIGTERM:
 *   - with its own Postgres connection (AID_PG_DSN: the service's own role),
 *     Redis (AID_REDIS_URL) and bus publisher (AID_BUS_PUB);
 *   - a write exactly once per request id, in the transaction that records
 *     it (owner_answer_write), its events sent after COMMIT;
 *   - a read's R-AUDIT rows committed before its answer is sent, or the read
 *     answered unavailable.
 * A service that also runs a worker loop (care, triggers) runs serve_start:
 * the same loop on a thread of its own, with its own connections. */
#ifndef AID_COMMON_SERVE_H
#define AID_COMMON_SERVE_H

#include <pthread.h>

/* Serves until svc_stopping(). 0, or 1 when it could not start (logged). */
int serve_run(const char *service);
/* serve_run(service) on a new thread into *thread: 0, or -1 (logged). */
int serve_start(const char *service, pthread_t *thread);
/* Ends the loop of serve_start (as SIGTERM would: GONE said to every intake)
 * and joins its thread: for when the service's own loop ended. */
void serve_stop(pthread_t thread);

#endif
