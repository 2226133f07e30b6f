"""test_41_dequeue.py — a department's decided referrals leave the queue with a
lookup each (migration 060, issue 19).

aid_apply_decisions records a batch of decisions and deletes the batch's
queue rows. Those rows are found by the queue's keys (department, seq); what
keeps one department's seq from matching another department's row used to be
a semi-join planned as rows × rows comparisons (31,000 for a batch of 250, half
of the function's time). Now it is a filter on the rows found. The test:

- decides 300 civil referrals whose seqs are also those of 300 queued housing
  referrals: every civil row leaves the queue, every housing row stays, each
  decision has its own measures in order and its referral is marked decided;
- reads the plan Postgres ran for the dequeue (auto_explain, this session
  only), with hash and merge joins off — the nested loop a grown database got
  in `make bench` (a fresh one happened to hash): it compares no more rows than
  the batch has (before: ~45,000).

All of it inside a transaction that is rolled back (ids and seqs far above
the stack's own), so the running departments never see these rows.
"""
import re
import time

BASE = 900000000
N = 300


SQL = """
BEGIN;
LOAD 'auto_explain';
SET LOCAL auto_explain.log_min_duration = 0;
SET LOCAL auto_explain.log_analyze = on;
SET LOCAL auto_explain.log_nested_statements = on;
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;
-- civil referrals b+1..b+N and housing referrals 2b+1..2b+N, with the same seqs
INSERT INTO referrals (referral_id, report_id, case_id, department, seq, issued_by)
SELECT %(b)d * d.k + g, %(b)d + g, %(b)d + g, d.name, %(b)d + g, 'test_41'
  FROM generate_series(1, %(n)d) g, (VALUES (1, 'civil'), (2, 'housing')) d(k, name);
INSERT INTO referral_queue (department, seq, referral_id)
SELECT d.name, %(b)d + g, %(b)d * d.k + g
  FROM generate_series(1, %(n)d) g, (VALUES (1, 'civil'), (2, 'housing')) d(k, name);
-- every other referral gets two measures, given in reverse order of ord
SELECT 'made', count(*) FROM aid_apply_decisions(
    ARRAY(SELECT %(b)d + g FROM generate_series(1, %(n)d) g)::bigint[],
    ARRAY(SELECT 'granted' FROM generate_series(1, %(n)d) g)::text[],
    ARRAY(SELECT 'r' || g FROM generate_series(1, %(n)d) g)::text[],
    ARRAY(SELECT 'A1' FROM generate_series(1, %(n)d) g)::text[],
    ARRAY(SELECT %(b)d + g FROM generate_series(1, %(n)d, 2) g, generate_series(2, 1, -1) k)::bigint[],
    ARRAY(SELECT k FROM generate_series(1, %(n)d, 2) g, generate_series(2, 1, -1) k)::int[],
    ARRAY(SELECT 'code' || k FROM generate_series(1, %(n)d, 2) g, generate_series(2, 1, -1) k)::text[],
    ARRAY(SELECT k - 1 FROM generate_series(1, %(n)d, 2) g, generate_series(2, 1, -1) k)::int[],
    ARRAY(SELECT 'm' || k FROM generate_series(1, %(n)d, 2) g, generate_series(2, 1, -1) k)::text[],
    ARRAY(SELECT 100 * k FROM generate_series(1, %(n)d, 2) g, generate_series(2, 1, -1) k)::bigint[],
    ARRAY(SELECT 'month' FROM generate_series(1, %(n)d, 2) g, generate_series(2, 1, -1) k)::text[],
    ARRAY(SELECT 'cash' FROM generate_series(1, %(n)d, 2) g, generate_series(2, 1, -1) k)::text[],
    'civil');
SELECT 'queued', department, count(*) FROM referral_queue WHERE seq > %(b)d
 GROUP BY department ORDER BY department;
SELECT 'status', department, status, count(*) FROM referrals WHERE referral_id > %(b)d
 GROUP BY department, status ORDER BY department, status;
SELECT 'measures', m_code::text, m_person::text, m_amount_fen::text, count(*) FROM decisions
 WHERE referral_id > %(b)d GROUP BY 2, 3, 4 ORDER BY 2;
ROLLBACK;
""" % {"b": BASE, "n": N}


def test_decided_referrals_leave_the_queue_one_lookup_each(h):
    offset = h.log_size("postgres")
    rows = h.psql_script(SQL)
    assert [r[1:] for r in rows if r[0] == "made"] == [[str(N)]], rows
    # civil's rows left the queue; housing's, with the same seqs, stayed
    assert [r[1:] for r in rows if r[0] == "queued"] == [["housing", str(N)]], rows
    assert [r[1:] for r in rows if r[0] == "status"] == [
        ["civil", "granted", str(N)], ["housing", "pending", str(N)]], rows
    # each decision has its own measures, in the order of ord
    assert [r[1:] for r in rows if r[0] == "measures"] == [
        ["{code1,code2}", "{0,1}", "{100,200}", str(N // 2)],
        ["{}", "{}", "{}", str(N // 2)]], rows
    # the dequeue's plan (the last CTE of the function's statement, so up to
    # the next log record) compared no more rows than the batch has
    log = ""
    for _ in range(50):
        log = h.log_since("postgres", offset)
        if "Delete on referral_queue" in log:
            break
        time.sleep(0.1)  # the server writes its log on its own
    at = log.find("Delete on referral_queue")
    assert at >= 0, "no plan of the dequeue logged: %s" % log[-2000:]
    end = re.search(r"\n\d{4}-\d\d-\d\d ", log[at:])
    plan = log[at:at + end.start()] if end else log[at:]
    removed = [int(x) for x in re.findall(r"Rows Removed by Join Filter: (\d+)", plan)]
    assert not removed or max(removed) < N, \
        "the dequeue compared %d rows for a batch of %d:\n%s" % (max(removed), N, plan)
