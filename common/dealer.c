/* dealer.c — request and reply over a DEALER socket (see dealer.h). */
#include "dealer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "mp.h"
#include "svc.h"

void *dealer_new(void *zctx, const dealer_opts_t *o)
{
    void *s = zmq_socket(zctx, ZMQ_DEALER);
    if (!s)
        return NULL;
    int linger = 0, immediate = o->immediate ? 1 : 0;
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(s, ZMQ_IMMEDIATE, &immediate, sizeof immediate) != 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &o->max_reply, sizeof o->max_reply) != 0 ||
        /* a fresh socket connects in the background: sending waits for it */
        zmq_setsockopt(s, ZMQ_SNDTIMEO, &o->send_timeout_ms, sizeof o->send_timeout_ms) != 0) {
        int e = errno;
        zmq_close(s);
        errno = e;
        return NULL;
    }
    return s;
}

int dealer_connect(void *s, const char *endpoints, int *err_no, char *err, size_t errsz)
{
    int connected = 0, failed = 0;
    for (const char *ep = endpoints; *ep;) {
        while (*ep == ' ')
            ep++;
        size_t n = strcspn(ep, ",");
        char one[1024];
        snprintf(one, sizeof one, "%.*s", (int)n, ep);
        ep += n + (ep[n] == ',');
        if (!one[0])
            continue;
        if (zmq_connect(s, one) == 0) {
            connected++;
        } else if (!failed++) {
            *err_no = zmq_errno();
            snprintf(err, errsz, "cannot use endpoint %s: %s", one, zmq_strerror(*err_no));
        }
    }
    if (!connected && !failed) {
        *err_no = EINVAL;
        snprintf(err, errsz, "no endpoint given");
    }
    return connected;
}

/* Drops anything still queued on s and lets libzmq process its pending
 * commands now. A non-blocking receive that finds nothing does both and
 * resets libzmq's receive counter, so the two frames of the reply that
 * follows are read without commands processed between them (libzmq 4.3 does
 * that every 100th receive; with ZMQ_IMMEDIATE, a disconnect processed there
 * ends the pipe mid-reply and aborts in fq.cpp "!_more"). */
static void settle(void *s)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (zmq_msg_recv(&msg, s, ZMQ_DONTWAIT) >= 0)
        ;
    zmq_msg_close(&msg);
}

/* Receives one message: an empty delimiter then the body, copied to *raw.
 * 0 done, -1 nothing until the deadline, -2 not framed so (dropped). */
static int recv_one(void *s, int64_t deadline, char **raw, size_t *len)
{
    *raw = NULL;
    for (;;) {
        int64_t left = deadline - svc_now_ms();
        if (left <= 0)
            return -1;
        zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&item, 1, (long)left);
        if (rc < 0 && zmq_errno() != EINTR)
            return -1;
        if (rc <= 0)
            continue;
        int frames = 0, bad = 0, more = 1;
        while (more) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, s, frames == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close(&msg);
                if (frames == 0 && zmq_errno() == EAGAIN)
                    break; /* woken for nothing: wait again */
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
                if (*raw) {
                    memcpy(*raw, zmq_msg_data(&msg), size);
                    *len = size;
                }
            }
            zmq_msg_close(&msg);
            frames++;
        }
        if (frames == 0)
            continue;
        if (bad || frames != 2 || !*raw) {
            free(*raw);
            *raw = NULL;
            return -2;
        }
        return 0;
    }
}

/* Whose answer the unpacked envelope o is: 1 this request's (id echoed, or
 * none given), 0 another's. */
static int answers(const msgpack_object *o, const char *id)
{
    const msgpack_object *rid = mp_get(o, "id");
    if (!rid || rid->type == MSGPACK_OBJECT_NIL || mp_str_is(rid, ""))
        return 1;
    return mp_str_is(rid, id);
}

static int invalid(char *err, size_t errsz, const char *why)
{
    snprintf(err, errsz, "invalid reply: %s", why);
    return DEALER_INVALID;
}

/* Checks the envelope {"v":1,"ok":bool,"result"|"error"} of rep. */
static int check_envelope(dealer_reply_t *rep, char *err, size_t errsz)
{
    const msgpack_object *o = &rep->unpacked.data;
    int64_t v;
    if (mp_int(mp_get(o, "v"), &v) != 0 || v != 1)
        return invalid(err, errsz, "protocol version is not 1");
    const msgpack_object *ok = mp_get(o, "ok");
    if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN)
        return invalid(err, errsz, "no boolean ok");
    rep->ok = ok->via.boolean;
    if (rep->ok) {
        rep->result = mp_get(o, "result");
        return rep->result ? DEALER_OK : invalid(err, errsz, "ok without a result");
    }
    rep->error = mp_get(o, "error");
    const msgpack_object *code = mp_get(rep->error, "code");
    if (!code || code->type != MSGPACK_OBJECT_STR || code->via.str.size == 0)
        return invalid(err, errsz, "an error without a code");
    return DEALER_OK;
}

int dealer_call(void *s, const char *req, size_t len, const char *id, int64_t deadline_ms,
                dealer_reply_t *rep, char *err, size_t errsz)
{
    memset(rep, 0, sizeof *rep);
    msgpack_unpacked_init(&rep->unpacked);
    settle(s);
    if (zmq_send(s, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(s, req, len, 0) != (int)len) {
        snprintf(err, errsz, "send: %s", zmq_strerror(zmq_errno()));
        return DEALER_UNSENT;
    }
    int skipped = 0;
    for (;;) {
        int got = recv_one(s, deadline_ms, &rep->raw, &rep->len);
        if (got == -1) {
            if (skipped)
                snprintf(err, errsz, "no answer in time (skipped %d message%s that did not "
                         "answer this request)", skipped, skipped == 1 ? "" : "s");
            else
                snprintf(err, errsz, "no answer in time");
            return DEALER_TIMEOUT;
        }
        if (got == -2) {
            skipped++;
            continue;
        }
        mp_err_t me = mp_unpack(rep->raw, rep->len, &rep->unpacked);
        if (me != MP_OK || rep->unpacked.data.type != MSGPACK_OBJECT_MAP) {
            int rc = invalid(err, errsz, me != MP_OK ? mp_strerror(me) : "not a MessagePack map");
            dealer_reply_free(rep);
            return rc;
        }
        if (!answers(&rep->unpacked.data, id)) {
            skipped++; /* a late answer to an earlier request: not ours */
            dealer_reply_free(rep);
            continue;
        }
        int rc = check_envelope(rep, err, errsz);
        if (rc != DEALER_OK)
            dealer_reply_free(rep);
        return rc;
    }
}

void dealer_reply_free(dealer_reply_t *rep)
{
    msgpack_unpacked_destroy(&rep->unpacked);
    msgpack_unpacked_init(&rep->unpacked);
    free(rep->raw);
    rep->raw = NULL;
    rep->len = 0;
    rep->ok = false;
    rep->result = rep->error = NULL;
}
