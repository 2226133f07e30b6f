/* svc.h — what every service process shares: signals and shutdown.
 *
 * main() calls svc_init(name) first; its loop runs while !svc_stopping() and
 * uses a poll timeout so a SIGTERM is seen within that timeout. */
#ifndef AID_COMMON_SVC_H
#define AID_COMMON_SVC_H

#include <stdbool.h>
#include <stdint.h>

/* Sets up logging for service name and SIGINT/SIGTERM handling; ignores SIGPIPE. */
void svc_init(const char *name);
/* Loads the PII key (common/pii.h) or logs why not and exits 1: a service
 * that stores or reads personal data refuses to run without it. Every store
 * of the process then checks on each connection that the database is sealed
 * with this key (pii_pg_key_check); one that is not is refused
 * (store_refused) and the service's loop stops with exit code 1. */
void svc_require_pii(void);
/* True once SIGINT or SIGTERM arrived. */
bool svc_stopping(void);
/* Monotonic milliseconds. */
int64_t svc_now_ms(void);
/* Wall-clock microseconds since the epoch. */
int64_t svc_wall_us(void);
/* How long a batching loop waits before its next batch after one of n rows
 * out of a full batch of batch (n < 0: a failed one): linger_ms after a small
 * batch, under a quarter of full (nothing included), so that what arrives
 * meanwhile is one batch, not one transaction per arrival; 0 after a larger
 * one, so a busy loop never waits. */
int64_t svc_linger_ms(int n, int batch, int64_t linger_ms);

#endif
