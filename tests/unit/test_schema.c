/* test_schema.c — unit tests of common/schema.c on a test schema with every field type: decode errors and their field paths, UTF-8 checks, encode/decode round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "date.h"
#include "mp.h"
#include "schema.h"

#include "jpack.h"

/* ---- the test schema: one field of every type ---------------------------- */

static const char *const colors[] = {"red", "green", "blue", NULL};

typedef struct {
    int64_t x;
    bool y;
} inner_t;

typedef struct {
    char name[17];
    int64_t qty;
} item_t;

typedef struct {
    bool flag;
    int64_t n;
    int color;
    char label[33];
    char code[5];
    aid_date_t day;
    char idn[19];
    inner_t inner;
    int n_items;
    item_t items[4];
    int n_tags;
    char tags[3][9];
} rec_t;

static const schema_field_t inner_fields[] = {
    SF_INT(inner_t, x, "x", true, 0, 5),
    SF_BOOL(inner_t, y, "y", false),
};
static SCHEMA(inner_schema, "inner", inner_fields);

static const schema_field_t item_fields[] = {
    SF_STR(item_t, name, "name", true, 16),
    SF_INT(item_t, qty, "qty", false, 0, 9),
};
static SCHEMA(item_schema, "item", item_fields);

static const schema_field_t rec_fields[] = {
    SF_BOOL(rec_t, flag, "flag", true),
    SF_INT(rec_t, n, "n", false, -10, 100),
    SF_ENUM(rec_t, color, "color", false, colors),
    SF_STR(rec_t, label, "label", false, 32),
    SF_DIGITS(rec_t, code, "code", false, 4),
    SF_DATE(rec_t, day, "day", false),
    SF_IDNUM(rec_t, idn, "idn", false),
    SF_OBJ(rec_t, inner, "inner", false, &inner_schema),
    SF_ARR(rec_t, items, "items", false, &item_schema, n_items, 1, 4),
    SF_STRARR(rec_t, tags, "tags", false, n_tags, 3),
};
static SCHEMA(rec_schema, "rec", rec_fields);

#define FULL                                                                                 \
    "{flag: true, n: -7, color: 'blue', label: '张三 label', code: '0123', day: '2024-02-29', " \
    "idn: '11010519491231002x', inner: {x: 5, y: true}, "                                    \
    "items: [{name: 'first', qty: 1}, {name: 'second'}, {name: '第三', qty: 9}], "           \
    "tags: ['a', 'bb', '中文']}"

/* Decodes text into *r (zeroed first) with prefix; returns schema_decode's result. */
static int decode(const char *text, rec_t *r, const char *prefix, schema_err_t *err)
{
    msg_t m;
    const msgpack_object *o = msg_make(&m, text);
    memset(r, 0, sizeof *r);
    memset(err, 0, sizeof *err);
    int rc = schema_decode(&rec_schema, o, r, prefix, err);
    msg_free(&m);
    return rc;
}

typedef struct {
    const char *label;
    const char *text;
    const char *field; /* NULL: decodes */
} row_t;

static void run_rows(const row_t *rows, size_t n, const char *prefix)
{
    for (size_t i = 0; i < n; i++) {
        rec_t r;
        schema_err_t err;
        int rc = decode(rows[i].text, &r, prefix, &err);
        if (!rows[i].field) {
            if (rc != 0)
                fail_msg("%s: rejected (%s: %s): %s", rows[i].label, err.field, err.message,
                         rows[i].text);
            continue;
        }
        if (rc != -1)
            fail_msg("%s: accepted, want an error at \"%s\": %s", rows[i].label, rows[i].field,
                     rows[i].text);
        if (strcmp(err.field, rows[i].field) != 0)
            fail_msg("%s: error at \"%s\" (%s), want \"%s\"", rows[i].label, err.field,
                     err.message, rows[i].field);
        if (!err.message[0])
            fail_msg("%s: no message", rows[i].label);
    }
}

#define RUN(rows) run_rows(rows, sizeof rows / sizeof rows[0], "")

/* ---- decoding -------------------------------------------------------------- */

