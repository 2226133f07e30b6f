"""test_47_entitlements_batch.py — the benefits sweep starts a batch of decisions'
entitlements set-based, with the same result as one decision at a time (issue 19).

The sweep called aid_entitlements_start once per granted civil decision, about a
dozen statements each: in `make bench` the largest CPU user outside the report's
path, one backend busy for seconds after every burst. aid_entitlements_start_batch
inserts the first grants of a batch (a case no other decision of the batch touches,
persons no other one names, nothing held yet by the case or its persons) in a few
statements, and leaves every other decision to aid_entitlements_start, oldest
report first.

The test, as the owner in one transaction that is rolled back (ids far above the
stack's own; the sweep's watermark row locked, so the stack's own sweep waits):
thirteen granted civil decisions of every shape — five first grants (a household
supplement, a person's care allowance, a dibao allowance with a supplement, one
with no monthly cash measure at all), a case whose supplement changes, a case with
two reports in the batch, one person in two cases' decisions (a move), a person
whose entitlements a death ended, an unchanged entitlement, a person's
allowance the case held and its new decision no longer names — started once one
decision at a time and once as one batch, from the same state. The entitlements
and the started counts agree row for row; the batch called aid_entitlements_start
for exactly the eight decisions that are not first grants; a call capped at three of
them handles the first grants and the three oldest others, and leaves the rest.
"""

BASE = 930000000

SETUP = """
BEGIN;
SET LOCAL track_functions = 'pl';
SELECT 'locked', count(*) FROM (SELECT low FROM entitlement_sweep FOR UPDATE) w;
-- cases 1..12; report and referral k for case k, except: report 8 is case 7's
-- second report, report 10 is case 9's neighbour (case 10) naming the same person
INSERT INTO cases (case_id) SELECT %(b)d + k FROM generate_series(1, 13) k;
INSERT INTO reports (report_id, case_id, request_id, source, as_of, township, village,
                     urgent, body)
SELECT %(b)d + k, %(b)d + CASE k WHEN 8 THEN 7 ELSE k END, 'test_47-' || k, 'test_47',
       CASE k WHEN 8 THEN '2026-04-10' ELSE '2026-03-01' END::date, '330102001',
       '330102001001', false, '\\x80'
  FROM generate_series(1, 13) k;
INSERT INTO referrals (referral_id, report_id, case_id, department, seq, issued_by)
SELECT r.report_id, r.report_id, r.case_id, 'civil', r.report_id, 'test_47'
  FROM reports r WHERE r.report_id BETWEEN %(b)d + 1 AND %(b)d + 13;
-- persons: idx 1 of reports 2, 4, 9, 10, 11 (9 and 10 the same person)
INSERT INTO assessed_persons (report_id, idx, name, age, groups, supplement_fen,
                              visit_every, care_category, id_hash)
SELECT %(b)d + k, 1, 'x', 70, '{}', 0, 'none', 0,
       sha256(convert_to('test_47-person-' || CASE k WHEN 10 THEN 9 ELSE k END, 'UTF8'))
  FROM unnest(ARRAY[2, 4, 9, 10, 11]) k;
-- what some cases held before: case 6 a supplement of 100, case 12 one of 31500
-- (unchanged by its decision), person 11 a care allowance a death ended
INSERT INTO entitlements (case_id, id_hash, subject, id_masked, kind, amount_fen,
                          first_month, last_month, referral_id, report_id, rules,
                          ended_by, end_reason)
VALUES (%(b)d + 6, NULL, int8send(%(b)d + 6), NULL, 'dibao_supplement', 100,
        '2025-06-01', NULL, %(b)d - 906, %(b)d - 906, '{}', NULL, NULL),
       (%(b)d + 12, NULL, int8send(%(b)d + 12), NULL, 'dibao_supplement', 31500,
        '2025-06-01', NULL, %(b)d - 912, %(b)d - 912, '{}', NULL, NULL),
       (%(b)d + 11, sha256(convert_to('test_47-person-11', 'UTF8')),
        sha256(convert_to('test_47-person-11', 'UTF8')), '330102****0011', 'care_allowance',
        5000, '2025-06-01', '2025-12-01', %(b)d - 911, %(b)d - 911, '{}', %(b)d - 911,
        'death'),
       (%(b)d + 13, sha256(convert_to('test_47-person-13', 'UTF8')),
        sha256(convert_to('test_47-person-13', 'UTF8')), '330102****0013', 'care_allowance',
        5000, '2025-06-01', NULL, %(b)d - 913, %(b)d - 913, '{}', NULL, NULL);
SELECT 'decided', count(*) FROM aid_apply_decisions(
    ARRAY(SELECT %(b)d + k FROM generate_series(1, 13) k WHERE k <> 5)::bigint[],
    array_fill('granted'::text, ARRAY[12]), array_fill('t'::text, ARRAY[12]),
    array_fill('R-DIBAO-SUP-A'::text, ARRAY[12]),
    ARRAY[%(b)d + 1, %(b)d + 2, %(b)d + 3, %(b)d + 3, %(b)d + 4, %(b)d + 6, %(b)d + 7,
          %(b)d + 8, %(b)d + 9, %(b)d + 10, %(b)d + 11, %(b)d + 12, %(b)d + 13]::bigint[],
    ARRAY[1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    ARRAY['civil.dibao_supplement', 'civil.tekun_care', 'civil.dibao_grant',
          'civil.dibao_supplement', 'civil.dibao_supplement', 'civil.dibao_supplement',
          'civil.dibao_supplement', 'civil.dibao_supplement', 'civil.tekun_care',
          'civil.tekun_care', 'civil.tekun_care', 'civil.dibao_supplement',
          'civil.dibao_supplement'],
    ARRAY[NULL, 1, NULL, NULL, 1, NULL, NULL, NULL, 1, 1, 1, NULL, NULL]::int[],
    ARRAY[NULL, '330102****0002', NULL, NULL, '330102****0004', NULL, NULL, NULL,
          '330102****0009', '330102****0009', '330102****0011', NULL, NULL],
    ARRAY[31500, 5000, 60000, 20000, 12000, 200, 100, 300, 5000, 6000, 5000,
          31500, 7000]::bigint[],
    array_fill('month'::text, ARRAY[13]), array_fill('cash'::text, ARRAY[13]), 'civil');
-- report 5's only measure is not a monthly cash one: no entitlement, still started
SELECT 'decided', count(*) FROM aid_apply_decisions(
    ARRAY[%(b)d + 5]::bigint[], ARRAY['granted'], ARRAY['t'], ARRAY['R-DIBAO-SUP-A'],
    ARRAY[%(b)d + 5]::bigint[], ARRAY[1], ARRAY['civil.dibao_supplement'],
    ARRAY[NULL]::int[], ARRAY[NULL], ARRAY[900]::bigint[], ARRAY['once'], ARRAY['cash'],
    'civil');
"""

