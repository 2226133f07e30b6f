/* test_forward.c — unit tests of the owners behind the front door: intake's
 * side (services/intake/forward.c, compiled in) against common/owner.c over
 * loopback TCP: a missing owner, two instances sharing the load, the caller's
 * name passed, a busy owner kept and waited for (its heartbeat thread), an
 * owner that holds a request past the limit, one that never confirms it, one
 * that stops (killed: a bare socket that falls silent), a late reply, and
 * who may register in secure mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netdb.h>

#include "forward.h"
#include "mp.h"
#include "owner.h"
#include "proto.h"
#include "svc.h"

typedef struct {
    void *zctx, *router, *client;
    forward_t *fw;
} rig_t;

static int rig_up(void **state)
{
    setenv("AID_FORWARD_TIMEOUT_MS", "400", 1);
    setenv("AID_OWNER_EXPIRY_MS", "600", 1);
    setenv("AID_OWNER_HEARTBEAT_MS", "100", 1);
    setenv("AID_FORWARD_LIMIT_MS", "900", 1);
    unsetenv("AID_SECURE");
    rig_t *r = calloc(1, sizeof *r);
    r->zctx = zmq_ctx_new();
    r->router = zmq_socket(r->zctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(r->router, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_bind(r->router, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t sz = sizeof ep;
    zmq_getsockopt(r->router, ZMQ_LAST_ENDPOINT, ep, &sz);
    setenv("AID_INTAKE_API", ep, 1);
    r->client = zmq_socket(r->zctx, ZMQ_DEALER);
    zmq_setsockopt(r->client, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(r->client, ep), 0);
    r->fw = forward_new(r->router);
    assert_non_null(r->fw);
    *state = r;
    return 0;
}

static int rig_down(void **state)
{
    rig_t *r = *state;
    forward_destroy(&r->fw);
    zmq_close(r->client);
    zmq_close(r->router);
    zmq_ctx_shutdown(r->zctx); /* a failed test may leave an owner open: never wait for it */
    free(r);
    return 0;
}

/* One pass of a front door: what the router has is an owner's message
 * (handled) or a client's request (forwarded, or answered unavailable). */
static void pump(rig_t *r, int ms)
{
    int64_t until = svc_now_ms() + ms;
    while (svc_now_ms() < until) {
        zmq_pollitem_t it = {r->router, 0, ZMQ_POLLIN, 0};
        int wait = forward_tick(r->fw, svc_now_ms());
        zmq_poll(&it, 1, wait < 20 ? wait : 20);
        while (zmq_poll(&it, 1, 0) > 0) {
            zmq_msg_t f[10];
            int n = 0, more = 1;
            while (more && n < 10) {
                zmq_msg_init(&f[n]);
                zmq_msg_recv(&f[n], r->router, 0);
                more = zmq_msg_more(&f[n]);
                n++;
            }
            int delim = 1;
            if (forward_is_owner(f, n, delim)) {
                forward_owner_msg(r->fw, "", f, n, delim, svc_now_ms());
                continue;
            }
            assert_int_equal(n, 3);
            msgpack_unpacked u;
            msgpack_unpacked_init(&u);
            proto_request_t req;
            proto_error_t e;
            assert_int_equal(proto_request_parse(zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), &u,
                                                 &req, &e), 0);
            int nroute = 2;
            char msg[200];
            if (forward_request(r->fw, f, &nroute, "local", req.op, req.id, zmq_msg_data(&f[2]),
                                zmq_msg_size(&f[2]), svc_now_ms(), msg, sizeof msg) != 0) {
                proto_fail(&e, PROTO_UNAVAILABLE, NULL, msg);
                msgpack_sbuffer sb;
                msgpack_sbuffer_init(&sb);
                msgpack_packer pk;
                msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
                proto_reply_error(&pk, req.id, &e);
                zmq_msg_send(&f[0], r->router, ZMQ_SNDMORE);
                zmq_msg_send(&f[1], r->router, ZMQ_SNDMORE);
                zmq_send(r->router, sb.data, sb.size, 0);
                msgpack_sbuffer_destroy(&sb);
            }
            for (int i = 0; i < n; i++)
                zmq_msg_close(&f[i]);
            msgpack_unpacked_destroy(&u);
        }
    }
}

