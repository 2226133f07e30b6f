/* casework — the owner of the review procedure (POLICY.md §16): review.queue,
 * review.step, review.draw, calendar.set, calendar.get, case.search (the
 * case list of a township or village) and recheck.open (R-RECHECK) behind the front door
 * (common/owner.h). Reads are answered with owner_answer, writes with
 * owner_answer_write (each request id runs once, in the transaction that
 * records it). Connects to Postgres as aid_casework. */
#include <stdlib.h>
#include <string.h>

#include "casework.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "svc.h"
#include "write.h"

int main(void)
{
    svc_init("casework");
    svc_require_pii();
    static casework_t cw;
    cw.store = store_new(config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    void *zctx = zmq_ctx_new();
    if (!cw.store || !zctx)
        return 1;
    write_prepare(cw.store);
    params_store_prepare(cw.store);
    review_prepare(cw.store);
    calendar_prepare(cw.store);
    search_prepare(cw.store);
    recheck_prepare(cw.store);
    owner_t *owner = owner_new(zctx, "casework", CASEWORK_OPS);
    if (!owner)
        return 1;
    /* /metrics, and /readyz: 503 while Postgres does not answer */
    metrics_t *m = metrics_new("casework");
    metric_t *received = metrics_counter(m, "aid_received_total", "requests answered");
    metrics_readiness(m, config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    metrics_listen(m);
    log_info("casework.started", "ops", LOG_S(CASEWORK_OPS), NULL);
    while (!svc_stopping()) {
        owner_request_t req;
        int rc = owner_recv(owner, 200, &req);
        if (rc < 0)
            break;
        if (rc == 0)
            continue;
        metric_add(received, 1);
        if (store_ready(cw.store))
            params_store_refresh(&cw.params, cw.store, svc_now_ms());
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        proto_request_t pr;
        proto_error_t e;
        const char *op = "";
        if (proto_request_parse(zmq_msg_data(&req.body), zmq_msg_size(&req.body), &u, &pr,
                                &e) == 0)
            op = proto_ops[pr.op].name;
        if (strcmp(op, "review.step") == 0)
            owner_answer_write(owner, &req, cw.store, review_step, &cw);
        else if (strcmp(op, "review.draw") == 0)
            owner_answer_write(owner, &req, cw.store, review_draw, &cw);
        else if (strcmp(op, "calendar.set") == 0)
            owner_answer_write(owner, &req, cw.store, calendar_set, &cw);
        else if (strcmp(op, "calendar.get") == 0)
            owner_answer(owner, &req, calendar_get, &cw);
        else if (strcmp(op, "recheck.open") == 0)
            owner_answer_write(owner, &req, cw.store, recheck_open, &cw);
        else if (strcmp(op, "case.search") == 0)
            owner_answer(owner, &req, case_search, &cw);
        else
            owner_answer(owner, &req, review_queue, &cw); /* review.queue; errors as parsed */
        msgpack_unpacked_destroy(&u);
    }
    owner_destroy(&owner);
    metrics_destroy(&m);
    store_destroy(&cw.store);
    zmq_ctx_term(zctx);
    log_info("casework.stopped", NULL);
    return 0;
}
