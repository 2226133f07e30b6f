"""test_20_triggers.py — trigger.submit (PROTOCOL.md, proto/DEPARTMENTS.md):
every kind, end to end through eligibility and the departments.

- disaster over areas: every registered S household there (by its latest
  assessment) gets a report filed by the system with tempaid emergency cash
  and relief in kind citing R-TRIGGER-DISASTER, and nothing else; households
  not in S or living elsewhere now are not reached; the same request id acts
  once; the trigger worker files in chunks and survives kill -9.
- medical_expense (R-MED-RETRO for a marginal household), unemployment,
  disability, death: the household re-assessed through the normal pipeline;
  an unknown person is not_found; no change answers cases 0.
- strict validation of every field, and `aidctl trigger`.
"""
import json
import os
import random
import subprocess
import time

import pytest

DIBAO = 70500


def area(town=None, village="001"):
    town = town or "520123%03d" % random.SystemRandom().randrange(200, 1000)
    return {"county": "520123", "township": town, "village": town + village}


def file_household(h, members, ar, **kw):
    res = h.submit_ok(h.report(members, area=ar, **kw))
    return res


def trigger(h, body, id=None):
    return h.call("trigger.submit", body, id or h.rid("trg"), timeout=30)


def trigger_ok(h, body, id=None):
    r = trigger(h, body, id)
    assert r.get("ok") is True, r
    return r["result"]


def reports_of(case):
    return sorted({f["report_id"] for f in case["referrals"]}, key=lambda s: int(s.split("-")[1]))


