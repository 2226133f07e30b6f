"""test_45_workdays.py — the p_n-th working day after a day without a day list
when the county calendar has nothing in between (issue 19).

case.get shows the due day of every open review (aid_review_state →
aid_workdays_add(started_on, 20)); the function listed and sorted some 400 days
for each, a quarter of intake's Postgres time per report in `make bench`. Now
it takes the n-th Monday–Friday day after the day and asks the calendar only
whether it lists a day in between. The test, as the owner, in transactions that
are rolled back (the stack's calendar is left as it is):

- with an empty calendar and with one holding a holiday week (春节), a weekday
  holiday and an adjusted Saturday (调休), aid_workdays_add agrees with counting
  the days one by one, for every day of four weeks and n from 0 to 25;
- with an empty calendar, the plan of aid_workdays_add(a Monday, 20), read by
  auto_explain (this session only), runs no generate_series (before: 406 days);
- the functions every case.get calls once per statement (aid_workdays_add,
  aid_case_resolve, aid_case_family) are PL/pgSQL, whose plans the session keeps: as SQL functions
  (not inlined) they were planned again at every call, 0.14–0.28 ms each against
  0.02–0.04 ms.
"""
import re


# the n-th working day after d, one day at a time, next to the function's answer
COMPARE = """
SELECT '%(tag)s', count(*), count(*) FILTER (WHERE got IS DISTINCT FROM want)
  FROM (SELECT aid_workdays_add(d::date, n) AS got,
               CASE WHEN n = 0 THEN d::date ELSE (
                   SELECT x::date FROM generate_series(d + interval '1 day',
                                                       d + interval '500 days',
                                                       interval '1 day') x
                     LEFT JOIN calendar_days c ON c.day = x::date
                    WHERE coalesce(c.kind = 'workday', extract(isodow FROM x) < 6)
                    ORDER BY x OFFSET n - 1 LIMIT 1) END AS want
          FROM generate_series(date '%(first)s', date '%(first)s' + 27, interval '1 day') d,
               generate_series(0, 25) n) t;
"""

SQL = ("BEGIN;\nDELETE FROM calendar_days;\n" + COMPARE % {"tag": "empty", "first": "2026-01-01"}
       + """INSERT INTO calendar_days (day, kind, note, set_by) VALUES
  ('2026-02-16', 'holiday', '', 'test_45'), ('2026-02-17', 'holiday', '', 'test_45'),
  ('2026-02-18', 'holiday', '', 'test_45'), ('2026-02-19', 'holiday', '', 'test_45'),
  ('2026-02-20', 'holiday', '', 'test_45'), ('2026-02-23', 'holiday', '', 'test_45'),
  ('2026-02-14', 'workday', '', 'test_45'), ('2026-03-11', 'holiday', '', 'test_45');
"""
       + COMPARE % {"tag": "calendar", "first": "2026-02-01"}
       + "ROLLBACK;\n")

PLAN = """
BEGIN;
DELETE FROM calendar_days;
LOAD 'auto_explain';
SET LOCAL auto_explain.log_min_duration = 0;
SET LOCAL auto_explain.log_analyze = on;
SET LOCAL auto_explain.log_nested_statements = on;
SELECT 'due', aid_workdays_add('2026-01-05', 20);
ROLLBACK;
"""


def test_workdays_add_agrees_with_counting_day_by_day(h):
    rows = h.psql_script(SQL)
    n = str(28 * 26)
    assert rows == [["empty", n, "0"], ["calendar", n, "0"]], rows


def test_workdays_add_lists_no_days_when_the_calendar_has_none(h):
    offset = h.log_size("postgres")
    rows = h.psql_script(PLAN)
    assert rows == [["due", "2026-02-02"]], rows
    log = h.log_until("postgres", offset, "aid_workdays_add", "Result")
    assert "aid_workdays_add" in log, log[-2000:]
    scans = re.findall(r"Function Scan on generate_series[^\n]*", log)
    ran = [s for s in scans if "never executed" not in s]
    assert not ran, "aid_workdays_add listed days:\n%s" % "\n".join(ran)


def test_case_get_helpers_keep_their_plans(h):
    langs = h.psql("SELECT p.proname, l.lanname FROM pg_proc p JOIN pg_language l"
                   " ON l.oid = p.prolang WHERE p.proname IN"
                   " ('aid_workdays_add', 'aid_case_resolve', 'aid_case_family') ORDER BY 1")
    assert [tuple(r) for r in langs] == [("aid_case_family", "plpgsql"),
                                         ("aid_case_resolve", "plpgsql"),
                                         ("aid_workdays_add", "plpgsql")], langs
