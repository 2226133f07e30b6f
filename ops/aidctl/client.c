/* client.c — the DEALER exchange with the intake API and the reply checks:
 * the reply is unpacked with mp_unpack and its envelope checked before any
 * of it is believed. */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "mp.h"
#include "svc.h"

/* Receives one whole message (all its frames), waiting at most until
 * deadline_ms (timeout_ms after the start). Returns 0 with the body copied
 * to a new buffer in *raw (length *len), -1 on timeout or error (err filled). */
static int recv_reply(void *sock, int64_t deadline_ms, int timeout_ms, char **raw, size_t *len,
                      char *err, size_t errsz)
{
    for (;;) {
        int64_t left = deadline_ms - svc_now_ms();
        if (left <= 0) {
            snprintf(err, errsz, "no answer within %d ms", timeout_ms);
            return -1;
        }
        zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&item, 1, (long)left);
        if (rc < 0 && zmq_errno() == EINTR)
            continue;
        if (rc < 0) {
            snprintf(err, errsz, "poll: %s", zmq_strerror(zmq_errno()));
            return -1;
        }
        if (rc > 0)
            break;
    }
    /* expected: an empty delimiter frame, then the body, nothing more */
    int frames = 0, bad = 0;
    int more = 1;
    while (more) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, frames == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            snprintf(err, errsz, "receive: %s", zmq_strerror(zmq_errno()));
            zmq_msg_close(&msg);
            free(*raw);
            *raw = NULL;
            return -1;
        }
        more = zmq_msg_more(&msg);
        size_t size = zmq_msg_size(&msg);
        if (frames == 0 && size != 0)
            bad = 1;
        if (frames == 1 && !bad) {
            *raw = malloc(size ? size : 1);
            if (!*raw)
                bad = 2;
            else {
                memcpy(*raw, zmq_msg_data(&msg), size);
                *len = size;
            }
        }
        zmq_msg_close(&msg);
        frames++;
    }
    if (bad || frames != 2) {
        free(*raw);
        *raw = NULL;
        snprintf(err, errsz, "%s", bad == 2 ? "out of memory"
                                  : "malformed reply (expected an empty frame and a body)");
        return -1;
    }
    return 0;
}

/* Checks the envelope {"v":1,"id":id,"ok":bool,"result"|"error"}. */
static int check_envelope(client_reply_t *rep, const char *id, char *err, size_t errsz)
{
    const msgpack_object *o = &rep->unpacked.data;
    if (o->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errsz, "invalid reply: not a MessagePack map");
        return -1;
    }
    int64_t v;
    if (mp_int(mp_get(o, "v"), &v) != 0 || v != 1) {
        snprintf(err, errsz, "invalid reply: protocol version is not 1");
        return -1;
    }
    const msgpack_object *ok = mp_get(o, "ok");
    if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN) {
        snprintf(err, errsz, "invalid reply: no boolean ok");
        return -1;
    }
    rep->ok = ok->via.boolean;
    /* an error about an envelope the server could not read echoes id "" */
    const msgpack_object *rid = mp_get(o, "id");
    if (!mp_str_is(rid, id) && (rep->ok || !mp_str_is(rid, ""))) {
        snprintf(err, errsz, "invalid reply: its id does not echo the request's");
        return -1;
    }
    if (rep->ok) {
        rep->result = mp_get(o, "result");
        if (!rep->result) {
            snprintf(err, errsz, "invalid reply: ok without a result");
            return -1;
        }
        return 0;
    }
    rep->error = mp_get(o, "error");
    const msgpack_object *code = mp_get(rep->error, "code");
    if (!code || code->type != MSGPACK_OBJECT_STR || code->via.str.size == 0) {
        snprintf(err, errsz, "invalid reply: an error without a code");
        return -1;
    }
    return 0;
}

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
                const char *id, client_reply_t *rep, char *err, size_t errsz)
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
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    int64_t maxsize = CLIENT_MAX_REPLY;
    if (!sock || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms) != 0 ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize) != 0) {
        snprintf(err, errsz, "zmq socket: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    if (client_curve(sock, err, errsz) != 0) { /* before any connect */
        rc = 2;
        goto out;
    }
    /* A comma-separated list (intake replicas, AID_INTAKE_API of a replicated
     * stack): connect to each; the request goes to one that is connected. */
    if (strchr(endpoint, ',')) {
        int immediate = 1;
        zmq_setsockopt(sock, ZMQ_IMMEDIATE, &immediate, sizeof immediate);
    }
    for (const char *ep = endpoint; *ep;) {
        size_t n = strcspn(ep, ",");
        char one[1024];
        snprintf(one, sizeof one, "%.*s", (int)n, ep);
        ep += n + (ep[n] == ',');
        if (one[0] && zmq_connect(sock, one) != 0) {
            int e = zmq_errno();
            snprintf(err, errsz, "cannot use endpoint %s: %s", one, zmq_strerror(e));
            rc = e == EINVAL || e == EPROTONOSUPPORT || e == ENOCOMPATPROTO ? 2 : 3;
            goto out;
        }
    }
    if (zmq_send(sock, "", 0, ZMQ_SNDMORE) != 0 || zmq_send(sock, req, len, 0) != (int)len) {
        snprintf(err, errsz, "send: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    if (recv_reply(sock, deadline, timeout_ms, &rep->raw, &rep->len, err, errsz) != 0)
        goto out;
    mp_err_t me = mp_unpack(rep->raw, rep->len, &rep->unpacked);
    if (me != MP_OK) {
        snprintf(err, errsz, "invalid reply: %s", mp_strerror(me));
        goto out;
    }
    if (check_envelope(rep, id, err, errsz) != 0)
        goto out;
    rc = 0;
out:
    if (sock)
        zmq_close(sock);
    zmq_ctx_term(ctx);
    if (rc != 0)
        client_reply_free(rep);
    return rc;
}

void client_reply_free(client_reply_t *rep)
{
    msgpack_unpacked_destroy(&rep->unpacked);
    msgpack_unpacked_init(&rep->unpacked);
    free(rep->raw);
    rep->raw = NULL;
    rep->result = rep->error = NULL;
}
