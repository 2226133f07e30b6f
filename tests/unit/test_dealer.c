/* test_dealer.c — unit tests of common/dealer.c, the one DEALER client of the
 * gateway and aidctl, against a scripted ROUTER in a thread (inproc, no
 * network): the reply that echoes the id, an id-less error answering the one
 * request in flight, late answers and badly framed messages skipped, a
 * message left queued by an earlier request dropped, envelopes checked,
 * deadlines kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <zmq.h>

#include "dealer.h"
#include "mp.h"
#include "svc.h"

/* ---- the scripted ROUTER ----------------------------------------------- */

#define MAX_MSGS 4
#define MAX_FRAMES 3

typedef struct {
    int nframes;             /* after the routing id; 0 ends the list */
    char frames[MAX_FRAMES][128];
    size_t lens[MAX_FRAMES];
    int delay_ms;            /* before sending this one */
} msg_t;

/* What the ROUTER answers to each request, in order. */
typedef struct {
    msg_t msgs[MAX_MSGS];
} answer_t;

typedef struct {
    void *ctx, *router, *dealer;
    pthread_t thread;
    volatile int stop;
    answer_t answers[4];
    int nanswers;
} fixture_t;

static fixture_t fx;
static int endpoint_seq;
static char endpoint[64];

/* Appends a message [""][body] to a. */
static void add(answer_t *a, const char *body, size_t len, int delay_ms)
{
    msg_t *m = a->msgs;
    while (m->nframes)
        m++;
    m->nframes = 2;
    m->lens[0] = 0;
    memcpy(m->frames[1], body, len);
    m->lens[1] = len;
    m->delay_ms = delay_ms;
}

/* An envelope {"v":v,"id":id?,"ok":ok,"result"|"error"} packed into out. */
static size_t envelope(char *out, int v, const char *id, int ok, const char *code)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (v ? 1 : 0) + (id ? 1 : 0) + 2);
    if (v)
        mp_pack_kv_int(&pk, "v", v);
    if (id)
        mp_pack_kv_str(&pk, "id", id);
    mp_pack_str(&pk, "ok");
    ok ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    if (ok) {
        mp_pack_str(&pk, "result");
        msgpack_pack_map(&pk, 1);
        mp_pack_kv_str(&pk, "who", code ? code : "");
    } else {
        mp_pack_str(&pk, "error");
        msgpack_pack_map(&pk, code ? 2 : 1);
        mp_pack_kv_str(&pk, "message", "test");
        if (code)
            mp_pack_kv_str(&pk, "code", code);
    }
    assert_true(sb.size <= 128);
    memcpy(out, sb.data, sb.size);
    size_t n = sb.size;
    msgpack_sbuffer_destroy(&sb);
    return n;
}

static void add_envelope(answer_t *a, int v, const char *id, int ok, const char *code, int delay)
{
    char buf[128];
    size_t n = envelope(buf, v, id, ok, code);
    add(a, buf, n, delay);
}