static void decode_fills_every_field_type(void **state)
{
    (void)state;
    rec_t r;
    schema_err_t err;
    assert_int_equal(decode(FULL, &r, "", &err), 0);
    assert_true(r.flag);
    assert_int_equal(r.n, -7);
    assert_int_equal(r.color, 2);
    assert_string_equal(r.label, "张三 label");
    assert_string_equal(r.code, "0123");
    assert_int_equal(r.day, 20240229);
    assert_string_equal(r.idn, "11010519491231002X"); /* canonical upper-case X */
    assert_int_equal(r.inner.x, 5);
    assert_true(r.inner.y);
    assert_int_equal(r.n_items, 3);
    assert_string_equal(r.items[0].name, "first");
    assert_int_equal(r.items[0].qty, 1);
    assert_string_equal(r.items[1].name, "second");
    assert_int_equal(r.items[1].qty, 0);
    assert_string_equal(r.items[2].name, "第三");
    assert_int_equal(r.items[2].qty, 9);
    assert_int_equal(r.n_tags, 3);
    assert_string_equal(r.tags[0], "a");
    assert_string_equal(r.tags[1], "bb");
    assert_string_equal(r.tags[2], "中文");
}

static void omitted_optional_fields_keep_zero_values(void **state)
{
    (void)state;
    rec_t r;
    schema_err_t err;
    assert_int_equal(decode("{flag: false}", &r, "", &err), 0);
    rec_t zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&r, &zero, sizeof r);
    /* key order does not matter */
    assert_int_equal(decode("{tags: [], n: 3, flag: true}", &r, "", &err), 0);
    assert_int_equal(r.n, 3);
    assert_true(r.flag);
    assert_int_equal(r.n_tags, 0);
}

static void unknown_keys_are_rejected_with_their_path(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"top level", "{flag: true, colour: 'red'}", "colour"},
        {"case differs", "{flag: true, Flag: true}", "Flag"},
        {"nested object", "{flag: true, inner: {x: 1, z: 2}}", "inner.z"},
        {"array element", "{flag: true, items: [{name: 'a'}, {name: 'b', nam: 'c'}]}", "items[1].nam"},
        {"empty key", "{flag: true, '': 1}", "\"\""}, /* named visibly, never an empty path */
        {"key not UTF-8 is not echoed", "{flag: true, '\\xff\\xfe': 1}", "?"},
        {"key with NUL is not echoed", "{flag: true, 'a\\x00b': 1}", "?"},
        /* an ID number as a key is named masked, as in the logs (POLICY.md §13) */
        {"ID number key masked", "{flag: true, inner: {'11010519491231002X': 1}}", "inner.110105********002X"},
        {"ID number inside a key", "{flag: true, 'p110105194912310021': 1}", "p110105********0021"},
        {"19 digits are no ID number", "{flag: true, '1101051949123100211': 1}", "1101051949123100211"},
    };
    RUN(rows);
}

static void duplicate_keys_are_rejected(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"same value twice", "{flag: true, n: 1, n: 1}", "n"},
        {"required field twice", "{flag: true, flag: false}", "flag"},
        {"nested", "{flag: true, inner: {x: 1, x: 2}}", "inner.x"},
        {"in an array element", "{flag: true, items: [{name: 'a', name: 'b'}]}", "items[0].name"},
        {"array twice", "{flag: true, tags: [], tags: []}", "tags"},
    };
    RUN(rows);
}

static void wrong_types_name_the_field(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"bool as int", "{flag: 1}", "flag"},
        {"bool as string", "{flag: 'true'}", "flag"},
        {"bool as nil", "{flag: null}", "flag"},
        {"int as string", "{flag: true, n: '1'}", "n"},
        {"int as float", "{flag: true, n: 1.0}", "n"},
        {"int as bool", "{flag: true, n: true}", "n"},
        {"enum as int", "{flag: true, color: 1}", "color"},
        {"string as int", "{flag: true, label: 5}", "label"},
        {"string as bin", "{flag: true, label: b'abc'}", "label"},
        {"string as nil", "{flag: true, label: null}", "label"},
        {"digits as int", "{flag: true, code: 1234}", "code"},
        {"date as int", "{flag: true, day: 20240101}", "day"},
        {"id number as int", "{flag: true, idn: 110105194912310029}", "idn"},
        {"object as array", "{flag: true, inner: [1]}", "inner"},
        {"object as string", "{flag: true, inner: 'x'}", "inner"},
        {"array as map", "{flag: true, items: {name: 'a'}}", "items"},
        {"array element not a map", "{flag: true, items: [{name: 'a'}, 'b']}", "items[1]"},
        {"string array as string", "{flag: true, tags: 'a'}", "tags"},
        {"string array element as int", "{flag: true, tags: ['a', 2]}", "tags[1]"},
        {"nested int as string", "{flag: true, inner: {x: '1'}}", "inner.x"},
        {"array element field", "{flag: true, items: [{name: 'a', qty: 'one'}]}", "items[0].qty"},
    };
    RUN(rows);
}

