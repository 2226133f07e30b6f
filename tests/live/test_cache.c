/* test_cache.c — live tests of common/cache.c against a real Redis named by AID_REDIS_URL (redis://host:port); fails when it is unset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"

/* The Redis URL of the test server; fails the test when it is not given. */
static const char *need_url(void)
{
    const char *v = getenv("AID_REDIS_URL");
    if (!v || !*v)
        fail_msg("AID_REDIS_URL is not set: this live test needs a real Redis "
                 "(e.g. redis://127.0.0.1:6379)");
    return v;
}

static cache_t *open_cache(void)
{
    cache_t *c = cache_new(need_url());
    assert_non_null(c);
    if (!cache_ready(c)) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s", cache_status(c));
        cache_destroy(&c);
        fail_msg("cache_ready failed for AID_REDIS_URL: %s", msg);
    }
    return c;
}

/* A key no other test run uses. */
static void unique_key(char *out, size_t n, const char *what)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, n, "aid:unit-test:%ld:%lld%09ld:%s", (long)getpid(), (long long)ts.tv_sec,
             ts.tv_nsec, what);
}

static void sleep_ms(long ms) { nanosleep(&(struct timespec){ms / 1000, ms % 1000 * 1000000}, NULL); }

static int setup_env(void **state)
{
    (void)state;
    setenv("AID_REDIS_RETRY_MS", "10", 1); /* reconnect quickly in these tests */
    return 0;
}

/* ---- commands ------------------------------------------------------------------ */