def wait_trigger_done(h, trigger_id, timeout=60):
    tid = h.num(trigger_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = h.psql("SELECT done_at IS NOT NULL, reached, cases FROM triggers WHERE trigger_id = %d"
                     % tid)
        if row and row[0][0] == "t":
            return int(row[0][1]), int(row[0][2])
        time.sleep(0.2)
    raise AssertionError("trigger %s not done after %ss: %r" % (trigger_id, timeout, row))


def trigger_reports(h, trigger_id):
    """{case_id: [report_id, ...]} of the reports the trigger filed."""
    rows = h.psql("SELECT case_id, report_id FROM trigger_targets WHERE trigger_id = %d"
                  " AND status = 'filed' ORDER BY case_id" % h.num(trigger_id))
    out = {}
    for c, r in rows:
        out.setdefault("case-" + c, []).append("report-" + r)
    return out


# ---------------------------------------------------------------- disaster

@pytest.fixture(scope="module")
def disaster_area(h):
    """A fresh township with three S households, one ordinary household, and
    one S household that has moved out since; one S household elsewhere."""
    ar = area()
    s_dibao = file_household(h, [h.member(birth="1950-03-01"), h.member(birth="1985-01-01")], ar,
                             status={"dibao": "partial"})
    s_tekun = file_household(h, [h.member(birth="1940-03-01", tekun="dispersed")],
                             dict(ar, village=ar["township"] + "002"))
    s_lowinc = file_household(h, [h.member(birth="1948-05-05", monthly_income_fen=0)], ar)
    ordinary = file_household(h, [h.member(birth="1980-01-01", monthly_income_fen=500000)], ar)
    moved_members = [h.member(birth="1950-01-01")]
    moved = file_household(h, moved_members, ar, status={"dibao": "full"})
    h.wait_complete(moved["case_id"])
    elsewhere = area()
    moved2 = h.submit_ok(h.report(moved_members, area=elsewhere, status={"dibao": "full"}))
    assert moved2["case_id"] == moved["case_id"]
    # a report from elsewhere moves the household once its township confirms (issue 14)
    assert len(h.confirm_moves(moved["case_id"])) == 1
    other = file_household(h, [h.member(birth="1950-01-01")], elsewhere, status={"dibao": "full"})
    for r in (s_dibao, s_tekun, s_lowinc, ordinary, moved2, other):
        h.wait_complete(r["case_id"])
    return {"area": ar, "reached": [s_dibao, s_tekun, s_lowinc],
            "not_reached": [ordinary, moved2, other]}


def test_disaster_reaches_every_s_household_of_the_area(h, disaster_area):
    ar = disaster_area["area"]
    before = {r["case_id"]: reports_of(h.case_get(r["case_id"])["result"])
              for r in disaster_area["reached"] + disaster_area["not_reached"]}
    rid = h.rid("disaster")
    res = trigger_ok(h, {"kind": "disaster", "areas": [ar["township"]], "hazard": "flood",
                         "occurred_on": "2026-11-20"}, id=rid)
    assert res["cases"] == 3, res
    assert res["trigger_id"].startswith("trigger-")
    reached, cases = wait_trigger_done(h, res["trigger_id"])
    assert (reached, cases) == (3, 3)
    filed = trigger_reports(h, res["trigger_id"])
    assert sorted(filed) == sorted(r["case_id"] for r in disaster_area["reached"])
    for r in disaster_area["reached"]:
        case = h.wait_complete(r["case_id"], timeout=60)
        [new] = filed[r["case_id"]]
        assert new not in before[r["case_id"]]
        refs = h.referrals_of(case, new)
        # an emergency check: temporary aid and relief only, each decided once
        assert sorted(refs) == ["relief", "tempaid"], refs
        t = refs["tempaid"]
        assert t["status"] == "granted", t
        assert "R-TRIGGER-DISASTER" in t["rules"] and "R-TEMP-EMERG" in t["rules"], t
        [cash] = t["measures"]
        assert cash["code"] == "tempaid.emergency_cash" and cash["form"] == "cash"
        size = len(h.psql("SELECT 1 FROM assessed_persons WHERE report_id = %d" % h.num(new)))
        assert cash["amount_fen"] == 3 * DIBAO * size
        rl = refs["relief"]
        assert rl["status"] == "granted" and "R-TRIGGER-DISASTER" in rl["rules"], rl
        assert sorted(m["code"] for m in rl["measures"]) == [
            "relief.clothing", "relief.food", "relief.shelter", "relief.water"]
        assert all(m["form"] == "in_kind" and m["amount_fen"] == 0 for m in rl["measures"])
    for r in disaster_area["not_reached"]:
        case = h.case_get(r["case_id"])["result"]
        assert reports_of(case) == before[r["case_id"]], "a household outside the trigger got a report"
    # every referral of the trigger's reports decided exactly once
    rows = h.psql("SELECT count(*), count(d.referral_id) FROM referrals f"
                  " JOIN trigger_targets t ON t.report_id = f.report_id"
                  " LEFT JOIN decisions d USING (referral_id) WHERE t.trigger_id = %d"
                  % h.num(res["trigger_id"]))
    assert rows == [["6", "6"]]
    # the report says where it came from: source department, the trigger id
    src = h.psql("SELECT DISTINCT source FROM reports r JOIN trigger_targets t USING (report_id)"
                 " WHERE t.trigger_id = %d" % h.num(res["trigger_id"]))
    assert src == [["department"]]

    # the same request id again acts once
    again = trigger(h, {"kind": "disaster", "areas": [ar["township"]], "hazard": "flood",
                        "occurred_on": "2026-11-20"}, id=rid)
    assert again["ok"] and again["result"]["duplicate"] is True, again
    assert again["result"]["trigger_id"] == res["trigger_id"]
    time.sleep(1.5)
    assert trigger_reports(h, res["trigger_id"]) == filed


def test_disaster_by_village_and_by_household(h, disaster_area):
    ar = disaster_area["area"]
    res = trigger_ok(h, {"kind": "disaster", "areas": [ar["township"] + "002"],
                         "hazard": "landslide"})
    assert res["cases"] == 1  # only the tekun person lives in village 002
    wait_trigger_done(h, res["trigger_id"])
    assert list(trigger_reports(h, res["trigger_id"])) == [disaster_area["reached"][1]["case_id"]]
    # a disaster naming one household (an agriculture row): S households only
    hh = disaster_area["reached"][0]
    person = h.open_ids([h.psql("SELECT id_enc FROM case_members WHERE case_id = %d LIMIT 1"
                                % h.num(hh["case_id"]))[0][0]])[0]
    one = trigger_ok(h, {"kind": "disaster", "id_number": person, "hazard": "hail"})
    assert one["cases"] == 1 and one["case_id"] == hh["case_id"] and "report_id" in one
    case = h.wait_complete(hh["case_id"], timeout=60)
    assert sorted(h.referrals_of(case, one["report_id"])) == ["relief", "tempaid"]
    ordinary = disaster_area["not_reached"][0]
    person = h.open_ids([h.psql("SELECT id_enc FROM case_members WHERE case_id = %d LIMIT 1"
                                % h.num(ordinary["case_id"]))[0][0]])[0]
    none = trigger_ok(h, {"kind": "disaster", "id_number": person, "hazard": "hail"})
    assert none["cases"] == 0 and "report_id" not in none


def test_disaster_empty_area_reaches_nobody(h):
    res = trigger_ok(h, {"kind": "disaster", "areas": ["520123999"], "hazard": "drought"})
    assert res["cases"] == 0
    assert wait_trigger_done(h, res["trigger_id"], timeout=5) == (0, 0)


def test_disaster_worker_streams_in_chunks_and_survives_kill(h):
    """40 households, chunks of 5, a backlog limit of 3: with eligibility
    stopped the worker files one chunk and waits (it never floods the queue);
    kill -9 it then; after restart each target is filed exactly once, and a
    report filed meanwhile is decided without waiting for the disaster."""
    ar = area()
    res = [h.submit_ok(h.report([h.member(birth="1945-01-01", monthly_income_fen=0)], area=ar))
           for _ in range(40)]
    for r in res:
        h.wait_complete(r["case_id"], timeout=60)
    slow = {"AID_TRIGGER_CHUNK": "5", "AID_TRIGGER_BACKLOG": "3"}
    h.stack("restart-service", "triggers", env=slow)
    h.stack("kill-service", "eligibility")
    try:
        t = trigger_ok(h, {"kind": "disaster", "areas": [ar["village"]], "hazard": "storm"})
        assert t["cases"] == 40
        tid = h.num(t["trigger_id"])
        reached = lambda: int(h.psql_value("SELECT reached FROM triggers WHERE trigger_id = %d"
                                           % tid))
        deadline = time.monotonic() + 20
        while reached() < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)
        assert reached() == 5, "one chunk, then wait for eligibility (reached %d)" % reached()
        h.stack("kill-service", "triggers")
        h.stack("start-service", "eligibility")
        # other reports keep flowing while the disaster waits
        other = h.submit_ok(h.report([h.member(birth="1950-01-01")], status={"dibao": "partial"}))
        h.wait_complete(other["case_id"], timeout=30)
        h.stack("start-service", "triggers", env=slow)
        assert wait_trigger_done(h, t["trigger_id"], timeout=120) == (40, 40)
    finally:
        h.stack("start-service", "eligibility")
        h.stack("restart-service", "triggers")
    req = h.psql_value("SELECT request_id FROM triggers WHERE trigger_id = %d" % tid)
    rows = h.psql("SELECT case_id, count(*) FROM reports WHERE request_id LIKE %s"
                  " GROUP BY case_id" % h.q(req + "#case-%"))
    assert len(rows) == 40 and all(n == "1" for _, n in rows), rows
    assert sorted("case-" + c for c, _ in rows) == sorted(r["case_id"] for r in res)
    for r in res:
        case = h.wait_complete(r["case_id"], timeout=120)
        assert len(reports_of(case)) == 2