static void integer_range_limits(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"at min", "{flag: true, n: -10}", NULL},
        {"at max", "{flag: true, n: 100}", NULL},
        {"zero", "{flag: true, n: 0}", NULL},
        {"below min", "{flag: true, n: -11}", "n"},
        {"above max", "{flag: true, n: 101}", "n"},
        {"int64 min", "{flag: true, n: -9223372036854775808}", "n"},
        {"int64 max", "{flag: true, n: 9223372036854775807}", "n"},
        {"uint64 max", "{flag: true, n: 18446744073709551615}", "n"},
        {"nested above max", "{flag: true, inner: {x: 6}}", "inner.x"},
        {"nested below min", "{flag: true, inner: {x: -1}}", "inner.x"},
        {"array element above max", "{flag: true, items: [{name: 'a', qty: 10}]}", "items[0].qty"},
    };
    RUN(rows);
}

static void enum_accepts_only_listed_names(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"first", "{flag: true, color: 'red'}", NULL},
        {"last", "{flag: true, color: 'blue'}", NULL},
        {"unknown", "{flag: true, color: 'purple'}", "color"},
        {"case differs", "{flag: true, color: 'Red'}", "color"},
        {"prefix", "{flag: true, color: 're'}", "color"},
        {"longer", "{flag: true, color: 'redd'}", "color"},
        {"empty", "{flag: true, color: ''}", "color"},
        {"with NUL", "{flag: true, color: 'red\\x00'}", "color"},
    };
    RUN(rows);
    rec_t r;
    schema_err_t err;
    assert_int_equal(decode("{flag: true, color: 'purple'}", &r, "", &err), -1);
    assert_non_null(strstr(err.message, "red|green|blue"));
}

static void digits_need_exact_count_of_ascii_digits(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"four digits", "{flag: true, code: '0000'}", NULL},
        {"three", "{flag: true, code: '123'}", "code"},
        {"five", "{flag: true, code: '12345'}", "code"},
        {"letter", "{flag: true, code: '12a4'}", "code"},
        {"space", "{flag: true, code: '12 4'}", "code"},
        {"sign", "{flag: true, code: '-123'}", "code"},
        {"fullwidth digit", "{flag: true, code: '１２'}", "code"},
        {"empty", "{flag: true, code: ''}", "code"},
    };
    RUN(rows);
}

static void dates_must_be_real(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"leap day", "{flag: true, day: '2024-02-29'}", NULL},
        {"common-year Feb 29", "{flag: true, day: '2023-02-29'}", "day"},
        {"slashes", "{flag: true, day: '2024/02/28'}", "day"},
        {"no dashes", "{flag: true, day: '20240228'}", "day"},
        {"month 13", "{flag: true, day: '2024-13-01'}", "day"},
        {"empty", "{flag: true, day: ''}", "day"},
        {"with time", "{flag: true, day: '2024-02-28T00:00'}", "day"},
    };
    RUN(rows);
}

static void id_numbers_are_validated_and_canonicalised(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"valid", "{flag: true, idn: '520123195803011235'}", NULL},
        {"lower-case x", "{flag: true, idn: '11010519491231002x'}", NULL},
        {"bad checksum", "{flag: true, idn: '520123195803011234'}", "idn"},
        {"17 chars", "{flag: true, idn: '52012319580301123'}", "idn"},
        {"bad date", "{flag: true, idn: '520123195813011239'}", "idn"},
        {"letters", "{flag: true, idn: 'ABCDEFGHIJKLMNOPQR'}", "idn"},
        {"empty", "{flag: true, idn: ''}", "idn"},
    };
    RUN(rows);
    rec_t r;
    schema_err_t err;
    assert_int_equal(decode("{flag: true, idn: '11010519491231002x'}", &r, "", &err), 0);
    assert_string_equal(r.idn, "11010519491231002X");
    assert_int_equal(decode("{flag: true, idn: '520123195803011234'}", &r, "", &err), -1);
    assert_non_null(strstr(err.message, "check"));
}

