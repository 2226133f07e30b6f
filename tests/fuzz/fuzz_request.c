/* fuzz_request.c — fuzz target for every request validator of the contract:
 * the envelope, then the body decoder of the operation it names.
 *
 * Invariants: no crash, no leak, no undefined behaviour on any input; a
 * report that validates re-encodes (proto_report_encode) to bytes that
 * validate again to the very same struct. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_report(const msgpack_object *body)
{
    static report_t r, again; /* large: keep them off the stack */
    schema_err_t err;
    memset(&r, 0, sizeof r);
    if (proto_report_decode(body, 20261129, &r, &err) != 0) {
        if (!err.field[0] || !err.message[0])
            abort(); /* every refusal names its field */
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_report_encode(&r, &pk);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    memset(&again, 0, sizeof again);
    if (mp_unpack(sb.data, sb.size, &u) != MP_OK ||
        proto_report_decode(&u.data, 20261129, &again, &err) != 0 ||
        memcmp(&r, &again, sizeof r) != 0)
        abort(); /* the canonical form must validate to the same report */
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    proto_request_t req;
    proto_error_t e;
    if (proto_request_parse((const char *)data, size, &u, &req, &e) == 0 && req.body) {
        if (req.op == OP_REPORT_SUBMIT) {
            check_report(req.body);
        } else if (req.op == OP_CASE_GET) {
            proto_case_get_t q;
            schema_err_t se;
            (void)proto_case_get_decode(req.body, &q, &se);
        }
    }
    msgpack_unpacked_destroy(&u);
    return 0;
}
