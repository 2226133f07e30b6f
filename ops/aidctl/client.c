/* client.c — aidctl's exchange with the intake API over common/dealer.c, and
 * its CURVE keys (AID_CLIENT_…). */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "svc.h"

int client_curve(void *sock, char *err, size_t errsz)
{
    char server[CURVE_KEY_LEN + 1];
    int rc = curve_pubkey_load("AID_INTAKE_PUBKEY", server);
    if (rc == 1 && !curve_secure())
        return 0; /* plaintext */
    if (rc != 0) {
        snprintf(err, errsz, "secure mode needs AID_INTAKE_PUBKEY, the intake's public key (%s)",
                 rc == 1 ? "not set" : "not a Z85 key of 40 characters");
        return -1;
    }
    curve_keypair_t kp;
    rc = curve_keypair_load("AID_CLIENT", &kp);
    if (rc != 0) {
        snprintf(err, errsz,
                 "secure mode needs this client's key: AID_CLIENT_SECRETKEY or "
                 "AID_CLIENT_SECRETKEY_FILE (%s)",
                 rc == 1 ? "not set" : "unusable, or not the pair of AID_CLIENT_PUBKEY");
        return -1;
    }
    rc = curve_client(sock, server, kp.public_key, kp.secret_key);
    curve_keypair_wipe(&kp);
    if (rc != 0)
        snprintf(err, errsz, "cannot set the CURVE options of the socket");
    return rc;
}

int client_call(const char *endpoint, int timeout_ms, const char *req, size_t len,
                const char *id, dealer_reply_t *rep, char *err, size_t errsz)
{
    memset(rep, 0, sizeof *rep);
    msgpack_unpacked_init(&rep->unpacked);
    int64_t deadline = svc_now_ms() + timeout_ms;
    void *ctx = zmq_ctx_new();
    if (!ctx) {
        snprintf(err, errsz, "zmq context: %s", zmq_strerror(zmq_errno()));
        return 3;
    }
    int rc = 3;
    /* A comma-separated list (intake replicas, AID_INTAKE_API of a replicated
     * stack): the request goes to one that is connected. */
    dealer_opts_t opts = {.send_timeout_ms = timeout_ms, .max_reply = CLIENT_MAX_REPLY,
                          .immediate = strchr(endpoint, ',') != NULL};
    void *sock = dealer_new(ctx, &opts);
    if (!sock) {
        snprintf(err, errsz, "zmq socket: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    if (client_curve(sock, err, errsz) != 0) { /* before any connect */
        rc = 2;
        goto out;
    }
    int e = 0;
    dealer_connect(sock, endpoint, &e, err, errsz);
    if (e) {
        rc = e == EINVAL || e == EPROTONOSUPPORT || e == ENOCOMPATPROTO ? 2 : 3;
        goto out;
    }
    int got = dealer_call(sock, req, len, id, deadline, rep, err, errsz);
    if (got == DEALER_TIMEOUT)
        snprintf(err, errsz, "no answer within %d ms", timeout_ms);
    rc = got == DEALER_OK ? 0 : 3;
out:
    if (sock)
        zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}
