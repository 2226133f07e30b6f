/* audit.c — reads of cases answered only once their audit rows are
 * committed (R-AUDIT): a read op's handler adds its rows (intake_audit_read),
 * its answer is held, and the held reads of one pass of the loop share one
 * INSERT in one transaction; when the rows cannot be written every held read
 * is answered unavailable instead. */
#include "door.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "write.h"

void intake_audit_prepare(store_t *store) { opctx_prepare_audit(store); }

int intake_audit_read(opctx_t *c, const char *action, const char *case_ids,
                      const char *request_id)
{
    intake_t *in = c->host;
    char detail[PROTO_STR_MAX + 16];
    snprintf(detail, sizeof detail, "request %s", request_id && *request_id ? request_id : "-");
    pgarr_add_text(&in->audit.who, intake_client(in));
    pgarr_add_text(&in->audit.action, action);
    pgarr_add_text(&in->audit.cases, case_ids);
    pgarr_add_text(&in->audit.detail, detail);
    in->audit.rows++;
    in->audit.added = true; /* the answer waits for the rows (intake_flush_held) */
    return 0;
}

/* Keeps the answer to in (request id, result) until intake_flush_held: 0, or -1
 * when it cannot be kept (no memory), and then it is not answered yet. */
static int hold_reply(intake_t *self, inbound_t *in, const char *id,
                      const msgpack_sbuffer *result)
{
    held_t *h = &self->audit.held[self->audit.n_held];
    h->id = strdup(id ? id : "");
    if (!h->id)
        return -1;
    msgpack_sbuffer_init(&h->reply);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &h->reply, msgpack_sbuffer_write);
    proto_reply_ok_begin(&pk, id);
    msgpack_sbuffer_write(&h->reply, result->data, result->size);
    for (int i = 0; i < in->nroute; i++) {
        zmq_msg_init(&h->route[i]);
        zmq_msg_move(&h->route[i], &in->route[i]);
    }
    h->nroute = in->nroute;
    in->nroute = 0;
    zmq_msg_close(&in->body);
    self->audit.n_held++;
    return 0;
}

/* Commits the audit rows of the held reads (one statement, one commit), then
 * answers them; when the rows cannot be written, every held read is answered
 * unavailable instead (R-AUDIT: no answer without its audit row). */
void intake_flush_held(intake_t *self)
{
    if (self->audit.n_held == 0 && self->audit.rows == 0)
        return;
    const char *vals[4] = {pgarr_str(&self->audit.who), pgarr_str(&self->audit.action),
                           pgarr_str(&self->audit.cases), pgarr_str(&self->audit.detail)};
    /* in a transaction of its own with its id: rows committed although the
     * answer was lost still answer the reads (store_exec_once) */
    store_outcome_t truth = STORE_ABORTED;
    if (vals[0] && vals[1] && vals[2] && vals[3] && store_ready(self->store))
        PQclear(store_exec_once(self->store, "audit_reads", 4, vals, &truth));
    if (truth != STORE_COMMITTED)
        log_error("intake.audit_failed", "reads", LOG_I(self->audit.n_held), "error",
                  LOG_S(store_errmsg(self->store)), NULL);
    for (int k = 0; k < self->audit.n_held; k++) {
        held_t *h = &self->audit.held[k];
        if (truth == STORE_COMMITTED) {
            for (int i = 0; i < h->nroute; i++)
                zmq_msg_send(&h->route[i], self->router, ZMQ_SNDMORE);
            zmq_send(self->router, h->reply.data, h->reply.size, 0);
        } else {
            inbound_t in = {.nroute = h->nroute};
            for (int i = 0; i < h->nroute; i++) {
                zmq_msg_init(&in.route[i]);
                zmq_msg_move(&in.route[i], &h->route[i]);
            }
            zmq_msg_init(&in.body);
            proto_error_t e;
            if (truth == STORE_ABORTED)
                write_unavailable(&e);
            else
                write_outcome_unknown(&e);
            intake_reply_error(self, &in, h->id, &e);
        }
        for (int i = 0; i < h->nroute; i++)
            zmq_msg_close(&h->route[i]);
        msgpack_sbuffer_destroy(&h->reply);
        free(h->id);
    }
    self->audit.n_held = self->audit.rows = 0;
    pgarr_reset(&self->audit.who);
    pgarr_reset(&self->audit.action);
    pgarr_reset(&self->audit.cases);
    pgarr_reset(&self->audit.detail);
}

void intake_run_read(intake_t *self, inbound_t *in, const op_handler_t *op,
                     const proto_request_t *req)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_error_t e;
    self->audit.added = false;
    opctx_t c = intake_ctx(self);
    if (op->handle(&c, req, &pk, &e) != 0)
        intake_reply_error(self, in, req->id, &e);
    else if (!self->audit.added)
        intake_reply_ok(self, in, req->id, &sb);
    else if (hold_reply(self, in, req->id, &sb) != 0) {
        write_unavailable(&e);
        intake_reply_error(self, in, req->id, &e);
    }
    msgpack_sbuffer_destroy(&sb);
}

void intake_audit_free(intake_t *self)
{
    pgarr_free(&self->audit.who);
    pgarr_free(&self->audit.action);
    pgarr_free(&self->audit.cases);
    pgarr_free(&self->audit.detail);
}
