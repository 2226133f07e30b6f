"""test_payroll_kill.py — a payroll run killed half-way pays nobody twice
(issue 17, POLICY.md §17 R-PAY-MONTHLY).

A township of its own with 10,000 households (cases, entitlements and payees
written straight into Postgres: the drill is about the payroll, not intake).

1. payroll.run is sent; half-way through its statement in Postgres (the run's
   row written, its lines held up by a lock this drill takes on payroll_lines,
   so the moment is certain on a busy machine) the benefits service is killed
   (-9), then the lock let go. Nothing of the run is committed. `ops/stack.sh up`
   restarts it; the same request again makes the run once: one line per
   household, the total the sum of the entitlements; again with the same id
   it is a duplicate, with another id a conflict.
2. The run is approved and reconciled all paid, 1000 lines a request, and
   the service is killed (-9) half-way through the returns; after the restart
   every request is sent again with its id: each acts once.
3. The next month's run carries nothing (a paid line is never paid again),
   and in SQL: no household-month is paid twice, what was paid for the month
   is exactly what was owed, to the fen.
Loopback only; every wait is bounded.
"""
import os
import random
import signal
import subprocess
import threading
import time

import pytest

import conftest as h

N = 10000
MONTH = "2024-06"


def free_township():
    for _ in range(200):
        t = "520123%03d" % random.randrange(200, 1000)
        if h.psql_value("SELECT count(*) FROM cases WHERE township = '%s'" % t) == "0":
            return t
    raise AssertionError("no free township code")


def call_until_served(op, body, rid, deadline_s=60.0):
    """The op sent (same id) until the answer is not `unavailable` (the owner
    is back), bounded."""
    deadline = time.monotonic() + deadline_s
    while True:
        c = h.it.Client(endpoint=h.ENDPOINTS[0], timeout=30)
        try:
            r = c.call(op, body, id=rid)
        except h.it.NoReply:
            r = {"ok": False, "error": {"code": "unavailable", "message": "no reply"}}
        finally:
            c.close()
        if r.get("ok") or r["error"]["code"] != "unavailable":
            return r
        assert time.monotonic() < deadline, (op, r)
        time.sleep(0.5)


def kill_benefits():
    pids = h.instance_pids("benefits")
    assert pids, "benefits is not running"
    for pid in pids.values():
        os.kill(pid, signal.SIGKILL)
    return pids


@pytest.fixture(scope="module")
def town():
    t = free_township()
    h.psql(
        "BEGIN;"
        "CREATE TEMP TABLE dc AS WITH c AS (INSERT INTO cases (township)"
        "  SELECT '%s' FROM generate_series(1, %d) RETURNING case_id) SELECT case_id FROM c;"
        "INSERT INTO entitlements (case_id, subject, kind, amount_fen, first_month, referral_id,"
        "                          report_id, rules)"
        "  SELECT case_id, int8send(case_id), 'dibao_allowance', 10000 + case_id %% 60000,"
        "         '2024-01-01', 0, 0, '{R-DIBAO-GRANT}' FROM dc;"
        "INSERT INTO entitlements (case_id, subject, kind, amount_fen, first_month, referral_id,"
        "                          report_id, rules)"
        "  SELECT case_id, int8send(-case_id), 'dibao_supplement', 14100, '2024-01-01', 0, 0,"
        "         '{R-DIBAO-SUP-B}' FROM dc WHERE case_id %% 3 = 0;"
        "INSERT INTO payees (case_id, holder_hash, holder_enc, bank, account_enc, account_last4,"
        "                    set_by, request_id)"
        "  SELECT case_id, '\\x00', '\\x00', 'drill', '\\x00', '0000', 'drill', 'drill' FROM dc;"
        "COMMIT;" % (t, N))
    return t


def owed(town, month):
    return int(h.psql_value(
        "SELECT coalesce(sum(e.amount_fen), 0) FROM entitlements e JOIN cases c USING (case_id)"
        " WHERE c.township = '%s' AND e.first_month <= '%s-01'"
        "   AND (e.last_month IS NULL OR e.last_month >= '%s-01')" % (town, month, month)))