/* ---- UTF-8 ------------------------------------------------------------------- */

static void utf8_validator_table(void **state)
{
    (void)state;
    static const struct {
        const char *label;
        const char *bytes;
        size_t len;
        bool want;
    } rows[] = {
#define U(label, lit, want) {label, lit, sizeof(lit) - 1, want}
        U("empty", "", true),
        U("ASCII", "hello, world", true),
        U("2-byte", "\xc3\xa9", true),                 /* é */
        U("3-byte", "\xe4\xb8\xad\xe6\x96\x87", true), /* 中文 */
        U("4-byte", "\xf0\x9f\x98\x80", true),         /* U+1F600 */
        U("U+007F", "\x7f", true),
        U("U+0080", "\xc2\x80", true),
        U("U+07FF", "\xdf\xbf", true),
        U("U+0800", "\xe0\xa0\x80", true),
        U("U+D7FF", "\xed\x9f\xbf", true),
        U("U+E000", "\xee\x80\x80", true),
        U("U+FFFF", "\xef\xbf\xbf", true),
        U("U+10000", "\xf0\x90\x80\x80", true),
        U("U+10FFFF", "\xf4\x8f\xbf\xbf", true),
        U("embedded NUL", "a\x00" "b", false),
        U("NUL alone", "\x00", false),
        U("overlong '/' in 2 bytes", "\xc0\xaf", false),
        U("overlong NUL in 2 bytes", "\xc0\x80", false),
        U("overlong in 2 bytes (C1)", "\xc1\xbf", false),
        U("overlong in 3 bytes", "\xe0\x80\xaf", false),
        U("overlong U+07FF in 3 bytes", "\xe0\x9f\xbf", false),
        U("overlong in 4 bytes", "\xf0\x80\x80\xaf", false),
        U("overlong U+FFFF in 4 bytes", "\xf0\x8f\xbf\xbf", false),
        U("high surrogate", "\xed\xa0\x80", false),
        U("low surrogate", "\xed\xbf\xbf", false),
        U("surrogate pair (CESU-8)", "\xed\xa0\xbd\xed\xb8\x80", false),
        U("past U+10FFFF", "\xf4\x90\x80\x80", false),
        U("F5 lead", "\xf5\x80\x80\x80", false),
        U("F8 lead (5 bytes)", "\xf8\x88\x80\x80\x80", false),
        U("FE", "\xfe", false),
        U("FF", "\xff", false),
        U("lone continuation", "\x80", false),
        U("continuation after ASCII", "a\xbf", false),
        U("truncated 2-byte", "\xc3", false),
        U("truncated 3-byte", "\xe4\xb8", false),
        U("truncated 4-byte", "\xf0\x9f\x98", false),
        U("truncated then ASCII", "\xe4\xb8" "a", false),
        U("bad continuation", "\xe4\x41\xad", false),
        U("truncated in the middle", "ab\xe4\xb8" "cd", false),
#undef U
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (schema_utf8_valid(rows[i].bytes, rows[i].len) != rows[i].want)
            fail_msg("%s: schema_utf8_valid = %d, want %d", rows[i].label, !rows[i].want,
                     rows[i].want);
    /* only len bytes are read */
    assert_true(schema_utf8_valid("ab\xff", 2));
    assert_false(schema_utf8_valid("\xe4\xb8\xad", 2));
}

static void invalid_utf8_in_strings_is_rejected_with_path(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"overlong", "{flag: true, label: 'a\\xc0\\xafb'}", "label"},
        {"surrogate", "{flag: true, label: '\\xed\\xa0\\x80'}", "label"},
        {"truncated sequence", "{flag: true, label: 'ab\\xe4\\xb8'}", "label"},
        {"embedded NUL", "{flag: true, label: 'a\\x00b'}", "label"},
        {"lone continuation", "{flag: true, label: '\\x80'}", "label"},
        {"in an array element", "{flag: true, items: [{name: 'ok'}, {name: '\\xff'}]}", "items[1].name"},
        {"in a string array", "{flag: true, tags: ['ok', 'a\\x00']}", "tags[1]"},
        {"valid multibyte", "{flag: true, label: '\\xe4\\xb8\\xad\\xf0\\x9f\\x98\\x80'}", NULL},
    };
    RUN(rows);
}

