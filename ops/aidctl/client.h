/* client.h — aidctl's one request and reply to the intake ROUTER: a fresh
 * DEALER (common/dealer.c, which reads and checks the reply) with aidctl's
 * own secure mode. */
#ifndef AIDCTL_CLIENT_H
#define AIDCTL_CLIENT_H

#include <stddef.h>

#include "dealer.h"

#define CLIENT_MAX_REPLY (16 * 1024 * 1024) /* bytes; anything larger is refused */

/* Sends req[0..len) to endpoint and waits up to timeout_ms for the reply,
 * which must be a well-formed envelope echoing id (or, for an error about a
 * request intake could not read, naming none). Returns 0 with *rep filled
 * (free it with dealer_reply_free), 2 when the endpoint is invalid,
 * 3 on no answer or an unusable reply; err then says why. */
int client_call(const char *endpoint, int timeout_ms, const char *req, size_t len,
                const char *id, dealer_reply_t *rep, char *err, size_t errsz);
/* Secure mode — AID_SECURE=1, or AID_INTAKE_PUBKEY set: makes sock (before
 * its connect) a CURVE client of the intake, whose public key is
 * AID_INTAKE_PUBKEY, with this client's pair AID_CLIENT_SECRETKEY or
 * AID_CLIENT_SECRETKEY_FILE (+ AID_CLIENT_PUBKEY, checked when set). 0 (also
 * in plaintext mode), or -1 with err filled (never with a key in it). */
int client_curve(void *sock, char *err, size_t errsz);

#endif
