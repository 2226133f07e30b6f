/* test_proto.c — unit tests of proto/: request envelope parsing, report.submit decoding and validation with field paths, encode/decode round trip, case.get, replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idcard.h"
#include "mp.h"
#include "proto.h"

#include "jpack.h"

/* ---- test data ------------------------------------------------------------- */

/* Every report is decoded as if received on this day. */
#define TODAY 20250615

#define AREA "area: {county: '520123', township: '520123100', village: '520123100001'}"
#define M_A "{id_number: '520123195803011235', name: '张三', hukou_local: true}"
#define M_B "{id_number: '11010519491231002X', name: '李四', hukou_local: false}"
#define M_C "{id_number: '520123200002290012', name: '王五', hukou_local: true}"
#define M_D "{id_number: '520123198001010015', name: 'Ann', hukou_local: true}"
#define HH(members) "household: {members: [" members "]}"
#define BODY(...) "{" __VA_ARGS__ "}"
#define MIN_BODY BODY(AREA ", " HH(M_A))

/* The check character of POLICY.md §0, computed independently. */
static char ref_check(const char *s17)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (s17[i] - '0') * w[i];
    return "10X98765432"[sum % 11];
}

/* A valid ID number for a 3-digit sequence number, born on birth (YYYYMMDD). */
static void make_id(char out[19], const char *birth, int seq)
{
    snprintf(out, 19, "520123%.8s%03d", birth, seq % 1000);
    out[17] = ref_check(out);
    out[18] = '\0';
}

/* printf into a fresh buffer (free it). */
static char *strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    return s;
}

/* n distinct valid members as a JSON-ish list (free it). */
static char *members_json(int n)
{
    size_t cap = (size_t)n * 96 + 8, o = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    s[0] = '\0';
    for (int i = 0; i < n; i++) {
        char id[19];
        make_id(id, "19800101", i);
        o += (size_t)snprintf(s + o, cap - o, "%s{id_number: '%s', name: 'm%d', hukou_local: true}",
                              i ? ", " : "", id, i);
    }
    return s;
}

/* A string of n bytes: 'a' repeated, or "中" repeated with 'a' filling the rest. */
static char *text_of(size_t n, int cjk)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    size_t o = 0;
    if (cjk)
        for (; o + 3 <= n; o += 3)
            memcpy(s + o, "中", 3);
    for (; o < n; o++)
        s[o] = 'a';
    s[n] = '\0';
    return s;
}

/* ---- report.submit ------------------------------------------------------------ */

static int decode_report(const char *text, aid_date_t today, report_t *r, schema_err_t *err)
{
    msg_t m;
    const msgpack_object *o = msg_make(&m, text);
    memset(err, 0, sizeof *err);
    int rc = proto_report_decode(o, today, r, err);
    msg_free(&m);
    return rc;
}

typedef struct {
    const char *label;
    const char *text;
    const char *field; /* NULL: accepted */
} row_t;

/* Decodes text and checks the outcome; the failure message names the row. */
static void check_report(const char *label, const char *text, const char *field)
{
    static report_t r; /* large: keep it off the stack */
    schema_err_t err;
    int rc = decode_report(text, TODAY, &r, &err);
    if (!field) {
        if (rc != 0)
            fail_msg("%s: rejected at \"%s\" (%s)", label, err.field, err.message);
        return;
    }
    if (rc != -1)
        fail_msg("%s: accepted, want an error at \"%s\"", label, field);
    if (strcmp(err.field, field) != 0)
        fail_msg("%s: error at \"%s\" (%s), want \"%s\"", label, err.field, err.message, field);
    if (!err.message[0])
        fail_msg("%s: error without a message", label);
}

static void run_rows(const row_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_report(rows[i].label, rows[i].text, rows[i].field);
}

#define RUN(rows) run_rows(rows, sizeof rows / sizeof rows[0])

#define FULL_MEMBER                                                                             \
    "{id_number: '11010519491231002x', name: '张三丰', relation: 'spouse', hukou_local: true, "  \
    "residence_permit: true, months_working_locally: 1200, monthly_income_fen: 123456, "        \
    "tekun: 'centralized', disability_grade: 4, disability_kind: 'multiple', "                  \
    "serious_illness: true, self_care: 'none', labor_capacity: true, employed: true, "          \
    "wants_work: true, school_stage: 'higher', orphan: true, unsupported_minor: true, "         \
    "left_behind: true, minor_in_difficulty: true, no_supporter: true, three_nos: true, "       \
    "retired_1960s: true, dept_recognized: 'occupational_disease'}"

#define FULL_REPORT                                                                             \
    "{as_of: '2025-06-01', source: 'department', reporter: '村委会 王主任', "                    \
    "area: {county: '520123', township: '520123100', village: '520123100001'}, urban: true, "   \
    "urgency: 'urgent', household: {status: {dibao: 'full', low_income: true, "                 \
    "single_parent: true, one_child: true, two_daughter: true, relocation_site: true}, "        \
    "housing: 'public_rental', members: [" FULL_MEMBER ", " M_A "]}, "                          \
    "circumstances: [{kind: 'other', expense_fen: 500000, occurred_on: '2025-05-20', "          \
    "id_number: '520123195803011235', note: '住院'}, {kind: 'illness'}]}"

static void full_report_decodes_every_value(void **state)
{
    (void)state;
    static report_t r;
    schema_err_t err;
    int rc = decode_report(FULL_REPORT, TODAY, &r, &err);
    if (rc != 0)
        fail_msg("rejected at %s: %s", err.field, err.message);
    assert_int_equal(r.as_of, 20250601);
    assert_int_equal(r.source, SOURCE_DEPARTMENT);
    assert_string_equal(r.reporter, "村委会 王主任");
    assert_string_equal(r.county, "520123");
    assert_string_equal(r.township, "520123100");
    assert_string_equal(r.village, "520123100001");
    assert_true(r.urban);
    assert_int_equal(r.urgency, URGENCY_URGENT);
    assert_int_equal(r.status.dibao, DIBAO_FULL);
    assert_true(r.status.low_income);
    assert_true(r.status.single_parent);
    assert_true(r.status.one_child);
    assert_true(r.status.two_daughter);
    assert_true(r.status.relocation_site);
    assert_int_equal(r.housing, HOUSING_PUBLIC_RENTAL);
    assert_int_equal(r.n_members, 2);
    const member_t *m = &r.members[0];
    assert_string_equal(m->id_number, "11010519491231002X");
    assert_string_equal(m->name, "张三丰");
    assert_int_equal(m->relation, REL_SPOUSE);
    assert_true(m->hukou_local);
    assert_true(m->residence_permit);
    assert_int_equal(m->months_working_locally, 1200);
    assert_int_equal(m->monthly_income_fen, 123456);
    assert_int_equal(m->tekun, TEKUN_CENTRALIZED);
    assert_int_equal(m->disability_grade, 4);
    assert_int_equal(m->disability_kind, DISKIND_MULTIPLE);
    assert_true(m->serious_illness);
    assert_int_equal(m->self_care, SELFCARE_NONE);
    assert_true(m->labor_capacity);
    assert_true(m->employed);
    assert_true(m->wants_work);
    assert_int_equal(m->school_stage, STAGE_HIGHER);
    assert_true(m->orphan);
    assert_true(m->unsupported_minor);
    assert_true(m->left_behind);
    assert_true(m->minor_in_difficulty);
    assert_true(m->no_supporter);
    assert_true(m->three_nos);
    assert_true(m->retired_1960s);
    assert_int_equal(m->dept_recognized, DEPTREC_OCCUPATIONAL_DISEASE);
    assert_string_equal(r.members[1].id_number, "520123195803011235");
    assert_string_equal(r.members[1].name, "张三");
    assert_int_equal(r.n_circumstances, 2);
    const circumstance_t *c = &r.circumstances[0];
    assert_int_equal(c->kind, CIRC_OTHER);
    assert_int_equal(c->expense_fen, 500000);
    assert_int_equal(c->occurred_on, 20250520);
    assert_string_equal(c->id_number, "520123195803011235");
    assert_string_equal(c->note, "住院");
    assert_int_equal(r.circumstances[1].kind, CIRC_ILLNESS);
}

