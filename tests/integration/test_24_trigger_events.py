"""test_24_trigger_events.py — a trigger is an event: idempotency by the
client's request id, and what a trigger reached, on the wire.

- The same disaster body sent again under a new request id is a new event
  (a second flood over the same townships, no occurred_on): its own trigger
  id, its own reports. The same request id again is `duplicate`.
- `aidctl trigger disaster …` run twice without --id sends two events (each
  command a new request id, printed); with --id it acts once.
- `triggers.list`: newest first, kind, areas, hazard, households reached
  and the outcome counts of their referrals; no personal data.
- `trigger.get`: the households reached (masked ID numbers and names, the
  case, the report filed) with each referral's status, rules and decision;
  audited like case.get (R-AUDIT); strict bodies, each error naming its field.
"""
import json
import os
import random
import subprocess
import time

import pytest


def area():
    town = "520124%03d" % random.SystemRandom().randrange(100, 1000)
    return {"county": "520124", "township": town, "village": town + "001"}


def aidctl(h, *args):
    return subprocess.run([os.path.join(h.ROOT, "bin", "aidctl")] + list(args),
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, AID_INTAKE_API=h.INTAKE))


def wait_done(h, trigger_id, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        r = h.call("trigger.get", {"trigger_id": trigger_id})
        assert r["ok"], r
        g = r["result"]
        if g["done_at"] is not None and g["outcomes"]["pending"] == 0 and \
                all(x["referrals"] for x in g["households"]):
            return g
        assert time.monotonic() < deadline, g
        time.sleep(0.3)


@pytest.fixture(scope="module")
def flood_area(h):
    """A fresh township with two S households (dibao) and an ordinary one."""
    ar = area()
    s1 = h.submit_ok(h.report([h.member(birth="1950-03-01", name="王小明")], area=ar,
                              status={"dibao": "full"}))
    s2 = h.submit_ok(h.report([h.member(birth="1945-03-01"), h.member(birth="1980-01-01")],
                              area=ar, status={"dibao": "partial"}))
    other = h.submit_ok(h.report([h.member(birth="1980-01-01", monthly_income_fen=800000)],
                                 area=ar))
    for r in (s1, s2, other):
        h.wait_complete(r["case_id"], timeout=60)
    return {"area": ar, "reached": sorted([s1["case_id"], s2["case_id"]], key=h.num)}


def test_repeat_disaster_with_a_new_request_id_is_a_new_event(h, flood_area):
    body = {"kind": "disaster", "areas": [flood_area["area"]["township"]], "hazard": "flood"}
    first_id, second_id = h.rid("flood-1"), h.rid("flood-2")
    first = h.call("trigger.submit", body, first_id, timeout=30)
    assert first["ok"] and first["result"]["cases"] == 2, first
    second = h.call("trigger.submit", body, second_id, timeout=30)
    assert second["ok"], second
    assert "duplicate" not in second["result"] or second["result"]["duplicate"] is False, second
    assert second["result"]["trigger_id"] != first["result"]["trigger_id"]
    assert second["result"]["cases"] == 2
    # the same request id again: the first answer, nothing new
    again = h.call("trigger.submit", body, second_id, timeout=30)
    assert again["ok"] and again["result"]["duplicate"] is True, again
    assert again["result"]["trigger_id"] == second["result"]["trigger_id"]
    one, two = (wait_done(h, r["result"]["trigger_id"]) for r in (first, second))
    # each event filed its own report on each household
    for g in (one, two):
        assert [x["case_id"] for x in g["households"]] == flood_area["reached"], g
        assert all(x["status"] == "filed" and x["report_id"] for x in g["households"])
    reports = [x["report_id"] for g in (one, two) for x in g["households"]]
    assert len(set(reports)) == 4, reports
    global FLOOD
    FLOOD = two


def test_aidctl_trigger_twice_is_two_events_and_id_acts_once(h, flood_area):
    args = ["trigger", "disaster", "areas=" + flood_area["area"]["village"], "hazard=storm"]
    runs = [aidctl(h, "--json", *args) for _ in range(2)]
    for p in runs:
        assert p.returncode == 0, p.stderr
    res = [json.loads(p.stdout) for p in runs]
    assert res[0]["trigger_id"] != res[1]["trigger_id"], res
    assert not any(r.get("duplicate") for r in res), res
    p = aidctl(h, *args)  # readable: the request id it used is printed
    assert p.returncode == 0, p.stderr
    assert "request id aidctl-trigger-" in p.stdout, p.stdout
    sent = p.stdout.split("request id ", 1)[1].split()[0]
    p = aidctl(h, "--json", "--id", sent, *args)
    assert p.returncode == 0 and json.loads(p.stdout)["duplicate"] is True, p.stdout


def test_triggers_list_shows_reach_and_outcomes(h, flood_area):
    r = h.call("triggers.list", {"kind": "disaster", "limit": 50})
    assert r["ok"], r
    lst = r["result"]["triggers"]
    ids = [h.num(g["trigger_id"]) for g in lst]
    assert ids == sorted(ids, reverse=True), ids  # newest first
    mine = [g for g in lst if g["trigger_id"] == FLOOD["trigger_id"]]
    assert len(mine) == 1, lst
    g = mine[0]
    assert list(g) == ["trigger_id", "kind", "hazard", "areas", "occurred_on", "created_at",
                       "done_at", "cases", "reached", "outcomes", "case_id"], g
    assert g["kind"] == "disaster" and g["hazard"] == "flood" and g["case_id"] is None
    assert g["areas"] == [flood_area["area"]["township"]] and g["occurred_on"] is None
    assert g["cases"] == 2 and g["reached"] == 2 and g["done_at"]
    # every household got tempaid and relief: four referrals, all decided
    assert g["outcomes"] == {"pending": 0, "granted": 4, "denied": 0, "referred": 0, "in_review": 0}, g
    assert g["outcomes"] == FLOOD["outcomes"]
    # paging: before the newest shown
    older = h.call("triggers.list", {"before": lst[0]["trigger_id"], "limit": 1})
    assert older["ok"] and len(older["result"]["triggers"]) <= 1, older
    if older["result"]["triggers"]:
        assert h.num(older["result"]["triggers"][0]["trigger_id"]) < ids[0]
    # no ID number, no name anywhere in the list
    text = json.dumps(r["result"], ensure_ascii=False)
    assert "王" not in text


def test_trigger_get_households_masked_with_outcomes_and_audited(h, flood_area):
    g = FLOOD
    assert g["kind"] == "disaster" and g["id_masked"] is None
    assert g["more"] is False and len(g["households"]) == 2
    for x in g["households"]:
        assert set(x) == {"case_id", "status", "note", "report_id", "persons", "referrals"}
        for p in x["persons"]:
            assert "*" in p["id_masked"] and len(p["id_masked"]) == 18
            assert set(p) == {"id_masked", "name_masked"}
        assert sorted(f["department"] for f in x["referrals"]) == ["relief", "tempaid"]
        for f in x["referrals"]:
            assert f["status"] == "granted" and "R-TRIGGER-DISASTER" in f["rules"], f
            assert f["decided_at"]
        # the same referrals as case.get shows for that report
        case = h.case_get(x["case_id"])["result"]
        mine = {f["referral_id"]: f["status"] for f in case["referrals"]
                if f["report_id"] == x["report_id"]}
        assert mine == {f["referral_id"]: f["status"] for f in x["referrals"]}
    names = [p["name_masked"] for x in g["households"] for p in x["persons"]]
    assert "王**" in names, names
    # paging by case
    page = h.call("trigger.get", {"trigger_id": g["trigger_id"], "limit": 1})["result"]
    assert page["more"] is True and len(page["households"]) == 1
    rest = h.call("trigger.get", {"trigger_id": g["trigger_id"], "limit": 1,
                                  "after_case": page["households"][0]["case_id"]})["result"]
    assert [x["case_id"] for x in page["households"] + rest["households"]] == \
        flood_area["reached"]
    # R-AUDIT: the read is in the audit trail with the cases it showed
    rid = h.rid("tget")
    assert h.call("trigger.get", {"trigger_id": g["trigger_id"]}, rid)["ok"]
    rows = h.psql("SELECT case_id FROM audit_log WHERE action = 'trigger.get'"
                  " AND detail = 'request %s' ORDER BY case_id" % rid)
    assert [int(c) for [c] in rows] == [h.num(c) for c in flood_area["reached"]], rows


def test_person_trigger_shows_its_household(h):
    worker = h.member(birth="1985-05-05", employed=True, labor_capacity=True)
    hh = h.submit_ok(h.report([worker], area=area()))
    h.wait_complete(hh["case_id"], timeout=60)
    t = h.call("trigger.submit", {"kind": "unemployment", "id_number": worker["id_number"]},
               h.rid("unemp"), timeout=30)
    assert t["ok"] and t["result"]["cases"] == 1, t
    h.wait_complete(hh["case_id"], timeout=60)
    g = h.call("trigger.get", {"trigger_id": t["result"]["trigger_id"]})["result"]
    assert g["kind"] == "unemployment" and g["id_masked"] == h.mask(worker["id_number"])
    [x] = g["households"]
    assert x["case_id"] == hh["case_id"] and x["report_id"] == t["result"]["report_id"]
    assert x["referrals"] and sum(g["outcomes"].values()) == len(x["referrals"])
    lst = h.call("triggers.list", {"kind": "unemployment"})["result"]["triggers"]
    [mine] = [y for y in lst if y["trigger_id"] == g["trigger_id"]]
    assert mine["case_id"] == hh["case_id"] and "id_masked" not in mine
    assert worker["id_number"] not in json.dumps(lst)
    # aidctl: the readable views
    p = aidctl(h, "trigger", "show", g["trigger_id"])
    assert p.returncode == 0, p.stderr
    assert hh["case_id"] in p.stdout and h.mask(worker["id_number"]) in p.stdout
    assert worker["id_number"] not in p.stdout
    p = aidctl(h, "trigger", "list", "unemployment")
    assert p.returncode == 0 and g["trigger_id"] in p.stdout, p.stdout + p.stderr
    p = aidctl(h, "--json", "trigger", "list")
    assert p.returncode == 0 and "triggers" in json.loads(p.stdout)


@pytest.mark.parametrize("op,body,code,field", [
    ("trigger.get", None, "invalid_field", "trigger_id"),
    ("trigger.get", {}, "invalid_field", "trigger_id"),
    ("trigger.get", {"trigger_id": 12}, "invalid_field", "trigger_id"),
    ("trigger.get", {"trigger_id": "trigger-999999999"}, "not_found", "trigger_id"),
    ("trigger.get", {"trigger_id": "12"}, "not_found", "trigger_id"),
    ("trigger.get", {"trigger_id": "trigger-1", "limit": 0}, "invalid_field", "limit"),
    ("trigger.get", {"trigger_id": "trigger-1", "after_case": "x"}, "invalid_field",
     "after_case"),
    ("trigger.get", {"trigger_id": "trigger-1", "x": 1}, "invalid_field", "x"),
    ("triggers.list", {"kind": "flood"}, "invalid_field", "kind"),
    ("triggers.list", {"limit": 201}, "invalid_field", "limit"),
    ("triggers.list", {"before": "trigger-"}, "invalid_field", "before"),
    ("triggers.list", {"y": 1}, "invalid_field", "y"),
])
def test_trigger_reads_name_the_field(h, op, body, code, field):
    r = h.call(op, body)
    assert r["ok"] is False and r["error"]["code"] == code, r
    assert r["error"]["field"] == field, r
