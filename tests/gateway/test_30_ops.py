"""test_30_ops.py — every other endpoint of the console: triggers, department
referrals and decisions (housing is external in this stack), live updates,
visits, caregiver scores, ledgers (JSON and CSV), disclosure, complaints,
overdue referrals, health and the audit trail — each with its reach rules."""
import datetime
import json
import threading

import requests


def month():
    return (datetime.datetime.utcnow() + datetime.timedelta(hours=8)).strftime("%Y-%m")


def housing_case(g):
    """A renting dibao household of township A: it has a housing referral,
    which waits for the housing officer (housing is external here)."""
    body = g.report()
    body["household"]["housing"] = "renting"
    res = g.file("tw_a", body)
    c = g.wait_for(lambda: next((c for c in [g.ok(g.case("admin", res["case_id"]))]
                                 if any(f["department"] == "housing" for f in c["referrals"])),
                                None), 30)
    ref = next(f for f in c["referrals"] if f["department"] == "housing")
    assert ref["status"] == "pending"
    return body, res["case_id"], ref["referral_id"]


def read_events(resp, want, out, done):
    """Collects SSE event names from a streaming response until want is seen."""
    try:
        for line in resp.iter_lines(chunk_size=1, decode_unicode=True):
            if line and line.startswith("event: "):
                out.append(line[len("event: "):])
                if out[-1] == want:
                    break
    except requests.RequestException:
        pass
    finally:
        done.set()


def test_triggers_are_for_the_county_office(g):
    c = g.login("county1")
    k = g.key("trigger-flood")
    res = g.ok(c.post("/api/triggers", {"kind": "disaster", "areas": [g.TOWN_B],
                                        "hazard": "flood"}, key=k))
    assert res["trigger_id"] and isinstance(res["cases"], int)
    again = g.ok(c.post("/api/triggers", {"kind": "disaster", "areas": [g.TOWN_B],
                                          "hazard": "flood"}, key=k))
    assert again["trigger_id"] == res["trigger_id"]
    g.err(c.post("/api/triggers", {"kind": "meteor"}), 400, "invalid_field", "kind")
    g.err(c.post("/api/triggers", {"kind": "death", "id_number": g.new_id()}), 404, "not_found")
    g.err(g.login("tw_a").post("/api/triggers", {"kind": "disaster", "areas": [g.TOWN_A],
                                                  "hazard": "flood"}), 403, "unauthorized")
    rows = g.ok(c.get("/api/audit?username=county1"))["rows"]
    assert any(r["action"] == "trigger.submit" for r in rows)


def test_pending_referrals_are_the_officers_own_masked_and_audited(g):
    body, case_id, ref = housing_case(g)
    officer = g.login("housing_officer")
    res = g.ok(officer.get("/api/referrals/pending?limit=200"))
    assert res["department"] == "housing"
    mine = [f for f in res["referrals"] if f["referral_id"] == ref]
    assert len(mine) == 1 and mine[0]["case_id"] == case_id
    text = json.dumps(res, ensure_ascii=False)
    for m in body["household"]["members"]:
        assert m["id_number"] not in text
        assert g.mask(m["id_number"]) in text
    g.err(officer.get("/api/referrals/pending?department=civil"), 403, "unauthorized",
          "department")
    g.err(officer.get("/api/referrals/pending?limit=many"), 400, "invalid_field", "limit")
    g.ok(g.login("county1").get("/api/referrals/pending?department=civil"))
    g.ok(g.login("auditor1").get("/api/referrals/pending?department=housing"))
    g.err(g.login("tw_a").get("/api/referrals/pending?department=housing"), 403, "unauthorized")
    rows = g.ok(g.login("admin").get("/api/audit?username=housing_officer"))["rows"]
    assert any(r["action"] == "referrals.read" and r["detail"] == "housing" for r in rows)


