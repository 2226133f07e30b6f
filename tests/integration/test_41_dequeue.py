"""test_41_dequeue.py — a department's decided referrals leave the queue with a
lookup each (migration 060, issue 19), and its claim reads no more of the queue
than it takes.

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
  the batch has (before: ~45,000);
- with a backlog of BACKLOG more civil referrals queued behind them, the dequeue
  and then a claim of CLAIM rows (aid_dept_claim, as the civil role) each read
  at most their own rows of the queue. Both plans are generic (made once, for
  any department and any depth); made from statistics that said the queue was
  nearly empty, they read every queued row of the department (a bitmap scan
  sorted for the claim; the department as the index condition and the seqs as
  a filter for the dequeue), so a department catching up on a backlog paid for
  the whole backlog at every step.

All of it inside a transaction that is rolled back (ids and seqs far above
the stack's own), so the running departments never see these rows.
"""
import re

BASE = 900000000
N = 300
BACKLOG = 3000
CLAIM = 50


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
-- the backlog: civil referrals queued after them, not decided here
INSERT INTO referrals (referral_id, report_id, case_id, department, seq, issued_by)
SELECT 3::bigint * %(b)d + g, %(b)d + g, %(b)d + g, 'civil', %(b)d + %(n)d + g, 'test_41'
  FROM generate_series(1, %(k)d) g;
INSERT INTO referral_queue (department, seq, referral_id)
SELECT 'civil', %(b)d + %(n)d + g, 3::bigint * %(b)d + g FROM generate_series(1, %(k)d) g;
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
-- a claim as the civil department (the stack's own queued rows, if any, come first)
SET SESSION AUTHORIZATION aid_civil;
SELECT 'claimed', count(*) FROM aid_dept_claim(%(c)d);
RESET SESSION AUTHORIZATION;
ROLLBACK;
""" % {"b": BASE, "n": N, "k": BACKLOG, "c": CLAIM}


def plan_of(log, node):
    """The plan text of the logged statement whose plan has node, from the node to the
    next log record."""
    at = log.find(node)
    assert at >= 0, "no plan with %r logged: %s" % (node, log[-2000:])
    end = re.search(r"\n\d{4}-\d\d-\d\d ", log[at:])
    return log[at:at + end.start()] if end else log[at:]


def queue_rows_read(plan):
    """The most rows any scan of referral_queue (or of its index) in the plan went
    through: the rows it returned (x loops) and those its filter removed."""
    lines = plan.splitlines()
    most = 0
    for i, line in enumerate(lines):
        m = re.search(r"Scan[^(]* on referral_queue\S* .*actual time=[0-9.]+\.\.[0-9.]+ "
                      r"rows=(\d+) loops=(\d+)", line)
        if not m:
            continue
        n = int(m.group(1)) * int(m.group(2))
        for detail in lines[i + 1:i + 5]:
            if "->" in detail:
                break
            r = re.search(r"Rows Removed by Filter: (\d+)", detail)
            if r:
                n += int(r.group(1))
        most = max(most, n)
    return most


def test_decided_referrals_leave_the_queue_one_lookup_each(h):
    offset = h.log_size("postgres")
    rows = h.psql_script(SQL)
    assert [r[1:] for r in rows if r[0] == "made"] == [[str(N)]], rows
    # civil's decided rows left the queue; housing's, with the same seqs, and
    # civil's backlog stayed
    assert [r[1:] for r in rows if r[0] == "queued"] == [
        ["civil", str(BACKLOG)], ["housing", str(N)]], rows
    assert [r[1:] for r in rows if r[0] == "status"] == [
        ["civil", "granted", str(N)], ["civil", "pending", str(BACKLOG)],
        ["housing", "pending", str(N)]], rows
    # each decision has its own measures, in the order of ord
    assert [r[1:] for r in rows if r[0] == "measures"] == [
        ["{code1,code2}", "{0,1}", "{100,200}", str(N // 2)],
        ["{}", "{}", "{}", str(N // 2)]], rows
    # (the backlog's referrals have no report: the claim locks their queue rows
    # and returns none of them)
    assert len([r for r in rows if r[0] == "claimed"]) == 1, rows
    # the dequeue's plan (the last CTE of the function's statement, so up to
    # the next log record) compared no more rows than the batch has, and read
    # no more of the queue than the batch's rows
    log = h.log_until("postgres", offset, "Delete on referral_queue", "LockRows")
    plan = plan_of(log, "Delete on referral_queue")
    removed = [int(x) for x in re.findall(r"Rows Removed by Join Filter: (\d+)", plan)]
    assert not removed or max(removed) < N, \
        "the dequeue compared %d rows for a batch of %d:\n%s" % (max(removed), N, plan)
    read = queue_rows_read(plan)
    assert 0 < read <= N, "the dequeue read %d queued rows for a batch of %d:\n%s" % (read, N, plan)
    # the claim: rows in queue order up to its limit, not the department's backlog
    plan = plan_of(log, "LockRows")
    read = queue_rows_read(plan)
    # (at most CLAIM rows and those the running civil service holds locked, which
    # the claim skips: a few; the old plan read the whole backlog)
    assert CLAIM <= read <= CLAIM + BACKLOG // 6, \
        "a claim of %d read %d queued rows (backlog %d):\n%s" % (CLAIM, read, BACKLOG, plan)
    # Which plan a generic plan is depends on the statistics when it was made (a
    # grown stack's queue, analysed while nearly empty, got a bitmap scan and a
    # sort for the claim, and the seqs as a filter for the dequeue; this stack's
    # statistics need not lead there): the claim rules those scans out itself,
    # and the dequeue looks each row up in a subquery no plan can turn into a scan.
    conf = h.psql("SELECT array_to_string(proconfig, ' ') FROM pg_proc"
                  " WHERE proname = 'aid_dept_claim'")[0][0]
    for setting in ("enable_seqscan=off", "enable_bitmapscan=off"):
        assert setting in conf, conf