static void send_call(rig_t *r, const char *op, const char *id)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    mp_pack_kv_int(&pk, "v", 1);
    mp_pack_kv_str(&pk, "op", op);
    mp_pack_kv_str(&pk, "id", id);
    mp_pack_str(&pk, "body");
    msgpack_pack_map(&pk, 1);
    mp_pack_kv_str(&pk, "date", "2026-11-01");
    zmq_send(r->client, "", 0, ZMQ_SNDMORE);
    zmq_send(r->client, sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
}

/* The client's next reply (pumping the front door meanwhile): its raw body
 * in out, or 0 when none came within ms. */
static size_t client_reply(rig_t *r, int ms, char *out, size_t outsz)
{
    int64_t until = svc_now_ms() + ms;
    while (svc_now_ms() < until) {
        pump(r, 20);
        zmq_pollitem_t it = {r->client, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 0) > 0) {
            char delim[8];
            zmq_recv(r->client, delim, sizeof delim, 0);
            int n = zmq_recv(r->client, out, outsz - 1, 0);
            out[n > 0 ? n : 0] = 0;
            return n > 0 ? (size_t)n : 0;
        }
    }
    return 0;
}

static bool has(const char *buf, size_t n, const char *s)
{
    if (memmem(buf, n, s, strlen(s)))
        return true;
    fprintf(stderr, "reply %.*s has no %s\n", (int)n, buf, s);
    return false;
}

/* An owner's handler: answers {"by": <arg>, "client": <caller>}. */
static int echo(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                proto_error_t *err)
{
    (void)req;
    (void)err;
    msgpack_pack_map(pk, 2);
    mp_pack_kv_str(pk, "by", arg);
    mp_pack_kv_str(pk, "client", client);
    return 0;
}

/* Lets the owners' READY reach the front door. */
static void settle(rig_t *r) { pump(r, 150); }

static void missing_owner_is_unavailable_at_once(void **state)
{
    rig_t *r = *state;
    assert_false(forward_has(r->fw, "visits.due"));
    int64_t t0 = svc_now_ms();
    send_call(r, "visits.due", "q1");
    char buf[512];
    size_t n = client_reply(r, 1000, buf, sizeof buf);
    assert_true(n > 0);
    assert_true(svc_now_ms() - t0 < 1000); /* at once: no bound, no expiry waited for */
    assert_true(has(buf, n, "unavailable"));
    assert_true(has(buf, n, "no instance of the owner of visits.due"));
}

static void two_instances_share_the_load(void **state)
{
    rig_t *r = *state;
    owner_t *a = owner_new(r->zctx, "care", "visits.due caregiver.score");
    owner_t *b = owner_new(r->zctx, "care", "visits.due");
    assert_non_null(a);
    assert_non_null(b);
    settle(r);
    assert_true(forward_has(r->fw, "visits.due"));
    assert_false(forward_has(r->fw, "ledger.monthly"));
    int by_a = 0, by_b = 0;
    for (int i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        send_call(r, "visits.due", id);
        pump(r, 30);
        owner_request_t q;
        /* whichever owner got it answers; each waits briefly */
        if (owner_recv(a, 50, &q) == 1) {
            assert_string_equal(q.client, "local"); /* the caller's identity travels */
            owner_answer(a, &q, echo, "a");
        } else {
            assert_int_equal(owner_recv(b, 200, &q), 1);
            assert_string_equal(q.client, "local");
            owner_answer(b, &q, echo, "b");
        }
        char buf[512];
        size_t n = client_reply(r, 1000, buf, sizeof buf);
        assert_true(n > 0);
        assert_true(has(buf, n, id));
        assert_true(has(buf, n, "local"));
        by_a += has(buf, n, "\xa1" "a");
        by_b += has(buf, n, "\xa1" "b");
    }
    assert_int_equal(by_a, 3); /* least recently used: they alternate */
    assert_int_equal(by_b, 3);
    owner_destroy(&a);
    owner_destroy(&b);
    pump(r, 100);
    assert_false(forward_has(r->fw, "visits.due")); /* GONE: dropped at once */
}

