/* test_benefits.c — unit tests of proto/benefits.c: the bodies of the benefits
 * operations (proto/BENEFITS.md, issue 17) and the field each error names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "benefits.h"
#include "jpack.h"

#define PERSON "11010519491231002X" /* a valid ID number (GB 11643 example) */

typedef int (*decode_fn)(const msgpack_object *body, void *out, schema_err_t *err);

/* Decodes text with fn into out: 0, or -1 with the field in field. */
static int decode(decode_fn fn, const char *text, void *out, char *field, size_t fsz)
{
    msg_t m;
    schema_err_t e = {0};
    int rc = fn(msg_make(&m, text), out, &e);
    snprintf(field, fsz, "%s", rc ? e.field : "");
    msg_free(&m);
    return rc;
}

#define DEC(fn) ((decode_fn)(fn))

static void test_list(void **state)
{
    (void)state;
    benefits_list_t q;
    char f[64];
    assert_int_equal(decode(DEC(benefits_list_decode), "{case_id: 'case-12', month: '2026-12'}",
                            &q, f, sizeof f), 0);
    assert_int_equal(q.case_num, 12);
    assert_int_equal(q.month_first, 20261201);
    assert_int_equal(decode(DEC(benefits_list_decode), "{id_number: '" PERSON "'}", &q, f, sizeof f),
                     0);
    assert_string_equal(q.id_number, PERSON);
    assert_int_equal(q.month_first, 0);
    /* a malformed case id decodes (case_num 0) and is answered not_found */
    assert_int_equal(decode(DEC(benefits_list_decode), "{case_id: 'case-x'}", &q, f, sizeof f), 0);
    assert_int_equal(q.case_num, 0);
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{}", "case_id"},
        {"{case_id: 'case-1', id_number: '" PERSON "'}", "case_id"},
        {"{case_id: 'case-1', month: '2026-13'}", "month"},
        {"{id_number: '110105194912310021'}", "id_number"},
        {"{case_id: 'case-1', extra: 1}", "extra"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(decode(DEC(benefits_list_decode), bad[i].body, &q, f, sizeof f), -1);
        assert_string_equal(f, bad[i].field);
    }
}

static void test_payee(void **state)
{
    (void)state;
    benefits_payee_t p;
    char f[64];
    assert_int_equal(decode(DEC(benefits_payee_decode),
                            "{case_id: 'case-3', holder_id_number: '" PERSON "', bank: '农村信用社',"
                            " account: '6222000011112222'}", &p, f, sizeof f), 0);
    assert_int_equal(p.case_num, 3);
    assert_string_equal(p.account, "6222000011112222");
    static const struct {
        const char *account, *field;
    } bad[] = {{"12345", "account"}, {"12345a78", "account"},
               {"123456789012345678901234567890123", "account"}, {"", "account"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "{case_id: 'case-3', holder_id_number: '" PERSON "', bank: 'x',"
                                    " account: '%s'}", bad[i].account);
        assert_int_equal(decode(DEC(benefits_payee_decode), body, &p, f, sizeof f), -1);
        assert_string_equal(f, bad[i].field);
    }
    assert_int_equal(decode(DEC(benefits_payee_decode),
                            "{case_id: 'case-3', holder_id_number: '" PERSON "', bank: '',"
                            " account: '123456'}", &p, f, sizeof f), -1);
    assert_string_equal(f, "bank");
}