SNAPSHOT = """
SELECT 'ent', case_id - %(b)d, encode(subject, 'hex'), id_masked, kind, amount_fen,
       first_month, last_month, referral_id - %(b)d, report_id - %(b)d, rules::text,
       coalesce(ended_by - %(b)d, 0), end_reason, end_rules::text
  FROM entitlements WHERE case_id BETWEEN %(b)d - 999 AND %(b)d + 99 ORDER BY 2, 3, 5, 7, 9;
SELECT 'src', referral_id - %(b)d, started FROM entitlement_sources
 WHERE referral_id BETWEEN %(b)d - 999 AND %(b)d + 99 ORDER BY 2;
SELECT 'calls', coalesce((SELECT s.calls FROM pg_stat_xact_user_functions s
                           WHERE s.funcname = 'aid_entitlements_start'), 0);
"""

SQL = SETUP + """
SAVEPOINT one_by_one;
SELECT 'one', count(aid_entitlements_start(r.referral_id)) FROM (
    SELECT referral_id FROM referrals WHERE referral_id BETWEEN %(b)d + 1 AND %(b)d + 13
     ORDER BY report_id, referral_id) r;
""" + SNAPSHOT.replace("'ent'", "'ent1'").replace("'src'", "'src1'").replace(
    "'calls'", "'calls1'") + """
ROLLBACK TO SAVEPOINT one_by_one;
SELECT 'batch', aid_entitlements_start_batch(
    ARRAY(SELECT %(b)d + k FROM generate_series(1, 13) k)::bigint[], 100);
""" + SNAPSHOT + """
-- at most three of the others in one call: the five first grants and the three
-- oldest others are handled, the five newest others wait for the next call
ROLLBACK TO SAVEPOINT one_by_one;
SELECT 'capped', aid_entitlements_start_batch(
    ARRAY(SELECT %(b)d + k FROM generate_series(1, 13) k)::bigint[], 3);
SELECT 'capped_src', string_agg((referral_id - %(b)d)::text, ',' ORDER BY referral_id)
  FROM entitlement_sources WHERE referral_id BETWEEN %(b)d AND %(b)d + 99;
ROLLBACK;
"""