/* A bare owner (what intake sees of a process that is then killed): a
 * DEALER that says READY when told, never HOLDS, never answers. */
static void *bare_owner(rig_t *r)
{
    char ep[128];
    size_t sz = sizeof ep;
    zmq_getsockopt(r->router, ZMQ_LAST_ENDPOINT, ep, &sz);
    void *d = zmq_socket(r->zctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(d, ep), 0);
    return d;
}

static void bare_ready(void *d)
{
    const char *parts[] = {"", FORWARD_MAGIC, "READY", "care", "visits.due visit.record"};
    for (int i = 0; i < 5; i++)
        zmq_send(d, parts[i], strlen(parts[i]), i < 4 ? ZMQ_SNDMORE : 0);
}

/* The request a bare owner got: its id is in it. */
static bool bare_got(void *d, const char *id)
{
    zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
    bool got = false;
    while (zmq_poll(&it, 1, 0) > 0) {
        char buf[512];
        int more = 1, n = 0;
        while (more) {
            n = zmq_recv(d, buf, sizeof buf, 0);
            size_t sz = sizeof more;
            zmq_getsockopt(d, ZMQ_RCVMORE, &more, &sz);
        }
        got = got || (n > 0 && memmem(buf, (size_t)n, id, strlen(id)));
    }
    return got;
}

static void unconfirmed_request_answers_unavailable_within_the_bound(void **state)
{
    rig_t *r = *state;
    void *d = bare_owner(r);
    bare_ready(d);
    settle(r);
    /* a read: its owner heartbeats but never says it holds it: retry later */
    int64_t t0 = svc_now_ms();
    send_call(r, "visits.due", "t1");
    char buf[512];
    size_t n = 0;
    bool got = false;
    while (!n && svc_now_ms() - t0 < 3000) {
        bare_ready(d);
        got = bare_got(d, "t1") || got;
        n = client_reply(r, 50, buf, sizeof buf);
    }
    int64_t took = svc_now_ms() - t0;
    assert_true(got);
    assert_true(n > 0);
    assert_true(took >= 400 && took < 850);
    assert_true(has(buf, n, "unavailable"));
    assert_true(has(buf, n, "did not answer within 400 ms; retry later"));
    /* a write: the outcome is unknown */
    t0 = svc_now_ms();
    send_call(r, "visit.record", "t2");
    n = 0;
    while (!n && svc_now_ms() - t0 < 3000) {
        bare_ready(d);
        n = client_reply(r, 50, buf, sizeof buf);
    }
    assert_true(has(buf, n, "outcome unknown: the owner of visit.record"));
    assert_true(has(buf, n, "retry with the same id and body"));
    assert_true(forward_has(r->fw, "visits.due")); /* it still heartbeats */
    zmq_close(d);
}

static void held_request_answers_unavailable_at_the_limit(void **state)
{
    rig_t *r = *state;
    owner_t *a = owner_new(r->zctx, "care", "visits.due visit.record");
    settle(r);
    /* a write taken and never answered (a handler stuck): its owner's
     * heartbeat thread holds it, so it waits for the limit (900 ms), not the
     * bound (400 ms); then the outcome is unknown and a late reply dropped */
    int64_t t0 = svc_now_ms();
    send_call(r, "visit.record", "t2");
    char buf[512];
    size_t n = 0;
    owner_request_t late = {0};
    bool got = false;
    while (!n && svc_now_ms() - t0 < 3000) {
        if (!got && owner_recv(a, 10, &late) == 1)
            got = true;
        n = client_reply(r, 20, buf, sizeof buf);
    }
    int64_t took = svc_now_ms() - t0;
    assert_true(got);
    assert_true(took >= 900 && took < 2000);
    assert_true(has(buf, n, "outcome unknown: the owner of visit.record was still working on it "
                            "after 900 ms (the limit)"));
    assert_true(has(buf, n, "retry with the same id and body"));
    owner_answer(a, &late, echo, "a");
    assert_int_equal(client_reply(r, 200, buf, sizeof buf), 0);
    owner_destroy(&a);
}

