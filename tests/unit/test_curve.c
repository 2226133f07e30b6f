/* test_curve.c — CURVE with the ZAP allow-list, over real TCP sockets on
 * 127.0.0.1 (ephemeral ports): who is served, who gets nothing, the
 * allow-list reloaded without a restart, the User-Id seen per message; and
 * the key helpers (files, environment, mismatches). No database needed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "curve.h"

#define WAIT_OK_MS 5000      /* an admitted client is served well within this */
#define WAIT_NONE_MS 700     /* how long a refused client is watched getting nothing */

typedef struct {
    char dir[64];
    char allow[128];
    curve_keypair_t server, client;
    void *ctx;
    curve_zap_t *zap;
    void *srv;               /* REP, CURVE server */
    char ep[256];            /* where srv listens */
} fx_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Replaces path atomically (a new inode), the way SECURITY.md says to. */
static void replace_file(fx_t *fx, const char *text)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", fx->allow);
    write_file(tmp, text);
    assert_int_equal(rename(tmp, fx->allow), 0);
}

static void append_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void *socket_new(void *ctx, int type)
{
    void *s = zmq_socket(ctx, type);
    assert_non_null(s);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    return s;
}

/* A context, the ZAP handler on an allow-list holding the client key as
 * "dept-civil", and a REP CURVE server on an ephemeral port. */
