/* test_pgarr.c — unit tests of common/pgarr.c: PostgreSQL array literals for empty arrays, escaped text, integers and NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgarr.h"

/* ---- a reader for the literals, as PostgreSQL's array_in reads them --------
 * Returns the number of elements and fills elems[i] (malloc'd, NULL for an
 * unquoted NULL), or -1 when the literal is malformed. */
static int parse_literal(const char *s, char **elems, int max)
{
    int n = 0;
    if (*s++ != '{')
        return -1;
    if (*s == '}')
        return s[1] == '\0' ? 0 : -1;
    for (;;) {
        if (n == max)
            return -1;
        if (*s == '"') {
            size_t cap = strlen(s) + 1, o = 0;
            char *e = malloc(cap);
            for (s++; *s && *s != '"'; s++) {
                if (*s == '\\')
                    s++;
                if (!*s) {
                    free(e);
                    return -1;
                }
                e[o++] = *s;
            }
            if (*s != '"') {
                free(e);
                return -1;
            }
            s++;
            e[o] = '\0';
            elems[n++] = e;
        } else {
            size_t len = strcspn(s, ",}");
            if (len == 0)
                return -1;
            if (len == 4 && !strncmp(s, "NULL", 4)) {
                elems[n++] = NULL;
            } else {
                char *e = malloc(len + 1);
                memcpy(e, s, len);
                e[len] = '\0';
                elems[n++] = e;
            }
            s += len;
        }
        if (*s == '}')
            return s[1] == '\0' ? n : -1;
        if (*s != ',')
            return -1;
        s++;
    }
}

static void free_elems(char **elems, int n)
{
    for (int i = 0; i < n; i++)
        free(elems[i]);
}

/* ---- empty ---------------------------------------------------------------- */

static void empty_array_is_braces(void **state)
{
    (void)state;
    pgarr_t a;
    pgarr_init(&a);
    assert_string_equal(pgarr_str(&a), "{}");
    assert_string_equal(pgarr_str(&a), "{}"); /* asking twice changes nothing */
    assert_int_equal(a.count, 0);
    /* still appendable after pgarr_str */
    pgarr_add_text(&a, "x");
    assert_string_equal(pgarr_str(&a), "{\"x\"}");
    pgarr_free(&a);
    assert_null(a.buf);
}

static void reset_empties_the_array(void **state)
{
    (void)state;
    pgarr_t a;
    pgarr_init(&a);
    pgarr_add_int(&a, 1);
    pgarr_add_int(&a, 2);
    assert_string_equal(pgarr_str(&a), "{1,2}");
    pgarr_reset(&a);
    assert_int_equal(a.count, 0);
    assert_string_equal(pgarr_str(&a), "{}");
    pgarr_add_text(&a, "b");
    assert_string_equal(pgarr_str(&a), "{\"b\"}");
    pgarr_free(&a);
}

/* ---- text ------------------------------------------------------------------ */