def test_disaster_chunk_is_filed_with_one_call(h):
    """Filing a chunk is one set-based aid_submit_reports call, not one
    aid_submit_report per household (issue 19: a report per call made the
    Postgres work of filing most of a disaster's). Counted by Postgres itself:
    function statistics on in the worker's sessions only."""
    ar = area()
    res = [h.submit_ok(h.report([h.member(birth="1942-05-05", monthly_income_fen=0)], area=ar))
           for _ in range(3)]
    for r in res:
        h.wait_complete(r["case_id"], timeout=60)

    def calls():
        rows = h.psql("SELECT p.proname, coalesce(s.calls, 0) FROM pg_proc p"
                      " LEFT JOIN pg_stat_user_functions s ON s.funcid = p.oid"
                      " WHERE p.proname IN ('aid_submit_report', 'aid_submit_reports')")
        return {name: int(n) for name, n in rows}

    h.psql("ALTER ROLE aid_triggers SET track_functions = 'pl'")
    try:
        h.stack("restart-service", "triggers")
        before = calls()
        t = trigger_ok(h, {"kind": "disaster", "areas": [ar["village"]], "hazard": "hail"})
        assert t["cases"] == 3
        assert wait_trigger_done(h, t["trigger_id"]) == (3, 3)
        deadline = time.monotonic() + 20  # a backend reports its counts within seconds
        while calls()["aid_submit_reports"] == before["aid_submit_reports"] \
                and time.monotonic() < deadline:
            time.sleep(0.3)
        after = calls()
    finally:
        h.psql("ALTER ROLE aid_triggers RESET track_functions")
        h.stack("restart-service", "triggers")
    assert after["aid_submit_reports"] - before["aid_submit_reports"] == 1, (before, after)
    assert after["aid_submit_report"] == before["aid_submit_report"], (before, after)


