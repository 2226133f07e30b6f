/* test_jsonmp.c — unit tests of common/jsonmp.c, the one JSON ⇄ MessagePack of
 * the gateway and aidctl: binary values, integers past 2^53, floats, nil,
 * keys that are not strings, invalid UTF-8, the depth bound and masked paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonmp.h"
#include "utf8.h"

/* ---- helpers ----------------------------------------------------------- */

/* The JSON (compact, keys sorted) that the MessagePack bytes convert to;
 * free() it. */
static char *to_json_text(const char *bytes, size_t len)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(mp_unpack(bytes, len, &u), MP_OK);
    json_t *j = jsonmp_to_json(&u.data);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    msgpack_unpacked_destroy(&u);
    assert_non_null(s);
    return s;
}

#define ASSERT_CONVERTS(lit, want)                                      \
    do {                                                                \
        char *got_ = to_json_text(lit, sizeof(lit) - 1);                \
        if (strcmp(got_, want) != 0)                                    \
            fail_msg("%s: got %s, want %s", #lit, got_, want);          \
        free(got_);                                                     \
    } while (0)

/* Packs the JSON text; returns jsonmp_pack's result, the bytes in sb. */
static int pack_text(const char *text, const char *prefix, msgpack_sbuffer *sb, jsonmp_err_t *err)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, je.text);
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    memset(err, 0, sizeof *err);
    int rc = jsonmp_pack(&pk, v, prefix, err);
    json_decref(v);
    return rc;
}

