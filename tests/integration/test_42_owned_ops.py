"""test_42_owned_ops.py — operations served by their owners behind the front
door (issue 15): the supervision service (services/supervision/) serves the
ledger, disclosure, complaints and moves; the triggers service the trigger
operations beside its disaster worker; the care service visits and caregiver
scores beside its department worker; the decisions service referrals.pending,
decision.submit and referrals.overdue (the department runtime).

- each owner connects to Postgres as its own role, which can do its job, and
  the front door's role can no longer write the owner's records;
- an owner stopped: its operations answer `unavailable` at once (no waiting
  for a timeout) while report.submit goes on as before;
- a forwarded write whose owner is killed -9 after answering is, retried with
  the same id and body after the restart, answered from the record
  (duplicate: true, the same result), never done twice.
"""
import os
import signal
import time

import pytest

from test_96_roles import as_role, refused, value_as


def ok(r):
    assert r.get("ok") is True, r
    return r["result"]


def test_owners_connect_as_their_own_roles(h):
    ok(h.call("ledger.monthly", {"month": "2026-01"}))
    _connects_as(h, "supervision", "aid_supervision")


def test_the_front_door_gave_the_owner_its_records(h):
    # the front door's role may no longer write (nor read) supervision's records
    refused(h, "aid_intake", "INSERT INTO complaint_counters (month, last) VALUES ('199901', 1)")
    refused(h, "aid_intake", "INSERT INTO ledger_submissions (month, township, submitted_by,"
            " request_id) VALUES ('1999-01-01', '520123101', 'x', 'x')")
    refused(h, "aid_intake", "SELECT count(*) FROM complaints")
    refused(h, "aid_intake", "UPDATE cases SET township = township WHERE false")
    # nor the supervision role anything of the report path's or the departments'
    refused(h, "aid_supervision", "INSERT INTO decisions (referral_id, status, reason, rules,"
            " decided_by) VALUES (0, 'denied', 'x', '{}', 'x')",
            why=r"permission denied|row-level security")
    refused(h, "aid_supervision", "DELETE FROM complaints")
    refused(h, "aid_supervision", "UPDATE reports SET report_id = report_id WHERE false")
    # which can do its job: a complaint through the front door, stored by the owner
    no = ok(h.call("complaint.submit", {"channel": "hotline", "text": "角色测试"},
                   h.rid("role")))["tracking_no"]
    assert value_as(h, "aid_supervision",
                    "SELECT count(*) FROM complaint_steps WHERE tracking_no = '%s'" % no) == "1"


def _gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def _stop(h, service):
    """SIGTERM to every instance of service; waits until each has exited."""
    pids = [p for i, p in h.status().items() if p and i.split(".")[0] == service]
    assert pids, h.status()
    for p in pids:
        os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while not all(_gone(p) for p in pids):
        assert time.monotonic() < deadline, "%s did not stop" % service
        time.sleep(0.05)


def _connects_as(h, service, role):
    rows = h.psql("SELECT usename FROM pg_stat_activity WHERE datname = 'aid'"
                  " AND application_name LIKE '%s%%'" % service)
    assert rows and {r[0] for r in rows} == {role}, rows


def _stopped_unavailable_report_path_unaffected(h, service, op, body, report_done=True):
    """service stopped: op answers unavailable at once, a report is still
    accepted (and decided when report_done); then it serves op again."""
    _stop(h, service)
    try:
        t0 = time.monotonic()
        e = h.error_of(h.call(op, body))
        assert e["code"] == "unavailable" and time.monotonic() - t0 < 1.0, e
        res = h.submit_ok(h.report([h.member(birth="1952-06-06")], status={"dibao": "full"}))
        if report_done:
            h.wait_complete(res["case_id"])
    finally:
        h.stack("up")
    deadline = time.monotonic() + 15
    while not h.call(op, body).get("ok"):
        assert time.monotonic() < deadline, "%s did not come back" % service
        time.sleep(0.2)


def _served_again(h, killed=False):
    """Waits until the owner serves again; after a kill -9, also until intake
    has dropped the dead instance (AID_OWNER_EXPIRY_MS, 3 s), which until then
    may still be chosen (its requests then answer unavailable at the expiry)."""
    if killed:
        time.sleep(3.5)
    deadline = time.monotonic() + 15
    while True:
        r = h.call("ledger.monthly", {"month": "2026-01"})
        if r.get("ok") or time.monotonic() > deadline:
            return ok(r)
        time.sleep(0.2)


def test_owner_stopped_answers_unavailable_at_once_report_path_unaffected(h):
    _stop(h, "supervision")      # a clean stop says GONE: dropped at once
    try:
        for op, body, write in (("ledger.monthly", {"month": "2026-01"}, False),
                                ("complaint.submit", {"channel": "hotline", "text": "停机"}, True)):
            t0 = time.monotonic()
            r = h.call(op, body, h.rid("gone"))
            took = time.monotonic() - t0
            e = h.error_of(r)
            assert e["code"] == "unavailable", (op, r)
            assert took < 1.0, (op, took)    # at once, not at the forwarding bound
        # the report path does not go through the owner
        res = h.submit_ok(h.report([h.member(birth="1951-05-05")], status={"dibao": "full"}))
        h.wait_complete(res["case_id"])
    finally:
        h.stack("up")
    _served_again(h)


def test_owner_killed_is_dropped_at_its_expiry_then_unavailable_at_once(h):
    h.stack("kill-service", "supervision")   # SIGKILL: no GONE, the heartbeats stop
    try:
        time.sleep(3.5)                       # past AID_OWNER_EXPIRY_MS (3 s)
        t0 = time.monotonic()
        e = h.error_of(h.call("disclosure.list", {"village": "520123101001", "month": "2026-01"}))
        assert e["code"] == "unavailable" and time.monotonic() - t0 < 1.0, e
    finally:
        h.stack("up")
    _served_again(h, killed=True)