def test_disaster_two_triggers_in_one_chunk(h):
    """The worker files a chunk's reports with one set-based call; two triggers
    that reach one case meet in one chunk (the worker stopped while both are
    committed: it waits behind eligibility's backlog, AID_TRIGGER_BACKLOG=1,
    while the triggers service still answers trigger.submit as their owner),
    and their two reports of that case name the same persons: each is filed
    once, on that case, as if alone — and a case only the second trigger
    reaches is filed beside them."""
    ar = area()
    west = dict(ar, village=ar["township"] + "002")
    both = [h.submit_ok(h.report([h.member(birth="1944-02-02", monthly_income_fen=0),
                                  h.member(birth="1946-03-03", monthly_income_fen=0)], area=ar)) for _ in range(3)]
    alone = h.submit_ok(h.report([h.member(birth="1943-04-04", monthly_income_fen=0)], area=west))
    for r in both + [alone]:
        h.wait_complete(r["case_id"], timeout=60)
    h.stack("restart-service", "triggers", env={"AID_TRIGGER_BACKLOG": "1"})
    try:
        h.stack("kill-service", "eligibility")
        try:
            h.submit_ok(h.report([h.member(birth="1950-01-01")], area=area()))  # the backlog
            t1 = trigger_ok(h, {"kind": "disaster", "areas": [ar["village"]], "hazard": "flood"})
            t2 = trigger_ok(h, {"kind": "disaster", "areas": [ar["township"]], "hazard": "flood"})
            assert (t1["cases"], t2["cases"]) == (3, 4)
            pending = h.psql("SELECT count(*) FROM trigger_targets WHERE trigger_id IN (%d, %d)"
                             " AND status = 'pending'"
                             % (h.num(t1["trigger_id"]), h.num(t2["trigger_id"])))
            assert pending == [["7"]], pending  # both wait: they meet in one chunk
        finally:
            h.stack("start-service", "eligibility")
        assert wait_trigger_done(h, t1["trigger_id"]) == (3, 3)
        assert wait_trigger_done(h, t2["trigger_id"]) == (4, 4)
        skipped = h.psql("SELECT count(*) FROM trigger_targets WHERE trigger_id IN (%d, %d)"
                         " AND status <> 'filed'" % (h.num(t1["trigger_id"]), h.num(t2["trigger_id"])))
        assert skipped == [["0"]], skipped
        filed1, filed2 = trigger_reports(h, t1["trigger_id"]), trigger_reports(h, t2["trigger_id"])
        assert sorted(filed1) == sorted(r["case_id"] for r in both)
        assert sorted(filed2) == sorted(r["case_id"] for r in both + [alone])
        for r in both:
            case = h.wait_complete(r["case_id"], timeout=60)
            assert len(filed1[r["case_id"]]) == 1 and len(filed2[r["case_id"]]) == 1
            assert filed1[r["case_id"]] != filed2[r["case_id"]]
            assert len(reports_of(case)) == 3, case
            assert len(case["persons"]) == 2, case
        case = h.wait_complete(alone["case_id"], timeout=60)
        assert len(reports_of(case)) == 2, case
    finally:
        h.stack("restart-service", "triggers")


