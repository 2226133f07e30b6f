/* test_triggers.c — the contract of other bureaus and department systems
 * (proto/trigger.c, proto/department.c, proto/rules.c): trigger bodies and
 * their field paths, what each trigger does to a household's report, the
 * strict check of an external decision, and the rule/measure tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "department.h"
#include "idcard.h"
#include "mp.h"
#include "proto.h"
#include "rules.h"
#include "trigger.h"

#define TODAY 20261129

/* A valid ID number born on birth (check character per POLICY.md §0). */
static void id_make(int birth, int seq, char out[19])
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    char buf[32];
    snprintf(buf, sizeof buf, "520123%08d%03d", birth, seq);
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (buf[i] - '0') * w[i];
    memcpy(out, buf, 17);
    out[17] = "10X98765432"[sum % 11];
    out[18] = '\0';
}

/* ---- building bodies: "k=s:text", "k=i:12", "k=a:x,y" ------------------------------- */

static msgpack_sbuffer sb;
static msgpack_unpacked up;

static const msgpack_object *body(int n, ...)
{
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked_destroy(&up);
    msgpack_unpacked_init(&up);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (size_t)n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *spec = va_arg(ap, const char *);
        const char *eq = strchr(spec, '=');
        mp_pack_strn(&pk, spec, (size_t)(eq - spec));
        const char *v = eq + 3;
        if (eq[1] == 'i') {
            msgpack_pack_int64(&pk, strtoll(v, NULL, 10));
        } else if (eq[1] == 'a') {
            int cnt = *v ? 1 : 0;
            for (const char *p = v; *p; p++)
                cnt += *p == ',';
            msgpack_pack_array(&pk, (size_t)cnt);
            for (const char *p = v; cnt-- > 0;) {
                size_t len = strcspn(p, ",");
                mp_pack_strn(&pk, p, len);
                p += len + 1;
            }
        } else {
            mp_pack_str(&pk, v);
        }
    }
    va_end(ap);
    assert_int_equal(mp_unpack(sb.data, sb.size, &up), MP_OK);
    return &up.data;
}

static proto_trigger_t t;
static schema_err_t se;
static char idbuf[64], idbuf2[64];

static const char *idspec(const char *key, int birth, int seq, char *buf)
{
    char id[19];
    id_make(birth, seq, id);
    snprintf(buf, 64, "%s=s:%s", key, id);
    return buf;
}

static void expect_error(const msgpack_object *o, const char *prefix, const char *field)
{
    int rc = proto_trigger_decode(o, TODAY, prefix, &t, &se);
    if (rc == 0 || strcmp(se.field, field) != 0)
        print_message("got rc %d field '%s' (%s), want '%s'\n", rc, se.field, se.message, field);
    assert_int_equal(rc, -1);
    assert_string_equal(se.field, field);
}

static void test_trigger_decode_kinds(void **state)
{
    (void)state;
    assert_int_equal(proto_trigger_decode(body(3, "kind=s:disaster", "areas=a:520123101,520123101002",
                                               "hazard=s:flood"), TODAY, "", &t, &se), 0);
    assert_true(proto_trigger_is_area(&t));
    assert_int_equal(t.n_areas, 2);
    assert_string_equal(t.areas[1], "520123101002");
    assert_int_equal(proto_trigger_decode(body(4, "kind=s:medical_expense",
                                               idspec("id_number", 19800101, 1, idbuf),
                                               "expense_fen=i:600000", "months=i:6"),
                                          TODAY, "", &t, &se), 0);
    assert_int_equal(t.kind, TRIGGER_MEDICAL_EXPENSE);
    assert_false(proto_trigger_is_area(&t));
    assert_int_equal(proto_trigger_decode(body(4, "kind=s:disability",
                                               idspec("id_number", 19800101, 1, idbuf),
                                               "disability_grade=i:2", "disability_kind=s:mental"),
                                          TODAY, "", &t, &se), 0);
    assert_int_equal(t.disability_kind, DISKIND_MENTAL);
    assert_int_equal(proto_trigger_decode(body(3, "kind=s:disaster",
                                               idspec("id_number", 19800101, 1, idbuf),
                                               "hazard=s:hail"), TODAY, "", &t, &se), 0);
    assert_false(proto_trigger_is_area(&t));
}