static void omitted_fields_take_the_documented_defaults(void **state)
{
    (void)state;
    static report_t r;
    schema_err_t err;
    const char *text = BODY(AREA ", " HH(M_A) ", circumstances: [{kind: 'death'}]");
    assert_int_equal(decode_report(text, TODAY, &r, &err), 0);
    assert_int_equal(r.as_of, TODAY); /* as_of: the day received */
    assert_int_equal(r.source, SOURCE_VISIT);
    assert_string_equal(r.reporter, "");
    assert_false(r.urban);
    assert_int_equal(r.urgency, URGENCY_NORMAL);
    assert_int_equal(r.status.dibao, DIBAO_NONE);
    assert_false(r.status.low_income);
    assert_false(r.status.single_parent);
    assert_false(r.status.one_child);
    assert_false(r.status.two_daughter);
    assert_false(r.status.relocation_site);
    assert_int_equal(r.housing, HOUSING_OWNED);
    assert_int_equal(r.n_members, 1);
    const member_t *m = &r.members[0];
    assert_int_equal(m->relation, REL_HEAD);
    assert_false(m->residence_permit);
    assert_int_equal(m->months_working_locally, 0);
    assert_int_equal(m->monthly_income_fen, 0);
    assert_int_equal(m->tekun, TEKUN_NONE);
    assert_int_equal(m->disability_grade, 0);
    assert_int_equal(m->disability_kind, DISKIND_NONE);
    assert_false(m->serious_illness);
    assert_int_equal(m->self_care, SELFCARE_FULL);
    assert_false(m->labor_capacity);
    assert_false(m->employed);
    assert_false(m->wants_work);
    assert_int_equal(m->school_stage, STAGE_NONE);
    assert_false(m->orphan || m->unsupported_minor || m->left_behind || m->minor_in_difficulty ||
                 m->no_supporter || m->three_nos || m->retired_1960s);
    assert_int_equal(m->dept_recognized, DEPTREC_NONE);
    assert_int_equal(r.n_circumstances, 1);
    const circumstance_t *c = &r.circumstances[0];
    assert_int_equal(c->kind, CIRC_DEATH);
    assert_int_equal(c->expense_fen, 0);
    assert_int_equal(c->occurred_on, 0);
    assert_string_equal(c->id_number, "");
    assert_string_equal(c->note, "");
    /* no circumstances at all */
    assert_int_equal(decode_report(MIN_BODY, TODAY, &r, &err), 0);
    assert_int_equal(r.n_circumstances, 0);
    /* a different today fills as_of */
    assert_int_equal(decode_report(MIN_BODY, 20260101, &r, &err), 0);
    assert_int_equal(r.as_of, 20260101);
}

static void required_fields_missing_give_their_path(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"empty body", "{}", "area"},
        {"no area", BODY(HH(M_A)), "area"},
        {"no area.county", BODY("area: {township: '520123100', village: '520123100001'}, " HH(M_A)), "area.county"},
        {"no area.township", BODY("area: {county: '520123', village: '520123100001'}, " HH(M_A)), "area.township"},
        {"no area.village", BODY("area: {county: '520123', township: '520123100'}, " HH(M_A)), "area.village"},
        {"no household", BODY(AREA), "household"},
        {"no household.members", BODY(AREA ", household: {housing: 'owned'}"), "household.members"},
        {"no id_number", BODY(AREA ", " HH("{name: '张三', hukou_local: true}")), "household.members[0].id_number"},
        {"no name", BODY(AREA ", " HH("{id_number: '520123195803011235', hukou_local: true}")), "household.members[0].name"},
        {"no hukou_local", BODY(AREA ", " HH("{id_number: '520123195803011235', name: '张三'}")), "household.members[0].hukou_local"},
        {"second member without name", BODY(AREA ", " HH(M_A ", {id_number: '11010519491231002X', hukou_local: true}")), "household.members[1].name"},
        {"no circumstance kind", BODY(AREA ", " HH(M_A) ", circumstances: [{expense_fen: 100}]"), "circumstances[0].kind"},
        {"no kind in the second", BODY(AREA ", " HH(M_A) ", circumstances: [{kind: 'illness'}, {note: 'x'}]"), "circumstances[1].kind"},
    };
    RUN(rows);
}

static void member_and_circumstance_counts_are_bounded(void **state)
{
    (void)state;
    static const int member_counts[] = {0, 1, 30, 31};
    for (size_t i = 0; i < sizeof member_counts / sizeof member_counts[0]; i++) {
        int n = member_counts[i];
        char *ms = members_json(n);
        char *text = strf("{" AREA ", household: {members: [%s]}}", ms);
        char label[64];
        snprintf(label, sizeof label, "%d members", n);
        check_report(label, text, n >= 1 && n <= REPORT_MAX_MEMBERS ? NULL : "household.members");
        free(text);
        free(ms);
    }
    static const int circ_counts[] = {0, 20, 21};
    for (size_t i = 0; i < sizeof circ_counts / sizeof circ_counts[0]; i++) {
        int n = circ_counts[i];
        char *cs = malloc((size_t)n * 24 + 1);
        cs[0] = '\0';
        for (int k = 0; k < n; k++)
            strcat(cs, k ? ", {kind: 'illness'}" : "{kind: 'illness'}");
        char *text = strf("{" AREA ", " HH(M_A) ", circumstances: [%s]}", cs);
        char label[64];
        snprintf(label, sizeof label, "%d circumstances", n);
        check_report(label, text, n <= REPORT_MAX_CIRCUMSTANCES ? NULL : "circumstances");
        free(text);
        free(cs);
    }
}