typedef struct {
    rig_t *r;
    owner_t *idle;
    bool idle_served;
} slow_t;

/* An owner's handler that runs 700 ms, longer than the owner's expiry (600)
 * and the bound (400), pumping the front door meanwhile; half-way through,
 * a second request must go to the idle instance, not to this busy one. */
static int slow(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                proto_error_t *err)
{
    slow_t *s = arg;
    pump(s->r, 350);
    send_call(s->r, "visits.due", "b2");
    pump(s->r, 50);
    owner_request_t q;
    if (owner_recv(s->idle, 100, &q) == 1) {
        owner_answer(s->idle, &q, echo, "idle");
        s->idle_served = true;
    }
    pump(s->r, 300);
    assert_true(forward_has(s->r->fw, "visit.record")); /* still registered */
    return echo("slow", client, req, pk, err);
}

static void busy_owner_stays_registered_and_is_waited_for(void **state)
{
    rig_t *r = *state;
    owner_t *a = owner_new(r->zctx, "care", "visits.due visit.record");
    settle(r);
    owner_t *b = owner_new(r->zctx, "care", "visits.due");
    settle(r);
    send_call(r, "visit.record", "b1");
    pump(r, 30);
    owner_request_t q;
    assert_int_equal(owner_recv(a, 200, &q), 1);
    int64_t t0 = svc_now_ms();
    slow_t s = {.r = r, .idle = b};
    owner_answer(a, &q, slow, &s);
    assert_true(svc_now_ms() - t0 >= 700);
    assert_true(s.idle_served); /* the idle instance took the second request */
    char buf[512];
    size_t n = client_reply(r, 500, buf, sizeof buf);
    assert_true(n > 0 && has(buf, n, "b2") && has(buf, n, "\xa4" "idle"));
    n = client_reply(r, 500, buf, sizeof buf);
    assert_true(n > 0);
    assert_true(has(buf, n, "b1"));
    assert_true(has(buf, n, "\xa4" "slow")); /* answered, not "outcome unknown" */
    owner_destroy(&a);
    owner_destroy(&b);
}

static void owner_busy_at_another_intake_is_not_chosen(void **state)
{
    rig_t *r = *state;
    void *busy = bare_owner(r), *idle = bare_owner(r);
    bare_ready(busy);
    bare_ready(idle);
    settle(r);
    /* busy says (after its READY) that it holds 2 requests of another intake */
    const char *parts[] = {"", FORWARD_MAGIC, "HOLDS", "", "2"};
    for (int i = 0; i < 5; i++)
        zmq_send(busy, parts[i], strlen(parts[i]), i < 4 ? ZMQ_SNDMORE : 0);
    settle(r);
    for (int i = 0; i < 2; i++) { /* the idle one twice: least busy beats least recently used */
        char id[8];
        snprintf(id, sizeof id, "e%d", i);
        send_call(r, "visits.due", id);
        pump(r, 50);
        assert_true(bare_got(idle, id));
        assert_false(bare_got(busy, id));
    }
    zmq_close(busy);
    zmq_close(idle);
}

static void dead_owner_is_dropped_and_its_requests_answered(void **state)
{
    rig_t *r = *state;
    void *d = bare_owner(r);
    /* the expiry, not the bound, answers */
    forward_destroy(&r->fw);
    setenv("AID_FORWARD_TIMEOUT_MS", "5000", 1);
    r->fw = forward_new(r->router);
    bare_ready(d);
    settle(r);
    send_call(r, "visits.due", "d1");
    pump(r, 50);
    int64_t t0 = svc_now_ms();
    /* the owner no longer heartbeats (as if killed): it is dropped after the expiry */
    char buf[512];
    size_t n = client_reply(r, 4000, buf, sizeof buf);
    assert_true(n > 0);
    assert_true(svc_now_ms() - t0 < 3000); /* the expiry (600 ms), not the 5 s bound */
    assert_true(has(buf, n, "stopped answering"));
    assert_false(forward_has(r->fw, "visits.due"));
    zmq_close(d);
}