static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    strcpy(fx->dir, "/tmp/test_curve.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->allow, sizeof fx->allow, "%s/allowed_keys", fx->dir);
    assert_int_equal(curve_keypair_new(&fx->server), 0);
    assert_int_equal(curve_keypair_new(&fx->client), 0);
    char text[256];
    snprintf(text, sizeof text, "# test allow-list\n\n%s dept-civil  # the civil affairs bureau\n",
             fx->client.public_key);
    write_file(fx->allow, text);
    fx->ctx = zmq_ctx_new();
    fx->zap = curve_zap_start(fx->ctx, fx->allow);
    assert_non_null(fx->zap);
    fx->srv = socket_new(fx->ctx, ZMQ_REP);
    assert_int_equal(curve_server(fx->srv, fx->server.secret_key, fx->server.public_key), 0);
    assert_int_equal(zmq_bind(fx->srv, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof fx->ep;
    assert_int_equal(zmq_getsockopt(fx->srv, ZMQ_LAST_ENDPOINT, fx->ep, &len), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    if (fx->srv)
        zmq_close(fx->srv);
    curve_zap_stop(&fx->zap);
    assert_null(fx->zap);
    zmq_ctx_term(fx->ctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* A REQ client of fx's server: plaintext when kp is NULL, else CURVE with
 * kp, trusting server_pub (default: the real server's key). */
static void *client_open(fx_t *fx, const curve_keypair_t *kp, const char *server_pub)
{
    void *c = socket_new(fx->ctx, ZMQ_REQ);
    if (kp)
        assert_int_equal(curve_client(c, server_pub ? server_pub : fx->server.public_key,
                                      kp->public_key, kp->secret_key),
                         0);
    assert_int_equal(zmq_connect(c, fx->ep), 0);
    return c;
}

/* One request/reply: true when the server received "ping" within wait_ms
 * and the client got the "pong"; the connection's User-Id into user. */
static bool round_trip(fx_t *fx, void *client, int wait_ms, char *user, size_t usersz)
{
    if (user)
        user[0] = '\0';
    if (zmq_send(client, "ping", 4, ZMQ_DONTWAIT) != 4)
        return false;
    int64_t deadline = now_ms() + wait_ms;
    zmq_pollitem_t si = {fx->srv, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&si, 1, wait_ms) <= 0)
        return false;
    zmq_msg_t m;
    zmq_msg_init(&m);
    assert_int_equal(zmq_msg_recv(&m, fx->srv, 0), 4);
    assert_memory_equal(zmq_msg_data(&m), "ping", 4);
    const char *who = zmq_msg_gets(&m, "User-Id");
    if (user && who)
        snprintf(user, usersz, "%s", who);
    zmq_msg_close(&m);
    assert_int_equal(zmq_send(fx->srv, "pong", 4, 0), 4);
    zmq_pollitem_t ci = {client, 0, ZMQ_POLLIN, 0};
    long left = (long)(deadline - now_ms());
    if (zmq_poll(&ci, 1, left > 0 ? left : 0) <= 0)
        return false;
    char buf[8];
    return zmq_recv(client, buf, sizeof buf, 0) == 4 && memcmp(buf, "pong", 4) == 0;
}

/* ---- who gets in -------------------------------------------------------- */

static void allowed_key_is_served_with_its_name(void **state)
{
    fx_t *fx = *state;
    void *c = client_open(fx, &fx->client, NULL);
    char user[128];
    assert_true(round_trip(fx, c, WAIT_OK_MS, user, sizeof user));
    assert_string_equal(user, "dept-civil");
    /* and again on the same connection */
    assert_true(round_trip(fx, c, WAIT_OK_MS, user, sizeof user));
    assert_string_equal(user, "dept-civil");
    zmq_close(c);
}

static void plaintext_client_gets_nothing(void **state)
{
    fx_t *fx = *state;
    void *c = client_open(fx, NULL, NULL);
    assert_false(round_trip(fx, c, WAIT_NONE_MS, NULL, 0));
    zmq_close(c);
}

static void unknown_key_gets_nothing(void **state)
{
    fx_t *fx = *state;
    curve_keypair_t stranger;
    assert_int_equal(curve_keypair_new(&stranger), 0);
    void *c = client_open(fx, &stranger, NULL);
    assert_false(round_trip(fx, c, WAIT_NONE_MS, NULL, 0));
    zmq_close(c);
    /* the allowed client is still served after the refusal */
    c = client_open(fx, &fx->client, NULL);
    assert_true(round_trip(fx, c, WAIT_OK_MS, NULL, 0));
    zmq_close(c);
}

static void wrong_server_key_gets_nothing(void **state)
{
    fx_t *fx = *state;
    curve_keypair_t impostor; /* the client trusts another server key */
    assert_int_equal(curve_keypair_new(&impostor), 0);
    void *c = client_open(fx, &fx->client, impostor.public_key);
    assert_false(round_trip(fx, c, WAIT_NONE_MS, NULL, 0));
    zmq_close(c);
}

static void key_added_later_is_admitted_without_restart(void **state)
{
    fx_t *fx = *state;
    curve_keypair_t dept;
    assert_int_equal(curve_keypair_new(&dept), 0);
    void *c = client_open(fx, &dept, NULL);
    assert_false(round_trip(fx, c, WAIT_NONE_MS, NULL, 0));
    zmq_close(c);
    /* admitted by appending a line in place (same inode, new mtime/size) */
    char line[128];
    snprintf(line, sizeof line, "%s housing\n", dept.public_key);
    append_file(fx->allow, line);
    c = client_open(fx, &dept, NULL);
    char user[128];
    assert_true(round_trip(fx, c, WAIT_OK_MS, user, sizeof user));
    assert_string_equal(user, "housing");
    zmq_close(c);
    /* removed again by replacing the file: refused from the next handshake */
    char text[256];
    snprintf(text, sizeof text, "%s dept-civil\n", fx->client.public_key);
    replace_file(fx, text);
    c = client_open(fx, &dept, NULL);
    assert_false(round_trip(fx, c, WAIT_NONE_MS, NULL, 0));
    zmq_close(c);
    c = client_open(fx, &fx->client, NULL);
    assert_true(round_trip(fx, c, WAIT_OK_MS, user, sizeof user));
    assert_string_equal(user, "dept-civil");
    zmq_close(c);
}

static void unnamed_key_has_the_key_as_user_id(void **state)
{
    fx_t *fx = *state;
    curve_keypair_t anon;
    assert_int_equal(curve_keypair_new(&anon), 0);
    char text[512];
    snprintf(text, sizeof text,
             "%s dept-civil\n"
             "this line is not a key\n"
             "%s\n"
             "%s has a name but also junk\n",
             fx->client.public_key, anon.public_key, fx->server.public_key);
    replace_file(fx, text);
    void *c = client_open(fx, &anon, NULL);
    char user[128];
    assert_true(round_trip(fx, c, WAIT_OK_MS, user, sizeof user));
    assert_string_equal(user, anon.public_key);
    zmq_close(c);
    /* a malformed line admits nobody (the server's own key here) */
    c = client_open(fx, &fx->server, NULL);
    assert_false(round_trip(fx, c, WAIT_NONE_MS, NULL, 0));
    zmq_close(c);
}

static void missing_allow_list_admits_nobody(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(unlink(fx->allow), 0);
    void *c = client_open(fx, &fx->client, NULL);
    assert_false(round_trip(fx, c, WAIT_NONE_MS, NULL, 0));
    zmq_close(c);
    char text[128];
    snprintf(text, sizeof text, "%s dept-civil\n", fx->client.public_key);
    write_file(fx->allow, text); /* back: admitted again */
    c = client_open(fx, &fx->client, NULL);
    assert_true(round_trip(fx, c, WAIT_OK_MS, NULL, 0));
    zmq_close(c);
}

/* Without a ZAP handler CURVE would admit anyone; with ZAP_ENFORCE_DOMAIN
 * (set by curve_server) the server refuses instead. */
static void no_handler_admits_nobody(void **state)
{
    fx_t *fx = *state;
    void *ctx = zmq_ctx_new();
    void *srv = socket_new(ctx, ZMQ_REP);
    assert_int_equal(curve_server(srv, fx->server.secret_key, NULL), 0);
    assert_int_equal(zmq_bind(srv, "tcp://127.0.0.1:*"), 0);
    char ep[256];
    size_t len = sizeof ep;
    zmq_getsockopt(srv, ZMQ_LAST_ENDPOINT, ep, &len);
    void *c = socket_new(ctx, ZMQ_REQ);
    assert_int_equal(curve_client(c, fx->server.public_key, NULL, fx->client.secret_key), 0);
    assert_int_equal(zmq_connect(c, ep), 0);
    zmq_send(c, "ping", 4, ZMQ_DONTWAIT);
    zmq_pollitem_t si = {srv, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&si, 1, WAIT_NONE_MS), 0);
    zmq_close(c);
    zmq_close(srv);
    zmq_ctx_term(ctx);
}

static void second_handler_and_missing_file_refused(void **state)
{
    fx_t *fx = *state;
    assert_null(curve_zap_start(fx->ctx, fx->allow)); /* the endpoint is taken */
    void *ctx = zmq_ctx_new();
    char path[160];
    snprintf(path, sizeof path, "%s/nope", fx->dir);
    assert_null(curve_zap_start(ctx, path));
    assert_null(curve_zap_start(ctx, NULL));
    curve_zap_t *z = curve_zap_start(ctx, fx->allow); /* the failures left nothing bound */
    assert_non_null(z);
    curve_zap_stop(&z);
    curve_zap_stop(&z); /* NULL-safe */
    zmq_ctx_term(ctx);
}

static void stop_is_prompt(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    char dir[] = "/tmp/test_curve_stop.XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/allowed", dir);
    write_file(path, "");
    for (int i = 0; i < 20; i++) {
        int64_t t0 = now_ms();
        curve_zap_t *z = curve_zap_start(ctx, path);
        assert_non_null(z);
        curve_zap_stop(&z);
        assert_true(now_ms() - t0 < 1000);
    }
    int64_t t0 = now_ms();
    zmq_ctx_term(ctx); /* nothing left open */
    assert_true(now_ms() - t0 < 1000);
    unlink(path);
    rmdir(dir);
}

/* ---- keys --------------------------------------------------------------- */

static void keys_and_their_checks(void **state)
{
    (void)state;
    assert_true(curve_available());
    curve_keypair_t kp;
    assert_int_equal(curve_keypair_new(&kp), 0);
    assert_true(curve_key_valid(kp.public_key));
    assert_true(curve_key_valid(kp.secret_key));
    char pub[CURVE_KEY_LEN + 1];
    assert_int_equal(curve_public_of(kp.secret_key, pub), 0);
    assert_string_equal(pub, kp.public_key);
    assert_false(curve_key_valid("short"));
    assert_false(curve_key_valid(NULL));
    char bad[CURVE_KEY_LEN + 1];
    memcpy(bad, kp.public_key, sizeof bad);
    bad[7] = '"'; /* not a Z85 character */
    assert_false(curve_key_valid(bad));
    assert_int_equal(curve_public_of(bad, pub), -1);
    assert_true(curve_name_valid("township-app.beicheng"));
    assert_false(curve_name_valid(""));
    assert_false(curve_name_valid("has space"));
    assert_false(curve_name_valid("x\"y"));
    char longname[80];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_false(curve_name_valid(longname));
    /* which User-Ids are a department's keys */
    assert_true(curve_user_is_department("housing", "housing"));
    assert_true(curve_user_is_department("housing.app2", "housing"));
    assert_false(curve_user_is_department("housingx", "housing"));
    assert_false(curve_user_is_department("housing-2026", "housing"));
    assert_false(curve_user_is_department("township-app.housing", "housing"));
    assert_false(curve_user_is_department("civil", "housing"));
    assert_false(curve_user_is_department("housing", ""));
    assert_false(curve_user_is_department(kp.public_key, "housing"));
    /* an unnamed key whose Z85 text happens to begin "housing." is no name */
    const char vanity[] = "housing.00000000000000000000000000000000";
    assert_int_equal(strlen(vanity), CURVE_KEY_LEN);
    assert_true(curve_key_valid(vanity));
    assert_false(curve_user_is_department(vanity, "housing"));
    /* which User-Ids are a township's keys (move.decide, issue 14) */
    char tw[10];
    assert_true(curve_user_township("520123101", tw));
    assert_string_equal(tw, "520123101");
    assert_true(curve_user_township("520123102.app2", tw));
    assert_string_equal(tw, "520123102");
    assert_false(curve_user_township("52012310", tw));
    assert_string_equal(tw, "");
    assert_false(curve_user_township("5201231011", tw));
    assert_false(curve_user_township("520123101x", tw));
    assert_false(curve_user_township("township-app.520123101", tw));
    assert_false(curve_user_township("", tw));
    const char vanity_tw[] = "520123101.000000000000000000000000000000";
    assert_int_equal(strlen(vanity_tw), CURVE_KEY_LEN);
    assert_true(curve_key_valid(vanity_tw));
    assert_false(curve_user_township(vanity_tw, tw));
    curve_keypair_wipe(&kp);
    for (size_t i = 0; i < sizeof kp.secret_key; i++)
        assert_int_equal(kp.secret_key[i], 0);
}

static void key_files_and_environment(void **state)
{
    fx_t *fx = *state;
    char path[160], err[256], key[CURVE_KEY_LEN + 1];
    snprintf(path, sizeof path, "%s/k.key", fx->dir);
    char text[256];
    snprintf(text, sizeof text, "# a comment\n\n  %s  trailing words\n", fx->client.secret_key);
    write_file(path, text);
    chmod(path, 0600);
    assert_int_equal(curve_key_read(path, key, err, sizeof err), 0);
    assert_string_equal(key, fx->client.secret_key);
    write_file(path, "not a key\n");
    assert_int_equal(curve_key_read(path, key, err, sizeof err), -1);
    assert_null(strstr(err, "not a key")); /* the contents never reach the error */
    assert_int_equal(curve_key_read("/nonexistent/k.key", key, err, sizeof err), -1);

    /* a pair from PREFIX_SECRETKEY, its public key derived, checked if given */
    curve_keypair_t kp;
    unsetenv("TESTK_SECRETKEY");
    unsetenv("TESTK_SECRETKEY_FILE");
    unsetenv("TESTK_PUBKEY");
    unsetenv("TESTK_PUBKEY_FILE");
    assert_int_equal(curve_keypair_load("TESTK", &kp), 1);
    setenv("TESTK_SECRETKEY", fx->client.secret_key, 1);
    assert_int_equal(curve_keypair_load("TESTK", &kp), 0);
    assert_string_equal(kp.public_key, fx->client.public_key);
    setenv("TESTK_PUBKEY", fx->server.public_key, 1); /* not the pair's */
    assert_int_equal(curve_keypair_load("TESTK", &kp), -1);
    setenv("TESTK_PUBKEY", fx->client.public_key, 1);
    assert_int_equal(curve_keypair_load("TESTK", &kp), 0);
    setenv("TESTK_SECRETKEY", "garbage", 1);
    assert_int_equal(curve_keypair_load("TESTK", &kp), -1);
    /* ... or from PREFIX_SECRETKEY_FILE */
    unsetenv("TESTK_SECRETKEY");
    snprintf(text, sizeof text, "%s\n", fx->client.secret_key);
    write_file(path, text);
    setenv("TESTK_SECRETKEY_FILE", path, 1);
    assert_int_equal(curve_keypair_load("TESTK", &kp), 0);
    assert_string_equal(kp.secret_key, fx->client.secret_key);
    unsetenv("TESTK_SECRETKEY_FILE");
    unsetenv("TESTK_PUBKEY");

    /* public keys: VAR or VAR_FILE */
    assert_int_equal(curve_pubkey_load("TESTK_PUBKEY", key), 1);
    setenv("TESTK_PUBKEY", "nope", 1);
    assert_int_equal(curve_pubkey_load("TESTK_PUBKEY", key), -1);
    unsetenv("TESTK_PUBKEY");
    snprintf(text, sizeof text, "%s\n", fx->server.public_key);
    write_file(path, text);
    setenv("TESTK_PUBKEY_FILE", path, 1);
    assert_int_equal(curve_pubkey_load("TESTK_PUBKEY", key), 0);
    assert_string_equal(key, fx->server.public_key);
    unsetenv("TESTK_PUBKEY_FILE");

    /* socket helpers refuse inconsistent keys */
    void *s = socket_new(fx->ctx, ZMQ_REQ);
    assert_int_equal(curve_client(s, "short", NULL, fx->client.secret_key), -1);
    assert_int_equal(curve_client(s, fx->server.public_key, fx->server.public_key,
                                  fx->client.secret_key),
                     -1);
    assert_int_equal(curve_server(s, fx->server.secret_key, fx->client.public_key), -1);
    zmq_close(s);
}

/* The one-call setups, configured from the environment as services are. */
static void setup_from_environment(void **state)
{
    fx_t *fx = *state;
    char skey[160], text[128];
    snprintf(skey, sizeof skey, "%s/server.key", fx->dir);
    snprintf(text, sizeof text, "%s\n", fx->server.secret_key);
    write_file(skey, text);
    chmod(skey, 0600);
    void *ctx = zmq_ctx_new();
    void *srv = socket_new(ctx, ZMQ_REP);
    unsetenv("TESTSRV_SECRETKEY");
    unsetenv("TESTSRV_SECRETKEY_FILE");
    unsetenv("TESTSRV_ALLOWED_KEYS");
    unsetenv("AID_SERVER_SECRETKEY");
    unsetenv("AID_SERVER_SECRETKEY_FILE");
    setenv("AID_ALLOWED_KEYS", fx->allow, 1);
    assert_null(curve_server_setup(ctx, "TESTSRV", &srv, 1)); /* no key configured */
    setenv("AID_SERVER_SECRETKEY_FILE", skey, 1);               /* the generic fallback */
    curve_zap_t *zap = curve_server_setup(ctx, "TESTSRV", &srv, 1);
    assert_non_null(zap);
    unsetenv("AID_SERVER_SECRETKEY_FILE");
    unsetenv("AID_ALLOWED_KEYS");
    assert_int_equal(zmq_bind(srv, "tcp://127.0.0.1:*"), 0);
    char ep[256];
    size_t len = sizeof ep;
    zmq_getsockopt(srv, ZMQ_LAST_ENDPOINT, ep, &len);

    void *c = socket_new(ctx, ZMQ_REQ);
    unsetenv("AID_SECURE");
    assert_int_equal(curve_client_setup(c, "TESTSRV_PUBKEY", "TESTCLI"), 0); /* plaintext: no-op */
    setenv("AID_SECURE", "1", 1);
    assert_true(curve_secure());
    assert_int_equal(curve_client_setup(c, "TESTSRV_PUBKEY", "TESTCLI"), -1); /* nothing set */
    setenv("TESTSRV_PUBKEY", fx->server.public_key, 1);
    setenv("TESTCLI_SECRETKEY", fx->client.secret_key, 1);
    setenv("TESTCLI_PUBKEY", fx->client.public_key, 1);
    assert_int_equal(curve_client_setup(c, "TESTSRV_PUBKEY", "TESTCLI"), 0);
    unsetenv("AID_SECURE");
    unsetenv("TESTSRV_PUBKEY");
    unsetenv("TESTCLI_SECRETKEY");
    unsetenv("TESTCLI_PUBKEY");
    assert_int_equal(zmq_connect(c, ep), 0);
    zmq_send(c, "ping", 4, 0);
    zmq_pollitem_t si = {srv, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&si, 1, WAIT_OK_MS), 1);
    zmq_msg_t m;
    zmq_msg_init(&m);
    assert_int_equal(zmq_msg_recv(&m, srv, 0), 4);
    assert_string_equal(zmq_msg_gets(&m, "User-Id"), "dept-civil");
    zmq_msg_close(&m);
    zmq_close(c);
    zmq_close(srv);
    curve_zap_stop(&zap);
    zmq_ctx_term(ctx);
}

int main(void)
{
    if (!zmq_has("curve")) {
        fprintf(stderr, "test_curve: libzmq has no CURVE support\n");
        return 1;
    }
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(allowed_key_is_served_with_its_name),
        T(plaintext_client_gets_nothing),
        T(unknown_key_gets_nothing),
        T(wrong_server_key_gets_nothing),
        T(key_added_later_is_admitted_without_restart),
        T(unnamed_key_has_the_key_as_user_id),
        T(missing_allow_list_admits_nobody),
        T(no_handler_admits_nobody),
        T(second_handler_and_missing_file_refused),
        cmocka_unit_test(stop_is_prompt),
        cmocka_unit_test(keys_and_their_checks),
        T(key_files_and_environment),
        T(setup_from_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
