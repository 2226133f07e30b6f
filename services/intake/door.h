/* door.h — the front door's insides, shared by its files:
 *   intake.c  the socket and ZAP, the envelope, limits, authentication, the
 *             operation registry, forwarding to owners, the loop;
 *   events.c  what intake publishes on the bus (its operations are reads:
 *             every write is forwarded to its owner);
 *   audit.c   reads answered only once their audit rows are committed;
 * and the report path it hands report.submit to answers through intake.c's
 * functions (services/report/submit.h: submit_door_t), without this file. */
#ifndef AID_INTAKE_DOOR_H
#define AID_INTAKE_DOOR_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#include "cache.h"
#include "curve.h"
#include "forward.h"
#include "metrics.h"
#include "ops.h"
#include "pgarr.h"
#include "proto.h"
#include "ratelimit.h"
#include "store.h"
#include "submit.h" /* services/report: report.submit's group commit */

#define BATCH_MAX 256         /* requests read in one pass of the loop */
#define INTAKE_LINGER_MS 5    /* ms from a small group commit (under BATCH_MAX / 4
                                 requests) to the next one (AID_INTAKE_LINGER_MS) */
#define MAX_ROUTE_FRAMES 8

/* One request waiting for its reply: the ROUTER route frames and the body. */
typedef struct {
    zmq_msg_t route[MAX_ROUTE_FRAMES];
    int nroute;
    zmq_msg_t body;
    int64_t t_us;             /* when it was read (monotonic), for the latency histogram */
    char client[CURVE_NAME_MAX + 1]; /* the sender: its ZAP User-Id (secure mode), else "" */
} inbound_t;

/* A read's answer held until its audit rows are committed (R-AUDIT): the
 * reads of one loop iteration share one INSERT and one commit. */
typedef struct {
    zmq_msg_t route[MAX_ROUTE_FRAMES];
    int nroute;
    char *id;                 /* the request id, for an error answer */
    msgpack_sbuffer reply;    /* the whole answer, ready to send */
} held_t;


struct intake {
    /* intake.c: sockets, limits, the requests of a pass */
    void *zctx;
    void *router;             /* the API socket */
    curve_zap_t *zap;         /* the ZAP handler (secure mode), else NULL */
    forward_t *fw;            /* the owners of the operations intake forwards */
    ratelimit_t *rl;          /* token buckets per client key; NULL: no limits */
    int64_t rl_logged_us;     /* when rate limiting was last logged */
    int64_t rl_refused;       /* requests refused rate_limited since then */
    int64_t linger_ms;        /* INTAKE_LINGER_MS, or AID_INTAKE_LINGER_MS */
    store_t *store;
    cache_t *cache;
    inbound_t *inbound;       /* BATCH_MAX slots */
    const char *cur_client;   /* the request being handled: its sender's name, or "" */
    submit_t *submit;         /* report.submit's group commit (services/report) */
    /* events.c: the bus */
    void *pub;                /* bus publisher */
    void *pub_monitor;        /* connection events of pub */
    bool bus_up;              /* pub connected to the broker, per the monitor */
    int64_t seq;              /* report.committed stream sequence */
    /* audit.c: held reads */
    struct {
        bool added;           /* the read being handled added audit rows */
        pgarr_t who, action, cases, detail; /* the rows of the held reads, one per read */
        int rows;             /* reads in the arrays */
        held_t *held;         /* BATCH_MAX slots */
        int n_held;
    } audit;
    /* metrics, served on AID_METRICS_PORT */
    metrics_t *metrics;
    metric_t *m_requests, *m_received, *m_decided, *m_errors, *m_depth, *m_batches, *m_latency;
    metric_t *m_limited;      /* requests refused rate_limited */
};

/* The sender of the request being handled: its key's name, or "local". */
const char *intake_client(intake_t *in);
/* What intake's own handlers see (common/opctx.h): its store and cache, the
 * sender, audit.c's held reads and events.c's publish. */
opctx_t intake_ctx(intake_t *self);

/* Monotonic microseconds. */
int64_t intake_now_us(void);

/* Answers in: {ok:false, error} (counted, logged but for not_found and
 * rate_limited), or {ok:true, result: <bytes of result>}. */
void intake_reply_error(intake_t *self, inbound_t *in, const char *id, const proto_error_t *e);
void intake_reply_ok(intake_t *self, inbound_t *in, const char *id, const msgpack_sbuffer *result);

/* events.c: sends an event at once, its "seq" key numbered in intake's
 * stream (the report path's wake-up). */
void intake_publish_now(intake_t *self, const char *topic, const void *body, size_t len);
/* events.c: opctx publish of intake's own (read) operations: sent at once. */
void intake_publish(opctx_t *c, const char *topic, const void *body, size_t len);

/* audit.c: registers the statement of the audit rows. */
void intake_audit_prepare(store_t *store);
/* audit.c: opctx audit — records a read's rows; its answer waits for them. */
int intake_audit_read(opctx_t *c, const char *action, const char *case_ids,
                      const char *request_id);
/* audit.c: runs a read op; an answer whose read added audit rows is held
 * until intake_flush_held has committed them. */
void intake_run_read(intake_t *self, inbound_t *in, const op_handler_t *op,
                     const proto_request_t *req);
/* Commits the held reads' audit rows (one statement), then answers them;
 * every one unavailable when the rows could not be written. */
void intake_flush_held(intake_t *self);
/* Frees the audit arrays (the held reads were all answered). */
void intake_audit_free(intake_t *self);

#endif
