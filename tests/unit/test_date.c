/* test_date.c — unit tests of common/date.c: parsing, formatting, ages, day numbers, month and working-day arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "date.h"

/* ---- an independent reference: Sakamoto's day of week (0 = Sunday) -------- */
static int ref_dow(int y, int m, int d)
{
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3)
        y -= 1;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static int ref_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int ref_dim(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && ref_leap(y) ? 29 : dim[m - 1];
}

/* ---- date_parse ---------------------------------------------------------- */

typedef struct {
    const char *text;
    aid_date_t want; /* 0 = rejected */
} parse_row_t;

static void parse_accepts_real_dates(void **state)
{
    (void)state;
    static const parse_row_t rows[] = {
        {"2024-01-01", 20240101},
        {"2025-12-31", 20251231},
        {"1800-01-01", 18000101}, /* first year allowed */
        {"9999-12-31", 99991231}, /* last year allowed */
        {"2000-02-29", 20000229}, /* divisible by 400: leap */
        {"2024-02-29", 20240229}, /* divisible by 4: leap */
        {"1996-02-29", 19960229},
        {"2024-04-30", 20240430},
        {"1949-10-01", 19491001},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        aid_date_t got = date_parse(rows[i].text, strlen(rows[i].text));
        if (got != rows[i].want)
            fail_msg("date_parse(\"%s\") = %d, want %d", rows[i].text, (int)got, (int)rows[i].want);
    }
}