static void string_length_limits(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"32 bytes", "{flag: true, label: '" "0123456789abcdef0123456789abcdef" "'}", NULL},
        {"33 bytes", "{flag: true, label: '" "0123456789abcdef0123456789abcdef!" "'}", "label"},
        /* the limit is bytes: 10 CJK characters are 30 bytes, 11 are 33 */
        {"10 CJK", "{flag: true, label: '一二三四五六七八九十'}", NULL},
        {"11 CJK", "{flag: true, label: '一二三四五六七八九十百'}", "label"},
        {"empty", "{flag: true, label: ''}", NULL},
        {"item name 16", "{flag: true, items: [{name: '0123456789abcdef'}]}", NULL},
        {"item name 17", "{flag: true, items: [{name: '0123456789abcdefg'}]}", "items[0].name"},
        {"tag 8", "{flag: true, tags: ['12345678']}", NULL},
        {"tag 9", "{flag: true, tags: ['a', '123456789']}", "tags[1]"},
    };
    RUN(rows);
}

/* ---- structure ------------------------------------------------------------------ */

static void required_fields_missing_name_their_path(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"empty map", "{}", "flag"},
        {"top level", "{n: 1}", "flag"},
        {"nested", "{flag: true, inner: {y: true}}", "inner.x"},
        {"nested empty", "{flag: true, inner: {}}", "inner.x"},
        {"array element", "{flag: true, items: [{name: 'a'}, {name: 'b'}, {qty: 1}]}", "items[2].name"},
    };
    RUN(rows);
    rec_t r;
    schema_err_t err;
    assert_int_equal(decode("{n: 1}", &r, "", &err), -1);
    assert_non_null(strstr(err.message, "required"));
}

static void array_element_counts(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"items: one (min)", "{flag: true, items: [{name: 'a'}]}", NULL},
        {"items: four (max)", "{flag: true, items: [{name: 'a'}, {name: 'b'}, {name: 'c'}, {name: 'd'}]}", NULL},
        {"items: none", "{flag: true, items: []}", "items"},
        {"items: five", "{flag: true, items: [{name: 'a'}, {name: 'b'}, {name: 'c'}, {name: 'd'}, {name: 'e'}]}", "items"},
        {"tags: none", "{flag: true, tags: []}", NULL},
        {"tags: three (max)", "{flag: true, tags: ['a', 'b', 'c']}", NULL},
        {"tags: four", "{flag: true, tags: ['a', 'b', 'c', 'd']}", "tags"},
    };
    RUN(rows);
}

static void field_paths_for_nested_and_array_errors(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"items[2].name", "{flag: true, items: [{name: 'a'}, {name: 'b'}, {name: 7}]}", "items[2].name"},
        {"items[3].qty", "{flag: true, items: [{name: 'a'}, {name: 'b'}, {name: 'c'}, {name: 'd', qty: -1}]}", "items[3].qty"},
        {"tags[2]", "{flag: true, tags: ['a', 'b', true]}", "tags[2]"},
        {"inner.y", "{flag: true, inner: {x: 1, y: 0}}", "inner.y"},
    };
    RUN(rows);
    /* with a prefix every path starts with it */
    static const row_t prefixed[] = {
        {"unknown key", "{flag: true, zzz: 1}", "body.zzz"},
        {"required", "{}", "body.flag"},
        {"nested", "{flag: true, items: [{name: 'a'}, {name: 'b'}, {name: 7}]}", "body.items[2].name"},
        {"not a map", "[1]", "body"},
    };
    run_rows(prefixed, sizeof prefixed / sizeof prefixed[0], "body");
}

static void non_maps_and_non_string_keys_are_rejected(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"array", "[1, 2]", "rec"}, /* at the top the schema's name stands for the path */
        {"string", "'x'", "rec"},
        {"nil", "null", "rec"},
        {"int key", "{flag: true, 1: 2}", "rec"},
        {"int key in nested", "{flag: true, inner: {1: 2}}", "inner"},
    };
    RUN(rows);
    rec_t r;
    schema_err_t err;
    assert_int_equal(schema_decode(&rec_schema, NULL, &r, "", &err), -1);
    assert_string_equal(err.field, "rec");
}

