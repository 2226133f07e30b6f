/* test_care.c — unit tests of proto/care.c: the bodies of the care, ledger
 * and supervision operations (proto/CARE.md) and the field each error names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "care.h"
#include "mp.h"

#define TODAY 20261129
#define PERSON "11010519491231002X" /* a valid ID number (GB 11643 example) */

/* A body from "key", kind, value triples ending with NULL: kind 's' text,
 * 'i' integer, 'b' boolean. Unpacked into u (destroy it after). */
static const msgpack_object *body(msgpack_unpacked *u, msgpack_sbuffer *sb, ...)
{
    va_list ap;
    int n = 0;
    va_start(ap, sb);
    while (va_arg(ap, const char *)) {
        int kind = va_arg(ap, int);
        if (kind == 's')
            (void)va_arg(ap, const char *);
        else
            (void)va_arg(ap, long long);
        n++;
    }
    va_end(ap);
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (size_t)n);
    va_start(ap, sb);
    const char *key;
    while ((key = va_arg(ap, const char *))) {
        int kind = va_arg(ap, int);
        mp_pack_str(&pk, key);
        if (kind == 's') {
            mp_pack_str(&pk, va_arg(ap, const char *));
        } else {
            long long v = va_arg(ap, long long);
            if (kind == 'b')
                v ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
            else
                msgpack_pack_int64(&pk, v);
        }
    }
    va_end(ap);
    msgpack_unpacked_init(u);
    assert_int_equal(mp_unpack(sb->data, sb->size, u), MP_OK);
    return &u->data;
}

#define S(k, v) k, 's', (const char *)(v)
#define I(k, v) k, 'i', (long long)(v)
#define B(k, v) k, 'b', (long long)(v)

static void done(msgpack_unpacked *u, msgpack_sbuffer *sb)
{
    msgpack_unpacked_destroy(u);
    msgpack_sbuffer_destroy(sb);
}

