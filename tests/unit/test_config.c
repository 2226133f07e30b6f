/* test_config.c — unit tests of common/config.c: config_str and config_int defaults and bounds, config_list_has. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

#define VAR "AID_UNIT_TEST_CONFIG_VAR"

static int clear_var(void **state)
{
    (void)state;
    unsetenv(VAR);
    return 0;
}

/* ---- config_str -------------------------------------------------------------- */

static void str_unset_gives_default(void **state)
{
    (void)state;
    assert_string_equal(config_str(VAR, "fallback"), "fallback");
    assert_null(config_str(VAR, NULL));
}

static void str_empty_gives_default(void **state)
{
    (void)state;
    setenv(VAR, "", 1);
    assert_string_equal(config_str(VAR, "fallback"), "fallback");
}

static void str_set_gives_value(void **state)
{
    (void)state;
    setenv(VAR, "tcp://127.0.0.1:5601", 1);
    assert_string_equal(config_str(VAR, "fallback"), "tcp://127.0.0.1:5601");
    assert_string_equal(config_str(VAR, NULL), "tcp://127.0.0.1:5601");
    setenv(VAR, " ", 1);
    assert_string_equal(config_str(VAR, "fallback"), " ");
}

/* ---- config_int --------------------------------------------------------------- */

typedef struct {
    const char *value; /* NULL = unset */
    int64_t def, min, max, want;
} int_row_t;

static void int_defaults_and_bounds(void **state)
{
    (void)state;
    static const int_row_t rows[] = {
        {NULL, 500, 10, 60000, 500},             /* unset */
        {"", 500, 10, 60000, 500},               /* empty */
        {"750", 500, 10, 60000, 750},            /* in range */
        {"10", 500, 10, 60000, 10},              /* at min */
        {"60000", 500, 10, 60000, 60000},        /* at max */
        {"9", 500, 10, 60000, 500},              /* below min */
        {"60001", 500, 10, 60000, 500},          /* above max */
        {"-5", 3, 0, 10, 3},                     /* negative below min */
        {"-5", 3, -10, 10, -5},                  /* negative allowed */
        {"abc", 7, 0, 100, 7},                   /* not a number */
        {"12abc", 7, 0, 100, 7},                 /* trailing garbage */
        {"12 ", 7, 0, 100, 7},                   /* trailing space */
        {"1.5", 7, 0, 100, 7},                   /* not an integer */
        {"0x10", 7, 0, 100, 7},                  /* hex is not decimal */
        {"99999999999999999999", 7, 0, INT64_MAX, 7}, /* overflows int64 */
        {"-99999999999999999999", 7, INT64_MIN, 0, 7},
        {"9223372036854775807", 7, 0, INT64_MAX, INT64_MAX},
        {"-9223372036854775808", 7, INT64_MIN, 0, INT64_MIN},
        {"0", 7, 0, 100, 0},
        {"+42", 7, 0, 100, 42},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].value)
            setenv(VAR, rows[i].value, 1);
        else
            unsetenv(VAR);
        int64_t got = config_int(VAR, rows[i].def, rows[i].min, rows[i].max);
        if (got != rows[i].want)
            fail_msg("config_int(\"%s\", def %lld, [%lld, %lld]) = %lld, want %lld",
                     rows[i].value ? rows[i].value : "(unset)", (long long)rows[i].def,
                     (long long)rows[i].min, (long long)rows[i].max, (long long)got,
                     (long long)rows[i].want);
    }
}

/* ---- config_list_has -------------------------------------------------------------- */

typedef struct {
    const char *list; /* NULL = unset */
    const char *name;
    int want;
} list_row_t;

static void list_has_finds_exact_names(void **state)
{
    (void)state;
    static const list_row_t rows[] = {
        {NULL, "civil", 0},
        {"", "civil", 0},
        {"civil", "civil", 1},
        {"civil,housing,care", "civil", 1},
        {"civil,housing,care", "housing", 1},
        {"civil,housing,care", "care", 1},
        {"civil,housing,care", "medical", 0},
        {" civil , housing ,care ", "housing", 1}, /* spaces around names are ignored */
        {" civil , housing ,care ", "civil", 1},
        {" civil , housing ,care ", "care", 1},
        {"civilian,housings", "civil", 0},        /* no prefix matches */
        {"civilian,housings", "housing", 0},
        {"civil", "civ", 0},
        {"civil", "civilx", 0},
        {"a,,b", "b", 1},
        {"Civil", "civil", 0},                    /* case matters */
        {"civil,", "civil", 1},
        {",civil", "civil", 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].list)
            setenv(VAR, rows[i].list, 1);
        else
            unsetenv(VAR);
        int got = config_list_has(VAR, rows[i].name);
        if (got != rows[i].want)
            fail_msg("config_list_has(\"%s\", \"%s\") = %d, want %d",
                     rows[i].list ? rows[i].list : "(unset)", rows[i].name, got, rows[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(str_unset_gives_default, clear_var, clear_var),
        cmocka_unit_test_setup_teardown(str_empty_gives_default, clear_var, clear_var),
        cmocka_unit_test_setup_teardown(str_set_gives_value, clear_var, clear_var),
        cmocka_unit_test_setup_teardown(int_defaults_and_bounds, clear_var, clear_var),
        cmocka_unit_test_setup_teardown(list_has_finds_exact_names, clear_var, clear_var),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
