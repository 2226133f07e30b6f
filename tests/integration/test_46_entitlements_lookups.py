"""test_46_entitlements_lookups.py — starting a decision's entitlements looks
entitlements up by index, not by reading the whole table (migration 121, issue 19).

aid_entitlements_start (the benefits sweep, once per granted civil decision)
asked three questions of every entitlement of the county: is a later decision
already holding these kinds (case OR subject IN (a subquery): no index can
answer a hashed subplan), is this person dead (end_reason = 'death': no
index), which of them end now (the same OR). In `make bench` that was 12 ms a
decision with 22,000 entitlements, the largest CPU user of the whole pipeline,
and it grows with the county. Now the subjects are an array (= ANY, an index
condition) and the deaths have a partial index.

The test, as the owner in a transaction that is rolled back: a case, a report,
a granted civil decision with a monthly dibao supplement, then
aid_entitlements_start among 5,000 other households' entitlements (analyzed:
the plans are chosen by cost) with auto_explain on: the entitlement is started and no plan
read entitlements sequentially.
"""
import re

BASE = 920000000


SQL = """
BEGIN;
INSERT INTO cases (case_id) VALUES (%(b)d);
INSERT INTO reports (report_id, case_id, request_id, source, as_of, township, village,
                     urgent, body)
VALUES (%(b)d, %(b)d, 'test_46-%(b)d', 'test_46', '2026-03-01', '330102001',
        '330102001001', false, '\\x80');
INSERT INTO referrals (referral_id, report_id, case_id, department, seq, issued_by)
VALUES (%(b)d, %(b)d, %(b)d, 'civil', %(b)d, 'test_46');
SELECT 'decided', count(*) FROM aid_apply_decisions(
    ARRAY[%(b)d]::bigint[], ARRAY['granted'], ARRAY['a'], ARRAY['R-DIBAO-SUP-A'],
    ARRAY[%(b)d]::bigint[], ARRAY[1], ARRAY['civil.dibao_supplement'], ARRAY[NULL]::int[],
    ARRAY[NULL], ARRAY[31500]::bigint[], ARRAY['month'], ARRAY['cash'], 'civil');
-- a county's worth of other households' entitlements, and their statistics (the
-- plans are chosen by cost: a nearly empty table is rightly read whole)
INSERT INTO cases (case_id) SELECT %(b)d + g FROM generate_series(1, 5000) g;
INSERT INTO entitlements (case_id, subject, kind, amount_fen, first_month, referral_id,
                          report_id, rules)
SELECT %(b)d + g, int8send(%(b)d + g), 'dibao_supplement', 100, '2026-01-01', %(b)d,
       %(b)d, '{}'
  FROM generate_series(1, 5000) g;
ANALYZE entitlements;
LOAD 'auto_explain';
SET LOCAL auto_explain.log_min_duration = 0;
SET LOCAL auto_explain.log_nested_statements = on;
SELECT 'started', aid_entitlements_start(%(b)d);
SELECT 'marker_test_46_end';
ROLLBACK;
""" % {"b": BASE}


def test_starting_entitlements_reads_no_whole_table(h):
    offset = h.log_size("postgres")
    rows = h.psql_script(SQL)
    assert rows == [["decided", "1"], ["started", "1"], ["marker_test_46_end"]], rows
    log = h.log_until("postgres", offset, "marker_test_46_end")
    # only this session logs plans; the three questions, each by the case or the
    # subject (an index condition, not a filter on every row)
    asked = 0
    for block in log.split(" plan:")[1:]:
        if not ("e.report_id > v_report" in block or "UPDATE entitlements e" in block
                or "e.end_reason = 'death'" in block):
            continue
        asked += 1
        lines = block.splitlines()
        for i, line in enumerate(lines):
            if not re.search(r"Scan .*\bon entitlements e\b", line):
                continue
            props = []
            for nxt in lines[i + 1:]:
                if "->" in nxt:
                    break
                props.append(nxt)
            # by the case or the subject, or through the partial index of the deaths
            # (an index scan of it, or a bitmap scan whose recheck is its predicate:
            # which of the two depends on the statistics)
            assert "entitlements_deaths" in line or any(
                ("Index Cond" in p or "Recheck Cond" in p) and
                ("case_id" in p or "subject" in p) for p in props) or any(
                "Recheck Cond: (end_reason = 'death'::text)" in p for p in props), \
                "entitlements read whole:\n%s" % block[:3000]
    assert asked == 3, log[-3000:]


