/* test_bus.c — unit tests of common/bus.c without a broker: the body of a
 * `report.committed` wake-up in its three forms (intake, a trigger, the
 * disaster worker), and bus_publish_seq's renumbering of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "bus.h"
#include "mp.h"

/* The map in sb as "key=value;" pairs, in order. */
static void render(const msgpack_sbuffer *sb, char *out, size_t outsz)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb->data, sb->size, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
    size_t len = 0;
    out[0] = 0;
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
        len += (size_t)snprintf(out + len, outsz - len, "%.*s=%lld;", (int)kv->key.via.str.size,
                                kv->key.via.str.ptr, (long long)kv->val.via.i64);
    }
    msgpack_unpacked_destroy(&u);
}

static void committed_body_forms(void **state)
{
    (void)state;
    char got[128];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    bus_committed_body(&sb, 0, 12, 345); /* intake, after a batch */
    render(&sb, got, sizeof got);
    assert_string_equal(got, "seq=0;count=12;last_report=345;");
    msgpack_sbuffer_clear(&sb);
    bus_committed_body(&sb, 0, -1, -1); /* a trigger's wake-up */
    render(&sb, got, sizeof got);
    assert_string_equal(got, "seq=0;");
    msgpack_sbuffer_clear(&sb);
    bus_committed_body(&sb, 7, 0, -1); /* the disaster worker: a chunk, maybe of none */
    render(&sb, got, sizeof got);
    assert_string_equal(got, "seq=7;count=0;");
    msgpack_sbuffer_destroy(&sb);
}

static void publish_seq_renumbers_the_body(void **state)
{
    (void)state;
    void *zctx = zmq_ctx_new();
    void *pub = zmq_socket(zctx, ZMQ_PUB), *sub = zmq_socket(zctx, ZMQ_SUB);
    assert_int_equal(zmq_bind(pub, "inproc://test-bus"), 0);
    assert_int_equal(zmq_connect(sub, "inproc://test-bus"), 0);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    bus_committed_body(&sb, 0, 3, 9);
    int64_t seq = 41;
    assert_int_equal(bus_publish_seq(pub, "report.committed", sb.data, sb.size, &seq), 0);
    assert_int_equal(seq, 42);
    char topic[64], body[256], got[128];
    assert_int_equal(zmq_recv(sub, topic, sizeof topic, 0), 16);
    int n = zmq_recv(sub, body, sizeof body, 0);
    assert_true(n > 0);
    msgpack_sbuffer one = {.size = (size_t)n, .data = body};
    render(&one, got, sizeof got);
    assert_string_equal(got, "seq=42;count=3;last_report=9;");
    msgpack_sbuffer_destroy(&sb);
    zmq_close(pub);
    zmq_close(sub);
    zmq_ctx_term(zctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(committed_body_forms),
        cmocka_unit_test(publish_seq_renumbers_the_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