def test_a_department_officer_decides_and_the_case_updates_live(g):
    body, case_id, ref = housing_case(g)
    officer = g.login("housing_officer")
    # the live stream of the case, as the case page opens it
    viewer = g.login("tw_a")
    stream = viewer.s.get(g.URL + "/api/cases/%s/events" % case_id, stream=True, timeout=40)
    assert stream.status_code == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    events, done = [], threading.Event()
    t = threading.Thread(target=read_events, args=(stream, "update", events, done), daemon=True)
    t.start()
    g.wait_for(lambda: "hello" in events, 10)
    decision = {"case_id": case_id, "referral_id": ref, "status": "granted",
                "measures": [{"code": "housing.public_rental_or_subsidy"}], "rules": ["R-HOUSE-S"]}
    # not the civil officer's referral, nor a referral of another case
    g.err(g.login("civil_officer").post("/api/decisions", decision), 404, "not_found",
          "referral_id")
    other = g.file("tw_a")["case_id"]
    g.err(officer.post("/api/decisions", dict(decision, case_id=other)), 404, "not_found",
          "referral_id")
    g.err(officer.post("/api/decisions", {k: v for k, v in decision.items() if k != "case_id"}),
          400, "invalid_field", "case_id")
    g.err(officer.post("/api/decisions", dict(decision, rules=["R-NOT-A-RULE"])), 400,
          "invalid_field")
    k = g.key("decide-housing")
    res = g.ok(officer.post("/api/decisions", decision, key=k))
    assert res["status"] == "granted" and res["duplicate"] is False
    again = g.ok(officer.post("/api/decisions", decision, key=k))
    assert again["duplicate"] is True
    g.err(officer.post("/api/decisions", dict(decision, status="denied", measures=[],
                                              reason="no"), key=g.key("decide-other")),
          409, "conflict")
    assert done.wait(20), "no update event; got %r" % events
    assert events[-1] == "update"
    stream.close()
    c = g.ok(g.case("tw_a", case_id))
    f = next(f for f in c["referrals"] if f["referral_id"] == ref)
    assert f["status"] == "granted" and f["rules"] == ["R-HOUSE-S"]
    rows = g.ok(g.login("auditor1").get("/api/audit?case_id=" + case_id))["rows"]
    assert any(r["action"] == "decision.submit" and r["username"] == "housing_officer" for r in rows)


def test_visits_due_are_kept_to_the_township(g):
    g.file("tw_a")
    c = g.login("tw_a")
    res = g.ok(c.get("/api/visits/due"))
    assert res["township"] == g.TOWN_A and isinstance(res["visits"], list)
    for v in res["visits"]:
        assert set(v) >= {"id_masked", "name_masked", "village", "every", "due_on", "overdue"}
    g.err(c.get("/api/visits/due?township=" + g.TOWN_B), 403, "unauthorized", "township")
    res = g.ok(g.login("county1").get("/api/visits/due?township=%s&before=2099-01-01" % g.TOWN_A))
    assert res["visits"], "a dibao household has quarterly visits"
    g.ok(g.login("auditor1").get("/api/visits/due?township=" + g.TOWN_A))
    g.err(g.login("housing_officer").get("/api/visits/due?township=" + g.TOWN_A), 403,
          "unauthorized")
    g.err(g.login("county1").get("/api/visits/due?township=" + g.TOWN_A + "&before=tomorrow"),
          400, "invalid_field", "before")


def test_visits_are_recorded_for_own_township_only(g):
    body = g.report()
    g.file("tw_a", body)
    person = body["household"]["members"][0]["id_number"]
    visit = {"id_number": person, "visited_on": datetime.date.today().isoformat(),
             "visitor": "甲镇经办人", "method": "home", "living": "normal"}
    res = g.ok(g.login("tw_a").post("/api/visits", visit))
    assert res["visit_id"] and "next_due_on" in res
    g.err(g.login("tw_b").post("/api/visits", visit), 404, "not_found", "id_number")
    g.err(g.login("tw_a").post("/api/visits", dict(visit, id_number=g.new_id())), 404,
          "not_found", "id_number")
    g.err(g.login("tw_a").post("/api/visits", dict(visit, method="pigeon")), 400,
          "invalid_field", "method")
    g.err(g.login("auditor1").post("/api/visits", visit), 403, "unauthorized")


def test_caregiver_scores(g):
    tekun = g.member("1940-02-02", tekun="dispersed", self_care="semi")
    body = g.report(members=[tekun])
    body["household"]["status"]["dibao"] = "none"
    g.file("tw_a", body)
    score = {"id_number": tekun["id_number"], "month": month(), "caregiver": "王护理",
             "score": 85}
    g.err(g.login("tw_b").post("/api/caregiver-scores", score), 404, "not_found", "id_number")
    res = g.ok(g.login("tw_a").post("/api/caregiver-scores", score))
    assert res["passed"] is True and res["revoked"] is False
    g.err(g.login("tw_a").post("/api/caregiver-scores", dict(score, score=30)), 409, "conflict",
          "month")
    g.err(g.login("tw_a").post("/api/caregiver-scores", dict(score, score=101)), 400,
          "invalid_field", "score")


