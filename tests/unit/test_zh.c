/* test_zh.c — unit tests of proto/zh.c: every measure code has its Chinese
 * name, money in yuan by integer arithmetic, times in UTC+8 with their zone,
 * and the contract's error messages in Chinese with the field path kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"
#include "zh.h"

static void every_measure_code_has_a_chinese_name(void **state)
{
    (void)state;
    for (int i = 0; i < rules_measure_count; i++) {
        const char *zh = zh_measure(rules_measures[i].code);
        if (!zh)
            fail_msg("no Chinese name for %s", rules_measures[i].code);
        assert_true((unsigned char)zh[0] >= 0x80);
    }
    int n = 0;
    for (const zh_name_t *m = zh_measures; m->code; m++, n++)
        assert_non_null(rules_measure_find(m->code)); /* no name for a code that does not exist */
    assert_int_equal(n, rules_measure_count);
    assert_string_equal(zh_measure("civil.dibao_supplement"), "分类施保金");
    assert_null(zh_measure("civil.nope"));
    assert_string_equal(zh_status("granted"), "已批准");
    assert_string_equal(zh_department("tempaid"), "临时救助");
}

static void yuan_has_two_decimals_by_integer_arithmetic(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(zh_yuan(0, b, sizeof b), "0.00");
    assert_string_equal(zh_yuan(5, b, sizeof b), "0.05");
    assert_string_equal(zh_yuan(21150, b, sizeof b), "211.50");
    assert_string_equal(zh_yuan(100000000000LL, b, sizeof b), "1000000000.00");
    assert_string_equal(zh_yuan(-5, b, sizeof b), "-0.05");
    assert_string_equal(zh_yuan(INT64_MIN, b, sizeof b), "-92233720368547758.08");
    /* 0.1 + 0.2 yuan in floating point is 0.30000000000000004: not here */
    assert_string_equal(zh_yuan(10 + 20, b, sizeof b), "0.30");
}

static void times_are_shown_in_utc_plus_8_with_the_zone(void **state)
{
    (void)state;
    char b[64];
    assert_int_equal(zh_time("2026-12-06T03:30:00Z", b, sizeof b), 0);
    assert_string_equal(b, "2026-12-06 11:30 (UTC+8)");
    /* past midnight in China, a new month and year */
    assert_int_equal(zh_time("2026-12-31T16:05:59.123456Z", b, sizeof b), 0);
    assert_string_equal(b, "2027-01-01 00:05 (UTC+8)");
    /* Postgres' text of a timestamptz, and a time already in UTC+8 */
    assert_int_equal(zh_time("2024-02-28 20:00:00+00", b, sizeof b), 0);
    assert_string_equal(b, "2024-02-29 04:00 (UTC+8)");
    assert_int_equal(zh_time("2026-12-06T11:30:00+08:00", b, sizeof b), 0);
    assert_string_equal(b, "2026-12-06 11:30 (UTC+8)");
    assert_int_equal(zh_time("2026-12-06T00:30:00-02:00", b, sizeof b), 0);
    assert_string_equal(b, "2026-12-06 10:30 (UTC+8)");
    /* a time without its zone is not guessed; the text is kept */
    assert_int_equal(zh_time("2026-12-06 11:30:00", b, sizeof b), -1);
    assert_string_equal(b, "2026-12-06 11:30:00");
    assert_int_equal(zh_time("yesterday", b, sizeof b), -1);
    assert_int_equal(zh_time("2026-13-06T03:30:00Z", b, sizeof b), -1);
}

static void errors_are_chinese_and_keep_the_field_path(void **state)
{
    (void)state;
    char b[512];
    zh_error("invalid_field", "household.members[2].monthly_income_fen", "must be an integer", b,
             sizeof b);
    assert_string_equal(b, "月收入(household.members[2].monthly_income_fen)须为整数");
    zh_error("invalid_field", "household.members[0].disability_grade", "must be in the range 0..4",
             b, sizeof b);
    assert_string_equal(b, "残疾等级(household.members[0].disability_grade)须在 0..4 范围内");
    zh_error("invalid_field", "source", "must be one of visit|hotline|wechat|department|self", b,
             sizeof b);
    assert_string_equal(b, "来源(source)须为以下之一:visit|hotline|wechat|department|self");
    zh_error("invalid_field", "household.members[1].id_number",
             "ID number check character does not match", b, sizeof b);
    assert_string_equal(b, "身份证号码(household.members[1].id_number)校验位不符,请核对");
    zh_error("invalid_field", "area.village", "is required", b, sizeof b);
    assert_string_equal(b, "村(社区)(area.village)为必填项");
    zh_error("invalid_field", "household.members[0].hukou_locl", "unknown field (check the spelling)",
             b, sizeof b);
    assert_string_equal(b, "字段 household.members[0].hukou_locl:未知字段(请检查拼写)");
    zh_error("invalid_field", "household.members[0].monthly_income_fen",
             "10.5 is not an integer: numbers must be whole (money is integer fen)", b, sizeof b);
    assert_string_equal(b, "月收入(household.members[0].monthly_income_fen)须为整数(金额以分为单位)");
    zh_error("invalid_field", "x[0][0]", "nested too deep: at most 16 levels of objects and arrays",
             b, sizeof b);
    assert_string_equal(b, "字段 x[0][0]嵌套层数过多(最多 16 层)");
    zh_error("not_found", "case_id", "no such case", b, sizeof b);
    assert_string_equal(b, "没有这个个案");
    /* a message nobody translated yet: a Chinese generic text naming the field */
    zh_error("invalid_field", "household.members[0].name", "some new English rule", b, sizeof b);
    assert_string_equal(b, "姓名(household.members[0].name)填写有误");
    zh_error("conflict", "id", "the id was used with a different body", b, sizeof b);
    assert_string_equal(b, "请求编号(id)与先前的提交冲突");
    zh_error("conflict", "township", "this township's ledger for the month is already submitted",
             b, sizeof b);
    assert_string_equal(b, "该乡镇本月台账已报送,不能重复报送");
    zh_error("unavailable", NULL, "the database is down", b, sizeof b);
    assert_string_equal(b, "服务暂不可用,请稍后重试");
    zh_error("strange_code", NULL, "what", b, sizeof b);
    assert_string_equal(b, "操作失败");
    /* Chinese already: kept */
    zh_error("invalid_field", "username", "请输入用户名", b, sizeof b);
    assert_string_equal(b, "请输入用户名");
    /* a short buffer is cut, never overrun */
    char s[8];
    zh_error("invalid_field", "household.members[2].monthly_income_fen", "must be an integer", s,
             sizeof s);
    assert_true(strlen(s) < sizeof s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_measure_code_has_a_chinese_name),
        cmocka_unit_test(yuan_has_two_decimals_by_integer_arithmetic),
        cmocka_unit_test(times_are_shown_in_utc_plus_8_with_the_zone),
        cmocka_unit_test(errors_are_chinese_and_keep_the_field_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