static void bad_id_numbers_name_the_member(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"checksum at [2]", BODY(AREA ", " HH(M_A ", " M_B ", {id_number: '520123195803011234', name: 'x', hukou_local: true}")), "household.members[2].id_number"},
        {"17 chars at [2]", BODY(AREA ", " HH(M_A ", " M_B ", {id_number: '52012319580301123', name: 'x', hukou_local: true}")), "household.members[2].id_number"},
        {"letters at [2]", BODY(AREA ", " HH(M_A ", " M_B ", {id_number: '52012319580301123A', name: 'x', hukou_local: true}")), "household.members[2].id_number"},
        {"bad birth date at [2]", BODY(AREA ", " HH(M_A ", " M_B ", {id_number: '520123195813011239', name: 'x', hukou_local: true}")), "household.members[2].id_number"},
        {"number instead of text at [0]", BODY(AREA ", " HH("{id_number: 520123195803011235, name: 'x', hukou_local: true}")), "household.members[0].id_number"},
        {"lower-case x accepted", BODY(AREA ", " HH("{id_number: '11010519491231002x', name: 'x', hukou_local: true}")), NULL},
        {"bad circumstance ID", BODY(AREA ", " HH(M_A) ", circumstances: [{kind: 'illness', id_number: '520123195803011234'}]"), "circumstances[0].id_number"},
    };
    RUN(rows);
    static report_t r;
    schema_err_t err;
    assert_int_equal(decode_report(BODY(AREA ", " HH("{id_number: '11010519491231002x', name: 'x', hukou_local: true}")), TODAY, &r, &err), 0);
    assert_string_equal(r.members[0].id_number, "11010519491231002X");
}

static void duplicate_id_numbers_are_rejected(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"same ID twice", BODY(AREA ", " HH(M_A ", " M_B ", " M_A)), "household.members[2].id_number"},
        {"adjacent", BODY(AREA ", " HH(M_B ", " M_B)), "household.members[1].id_number"},
        {"x and X are the same ID", BODY(AREA ", " HH(M_B ", {id_number: '11010519491231002x', name: 'y', hukou_local: true}")), "household.members[1].id_number"},
    };
    RUN(rows);
}

static void birth_dates_after_as_of_are_rejected(void **state)
{
    (void)state;
    /* 520123202506150020 is born 2025-06-15 (TODAY), 520123202506160026 the day after */
    static const row_t rows[] = {
        {"born on as_of", BODY("as_of: '2025-06-15', " AREA ", " HH("{id_number: '520123202506150020', name: 'b', hukou_local: true}")), NULL},
        {"born after as_of", BODY("as_of: '2025-06-15', " AREA ", " HH("{id_number: '520123202506160026', name: 'b', hukou_local: true}")), "household.members[0].id_number"},
        {"born after an earlier as_of", BODY("as_of: '2025-01-01', " AREA ", " HH(M_A ", {id_number: '520123202506150020', name: 'b', hukou_local: true}")), "household.members[1].id_number"},
        {"born after today when as_of is left out", BODY(AREA ", " HH(M_A ", " M_B ", {id_number: '520123202506160026', name: 'b', hukou_local: true}")), "household.members[2].id_number"},
    };
    RUN(rows);
}

/* POLICY.md §0 makes "not in the future" (not after as_of) part of what a
 * valid ID number is, for a circumstance's ID number as for a member's.
 * (Regression: once only members' ID numbers were checked against as_of.) */
static void circumstance_id_born_after_as_of_is_rejected(void **state)
{
    (void)state;
    check_report("circumstance ID born after as_of",
                 BODY("as_of: '2025-06-15', " AREA ", " HH(M_A) ", circumstances: [{kind: 'illness', id_number: '520123202506160026'}]"),
                 "circumstances[0].id_number");
}

static void trigger_is_only_for_department_reports(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"no trigger", MIN_BODY, NULL},
        {"department disaster", BODY("source: 'department', trigger: 'disaster', " AREA ", " HH(M_A)), NULL},
        {"department medical_expense (15 bytes)", BODY("source: 'department', trigger: 'medical_expense', " AREA ", " HH(M_A)), NULL},
        {"trigger on a visit report", BODY("trigger: 'disaster', " AREA ", " HH(M_A)), "trigger"},
        {"trigger from wechat", BODY("source: 'wechat', trigger: 'death', " AREA ", " HH(M_A)), "trigger"},
        {"unknown trigger", BODY("source: 'department', trigger: 'flood', " AREA ", " HH(M_A)), "trigger"},
        {"trigger too long", BODY("source: 'department', trigger: 'medical_expenses', " AREA ", " HH(M_A)), "trigger"},
        {"trigger not text", BODY("source: 'department', trigger: 1, " AREA ", " HH(M_A)), "trigger"},
    };
    RUN(rows);
    static report_t a, b;
    schema_err_t err;
    assert_int_equal(decode_report(BODY("source: 'department', trigger: 'unemployment', " AREA ", " HH(M_A)), TODAY, &a, &err), 0);
    assert_string_equal(a.trigger, "unemployment");
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_report_encode(&a, &pk);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(mp_unpack(sb.data, sb.size, &u), MP_OK);
    assert_true(mp_str_is(mp_get(&u.data, "trigger"), "unemployment"));
    assert_int_equal(proto_report_decode(&u.data, TODAY, &b, &err), 0);
    assert_memory_equal(&a, &b, sizeof a);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void as_of_must_be_a_real_date_not_in_the_future(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"as_of today", BODY("as_of: '2025-06-15', " AREA ", " HH(M_A)), NULL},
        {"as_of yesterday", BODY("as_of: '2025-06-14', " AREA ", " HH(M_A)), NULL},
        {"as_of tomorrow", BODY("as_of: '2025-06-16', " AREA ", " HH(M_A)), "as_of"},
        {"as_of next year", BODY("as_of: '2026-01-01', " AREA ", " HH(M_A)), "as_of"},
        {"as_of not a date", BODY("as_of: '2025-02-30', " AREA ", " HH(M_A)), "as_of"},
        {"as_of wrong format", BODY("as_of: '15/06/2025', " AREA ", " HH(M_A)), "as_of"},
        {"as_of a number", BODY("as_of: 20250615, " AREA ", " HH(M_A)), "as_of"},
        {"occurred_on not a date", BODY(AREA ", " HH(M_A) ", circumstances: [{kind: 'illness', occurred_on: '2025-13-01'}]"), "circumstances[0].occurred_on"},
    };
    RUN(rows);
}

