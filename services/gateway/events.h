/* events.h — case.updated from the bus, for the live case view (SSE).
 *
 * A thread subscribes to case.updated on the bus (AID_BUS_SUB) and keeps the
 * last EVENTS_RING case ids that changed, numbered by a generation counter.
 * A waiting SSE connection asks "has case X changed since generation g?".
 * The bus is a fast path: the page also re-reads the case now and then, so a
 * lost event only delays the update. */
#ifndef AID_GATEWAY_EVENTS_H
#define AID_GATEWAY_EVENTS_H

#include <stdint.h>

typedef struct events events_t;

/* Starts the subscriber thread. NULL on failure (logged). */
events_t *events_new(void *zctx, const char *bus_sub);
/* Stops the thread (after events_stop) and frees. */
void events_destroy(events_t **self_p);
/* Wakes every waiter for good: events_wait and events_park return -1 from
 * now on. */
void events_stop(events_t *self);

/* Records an update of case_id ("case-12") made through this gateway, as if
 * it had come from the bus: intake's writes (decision.submit) publish no
 * case.updated, and the pages open here should not wait for their poll. */
void events_notify(events_t *self, const char *case_id);

/* The current generation, where a new waiter starts. */
uint64_t events_generation(events_t *self);
/* Waits at most timeout_ms for an update of case_id ("case-12") after *gen.
 * 1 updated (*gen advanced), 0 timed out, -1 stopping. */
int events_wait(events_t *self, const char *case_id, uint64_t *gen, int timeout_ms);
/* For a waiter that must not block its thread (an SSE stream in the
 * event-driven server): when no event came after gen, calls suspend(arg) and
 * parks it, 0; wake(arg) is called once, from the events thread, after the
 * next event, within about a second anyway, or on events_stop. 1 when events
 * came after gen (nothing parked: look again), -1 when stopping. suspend and
 * wake run under the events lock: they must not call back in here. */
int events_park(events_t *self, uint64_t gen, void (*suspend)(void *), void (*wake)(void *),
                void *arg);

#endif
