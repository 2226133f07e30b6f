/* op_case.c — `case.get`: where a case stands (the view is in caseview.c). */
#include "intake.h"
#include "ops.h"

static int handle(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk, proto_error_t *err)
{
    proto_case_get_t q;
    schema_err_t se;
    if (proto_case_get_decode(req->body, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    char case_id[32], ids[40];
    if (caseview_write_case(ctx->store, &q, pk, err, case_id, sizeof case_id) != 0)
        return -1;
    /* R-AUDIT: no answer without its audit row (the packed answer is dropped) */
    snprintf(ids, sizeof ids, "{%s}", case_id);
    if (opctx_audit_read(ctx, "case.get", ids, req->id) != 0)
        return write_unavailable(err);
    return 0;
}

OP_HANDLER(case_get_op, {"case.get", caseview_prepare, handle})
