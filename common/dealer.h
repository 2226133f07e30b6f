/* dealer.h — one request and its reply over a ZeroMQ DEALER to intake's
 * ROUTER: the client side of the contract's envelope, shared by the gateway's
 * socket pool and aidctl.
 *
 * The caller makes the socket (dealer_new), sets up CURVE on it as its secure
 * mode asks (before any connect), connects it (dealer_connect), then calls.
 * A call sends [""][request] and waits until a deadline for the reply that
 * answers it: the message [""][envelope] whose id echoes the request's, or
 * that has no id (absent, nil or "") — intake sends that when it could not
 * read the request's id, and a socket with one request in flight can be
 * answered about nothing else. Replies for other ids (a late answer to an
 * earlier request) and messages not framed as [""][body] are skipped. The
 * reply's envelope is checked (v 1, boolean ok, a result, or an error with a
 * string code) before any of it is believed. */
#ifndef AID_COMMON_DEALER_H
#define AID_COMMON_DEALER_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int send_timeout_ms;  /* how long a send waits for a connection (ZMQ_SNDTIMEO) */
    int64_t max_reply;    /* bytes; a larger message is refused (ZMQ_MAXMSGSIZE) */
    bool immediate;       /* queue only on live connections (ZMQ_IMMEDIATE) */
} dealer_opts_t;

typedef struct {
    char *raw;                      /* the reply bytes; the objects point into them */
    size_t len;
    msgpack_unpacked unpacked;
    bool ok;
    const msgpack_object *result;   /* when ok */
    const msgpack_object *error;    /* when !ok: a map with a non-empty string code */
} dealer_reply_t;

typedef enum {
    DEALER_OK = 0,
    DEALER_UNSENT = -1,     /* the send failed: no peer connected within send_timeout_ms */
    DEALER_TIMEOUT = -2,    /* no answer to this request by the deadline */
    DEALER_INVALID = -3     /* an answer that is no valid reply envelope */
} dealer_rc_t;

/* A new DEALER on zctx (linger 0) with the options o; NULL on failure (errno). */
void *dealer_new(void *zctx, const dealer_opts_t *o);

/* Connects s to each endpoint of a comma-separated list (spaces before an
 * endpoint ignored). Returns how many connected; on a failure, err names
 * the first endpoint that failed and why, and *err_no holds its errno. */
int dealer_connect(void *s, const char *endpoints, int *err_no, char *err, size_t errsz);

/* Drops anything still queued on s, sends req[0..len) and waits until
 * deadline_ms (svc_now_ms's clock) for the reply to id. DEALER_OK with *rep
 * filled (free it with dealer_reply_free; it is initialised in every case),
 * else a dealer_rc_t with err saying why. After anything but DEALER_OK the
 * socket may still receive a late answer: close it rather than reuse it. */
int dealer_call(void *s, const char *req, size_t len, const char *id, int64_t deadline_ms,
                dealer_reply_t *rep, char *err, size_t errsz);
void dealer_reply_free(dealer_reply_t *rep);

#endif
