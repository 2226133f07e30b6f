/* client.h — one request, one reply over a ZeroMQ DEALER socket to the
 * intake ROUTER, and a checked reading of the reply envelope. */
#ifndef AIDCTL_CLIENT_H
#define AIDCTL_CLIENT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#define CLIENT_MAX_REPLY (16 * 1024 * 1024) /* bytes; anything larger is refused */

typedef struct {
    char *raw;                      /* the reply bytes; the objects point into them */
    size_t len;
    msgpack_unpacked unpacked;
    bool ok;
    const msgpack_object *result;   /* when ok */
    const msgpack_object *error;    /* when !ok: a map with at least a string code */
} client_reply_t;

/* Sends req[0..len) to endpoint and waits up to timeout_ms for the reply,
 * which must be a well-formed envelope echoing id. Returns 0 with *rep
 * filled (free it with client_reply_free), 2 when the endpoint is invalid,
 * 3 on no answer or an unusable reply; err then says why. */
int client_call(const char *endpoint, int timeout_ms, const char *req, size_t len,
                const char *id, client_reply_t *rep, char *err, size_t errsz);
void client_reply_free(client_reply_t *rep);
/* Secure mode — AID_SECURE=1, or AID_INTAKE_PUBKEY set: makes sock (before
 * its connect) a CURVE client of the intake, whose public key is
 * AID_INTAKE_PUBKEY, with this client's pair AID_CLIENT_SECRETKEY or
 * AID_CLIENT_SECRETKEY_FILE (+ AID_CLIENT_PUBKEY, checked when set). 0 (also
 * in plaintext mode), or -1 with err filled (never with a key in it). */
int client_curve(void *sock, char *err, size_t errsz);

#endif
