/* bus.c — PUB/SUB helpers for the event bus. */
#include "bus.h"

#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "mp.h"

/* Options of every bus socket, before its connect. In secure mode that
 * includes the CURVE client keys: the broker's public key AID_BUS_PUBKEY and
 * this service's pair AID_SERVICE_SECRETKEY[_FILE] (common/curve.h).
 * 0, or -1 (logged). */
static int set_common(void *s)
{
    int linger = 0, hwm = 100000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    return curve_client_setup(s, "AID_BUS_PUBKEY", "AID_SERVICE");
}

void *bus_pub_open(void *zctx, const char *endpoint)
{
    void *s = zmq_socket(zctx, ZMQ_PUB);
    if (!s)
        return NULL;
    if (set_common(s) != 0 || zmq_connect(s, endpoint) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

void *bus_pub_open_monitored(void *zctx, const char *endpoint, int events, void **monitor)
{
    *monitor = NULL;
    void *s = zmq_socket(zctx, ZMQ_PUB);
    if (!s)
        return NULL;
    if (set_common(s) != 0) {
        zmq_close(s);
        return NULL;
    }
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://bus-monitor-%p", s);
    void *m = NULL;
    if (zmq_socket_monitor(s, ep, events) != 0 || !(m = zmq_socket(zctx, ZMQ_PAIR)) ||
        zmq_connect(m, ep) != 0 || zmq_connect(s, endpoint) != 0) {
        if (m)
            zmq_close(m);
        zmq_close(s);
        return NULL;
    }
    *monitor = m;
    return s;
}

void *bus_sub_open(void *zctx, const char *endpoint, const char *const *topics)
{
    void *s = zmq_socket(zctx, ZMQ_SUB);
    if (!s)
        return NULL;
    if (set_common(s) != 0) {
        zmq_close(s);
        return NULL;
    }
    int64_t maxsz = 1 << 20;
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz);
    for (; topics && *topics; topics++)
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, *topics, strlen(*topics));
    if (zmq_connect(s, endpoint) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

int bus_publish(void *pub, const char *topic, const void *body, size_t len)
{
    if (zmq_send(pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    return zmq_send(pub, body, len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

int bus_recv(void *sub, char *topic, size_t topicsz, void *body, size_t bodysz)
{
    zmq_msg_t m;
    int frames = 0, blen = -1, more;
    do {
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return -1;
        }
        size_t n = zmq_msg_size(&m);
        if (frames == 0) {
            if (n >= topicsz)
                n = topicsz - 1;
            memcpy(topic, zmq_msg_data(&m), n);
            topic[n] = '\0';
        } else if (frames == 1 && n <= bodysz) {
            memcpy(body, zmq_msg_data(&m), n);
            blen = (int)n;
        }
        frames++;
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    } while (more);
    return frames == 2 && blen >= 0 ? blen : -2;
}

int bus_seq_gap(int64_t *last, int64_t seq)
{
    int gap = *last > 0 && seq > *last + 1;
    if (seq > *last)
        *last = seq;
    return gap;
}

void bus_committed_body(msgpack_sbuffer *sb, int64_t seq, int count, int64_t last_report)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1 + (count >= 0) + (last_report >= 0));
    mp_pack_kv_int(&pk, "seq", seq);
    if (count >= 0)
        mp_pack_kv_int(&pk, "count", count);
    if (last_report >= 0)
        mp_pack_kv_int(&pk, "last_report", last_report);
}

int bus_publish_seq(void *pub, const char *topic, const void *body, size_t len, int64_t *seq)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (mp_unpack(body, len, &u) == MP_OK && u.data.type == MSGPACK_OBJECT_MAP) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        const msgpack_object_map *m = &u.data.via.map;
        msgpack_pack_map(&pk, m->size);
        for (uint32_t i = 0; i < m->size; i++) {
            msgpack_pack_object(&pk, m->ptr[i].key);
            if (mp_str_is(&m->ptr[i].key, "seq"))
                msgpack_pack_int64(&pk, ++*seq);
            else
                msgpack_pack_object(&pk, m->ptr[i].val);
        }
        body = sb.data;
        len = sb.size;
    }
    int rc = bus_publish(pub, topic, body, len);
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&u);
    return rc;
}