def test_a_batch_starts_what_one_at_a_time_starts(h):
    rows = h.psql_script(SQL % {"b": BASE})
    assert [r[1] for r in rows if r[0] == "decided"] == ["12", "1"], rows
    assert [r[1] for r in rows if r[0] == "one"] == ["13"], rows
    one = [r[1:] for r in rows if r[0] == "ent1"]
    batch = [r[1:] for r in rows if r[0] == "ent"]
    assert batch == one, "\n".join(map(str, one)) + "\n--\n" + "\n".join(map(str, batch))
    assert [r[1:] for r in rows if r[0] == "src"] == [r[1:] for r in rows if r[0] == "src1"]
    # the shapes are what they are meant to be: first grants inserted, case 6's
    # supplement superseded, case 7's second report ending its first, the moved
    # person's care allowance under case 10, nothing new for the dead person,
    # case 12's supplement running on, case 13's person's allowance ended
    by_case = {}  # case: [subject, masked, kind, amount, first, last, referral, report,
    for r in batch:  # rules, ended_by, end_reason, end_rules]
        by_case.setdefault(int(r[0]), []).append(r[1:])
    assert [(r[2], r[3], r[4], r[5]) for r in by_case[1]] == [
        ("dibao_supplement", "31500", "2026-04-01", "")]
    assert sorted((r[2], r[3]) for r in by_case[3]) == [
        ("dibao_allowance", "60000"), ("dibao_supplement", "20000")]
    assert 5 not in by_case
    assert sorted((r[3], r[4], r[5], r[10]) for r in by_case[6]) == [
        ("100", "2025-06-01", "2026-03-01", "superseded"), ("200", "2026-04-01", "", "")]
    assert sorted((r[3], r[4], r[5], r[10]) for r in by_case[7]) == [
        ("100", "2026-04-01", "2026-04-01", "superseded"), ("300", "2026-05-01", "", "")]
    assert [(r[3], r[5], r[10]) for r in by_case[9]] == [("5000", "2026-03-01", "moved")]
    assert [(r[3], r[5]) for r in by_case[10]] == [("6000", "")]
    assert [(r[3], r[10]) for r in by_case[11]] == [("5000", "death")]
    assert [(r[3], r[6], r[5]) for r in by_case[12]] == [("31500", "-912", "")]
    assert sorted((r[2], r[3], r[5], r[10]) for r in by_case[13]) == [
        ("care_allowance", "5000", "2026-03-01", "ended"), ("dibao_supplement", "7000", "", "")]
    assert [r[1:] for r in rows if r[0] == "src"] == [
        ["1", "1"], ["2", "1"], ["3", "2"], ["4", "1"], ["5", "0"], ["6", "1"], ["7", "1"],
        ["8", "1"], ["9", "1"], ["10", "1"], ["11", "0"], ["12", "0"], ["13", "1"]]
    # the batch: aid_entitlements_start only for the eight that are not first grants
    calls1 = int([r[1] for r in rows if r[0] == "calls1"][0])
    calls = int([r[1] for r in rows if r[0] == "calls"][0])
    assert calls1 == 13, rows
    assert calls - calls1 == 8, rows
    # a call handles at most p_others of the others, oldest report first (6, 7, 8)
    assert [r[1] for r in rows if r[0] == "capped"] == ["8"], rows
    assert [r[1] for r in rows if r[0] == "capped_src"] == ["1,2,3,4,5,6,7,8"], rows