def test_owner_killed_and_restarted_serves_at_once(h):
    """kill -9 and a restart at once: the restart's READY replaces the dead instance
    (the same service, host and replica), which is never chosen again."""
    h.stack("kill-service", "supervision")
    h.stack("up")
    deadline = time.monotonic() + 15
    while not h.call("ledger.monthly", {"month": "2026-01"}).get("ok"):
        assert time.monotonic() < deadline, "supervision did not come back"
        time.sleep(0.05)
    for _ in range(6):
        t0 = time.monotonic()
        ok(h.call("ledger.monthly", {"month": "2026-01"}))
        assert time.monotonic() - t0 < 1.0


def test_forwarded_write_after_owner_kill9_is_answered_from_the_record(h):
    rid = h.rid("kill9")
    body = {"channel": "mailbox", "text": "重试只记一次 " + rid}
    first = ok(h.call("complaint.submit", body, rid))
    assert first["duplicate"] is False
    h.stack("kill-service", "supervision")    # SIGKILL: nothing else of it runs
    h.stack("up")
    deadline = time.monotonic() + 15
    while True:
        r = h.call("complaint.submit", body, rid)
        if r.get("ok") or time.monotonic() > deadline:
            break
        assert h.error_of(r)["code"] == "unavailable", r
        time.sleep(0.2)
    again = ok(r)
    assert again["duplicate"] is True, again
    assert again["tracking_no"] == first["tracking_no"], (first, again)
    assert h.psql_value("SELECT count(*) FROM complaints WHERE text = '%s'"
                        % body["text"]) == "1"
    _served_again(h, killed=True)


# ------------------------------------------------------------------ triggers

def test_triggers_serves_its_operations_as_its_own_role(h):
    ok(h.call("triggers.list", {}))
    _connects_as(h, "triggers", "aid_triggers")
    # the front door's role may no longer record triggers; the triggers role may
    refused(h, "aid_intake", "INSERT INTO triggers (kind, body, request_id)"
            " VALUES ('death', '\\x00', 'x')")
    refused(h, "aid_intake", "SELECT count(*) FROM trigger_targets")
    ms = [h.member(birth="1949-02-02")]
    res = h.submit_ok(h.report(ms, status={"dibao": "full"}))
    h.wait_complete(res["case_id"])
    r = ok(h.call("trigger.submit", {"kind": "medical_expense", "id_number": ms[0]["id_number"],
                                     "expense_fen": 5000000, "months": 12}, h.rid("trg")))
    assert r["case_id"] == res["case_id"] and r["report_id"], r
    # the report it filed goes through the pipeline (eligibility woken by the owner)
    n = r["report_id"].split("-")[1]
    deadline = time.monotonic() + 30
    while h.psql_value("SELECT EXISTS (SELECT 1 FROM assessments WHERE report_id = %s)"
                       % n) != "t":
        assert time.monotonic() < deadline, "the trigger's report was not assessed"
        time.sleep(0.1)
    got = ok(h.call("trigger.get", {"trigger_id": r["trigger_id"]}))
    assert got["trigger_id"] == r["trigger_id"], got


def test_triggers_stopped_its_operations_unavailable_report_path_unaffected(h):
    _stopped_unavailable_report_path_unaffected(h, "triggers", "triggers.list", {})


# ------------------------------------------------------------------ care

def test_care_serves_visits_and_scores_as_its_own_role(h):
    ok(h.call("visits.due", {"township": "520123101"}))
    _connects_as(h, "care", "aid_care")
    # the front door's role may no longer record visits, scores or care tasks
    refused(h, "aid_intake", "INSERT INTO care_tasks (kind, case_id, id_hash, note)"
            " VALUES ('x', 0, '\\x00', 'x')")
    refused(h, "aid_intake", "SELECT nextval('visits_visit_id_seq')")
    # and the care role still sees only care's referrals (its department worker's view)
    assert value_as(h, "aid_care", "SELECT count(*) FROM referrals WHERE department <> 'care'") == "0"


def test_care_stopped_its_operations_unavailable_report_path_unaffected(h):
    # the care department is stopped too: the report is accepted, not decided
    _stopped_unavailable_report_path_unaffected(h, "care", "visits.due",
                                                {"township": "520123101"}, report_done=False)


# ------------------------------------------------------------------ decisions

def test_decisions_serves_the_department_runtime_as_its_own_role(h):
    ok(h.call("referrals.overdue", {}))
    ok(h.call("referrals.pending", {"department": "housing"}))
    _connects_as(h, "decisions", "aid_decisions")
    # the front door's role may no longer record decisions nor touch the departments' queues
    refused(h, "aid_intake", "INSERT INTO decisions (referral_id, status, reason, rules,"
            " decided_by) VALUES (0, 'denied', 'x', '{}', 'x')")
    refused(h, "aid_intake", "UPDATE referrals SET status = status WHERE false")
    refused(h, "aid_intake", "SELECT count(*) FROM referral_queue")
    # the decisions role records decisions, and nothing of the report path or of cases
    refused(h, "aid_decisions", "INSERT INTO cases (township) VALUES ('x')")
    refused(h, "aid_decisions", "UPDATE reports SET report_id = report_id WHERE false",
            why=r"permission denied|row-level security")
    refused(h, "aid_decisions", "SELECT count(*) FROM complaints")
    assert value_as(h, "aid_decisions", "SELECT count(*) >= 0 FROM referral_queue") == "t"


def test_decisions_stopped_its_operations_unavailable_report_path_unaffected(h):
    _stopped_unavailable_report_path_unaffected(h, "decisions", "referrals.overdue", {})
