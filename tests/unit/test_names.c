/* test_names.c — unit tests of proto/names.c: each enum of the contract
 * named once, in the order of its enum and of PROTOCOL.md, and the tables
 * that use them (report source, decision.submit status, measure periods and
 * forms) reading and writing exactly these words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "department.h"
#include "mp.h"
#include "names.h"
#include "rules.h"

static int count(const char *const *names)
{
    int n = 0;
    while (names[n])
        n++;
    return n;
}

static void every_enum_indexes_its_word(void **state)
{
    (void)state;
    assert_int_equal(count(proto_sources), SOURCE_SELF + 1);
    assert_string_equal(proto_sources[SOURCE_VISIT], "visit");
    assert_string_equal(proto_sources[SOURCE_HOTLINE], "hotline");
    assert_string_equal(proto_sources[SOURCE_WECHAT], "wechat");
    assert_string_equal(proto_sources[SOURCE_DEPARTMENT], "department");
    assert_string_equal(proto_sources[SOURCE_SELF], "self");

    assert_int_equal(count(proto_statuses), STATUS_REFERRED + 1);
    assert_string_equal(proto_statuses[STATUS_PENDING], "pending");
    assert_string_equal(proto_statuses[STATUS_GRANTED], "granted");
    assert_string_equal(proto_statuses[STATUS_DENIED], "denied");
    assert_string_equal(proto_statuses[STATUS_REFERRED], "referred");

    assert_int_equal(count(proto_periods), PERIOD_YEAR + 1);
    assert_string_equal(proto_periods[PERIOD_ONCE], "once");
    assert_string_equal(proto_periods[PERIOD_MONTH], "month");
    assert_string_equal(proto_periods[PERIOD_QUARTER], "quarter");
    assert_string_equal(proto_periods[PERIOD_YEAR], "year");

    assert_int_equal(count(proto_forms), FORM_REFERRAL + 1);
    assert_string_equal(proto_forms[FORM_CASH], "cash");
    assert_string_equal(proto_forms[FORM_IN_KIND], "in_kind");
    assert_string_equal(proto_forms[FORM_SERVICE], "service");
    assert_string_equal(proto_forms[FORM_REFERRAL], "referral");
}

static void a_department_decides_granted_denied_or_referred_only(void **state)
{
    (void)state;
    assert_int_equal(count(proto_decision_statuses), 3);
    assert_string_equal(proto_decision_statuses[0], "granted");
    assert_string_equal(proto_decision_statuses[2], "referred");
    assert_int_equal(proto_name_find(proto_decision_statuses, "pending"), -1);
}

static void find_gives_the_index_or_minus_one(void **state)
{
    (void)state;
    assert_int_equal(proto_name_find(proto_forms, "in_kind"), FORM_IN_KIND);
    assert_int_equal(proto_name_find(proto_periods, "year"), PERIOD_YEAR);
    assert_int_equal(proto_name_find(proto_sources, "self"), SOURCE_SELF);
    assert_int_equal(proto_name_find(proto_statuses, "pending"), STATUS_PENDING);
    assert_int_equal(proto_name_find(proto_forms, "Cash"), -1);
    assert_int_equal(proto_name_find(proto_forms, ""), -1);
    assert_int_equal(proto_name_find(proto_periods, "monthly"), -1);
}

/* {"referral_id": "referral-1", "status": <status>, "rules": []} decoded */
static int decode_status(const char *status, proto_decision_t *d, schema_err_t *err)
{
    char buf[128];
    size_t sl = strlen(status);
    static const char head[] = "\x83\xab" "referral_id\xaa" "referral-1\xa6" "status";
    size_t n = sizeof head - 1;
    memcpy(buf, head, n);
    buf[n++] = (char)(0xa0 | sl);
    memcpy(buf + n, status, sl);
    n += sl;
    memcpy(buf + n, "\xa5" "rules\x90", 7);
    n += 7;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(mp_unpack(buf, n, &u), MP_OK);
    int rc = proto_decision_decode(&u.data, d, err);
    msgpack_unpacked_destroy(&u);
    return rc;
}

static void decision_submit_reads_the_status_as_a_status_t(void **state)
{
    (void)state;
    static proto_decision_t d;
    schema_err_t err;
    for (int s = STATUS_GRANTED; s <= STATUS_REFERRED; s++) {
        assert_int_equal(decode_status(proto_statuses[s], &d, &err), 0);
        assert_int_equal(d.status, s);
        assert_string_equal(proto_statuses[d.status], proto_statuses[s]);
    }
    assert_int_equal(decode_status("pending", &d, &err), -1);
    assert_string_equal(err.field, "status");
    assert_int_equal(decode_status("approved", &d, &err), -1);
    assert_string_equal(err.field, "status");
}

static void every_measure_code_has_a_named_period_and_form(void **state)
{
    (void)state;
    for (int i = 0; i < rules_measure_count; i++) {
        const rules_measure_t *m = &rules_measures[i];
        assert_true(m->period >= PERIOD_ONCE && m->period <= PERIOD_YEAR);
        assert_true(m->form >= FORM_CASH && m->form <= FORM_REFERRAL);
    }
    const rules_measure_t *m = rules_measure_find("civil.dibao_supplement");
    assert_non_null(m);
    assert_string_equal(proto_periods[m->period], "month");
    assert_string_equal(proto_forms[m->form], "cash");
    m = rules_measure_find("care.visit_quarterly");
    assert_non_null(m);
    assert_string_equal(proto_periods[m->period], "quarter");
    assert_string_equal(proto_forms[m->form], "service");
    m = rules_measure_find("relief.food");
    assert_non_null(m);
    assert_string_equal(proto_forms[m->form], "in_kind");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_enum_indexes_its_word),
        cmocka_unit_test(a_department_decides_granted_denied_or_referred_only),
        cmocka_unit_test(find_gives_the_index_or_minus_one),
        cmocka_unit_test(decision_submit_reads_the_status_as_a_status_t),
        cmocka_unit_test(every_measure_code_has_a_named_period_and_form),
    };
    return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