static void test_trigger_decode_errors(void **state)
{
    (void)state;
    expect_error(body(1, "hazard=s:flood"), "", "kind");
    expect_error(body(1, "kind=s:tsunami"), "", "kind");
    expect_error(body(2, "kind=s:disaster", "hazard=s:flood"), "", "areas");
    expect_error(body(3, "kind=s:disaster", "areas=a:520123101,5201", "hazard=s:flood"), "",
                 "areas[1]");
    expect_error(body(3, "kind=s:disaster", "areas=a:520123101", "hazard=s:meteor"), "",
                 "hazard");
    expect_error(body(4, "kind=s:disaster", "areas=a:520123101", "hazard=s:flood",
                      "occurred_on=s:2026-11-30"), "", "occurred_on");
    expect_error(body(4, "kind=s:disaster", "areas=a:520123101", "hazard=s:flood",
                      idspec("id_number", 19800101, 1, idbuf)), "", "areas");
    expect_error(body(3, "kind=s:medical_expense", idspec("id_number", 19800101, 1, idbuf),
                      "expense_fen=i:1"), "triggers[4]", "triggers[4].months");
    expect_error(body(4, "kind=s:medical_expense", idspec("id_number", 19800101, 1, idbuf),
                      "expense_fen=i:0", "months=i:6"), "", "expense_fen");
    expect_error(body(4, "kind=s:disability", idspec("id_number", 19800101, 1, idbuf),
                      "disability_grade=i:1", "disability_kind=s:none"), "", "disability_kind");
    expect_error(body(3, "kind=s:death", idspec("id_number", 19800101, 1, idbuf), "note=s:x"),
                 "", "note");
    expect_error(body(2, "kind=s:death", idspec("id_number", 20261201, 1, idbuf)), "",
                 "id_number"); /* born after today */
}

/* A household of two: the head, and a working spouse. */
static void household(report_t *r)
{
    memset(r, 0, sizeof *r);
    r->as_of = TODAY;
    r->n_members = 2;
    id_make(19500101, 1, r->members[0].id_number);
    id_make(19800101, 2, r->members[1].id_number);
    r->members[1].employed = true;
}

static void test_trigger_apply(void **state)
{
    (void)state;
    report_t r;
    proto_error_t e;
    household(&r);
    /* disaster: urgent, a disaster circumstance naming the trigger */
    proto_trigger_decode(body(4, "kind=s:disaster", "areas=a:520123101", "hazard=s:flood",
                              "occurred_on=s:2026-11-20"), TODAY, "", &t, &se);
    assert_int_equal(proto_trigger_apply(&t, "trigger-9", "", &r, &e), 1);
    assert_string_equal(r.trigger, "disaster");
    assert_string_equal(r.reporter, "trigger-9");
    assert_int_equal(r.source, SOURCE_DEPARTMENT);
    assert_int_equal(r.urgency, URGENCY_URGENT);
    assert_int_equal(r.n_circumstances, 1);
    assert_int_equal(r.circumstances[0].kind, CIRC_DISASTER);
    assert_int_equal(r.circumstances[0].occurred_on, 20261120);
    assert_non_null(strstr(r.circumstances[0].note, "trigger-9"));
    /* medical_expense: the period starts months before as_of */
    household(&r);
    proto_trigger_decode(body(4, "kind=s:medical_expense", idspec("id_number", 19800101, 2, idbuf),
                              "expense_fen=i:600000", "months=i:6"), TODAY, "", &t, &se);
    assert_int_equal(proto_trigger_apply(&t, "trigger-1", "", &r, &e), 1);
    assert_int_equal(r.circumstances[0].kind, CIRC_ILLNESS);
    assert_int_equal(r.circumstances[0].expense_fen, 600000);
    assert_int_equal(r.circumstances[0].occurred_on, 20260529);
    assert_string_equal(r.circumstances[0].id_number, r.members[1].id_number);
    /* unemployment: once; the second changes nothing */
    household(&r);
    proto_trigger_decode(body(2, "kind=s:unemployment", idspec("id_number", 19800101, 2, idbuf)),
                         TODAY, "", &t, &se);
    assert_int_equal(proto_trigger_apply(&t, "trigger-2", "", &r, &e), 1);
    assert_false(r.members[1].employed);
    assert_int_equal(r.circumstances[0].kind, CIRC_UNEMPLOYMENT);
    r.n_circumstances = 0;
    assert_int_equal(proto_trigger_apply(&t, "trigger-3", "", &r, &e), 0);
    /* disability */
    proto_trigger_decode(body(4, "kind=s:disability", idspec("id_number", 19500101, 1, idbuf),
                              "disability_grade=i:1", "disability_kind=s:visual"), TODAY, "", &t,
                         &se);
    assert_int_equal(proto_trigger_apply(&t, "trigger-4", "", &r, &e), 1);
    assert_int_equal(r.members[0].disability_grade, 1);
    assert_int_equal(r.members[0].disability_kind, DISKIND_VISUAL);
    assert_int_equal(proto_trigger_apply(&t, "trigger-5", "", &r, &e), 0);
    /* death: removed; the only member left cannot be removed */
    household(&r);
    char second[19];
    memcpy(second, r.members[1].id_number, sizeof second);
    proto_trigger_decode(body(2, "kind=s:death", idspec("id_number", 19500101, 1, idbuf)), TODAY,
                         "", &t, &se);
    assert_int_equal(proto_trigger_apply(&t, "trigger-6", "", &r, &e), 1);
    assert_int_equal(r.n_members, 1);
    assert_string_equal(r.members[0].id_number, second);
    assert_int_equal(r.circumstances[0].kind, CIRC_DEATH);
    /* the deceased is no longer in the household */
    assert_int_equal(proto_trigger_apply(&t, "trigger-7", "triggers[2]", &r, &e), -1);
    assert_int_equal(e.code, PROTO_NOT_FOUND);
    assert_string_equal(e.field, "triggers[2].id_number");
    proto_trigger_decode(body(2, "kind=s:death", idspec("id_number", 19800101, 2, idbuf2)), TODAY,
                         "", &t, &se);
    assert_int_equal(proto_trigger_apply(&t, "trigger-8", "", &r, &e), 0);
    assert_int_equal(r.n_members, 1);
}

