/* test_ratelimit.c — token buckets per client key, on an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

#define SEC 1000000LL

/* Takes n tokens at time t; returns how many were granted. */
static int take(ratelimit_t *rl, const char *key, int n, int64_t t)
{
    int ok = 0;
    for (int i = 0; i < n; i++)
        ok += ratelimit_allow(rl, key, t, NULL);
    return ok;
}

static void burst_then_refused(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(10, 20, 64);
    assert_non_null(rl);
    assert_int_equal(take(rl, "civil", 25, 0), 20);
    int64_t retry = -1;
    assert_false(ratelimit_allow(rl, "civil", 0, &retry));
    assert_int_equal(retry, SEC / 10); /* one token every 100 ms */
    ratelimit_destroy(&rl);
    assert_null(rl);
}

static void refills_at_the_rate(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(10, 20, 64);
    assert_int_equal(take(rl, "k", 20, 0), 20);
    assert_int_equal(take(rl, "k", 5, SEC / 10 - 1), 0);    /* not yet a whole token */
    assert_int_equal(take(rl, "k", 5, SEC / 10), 1);        /* exactly one */
    assert_int_equal(take(rl, "k", 10, SEC / 10 + SEC / 2), 5); /* half a second: five */
    int64_t retry;
    ratelimit_allow(rl, "k", SEC / 10 + SEC / 2 + 30000, &retry);
    assert_int_equal(retry, 70000); /* 30 ms of the 100 ms had passed */
    ratelimit_destroy(&rl);
}

static void never_more_than_the_burst(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(200, 400, 64);
    assert_int_equal(take(rl, "k", 1, 0), 1);
    /* a day idle (and a year: no overflow) refills to the burst, not beyond */
    assert_int_equal(take(rl, "k", 500, 86400 * SEC), 400);
    assert_int_equal(take(rl, "k", 500, 365LL * 86400 * SEC), 400);
    ratelimit_destroy(&rl);
}

static void keys_are_independent(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(1, 3, 64);
    assert_int_equal(take(rl, "township-a", 10, 0), 3);
    assert_int_equal(take(rl, "township-b", 10, 0), 3); /* a's flood costs b nothing */
    assert_int_equal(ratelimit_count(rl), 2);
    /* keys equal in their first RATELIMIT_KEY_MAX bytes are still told apart */
    char a[200], b[200];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[150] = 'y';
    assert_int_equal(take(rl, a, 10, 0), 3);
    assert_int_equal(take(rl, b, 10, 0), 3);
    assert_int_equal(ratelimit_count(rl), 4);
    ratelimit_destroy(&rl);
}

static void clock_going_back_is_no_time(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(10, 2, 64);
    assert_int_equal(take(rl, "k", 2, 5 * SEC), 2);
    assert_int_equal(take(rl, "k", 2, 1 * SEC), 0);
    assert_int_equal(take(rl, "k", 2, 5 * SEC + SEC / 10), 1);
    ratelimit_destroy(&rl);
}

static void bounded_table_evicts_the_oldest(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(1, 2, 16); /* 16 slots: at most 12 keys */
    char key[32];
    for (int i = 0; i < 12; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        assert_int_equal(take(rl, key, 2, i), 2); /* each emptied, key-0 oldest */
    }
    assert_int_equal(ratelimit_count(rl), 12);
    assert_int_equal(take(rl, "key-new", 1, 100), 1);
    assert_int_equal(ratelimit_count(rl), 12);      /* one went: key-0 */
    assert_int_equal(take(rl, "key-5", 1, 101), 0);  /* still tracked, still empty */
    assert_int_equal(take(rl, "key-0", 2, 102), 2);  /* forgotten: a fresh bucket */
    assert_int_equal(ratelimit_count(rl), 12);
    /* every tracked key is still found after the shifts of eviction */
    for (int i = 2; i < 12; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        if (i == 5)
            continue;
        assert_int_equal(take(rl, key, 1, 103), 0);
    }
    ratelimit_destroy(&rl);
}

static void churn_keeps_memory_bounded(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(5, 5, 64);
    char key[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "client-%d", i);
        assert_true(ratelimit_allow(rl, key, i, NULL));
        assert_true(ratelimit_count(rl) <= 48);
    }
    /* the most recent keys are the ones kept, and their buckets are right */
    assert_int_equal(take(rl, "client-99999", 10, 100000), 4);
    ratelimit_destroy(&rl);
}

static void null_limiter_admits_and_bad_arguments_refused(void **state)
{
    (void)state;
    assert_true(ratelimit_allow(NULL, "k", 0, NULL));
    assert_null(ratelimit_new(0, 10, 16));
    assert_null(ratelimit_new(10, 0, 16));
    assert_null(ratelimit_new(2000000, 10, 16));
    ratelimit_destroy(NULL);
}

static void configured_from_the_environment(void **state)
{
    (void)state;
    unsetenv("AID_RATE_PER_S");
    unsetenv("AID_RATE_BURST");
    ratelimit_t *rl = ratelimit_from_config(64);
    assert_non_null(rl);
    assert_int_equal(take(rl, "k", 1000, 0), RATELIMIT_BURST_DEFAULT);
    assert_int_equal(take(rl, "k", 1000, SEC), RATELIMIT_RATE_DEFAULT);
    ratelimit_destroy(&rl);
    setenv("AID_RATE_PER_S", "3", 1);
    setenv("AID_RATE_BURST", "7", 1);
    rl = ratelimit_from_config(64);
    assert_int_equal(take(rl, "k", 100, 0), 7);
    assert_int_equal(take(rl, "k", 100, SEC), 3);
    ratelimit_destroy(&rl);
    setenv("AID_RATE_PER_S", "0", 1);
    assert_null(ratelimit_from_config(64)); /* off */
    unsetenv("AID_RATE_PER_S");
    unsetenv("AID_RATE_BURST");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_refused),
        cmocka_unit_test(refills_at_the_rate),
        cmocka_unit_test(never_more_than_the_burst),
        cmocka_unit_test(keys_are_independent),
        cmocka_unit_test(clock_going_back_is_no_time),
        cmocka_unit_test(bounded_table_evicts_the_oldest),
        cmocka_unit_test(churn_keeps_memory_bounded),
        cmocka_unit_test(null_limiter_admits_and_bad_arguments_refused),
        cmocka_unit_test(configured_from_the_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