# ---------------------------------------------------------------- one person

def test_medical_expense_retroactive_aid_for_a_marginal_household(h):
    """Two working-age adults at 800 yuan each (per capita above the dibao
    line): 6000 yuan over 6 months brings them below it → R-MED-RETRO 70%."""
    a, b = h.member(birth="1986-02-02", monthly_income_fen=80000), \
        h.member(birth="1988-03-03", monthly_income_fen=80000)
    hh = h.submit_ok(h.report([a, b]))
    h.wait_complete(hh["case_id"])
    res = trigger_ok(h, {"kind": "medical_expense", "id_number": b["id_number"],
                         "expense_fen": 600000, "months": 6})
    assert res["cases"] == 1 and res["case_id"] == hh["case_id"]
    case = h.wait_complete(hh["case_id"], timeout=60)
    refs = h.referrals_of(case, res["report_id"])
    med = refs["medical"]
    [retro] = [m for m in med["measures"] if m["code"] == "medical.retro_aid"]
    assert retro["amount_fen"] == 420000 and retro["period"] == "once" and retro["form"] == "cash"
    assert "R-MED-RETRO" in med["rules"]
    # 12 months: only the last 6 count
    res12 = trigger_ok(h, {"kind": "medical_expense", "id_number": a["id_number"],
                           "expense_fen": 1200000, "months": 12})
    case = h.wait_complete(hh["case_id"], timeout=60)
    [retro] = [m for m in h.referrals_of(case, res12["report_id"])["medical"]["measures"]
               if m["code"] == "medical.retro_aid"]
    assert retro["amount_fen"] == 420000


def test_medical_expense_no_retro_for_a_dibao_household(h):
    m = h.member(birth="1960-02-02")
    hh = h.submit_ok(h.report([m], status={"dibao": "full"}))
    h.wait_complete(hh["case_id"])
    res = trigger_ok(h, {"kind": "medical_expense", "id_number": m["id_number"],
                         "expense_fen": 600000, "months": 6})
    case = h.wait_complete(hh["case_id"], timeout=60)
    refs = h.referrals_of(case, res["report_id"])
    codes = [x["code"] for f in refs.values() for x in f["measures"]]
    assert "medical.retro_aid" not in codes
    assert not any("R-MED-RETRO" in f["rules"] for f in refs.values())


def test_unemployment(h):
    worker = h.member(birth="1985-05-05", employed=True, labor_capacity=True, wants_work=True)
    hh = h.submit_ok(h.report([worker, h.member(birth="1950-01-01")], status={"dibao": "partial"}))
    h.wait_complete(hh["case_id"])
    res = trigger_ok(h, {"kind": "unemployment", "id_number": worker["id_number"],
                         "occurred_on": "2026-10-31"})
    assert res["cases"] == 1
    case = h.wait_complete(hh["case_id"], timeout=60)
    emp = h.referrals_of(case, res["report_id"])["employment"]
    assert emp["status"] == "granted" and "R-EMP-S" in emp["rules"]
    assert [m["code"] for m in emp["measures"]] == ["employment.difficulty_registration"]
    assert emp["measures"][0]["id_masked"] == h.mask(worker["id_number"])
    # already unemployed: nothing to re-assess
    again = trigger_ok(h, {"kind": "unemployment", "id_number": worker["id_number"]})
    assert again["cases"] == 0 and "report_id" not in again