static void set_get_del_round_trip(void **state)
{
    (void)state;
    cache_t *c = open_cache();
    char key[128];
    unique_key(key, sizeof key, "roundtrip");
    redisReply *r = cache_cmd(c, "SET %s %s", key, "张三 value");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    assert_string_equal(r->str, "OK");
    freeReplyObject(r);
    r = cache_cmd(c, "GET %s", key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "张三 value");
    freeReplyObject(r);
    r = cache_cmd(c, "DEL %s", key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    r = cache_cmd(c, "GET %s", key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    assert_string_equal(cache_status(c), "ok");
    cache_destroy(&c);
    assert_null(c);
}

static void binary_values_round_trip(void **state)
{
    (void)state;
    cache_t *c = open_cache();
    char key[128];
    unique_key(key, sizeof key, "binary");
    static const char val[] = {'\x00', '\xff', 'a', '\x00', '\r', '\n'};
    redisReply *r = cache_cmd(c, "SET %s %b EX 60", key, val, sizeof val);
    assert_non_null(r);
    freeReplyObject(r);
    r = cache_cmd(c, "GET %s", key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, sizeof val);
    assert_memory_equal(r->str, val, sizeof val);
    freeReplyObject(r);
    r = cache_cmd(c, "TTL %s", key);
    assert_non_null(r);
    assert_true(r->integer > 0 && r->integer <= 60);
    freeReplyObject(r);
    r = cache_cmd(c, "DEL %s", key);
    freeReplyObject(r);
    cache_destroy(&c);
}

static void error_replies_give_null_and_keep_the_connection(void **state)
{
    (void)state;
    cache_t *c = open_cache();
    char key[128];
    unique_key(key, sizeof key, "errors");
    redisReply *r = cache_cmd(c, "SET %s %s", key, "not a number");
    freeReplyObject(r);
    assert_null(cache_cmd(c, "INCR %s", key)); /* WRONGTYPE-style error reply */
    assert_null(cache_cmd(c, "NOSUCHCOMMAND"));
    assert_true(cache_ready(c));
    assert_string_equal(cache_status(c), "ok");
    r = cache_cmd(c, "DEL %s", key);
    assert_non_null(r);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    cache_destroy(&c);
}

static void pipeline_runs_several_commands(void **state)
{
    (void)state;
    cache_t *c = open_cache();
    char k1[128], k2[128], k3[128];
    unique_key(k1, sizeof k1, "p1");
    unique_key(k2, sizeof k2, "p2");
    unique_key(k3, sizeof k3, "counter");
    const char *set1[] = {"SET", k1, "one"};
    const char *set2[] = {"SET", k2, "two\0with nul"};
    const char *incr[] = {"INCRBY", k3, "5"};
    const char *incr2[] = {"INCRBY", k3, "7"};
    const char *expire[] = {"EXPIRE", k3, "60"};
    const size_t set1l[] = {3, strlen(k1), 3};
    const size_t set2l[] = {3, strlen(k2), 12};
    const size_t incrl[] = {6, strlen(k3), 1};
    const size_t exp_l[] = {6, strlen(k3), 2};
    const int argcs[] = {3, 3, 3, 3, 3};
    const char *const *argvs[] = {set1, set2, incr, incr2, expire};
    const size_t *const lens[] = {set1l, set2l, incrl, incrl, exp_l};
    assert_int_equal(cache_pipeline(c, 5, argcs, argvs, lens), 0);
    redisReply *r = cache_cmd(c, "GET %s", k1);
    assert_non_null(r);
    assert_string_equal(r->str, "one");
    freeReplyObject(r);
    r = cache_cmd(c, "GET %s", k2);
    assert_non_null(r);
    assert_int_equal(r->len, 12);
    assert_memory_equal(r->str, "two\0with nul", 12);
    freeReplyObject(r);
    r = cache_cmd(c, "GET %s", k3);
    assert_non_null(r);
    assert_string_equal(r->str, "12"); /* 5 + 7 */
    freeReplyObject(r);

    /* a command that fails inside a pipeline: -1, but every reply was read */
    const char *bad[] = {"INCR", k1};
    const size_t badl[] = {4, strlen(k1)};
    const char *get[] = {"GET", k1};
    const size_t getl[] = {3, strlen(k1)};
    const int argcs2[] = {2, 2};
    const char *const *argvs2[] = {bad, get};
    const size_t *const lens2[] = {badl, getl};
    assert_int_equal(cache_pipeline(c, 2, argcs2, argvs2, lens2), -1);
    r = cache_cmd(c, "PING");
    assert_non_null(r);
    assert_string_equal(r->str, "PONG"); /* not the GET's reply: the pipeline was drained */
    freeReplyObject(r);

    r = cache_cmd(c, "DEL %s %s %s", k1, k2, k3);
    assert_non_null(r);
    assert_int_equal(r->integer, 3);
    freeReplyObject(r);
    assert_int_equal(cache_pipeline(c, 0, NULL, NULL, NULL), 0);
    cache_destroy(&c);
}

/* ---- connection state ------------------------------------------------------------ */

static void closed_port_is_not_ready(void **state)
{
    (void)state;
    static const char *const urls[] = {"redis://127.0.0.1:1", "127.0.0.1:1"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        cache_t *c = cache_new(urls[i]);
        assert_non_null(c);
        assert_false(cache_ready(c));
        const char *st = cache_status(c);
        assert_non_null(st);
        assert_string_not_equal(st, "ok");
        assert_true(st[0] != '\0');
        assert_null(cache_cmd(c, "PING"));
        assert_null(cache_cmd(c, "SET %s %s", "k", "v"));
        const char *ping[] = {"PING"};
        const size_t pingl[] = {4};
        const int argcs[] = {1};
        const char *const *argvs[] = {ping};
        const size_t *const lens[] = {pingl};
        assert_int_equal(cache_pipeline(c, 1, argcs, argvs, lens), -1);
        cache_destroy(&c);
        assert_null(c);
    }
    cache_destroy(NULL);
}

static void url_without_scheme_works(void **state)
{
    (void)state;
    const char *url = need_url();
    const char *hp = strncmp(url, "redis://", 8) == 0 ? url + 8 : url;
    cache_t *c = cache_new(hp);
    assert_non_null(c);
    assert_true(cache_ready(c));
    assert_string_equal(cache_status(c), "ok");
    cache_destroy(&c);
}

/* Kills this client's own connection on the server (other clients are untouched). */
static long long kill_own_connection(cache_t *c)
{
    redisReply *r = cache_cmd(c, "CLIENT ID");
    if (!r || r->type != REDIS_REPLY_INTEGER)
        return -1;
    long long id = r->integer;
    freeReplyObject(r);
    r = cache_cmd(c, "CLIENT KILL ID %lld SKIPME no", id);
    if (r)
        freeReplyObject(r);
    return id;
}

/* The scenario of the next test, run in a child process so that a crash
 * (ASan aborts on the use-after-free) fails this one test only. Exit status:
 * 0 ok, 2.. the step that went wrong. */
static int dropped_connection_scenario(const char *url, int pipelined)
{
    setenv("AID_REDIS_RETRY_MS", "300", 1); /* long enough to read the error first */
    cache_t *c = cache_new(url);
    if (!c || !cache_ready(c))
        return 2;
    long long id = kill_own_connection(c);
    if (id < 0)
        return 3;
    /* the next command finds the connection gone */
    if (pipelined) {
        const char *ping[] = {"PING"};
        const size_t pingl[] = {4};
        const int argcs[] = {1};
        const char *const *argvs[] = {ping};
        const size_t *const lens[] = {pingl};
        if (cache_pipeline(c, 1, argcs, argvs, lens) != -1)
            return 4;
    } else {
        redisReply *r = cache_cmd(c, "PING");
        if (r)
            return 4;
    }
    /* health tells why, in words */
    const char *st = cache_status(c);
    if (!st || !st[0] || !strcmp(st, "ok"))
        return 5;
    /* and after the throttle it reconnects */
    bool back = false;
    for (int i = 0; i < 100 && !back; i++) {
        redisReply *r = cache_cmd(c, "CLIENT ID");
        if (r) {
            back = r->type == REDIS_REPLY_INTEGER && r->integer != id;
            freeReplyObject(r);
        } else {
            sleep_ms(50);
        }
    }
    if (!back)
        return 6;
    if (strcmp(cache_status(c), "ok") != 0)
        return 7;
    cache_destroy(&c);
    return 0;
}

static void run_in_child(int pipelined)
{
    const char *url = need_url();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(dropped_connection_scenario(url, pipelined));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status))
        fail_msg("the scenario crashed (signal %d)", WTERMSIG(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("the scenario failed with status %d (1 = AddressSanitizer report above; "
                 "5 = cache_status empty or \"ok\" after the drop)", WEXITSTATUS(status));
}

/* BUG (common/cache.c:58-65, called from :100 and :126): drop(self, why) is
 * passed why = self->ctx->errstr, frees self->ctx with redisFree (line 62)
 * and only then copies why into self->err (line 65): a heap use-after-free
 * whenever Redis closes the connection ("Server closed the connection") or a
 * command times out. Under ASan the child aborts; without it cache_status
 * reports freed memory (seen as "") instead of the error. */
static void reconnects_after_the_server_drops_the_connection(void **state)
{
    (void)state;
    run_in_child(0);
}

/* BUG: the same use-after-free through cache_pipeline (common/cache.c:126). */
static void pipeline_reconnects_after_the_server_drops_the_connection(void **state)
{
    (void)state;
    run_in_child(1);
}


/* ---- Sentinel ------------------------------------------------------------------- */
/* A fake Sentinel in a child process, on a loopback port of its own. Each
 * SENTINEL get-master-addr-by-name is answered from the file `answer` ("host
 * port role"), and counted by a line appended to `asks`. The same process
 * also plays a server: ROLE is answered with the file's role, any other
 * command with -READONLY (a demoted master). */
struct fake {
    pid_t pid;
    int port;
    char answer[64], asks[64];
};

static void fake_serve(int lfd, const char *answer, const char *asks)
{
    struct pollfd fds[16] = {{.fd = lfd, .events = POLLIN}};
    int n = 1;
    pid_t parent = getppid();
    for (;;) {
        if (poll(fds, n, 200) < 0 || getppid() != parent)
            _exit(1); /* the test is over (or failed without stopping us) */
        if (fds[0].revents & POLLIN) {
            int c = accept(lfd, NULL, NULL);
            if (c >= 0 && n < 16)
                fds[n++] = (struct pollfd){.fd = c, .events = POLLIN};
            else if (c >= 0)
                close(c);
        }
        for (int i = 1; i < n; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            ssize_t got = read(fds[i].fd, buf, sizeof buf - 1);
            if (got <= 0) {
                close(fds[i].fd);
                fds[i--] = fds[--n];
                continue;
            }
            buf[got] = '\0';
            char host[32] = "", role[16] = "master", out[256];
            int port = 0;
            FILE *f = fopen(answer, "r");
            if (f) {
                if (fscanf(f, "%31s %d %15s", host, &port, role) < 2)
                    port = 0;
                fclose(f);
            }
            if (strstr(buf, "get-master-addr-by-name")) {
                FILE *a = fopen(asks, "a");
                if (a) {
                    fputs("ask\n", a);
                    fclose(a);
                }
                char ps[16];
                snprintf(ps, sizeof ps, "%d", port);
                snprintf(out, sizeof out, "*2\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(host), host,
                         strlen(ps), ps);
            } else if (strstr(buf, "ROLE")) {
                snprintf(out, sizeof out, "*1\r\n$%zu\r\n%s\r\n", strlen(role), role);
            } else {
                snprintf(out, sizeof out, "-READONLY You can't write against a read only replica.\r\n");
            }
            if (write(fds[i].fd, out, strlen(out)) < 0)
                _exit(1);
        }
    }
}

static void fake_answer(const struct fake *fk, const char *host, int port, const char *role)
{
    FILE *f = fopen(fk->answer, "w");
    assert_non_null(f);
    fprintf(f, "%s %d %s\n", host, port, role);
    fclose(f);
}

static int fake_asks(const struct fake *fk)
{
    FILE *f = fopen(fk->asks, "r");
    int n = 0, ch;
    if (!f)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static void fake_start(struct fake *fk)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 16), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    fk->port = ntohs(sa.sin_port);
    snprintf(fk->answer, sizeof fk->answer, "/tmp/aid-fake-sentinel.%d.answer", (int)getpid());
    snprintf(fk->asks, sizeof fk->asks, "/tmp/aid-fake-sentinel.%d.asks", (int)getpid());
    unlink(fk->asks);
    fake_answer(fk, "127.0.0.1", 1, "master");
    fk->pid = fork();
    assert_true(fk->pid >= 0);
    if (fk->pid == 0) {
        fake_serve(lfd, fk->answer, fk->asks);
        _exit(0);
    }
    close(lfd);
}

static void fake_stop(struct fake *fk)
{
    kill(fk->pid, SIGKILL);
    waitpid(fk->pid, NULL, 0);
    unlink(fk->answer);
    unlink(fk->asks);
}

/* A loopback port nothing listens on (bound, then closed). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* The real Redis of AID_REDIS_URL as host and port. */
static void real_redis(char *host, size_t n, int *port)
{
    const char *u = need_url();
    const char *hp = strncmp(u, "redis://", 8) == 0 ? u + 8 : u;
    const char *colon = strrchr(hp, ':');
    assert_non_null(colon);
    snprintf(host, n, "%.*s", (int)(colon - hp), hp);
    *port = atoi(colon + 1);
}

static cache_t *sentinel_cache(const struct fake *fk)
{
    char list[128];
    /* the first Sentinel is down: the next one is asked */
    snprintf(list, sizeof list, "127.0.0.1:%d, 127.0.0.1:%d", closed_port(), fk->port);
    setenv("AID_REDIS_SENTINELS", list, 1);
    setenv("AID_REDIS_MASTER_NAME", "aid-test", 1);
    cache_t *c = cache_new("redis://127.0.0.1:1"); /* the url is not used */
    unsetenv("AID_REDIS_SENTINELS");
    unsetenv("AID_REDIS_MASTER_NAME");
    assert_non_null(c);
    return c;
}

/* The master the Sentinels name is used, not the url; after the connection
 * drops they are asked again, and a master that moved is followed. */
static void sentinels_name_the_master_and_are_asked_again(void **state)
{
    (void)state;
    struct fake fk;
    fake_start(&fk);
    char host[64];
    int port;
    real_redis(host, sizeof host, &port);
    fake_answer(&fk, host, port, "master");
    cache_t *c = sentinel_cache(&fk);
    char key[128];
    unique_key(key, sizeof key, "sentinel");
    redisReply *r = cache_cmd(c, "SET %s %s", key, "v");
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(fake_asks(&fk), 1);
    /* the master goes away: the Sentinels now name another server */
    int gone = closed_port();
    fake_answer(&fk, "127.0.0.1", gone, "master");
    assert_true(kill_own_connection(c) >= 0);
    r = cache_cmd(c, "GET %s", key);
    assert_null(r);                   /* the command that met the dead connection */
    sleep_ms(20);
    assert_false(cache_ready(c));      /* asked again: the server it names is down */
    assert_int_equal(fake_asks(&fk), 2);
    char want[32];
    snprintf(want, sizeof want, "127.0.0.1:%d", gone);
    assert_non_null(strstr(cache_status(c), want));
    /* promoted: the Sentinels name the real server again */
    fake_answer(&fk, host, port, "master");
    sleep_ms(20);
    r = cache_cmd(c, "GET %s", key);
    assert_non_null(r);
    assert_string_equal(r->str, "v");
    freeReplyObject(r);
    freeReplyObject(cache_cmd(c, "DEL %s", key));
    cache_destroy(&c);
    fake_stop(&fk);
}

/* A server the Sentinels name that says it is a replica is not used. */
static void a_replica_named_by_a_stale_sentinel_is_refused(void **state)
{
    (void)state;
    struct fake fk;
    fake_start(&fk);
    fake_answer(&fk, "127.0.0.1", fk.port, "slave"); /* the fake plays the server */
    cache_t *c = sentinel_cache(&fk);
    assert_false(cache_ready(c));
    assert_non_null(strstr(cache_status(c), "is not the master"));
    cache_destroy(&c);
    fake_stop(&fk);
}

/* A master demoted under a live connection answers READONLY: the connection
 * is dropped and the Sentinels are asked again on the next use. */
static void readonly_reply_drops_the_connection(void **state)
{
    (void)state;
    struct fake fk;
    fake_start(&fk);
    fake_answer(&fk, "127.0.0.1", fk.port, "master");
    cache_t *c = sentinel_cache(&fk);
    assert_true(cache_ready(c));
    assert_int_equal(fake_asks(&fk), 1);
    assert_null(cache_cmd(c, "SET k v"));        /* -READONLY */
    sleep_ms(20);
    assert_true(cache_ready(c));
    assert_int_equal(fake_asks(&fk), 2);
    cache_destroy(&c);
    fake_stop(&fk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_get_del_round_trip),
        cmocka_unit_test(binary_values_round_trip),
        cmocka_unit_test(error_replies_give_null_and_keep_the_connection),
        cmocka_unit_test(pipeline_runs_several_commands),
        cmocka_unit_test(closed_port_is_not_ready),
        cmocka_unit_test(url_without_scheme_works),
        cmocka_unit_test(reconnects_after_the_server_drops_the_connection),
        cmocka_unit_test(pipeline_reconnects_after_the_server_drops_the_connection),
        cmocka_unit_test(sentinels_name_the_master_and_are_asked_again),
        cmocka_unit_test(a_replica_named_by_a_stale_sentinel_is_refused),
        cmocka_unit_test(readonly_reply_drops_the_connection),
    };
    return cmocka_run_group_tests_name("cache (live)", tests, setup_env, NULL);
}