/* ---- decision.submit ------------------------------------------------------------ */

static proto_decision_t d;

static void decision(const char *status, int nm, const char *const *codes, int nr,
                     const char *const *rules, const char *reason)
{
    memset(&d, 0, sizeof d);
    snprintf(d.referral_id, sizeof d.referral_id, "referral-1");
    for (int i = 0; proto_statuses[i]; i++)
        if (strcmp(proto_statuses[i], status) == 0)
            d.status = i;
    d.n_measures = nm;
    for (int i = 0; i < nm; i++) {
        snprintf(d.measures[i].code, sizeof d.measures[i].code, "%s", codes[i]);
        d.measures[i].person = -1;
        d.measures[i].period = d.measures[i].form = -1;
    }
    d.n_rules = nr;
    for (int i = 0; i < nr; i++)
        snprintf(d.rules[i], sizeof d.rules[i], "%s", rules[i]);
    snprintf(d.reason, sizeof d.reason, "%s", reason ? reason : "");
}

static void check_fails(const char *dept, const char *field)
{
    int rc = proto_decision_check(&d, dept, 2, &se);
    if (rc == 0 || strcmp(se.field, field) != 0)
        print_message("got rc %d field '%s' (%s), want '%s'\n", rc, se.field, se.message, field);
    assert_int_equal(rc, -1);
    assert_string_equal(se.field, field);
}

static void test_decision_check(void **state)
{
    (void)state;
    const char *house[] = {"housing.public_rental_or_subsidy", "housing.rent_free"};
    const char *rules[] = {"R-HOUSE-S", "R-HOUSE-FREE"};
    decision("granted", 2, house, 2, rules, NULL);
    assert_int_equal(proto_decision_check(&d, "housing", 2, &se), 0);
    assert_string_equal(proto_periods[d.measures[1].period], "once");
    assert_string_equal(proto_forms[d.measures[1].form], "service");
    check_fails("civil", "measures[0].code");
    const char *civil[] = {"civil.dibao_supplement"};
    decision("granted", 1, civil, 1, rules, NULL);
    check_fails("civil", "measures[0].amount_fen");        /* cash ≥ 1 */
    d.measures[0].amount_fen = 14100;
    check_fails("civil", "measures[0].person");            /* per person */
    d.measures[0].person = 1;
    assert_int_equal(proto_decision_check(&d, "civil", 2, &se), 0);
    d.measures[0].person = 2;
    check_fails("civil", "measures[0].person");            /* no such member */
    d.measures[0].person = 1;
    d.measures[0].period = 0;                              /* once, not month */
    check_fails("civil", "measures[0].period");
    const char *bad_rule[] = {"R-HOUSE-S", "R-NOPE"};
    decision("granted", 1, house, 2, bad_rule, NULL);
    check_fails("housing", "rules[1]");
    decision("granted", 0, NULL, 1, rules, NULL);
    check_fails("housing", "measures");
    decision("denied", 0, NULL, 0, NULL, NULL);
    check_fails("housing", "reason");
    decision("denied", 0, NULL, 0, NULL, "no housing need");
    assert_int_equal(proto_decision_check(&d, "housing", 2, &se), 0);
    decision("denied", 1, house, 1, rules, "x");
    check_fails("housing", "measures");
    const char *twice[] = {"housing.rent_free", "housing.rent_free"};
    decision("granted", 2, twice, 1, rules, NULL);
    check_fails("housing", "measures[1]");
    assert_int_equal(proto_referral_number("referral-42"), 42);
    assert_int_equal(proto_referral_number("referral-"), -1);
    assert_int_equal(proto_referral_number("42"), -1);
}