def test_disability(h):
    m = h.member(birth="1980-07-07", monthly_income_fen=0)
    hh = h.submit_ok(h.report([m, h.member(birth="1982-01-01", monthly_income_fen=50000)]))
    h.wait_complete(hh["case_id"])
    res = trigger_ok(h, {"kind": "disability", "id_number": m["id_number"],
                         "disability_grade": 2, "disability_kind": "physical"})
    assert res["cases"] == 1
    case = h.wait_complete(hh["case_id"], timeout=60)
    [p] = [p for p in case["persons"] if p["id_masked"] == h.mask(m["id_number"])]
    assert "S10" in p["groups"], p  # severely disabled in a low-income household
    same = trigger_ok(h, {"kind": "disability", "id_number": m["id_number"],
                          "disability_grade": 2, "disability_kind": "physical"})
    assert same["cases"] == 0


def test_death(h):
    dead, widow = h.member(birth="1940-01-01"), h.member(birth="1942-01-01")
    hh = h.submit_ok(h.report([dead, widow], status={"dibao": "full"}))
    h.wait_complete(hh["case_id"])
    res = trigger_ok(h, {"kind": "death", "id_number": dead["id_number"],
                         "occurred_on": "2026-11-02"})
    assert res["cases"] == 1
    case = h.wait_complete(hh["case_id"], timeout=60)
    assert h.psql("SELECT encode(id_hash, 'hex') FROM assessed_persons WHERE report_id = %d"
                  % h.num(res["report_id"])) == [[h.id_hash(widow["id_number"])]]
    care = h.referrals_of(case, res["report_id"])["care"]
    assert "R-CARE-CAT2" in care["rules"]  # a dibao household with a death
    # the person is no longer in the household
    gone = trigger(h, {"kind": "death", "id_number": dead["id_number"]})
    assert h.error_of(gone)["code"] == "not_found" and h.error_of(gone)["field"] == "id_number"
    # the only member: no household left to re-assess
    alone = trigger_ok(h, {"kind": "death", "id_number": widow["id_number"]})
    assert alone["cases"] == 0


def test_unknown_person_is_not_found(h):
    for kind, extra in [("medical_expense", {"expense_fen": 1, "months": 1}),
                        ("unemployment", {}), ("death", {}),
                        ("disability", {"disability_grade": 1, "disability_kind": "visual"}),
                        ("disaster", {"hazard": "flood"})]:
        body = dict({"kind": kind, "id_number": h.new_id()}, **extra)
        e = h.error_of(trigger(h, body))
        assert (e["code"], e["field"]) == ("not_found", "id_number"), (kind, e)


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("body,field", [
    ({}, "kind"),
    ({"kind": "flood"}, "kind"),
    ({"kind": 7}, "kind"),
    ({"kind": "disaster", "hazard": "flood"}, "areas"),
    ({"kind": "disaster", "areas": ["520123101"]}, "hazard"),
    ({"kind": "disaster", "areas": ["520123101"], "hazard": "meteor"}, "hazard"),
    ({"kind": "disaster", "areas": ["520123101", "5201"], "hazard": "flood"}, "areas[1]"),
    ({"kind": "disaster", "areas": ["52012310100x"], "hazard": "flood"}, "areas[0]"),
    ({"kind": "disaster", "areas": "520123101", "hazard": "flood"}, "areas"),
    ({"kind": "disaster", "areas": [], "hazard": "flood"}, "areas"),
    ({"kind": "disaster", "areas": ["520123101"], "hazard": "flood",
      "occurred_on": "2999-01-01"}, "occurred_on"),
    ({"kind": "disaster", "areas": ["520123101"], "hazard": "flood",
      "occurred_on": "2026-02-30"}, "occurred_on"),
    ({"kind": "disaster", "areas": ["520123101"], "hazard": "flood", "note": "x"}, "note"),
    ({"kind": "medical_expense", "expense_fen": 1, "months": 6}, "id_number"),
    ({"kind": "medical_expense", "id_number": "BAD", "expense_fen": 1, "months": 6}, "id_number"),
    ({"kind": "medical_expense", "id_number": None, "expense_fen": -1, "months": 6}, "id_number"),
    ({"kind": "medical_expense", "id_number": "ID", "expense_fen": 0, "months": 6}, "expense_fen"),
    ({"kind": "medical_expense", "id_number": "ID", "expense_fen": 10, "months": 0}, "months"),
    ({"kind": "medical_expense", "id_number": "ID", "expense_fen": 10, "months": 121}, "months"),
    ({"kind": "medical_expense", "id_number": "ID", "expense_fen": "10", "months": 6},
     "expense_fen"),
    ({"kind": "medical_expense", "id_number": "ID", "expense_fen": 10}, "months"),
    ({"kind": "disability", "id_number": "ID", "disability_grade": 5,
      "disability_kind": "visual"}, "disability_grade"),
    ({"kind": "disability", "id_number": "ID", "disability_grade": 1,
      "disability_kind": "none"}, "disability_kind"),
    ({"kind": "disability", "id_number": "ID", "disability_grade": 1}, "disability_kind"),
    ({"kind": "unemployment", "id_number": "ID", "expense_fen": 1}, "expense_fen"),
    ({"kind": "death", "id_number": "ID", "occurred_on": "yesterday"}, "occurred_on"),
])
def test_trigger_validation(h, body, field):
    body = dict(body)
    if body.get("id_number") == "ID":
        body["id_number"] = h.new_id()
    e = h.error_of(trigger(h, body))
    assert e["code"] == "invalid_field" and e["field"] == field, (body, e)


