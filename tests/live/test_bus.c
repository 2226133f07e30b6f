/* test_bus.c — tests of common/bus.c: publish through the running broker (AID_BUS_PUB) and receive on a SUB (AID_BUS_SUB), fails when they are unset; and the pure bus_seq_gap logic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "bus.h"
#include "mp.h"

/* ---- bus_seq_gap (pure) ---------------------------------------------------------- */

typedef struct {
    const char *label;
    int64_t last, seq;
    int gap;
    int64_t last_after;
} gap_row_t;

static void seq_gap_table(void **state)
{
    (void)state;
    static const gap_row_t rows[] = {
        {"first event ever (nothing seen)", 0, 1, 0, 1},
        {"first event after a start: unknown past, no gap", 0, 57, 0, 57},
        {"next in order", 5, 6, 0, 6},
        {"one missed", 5, 7, 1, 7},
        {"many missed", 5, 1000, 1, 1000},
        {"duplicate", 5, 5, 0, 5},
        {"older (reordered or replayed)", 5, 3, 0, 5},
        {"large sequence numbers (wall-clock microseconds)", 1764000000000000, 1764000000000001, 0,
         1764000000000001},
        {"large with a gap", 1764000000000000, 1764000000000003, 1, 1764000000000003},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int64_t last = rows[i].last;
        int gap = bus_seq_gap(&last, rows[i].seq);
        if (gap != rows[i].gap || last != rows[i].last_after)
            fail_msg("%s: bus_seq_gap(%lld, %lld) = %d, last %lld; want %d, last %lld", rows[i].label,
                     (long long)rows[i].last, (long long)rows[i].seq, gap, (long long)last,
                     rows[i].gap, (long long)rows[i].last_after);
    }
}

static void seq_gap_over_a_stream(void **state)
{
    (void)state;
    /* 1 2 3 5 5 4 6 9 10: gaps before 5 and before 9 */
    static const int64_t seqs[] = {1, 2, 3, 5, 5, 4, 6, 9, 10};
    static const int gaps[] = {0, 0, 0, 1, 0, 0, 0, 1, 0};
    int64_t last = 0;
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        int gap = bus_seq_gap(&last, seqs[i]);
        if (gap != gaps[i])
            fail_msg("event %zu (seq %lld): gap %d, want %d", i, (long long)seqs[i], gap, gaps[i]);
    }
    assert_int_equal(last, 10);
}

/* ---- through the broker ------------------------------------------------------------ */

static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set: this live test needs the running bus broker "
                 "(AID_BUS_PUB = its XSUB endpoint, AID_BUS_SUB = its XPUB endpoint, tcp://…)",
                 name);
    return v;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) { nanosleep(&(struct timespec){ms / 1000, ms % 1000 * 1000000}, NULL); }

typedef struct {
    void *ctx, *pub, *sub;
    char topic[96];  /* unique to this run */
    char prefix[64]; /* what the SUB subscribes to */
} bus_fixture_t;

static int fixture_setup(void **state)
{
    bus_fixture_t *f = calloc(1, sizeof *f);
    f->ctx = zmq_ctx_new();
    snprintf(f->prefix, sizeof f->prefix, "unit-test.%ld.%lld.", (long)getpid(), (long long)mono_ms());
    snprintf(f->topic, sizeof f->topic, "%sevent", f->prefix);
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    bus_fixture_t *f = *state;
    if (f->pub)
        zmq_close(f->pub);
    if (f->sub)
        zmq_close(f->sub);
    zmq_ctx_term(f->ctx);
    free(f);
    return 0;
}

/* Opens the PUB and SUB of the fixture on the broker's endpoints. */
static void open_both(bus_fixture_t *f)
{
    const char *pub_ep = need_env("AID_BUS_PUB");
    const char *sub_ep = need_env("AID_BUS_SUB");
    const char *const topics[] = {f->prefix, NULL};
    f->sub = bus_sub_open(f->ctx, sub_ep, topics);
    assert_non_null(f->sub);
    f->pub = bus_pub_open(f->ctx, pub_ep);
    assert_non_null(f->pub);
}

/* Packs {"seq": seq, "note": note} into sb. */
static void pack_event(msgpack_sbuffer *sb, int64_t seq, const char *note)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    mp_pack_kv_int(&pk, "seq", seq);
    mp_pack_kv_str(&pk, "note", note);
}

/* Publishes every 50 ms for up to ~3 s until the SUB receives one event on
 * topic (the slow-joiner: a subscription takes a moment to reach the
 * broker). Returns the body length received, -1 on timeout; fills topic_out. */