static void test_payroll_bodies(void **state)
{
    (void)state;
    char f[64];
    benefits_run_t r;
    assert_int_equal(decode(DEC(benefits_run_decode), "{month: '2026-12', township: '520123101',"
                                                      " by: '张'}", &r, f, sizeof f), 0);
    assert_int_equal(r.month_first, 20261201);
    assert_int_equal(decode(DEC(benefits_run_decode), "{month: '2026-12', by: ''}", &r, f, sizeof f),
                     -1);
    assert_string_equal(f, "by");
    assert_int_equal(decode(DEC(benefits_run_decode), "{month: '12-2026', by: 'x'}", &r, f, sizeof f),
                     -1);
    assert_string_equal(f, "month");
    benefits_run_ref_t a;
    assert_int_equal(decode(DEC(benefits_approve_decode), "{run_id: 7, by: '李'}", &a, f, sizeof f), 0);
    assert_int_equal(a.run_id, 7);
    assert_int_equal(decode(DEC(benefits_approve_decode), "{run_id: 0, by: '李'}", &a, f, sizeof f), -1);
    assert_string_equal(f, "run_id");
    static benefits_reconcile_t rec;
    assert_int_equal(decode(DEC(benefits_reconcile_decode),
                            "{run_id: 7, by: 'x', returns: [{line_id: 1, status: paid},"
                            " {line_id: 2, status: failed, reason: '户名不符'}]}",
                            &rec, f, sizeof f), 0);
    assert_int_equal(rec.n_returns, 2);
    assert_int_equal(rec.returns[1].status, 1);
    assert_int_equal(decode(DEC(benefits_reconcile_decode),
                            "{run_id: 7, by: 'x', returns: [{line_id: 1, status: paid},"
                            " {line_id: 2, status: failed}]}", &rec, f, sizeof f), -1);
    assert_string_equal(f, "returns[1].reason");
    assert_int_equal(decode(DEC(benefits_reconcile_decode),
                            "{run_id: 7, by: 'x', returns: [{line_id: 1, status: lost}]}", &rec, f,
                            sizeof f), -1);
    assert_string_equal(f, "returns[0].status");
    assert_int_equal(decode(DEC(benefits_reconcile_decode), "{run_id: 7, by: 'x', returns: []}",
                            &rec, f, sizeof f), -1);
    assert_string_equal(f, "returns");
}

static void test_exit_pause_merge(void **state)
{
    (void)state;
    char f[64];
    benefits_exit_t x;
    assert_int_equal(decode(DEC(benefits_exit_decode), "{case_id: 'case-4', reason: income,"
                                                       " month: '2026-03', by: 'x'}", &x, f, sizeof f),
                     0);
    assert_string_equal(benefits_exit_names[x.reason], "income");
    /* a death is one person's: the ID number is required */
    assert_int_equal(decode(DEC(benefits_exit_decode), "{case_id: 'case-4', reason: death,"
                                                       " month: '2026-07', by: 'x'}", &x, f, sizeof f),
                     -1);
    assert_string_equal(f, "id_number");
    assert_int_equal(decode(DEC(benefits_exit_decode), "{case_id: 'case-4', reason: fled,"
                                                       " month: '2026-07', by: 'x'}", &x, f, sizeof f),
                     -1);
    assert_string_equal(f, "reason");
    benefits_pause_t p;
    assert_int_equal(decode(DEC(benefits_suspend_decode), "{entitlement_id: 9, from_month: '2026-09',"
                                                          " reason: '住院', by: 'x'}", &p, f, sizeof f),
                     0);
    assert_int_equal(p.month_first, 20260901);
    assert_int_equal(decode(DEC(benefits_suspend_decode), "{entitlement_id: 9, from_month: '2026-09',"
                                                          " reason: '', by: 'x'}", &p, f, sizeof f),
                     -1);
    assert_string_equal(f, "reason");
    assert_int_equal(decode(DEC(benefits_resume_decode), "{entitlement_id: 9, month: 'x', by: 'x'}",
                            &p, f, sizeof f), -1);
    assert_string_equal(f, "month");
    benefits_merge_t m;
    assert_int_equal(decode(DEC(benefits_merge_decode), "{into: 'case-1', from: 'case-2', by: 'x',"
                                                        " reason: 'y'}", &m, f, sizeof f), 0);
    assert_int_equal(m.into_num, 1);
    assert_int_equal(m.from_num, 2);
    assert_int_equal(decode(DEC(benefits_merge_decode), "{into: 'case-1', from: 'case-2', by: 'x',"
                                                        " reason: ''}", &m, f, sizeof f), -1);
    assert_string_equal(f, "reason");
    benefits_recheck_t q;
    assert_int_equal(decode(DEC(benefits_recheck_decode), "{month: '2026-12', township: '52012310'}",
                            &q, f, sizeof f), -1);
    assert_string_equal(f, "township");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_payee),
        cmocka_unit_test(test_payroll_bodies),
        cmocka_unit_test(test_exit_pause_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
