/* intake_client.h — the gateway's side of the contract: a pool of ZeroMQ
 * DEALER sockets to intake, each connected to every endpoint of
 * AID_INTAKE_API (a comma-separated list: requests are spread over them).
 *
 * A request thread borrows a socket, sends one envelope, waits for the reply
 * that echoes its id and gives the socket back. A socket that timed out is
 * closed rather than returned, so a late reply can never answer someone
 * else's request. Thread-safe. */
#ifndef AID_GATEWAY_INTAKE_CLIENT_H
#define AID_GATEWAY_INTAKE_CLIENT_H

#include <jansson.h>

typedef struct ic ic_t;

/* A contract error (PROTOCOL.md): code, field path (may be ""), message. */
typedef struct {
    char code[32];
    char field[160];
    char message[256];
} ic_err_t;

/* endpoints: "tcp://127.0.0.1:5601[,tcp://…]"; at most max_sockets sockets
 * are open at once (more callers wait). NULL on failure. */
ic_t *ic_new(void *zctx, const char *endpoints, int timeout_ms, int max_sockets);
void ic_destroy(ic_t **self_p);

/* Sends {"v":1,"op":op,"id":id,"body":body} (body may be NULL; id may be
 * NULL for a read, a correlation id is then made up) and waits for the
 * reply. 0 with *result (a new reference) on ok; -1 with e filled on an
 * error reply, a body the contract cannot carry (invalid_field, too_large)
 * or no answer in time (unavailable). */
int ic_call(ic_t *self, const char *op, const char *id, const json_t *body, json_t **result,
            ic_err_t *e);

#endif