def test_ledger_json_and_csv(g):
    g.file("tw_a")
    c = g.login("tw_a")
    res = g.ok(c.get("/api/ledger?month=" + month()))
    assert res["township"] == g.TOWN_A and res["due_on"] == month() + "-28"
    assert all(r["township"] == g.TOWN_A for r in res["rows"])
    assert any(r["section"] == "groups" for r in res["rows"])
    g.err(c.get("/api/ledger?month=%s&township=%s" % (month(), g.TOWN_B)), 403, "unauthorized",
          "township")
    g.err(c.get("/api/ledger?month=2026-13"), 400, "invalid_field", "month")
    r = c.get("/api/ledger.csv?month=" + month())
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.headers["Content-Disposition"] == \
        'attachment; filename="ledger-%s-%s.csv"' % (g.TOWN_A, month())
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text[1:].splitlines()
    assert lines[0] == "乡镇代码,乡镇,栏目,项目代码,项目,数量,金额(元)"
    assert len(lines) == len(res["rows"]) + 1
    county = g.ok(g.login("county1").get("/api/ledger?month=" + month()))
    assert {r["township"] for r in county["rows"]} >= {g.TOWN_A}
    g.err(g.login("civil_officer").get("/api/ledger?month=" + month()), 403, "unauthorized")


def test_ledger_submission_records_who(g):
    c = g.login("tw_a")
    res = g.ok(c.post("/api/ledger/submit", {"month": month()}))
    assert res["township"] == g.TOWN_A and res["due_on"] == month() + "-28"
    assert g.ok(c.get("/api/ledger?month=" + month()))["submitted"] is True
    who = g.psql("SELECT submitted_by FROM ledger_submissions WHERE township = '%s'"
                 " ORDER BY submitted_at DESC LIMIT 1" % g.TOWN_A)
    assert who == "甲镇经办人(tw_a)"
    g.err(c.post("/api/ledger/submit", {"month": month(), "township": g.TOWN_B}), 403,
          "unauthorized", "township")


def test_disclosure_lists_no_id_numbers(g):
    body = g.report()
    g.file("tw_a", body)
    c = g.login("tw_a")
    res = g.ok(c.get("/api/disclosure?village=%s&month=%s" % (g.VILLAGE_A, month())))
    text = json.dumps(res, ensure_ascii=False)
    for r in res["rows"]:
        assert set(r) == {"village", "name_masked", "household_size", "measure", "amount_fen"}
    for m in body["household"]["members"]:
        assert m["id_number"] not in text and g.mask(m["id_number"]) not in text
    g.err(c.get("/api/disclosure?village=%s&month=%s" % (g.VILLAGE_B, month())), 403,
          "unauthorized", "village")
    g.ok(g.login("county1").get("/api/disclosure?village=%s&month=%s" % (g.VILLAGE_B, month())))


def test_complaints_register_track_and_update(g):
    case_id = g.file("tw_a")["case_id"]
    c = g.login("tw_a")
    res = g.ok(c.post("/api/complaints", {"channel": "hotline", "text": "补助未到账",
                                          "case_id": case_id}, key=g.key("complaint")))
    no = res["tracking_no"]
    assert no.startswith("TS") and res["status"] == "registered"
    g.err(g.login("tw_b").post("/api/complaints", {"channel": "hotline", "text": "x",
                                                    "case_id": case_id}), 404, "not_found",
          "case_id")
    got = g.ok(g.login("auditor1").get("/api/complaints/" + no))
    assert got["case_id"] == case_id and got["status"] == "registered"
    step = g.ok(c.post("/api/complaints/" + no, {"status": "investigating", "note": "已联系"}))
    assert step["status"] == "investigating"
    got = g.ok(c.get("/api/complaints/" + no))
    assert got["steps"][-1]["by"] == "甲镇经办人(tw_a)" and got["steps"][-1]["note"] == "已联系"
    g.err(g.login("auditor1").post("/api/complaints/" + no, {"status": "resolved"}), 403,
          "unauthorized")
    g.err(c.get("/api/complaints/TS202601-999999"), 404, "not_found")
    g.err(c.post("/api/complaints/" + no, {"status": "lost"}), 400, "invalid_field", "status")


def test_overdue_referrals(g):
    res = g.ok(g.login("tw_a").get("/api/referrals/overdue"))
    assert res["township"] == g.TOWN_A and isinstance(res["referrals"], list)
    g.err(g.login("tw_a").get("/api/referrals/overdue?township=" + g.TOWN_B), 403,
          "unauthorized", "township")
    county = g.ok(g.login("county1").get("/api/referrals/overdue"))
    assert "township" not in county
    dept = g.ok(g.login("housing_officer").get("/api/referrals/overdue"))
    assert all(f["department"] == "housing" for f in dept["referrals"])


def test_health(g):
    res = g.ok(g.login("auditor1").get("/api/health"))
    assert res["status"] in ("ok", "degraded") and res["database"] == "ok"


def test_audit_trail_listing(g):
    rows = g.ok(g.login("county1").get("/api/audit?limit=5"))["rows"]
    assert 0 < len(rows) <= 5
    assert set(rows[0]) == {"audit_id", "at", "username", "role", "action", "case_id", "detail",
                            "client"}
    ids = [r["audit_id"] for r in rows]
    assert ids == sorted(ids, reverse=True)