# The sweep's watermark is exact: it rises to the oldest civil referral still
# pending when the sweep looked, or just past the newest one when none is, and
# a referral pending then is started by a later sweep once it is granted.
# (Its old form stayed 20,000 ids below the newest referral whatever was
# settled, and read them all again on every call.) Ids far above the stack's,
# as above; the stack's own sweep waits on the locked row.
WATERMARK = """
BEGIN;
SELECT 'locked', count(*) FROM (SELECT low FROM entitlement_sweep FOR UPDATE) w;
UPDATE entitlement_sweep SET low = %(b)d + 100;
INSERT INTO cases (case_id) SELECT %(b)d + k FROM generate_series(101, 103) k;
INSERT INTO reports (report_id, case_id, request_id, source, as_of, township, village,
                     urgent, body)
SELECT %(b)d + k, %(b)d + k, 'test_47-w' || k, 'test_47', '2026-03-01', '330102001',
       '330102001001', false, '\\x80'
  FROM generate_series(101, 103) k;
INSERT INTO referrals (referral_id, report_id, case_id, department, seq, issued_by)
SELECT %(b)d + k, %(b)d + k, %(b)d + k, 'civil', %(b)d + k, 'test_47'
  FROM generate_series(101, 103) k;
SELECT 'decided', count(*) FROM aid_apply_decisions(
    ARRAY[%(b)d + 101, %(b)d + 103]::bigint[], ARRAY['granted', 'granted'],
    ARRAY['t', 't'], ARRAY['R-DIBAO-SUP-A', 'R-DIBAO-SUP-A'],
    ARRAY[%(b)d + 101, %(b)d + 103]::bigint[], ARRAY[1, 1],
    ARRAY['civil.dibao_supplement', 'civil.dibao_supplement'], ARRAY[NULL, NULL]::int[],
    ARRAY[NULL, NULL], ARRAY[100, 300]::bigint[], ARRAY['month', 'month'],
    ARRAY['cash', 'cash'], 'civil');
SELECT 'sweep1', handled, more FROM aid_entitlements_sweep(100);
SELECT 'low1', low - %(b)d FROM entitlement_sweep;
SELECT 'decided', count(*) FROM aid_apply_decisions(
    ARRAY[%(b)d + 102]::bigint[], ARRAY['granted'], ARRAY['t'], ARRAY['R-DIBAO-SUP-A'],
    ARRAY[%(b)d + 102]::bigint[], ARRAY[1], ARRAY['civil.dibao_supplement'],
    ARRAY[NULL]::int[], ARRAY[NULL], ARRAY[200]::bigint[], ARRAY['month'], ARRAY['cash'],
    'civil');
SELECT 'sweep2', handled, more FROM aid_entitlements_sweep(100);
SELECT 'low2', low - %(b)d FROM entitlement_sweep;
SELECT 'sweep3', handled, more FROM aid_entitlements_sweep(100);
SELECT 'low3', low - %(b)d FROM entitlement_sweep;
SELECT 'src', string_agg((referral_id - %(b)d)::text, ',' ORDER BY referral_id)
  FROM entitlement_sources WHERE referral_id BETWEEN %(b)d + 101 AND %(b)d + 103;
ROLLBACK;
"""


def test_the_sweeps_watermark_is_exact(h):
    rows = {r[0]: r[1:] for r in h.psql_script(WATERMARK % {"b": BASE}) if r[0] != "decided"}
    assert rows["sweep1"] == ["2", "f"], rows  # 101 and 103; 102 is pending
    assert rows["low1"] == ["102"], rows       # at the pending one, not below the newest
    assert rows["sweep2"] == ["1", "f"], rows  # 102, granted since
    assert rows["low2"] == ["104"], rows       # past the newest: nothing is pending
    assert rows["sweep3"] == ["0", "f"], rows
    assert rows["low3"] == ["104"], rows
    assert rows["src"] == ["101,102,103"], rows


WORK_TABLES = """
SELECT aid_entitlements_start_batch('{}', 0);
SELECT 'batch1', 'pg_temp.ent_refs'::regclass::oid, 'pg_temp.ent_rows'::regclass::oid;
SELECT aid_entitlements_start_batch('{}', 0);
SELECT 'batch2', 'pg_temp.ent_refs'::regclass::oid, 'pg_temp.ent_rows'::regclass::oid;
SELECT aid_work_table('t47_work', 'a int, b text');
INSERT INTO t47_work VALUES (1, 'x'), (2, 'y');
SELECT 'after_commit', count(*), 't47_work'::regclass::oid FROM t47_work;
BEGIN;
INSERT INTO t47_work VALUES (3, 'z');
SELECT 'inside', count(*) FROM t47_work;
SELECT aid_work_table('t47_work', 'a int, b text');
SELECT 'emptied', count(*), 't47_work'::regclass::oid FROM t47_work;
COMMIT;
BEGIN;
SELECT aid_work_table('t47_work', 'a int, b text, c int');
INSERT INTO t47_work (a, c) VALUES (1, 7);
SELECT 'remade', count(*), 't47_work'::regclass::oid FROM t47_work;
COMMIT;
"""


def test_work_tables_are_made_once_a_session_and_emptied(h):
    """The sweep's work tables live as long as the session (no catalog rows written and
    removed at every call), are empty whenever a caller takes one and after every
    commit, and are made again when their columns change (an upgraded function in a
    session that outlived it)."""
    rows = h.psql_script(WORK_TABLES)
    by = {}
    for r in rows:
        if len(r) > 1:
            by[r[0]] = r[1:]
    assert by["batch1"] == by["batch2"], by      # the same tables, not new ones
    assert by["after_commit"][0] == "0", by      # each statement its own transaction
    assert by["inside"] == ["1"], by
    assert by["emptied"][0] == "0", by
    assert by["emptied"][1] == by["after_commit"][1], by
    assert by["remade"][0] == "1", by
    assert by["remade"][1] != by["emptied"][1], by