static int publish_until_received(bus_fixture_t *f, const char *topic, const void *body,
                                  size_t len, char *topic_out, size_t topicsz, char *body_out,
                                  size_t bodysz)
{
    int64_t deadline = mono_ms() + 3000;
    while (mono_ms() < deadline) {
        assert_int_equal(bus_publish(f->pub, topic, body, len), 0);
        int64_t next = mono_ms() + 50;
        while (mono_ms() < next) {
            int n = bus_recv(f->sub, topic_out, topicsz, body_out, bodysz);
            if (n >= 0)
                return n;
            if (n == -2)
                return -2;
            sleep_ms(5);
        }
    }
    return -1;
}

static void publish_through_the_broker_reaches_a_subscriber(void **state)
{
    bus_fixture_t *f = *state;
    open_both(f);
    msgpack_sbuffer sb;
    pack_event(&sb, 42, "张三 case.updated");
    char topic[128], body[4096];
    int n = publish_until_received(f, f->topic, sb.data, sb.size, topic, sizeof topic, body,
                                   sizeof body);
    if (n < 0) {
        msgpack_sbuffer_destroy(&sb);
        fail_msg("no event received through the broker within 3 s (bus_recv %d)", n);
    }
    assert_string_equal(topic, f->topic);
    assert_int_equal(n, (int)sb.size);
    assert_memory_equal(body, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(mp_unpack(body, (size_t)n, &u), MP_OK);
    int64_t seq = 0;
    assert_int_equal(mp_int(mp_get(&u.data, "seq"), &seq), 0);
    assert_int_equal(seq, 42);
    assert_true(mp_str_is(mp_get(&u.data, "note"), "张三 case.updated"));
    msgpack_unpacked_destroy(&u);
}

static void events_in_order_carry_their_seq_without_gaps(void **state)
{
    bus_fixture_t *f = *state;
    open_both(f);
    char topic[128], body[256];
    /* first make sure the subscription is live */
    int n = publish_until_received(f, f->topic, "warmup", 6, topic, sizeof topic, body, sizeof body);
    assert_true(n >= 0);
    sleep_ms(100);
    while (bus_recv(f->sub, topic, sizeof topic, body, sizeof body) != -1)
        ; /* drain the extra warm-up copies */
    for (int64_t seq = 1; seq <= 50; seq++) {
        msgpack_sbuffer sb;
        pack_event(&sb, seq, "x");
        assert_int_equal(bus_publish(f->pub, f->topic, sb.data, sb.size), 0);
        msgpack_sbuffer_destroy(&sb);
    }
    int64_t last = 0, got = 0;
    int gaps = 0;
    int64_t deadline = mono_ms() + 3000;
    while (got < 50 && mono_ms() < deadline) {
        n = bus_recv(f->sub, topic, sizeof topic, body, sizeof body);
        if (n < 0) {
            sleep_ms(5);
            continue;
        }
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        int64_t seq = -1;
        if (mp_unpack(body, (size_t)n, &u) == MP_OK)
            mp_int(mp_get(&u.data, "seq"), &seq);
        msgpack_unpacked_destroy(&u);
        if (seq < 0)
            continue; /* a late warm-up copy */
        gaps += bus_seq_gap(&last, seq);
        got++;
    }
    assert_int_equal(got, 50);
    assert_int_equal(gaps, 0);
    assert_int_equal(last, 50);
}

static void subscriber_only_gets_its_prefixes(void **state)
{
    bus_fixture_t *f = *state;
    open_both(f);
    char topic[128], body[256];
    int n = publish_until_received(f, f->topic, "a", 1, topic, sizeof topic, body, sizeof body);
    assert_true(n >= 0);
    sleep_ms(100);
    while (bus_recv(f->sub, topic, sizeof topic, body, sizeof body) != -1)
        ;
    char other[128];
    snprintf(other, sizeof other, "other.%s", f->prefix);
    assert_int_equal(bus_publish(f->pub, other, "no", 2), 0);
    assert_int_equal(bus_publish(f->pub, f->topic, "yes", 3), 0);
    int64_t deadline = mono_ms() + 2000;
    int seen_yes = 0;
    while (mono_ms() < deadline && !seen_yes) {
        n = bus_recv(f->sub, topic, sizeof topic, body, sizeof body);
        if (n < 0) {
            sleep_ms(5);
            continue;
        }
        assert_string_equal(topic, f->topic); /* never "other.…" */
        seen_yes = n == 3 && !memcmp(body, "yes", 3);
    }
    assert_true(seen_yes);
    sleep_ms(100);
    assert_int_equal(bus_recv(f->sub, topic, sizeof topic, body, sizeof body), -1);
}

static void oversized_and_malformed_events_are_dropped(void **state)
{
    bus_fixture_t *f = *state;
    open_both(f);
    char topic[128], body[16];
    int n = publish_until_received(f, f->topic, "ok", 2, topic, sizeof topic, body, sizeof body);
    assert_int_equal(n, 2);
    sleep_ms(100);
    while (bus_recv(f->sub, topic, sizeof topic, body, sizeof body) != -1)
        ;
    /* a body larger than the caller's buffer: -2, dropped */
    static const char big[64] = "0123456789012345678901234567890123456789";
    assert_int_equal(bus_publish(f->pub, f->topic, big, sizeof big), 0);
    /* three frames: -2, dropped */
    assert_int_equal(zmq_send(f->pub, f->topic, strlen(f->topic), ZMQ_SNDMORE), (int)strlen(f->topic));
    assert_int_equal(zmq_send(f->pub, "a", 1, ZMQ_SNDMORE), 1);
    assert_int_equal(zmq_send(f->pub, "b", 1, 0), 1);
    /* one frame: -2, dropped */
    assert_int_equal(zmq_send(f->pub, f->topic, strlen(f->topic), 0), (int)strlen(f->topic));
    /* then a good one still arrives */
    assert_int_equal(bus_publish(f->pub, f->topic, "fine", 4), 0);
    int malformed = 0, good = 0;
    int64_t deadline = mono_ms() + 2000;
    while (mono_ms() < deadline && !good) {
        n = bus_recv(f->sub, topic, sizeof topic, body, sizeof body);
        if (n == -1) {
            sleep_ms(5);
            continue;
        }
        if (n == -2)
            malformed++;
        else
            good = n == 4 && !memcmp(body, "fine", 4);
    }
    assert_int_equal(malformed, 3);
    assert_true(good);
}

static void long_topics_are_cut_to_the_buffer(void **state)
{
    bus_fixture_t *f = *state;
    open_both(f);
    char topic[8], body[16];
    int n = publish_until_received(f, f->topic, "t", 1, topic, sizeof topic, body, sizeof body);
    assert_int_equal(n, 1);
    assert_int_equal(strlen(topic), sizeof topic - 1);
    assert_memory_equal(topic, f->topic, sizeof topic - 1);
}

static void nothing_waiting_returns_minus_one_without_blocking(void **state)
{
    bus_fixture_t *f = *state;
    const char *sub_ep = need_env("AID_BUS_SUB");
    const char *const topics[] = {f->prefix, NULL};
    f->sub = bus_sub_open(f->ctx, sub_ep, topics);
    assert_non_null(f->sub);
    char topic[64], body[64];
    int64_t t0 = mono_ms();
    assert_int_equal(bus_recv(f->sub, topic, sizeof topic, body, sizeof body), -1);
    assert_true(mono_ms() - t0 < 500);
}

static void bad_endpoints_give_null(void **state)
{
    bus_fixture_t *f = *state;
    assert_null(bus_pub_open(f->ctx, "not an endpoint"));
    const char *const topics[] = {"x", NULL};
    assert_null(bus_sub_open(f->ctx, "nope://127.0.0.1:1", topics));
    /* a PUB with no peer never blocks: publishing drops or queues */
    void *pub = bus_pub_open(f->ctx, "tcp://127.0.0.1:1");
    assert_non_null(pub);
    int64_t t0 = mono_ms();
    for (int i = 0; i < 1000; i++)
        bus_publish(pub, "x", "y", 1);
    assert_true(mono_ms() - t0 < 1000);
    zmq_close(pub);
}

#define LIVE(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seq_gap_table),
        cmocka_unit_test(seq_gap_over_a_stream),
        LIVE(publish_through_the_broker_reaches_a_subscriber),
        LIVE(events_in_order_carry_their_seq_without_gaps),
        LIVE(subscriber_only_gets_its_prefixes),
        LIVE(oversized_and_malformed_events_are_dropped),
        LIVE(long_topics_are_cut_to_the_buffer),
        LIVE(nothing_waiting_returns_minus_one_without_blocking),
        LIVE(bad_endpoints_give_null),
    };
    return cmocka_run_group_tests_name("bus (live)", tests, NULL, NULL);
}
