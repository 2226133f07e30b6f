/* test_idcard.c — unit tests of common/idcard.c: ID number validation (POLICY.md §0), birth dates and the ID/name masks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "idcard.h"

/* The check character computed independently from POLICY.md §0. */
static char ref_check(const char *s17)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char c[] = "10X98765432";
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (s17[i] - '0') * w[i];
    return c[sum % 11];
}

/* Builds a valid ID number from a 6-digit area, a YYYYMMDD birth date and a
 * 3-digit sequence. */
static void make_id(char out[19], const char *area, const char *birth, int seq)
{
    snprintf(out, 19, "%.6s%.8s%03d", area, birth, seq % 1000);
    out[17] = ref_check(out);
    out[18] = '\0';
}

/* ---- idcard_check: every result code ---------------------------------------- */
/* Rows with a bad birth date carry the right check character, so only the date fails. */

typedef struct {
    const char *label;
    const char *id;
    aid_date_t not_after;
    idcard_err_t want;
} check_row_t;

static void check_returns_each_error_code(void **state)
{
    (void)state;
    static const check_row_t rows[] = {
        {"valid, digit check", "520123195803011235", 0, IDCARD_OK},
        {"valid, X check", "11010519491231002X", 0, IDCARD_OK},
        {"valid, lower-case x", "11010519491231002x", 0, IDCARD_OK},
        {"valid, Feb 29 of a leap year", "520123200002290012", 0, IDCARD_OK},
        {"valid, born on not_after", "520123202506150012", 20250615, IDCARD_OK},
        {"empty", "", 0, IDCARD_LENGTH},
        {"17 characters", "52012319580301123", 0, IDCARD_LENGTH},
        {"19 characters", "5201231958030112350", 0, IDCARD_LENGTH},
        {"15-digit old form", "520123580301123", 0, IDCARD_LENGTH},
        {"letter in the area", "52O123195803011235", 0, IDCARD_CHARS},
        {"X not last", "5201231958030112X5", 0, IDCARD_CHARS},
        {"space", "520123 95803011235", 0, IDCARD_CHARS},
        {"other letter last", "52012319580301123Y", 0, IDCARD_CHARS},
        {"minus sign", "-20123195803011235", 0, IDCARD_CHARS},
        {"month 13", "520123195813011239", 0, IDCARD_BIRTH_DATE},
        {"day 00", "52012319580300123X", 0, IDCARD_BIRTH_DATE},
        {"Feb 29 of a common year", "520123190002291238", 0, IDCARD_BIRTH_DATE},
        {"April 31", "52012319580431123X", 0, IDCARD_BIRTH_DATE},
        {"year 1799", "520123179912311237", 0, IDCARD_BIRTH_DATE},
        {"born the day after not_after", "520123202506160018", 20250615, IDCARD_FUTURE},
        {"born years after not_after", "520123202506160018", 20000101, IDCARD_FUTURE},
        {"wrong check digit", "520123195803011234", 0, IDCARD_CHECKSUM},
        {"X where a digit belongs", "52012319580301123X", 0, IDCARD_CHECKSUM},
        {"digit where X belongs", "110105194912310020", 0, IDCARD_CHECKSUM},
        {"two digits swapped", "520123195803011325", 0, IDCARD_CHECKSUM},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[19] = "unchanged";
        aid_date_t birth = -1;
        idcard_err_t got =
            idcard_check(rows[i].id, strlen(rows[i].id), rows[i].not_after, out, &birth);
        if (got != rows[i].want)
            fail_msg("%s: idcard_check(\"%s\") = %d (%s), want %d (%s)", rows[i].label, rows[i].id,
                     got, idcard_strerror(got), rows[i].want, idcard_strerror(rows[i].want));
        if (got != IDCARD_OK && strcmp(out, "unchanged") != 0)
            fail_msg("%s: out written on failure", rows[i].label);
        if (got != IDCARD_OK && birth != -1)
            fail_msg("%s: birth written on failure", rows[i].label);
    }
}

static void check_future_only_when_not_after_given(void **state)
{
    (void)state;
    char out[19];
    aid_date_t birth;
    /* born 2999-01-01 is a real date: only not_after rejects it */
    char id[19];
    make_id(id, "520123", "29990101", 1);
    assert_int_equal(idcard_check(id, 18, 0, out, &birth), IDCARD_OK);
    assert_int_equal(birth, 29990101);
    assert_int_equal(idcard_check(id, 18, 20251129, out, &birth), IDCARD_FUTURE);
    assert_int_equal(idcard_check(id, 18, 29990101, out, &birth), IDCARD_OK);
    assert_int_equal(idcard_check(id, 18, 29981231, out, &birth), IDCARD_FUTURE);
}

static void check_canonicalises_lower_case_x(void **state)
{
    (void)state;
    char out[19];
    aid_date_t birth = 0;
    assert_int_equal(idcard_check("11010519491231002x", 18, 20251129, out, &birth), IDCARD_OK);
    assert_string_equal(out, "11010519491231002X");
    assert_int_equal(birth, 19491231);
    assert_int_equal(idcard_check("11010519491231002X", 18, 20251129, out, NULL), IDCARD_OK);
    assert_string_equal(out, "11010519491231002X");
}