static void area_codes_must_nest(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"township outside the county", BODY("area: {county: '520123', township: '520124100', village: '520124100001'}, " HH(M_A)), "area.township"},
        {"village outside the township", BODY("area: {county: '520123', township: '520123100', village: '520123101001'}, " HH(M_A)), "area.village"},
        {"county of 5 digits", BODY("area: {county: '52012', township: '520123100', village: '520123100001'}, " HH(M_A)), "area.county"},
        {"county with a letter", BODY("area: {county: '52012a', township: '520123100', village: '520123100001'}, " HH(M_A)), "area.county"},
        {"township of 10 digits", BODY("area: {county: '520123', township: '5201231001', village: '520123100001'}, " HH(M_A)), "area.township"},
        {"village as a number", BODY("area: {county: '520123', township: '520123100', village: 520123100001}, " HH(M_A)), "area.village"},
        {"area not a map", BODY("area: '520123', " HH(M_A)), "area"},
    };
    RUN(rows);
}

static void strings_are_limited_to_256_bytes(void **state)
{
    (void)state;
    static const struct {
        const char *label, *fmt, *field;
    } places[] = {
        {"reporter", "{reporter: '%s', " AREA ", " HH(M_A) "}", "reporter"},
        {"member name", "{" AREA ", " HH(M_A ", {id_number: '11010519491231002X', name: '%s', hukou_local: true}") "}", "household.members[1].name"},
        {"circumstance note", "{" AREA ", " HH(M_A) ", circumstances: [{kind: 'other', note: '%s'}]}", "circumstances[0].note"},
    };
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++)
        for (int cjk = 0; cjk <= 1; cjk++) {
            char *ok = text_of(PROTO_STR_MAX, cjk), *over = text_of(PROTO_STR_MAX + 1, cjk);
            char *t_ok = strf(places[i].fmt, ok), *t_over = strf(places[i].fmt, over);
            char label[96];
            snprintf(label, sizeof label, "%s of 256 bytes%s", places[i].label, cjk ? " (CJK)" : "");
            check_report(label, t_ok, NULL);
            snprintf(label, sizeof label, "%s of 257 bytes%s", places[i].label, cjk ? " (CJK)" : "");
            check_report(label, t_over, places[i].field);
            free(ok), free(over), free(t_ok), free(t_over);
        }
    static const row_t rows[] = {
        {"invalid UTF-8 name", BODY(AREA ", " HH("{id_number: '520123195803011235', name: '\\xe5\\xbc', hukou_local: true}")), "household.members[0].name"},
        {"NUL in a note", BODY(AREA ", " HH(M_A) ", circumstances: [{kind: 'other', note: 'a\\x00b'}]"), "circumstances[0].note"},
        {"surrogate in reporter", BODY("reporter: '\\xed\\xa0\\x80', " AREA ", " HH(M_A)), "reporter"},
    };
    RUN(rows);
}

static void unknown_keys_are_rejected_with_their_path(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"in a member", BODY(AREA ", " HH("{id_number: '520123195803011235', name: '张三', hukou_local: true, nickname: 'x'}")), "household.members[0].nickname"},
        {"in the second member", BODY(AREA ", " HH(M_A ", {id_number: '11010519491231002X', name: 'b', hukou_local: true, Relation: 'child'}")), "household.members[1].Relation"},
        {"at the top", BODY(AREA ", " HH(M_A) ", nickname: 'x'"), "nickname"},
        {"in area", BODY("area: {county: '520123', township: '520123100', village: '520123100001', town: 'x'}, " HH(M_A)), "area.town"},
        {"in household", BODY(AREA ", household: {members: [" M_A "], size: 1}"), "household.size"},
        {"in status", BODY(AREA ", household: {status: {dibao_level: 1}, members: [" M_A "]}"), "household.status.dibao_level"},
        {"in a circumstance", BODY(AREA ", " HH(M_A) ", circumstances: [{kind: 'illness', cost: 1}]"), "circumstances[0].cost"},
        {"duplicate key", BODY(AREA ", " HH(M_A) ", urban: true, urban: false"), "urban"},
    };
    RUN(rows);
}

static void enum_values_must_be_listed(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"source", BODY("source: 'fax', " AREA ", " HH(M_A)), "source"},
        {"source case", BODY("source: 'Visit', " AREA ", " HH(M_A)), "source"},
        {"urgency", BODY("urgency: 'high', " AREA ", " HH(M_A)), "urgency"},
        {"dibao", BODY(AREA ", household: {status: {dibao: 'half'}, members: [" M_A "]}"), "household.status.dibao"},
        {"housing", BODY(AREA ", household: {housing: 'tent', members: [" M_A "]}"), "household.housing"},
        {"relation", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, relation: 'cousin'}")), "household.members[0].relation"},
        {"tekun", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, tekun: 'yes'}")), "household.members[0].tekun"},
        {"disability_kind", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, disability_kind: 'other'}")), "household.members[0].disability_kind"},
        {"self_care", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, self_care: 'partial'}")), "household.members[0].self_care"},
        {"school_stage", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, school_stage: 'primary'}")), "household.members[0].school_stage"},
        {"dept_recognized", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, dept_recognized: 'yes'}")), "household.members[0].dept_recognized"},
        {"circumstance kind", BODY(AREA ", " HH(M_A) ", circumstances: [{kind: 'flood'}]"), "circumstances[0].kind"},
        {"enum as a number", BODY("source: 0, " AREA ", " HH(M_A)), "source"},
    };
    RUN(rows);
}

static void numbers_and_flags_are_range_checked(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"disability_grade 4", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, disability_grade: 4}")), NULL},
        {"disability_grade 5", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, disability_grade: 5}")), "household.members[0].disability_grade"},
        {"disability_grade -1", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, disability_grade: -1}")), "household.members[0].disability_grade"},
        {"negative income", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, monthly_income_fen: -1}")), "household.members[0].monthly_income_fen"},
        {"income as a float", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, monthly_income_fen: 100.5}")), "household.members[0].monthly_income_fen"},
        {"income as text", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, monthly_income_fen: '100'}")), "household.members[0].monthly_income_fen"},
        {"months working 1201", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: true, months_working_locally: 1201}")), "household.members[0].months_working_locally"},
        {"negative expense", BODY(AREA ", " HH(M_A) ", circumstances: [{kind: 'illness', expense_fen: -100}]"), "circumstances[0].expense_fen"},
        {"huge expense", BODY(AREA ", " HH(M_A) ", circumstances: [{kind: 'illness', expense_fen: 18446744073709551615}]"), "circumstances[0].expense_fen"},
        {"hukou_local as 1", BODY(AREA ", " HH("{id_number: '520123195803011235', name: 'a', hukou_local: 1}")), "household.members[0].hukou_local"},
        {"urban as text", BODY("urban: 'yes', " AREA ", " HH(M_A)), "urban"},
        {"members not an array", BODY(AREA ", household: {members: " M_A "}"), "household.members"},
        {"member not a map", BODY(AREA ", household: {members: [" M_A ", 'b']}"), "household.members[1]"},
        {"circumstances not an array", BODY(AREA ", " HH(M_A) ", circumstances: {kind: 'illness'}"), "circumstances"},
    };
    RUN(rows);
}