BATCH_BASE = 925000000
PERSONS = 20000

BATCH_SQL = """
BEGIN;
SELECT 'locked', count(*) FROM (SELECT low FROM entitlement_sweep FOR UPDATE) w;
INSERT INTO cases (case_id) VALUES (%(b)d);
INSERT INTO reports (report_id, case_id, request_id, source, as_of, township, village,
                     urgent, body)
VALUES (%(b)d, %(b)d, 'test_46-%(b)d', 'test_46', '2026-03-01', '330102001',
        '330102001001', false, '\\x80');
-- the decision's person, and a county's worth of other reports' persons (analysed:
-- the plans are chosen by cost)
INSERT INTO assessed_persons (report_id, idx, id_hash, name, age, groups, supplement_fen,
                              visit_every, care_category)
SELECT %(b)d + g, 0, sha256(int8send(%(b)d + g)), 'p', 80, '{}', 0, 'none', 0
  FROM generate_series(0, %(n)d) g;
ANALYZE assessed_persons;
INSERT INTO referrals (referral_id, report_id, case_id, department, seq, issued_by)
VALUES (%(b)d, %(b)d, %(b)d, 'civil', %(b)d, 'test_46');
SELECT 'decided', count(*) FROM aid_apply_decisions(
    ARRAY[%(b)d]::bigint[], ARRAY['granted'], ARRAY['a'], ARRAY['R-TEKUN-CARE'],
    ARRAY[%(b)d]::bigint[], ARRAY[1], ARRAY['civil.tekun_care'], ARRAY[0],
    ARRAY['330102********0011'], ARRAY[42000]::bigint[], ARRAY['month'], ARRAY['cash'],
    'civil');
LOAD 'auto_explain';
SET LOCAL auto_explain.log_min_duration = 0;
SET LOCAL auto_explain.log_analyze = on;
SET LOCAL auto_explain.log_nested_statements = on;
SELECT 'started', aid_entitlements_start_batch(ARRAY[%(b)d]::bigint[], 1);
SELECT 'marker_test_46_batch_end';
SELECT 'person', count(*) FROM entitlements
 WHERE referral_id = %(b)d AND id_hash = sha256(int8send(%(b)d::bigint)) AND kind = 'care_allowance';
ROLLBACK;
""" % {"b": BATCH_BASE, "n": PERSONS}


def test_a_batch_start_finds_each_measures_person_by_key(h):
    """The batch start reads each measure's person by (report, idx): its work table
    has no statistics (planned as ~900 decisions), and as a join the few decisions of
    a sweep got a hash of every assessed person of the county (100 ms a sweep at
    180,000 persons in `make bench`, growing every month)."""
    offset = h.log_size("postgres")
    rows = h.psql_script(BATCH_SQL, timeout=180)
    assert [r for r in rows if r[0] in ("decided", "started", "person")] == [
        ["decided", "1"], ["started", "1"], ["person", "1"]], rows
    log = h.log_until("postgres", offset, "marker_test_46_batch_end")
    assert "marker_test_46_batch_end" in log, log[-2000:]
    log = log[:log.find("marker_test_46_batch_end")]
    # every scan of assessed_persons in the plans the batch ran (ANALYZE's own
    # statement is not among them) returned at most the one person
    seen = 0
    for m in re.finditer(r"Scan[^(\n]* on assessed_persons\b[^\n]*"
                         r"actual time=[0-9.]+\.\.[0-9.]+ rows=(\d+) loops=(\d+)", log):
        seen += 1
        assert int(m.group(1)) * int(m.group(2)) <= 1, \
            "assessed persons read whole:\n%s" % log[max(0, m.start() - 3000):m.end() + 500]
    assert seen >= 1, log[-3000:]