def test_kill_9_during_the_run_and_the_returns_pays_nobody_twice(town):
    body = {"month": MONTH, "township": town, "by": "drill-maker"}
    rid = "drill-payroll-%s-%s" % (h.RUN, town)
    answer = {}

    def send():
        c = h.it.Client(endpoint=h.ENDPOINTS[0], timeout=30)
        try:
            answer["r"] = c.call("payroll.run", body, id=rid)
        except h.it.NoReply:
            answer["r"] = None
        finally:
            c.close()

    # hold the run half-way: its lines wait for this lock
    locker = subprocess.Popen(
        ["psql", h.it.PG_DSN, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
         "BEGIN; LOCK TABLE payroll_lines IN SHARE MODE; SELECT pg_sleep(120); COMMIT;"],
        env=dict(os.environ, PGAPPNAME="payroll-drill-lock"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while h.psql_value("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                           " WHERE a.application_name = 'payroll-drill-lock'"
                           "   AND l.relation = 'payroll_lines'::regclass AND l.granted") == "0":
            assert time.monotonic() < deadline, "the drill's lock was never taken"
            time.sleep(0.05)
        t = threading.Thread(target=send, daemon=True)
        t.start()
        seen = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not seen:
            seen = h.psql_value("SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                                "   AND wait_event_type = 'Lock'"
                                "   AND query LIKE '%aid_payroll_run%'"
                                "   AND usename = 'aid_benefits'") != "0"
            if not seen:
                time.sleep(0.05)
        assert seen, "the run's statement was never seen waiting half-way"
        kill_benefits()
    finally:
        h.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
               " WHERE application_name = 'payroll-drill-lock'")
        locker.wait(30)
    t.join(40)
    # the backend ends without COMMIT once it finds its client gone
    deadline = time.monotonic() + 60
    while h.psql_value("SELECT count(*) FROM pg_stat_activity WHERE usename = 'aid_benefits'"
                       "   AND query LIKE '%aid_payroll_run%'") != "0":
        assert time.monotonic() < deadline, "the killed run's backend did not end"
        time.sleep(0.2)
    runs = h.psql_value("SELECT count(*) FROM payroll_runs WHERE township = '%s'" % town)
    print("payroll kill -9 mid-run: reply %r, runs committed %s" % (answer.get("r"), runs))
    assert runs == "0", "a run killed half-way left %s run(s)" % runs

    h.stack("up")
    r = call_until_served("payroll.run", body, rid)
    assert r["ok"], r
    run = r["result"]
    assert run["lines"] == N and run["blocked"] == 0, run
    assert run["total_fen"] == owed(town, MONTH), run
    again = call_until_served("payroll.run", body, rid)
    assert again["ok"] and again["result"]["duplicate"] is True
    assert again["result"]["run_id"] == run["run_id"]
    other = call_until_served("payroll.run", body, rid + "-other")
    assert not other["ok"] and other["error"]["code"] == "conflict", other
    r = call_until_served("payroll.approve", {"run_id": run["run_id"], "by": "drill-checker"},
                          rid + "-approve")
    assert r["ok"], r

    # the bank's return, all paid, killed half-way and sent again
    ids = [int(x[0]) for x in h.psql("SELECT line_id FROM payroll_lines WHERE run_id = %d"
                                     " ORDER BY line_id" % run["run_id"])]
    batches = [ids[i:i + 1000] for i in range(0, len(ids), 1000)]
    for k, batch in enumerate(batches):
        if k == len(batches) // 2:
            kill_benefits()
            h.stack("up")
        r = call_until_served("payroll.reconcile", {
            "run_id": run["run_id"], "by": "drill-maker",
            "returns": [{"line_id": i, "status": "paid"} for i in batch]},
            "%s-rec-%d" % (rid, k))
        assert r["ok"], r
    for k, batch in enumerate(batches):       # every return again, same ids: once
        r = call_until_served("payroll.reconcile", {
            "run_id": run["run_id"], "by": "drill-maker",
            "returns": [{"line_id": i, "status": "paid"} for i in batch]},
            "%s-rec-%d" % (rid, k))
        assert r["ok"] and r["result"]["duplicate"] is True, r

    nxt = call_until_served("payroll.run", {"month": "2024-07", "township": town,
                                            "by": "drill-maker"}, rid + "-next")
    assert nxt["ok"] and nxt["result"]["lines"] == N, nxt
    twice = h.psql_value(
        "SELECT count(*) FROM (SELECT l.case_id, l.month FROM payroll_lines l"
        "  JOIN cases c USING (case_id) WHERE c.township = '%s' AND l.status = 'paid'"
        "  GROUP BY 1, 2 HAVING count(*) > 1) x" % town)
    assert twice == "0", "%s household-months paid twice" % twice
    carried = h.psql_value("SELECT count(*) FROM payroll_lines WHERE run_id = %d"
                           "   AND kind = 'carried'" % nxt["result"]["run_id"])
    assert carried == "0"
    paid = int(h.psql_value("SELECT sum(amount_fen) FROM payroll_lines WHERE run_id = %d"
                            "   AND status = 'paid'" % run["run_id"]))
    assert paid == owed(town, MONTH)
    print("payroll drill: %d lines paid once each, %d fen = owed" % (N, paid))