static void text_elements_are_quoted_and_escaped(void **state)
{
    (void)state;
    static const struct {
        const char *label, *in, *want;
    } rows[] = {
        {"plain", "abc", "{\"abc\"}"},
        {"empty string", "", "{\"\"}"},
        {"double quote", "say \"hi\"", "{\"say \\\"hi\\\"\"}"},
        {"backslash", "C:\\dir\\", "{\"C:\\\\dir\\\\\"}"},
        {"comma", "a,b", "{\"a,b\"}"},
        {"braces", "{x,y}", "{\"{x,y}\"}"},
        {"spaces", "  padded  ", "{\"  padded  \"}"},
        {"the word NULL", "NULL", "{\"NULL\"}"},
        {"single quote", "it's", "{\"it's\"}"},
        {"UTF-8", "张三丰", "{\"张三丰\"}"},
        {"newline and tab", "a\nb\tc", "{\"a\nb\tc\"}"},
        {"only quotes", "\"\"", "{\"\\\"\\\"\"}"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pgarr_t a;
        pgarr_init(&a);
        pgarr_add_text(&a, rows[i].in);
        const char *got = pgarr_str(&a);
        int ok = got && strcmp(got, rows[i].want) == 0;
        char *elems[2];
        int n = got ? parse_literal(got, elems, 2) : -1;
        int back = n == 1 && elems[0] && strcmp(elems[0], rows[i].in) == 0;
        if (n > 0)
            free_elems(elems, n);
        if (!ok || !back) {
            print_error("%s: literal %s, want %s (reads back: %s)\n", rows[i].label,
                        got ? got : "(null)", rows[i].want, back ? "yes" : "no");
            pgarr_free(&a);
            fail();
        }
        pgarr_free(&a);
    }
}

static void many_texts_read_back_exactly(void **state)
{
    (void)state;
    static const char *const texts[] = {"a", "", "\"", "\\", ",", "{", "}", "NULL", "张",
                                        "x\\\"y", "} , {", "\\\\\\"};
    const int ntexts = (int)(sizeof texts / sizeof texts[0]);
    pgarr_t a;
    pgarr_init(&a);
    for (int i = 0; i < ntexts; i++)
        pgarr_add_text(&a, texts[i]);
    assert_int_equal(a.count, ntexts);
    char *elems[32];
    int n = parse_literal(pgarr_str(&a), elems, 32);
    assert_int_equal(n, ntexts);
    for (int i = 0; i < n; i++) {
        assert_non_null(elems[i]);
        assert_string_equal(elems[i], texts[i]);
    }
    free_elems(elems, n);
    pgarr_free(&a);
}

/* ---- ints and NULL ----------------------------------------------------------- */

static void ints_are_written_bare(void **state)
{
    (void)state;
    pgarr_t a;
    pgarr_init(&a);
    pgarr_add_int(&a, 0);
    pgarr_add_int(&a, -1);
    pgarr_add_int(&a, 211500);
    pgarr_add_int(&a, INT64_MAX);
    pgarr_add_int(&a, INT64_MIN);
    assert_string_equal(pgarr_str(&a), "{0,-1,211500,9223372036854775807,-9223372036854775808}");
    assert_int_equal(a.count, 5);
    pgarr_free(&a);
}

static void null_is_an_unquoted_null(void **state)
{
    (void)state;
    pgarr_t a;
    pgarr_init(&a);
    pgarr_add_null(&a);
    assert_string_equal(pgarr_str(&a), "{NULL}");
    pgarr_add_text(&a, "NULL");
    pgarr_add_null(&a);
    assert_string_equal(pgarr_str(&a), "{NULL,\"NULL\",NULL}");
    char *elems[4];
    int n = parse_literal(pgarr_str(&a), elems, 4);
    assert_int_equal(n, 3);
    assert_null(elems[0]);
    assert_string_equal(elems[1], "NULL");
    assert_null(elems[2]);
    free_elems(elems, n);
    pgarr_free(&a);
}

static void mixed_elements_and_interleaved_str_calls(void **state)
{
    (void)state;
    pgarr_t a;
    pgarr_init(&a);
    pgarr_add_text(&a, "a");
    assert_string_equal(pgarr_str(&a), "{\"a\"}");
    pgarr_add_int(&a, 2);
    assert_string_equal(pgarr_str(&a), "{\"a\",2}");
    pgarr_add_null(&a);
    pgarr_add_text(&a, "d,\"e\"");
    assert_string_equal(pgarr_str(&a), "{\"a\",2,NULL,\"d,\\\"e\\\"\"}");
    assert_int_equal(a.failed, 0);
    pgarr_free(&a);
}

static void large_arrays_grow_the_buffer(void **state)
{
    (void)state;
    pgarr_t a;
    pgarr_init(&a);
    char text[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(text, sizeof text, "member \"%d\" \\ {%d}", i, i);
        pgarr_add_text(&a, text);
    }
    /* a long element bigger than any initial buffer */
    char *big = malloc(20001);
    memset(big, '"', 20000);
    big[20000] = '\0';
    pgarr_add_text(&a, big);
    const char *lit = pgarr_str(&a);
    assert_non_null(lit);
    assert_int_equal(strlen(lit), a.len + 1); /* the closing brace follows len */
    char **elems = calloc(5001, sizeof *elems);
    int n = parse_literal(lit, elems, 5001);
    assert_int_equal(n, 5001);
    for (int i = 0; i < 5000; i++) {
        snprintf(text, sizeof text, "member \"%d\" \\ {%d}", i, i);
        assert_string_equal(elems[i], text);
    }
    assert_string_equal(elems[5000], big);
    free_elems(elems, n);
    free(elems);
    free(big);
    pgarr_free(&a);
}

/* ---- bytea[] in the binary format --------------------------------------- */

static uint32_t be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static void pgbin_writes_the_binary_array_format(void **state)
{
    (void)state;
    pgbin_t b;
    pgbin_init(&b);
    int len = -1;
    const char *d = pgbin_data(&b, &len); /* empty: no dimensions */
    assert_non_null(d);
    assert_int_equal(len, 12);
    assert_int_equal(be32(d), 0);
    assert_int_equal(be32(d + 8), 17);
    pgbin_add(&b, "ab", 2);
    pgbin_add(&b, "", 0);
    pgbin_add(&b, "x\0y", 3);
    d = pgbin_data(&b, &len);
    assert_non_null(d);
    assert_int_equal(len, 20 + (4 + 2) + 4 + (4 + 3));
    assert_int_equal(be32(d), 1);       /* one dimension */
    assert_int_equal(be32(d + 4), 0);   /* no NULLs */
    assert_int_equal(be32(d + 8), 17);  /* bytea */
    assert_int_equal(be32(d + 12), 3);  /* elements */
    assert_int_equal(be32(d + 16), 1);  /* lower bound */
    assert_int_equal(be32(d + 20), 2);
    assert_memory_equal(d + 24, "ab", 2);
    assert_int_equal(be32(d + 26), 0);
    assert_int_equal(be32(d + 30), 3);
    assert_memory_equal(d + 34, "x\0y", 3);
    pgbin_reset(&b); /* reused: the count starts again */
    pgbin_add(&b, "z", 1);
    d = pgbin_data(&b, &len);
    assert_int_equal(len, 20 + 5);
    assert_int_equal(be32(d + 12), 1);
    for (int i = 0; i < 10000; i++) /* grows */
        pgbin_add(&b, "0123456789", 10);
    d = pgbin_data(&b, &len);
    assert_int_equal(len, 20 + 5 + 10000 * 14);
    assert_int_equal(be32(d + 12), 10001);
    pgbin_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_array_is_braces),
        cmocka_unit_test(reset_empties_the_array),
        cmocka_unit_test(text_elements_are_quoted_and_escaped),
        cmocka_unit_test(many_texts_read_back_exactly),
        cmocka_unit_test(ints_are_written_bare),
        cmocka_unit_test(null_is_an_unquoted_null),
        cmocka_unit_test(mixed_elements_and_interleaved_str_calls),
        cmocka_unit_test(large_arrays_grow_the_buffer),
        cmocka_unit_test(pgbin_writes_the_binary_array_format),
    };
    return cmocka_run_group_tests_name("pgarr", tests, NULL, NULL);
}