/* JSON text → MessagePack → JSON text (compact, keys sorted). */
static char *round_trip(const char *text)
{
    msgpack_sbuffer sb;
    jsonmp_err_t err;
    if (pack_text(text, NULL, &sb, &err) != 0)
        fail_msg("%s refused: %s: %s", text, err.path, err.message);
    char *s = to_json_text(sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return s;
}

static char *nested(int depth)
{
    char *s = malloc(6 * (size_t)depth + 8);
    size_t n = 0;
    for (int i = 0; i < depth; i++)
        n += (size_t)sprintf(s + n, "{\"x\":");
    n += (size_t)sprintf(s + n, "1");
    for (int i = 0; i < depth; i++)
        s[n++] = '}';
    s[n] = '\0';
    return s;
}

/* ---- MessagePack → JSON ------------------------------------------------ */

static void bin_becomes_padded_base64(void **state)
{
    (void)state;
    ASSERT_CONVERTS("\xc4\x00", "\"\"");
    ASSERT_CONVERTS("\xc4\x01\xff", "\"/w==\"");
    ASSERT_CONVERTS("\xc4\x02\x00\x10", "\"ABA=\"");
    ASSERT_CONVERTS("\xc4\x03" "abc", "\"YWJj\"");
    ASSERT_CONVERTS("\xc4\x04\xfb\xff\x00\x01", "\"+/8AAQ==\"");
    /* bin 16 with 300 bytes of 0xff: 400 characters, no padding */
    char bytes[3 + 300];
    memcpy(bytes, "\xc5\x01\x2c", 3);
    memset(bytes + 3, 0xff, 300);
    char *s = to_json_text(bytes, sizeof bytes);
    assert_int_equal(strlen(s), 402);
    for (size_t i = 1; i < 401; i++)
        assert_int_equal(s[i], '/');
    free(s);
}

static void bin_inside_maps_and_arrays_is_converted_too(void **state)
{
    (void)state;
    ASSERT_CONVERTS("\x82\xa1" "a\xc4\x02hi\xa1" "b\x92\xc4\x00\xc0",
                    "{\"a\":\"aGk=\",\"b\":[\"\",null]}");
}

static void ext_becomes_base64_of_its_data(void **state)
{
    (void)state;
    ASSERT_CONVERTS("\xd4\x05\x41", "\"QQ==\"");     /* fixext 1, type 5 */
    ASSERT_CONVERTS("\xc7\x03\x7f" "abc", "\"YWJj\""); /* ext 8, type 127 */
}

static void integers_beyond_2_to_the_53_become_decimal_text(void **state)
{
    (void)state;
    /* 2^53 - 1 is still a number; 2^53 and more are strings */
    ASSERT_CONVERTS("\xcf\x00\x1f\xff\xff\xff\xff\xff\xff", "9007199254740991");
    ASSERT_CONVERTS("\xcf\x00\x20\x00\x00\x00\x00\x00\x00", "\"9007199254740992\"");
    ASSERT_CONVERTS("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", "\"18446744073709551615\"");
    ASSERT_CONVERTS("\xd3\xff\xe0\x00\x00\x00\x00\x00\x01", "-9007199254740991");
    ASSERT_CONVERTS("\xd3\xff\xe0\x00\x00\x00\x00\x00\x00", "\"-9007199254740992\"");
    ASSERT_CONVERTS("\xd3\x80\x00\x00\x00\x00\x00\x00\x00", "\"-9223372036854775808\"");
    ASSERT_CONVERTS("\xcd\x52\x3c", "21052");
    ASSERT_CONVERTS("\xff", "-1");
}

static void floats_pass_and_non_finite_ones_become_null(void **state)
{
    (void)state;
    ASSERT_CONVERTS("\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", "1.5");
    ASSERT_CONVERTS("\xca\x40\x20\x00\x00", "2.5");
    ASSERT_CONVERTS("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00", "null");  /* NaN */
    ASSERT_CONVERTS("\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00", "null");  /* +inf */
    ASSERT_CONVERTS("\xca\xff\x80\x00\x00", "null");                  /* -inf */
}

static void nil_and_booleans(void **state)
{
    (void)state;
    ASSERT_CONVERTS("\xc0", "null");
    ASSERT_CONVERTS("\xc3", "true");
    ASSERT_CONVERTS("\xc2", "false");
    ASSERT_CONVERTS("\x81\xa1k\xc0", "{\"k\":null}");
}

static void keys_that_are_not_strings_become_their_json_text(void **state)
{
    (void)state;
    ASSERT_CONVERTS("\x81\x01\xa1" "a", "{\"1\":\"a\"}");
    ASSERT_CONVERTS("\x81\xc0\x01", "{\"null\":1}");
    ASSERT_CONVERTS("\x81\xc3\x01", "{\"true\":1}");
    ASSERT_CONVERTS("\x81\x92\x01\x02\x01", "{\"[1,2]\":1}");
    ASSERT_CONVERTS("\x81\xc4\x01\xff\x01", "{\"\\\"/w==\\\"\":1}");
    /* the integer 1 and the string "1" name the same member: the later wins */
    ASSERT_CONVERTS("\x82\x01\x01\xa1" "1\x02", "{\"1\":2}");
}

static void invalid_utf8_becomes_one_replacement_per_bad_byte(void **state)
{
    (void)state;
    /* the good characters around a bad byte are kept */
    ASSERT_CONVERTS("\xa5" "a\xff" "\xe4\xba\x8c", "\"a\xef\xbf\xbd\xe4\xba\x8c\"");
    ASSERT_CONVERTS("\xa2\xc0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\""); /* overlong NUL */
    ASSERT_CONVERTS("\xa3\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* surrogate */
    /* NUL and control characters are kept; JSON escapes them */
    ASSERT_CONVERTS("\xa3" "a\x00\x01", "\"a\\u0000\\u0001\"");
    /* keys likewise */
    ASSERT_CONVERTS("\x81\xa2k\xfe\x01", "{\"k\xef\xbf\xbd\":1}");
}

/* ---- JSON → MessagePack ------------------------------------------------ */

static void keys_are_packed_in_byte_order(void **state)
{
    (void)state;
    msgpack_sbuffer a, b;
    jsonmp_err_t err;
    assert_int_equal(pack_text("{\"b\":1,\"a\":{\"y\":2,\"x\":3},\"c\":[]}", NULL, &a, &err), 0);
    assert_int_equal(pack_text("{\"c\":[],\"a\":{\"x\":3,\"y\":2},\"b\":1}", NULL, &b, &err), 0);
    static const char want[] = "\x83\xa1" "a\x82\xa1x\x03\xa1y\x02\xa1" "b\x01\xa1" "c\x90";
    assert_int_equal(a.size, sizeof want - 1);
    assert_memory_equal(a.data, want, sizeof want - 1);
    assert_int_equal(b.size, a.size);
    assert_memory_equal(b.data, a.data, a.size);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
}

static void scalars_round_trip(void **state)
{
    (void)state;
    static const char *const same[] = {
        "null", "true", "false", "0", "-1", "211500", "9007199254740991", "\"二\"", "\"\"",
        "[]", "{}", "[1,\"a\",null,true,{\"k\":[false]}]",
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        char *s = round_trip(same[i]);
        if (strcmp(s, same[i]) != 0)
            fail_msg("%s came back as %s", same[i], s);
        free(s);
    }
    /* packed exactly; read back as text, since past 2^53 */
    char *s = round_trip("9223372036854775807");
    assert_string_equal(s, "\"9223372036854775807\"");
    free(s);
}

static void a_real_number_is_refused_naming_its_path(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    jsonmp_err_t err;
    assert_int_equal(
        pack_text("{\"household\":{\"members\":[{\"a\":1},{\"monthly_income_fen\":100.5}]}}",
                  NULL, &sb, &err),
        -1);
    assert_string_equal(err.path, "household.members[1].monthly_income_fen");
    assert_non_null(strstr(err.message, "100.5 is not an integer"));
    assert_non_null(strstr(err.message, "integer fen"));
    msgpack_sbuffer_destroy(&sb);
    /* 2.0 is a real to JSON too, and so is 1e3 */
    assert_int_equal(pack_text("[2.0]", NULL, &sb, &err), -1);
    assert_string_equal(err.path, "[0]");
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(pack_text("1e3", NULL, &sb, &err), -1);
    assert_string_equal(err.path, "");
    msgpack_sbuffer_destroy(&sb);
}

static void the_prefix_starts_every_path(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    jsonmp_err_t err;
    assert_int_equal(pack_text("{\"x\":[1.5]}", "body", &sb, &err), -1);
    assert_string_equal(err.path, "body.x[0]");
    msgpack_sbuffer_destroy(&sb);
}

static void nesting_is_bounded_by_the_envelope(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    jsonmp_err_t err;
    char *ok = nested(JSONMP_MAX_DEPTH);
    assert_int_equal(pack_text(ok, NULL, &sb, &err), 0);
    /* the body as a request envelope's member still reads back */
    msgpack_sbuffer env;
    msgpack_sbuffer_init(&env);
    msgpack_sbuffer_write(&env, "\x81\xa4" "body", 6);
    msgpack_sbuffer_write(&env, sb.data, sb.size);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(mp_unpack(env.data, env.size, &u), MP_OK);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&env);
    msgpack_sbuffer_destroy(&sb);
    free(ok);

    char *deep = nested(JSONMP_MAX_DEPTH + 1);
    assert_int_equal(pack_text(deep, NULL, &sb, &err), -1);
    /* the object that is one too deep is named */
    char want[256] = "x";
    for (int i = 2; i < JSONMP_MAX_DEPTH + 1; i++)
        strcat(want, ".x");
    assert_string_equal(err.path, want);
    assert_non_null(strstr(err.message, "nested too deep"));
    assert_non_null(strstr(err.message, "15 levels"));
    msgpack_sbuffer_destroy(&sb);
    free(deep);

    /* arrays count the same */
    assert_int_equal(pack_text("[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]", NULL, &sb, &err), -1);
    assert_string_equal(err.path, "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]");
    msgpack_sbuffer_destroy(&sb);
}

static void an_id_number_in_a_path_is_masked(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    jsonmp_err_t err;
    assert_int_equal(pack_text("{\"110101199003074514\":0.5}", NULL, &sb, &err), -1);
    assert_null(strstr(err.path, "110101199003074514"));
    assert_non_null(strstr(err.path, "1101"));
    msgpack_sbuffer_destroy(&sb);
}

static void print_indents_by_two(void **state)
{
    (void)state;
    static const char bytes[] = "\x81\xa1k\xc4\x01\xff";
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(mp_unpack(bytes, sizeof bytes - 1, &u), MP_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(jsonmp_print(f, &u.data), 0);
    fclose(f);
    assert_string_equal(buf, "{\n  \"k\": \"/w==\"\n}\n");
    free(buf);
    msgpack_unpacked_destroy(&u);
}

/* utf8_printable: what an operator may type as an id or a name (aidctl). */
static void printable_text_is_bounded_utf8_without_controls(void **state)
{
    (void)state;
    assert_true(utf8_printable("req-1", 256));
    assert_true(utf8_printable("测试甲镇", 256));
    assert_false(utf8_printable("", 256));
    assert_false(utf8_printable("abcd", 3));
    assert_false(utf8_printable("a\tb", 256));
    assert_false(utf8_printable("a\x7f", 256));
    assert_false(utf8_printable("\xc3\x28", 256)); /* not UTF-8 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bin_becomes_padded_base64),
        cmocka_unit_test(bin_inside_maps_and_arrays_is_converted_too),
        cmocka_unit_test(ext_becomes_base64_of_its_data),
        cmocka_unit_test(integers_beyond_2_to_the_53_become_decimal_text),
        cmocka_unit_test(floats_pass_and_non_finite_ones_become_null),
        cmocka_unit_test(nil_and_booleans),
        cmocka_unit_test(keys_that_are_not_strings_become_their_json_text),
        cmocka_unit_test(invalid_utf8_becomes_one_replacement_per_bad_byte),
        cmocka_unit_test(keys_are_packed_in_byte_order),
        cmocka_unit_test(scalars_round_trip),
        cmocka_unit_test(a_real_number_is_refused_naming_its_path),
        cmocka_unit_test(the_prefix_starts_every_path),
        cmocka_unit_test(nesting_is_bounded_by_the_envelope),
        cmocka_unit_test(an_id_number_in_a_path_is_masked),
        cmocka_unit_test(print_indents_by_two),
        cmocka_unit_test(printable_text_is_bounded_utf8_without_controls),
    };
    return cmocka_run_group_tests_name("jsonmp", tests, NULL, NULL);
}