/* A READY from the client named name, as the router would give it. */
static void ready_from(rig_t *r, const char *name, const char *identity)
{
    const char *parts[] = {identity, "", FORWARD_MAGIC, "READY", "care", "visits.due"};
    zmq_msg_t f[6];
    for (int i = 0; i < 6; i++) {
        zmq_msg_init_size(&f[i], strlen(parts[i]));
        memcpy(zmq_msg_data(&f[i]), parts[i], strlen(parts[i]));
    }
    assert_true(forward_is_owner(f, 6, 1));
    forward_owner_msg(r->fw, name, f, 6, 1, svc_now_ms());
}

static void secure_mode_admits_service_keys_only(void **state)
{
    rig_t *r = *state;
    setenv("AID_SECURE", "1", 1);
    setenv("AID_OWNER_ANY", "local-service", 1);
    ready_from(r, "housing", "id-1");
    ready_from(r, "servicex", "id-2");
    ready_from(r, "township-app.service.care", "id-3");
    assert_false(forward_has(r->fw, "visits.due"));
    ready_from(r, "service.care", "id-4");
    assert_true(forward_has(r->fw, "visits.due"));
    forward_destroy(&r->fw);
    r->fw = forward_new(r->router);
    ready_from(r, "local-service", "id-5");
    assert_true(forward_has(r->fw, "visits.due"));
    unsetenv("AID_SECURE");
    unsetenv("AID_OWNER_ANY");
}

/* ---- owners find every intake behind a name (Kubernetes: a headless Service) ---- */

static void endpoints_resolved_literals_kept(void **state)
{
    (void)state;
    char out[8][OWNER_ENDPOINT_MAX];
    int n = owner_endpoints(" tcp://127.0.0.1:5601, tcp://[::1]:5601,tcp://127.0.0.1:5601,"
                            "ipc:///tmp/x, tcp://localhost:7", out, 8);
    assert_int_equal(n, 4);
    assert_string_equal(out[0], "tcp://127.0.0.1:5601");
    assert_string_equal(out[1], "tcp://[::1]:5601");
    assert_string_equal(out[2], "ipc:///tmp/x");
    assert_string_equal(out[3], "tcp://127.0.0.1:7"); /* localhost, resolved */
    assert_int_equal(owner_endpoints("tcp://no-such-host.invalid:1", out, 8), 0);
}

/* The test's name "intakes": the addresses in fake_addrs (one lookup each). */
static const char *fake_addrs[2];

static int fake_resolver(const char *host, const char *port, const struct addrinfo *hints,
                         struct addrinfo **res)
{
    if (strcmp(host, "intakes") != 0)
        return getaddrinfo(host, port, hints, res);
    struct addrinfo h = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM}, *all = NULL,
                    **tail = &all;
    for (int i = 0; i < 2 && fake_addrs[i]; i++) {
        struct addrinfo *one = NULL;
        assert_int_equal(getaddrinfo(fake_addrs[i], port, &h, &one), 0);
        *tail = one;
        while (*tail)
            tail = &(*tail)->ai_next;
    }
    *res = all;
    return all ? 0 : EAI_NONAME;
}

/* Handles what router has from owners for ms, answering the owner's heartbeats
 * with its own loop turns. */
static void pump_owners(void *router, forward_t *fw, owner_t *o, int ms)
{
    int64_t until = svc_now_ms() + ms;
    while (svc_now_ms() < until) {
        owner_request_t req;
        assert_int_equal(owner_recv(o, 10, &req), 0);
        zmq_pollitem_t it = {router, 0, ZMQ_POLLIN, 0};
        while (zmq_poll(&it, 1, 0) > 0) {
            zmq_msg_t f[10];
            int n = 0, more = 1;
            while (more && n < 10) {
                zmq_msg_init(&f[n]);
                zmq_msg_recv(&f[n], router, 0);
                more = zmq_msg_more(&f[n]);
                n++;
            }
            assert_true(forward_is_owner(f, n, 1));
            forward_owner_msg(fw, "", f, n, 1, svc_now_ms());
        }
    }
}