static void *router_run(void *arg)
{
    (void)arg;
    int served = 0;
    while (!fx.stop) {
        zmq_pollitem_t it = {.socket = fx.router, .events = ZMQ_POLLIN};
        if (zmq_poll(&it, 1, 20) <= 0)
            continue;
        char rid[256];
        int rlen = zmq_recv(fx.router, rid, sizeof rid, 0);
        int more = 1;
        while (more) { /* the request's frames: not looked at */
            zmq_msg_t m;
            zmq_msg_init(&m);
            zmq_msg_recv(&m, fx.router, 0);
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (rlen < 0 || served >= fx.nanswers)
            continue;
        const answer_t *a = &fx.answers[served++];
        for (int i = 0; i < MAX_MSGS && a->msgs[i].nframes; i++) {
            const msg_t *m = &a->msgs[i];
            if (m->delay_ms)
                zmq_poll(NULL, 0, m->delay_ms);
            zmq_send(fx.router, rid, (size_t)rlen, ZMQ_SNDMORE);
            for (int f = 0; f < m->nframes; f++)
                zmq_send(fx.router, m->frames[f], m->lens[f], f + 1 < m->nframes ? ZMQ_SNDMORE : 0);
        }
    }
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    fx.ctx = zmq_ctx_new();
    fx.router = zmq_socket(fx.ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(fx.router, ZMQ_LINGER, &linger, sizeof linger);
    snprintf(endpoint, sizeof endpoint, "inproc://dealer-test-%d", ++endpoint_seq);
    assert_int_equal(zmq_bind(fx.router, endpoint), 0);
    dealer_opts_t o = {.send_timeout_ms = 500, .max_reply = 1 << 20, .immediate = true};
    fx.dealer = dealer_new(fx.ctx, &o);
    assert_non_null(fx.dealer);
    char err[128];
    int e = 0;
    assert_int_equal(dealer_connect(fx.dealer, endpoint, &e, err, sizeof err), 1);
    assert_int_equal(e, 0);
    return 0;
}

static void start(void)
{
    assert_int_equal(pthread_create(&fx.thread, NULL, router_run, NULL), 0);
}

static int teardown(void **state)
{
    (void)state;
    fx.stop = 1;
    pthread_join(fx.thread, NULL);
    zmq_close(fx.dealer);
    zmq_close(fx.router);
    zmq_ctx_term(fx.ctx);
    return 0;
}

/* One call of request id "r-1" with a deadline ms from now. */
static int call(const char *id, int ms, dealer_reply_t *rep, char *err, size_t errsz)
{
    static const char req[] = "\x81\xa2op\xa6health";
    return dealer_call(fx.dealer, req, sizeof req - 1, id, svc_now_ms() + ms, rep, err, errsz);
}

static const char *who(const dealer_reply_t *rep)
{
    static char s[64];
    assert_true(rep->ok);
    assert_int_equal(mp_str_copy(mp_get(rep->result, "who"), s, sizeof s), 0);
    return s;
}

/* ---- tests --------------------------------------------------------------- */

static void the_reply_that_echoes_the_id_is_taken(void **state)
{
    (void)state;
    add_envelope(&fx.answers[fx.nanswers++], 1, "r-1", 1, "first", 0);
    start();
    dealer_reply_t rep;
    char err[160] = "";
    assert_int_equal(call("r-1", 2000, &rep, err, sizeof err), DEALER_OK);
    assert_string_equal(who(&rep), "first");
    dealer_reply_free(&rep);
}

static void an_error_naming_no_request_answers_the_one_in_flight(void **state)
{
    (void)state;
    add_envelope(&fx.answers[fx.nanswers++], 1, NULL, 0, "bad_request", 0); /* no id */
    add_envelope(&fx.answers[fx.nanswers++], 1, "", 0, "too_large", 0);     /* id "" */
    start();
    dealer_reply_t rep;
    char err[160] = "";
    int64_t t = svc_now_ms();
    assert_int_equal(call("r-1", 3000, &rep, err, sizeof err), DEALER_OK);
    assert_false(rep.ok);
    assert_true(mp_str_is(mp_get(rep.error, "code"), "bad_request"));
    dealer_reply_free(&rep);
    assert_int_equal(call("r-2", 3000, &rep, err, sizeof err), DEALER_OK);
    assert_true(mp_str_is(mp_get(rep.error, "code"), "too_large"));
    dealer_reply_free(&rep);
    assert_true(svc_now_ms() - t < 2000); /* at once, not at the deadline */
}

static void late_answers_and_badly_framed_messages_are_skipped(void **state)
{
    (void)state;
    answer_t *a = &fx.answers[fx.nanswers++];
    add_envelope(a, 1, "r-0", 1, "late", 0); /* an earlier request's */
    add(a, "\x01", 1, 0);                     /* no empty delimiter first */
    a->msgs[1].lens[0] = 1;
    a->msgs[1].frames[0][0] = 'x';
    add_envelope(a, 1, "r-1", 1, "mine", 0);
    start();
    dealer_reply_t rep;
    char err[160] = "";
    assert_int_equal(call("r-1", 2000, &rep, err, sizeof err), DEALER_OK);
    assert_string_equal(who(&rep), "mine");
    dealer_reply_free(&rep);
}

static void no_answer_ends_at_the_deadline(void **state)
{
    (void)state;
    answer_t *a = &fx.answers[fx.nanswers++];
    add_envelope(a, 1, "r-0", 1, "late", 0); /* only someone else's */
    start();
    dealer_reply_t rep;
    char err[160] = "";
    int64_t t = svc_now_ms();
    assert_int_equal(call("r-1", 300, &rep, err, sizeof err), DEALER_TIMEOUT);
    int64_t took = svc_now_ms() - t;
    assert_true(took >= 280 && took < 1500);
    assert_non_null(strstr(err, "no answer in time"));
    assert_non_null(strstr(err, "skipped 1 message"));
    assert_null(rep.raw);
    dealer_reply_free(&rep);
}

static void a_late_reply_left_queued_is_dropped_before_the_next_request(void **state)
{
    (void)state;
    /* the first request's answer comes after its deadline, with the id the
     * second request uses too: the second must get its own answer */
    add_envelope(&fx.answers[fx.nanswers++], 1, "same", 1, "stale", 400);
    add_envelope(&fx.answers[fx.nanswers++], 1, "same", 1, "fresh", 100);
    start();
    dealer_reply_t rep;
    char err[160] = "";
    assert_int_equal(call("same", 150, &rep, err, sizeof err), DEALER_TIMEOUT);
    dealer_reply_free(&rep);
    zmq_poll(NULL, 0, 700); /* the stale answer is now queued on the socket */
    assert_int_equal(call("same", 2000, &rep, err, sizeof err), DEALER_OK);
    assert_string_equal(who(&rep), "fresh");
    dealer_reply_free(&rep);
}

static void envelopes_are_checked(void **state)
{
    (void)state;
    add(&fx.answers[fx.nanswers++], "\xc1\xc1", 2, 0);                  /* not MessagePack */
    add(&fx.answers[fx.nanswers++], "\x93\x01\x02\x03", 4, 0);          /* not a map */
    add_envelope(&fx.answers[fx.nanswers++], 0, "r", 1, "no v", 0);     /* no version */
    add_envelope(&fx.answers[fx.nanswers++], 1, "r", 0, NULL, 0);       /* error, no code */
    start();
    static const char *const want[] = {"invalid reply", "not a MessagePack map",
                                       "protocol version", "without a code"};
    for (int i = 0; i < 4; i++) {
        dealer_reply_t rep;
        char err[160] = "";
        assert_int_equal(call("r", 2000, &rep, err, sizeof err), DEALER_INVALID);
        if (!strstr(err, want[i]))
            fail_msg("answer %d: %s, want %s", i, err, want[i]);
        assert_null(rep.raw);
        dealer_reply_free(&rep);
    }
}

static void unsent_when_nobody_is_connected(void **state)
{
    (void)state;
    dealer_opts_t o = {.send_timeout_ms = 100, .max_reply = 1024, .immediate = true};
    void *s = dealer_new(fx.ctx, &o);
    char err[160];
    int e = 0;
    assert_int_equal(dealer_connect(s, "tcp://127.0.0.1:1", &e, err, sizeof err), 1);
    dealer_reply_t rep;
    int64_t t = svc_now_ms();
    assert_int_equal(dealer_call(s, "\x80", 1, "x", svc_now_ms() + 2000, &rep, err, sizeof err),
                     DEALER_UNSENT);
    assert_true(svc_now_ms() - t < 1500);
    dealer_reply_free(&rep);
    zmq_close(s);
    start();
}

static void connect_names_the_endpoint_that_failed(void **state)
{
    (void)state;
    dealer_opts_t o = {.send_timeout_ms = 100, .max_reply = 1024, .immediate = true};
    void *s = dealer_new(fx.ctx, &o);
    char err[160] = "";
    int e = 0;
    assert_int_equal(dealer_connect(s, "tcp://127.0.0.1:1, nonsense://x,", &e, err, sizeof err), 1);
    assert_int_not_equal(e, 0);
    assert_non_null(strstr(err, "nonsense://x"));
    e = 0;
    assert_int_equal(dealer_connect(s, "", &e, err, sizeof err), 0);
    assert_int_equal(e, EINVAL);
    zmq_close(s);
    start();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_reply_that_echoes_the_id_is_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(an_error_naming_no_request_answers_the_one_in_flight,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(late_answers_and_badly_framed_messages_are_skipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(no_answer_ends_at_the_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(a_late_reply_left_queued_is_dropped_before_the_next_request,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(envelopes_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(unsent_when_nobody_is_connected, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_names_the_endpoint_that_failed, setup, teardown),
    };
    return cmocka_run_group_tests_name("dealer", tests, NULL, NULL);
}