static void body_must_be_a_map(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"array", "[1]", "body"},
        {"string", "'report'", "body"},
        {"nil", "null", "body"},
    };
    RUN(rows);
    static report_t r;
    schema_err_t err;
    assert_int_equal(proto_report_decode(NULL, TODAY, &r, &err), -1);
    assert_string_equal(err.field, "body");
}

/* Encodes r and decodes the result into *back. */
static void reencode(const report_t *r, report_t *back)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_report_encode(r, &pk);
    assert_int_equal(mp_check(sb.data, sb.size), MP_OK);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(mp_unpack(sb.data, sb.size, &u), MP_OK);
    schema_err_t err;
    int rc = proto_report_decode(&u.data, TODAY, back, &err);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    if (rc != 0)
        fail_msg("re-decoding the encoding failed at %s: %s", err.field, err.message);
}

static void encode_then_decode_round_trips(void **state)
{
    (void)state;
    static report_t a, b;
    schema_err_t err;
    /* the full report */
    assert_int_equal(decode_report(FULL_REPORT, TODAY, &a, &err), 0);
    reencode(&a, &b);
    assert_memory_equal(&a, &b, sizeof a);
    /* the minimal one, with defaults filled in */
    assert_int_equal(decode_report(MIN_BODY, TODAY, &a, &err), 0);
    reencode(&a, &b);
    assert_memory_equal(&a, &b, sizeof a);
    /* the largest: 30 members, 20 circumstances, 256-byte strings */
    char *ms = members_json(REPORT_MAX_MEMBERS);
    char *s256 = text_of(PROTO_STR_MAX, 1);
    size_t cap = 20 * (PROTO_STR_MAX + 128) + 1, o = 0;
    char *cs = malloc(cap);
    cs[0] = '\0';
    for (int k = 0; k < REPORT_MAX_CIRCUMSTANCES; k++)
        o += (size_t)snprintf(cs + o, cap - o,
                              "%s{kind: 'housing_loss', expense_fen: %d, occurred_on: '2025-01-%02d', "
                              "id_number: '11010519491231002x', note: '%s'}",
                              k ? ", " : "", k * 1000, k + 1, s256);
    char *text = strf("{as_of: '2025-06-15', reporter: '%s', " AREA ", household: {members: [%s]}, "
                      "circumstances: [%s]}", s256, ms, cs);
    int rc = decode_report(text, TODAY, &a, &err);
    free(text), free(cs), free(s256), free(ms);
    if (rc != 0)
        fail_msg("largest report rejected at %s: %s", err.field, err.message);
    assert_int_equal(a.n_members, REPORT_MAX_MEMBERS);
    assert_int_equal(a.n_circumstances, REPORT_MAX_CIRCUMSTANCES);
    reencode(&a, &b);
    assert_memory_equal(&a, &b, sizeof a);
}