static void parse_rejects_feb_29_in_common_years(void **state)
{
    (void)state;
    static const char *const rows[] = {"2023-02-29", "1900-02-29", "2100-02-29", "2025-02-29"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (date_parse(rows[i], strlen(rows[i])) != 0)
            fail_msg("date_parse(\"%s\") accepted a Feb 29 of a common year", rows[i]);
}

static void parse_rejects_bad_formats_and_impossible_dates(void **state)
{
    (void)state;
    static const char *const rows[] = {
        "",            "2024",        "2024-1-01",   "2024-01-1",   "24-01-01",
        "2024/01/01",  "20240101",    "2024.01.01",  "2024-01-01 ", " 2024-01-01",
        "2024-01-01T00", "2024-13-01", "2024-00-10", "2024-01-00",  "2024-01-32",
        "2024-02-30",  "2024-04-31",  "2024-06-31",  "2024-09-31",  "2024-11-31",
        "1799-12-31",  "0000-01-01",  "+024-01-01",  "-024-01-01",  "2024-+1-01",
        "2024-01-0a",  "2O24-01-01",  "2024--01-01", "2024-01--1",  "abcd-ef-gh",
        "2024-1a-01",  "2024-01- 1",
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (date_parse(rows[i], strlen(rows[i])) != 0)
            fail_msg("date_parse(\"%s\") should be rejected", rows[i]);
}

static void parse_reads_exactly_len_bytes(void **state)
{
    (void)state;
    /* no terminator needed: the bytes after len are not read */
    const char buf[] = {'2', '0', '2', '4', '-', '0', '3', '-', '1', '5'};
    assert_int_equal(date_parse(buf, sizeof buf), 20240315);
    assert_int_equal(date_parse("2024-03-15trailing", 10), 20240315);
    assert_int_equal(date_parse("2024-03-15trailing", 11), 0);
    assert_int_equal(date_parse("2024-03-15", 9), 0);
}

static void valid_and_make_agree_on_month_lengths(void **state)
{
    (void)state;
    for (int y = 1800; y <= 2400; y++)
        for (int m = 1; m <= 12; m++) {
            int dim = ref_dim(y, m);
            if (!date_valid(y, m, dim) || date_valid(y, m, dim + 1) || date_valid(y, m, 0))
                fail_msg("date_valid wrong for the end of %04d-%02d (%d days)", y, m, dim);
            assert_int_equal(date_make(y, m, dim), y * 10000 + m * 100 + dim);
            assert_int_equal(date_make(y, m, dim + 1), 0);
        }
    assert_false(date_valid(1799, 12, 31));
    assert_false(date_valid(10000, 1, 1));
    assert_false(date_valid(2024, 0, 1));
    assert_false(date_valid(2024, 13, 1));
    assert_false(date_valid(2024, 1, -1));
}

/* ---- date_format ----------------------------------------------------------- */

static void format_writes_iso_dates(void **state)
{
    (void)state;
    static const struct {
        aid_date_t d;
        const char *want;
    } rows[] = {
        {20240229, "2024-02-29"}, {18000101, "1800-01-01"}, {99991231, "9999-12-31"},
        {20000101, "2000-01-01"}, {19491001, "1949-10-01"}, {20251129, "2025-11-29"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[11];
        memset(out, 'Z', sizeof out);
        date_format(rows[i].d, out);
        assert_string_equal(out, rows[i].want);
    }
}

static void format_then_parse_round_trips(void **state)
{
    (void)state;
    for (int64_t n = date_to_days(18000101); n <= date_to_days(99991231); n += 97) {
        aid_date_t d = date_from_days(n);
        char out[11];
        date_format(d, out);
        if (date_parse(out, 10) != d)
            fail_msg("format/parse round trip failed for %d (\"%s\")", (int)d, out);
    }
}

/* ---- date_years_between ---------------------------------------------------- */

static void years_between_on_and_around_birthdays(void **state)
{
    (void)state;
    static const struct {
        aid_date_t birth, on;
        int want;
    } rows[] = {
        {20000615, 20250614, 24}, /* the day before the 25th birthday */
        {20000615, 20250615, 25}, /* on the birthday */
        {20000615, 20250616, 25}, /* the day after */
        {20000615, 20000615, 0},  /* born that day */
        {20000615, 20010614, 0},
        {20000615, 20010615, 1},
        {19651231, 20251230, 59}, /* turns 60 the next day */
        {19651231, 20251231, 60},
        {19660101, 20251231, 59},
        {20070101, 20241231, 17}, /* minor until the 18th birthday */
        {20070101, 20250101, 18},
        {20000229, 20240228, 23}, /* Feb 29 birthday, leap year: reached on Feb 29 */
        {20000229, 20240229, 24},
        {20000229, 20250228, 24}, /* common year: not yet reached on Feb 28 */
        {20000229, 20250301, 25}, /* reached on Mar 1 */
        {19491001, 20251001, 76},
        {19490930, 20251001, 76},
        {19491002, 20251001, 75},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int got = date_years_between(rows[i].birth, rows[i].on);
        if (got != rows[i].want)
            fail_msg("date_years_between(%d, %d) = %d, want %d", (int)rows[i].birth,
                     (int)rows[i].on, got, rows[i].want);
    }
}

/* ---- day numbers ------------------------------------------------------------ */

static void to_days_known_anchors(void **state)
{
    (void)state;
    assert_int_equal(date_to_days(19700101), 0);
    assert_int_equal(date_to_days(19691231), -1);
    assert_int_equal(date_to_days(19700102), 1);
    assert_int_equal(date_to_days(20000301), 11017);
    assert_int_equal(date_to_days(20240229), 19782);
    assert_int_equal(date_to_days(18000101), -62091);
    assert_int_equal(date_to_days(99991231), 2932896);
}

static void days_round_trip_every_day_1800_to_9999(void **state)
{
    (void)state;
    /* walk the calendar day by day with an independent counter */
    int y = 1800, m = 1, d = 1;
    int64_t n = date_to_days(18000101);
    for (;;) {
        aid_date_t date = (aid_date_t)(y * 10000 + m * 100 + d);
        if (date_to_days(date) != n)
            fail_msg("date_to_days(%d) = %lld, want %lld", (int)date, (long long)date_to_days(date),
                     (long long)n);
        if (date_from_days(n) != date)
            fail_msg("date_from_days(%lld) = %d, want %d", (long long)n, (int)date_from_days(n),
                     (int)date);
        if (date == 99991231)
            break;
        n++;
        if (++d > ref_dim(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    assert_int_equal(n, 2932896);
}

/* ---- date_add_months --------------------------------------------------------- */

static void add_months_clamps_to_month_end(void **state)
{
    (void)state;
    static const struct {
        aid_date_t d;
        int n;
        aid_date_t want;
    } rows[] = {
        {20240115, 0, 20240115},
        {20240115, 1, 20240215},
        {20240131, 1, 20240229},  /* leap February */
        {20230131, 1, 20230228},  /* common February */
        {20240331, 1, 20240430},  /* 31 → 30 */
        {20240331, -1, 20240229}, /* backwards into February */
        {20240229, 12, 20250228}, /* a year after Feb 29 */
        {20240229, 48, 20280229},
        {20241215, 1, 20250115},  /* across a year end */
        {20250115, -1, 20241215},
        {20250131, -2, 20241130},
        {20240131, 13, 20250228},
        {20240131, -13, 20221231},
        {20240830, 6, 20250228},
        {20241031, 120, 20341031},
        {20240531, -3, 20240229},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        aid_date_t got = date_add_months(rows[i].d, rows[i].n);
        if (got != rows[i].want)
            fail_msg("date_add_months(%d, %d) = %d, want %d", (int)rows[i].d, rows[i].n, (int)got,
                     (int)rows[i].want);
    }
}

/* ---- date_add_working_days --------------------------------------------------- */

static void add_working_days_skips_weekends(void **state)
{
    (void)state;
    /* 2025-11-24 is a Monday; 2025-11-28 a Friday */
    static const struct {
        aid_date_t d;
        int n;
        aid_date_t want;
    } rows[] = {
        {20251124, 0, 20251124},  /* zero: the same day */
        {20251129, 0, 20251129},  /* zero on a Saturday: unchanged */
        {20251124, 1, 20251125},  /* Mon + 1 → Tue */
        {20251124, 4, 20251128},  /* Mon + 4 → Fri */
        {20251124, 5, 20251201},  /* Mon + 5 → next Mon (across a month end) */
        {20251128, 1, 20251201},  /* Fri + 1 → Mon */
        {20251129, 1, 20251201},  /* Sat + 1 → Mon */
        {20251130, 1, 20251201},  /* Sun + 1 → Mon */
        {20251128, 5, 20251205},  /* Fri + 5 → next Fri */
        {20251128, 10, 20251212},
        {20251231, 1, 20260101},  /* Wed → Thu, across a year end */
        {20251231, 3, 20260105},  /* Wed + 3 → Mon */
        {20240228, 1, 20240229},  /* Wed → Thu Feb 29 */
        {20240301, 1, 20240304},  /* Fri → Mon */
        {20251124, -1, 20251124}, /* negative: unchanged */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        aid_date_t got = date_add_working_days(rows[i].d, rows[i].n);
        if (got != rows[i].want)
            fail_msg("date_add_working_days(%d, %d) = %d, want %d", (int)rows[i].d, rows[i].n,
                     (int)got, (int)rows[i].want);
    }
}

/* Compares with a reference over 1990..2060 for every start day and n = 1..12. */
static void add_working_days_matches_reference_after_1970(void **state)
{
    (void)state;
    for (int64_t day = date_to_days(19900101); day <= date_to_days(20600101); day += 3) {
        aid_date_t start = date_from_days(day);
        for (int n = 1; n <= 12; n++) {
            int64_t k = day;
            int left = n;
            while (left > 0) {
                k++;
                aid_date_t t = date_from_days(k);
                int dow = ref_dow(DATE_Y(t), DATE_M(t), DATE_D(t));
                if (dow != 0 && dow != 6)
                    left--;
            }
            if (date_add_working_days(start, n) != date_from_days(k))
                fail_msg("date_add_working_days(%d, %d) = %d, want %d", (int)start, n,
                         (int)date_add_working_days(start, n), (int)date_from_days(k));
        }
    }
}

/* Regression: the weekday was once (days + 3) % 7, negative for dates before
 * 1970-01-01 (C's % keeps the sign), so pre-1970 weekends counted as working
 * days. Dates from 1800 are valid. */
static void add_working_days_skips_weekends_before_1970(void **state)
{
    (void)state;
    /* 1969-12-26 is a Friday, 1969-12-27 a Saturday; 1900-01-05 a Friday */
    assert_int_equal(date_add_working_days(19691226, 1), 19691229);
    assert_int_equal(date_add_working_days(19691227, 1), 19691229);
    assert_int_equal(date_add_working_days(19000105, 1), 19000108);
    assert_int_equal(date_add_working_days(19691226, 5), 19700102);
}

/* ---- date_today -------------------------------------------------------------- */

static void today_is_a_plausible_valid_date(void **state)
{
    (void)state;
    aid_date_t t = date_today();
    assert_true(date_valid(DATE_Y(t), DATE_M(t), DATE_D(t)));
    assert_true(t >= 20250101);
    assert_true(t <= 21000101);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_accepts_real_dates),
        cmocka_unit_test(parse_rejects_feb_29_in_common_years),
        cmocka_unit_test(parse_rejects_bad_formats_and_impossible_dates),
        cmocka_unit_test(parse_reads_exactly_len_bytes),
        cmocka_unit_test(valid_and_make_agree_on_month_lengths),
        cmocka_unit_test(format_writes_iso_dates),
        cmocka_unit_test(format_then_parse_round_trips),
        cmocka_unit_test(years_between_on_and_around_birthdays),
        cmocka_unit_test(to_days_known_anchors),
        cmocka_unit_test(days_round_trip_every_day_1800_to_9999),
        cmocka_unit_test(add_months_clamps_to_month_end),
        cmocka_unit_test(add_working_days_skips_weekends),
        cmocka_unit_test(add_working_days_matches_reference_after_1970),
        cmocka_unit_test(add_working_days_skips_weekends_before_1970),
        cmocka_unit_test(today_is_a_plausible_valid_date),
    };
    return cmocka_run_group_tests_name("date", tests, NULL, NULL);
}
