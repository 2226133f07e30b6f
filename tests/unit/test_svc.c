/* test_svc.c — the service loop helpers: signals end the loop, clocks move. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "svc.h"

static void sigterm_requests_a_stop(void **state)
{
    (void)state;
    svc_init("test");
    assert_false(svc_stopping());
    raise(SIGTERM); /* handled: the process keeps running */
    assert_true(svc_stopping());
}

static void sigpipe_is_ignored(void **state)
{
    (void)state;
    svc_init("test");
    raise(SIGPIPE); /* would kill the process if not ignored */
    assert_true(1);
}

static void clocks_move_forward(void **state)
{
    (void)state;
    int64_t m0 = svc_now_ms(), w0 = svc_wall_us();
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int64_t m1 = svc_now_ms(), w1 = svc_wall_us();
    assert_true(m1 - m0 >= 19);
    assert_true(w1 - w0 >= 19000);
    assert_true(w0 > 1700000000LL * 1000000); /* a plausible epoch time */
}

static void lingers_after_small_batches_only(void **state)
{
    (void)state;
    assert_int_equal(svc_linger_ms(0, 256, 5), 5);    /* nothing found */
    assert_int_equal(svc_linger_ms(-1, 256, 5), 5);   /* a failed step */
    assert_int_equal(svc_linger_ms(63, 256, 5), 5);   /* under a quarter */
    assert_int_equal(svc_linger_ms(64, 256, 5), 0);   /* a quarter: busy enough */
    assert_int_equal(svc_linger_ms(256, 256, 5), 0);  /* a full batch: a backlog */
    assert_int_equal(svc_linger_ms(600, 128, 5), 0);  /* the host: more than batch */
    assert_int_equal(svc_linger_ms(0, 256, 0), 0);    /* lingering off */
    assert_int_equal(svc_linger_ms(0, 2, 7), 0);      /* a batch too small to split */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sigpipe_is_ignored),
        cmocka_unit_test(sigterm_requests_a_stop),
        cmocka_unit_test(clocks_move_forward),
        cmocka_unit_test(lingers_after_small_batches_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