static void encode_writes_the_wire_names(void **state)
{
    (void)state;
    static report_t a;
    schema_err_t err;
    assert_int_equal(decode_report(FULL_REPORT, TODAY, &a, &err), 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_report_encode(&a, &pk);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(mp_unpack(sb.data, sb.size, &u), MP_OK);
    const msgpack_object *o = &u.data;
    assert_true(mp_str_is(mp_get(o, "as_of"), "2025-06-01"));
    assert_true(mp_str_is(mp_get(o, "source"), "department"));
    assert_true(mp_str_is(mp_get(mp_get(o, "area"), "county"), "520123"));
    assert_true(mp_str_is(mp_get(mp_get(o, "area"), "village"), "520123100001"));
    const msgpack_object *hh = mp_get(o, "household");
    assert_true(mp_str_is(mp_get(mp_get(hh, "status"), "dibao"), "full"));
    assert_true(mp_str_is(mp_get(hh, "housing"), "public_rental"));
    const msgpack_object *members = mp_get(hh, "members");
    assert_non_null(members);
    assert_int_equal(members->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(members->via.array.size, 2);
    assert_true(mp_str_is(mp_get(&members->via.array.ptr[0], "id_number"), "11010519491231002X"));
    assert_true(mp_str_is(mp_get(&members->via.array.ptr[0], "relation"), "spouse"));
    const msgpack_object *circ = mp_get(o, "circumstances");
    assert_int_equal(circ->via.array.size, 2);
    assert_true(mp_str_is(mp_get(&circ->via.array.ptr[0], "occurred_on"), "2025-05-20"));
    /* optional empty text and zero dates are left out */
    assert_null(mp_get(&circ->via.array.ptr[1], "occurred_on"));
    assert_null(mp_get(&circ->via.array.ptr[1], "id_number"));
    assert_null(mp_get(&circ->via.array.ptr[1], "note"));
    assert_null(mp_get(o, "trigger")); /* empty: left out, so reports encode as before */
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- case.get ------------------------------------------------------------------ */

static void case_get_needs_exactly_one_key(void **state)
{
    (void)state;
    static const struct {
        const char *label, *text, *field;
    } rows[] = {
        {"case_id", "{case_id: 'C-2025-0001'}", NULL},
        {"id_number", "{id_number: '520123195803011235'}", NULL},
        {"neither", "{}", "case_id"},
        {"both", "{case_id: 'C-1', id_number: '520123195803011235'}", "case_id"},
        {"empty case_id counts as absent", "{case_id: '', id_number: '520123195803011235'}", NULL},
        {"bad id number", "{id_number: '520123195803011234'}", "id_number"},
        {"short id number", "{id_number: '5201231958'}", "id_number"},
        {"id number as int", "{id_number: 520123195803011235}", "id_number"},
        {"case_id of 63 bytes", "{case_id: '" "012345678901234567890123456789012345678901234567890123456789012" "'}", NULL},
        {"case_id of 64 bytes", "{case_id: '" "0123456789012345678901234567890123456789012345678901234567890123" "'}", "case_id"},
        {"unknown key", "{case_id: 'C-1', foo: 1}", "foo"},
        {"not a map", "['C-1']", "body"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        msg_t m;
        const msgpack_object *o = msg_make(&m, rows[i].text);
        proto_case_get_t q;
        schema_err_t err;
        memset(&err, 0, sizeof err);
        int rc = proto_case_get_decode(o, &q, &err);
        msg_free(&m);
        if (!rows[i].field && rc != 0)
            fail_msg("%s: rejected at %s: %s", rows[i].label, err.field, err.message);
        if (rows[i].field && (rc != -1 || strcmp(err.field, rows[i].field) != 0))
            fail_msg("%s: rc %d at \"%s\", want an error at \"%s\"", rows[i].label, rc, err.field,
                     rows[i].field);
    }
    proto_case_get_t q;
    schema_err_t err;
    assert_int_equal(proto_case_get_decode(NULL, &q, &err), -1);
    assert_string_equal(err.field, "body");
}

static void case_get_fills_the_query(void **state)
{
    (void)state;
    msg_t m;
    proto_case_get_t q;
    schema_err_t err;
    const msgpack_object *o = msg_make(&m, "{id_number: '11010519491231002x'}");
    assert_int_equal(proto_case_get_decode(o, &q, &err), 0);
    assert_string_equal(q.id_number, "11010519491231002X");
    assert_string_equal(q.case_id, "");
    msg_free(&m);
    o = msg_make(&m, "{case_id: 'C-7'}");
    assert_int_equal(proto_case_get_decode(o, &q, &err), 0);
    assert_string_equal(q.case_id, "C-7");
    assert_string_equal(q.id_number, "");
    msg_free(&m);
}

/* ---- the envelope ----------------------------------------------------------------- */

typedef struct {
    const char *label;
    const char *text;     /* jpack text, or NULL to use raw */
    const char *raw;
    size_t rawlen;
    proto_code_t code;    /* PROTO_OK: parses */
    const char *field;    /* expected err.field when code != OK */
    const char *id;       /* expected req.id */
    int op;               /* expected req.op when OK */
} env_row_t;

static void check_envelope(const env_row_t *row)
{
    msgpack_sbuffer sb;
    const char *buf = row->raw;
    size_t len = row->rawlen;
    if (row->text) {
        jpack(&sb, row->text);
        buf = sb.data;
        len = sb.size;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    proto_request_t req;
    proto_error_t err;
    memset(&err, 0, sizeof err);
    int rc = proto_request_parse(buf, len, &u, &req, &err);
    char why[512] = "";
    if (row->code == PROTO_OK) {
        if (rc != 0)
            snprintf(why, sizeof why, "rejected: %s at \"%s\" (%s)", proto_code_names[err.code],
                     err.field, err.message);
        else if (req.op != row->op)
            snprintf(why, sizeof why, "op %d, want %d", req.op, row->op);
        else if (req.body && req.body->type != MSGPACK_OBJECT_MAP)
            snprintf(why, sizeof why, "body is not a map");
    } else if (rc != -1) {
        snprintf(why, sizeof why, "accepted, want %s", proto_code_names[row->code]);
    } else if (err.code != row->code) {
        snprintf(why, sizeof why, "code %s, want %s", proto_code_names[err.code],
                 proto_code_names[row->code]);
    } else if (row->field && strcmp(err.field, row->field) != 0) {
        snprintf(why, sizeof why, "field \"%s\", want \"%s\"", err.field, row->field);
    } else if (!err.message[0]) {
        snprintf(why, sizeof why, "no message");
    }
    if (!why[0] && strcmp(req.id, row->id ? row->id : "") != 0)
        snprintf(why, sizeof why, "req.id \"%s\", want \"%s\"", req.id, row->id ? row->id : "");
    msgpack_unpacked_destroy(&u);
    if (row->text)
        msgpack_sbuffer_destroy(&sb);
    if (why[0])
        fail_msg("%s: %s", row->label, why);
}

#define TXT(label, text, code, field, id, op) {label, text, NULL, 0, code, field, id, op}
#define RAWB(label, lit, code) {label, NULL, lit, sizeof(lit) - 1, code, NULL, NULL, -1}

static void envelope_errors_give_the_documented_codes(void **state)
{
    (void)state;
    static const env_row_t rows[] = {
        RAWB("not MessagePack (0xc1)", "\xc1", PROTO_BAD_REQUEST),
        RAWB("empty request", "", PROTO_BAD_REQUEST),
        RAWB("truncated map", "\x84\xa1v\x01\xa2op", PROTO_BAD_REQUEST),
        RAWB("hostile array32", "\xdd\xff\xff\xff\xff", PROTO_BAD_REQUEST),
        RAWB("trailing bytes", "\x81\xa2op\xa6health\x00", PROTO_BAD_REQUEST),
        RAWB("JSON text", "{\"v\":1,\"op\":\"health\"}", PROTO_BAD_REQUEST),
        TXT("an array", "[1, 2]", PROTO_BAD_REQUEST, NULL, NULL, -1),
        TXT("a string", "'health'", PROTO_BAD_REQUEST, NULL, NULL, -1),
        TXT("nil", "null", PROTO_BAD_REQUEST, NULL, NULL, -1),
        TXT("no op", "{v: 1, id: 'r1'}", PROTO_BAD_REQUEST, "op", "r1", -1),
        TXT("op not a string", "{v: 1, op: 7, id: 'r1'}", PROTO_BAD_REQUEST, "op", "r1", -1),
        TXT("unknown op", "{v: 1, op: 'report.delete', id: 'r2'}", PROTO_UNKNOWN_OP, "op", "r2", -1),
        TXT("op in another case", "{v: 1, op: 'Health'}", PROTO_UNKNOWN_OP, "op", NULL, -1),
        TXT("op with a trailing space", "{v: 1, op: 'health '}", PROTO_UNKNOWN_OP, "op", NULL, -1),
        TXT("write op without id", "{v: 1, op: 'report.submit', body: {}}", PROTO_INVALID_FIELD, "id", NULL, -1),
        TXT("write op with empty id", "{v: 1, op: 'report.submit', id: '', body: {}}", PROTO_INVALID_FIELD, "id", NULL, -1),
        TXT("id not a string", "{v: 1, op: 'health', id: 5}", PROTO_INVALID_FIELD, "id", NULL, -1),
        TXT("id not UTF-8", "{v: 1, op: 'health', id: 'a\\xff'}", PROTO_INVALID_FIELD, "id", NULL, -1),
        TXT("v 2", "{v: 2, op: 'health', id: 'r3'}", PROTO_INVALID_FIELD, "v", "r3", -1),
        TXT("v 0", "{v: 0, op: 'health'}", PROTO_INVALID_FIELD, "v", NULL, -1),
        TXT("v as text", "{v: '1', op: 'health'}", PROTO_INVALID_FIELD, "v", NULL, -1),
        TXT("v as float", "{v: 1.0, op: 'health'}", PROTO_INVALID_FIELD, "v", NULL, -1),
        TXT("unknown envelope key", "{v: 1, op: 'health', id: 'r4', extra: 1}", PROTO_INVALID_FIELD, "extra", "r4", -1),
        TXT("misspelt body", "{v: 1, op: 'case.get', bdy: {}}", PROTO_INVALID_FIELD, "bdy", NULL, -1),
        TXT("non-string envelope key", "{v: 1, op: 'health', 5: 1}", PROTO_INVALID_FIELD, "?", NULL, -1),
        TXT("body an array", "{v: 1, op: 'report.submit', id: 'r5', body: [1]}", PROTO_INVALID_FIELD, "body", "r5", -1),
        TXT("body a string", "{v: 1, op: 'case.get', id: 'r6', body: 'x'}", PROTO_INVALID_FIELD, "body", "r6", -1),
        TXT("body nil", "{v: 1, op: 'case.get', body: null}", PROTO_INVALID_FIELD, "body", NULL, -1),
        TXT("op twice", "{v: 1, op: 'health', op: 'report.submit'}", PROTO_INVALID_FIELD, "op", NULL, -1),
        TXT("id twice", "{v: 1, op: 'health', id: 'a', id: 'b'}", PROTO_INVALID_FIELD, "id", "a", -1),
        TXT("body twice", "{v: 1, op: 'case.get', body: {}, body: {}}", PROTO_INVALID_FIELD, "body", NULL, -1),
        TXT("v twice", "{v: 1, v: 1, op: 'health'}", PROTO_INVALID_FIELD, "v", NULL, -1),
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        check_envelope(&rows[i]);
}

static void valid_envelopes_parse(void **state)
{
    (void)state;
    static const env_row_t rows[] = {
        TXT("health", "{v: 1, op: 'health'}", PROTO_OK, NULL, NULL, OP_HEALTH),
        TXT("health with id", "{v: 1, op: 'health', id: 'h-1'}", PROTO_OK, NULL, "h-1", OP_HEALTH),
        TXT("case.get", "{v: 1, op: 'case.get', id: 'q1', body: {case_id: 'C-1'}}", PROTO_OK, NULL, "q1", OP_CASE_GET),
        TXT("report.submit", "{op: 'report.submit', v: 1, body: {}, id: 'r-7'}", PROTO_OK, NULL, "r-7", OP_REPORT_SUBMIT),
        TXT("Chinese id", "{v: 1, op: 'report.submit', id: '请求-1', body: {}}", PROTO_OK, NULL, "请求-1", OP_REPORT_SUBMIT),
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        check_envelope(&rows[i]);

    /* the body points into the unpacked message */
    msgpack_sbuffer sb;
    jpack(&sb, "{v: 1, op: 'case.get', id: 'q1', body: {case_id: 'C-9'}}");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    proto_request_t req;
    proto_error_t err;
    assert_int_equal(proto_request_parse(sb.data, sb.size, &u, &req, &err), 0);
    assert_non_null(req.body);
    assert_true(mp_str_is(mp_get(req.body, "case_id"), "C-9"));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    /* no body: NULL */
    jpack(&sb, "{v: 1, op: 'health'}");
    msgpack_unpacked_init(&u);
    assert_int_equal(proto_request_parse(sb.data, sb.size, &u, &req, &err), 0);
    assert_null(req.body);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void id_is_limited_to_256_bytes(void **state)
{
    (void)state;
    for (size_t n = 255; n <= 258; n++) {
        char *id = text_of(n, 0);
        char *text = strf("{v: 1, op: 'report.submit', id: '%s', body: {}}", id);
        env_row_t row = TXT("id length", text, n <= PROTO_STR_MAX ? PROTO_OK : PROTO_INVALID_FIELD,
                            "id", n <= PROTO_STR_MAX ? id : NULL, OP_REPORT_SUBMIT);
        check_envelope(&row);
        free(text);
        free(id);
    }
}

/* Packs {v: 1, op: 'health', id: 'big', body: {pad: <n bytes>}}. */
static void pack_padded(msgpack_sbuffer *sb, size_t n)
{
    char *pad = text_of(n, 0);
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    mp_pack_kv_int(&pk, "v", 1);
    mp_pack_kv_str(&pk, "op", "health");
    mp_pack_kv_str(&pk, "id", "big");
    mp_pack_str(&pk, "body");
    msgpack_pack_map(&pk, 1);
    mp_pack_kv_str(&pk, "pad", pad);
    free(pad);
}

static void requests_over_64_kib_are_too_large(void **state)
{
    (void)state;
    /* find the padding that makes the request exactly 64 KiB (str16 header) */
    msgpack_sbuffer sb;
    pack_padded(&sb, 1000);
    size_t overhead = sb.size - 1000;
    msgpack_sbuffer_destroy(&sb);
    size_t pad = PROTO_MAX_REQUEST - overhead;
    assert_true(pad > 255 && pad < 65536);

    msgpack_unpacked u;
    proto_request_t req;
    proto_error_t err;
    pack_padded(&sb, pad);
    assert_int_equal(sb.size, PROTO_MAX_REQUEST);
    msgpack_unpacked_init(&u);
    assert_int_equal(proto_request_parse(sb.data, sb.size, &u, &req, &err), 0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);

    pack_padded(&sb, pad + 1);
    assert_int_equal(sb.size, PROTO_MAX_REQUEST + 1);
    msgpack_unpacked_init(&u);
    assert_int_equal(proto_request_parse(sb.data, sb.size, &u, &req, &err), -1);
    assert_int_equal(err.code, PROTO_TOO_LARGE);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);

    /* size is checked before anything is parsed */
    char *junk = malloc(PROTO_MAX_REQUEST + 1);
    memset(junk, 0xc1, PROTO_MAX_REQUEST + 1);
    msgpack_unpacked_init(&u);
    assert_int_equal(proto_request_parse(junk, PROTO_MAX_REQUEST + 1, &u, &req, &err), -1);
    assert_int_equal(err.code, PROTO_TOO_LARGE);
    msgpack_unpacked_destroy(&u);
    free(junk);
}

/* ---- replies ------------------------------------------------------------------ */

static void code_names_match_the_contract(void **state)
{
    (void)state;
    static const struct {
        proto_code_t code;
        const char *name;
    } rows[] = {
        {PROTO_BAD_REQUEST, "bad_request"},   {PROTO_UNKNOWN_OP, "unknown_op"},
        {PROTO_INVALID_FIELD, "invalid_field"}, {PROTO_TOO_LARGE, "too_large"},
        {PROTO_UNAUTHORIZED, "unauthorized"}, {PROTO_NOT_FOUND, "not_found"},
        {PROTO_CONFLICT, "conflict"},         {PROTO_RATE_LIMITED, "rate_limited"},
        {PROTO_UNAVAILABLE, "unavailable"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_string_equal(proto_code_names[rows[i].code], rows[i].name);
    assert_string_equal(proto_ops[OP_REPORT_SUBMIT].name, "report.submit");
    assert_true(proto_ops[OP_REPORT_SUBMIT].writes);
    assert_string_equal(proto_ops[OP_CASE_GET].name, "case.get");
    assert_false(proto_ops[OP_CASE_GET].writes);
    assert_string_equal(proto_ops[OP_HEALTH].name, "health");
    assert_false(proto_ops[OP_HEALTH].writes);
    /* every operation in the table has a distinct name and is found by it */
    assert_true(proto_op_count >= 3);
    for (int i = 0; i < proto_op_count; i++) {
        assert_non_null(proto_ops[i].name);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(proto_ops[i].name, proto_ops[j].name);
        char *text = strf("{v: 1, op: '%s', id: 'any', body: {}}", proto_ops[i].name);
        env_row_t row = TXT("every op parses", text, PROTO_OK, NULL, "any", i);
        check_envelope(&row);
        free(text);
    }
}

static void fail_fills_the_error(void **state)
{
    (void)state;
    proto_error_t e;
    assert_int_equal(proto_fail(&e, PROTO_CONFLICT, "id", "same id, different body"), -1);
    assert_int_equal(e.code, PROTO_CONFLICT);
    assert_string_equal(e.field, "id");
    assert_string_equal(e.message, "same id, different body");
    assert_int_equal(proto_fail(&e, PROTO_UNAVAILABLE, NULL, NULL), -1);
    assert_string_equal(e.field, "");
    assert_string_equal(e.message, "");
    char *long_msg = text_of(1000, 0);
    proto_fail(&e, PROTO_BAD_REQUEST, long_msg, long_msg);
    assert_int_equal(strlen(e.field), sizeof e.field - 1);
    assert_int_equal(strlen(e.message), sizeof e.message - 1);
    free(long_msg);
}

/* Unpacks a reply and checks the common head: v = 1, id, ok. */
static const msgpack_object *reply_head(msgpack_unpacked *u, msgpack_sbuffer *sb, const char *id,
                                        bool ok)
{
    msgpack_unpacked_init(u);
    assert_int_equal(mp_unpack(sb->data, sb->size, u), MP_OK); /* exactly one object */
    const msgpack_object *o = &u->data;
    assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(o->via.map.size, 4);
    int64_t v;
    assert_int_equal(mp_int(mp_get(o, "v"), &v), 0);
    assert_int_equal(v, 1);
    assert_true(mp_str_is(mp_get(o, "id"), id));
    const msgpack_object *okv = mp_get(o, "ok");
    assert_non_null(okv);
    assert_int_equal(okv->type, MSGPACK_OBJECT_BOOLEAN);
    assert_int_equal(okv->via.boolean, ok);
    return o;
}

static void reply_error_has_the_documented_keys(void **state)
{
    (void)state;
    proto_error_t e;
    proto_fail(&e, PROTO_INVALID_FIELD, "household.members[2].id_number", "check character");
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_reply_error(&pk, "req-1", &e);
    msgpack_unpacked u;
    const msgpack_object *o = reply_head(&u, &sb, "req-1", false);
    const msgpack_object *err = mp_get(o, "error");
    assert_non_null(err);
    assert_int_equal(err->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(err->via.map.size, 3);
    assert_true(mp_str_is(mp_get(err, "code"), "invalid_field"));
    assert_true(mp_str_is(mp_get(err, "field"), "household.members[2].id_number"));
    assert_true(mp_str_is(mp_get(err, "message"), "check character"));
    assert_null(mp_get(o, "result"));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);

    /* every code, with no field and no id */
    for (int c = PROTO_BAD_REQUEST; c <= PROTO_UNAVAILABLE; c++) {
        proto_fail(&e, (proto_code_t)c, NULL, "why");
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_reply_error(&pk, NULL, &e);
        o = reply_head(&u, &sb, "", false);
        err = mp_get(o, "error");
        assert_true(mp_str_is(mp_get(err, "code"), proto_code_names[c]));
        assert_true(mp_str_is(mp_get(err, "message"), "why"));
        const msgpack_object *field = mp_get(err, "field");
        assert_true(field == NULL || mp_str_is(field, ""));
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void reply_ok_begin_is_followed_by_the_result(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_reply_ok_begin(&pk, "req-2");
    msgpack_pack_map(&pk, 3);
    mp_pack_kv_str(&pk, "report_id", "R-1");
    mp_pack_kv_str(&pk, "case_id", "C-1");
    mp_pack_kv_bool(&pk, "duplicate", false);
    msgpack_unpacked u;
    const msgpack_object *o = reply_head(&u, &sb, "req-2", true);
    const msgpack_object *res = mp_get(o, "result");
    assert_non_null(res);
    assert_true(mp_str_is(mp_get(res, "report_id"), "R-1"));
    assert_true(mp_str_is(mp_get(res, "case_id"), "C-1"));
    assert_null(mp_get(o, "error"));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);

    /* a NULL id is written as "" */
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_reply_ok_begin(&pk, NULL);
    msgpack_pack_map(&pk, 0);
    o = reply_head(&u, &sb, "", true);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_report_decodes_every_value),
        cmocka_unit_test(omitted_fields_take_the_documented_defaults),
        cmocka_unit_test(required_fields_missing_give_their_path),
        cmocka_unit_test(member_and_circumstance_counts_are_bounded),
        cmocka_unit_test(bad_id_numbers_name_the_member),
        cmocka_unit_test(duplicate_id_numbers_are_rejected),
        cmocka_unit_test(birth_dates_after_as_of_are_rejected),
        cmocka_unit_test(circumstance_id_born_after_as_of_is_rejected),
        cmocka_unit_test(trigger_is_only_for_department_reports),
        cmocka_unit_test(as_of_must_be_a_real_date_not_in_the_future),
        cmocka_unit_test(area_codes_must_nest),
        cmocka_unit_test(strings_are_limited_to_256_bytes),
        cmocka_unit_test(unknown_keys_are_rejected_with_their_path),
        cmocka_unit_test(enum_values_must_be_listed),
        cmocka_unit_test(numbers_and_flags_are_range_checked),
        cmocka_unit_test(body_must_be_a_map),
        cmocka_unit_test(encode_then_decode_round_trips),
        cmocka_unit_test(encode_writes_the_wire_names),
        cmocka_unit_test(case_get_needs_exactly_one_key),
        cmocka_unit_test(case_get_fills_the_query),
        cmocka_unit_test(envelope_errors_give_the_documented_codes),
        cmocka_unit_test(valid_envelopes_parse),
        cmocka_unit_test(id_is_limited_to_256_bytes),
        cmocka_unit_test(requests_over_64_kib_are_too_large),
        cmocka_unit_test(code_names_match_the_contract),
        cmocka_unit_test(fail_fills_the_error),
        cmocka_unit_test(reply_error_has_the_documented_keys),
        cmocka_unit_test(reply_ok_begin_is_followed_by_the_result),
    };
    return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
