"""test_33_reach.py — reach: who may read and change what, by township
(issue 14, points 5 and 6; migrations 050 and 051).

A caseworker of one township, signed in to the web console of the stack,
attacks another township's data the two ways the issue found:
  - complaints: reading and moving on another township's complaint by its
    (sequential) tracking number must answer 404 exactly as a number that
    does not exist, and change nothing;
  - filing a one-member report in their own township naming a person of
    another township's household: the report is kept and decided, but the
    filer sees only their own report and its outcome, the household stays
    registered where it was (reach, rosters), and the case's township gets a
    possible move (住址变更) to confirm or reject, each decision audited.
Each township is drawn at random per run, so earlier runs on the same stack
and the other tests (township 520123101) do not mix in.
"""
import json
import os
import random
import subprocess

import pytest

requests = pytest.importorskip("requests")

COUNTY = "520123"
_rng = random.SystemRandom()
_t = _rng.sample(range(200, 1000), 2)
TOWN_A, TOWN_B = COUNTY + "%03d" % _t[0], COUNTY + "%03d" % _t[1]
PASSWORD = "reach-test-Passw0rd!"


def _run_tag():
    return "%06x" % _rng.getrandbits(24)


TAG = _run_tag()
USERS = {"a": ("r33a" + TAG, TOWN_A), "b": ("r33b" + TAG, TOWN_B)}


class Console:
    """One signed-in browser session of the web console."""

    def __init__(self, url, username, password):
        self.url = url
        self.s = requests.Session()
        r = self.s.get(url + "/api/session", timeout=15)
        r.raise_for_status()
        csrf = r.json()["result"]["csrf"]
        r = self.s.post(url + "/api/login", json={"username": username, "password": password},
                        headers={"X-CSRF-Token": csrf}, timeout=30)
        assert r.status_code == 200, r.text
        self.csrf = r.json()["result"]["csrf"]

    def get(self, path):
        return self.s.get(self.url + path, timeout=30)

    def post(self, path, body):
        return self.s.post(self.url + path, json=body, headers={"X-CSRF-Token": self.csrf},
                           timeout=30)


def ok(r):
    assert r.status_code == 200, "%s %s: %d %s" % (r.request.method, r.url, r.status_code, r.text)
    return r.json()["result"]


def not_found(r):
    assert r.status_code == 404, "%s %s: %d %s" % (r.request.method, r.url, r.status_code, r.text)
    return r.json()["error"]