def test_trigger_needs_a_request_id(h):
    r = h.call("trigger.submit", {"kind": "death", "id_number": h.new_id()})
    assert h.error_of(r)["field"] == "id"


def test_trigger_batch_rejects_area_disasters_and_bad_shape(h):
    r = h.call("trigger.batch", {"triggers": [{"kind": "disaster", "areas": ["520123101"],
                                               "hazard": "flood"}]}, h.rid("tb"))
    assert r["ok"] and r["result"]["rejected"] == 1
    assert r["result"]["results"][0]["error"]["field"] == "triggers[0]"
    for body, field in [({}, "triggers"), ({"triggers": []}, "triggers"),
                        ({"triggers": [{}] * 501}, "triggers"),
                        ({"triggers": [], "x": 1}, "triggers")]:
        e = h.error_of(h.call("trigger.batch", body, h.rid("tb")))
        assert (e["code"], e["field"]) == ("invalid_field", field), (body, e)


# ---------------------------------------------------------------- aidctl trigger

def aidctl(h, *args):
    return subprocess.run([os.path.join(h.ROOT, "bin", "aidctl")] + list(args),
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, AID_INTAKE_API=h.INTAKE))


def test_aidctl_trigger(h):
    worker = h.member(birth="1985-05-05", employed=True, labor_capacity=True)
    hh = h.submit_ok(h.report([worker]))
    h.wait_complete(hh["case_id"])
    p = aidctl(h, "trigger", "unemployment", "id_number=" + worker["id_number"])
    assert p.returncode == 0, p.stderr
    assert "reached 1 case(s)" in p.stdout and hh["case_id"] in p.stdout
    # resent with the request id it printed: acts once (test_24: without
    # --id every command is a new event)
    sent = p.stdout.split("request id ", 1)[1].split()[0]
    p = aidctl(h, "--json", "--id", sent, "trigger", "unemployment",
               "id_number=" + worker["id_number"])
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["duplicate"] is True
    p = aidctl(h, "trigger", "medical_expense", "id_number=" + worker["id_number"],
               "expense_fen=abc", "months=6")
    assert p.returncode == 2
    p = aidctl(h, "trigger", "disaster", "areas=520123101,5201", "hazard=flood")
    assert p.returncode == 1 and "areas[1]" in p.stderr
    p = aidctl(h, "trigger", "death", "id_number=" + h.new_id())
    assert p.returncode == 1 and "not_found" in p.stderr