static void check_reads_only_len_bytes(void **state)
{
    (void)state;
    char out[19];
    aid_date_t birth;
    const char buf[18] = {'5', '2', '0', '1', '2', '3', '1', '9', '5',
                          '8', '0', '3', '0', '1', '1', '2', '3', '5'};
    assert_int_equal(idcard_check(buf, sizeof buf, 0, out, &birth), IDCARD_OK);
    assert_string_equal(out, "520123195803011235");
    assert_int_equal(idcard_check("520123195803011235 and more", 18, 0, out, &birth), IDCARD_OK);
}

static void check_accepts_every_generated_valid_id(void **state)
{
    (void)state;
    static const char *const births[] = {"18000101", "19000228", "19491001", "19991231",
                                         "20000229", "20121212", "20250615"};
    for (size_t b = 0; b < sizeof births / sizeof births[0]; b++)
        for (int seq = 0; seq < 1000; seq += 7) {
            char id[19], out[19];
            aid_date_t birth;
            make_id(id, "440304", births[b], seq);
            idcard_err_t e = idcard_check(id, 18, 20251129, out, &birth);
            if (e != IDCARD_OK)
                fail_msg("idcard_check(\"%s\") = %s", id, idcard_strerror(e));
            assert_string_equal(out, id);
            assert_int_equal(birth, idcard_birth(id));
            /* every other check character is wrong */
            for (const char *c = "0123456789X"; *c; c++) {
                if (*c == id[17])
                    continue;
                char bad[19];
                memcpy(bad, id, 19);
                bad[17] = *c;
                if (idcard_check(bad, 18, 0, out, &birth) != IDCARD_CHECKSUM)
                    fail_msg("\"%s\" should fail the checksum", bad);
            }
        }
}

static void strerror_has_a_sentence_for_every_code(void **state)
{
    (void)state;
    const idcard_err_t codes[] = {IDCARD_OK,         IDCARD_LENGTH, IDCARD_CHARS,
                                  IDCARD_BIRTH_DATE, IDCARD_FUTURE, IDCARD_CHECKSUM};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = idcard_strerror(codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 3);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s, idcard_strerror(codes[j]));
    }
    assert_non_null(idcard_strerror((idcard_err_t)99));
}

static void birth_reads_characters_7_to_14(void **state)
{
    (void)state;
    assert_int_equal(idcard_birth("520123195803011235"), 19580301);
    assert_int_equal(idcard_birth("11010519491231002X"), 19491231);
    assert_int_equal(idcard_birth("520123195813011230"), 0);
    assert_int_equal(idcard_birth("5201231958a3011230"), 0);
}

/* ---- masks ------------------------------------------------------------------ */

static void idcard_mask_keeps_first_6_and_last_4(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"520123195803011235", "520123********1235"},
        {"11010519491231002X", "110105********002X"},
        {"11010519491231002x", "110105********002x"},
        {"52012319580301123", "*****************"},    /* 17: masked whole */
        {"5201231958030112350", "*******************"}, /* 19: masked whole */
        {"", ""},
        {"abc", "***"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[64];
        idcard_mask(rows[i].in, strlen(rows[i].in), out, sizeof out);
        assert_string_equal(out, rows[i].want);
    }
}

static void idcard_mask_respects_small_buffers(void **state)
{
    (void)state;
    char out[8];
    memset(out, 'Z', sizeof out);
    idcard_mask("520123195803011235", 18, out, sizeof out);
    assert_string_equal(out, "520123*");
    char one[1] = {'Z'};
    idcard_mask("520123195803011235", 18, one, sizeof one);
    assert_int_equal(one[0], '\0');
    char untouched = 'Z';
    idcard_mask("520123195803011235", 18, &untouched, 0);
    assert_int_equal(untouched, 'Z');
}

static void name_mask_keeps_the_first_character(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"张", "张"},
        {"张三", "张*"},
        {"张三丰", "张**"},
        {"欧阳娜娜", "欧***"},
        {"Bob", "B**"},
        {"A", "A"},
        {"", ""},
        {"Zoë", "Z**"},
        {"É", "É"},
        {"Éva", "É**"},
        {"𠀋一", "𠀋*"}, /* a 4-byte first character kept whole */
        {"买买提·艾力", "买*****"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[64];
        name_mask(rows[i].in, out, sizeof out);
        if (strcmp(out, rows[i].want) != 0)
            fail_msg("name_mask(\"%s\") = \"%s\", want \"%s\"", rows[i].in, out, rows[i].want);
    }
}

static void name_mask_never_overflows(void **state)
{
    (void)state;
    char out[3];
    name_mask("Alexander", out, sizeof out);
    assert_string_equal(out, "A*");
    char none[1] = {'Z'};
    name_mask("张三", none, sizeof none);
    assert_int_equal(none[0], '\0');
    char untouched = 'Z';
    name_mask("张三", &untouched, 0);
    assert_int_equal(untouched, 'Z');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_returns_each_error_code),
        cmocka_unit_test(check_future_only_when_not_after_given),
        cmocka_unit_test(check_canonicalises_lower_case_x),
        cmocka_unit_test(check_reads_only_len_bytes),
        cmocka_unit_test(check_accepts_every_generated_valid_id),
        cmocka_unit_test(strerror_has_a_sentence_for_every_code),
        cmocka_unit_test(birth_reads_characters_7_to_14),
        cmocka_unit_test(idcard_mask_keeps_first_6_and_last_4),
        cmocka_unit_test(idcard_mask_respects_small_buffers),
        cmocka_unit_test(name_mask_keeps_the_first_character),
        cmocka_unit_test(name_mask_never_overflows),
    };
    return cmocka_run_group_tests_name("idcard", tests, NULL, NULL);
}