@pytest.fixture(scope="module")
def web(h):
    url = os.environ.get("AID_GATEWAY_URL")
    if not url:
        pytest.skip("the stack runs no web console (AID_GATEWAY_URL)")
    aidctl = os.path.join(h.ROOT, "bin", "aidctl")
    for name, town in USERS.values():
        p = subprocess.run([aidctl, "user", "add", name, "township", town, "经办人"],
                           input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
    h.wait_health("ok", 30)
    return {
        "a": Console(url, USERS["a"][0], PASSWORD),
        "b": Console(url, USERS["b"][0], PASSWORD),
        "county": Console(url, os.environ["AID_ADMIN_USER"], os.environ["AID_ADMIN_PASSWORD"]),
    }


def area(town):
    return {"county": COUNTY, "township": town, "village": town + "001"}


def household(h, town, members):
    return h.report(members, area=area(town), status={"dibao": "full"})


def file_in_a(h, web):
    """A household of two filed by township A's caseworker, fully decided."""
    body = household(h, TOWN_A, [h.member("1950-03-01", name="王秀兰"),
                                 h.member("1985-07-09", name="李建国")])
    res = ok(web["a"].post("/api/reports", body))
    h.wait_complete(res["case_id"], timeout=60)
    return res, [m["id_number"] for m in body["household"]["members"]]


def junk_report(h, web, id_number):
    """Township B's one-member report naming a person of A's household."""
    body = household(h, TOWN_B, [h.member(id_number=id_number, name="王某")])
    return ok(web["b"].post("/api/reports", body))


def moves_of(h, case_id, township=None):
    body = {"township": township} if township else {}
    r = h.call("move.queue", body)
    assert r.get("ok") is True, r
    return [m for m in r["result"]["moves"] if m["case_id"] == case_id]


def roster_township(h, case_id):
    return h.psql_value("SELECT township FROM aid_roster(NULL, %d, 'infinity')"
                        % h.num(case_id))


# ------------------------------------------------------------------ point 5: complaints

def test_complaint_of_another_township_is_not_found_and_unchanged(h, web):
    res, ids = file_in_a(h, web)
    text = "王秀兰反映低保金未到账,联系电话13800138000"
    no = ok(web["a"].post("/api/complaints", {"channel": "hotline", "text": text,
                                              "case_id": res["case_id"]}))["tracking_no"]
    missing = no[:9] + "9" * (len(no) - 9)            # well-formed, never issued
    e_missing = not_found(web["b"].get("/api/complaints/" + missing))
    # B reads A's complaint: 404, word for word as a number that does not exist
    e = not_found(web["b"].get("/api/complaints/" + no))
    assert e == e_missing, (e, e_missing)
    assert "13800138000" not in str(e)
    # B moves it on: 404 as well, and nothing is recorded
    e = not_found(web["b"].post("/api/complaints/" + no, {"status": "investigating",
                                                          "note": "已受理"}))
    assert e == not_found(web["b"].post("/api/complaints/" + missing,
                                        {"status": "investigating"})), e
    c = ok(web["county"].get("/api/complaints/" + no))
    assert c["status"] == "registered" and len(c["steps"]) == 1, c
    # the contract says the same to any client giving B's township
    r = h.call("complaint.get", {"tracking_no": no, "township": TOWN_B})
    r2 = h.call("complaint.get", {"tracking_no": missing, "township": TOWN_B})
    assert h.error_of(r) == h.error_of(r2) and h.error_of(r)["code"] == "not_found", (r, r2)
    # A, whose case it is, reads and moves it on; the county as before
    assert ok(web["a"].get("/api/complaints/" + no))["text"] == text
    assert ok(web["a"].post("/api/complaints/" + no, {"status": "investigating"}))["step"] == 2
    assert ok(web["county"].post("/api/complaints/" + no, {"status": "resolved"}))["step"] == 3
    assert ok(web["county"].get("/api/complaints/" + no))["status"] == "resolved"


def test_complaint_without_a_case_belongs_to_its_filers_township(h, web):
    no = ok(web["a"].post("/api/complaints", {"channel": "visit",
                                              "text": "村委会未公示评议结果"}))["tracking_no"]
    assert ok(web["a"].get("/api/complaints/" + no))["status"] == "registered"
    not_found(web["b"].get("/api/complaints/" + no))
    not_found(web["b"].post("/api/complaints/" + no, {"status": "investigating"}))
    assert ok(web["county"].get("/api/complaints/" + no))["status"] == "registered"
    # a county complaint names no township: county staff only
    no2 = ok(web["county"].post("/api/complaints", {"channel": "mailbox",
                                                    "text": "县级来信"}))["tracking_no"]
    not_found(web["a"].get("/api/complaints/" + no2))
    assert ok(web["county"].get("/api/complaints/" + no2))["status"] == "registered"


# ------------------------------------------------------------------ point 6: reach by filing

def test_junk_report_gains_no_reach_and_waits_as_a_move(h, web):
    res, (p1, p2) = file_in_a(h, web)
    case_id = res["case_id"]
    assert len(ok(web["a"].get("/api/cases/" + case_id))["persons"]) == 2
    not_found(web["b"].get("/api/cases/" + case_id))

    junk = junk_report(h, web, p1)
    assert junk["case_id"] == case_id                  # one household, one case, as before
    h.wait_complete(case_id, timeout=60)               # kept and decided as any report

    # B sees their own report and its outcome, nothing else of the case
    seen = ok(web["b"].get("/api/cases/" + case_id))
    assert {f["report_id"] for f in seen["referrals"]} == {junk["report_id"]}, seen
    assert [p["id_masked"] for p in seen["persons"]] == [h.mask(p1)], seen["persons"]
    assert seen["complete"] is True
    assert seen["area"] == {"case_id": case_id, "townships": [TOWN_B],
                            "villages": [TOWN_B + "001"], "own_reports_only": True}, seen["area"]
    # the contract says the same to any client giving B's township
    mine = h.call("case.get", {"case_id": case_id, "township": TOWN_B})["result"]
    assert {f["report_id"] for f in mine["referrals"]} == {junk["report_id"]}, mine
    assert h.call("case.get", {"id_number": p1, "township": TOWN_B})["result"] == mine
    e = h.error_of(h.call("case.get", {"id_number": p2, "township": TOWN_B}))
    assert (e["code"], e["field"]) == ("not_found", "id_number"), e
    e = h.error_of(h.call("case.get", {"case_id": case_id, "township": COUNTY + "100"}))
    assert (e["code"], e["field"]) == ("not_found", "case_id"), e
    # no visit or caregiver score for the household either: that is its township's work
    not_found(web["b"].post("/api/visits", {"id_number": p1}))
    not_found(web["b"].post("/api/caregiver-scores", {"id_number": p1}))
    # … and no one else of it by ID number
    not_found(web["b"].post("/api/cases/lookup", {"id_number": p2}))
    assert ok(web["b"].post("/api/cases/lookup", {"id_number": p1}))["persons"][0][
        "id_masked"] == h.mask(p1)

    # A still sees the whole case, registered in A
    full = ok(web["a"].get("/api/cases/" + case_id))
    assert len(full["persons"]) == 2 and full["area"]["township"] == TOWN_A
    assert junk["report_id"] in {f["report_id"] for f in full["referrals"]}
    # the household stays in A's rosters (ledgers, visits, disclosure lists)
    assert roster_township(h, case_id) == TOWN_A

    # one possible move, in A's queue, not B's; B cannot decide it
    (mv,) = moves_of(h, case_id, TOWN_A)
    assert (mv["report_id"], mv["township"], mv["to_township"], mv["to_village"]) == \
        (junk["report_id"], TOWN_A, TOWN_B, TOWN_B + "001"), mv
    assert moves_of(h, case_id, TOWN_B) == []
    assert [m["move_id"] for m in ok(web["a"].get("/api/moves"))["moves"]
            if m["case_id"] == case_id] == [mv["move_id"]]
    assert [m for m in ok(web["b"].get("/api/moves"))["moves"] if m["case_id"] == case_id] == []
    not_found(web["b"].post("/api/moves/" + mv["move_id"], {"decision": "confirm"}))
    assert ok(web["a"].get("/api/cases/" + case_id))["area"]["township"] == TOWN_A

    # A rejects it: kept as it was, decided once, audited (who, decision, why)
    r = ok(web["a"].post("/api/moves/" + mv["move_id"],
                         {"decision": "reject", "note": "户籍与居住地均未变更"}))
    assert (r["decision"], r["case_id"], r["township"]) == ("reject", case_id, TOWN_A), r
    assert moves_of(h, case_id) == []
    e = h.error_of(h.call("move.decide", {"move_id": mv["move_id"], "decision": "confirm",
                                          "by": "县民政局"}, h.rid("move")))
    assert (e["code"], e["field"]) == ("conflict", "move_id"), e
    assert ok(web["a"].get("/api/cases/" + case_id))["area"]["township"] == TOWN_A
    assert roster_township(h, case_id) == TOWN_A
    not_found(web["b"].post("/api/cases/lookup", {"id_number": p2}))
    trail = h.psql("SELECT who, action, detail FROM aid_audit WHERE case_id = %d"
                   " AND action LIKE 'move.%%' ORDER BY at, action DESC" % h.num(case_id))
    assert [t[1] for t in trail] == ["move.reported", "move.reject", "move.decide"], trail
    assert USERS["a"][0] in trail[1][0] and "户籍与居住地均未变更" in trail[1][2], trail
    # the console's own trail names who decided which move, and how
    rows = h.psql("SELECT username, detail FROM gateway_audit WHERE action = 'move.decide'"
                  " AND case_id IN ('%s', '%d')" % (case_id, h.num(case_id)))
    assert rows == [[USERS["a"][0], rows[0][1]]] and rows[0][1].endswith(
        mv["move_id"] + " reject"), rows


def test_junk_report_leaves_the_household_in_its_township(h, web):
    res, (p1, _) = file_in_a(h, web)
    junk_report(h, web, p1)
    h.wait_complete(res["case_id"], timeout=60)
    # the roster behind ledgers, visit plans and disclosure lists
    assert roster_township(h, res["case_id"]) == TOWN_A
    visits_b = h.call("visits.due", {"township": TOWN_B, "before": "2100-01-01"})
    assert visits_b.get("ok") is True, visits_b
    assert h.mask(p1) not in {v["id_masked"] for v in visits_b["result"]["visits"]}


def test_confirmed_move_registers_the_case_in_the_new_township(h, web):
    res, (p1, p2) = file_in_a(h, web)
    case_id = res["case_id"]
    junk = junk_report(h, web, p2)
    h.wait_complete(case_id, timeout=60)
    (mv,) = moves_of(h, case_id, TOWN_A)
    # the county may decide too; here A confirms
    r = ok(web["a"].post("/api/moves/" + mv["move_id"], {"decision": "confirm",
                                                         "note": "已迁居乙镇"}))
    assert (r["decision"], r["township"]) == ("confirm", TOWN_B), r
    # the reach follows the residence: B sees the whole case, A only its own reports
    full = ok(web["b"].get("/api/cases/" + case_id))
    assert len(full["persons"]) == 2 and full["area"]["township"] == TOWN_B
    mine = ok(web["a"].get("/api/cases/" + case_id))
    assert junk["report_id"] not in {f["report_id"] for f in mine["referrals"]}
    assert {f["report_id"] for f in mine["referrals"]} == {res["report_id"]}
    assert roster_township(h, case_id) == TOWN_B
    trail = h.psql("SELECT who, action FROM aid_audit WHERE case_id = %d"
                   " AND action LIKE 'move.%%' ORDER BY at, action DESC" % h.num(case_id))
    # intake's record of the move and its decision, and the console's of who clicked
    assert [t[1] for t in trail] == ["move.reported", "move.confirm", "move.decide"], trail
    assert USERS["a"][0] in trail[1][0] and trail[2][0] == USERS["a"][0] + " (township)", trail


def test_move_contract_errors(h):
    def err(body, id="x"):
        return h.error_of(h.call("move.decide", body, h.rid(id) if id else None))
    e = err({"move_id": "12", "decision": "confirm", "by": "x"})
    assert (e["code"], e["field"]) == ("invalid_field", "move_id"), e
    e = err({"move_id": "move-1", "decision": "maybe", "by": "x"})
    assert (e["code"], e["field"]) == ("invalid_field", "decision"), e
    e = err({"move_id": "move-1", "decision": "reject", "by": ""})
    assert (e["code"], e["field"]) == ("invalid_field", "by"), e
    e = err({"move_id": "move-1", "decision": "reject", "by": "x", "township": "5201"})
    assert (e["code"], e["field"]) == ("invalid_field", "township"), e
    e = err({"move_id": "move-999999999", "decision": "reject", "by": "x"})
    assert (e["code"], e["field"]) == ("not_found", "move_id"), e
    e = err({"move_id": "move-1", "decision": "reject", "by": "x"}, id=None)
    assert (e["code"], e["field"]) == ("invalid_field", "id"), e
    e = h.error_of(h.call("move.queue", {"township": "x"}))
    assert (e["code"], e["field"]) == ("invalid_field", "township"), e
    e = h.error_of(h.call("case.area", {"case_id": "case-1", "township": TOWN_A}))
    assert (e["code"], e["field"]) == ("invalid_field", "township"), e


def test_aidctl_lists_and_decides_moves(h, web):
    res, (p1, _) = file_in_a(h, web)
    junk_report(h, web, p1)
    aidctl = os.path.join(h.ROOT, "bin", "aidctl")

    def run(*args):
        p = subprocess.run([aidctl] + list(args), capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p.stdout
    moves = [m for m in json.loads(run("--json", "move", "queue", TOWN_A))["moves"]
             if m["case_id"] == res["case_id"]]
    assert len(moves) == 1, moves
    assert moves[0]["move_id"] in run("move", "queue", TOWN_A)
    out = run("move", "decide", moves[0]["move_id"], "reject", "县民政局", "误报")
    assert "reject" in out and TOWN_A in out, out
    assert moves_of(h, res["case_id"]) == []
