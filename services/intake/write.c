/* write.c — the front door's writes: an operation's handler runs in its own
 * transaction, exactly once by its request id (common/write.h: the id, the
 * body's hash and the answer are recorded in the same transaction), and the
 * events it publishes wait in an outbox until that transaction commits
 * (dropped when it rolls back). Also the bus publisher's connection state. */
#include "door.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "log.h"
#include "mp.h"
#include "write.h"

/* Sends one event, giving its "seq" key the next number of intake's stream. */
static void send_event(intake_t *in, const char *topic, const void *body, size_t len)
{
    if (bus_publish_seq(in->pub, topic, body, len, &in->seq) != 0)
        log_debug("bus.publish_dropped", "topic", LOG_S(topic), NULL);
}

void intake_publish_now(intake_t *in, const char *topic, const void *body, size_t len)
{
    send_event(in, topic, body, len);
}

void intake_publish(opctx_t *c, const char *topic, const void *body, size_t len)
{
    intake_t *in = c->host;
    if (!in->outbox.open) {
        send_event(in, topic, body, len);
        return;
    }
    if (in->outbox.n == OUTBOX_MAX) {
        /* only a delay: consumers catch up from Postgres */
        log_warn("bus.outbox_full", "topic", LOG_S(topic), NULL);
        return;
    }
    outbox_t *o = &in->outbox.ev[in->outbox.n];
    o->body = malloc(len ? len : 1);
    if (!o->body)
        return;
    memcpy(o->body, body, len);
    o->len = len;
    snprintf(o->topic, sizeof o->topic, "%s", topic);
    in->outbox.n++;
}

/* After a write's COMMIT (send) or rollback (drop): empties the outbox. */
static void outbox_flush(intake_t *in, bool send)
{
    for (int i = 0; i < in->outbox.n; i++) {
        if (send)
            send_event(in, in->outbox.ev[i].topic, in->outbox.ev[i].body, in->outbox.ev[i].len);
        free(in->outbox.ev[i].body);
    }
    in->outbox.n = 0;
    in->outbox.open = false;
}

bool intake_bus_connected(intake_t *in)
{
    /* drain the monitor: event frames are a 16-bit id + 32-bit value, then an address */
    for (int i = 0; i < 1000; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, in->pub_monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        if (zmq_msg_size(&m) >= 2) {
            uint16_t ev;
            memcpy(&ev, zmq_msg_data(&m), 2);
            in->bus_up = ev == ZMQ_EVENT_CONNECTED;
        }
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (more) {
            zmq_msg_init(&m);
            zmq_msg_recv(&m, in->pub_monitor, 0);
            zmq_msg_close(&m);
        }
    }
    return in->bus_up;
}

/* Wakes eligibility after a write that may have filed a report. */
static void publish_wakeup(intake_t *self)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    mp_pack_kv_int(&pk, "seq", ++self->seq);
    bus_publish(self->pub, "report.committed", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

typedef struct {
    intake_t *self;
    const op_handler_t *op;
    const proto_request_t *req;
} write_ctx_t;

/* write_fn of an op's handler: the events it publishes wait for COMMIT. */
static int write_handler(void *arg, msgpack_packer *pk, proto_error_t *err)
{
    write_ctx_t *c = arg;
    c->self->outbox.open = true;
    opctx_t ctx = intake_ctx(c->self);
    return c->op->handle(&ctx, c->req, pk, err);
}

/* A write in its own transaction, exactly once by its id (common/write.h). */
void intake_run_write(intake_t *self, inbound_t *in, const op_handler_t *op,
                      const proto_request_t *req)
{
    proto_error_t e;
    msgpack_sbuffer reply;
    msgpack_sbuffer_init(&reply);
    write_ctx_t c = {self, op, req};
    bool fresh = false;
    if (write_once(self->store, req->id, op->name, req->body, write_handler, &c, &reply, &fresh,
                   &e) == 0) {
        intake_reply_ok(self, in, req->id, &reply);
        if (fresh) {
            outbox_flush(self, true);
            publish_wakeup(self);
        }
    } else {
        outbox_flush(self, false);
        intake_reply_error(self, in, req->id, &e);
    }
    msgpack_sbuffer_destroy(&reply);
}