/* ---- rules tables ---------------------------------------------------------------- */

static void test_rules_tables(void **state)
{
    (void)state;
    assert_int_equal(rules_department_count, 9);
    assert_null(rules_departments[9]);
    for (int i = 0; i < rules_measure_count; i++) {
        const rules_measure_t *m = &rules_measures[i];
        size_t n = strlen(m->department);
        assert_true(rules_department_known(m->department));
        assert_int_equal(strncmp(m->code, m->department, n), 0);
        assert_int_equal(m->code[n], '.');
        assert_true(m->form != FORM_CASH || m->period != PERIOD_QUARTER);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(rules_measures[j].code, m->code);
    }
    for (int i = 0; i < rules_id_count; i++) {
        assert_int_equal(strncmp(rules_ids[i], "R-", 2), 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(rules_ids[j], rules_ids[i]);
    }
    assert_true(rules_id_known("R-TRIGGER-DISASTER"));
    assert_true(rules_id_known("R-SCOPE-S10"));
    assert_false(rules_id_known("R-SCOPE-S11"));
    assert_non_null(rules_measure_find("medical.retro_aid"));
    assert_null(rules_measure_find("medical.retro"));
    assert_false(proto_department_sees_ids("housing"));
    assert_true(proto_department_sees_ids("medical"));
}

/* The report a department sees: IDs and names masked. */
static void test_department_report_is_masked(void **state)
{
    (void)state;
    report_t r;
    household(&r);
    snprintf(r.members[0].name, sizeof r.members[0].name, "张三丰");
    snprintf(r.county, sizeof r.county, "520123");
    snprintf(r.township, sizeof r.township, "520123101");
    snprintf(r.village, sizeof r.village, "520123101001");
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
    proto_department_pack_report(&r, &pk);
    assert_null(memmem(out.data, out.size, r.members[0].id_number, 18));
    assert_null(memmem(out.data, out.size, r.members[1].id_number, 18));
    assert_null(memmem(out.data, out.size, "三丰", strlen("三丰")));
    assert_non_null(memmem(out.data, out.size, "520123********", 14));
    msgpack_sbuffer_destroy(&out);
}

static void expect_decision_field(const msgpack_object *o, const char *field)
{
    static proto_decision_t dd;
    assert_int_equal(proto_decision_decode(o, &dd, &se), -1);
    assert_string_equal(se.field, field);
}

/* rules may be left out of a denial or a referral (decoded as none); a
 * grant is refused on rules at the check, not at the decode. */
static void test_decision_decode_rules_optional(void **state)
{
    (void)state;
    static proto_decision_t dd;
    for (int k = 0; k < 2; k++) {
        const char *status = k ? "status=s:referred" : "status=s:denied";
        assert_int_equal(proto_decision_decode(body(3, "referral_id=s:referral-4", status,
                                                    "reason=s:no housing need"), &dd, &se), 0);
        assert_int_equal(dd.n_rules, 0);
        assert_int_equal(proto_decision_check(&dd, "housing", 1, &se), 0);
    }
    assert_int_equal(proto_decision_decode(body(2, "referral_id=s:referral-4",
                                                "status=s:granted"), &dd, &se), 0);
    dd.n_measures = 1;
    snprintf(dd.measures[0].code, sizeof dd.measures[0].code, "housing.rent_free");
    assert_int_equal(proto_decision_check(&dd, "housing", 1, &se), -1);
    assert_string_equal(se.field, "rules");
    expect_decision_field(body(1, "referral_id=s:referral-4"), "status");
    expect_decision_field(body(2, "status=s:denied", "reason=s:x"), "referral_id");
}

int main(void)
{
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked_init(&up);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trigger_decode_kinds),
        cmocka_unit_test(test_trigger_decode_errors),
        cmocka_unit_test(test_trigger_apply),
        cmocka_unit_test(test_decision_check),
        cmocka_unit_test(test_decision_decode_rules_optional),
        cmocka_unit_test(test_rules_tables),
        cmocka_unit_test(test_department_report_is_masked),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&up);
    return rc;
}