static void test_month_parse(void **state)
{
    (void)state;
    assert_int_equal(care_month_parse("2026-11"), 20261101);
    assert_int_equal(care_month_parse("1800-01"), 18000101);
    const char *bad[] = {"2026-13", "2026-00", "2026-1", "202611", "2026/11", "2026-11-01",
                         "", "abcd-ef", "1799-12", "2026-1a", " 2026-11"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(care_month_parse(bad[i]), 0);
}

static void test_tracking_valid(void **state)
{
    (void)state;
    assert_true(care_tracking_valid("TS202611-000123"));
    assert_true(care_tracking_valid("TS202611-1234567"));
    const char *bad[] = {"TS202611-00012", "TS202613-000123", "ts202611-000123", "TS202611000123",
                         "TS2026-11-00012", "TS202611-00012a", "", "TS202611-12345678901"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(care_tracking_valid(bad[i]));
}

static void test_visit_decode(void **state)
{
    (void)state;
    msgpack_unpacked u;
    msgpack_sbuffer sb;
    schema_err_t e;
    care_visit_t v;
    const msgpack_object *o = body(&u, &sb, S("id_number", PERSON), S("visited_on", "2026-11-20"),
                                   S("visitor", "李"), S("living", "critical"), B("symptoms", 1),
                                   NULL);
    assert_int_equal(care_visit_decode(o, TODAY, &v, &e), 0);
    assert_string_equal(v.id_number, PERSON);
    assert_int_equal(v.visited_on, 20261120);
    assert_int_equal(v.method, VISIT_METHOD_HOME);
    assert_int_equal(v.living, LIVING_CRITICAL);
    assert_true(v.symptoms);
    done(&u, &sb);
    struct {
        const char *key, *value, *field;
    } bad[] = {
        {"visited_on", "2026-11-30", "visited_on"}, /* tomorrow */
        {"visitor", "", "visitor"},
        {"method", "email", "method"},
        {"living", "good", "living"},
        {"id_number", "110105194912310021", "id_number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *id = strcmp(bad[i].key, "id_number") ? PERSON : bad[i].value;
        const char *on = strcmp(bad[i].key, "visited_on") ? "2026-11-20" : bad[i].value;
        const char *who = strcmp(bad[i].key, "visitor") ? "李" : bad[i].value;
        const char *k = strcmp(bad[i].key, "method") && strcmp(bad[i].key, "living") ? "needs"
                                                                                       : bad[i].key;
        const char *val = k == bad[i].key ? bad[i].value : "";
        o = body(&u, &sb, S("id_number", id), S("visited_on", on), S("visitor", who), S(k, val),
                 NULL);
        assert_int_equal(care_visit_decode(o, TODAY, &v, &e), -1);
        assert_string_equal(e.field, bad[i].field);
        done(&u, &sb);
    }
    assert_int_equal(care_visit_decode(NULL, TODAY, &v, &e), -1);
    assert_string_equal(e.field, "body");
}

static void test_score_decode(void **state)
{
    (void)state;
    msgpack_unpacked u;
    msgpack_sbuffer sb;
    schema_err_t e;
    care_score_t s;
    const msgpack_object *o = body(&u, &sb, S("id_number", PERSON), S("month", "2026-11"),
                                   S("caregiver", "张"), I("score", 59), NULL);
    assert_int_equal(care_score_decode(o, TODAY, &s, &e), 0);
    assert_int_equal(s.month_first, 20261101);
    assert_int_equal(s.score, 59);
    done(&u, &sb);
    struct {
        const char *month;
        long long score;
        const char *field;
    } bad[] = {{"2026-12", 50, "month"}, {"2026-13", 50, "month"}, {"26-11", 50, "month"},
               {"2026-11", 101, "score"}, {"2026-11", -1, "score"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = body(&u, &sb, S("id_number", PERSON), S("month", bad[i].month), S("caregiver", "张"),
                 I("score", bad[i].score), NULL);
        assert_int_equal(care_score_decode(o, TODAY, &s, &e), -1);
        assert_string_equal(e.field, bad[i].field);
        done(&u, &sb);
    }
}

static void test_month_queries(void **state)
{
    (void)state;
    msgpack_unpacked u;
    msgpack_sbuffer sb;
    schema_err_t e;
    care_month_query_t q;
    const msgpack_object *o = body(&u, &sb, S("month", "2026-10"), NULL);
    assert_int_equal(care_ledger_decode(o, &q, &e), 0);
    assert_int_equal(q.month_first, 20261001);
    assert_string_equal(q.township, "");
    done(&u, &sb);
    o = body(&u, &sb, S("month", "2026-10"), S("township", "52012310"), NULL);
    assert_int_equal(care_ledger_decode(o, &q, &e), -1);
    assert_string_equal(e.field, "township");
    done(&u, &sb);
    o = body(&u, &sb, S("village", "520123101001"), S("month", "2026-1"), NULL);
    assert_int_equal(care_disclosure_decode(o, &q, &e), -1);
    assert_string_equal(e.field, "month");
    done(&u, &sb);
    o = body(&u, &sb, S("month", "2026-11"), S("township", "520123101"), S("by", ""), NULL);
    assert_int_equal(care_ledger_submit_decode(o, TODAY, &q, &e), -1);
    assert_string_equal(e.field, "by");
    done(&u, &sb);
}

static void test_complaints(void **state)
{
    (void)state;
    msgpack_unpacked u;
    msgpack_sbuffer sb;
    schema_err_t e;
    care_complaint_t c;
    const msgpack_object *o = body(&u, &sb, S("channel", "online"), S("text", "t"),
                                   S("case_id", "case-42"), NULL);
    assert_int_equal(care_complaint_decode(o, &c, &e), 0);
    assert_int_equal(c.channel, CHANNEL_ONLINE);
    assert_int_equal(c.case_num, 42);
    done(&u, &sb);
    const char *bad_cases[] = {"42", "case-", "case-0", "case-x1", "case-1234567890123456789"};
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        o = body(&u, &sb, S("channel", "online"), S("text", "t"), S("case_id", bad_cases[i]), NULL);
        assert_int_equal(care_complaint_decode(o, &c, &e), -1);
        assert_string_equal(e.field, "case_id");
        done(&u, &sb);
    }
    care_complaint_step_t q;
    o = body(&u, &sb, S("tracking_no", "TS202611-000001"), S("status", "resolved"), S("by", "x"),
             NULL);
    assert_int_equal(care_complaint_update_decode(o, &q, &e), 0);
    assert_int_equal(q.status, COMPLAINT_RESOLVED);
    done(&u, &sb);
    o = body(&u, &sb, S("tracking_no", "TS202611-000001"), S("status", "registered"), S("by", "x"),
             NULL);
    assert_int_equal(care_complaint_update_decode(o, &q, &e), -1);
    assert_string_equal(e.field, "status");
    done(&u, &sb);
}

/* The reach fields (issue 14): township on complaints, move.queue and
 * move.decide. */
static void test_reach_bodies(void **state)
{
    (void)state;
    msgpack_unpacked u;
    msgpack_sbuffer sb;
    schema_err_t e;
    care_complaint_step_t q;
    const msgpack_object *o = body(&u, &sb, S("tracking_no", "TS202611-000001"),
                                   S("township", "520123102"), NULL);
    assert_int_equal(care_complaint_get_decode(o, &q, &e), 0);
    assert_string_equal(q.township, "520123102");
    done(&u, &sb);
    o = body(&u, &sb, S("tracking_no", "TS202611-000001"), S("township", "52012310"), NULL);
    assert_int_equal(care_complaint_get_decode(o, &q, &e), -1);
    assert_string_equal(e.field, "township");
    done(&u, &sb);
    care_move_t m;
    assert_int_equal(care_move_queue_decode(NULL, &m, &e), 0);
    assert_string_equal(m.township, "");
    o = body(&u, &sb, S("move_id", "move-17"), S("decision", "reject"), S("by", "x"),
             S("township", "520123101"), NULL);
    assert_int_equal(care_move_decide_decode(o, &m, &e), 0);
    assert_int_equal(m.move_num, 17);
    assert_int_equal(m.decision, MOVE_REJECT);
    assert_string_equal(m.township, "520123101");
    done(&u, &sb);
    const char *bad[] = {"17", "move-", "move-0", "move-1x", "case-17", "move-1234567890123456789"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = body(&u, &sb, S("move_id", bad[i]), S("decision", "confirm"), S("by", "x"), NULL);
        assert_int_equal(care_move_decide_decode(o, &m, &e), -1);
        assert_string_equal(e.field, "move_id");
        done(&u, &sb);
    }
    o = body(&u, &sb, S("move_id", "move-1"), S("decision", "confirm"), S("by", ""), NULL);
    assert_int_equal(care_move_decide_decode(o, &m, &e), -1);
    assert_string_equal(e.field, "by");
    done(&u, &sb);
    o = body(&u, &sb, S("move_id", "move-1"), S("decision", "maybe"), S("by", "x"), NULL);
    assert_int_equal(care_move_decide_decode(o, &m, &e), -1);
    assert_string_equal(e.field, "decision");
    done(&u, &sb);
}

static void test_overdue_defaults(void **state)
{
    (void)state;
    schema_err_t e;
    care_overdue_t q;
    assert_int_equal(care_overdue_decode(NULL, TODAY, &q, &e), 0);
    assert_int_equal(q.as_of, TODAY);
    assert_string_equal(q.township, "");
    care_visits_due_t d;
    msgpack_unpacked u;
    msgpack_sbuffer sb;
    const msgpack_object *o = body(&u, &sb, S("township", "520123101"), NULL);
    assert_int_equal(care_visits_due_decode(o, 20261231, &d, &e), 0);
    assert_int_equal(d.before, 20270101); /* tomorrow, across the year's end */
    done(&u, &sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_month_parse),     cmocka_unit_test(test_tracking_valid),
        cmocka_unit_test(test_visit_decode),    cmocka_unit_test(test_score_decode),
        cmocka_unit_test(test_month_queries),   cmocka_unit_test(test_complaints),
        cmocka_unit_test(test_overdue_defaults), cmocka_unit_test(test_reach_bodies),
    };
    return cmocka_run_group_tests_name("test_care", tests, NULL, NULL);
}
