/* bus.h — the event bus over ZeroMQ PUB/SUB, through the broker service.
 *
 * Publishers connect a PUB socket to the broker's XSUB side (AID_BUS_PUB);
 * subscribers connect a SUB socket to its XPUB side (AID_BUS_SUB). A message
 * is two frames: the topic ("referral.civil", "report.committed", …) and a
 * MessagePack map that carries a per-stream "seq". The bus is a fast path:
 * every event is durable in Postgres before it is published, and consumers
 * catch up from Postgres, so a dropped message only delays. */
#ifndef AID_COMMON_BUS_H
#define AID_COMMON_BUS_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* A PUB socket connected to endpoint; NULL on error (errno from zmq). */
void *bus_pub_open(void *zctx, const char *endpoint);
/* Like bus_pub_open, but first starts a monitor of connection events and
 * connects *monitor (a PAIR socket) to it, so not even the first CONNECTED
 * event is missed. events is a ZMQ_EVENT_* mask. */
void *bus_pub_open_monitored(void *zctx, const char *endpoint, int events, void **monitor);
/* bus_publish of a MessagePack map whose "seq" key becomes ++*seq (the
 * publisher's own stream); any other body is sent as it is. 0 or -1. */
int bus_publish_seq(void *pub, const char *topic, const void *body, size_t len, int64_t *seq);
/* Packs the body of a `report.committed` wake-up (proto/README.md §10) into
 * sb: {"seq": seq}, then "count" unless count < 0 and "last_report" unless
 * last_report < 0 (intake: all three; a trigger's wake-up: seq only; the
 * disaster worker: seq and count). */
void bus_committed_body(msgpack_sbuffer *sb, int64_t seq, int count, int64_t last_report);
/* A SUB socket connected to endpoint and subscribed to each prefix in
 * topics (NULL-terminated). */
void *bus_sub_open(void *zctx, const char *endpoint, const char *const *topics);
/* Sends topic + body; never blocks (a full queue drops, by design). 0 or -1. */
int bus_publish(void *pub, const char *topic, const void *body, size_t len);
/* Receives one event without blocking. Copies the topic into topic (NUL
 * terminated) and returns the body length copied into body; -1 when none is
 * waiting (or on a socket error), -2 when one was read but malformed (not
 * two frames, or a body larger than bodysz): it is dropped. */
int bus_recv(void *sub, char *topic, size_t topicsz, void *body, size_t bodysz);

/* Sequence tracking per stream: returns 1 when seq skips past last+1 (a gap:
 * the caller catches up from the database), 0 otherwise; updates *last. */
int bus_seq_gap(int64_t *last, int64_t seq);

#endif
