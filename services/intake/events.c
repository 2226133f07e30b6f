/* events.c — the front door's events: what intake publishes on the bus (the
 * report path's wake-up, its "seq" numbered in intake's stream) and the bus
 * publisher's connection state. Intake's own operations are reads; every
 * write is its owner's, run exactly once there with its events held until
 * COMMIT (common/serve.c), so the front door keeps no outbox. */
#include "door.h"

#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "log.h"

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

/* opctx publish of intake's own (read) operations: sent at once. */
void intake_publish(opctx_t *c, const char *topic, const void *body, size_t len)
{
    send_event(c->host, topic, body, len);
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