/* ---- encoding ------------------------------------------------------------------ */

static void encode_then_decode_round_trips(void **state)
{
    (void)state;
    rec_t a, b;
    schema_err_t err;
    assert_int_equal(decode(FULL, &a, "", &err), 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    schema_encode(&rec_schema, &a, &pk);
    assert_int_equal(mp_check(sb.data, sb.size), MP_OK);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(mp_unpack(sb.data, sb.size, &u), MP_OK);
    memset(&b, 0, sizeof b);
    int rc = schema_decode(&rec_schema, &u.data, &b, "", &err);
    if (rc != 0)
        fail_msg("re-decoding failed at %s: %s", err.field, err.message);
    assert_memory_equal(&a, &b, sizeof a);
    /* and the encoding is stable */
    msgpack_sbuffer sb2;
    msgpack_sbuffer_init(&sb2);
    msgpack_packer pk2;
    msgpack_packer_init(&pk2, &sb2, msgpack_sbuffer_write);
    schema_encode(&rec_schema, &b, &pk2);
    assert_int_equal(sb.size, sb2.size);
    assert_memory_equal(sb.data, sb2.data, sb.size);
    msgpack_sbuffer_destroy(&sb2);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void encode_leaves_out_empty_optional_strings_and_dates(void **state)
{
    (void)state;
    rec_t r;
    schema_err_t err;
    assert_int_equal(decode("{flag: true, items: [{name: 'a'}], tags: ['x']}", &r, "", &err), 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    schema_encode(&rec_schema, &r, &pk);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(mp_unpack(sb.data, sb.size, &u), MP_OK);
    const msgpack_object *o = &u.data;
    assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
    /* label, code, day and idn are empty/zero and optional: left out */
    assert_null(mp_get(o, "label"));
    assert_null(mp_get(o, "code"));
    assert_null(mp_get(o, "day"));
    assert_null(mp_get(o, "idn"));
    /* bools, ints, enums, objects and arrays are always written */
    assert_non_null(mp_get(o, "flag"));
    assert_non_null(mp_get(o, "n"));
    assert_true(mp_str_is(mp_get(o, "color"), "red"));
    assert_non_null(mp_get(o, "inner"));
    assert_int_equal(mp_get(o, "items")->via.array.size, 1);
    assert_int_equal(mp_get(o, "tags")->via.array.size, 1);
    assert_int_equal(o->via.map.size, 6);
    /* nested: the item's optional qty (an int) is written */
    const msgpack_object *item = &mp_get(o, "items")->via.array.ptr[0];
    assert_true(mp_str_is(mp_get(item, "name"), "a"));
    assert_non_null(mp_get(item, "qty"));
    rec_t back;
    memset(&back, 0, sizeof back);
    assert_int_equal(schema_decode(&rec_schema, o, &back, "", &err), 0);
    assert_memory_equal(&r, &back, sizeof r);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_fills_every_field_type),
        cmocka_unit_test(omitted_optional_fields_keep_zero_values),
        cmocka_unit_test(unknown_keys_are_rejected_with_their_path),
        cmocka_unit_test(duplicate_keys_are_rejected),
        cmocka_unit_test(wrong_types_name_the_field),
        cmocka_unit_test(integer_range_limits),
        cmocka_unit_test(enum_accepts_only_listed_names),
        cmocka_unit_test(digits_need_exact_count_of_ascii_digits),
        cmocka_unit_test(dates_must_be_real),
        cmocka_unit_test(id_numbers_are_validated_and_canonicalised),
        cmocka_unit_test(utf8_validator_table),
        cmocka_unit_test(invalid_utf8_in_strings_is_rejected_with_path),
        cmocka_unit_test(string_length_limits),
        cmocka_unit_test(required_fields_missing_name_their_path),
        cmocka_unit_test(array_element_counts),
        cmocka_unit_test(field_paths_for_nested_and_array_errors),
        cmocka_unit_test(non_maps_and_non_string_keys_are_rejected),
        cmocka_unit_test(encode_then_decode_round_trips),
        cmocka_unit_test(encode_leaves_out_empty_optional_strings_and_dates),
    };
    return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