static void owner_connects_to_every_address_and_follows_them(void **state)
{
    rig_t *r = *state; /* its router is intake A, on 127.0.0.1 */
    char ep[128];
    size_t sz = sizeof ep;
    zmq_getsockopt(r->router, ZMQ_LAST_ENDPOINT, ep, &sz);
    const char *port = strrchr(ep, ':') + 1;
    void *b = zmq_socket(r->zctx, ZMQ_ROUTER); /* intake B, another pod: 127.0.0.2 */
    int linger = 0;
    zmq_setsockopt(b, ZMQ_LINGER, &linger, sizeof linger);
    char epb[128], api[64];
    snprintf(epb, sizeof epb, "tcp://127.0.0.2:%s", port);
    assert_int_equal(zmq_bind(b, epb), 0);
    forward_t *fwb = forward_new(b);
    snprintf(api, sizeof api, "tcp://intakes:%s", port);
    setenv("AID_INTAKE_API", api, 1);
    setenv("AID_OWNER_RESOLVE_MS", "100", 1);
    owner_resolver = fake_resolver;
    fake_addrs[0] = "127.0.0.1";
    fake_addrs[1] = "127.0.0.2";
    owner_t *o = owner_new(r->zctx, "care", "visits.due");
    assert_non_null(o);
    for (int i = 0; i < 30 && !(forward_has(r->fw, "visits.due") && forward_has(fwb, "visits.due")); i++) {
        pump_owners(r->router, r->fw, o, 20);
        pump_owners(b, fwb, o, 20);
    }
    assert_true(forward_has(r->fw, "visits.due")); /* both intakes have the owner */
    assert_true(forward_has(fwb, "visits.due"));
    fake_addrs[0] = "127.0.0.2"; /* pod A went away: the next resolution drops it */
    fake_addrs[1] = NULL;
    for (int i = 0; i < 30 && forward_has(r->fw, "visits.due"); i++) {
        pump_owners(r->router, r->fw, o, 20);
        pump_owners(b, fwb, o, 20);
    }
    assert_false(forward_has(r->fw, "visits.due")); /* said GONE to A */
    assert_true(forward_has(fwb, "visits.due"));
    fake_addrs[0] = "127.0.0.1"; /* and a pod coming back is connected again */
    fake_addrs[1] = "127.0.0.2";
    for (int i = 0; i < 30 && !forward_has(r->fw, "visits.due"); i++) {
        pump_owners(r->router, r->fw, o, 20);
        pump_owners(b, fwb, o, 20);
    }
    assert_true(forward_has(r->fw, "visits.due"));
    owner_destroy(&o);
    owner_resolver = getaddrinfo;
    unsetenv("AID_OWNER_RESOLVE_MS");
    forward_destroy(&fwb);
    zmq_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(missing_owner_is_unavailable_at_once, rig_up, rig_down),
        cmocka_unit_test_setup_teardown(two_instances_share_the_load, rig_up, rig_down),
        cmocka_unit_test_setup_teardown(unconfirmed_request_answers_unavailable_within_the_bound,
                                        rig_up, rig_down),
        cmocka_unit_test_setup_teardown(held_request_answers_unavailable_at_the_limit, rig_up,
                                        rig_down),
        cmocka_unit_test_setup_teardown(busy_owner_stays_registered_and_is_waited_for, rig_up,
                                        rig_down),
        cmocka_unit_test_setup_teardown(owner_busy_at_another_intake_is_not_chosen, rig_up,
                                        rig_down),
        cmocka_unit_test_setup_teardown(dead_owner_is_dropped_and_its_requests_answered, rig_up,
                                        rig_down),
        cmocka_unit_test_setup_teardown(secure_mode_admits_service_keys_only, rig_up, rig_down),
        cmocka_unit_test(endpoints_resolved_literals_kept),
        cmocka_unit_test_setup_teardown(owner_connects_to_every_address_and_follows_them, rig_up,
                                        rig_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
