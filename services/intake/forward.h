/* forward.h — the front door's side of the owners behind it (zguide's
 * Majordomo pattern, issue 15).
 *
 * A service that owns operations connects a DEALER to intake's ROUTER (the
 * same socket, the same CURVE and ZAP as every client: common/owner.h) and
 * says which operations it serves; intake forwards each request for such an
 * operation to one of the instances serving it — the least busy (below),
 * the least recently used among equals — with the
 * caller's authenticated name, and relays the owner's reply to the caller.
 *
 * Frames after the empty delimiter (the owner's DEALER adds none itself):
 *   owner → intake  "AIDO1" "READY" <service> <ops, space-separated>
 *                   [<instance> <started, µs since the epoch>]
 *                   (on connect and every heartbeat: it is the heartbeat)
 *                   "AIDO1" "HOLDS" <tokens, space-separated> <held in all>
 *                   (after READY while it holds requests: the ones of this
 *                   intake it is working on, and how many from every intake)
 *                   "AIDO1" "REPLY" <token> <reply envelope>
 *                   "AIDO1" "GONE"  (clean stop: dropped at once)
 *   intake → owner  "AIDO1" "REQUEST" <token> <client name> <request envelope>
 * The heartbeat comes from a thread of the owner's own (common/owner.c), so
 * it goes on while a handler runs. An owner silent for AID_OWNER_EXPIRY_MS
 * (3000: a killed process) is dropped, and so are the answers it owes: each
 * is answered `unavailable` then. A request waits AID_FORWARD_TIMEOUT_MS
 * (5000) for its owner to say it HOLDS it, and each HOLDS gives it that long
 * again, up to AID_FORWARD_LIMIT_MS (600000) in all: a handler that runs
 * for minutes (a trigger over 100,000 households, a county's payroll run) is
 * waited for. Past its bound a request is answered `unavailable`: for a
 * write "outcome unknown" (it may have been accepted; a retry with the same
 * id learns the truth), for a read "retry later". A late reply is
 * dropped. The instance chosen is the least busy: requests in flight from
 * this intake plus what it said it holds from others. An instance
 * ("<service>@<host>#<replica>.<n>": its host name, its replica number,
 * AID_REPLICA, 1 by default, and the how-manieth owner of its process it
 * is) that restarts replaces its predecessor at once: a READY from a new routing id with the same instance
 * (and the same key name) and a later start drops the old peer, and what it
 * owed is answered `unavailable` then, as at its expiry; a READY of an
 * instance older than the live one is ignored. In secure mode only keys named "service.<name>" and the names in
 * AID_OWNER_ANY may register (anyone else is logged and ignored). */
#ifndef AID_INTAKE_FORWARD_H
#define AID_INTAKE_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define FORWARD_MAGIC "AIDO1"

typedef struct forward forward_t;

/* The owners of router's clients; NULL when out of memory. */
forward_t *forward_new(void *router);
/* Answers every request still waiting `unavailable` and frees. NULL-safe. */
void forward_destroy(forward_t **self_p);

/* May the client named client register as an owner? Any in plaintext mode
 * (loopback development); in secure mode a key named service.<name>, or a
 * name listed in AID_OWNER_ANY. */
bool forward_may_own(const char *client);
/* Is the message frames[0..n) (route frames, the empty delimiter at delim,
 * then the rest) an owner's? */
bool forward_is_owner(const zmq_msg_t *frames, int n, int delim);
/* Handles an owner's message from the client named client ("" in plaintext
 * mode); closes every frame. */
void forward_owner_msg(forward_t *self, const char *client, zmq_msg_t *frames, int n,
                       int delim, int64_t now_ms);

/* Is an instance of op's owner connected? */
bool forward_has(const forward_t *self, const char *op);
/* Forwards the request body[0..len) with id id for op (index into
 * proto_ops) from client ("local" in plaintext mode) to an owner: 0, and the route frames
 * are taken (they are closed; nroute becomes 0). -1 when none is connected
 * or too many requests wait: the route is untouched and the caller answers
 * `unavailable`, with the message msg (msgsz bytes) says why. */
int forward_request(forward_t *self, zmq_msg_t *route, int *nroute, const char *client,
                    int op, const char *id, const void *body, size_t len, int64_t now_ms, char *msg,
                    size_t msgsz);
/* Answers the requests past their bound and drops silent owners. Returns
 * the ms until the next such moment (at most 1000). */
int forward_tick(forward_t *self, int64_t now_ms);

#endif
