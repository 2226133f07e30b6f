/* owner.h — a service serving operations behind the front door (issue 15,
 * zguide's Majordomo worker; the front door's side: services/intake/forward.h).
 *
 * owner_new connects one DEALER to each intake of AID_INTAKE_API (a
 * comma-separated list: every replica gets every owner; a host name is
 * resolved to every address it has — in Kubernetes the headless Service
 * aid-intake-owners names every intake pod — and resolved again every
 * AID_OWNER_RESOLVE_MS, 5000, to follow pods coming and going), under CURVE in
 * secure mode with the service's own pair (AID_SERVICE_*; its key is admitted
 * under a name "service.<name>"), and says which operations it serves and
 * which instance it is (service, host, AID_REPLICA: a restart replaces its
 * dead predecessor at once, services/intake/forward.h).
 * The heartbeat (the same READY, every AID_OWNER_HEARTBEAT_MS, 1000) and
 * HOLDS (the requests taken and not yet answered) go from a thread of the
 * owner's own, which alone uses the sockets to the intakes (owner.c), so a
 * handler may run as long as it needs: intake keeps the owner and waits.
 * owner_recv waits for a forwarded request; the owner's calls (all but
 * owner_endpoints) are for the one thread that made it.
 * owner_answer parses a request, runs the handler with the caller's name and
 * sends its reply; owner_reply sends a reply made otherwise. */
#ifndef AID_COMMON_OWNER_H
#define AID_COMMON_OWNER_H

#include <msgpack.h>
#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <zmq.h>

#include "proto.h"
#include "store.h"

typedef struct owner owner_t;

typedef struct {
    int sock;                /* which intake it came from */
    unsigned gen;            /* and which connection to it */
    char token[24];          /* intake's number for it */
    char client[80];         /* the caller's name: its key's name, or "local" */
    zmq_msg_t body;          /* the request envelope as the caller sent it */
    bool committed;          /* after owner_answer_write: the write committed now
                                (not a duplicate, not failed) */
} owner_request_t;

#define OWNER_ENDPOINT_MAX 128

/* The endpoints of list (AID_INTAKE_API's form) into out[0..max): each
 * tcp://<name>:<port> as tcp://<address>:<port> for every address the name
 * resolves to now (getaddrinfo; IPv6 in brackets), an address literal or
 * any other endpoint as it is, duplicates once; a name that does not
 * resolve gives nothing (logged). Returns how many. */
int owner_endpoints(const char *list, char (*out)[OWNER_ENDPOINT_MAX], int max);
/* The resolver owner_endpoints calls: getaddrinfo (a test may put its own
 * here; what it returns is freed with freeaddrinfo). */
extern int (*owner_resolver)(const char *host, const char *port, const struct addrinfo *hints,
                             struct addrinfo **res);

/* service: its name in logs ("care"); ops: the operations it serves,
 * space-separated. NULL on failure (logged). */
owner_t *owner_new(void *zctx, const char *service, const char *ops);
/* Says GONE to every intake (what it did not answer is answered unavailable
 * at once) and closes. NULL-safe. */
void owner_destroy(owner_t **self_p);

/* Waits up to timeout_ms for a request: 1 with req filled (answer it with
 * owner_reply or owner_answer, which free it), 0 when none came, -1 on error. */
int owner_recv(owner_t *self, int timeout_ms, owner_request_t *req);
/* Sends the reply envelope reply[0..len) for req and frees req. */
int owner_reply(owner_t *self, owner_request_t *req, const void *reply, size_t len);

/* Handles a parsed request of client: packs exactly one result map into pk,
 * or fails with err filled (-1). */
typedef int (*owner_handler_fn)(void *arg, const char *client, const proto_request_t *req,
                                msgpack_packer *pk, proto_error_t *err);
/* Parses req, runs handler and sends {ok, result} or the error; frees req. */
int owner_answer(owner_t *self, owner_request_t *req, owner_handler_fn handler, void *arg);
/* The same for a write: the handler runs exactly once per request id, in
 * the transaction that records the id and its result (common/write.h), so a
 * retry is answered from that record whatever crashed. */
int owner_answer_write(owner_t *self, owner_request_t *req, store_t *store,
                       owner_handler_fn handler, void *arg);

#endif
