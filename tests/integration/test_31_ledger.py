"""test_31_ledger.py — caregiver scores, the monthly ledger and the public
list (POLICY.md §12–13: R-CAREGIVER, R-LEDGER-MONTHLY, R-DISCLOSE;
proto/CARE.md).

The heart of it is a simulated month in a township of its own: five
households (a dispersed and a centralized tekun person, a dibao family with
a student, an urgent accident, an orphan), visits, one failed caregiver and
a complaint; then the ledger and the public list are compared with figures
this file computes on its own — groups by the rules of §1, visits from the
plans it knows, decisions and amounts from the case views (case.get), the
public list from the measures it may show.
"""
import collections
import csv
import datetime
import io
import os
import random
import re
import subprocess

import pytest

ID_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
DISCLOSED = {"civil.dibao_supplement", "civil.tekun_support", "tempaid.emergency_cash",
             "tempaid.expenditure_cash", "education.preschool", "education.compulsory",
             "education.senior", "education.vocational", "education.higher"}


# ------------------------------------------------------------------ helpers

def china_now():
    return datetime.datetime.utcnow() + datetime.timedelta(hours=8)


def china_today():
    return china_now().date()


def add_months(d, n):
    total = d.year * 12 + d.month - 1 + n
    y, m = divmod(total, 12)
    m += 1
    last = (datetime.date(y + (m == 12), m % 12 + 1, 1) - datetime.timedelta(days=1)).day
    return datetime.date(y, m, min(d.day, last))


def month_of(decided_at):
    """The China-time month of a case.get decided_at ("…Z", UTC)."""
    t = datetime.datetime.strptime(decided_at, "%Y-%m-%dT%H:%M:%SZ") + datetime.timedelta(hours=8)
    return t.strftime("%Y-%m")


def new_township(h):
    for _ in range(200):
        t = "520123%03d" % random.randrange(200, 1000)
        if h.psql_value("select count(*) from reports where township = %s" % h.q(t)) == "0":
            return t
    raise AssertionError("no free township code")


def area(township, village=1):
    return {"county": township[:6], "township": township, "village": "%s%03d" % (township, village)}


def household(h, township, members, as_of, village=1, **kw):
    body = h.report(members, as_of=as_of.isoformat(), **kw)
    body["area"] = area(township, village)
    return body


def file(h, body):
    res = h.submit_ok(body)
    h.wait_complete(res["case_id"])
    return res


def name_mask(name):
    return name[0] + "*" * (len(name) - 1)


def ok(r):
    assert r.get("ok") is True, r
    return r["result"]


def score(h, id_number, month, value, caregiver="护理员张", id=None):
    return h.call("caregiver.score", {"id_number": id_number, "month": month,
                                      "caregiver": caregiver, "score": value}, id or h.rid("score"))


def aidctl(h, *args):
    env = dict(os.environ)
    return subprocess.run([os.path.join(h.ROOT, "bin", "aidctl")] + list(args), env=env,
                          capture_output=True, text=True, timeout=30)


# ------------------------------------------------------------------ caregiver.score

@pytest.fixture(scope="module")
def tekun(h):
    """A registered dispersed tekun person, a centralized one and a dibao member."""
    t = new_township(h)
    first = add_months(china_today(), -1)
    d = h.member(birth="1944-04-04", name="高大爷", tekun="dispersed", self_care="semi")
    c = h.member(birth="1945-05-05", name="高二爷", tekun="centralized")
    s = h.member(birth="1960-06-06", name="高大婶")
    file(h, household(h, t, [d], first))
    file(h, household(h, t, [c], first))
    file(h, household(h, t, [s], first, status={"dibao": "partial"}))
    return {"dispersed": d, "centralized": c, "dibao": s}


def test_caregiver_score_rejects_bad_input(h, tekun):
    pid = tekun["dispersed"]["id_number"]
    this = china_today().strftime("%Y-%m")
    nxt = add_months(china_today().replace(day=1), 1).strftime("%Y-%m")
    cases = [
        (101, this, "score"), (-1, this, "score"), ("80", this, "score"),
        (80, "2026-13", "month"), (80, "2026-1", "month"), (80, "202611", "month"),
        (80, "2026/11", "month"), (80, "2026-11-01", "month"), (80, "", "month"),
        (80, nxt, "month"),
    ]
    for value, month, field in cases:
        e = h.error_of(score(h, pid, month, value))
        assert e["code"] == "invalid_field" and e["field"] == field, (value, month, e)
    e = h.error_of(h.call("caregiver.score", {"id_number": pid, "month": this, "score": 80},
                          h.rid()))
    assert e["code"] == "invalid_field" and e["field"] == "caregiver", e
    e = h.error_of(score(h, pid, this, 80, caregiver=""))
    assert e["code"] == "invalid_field" and e["field"] == "caregiver", e
    e = h.error_of(score(h, pid[:10], this, 80))
    assert e["code"] == "invalid_field" and e["field"] == "id_number", e
    # an unknown person
    e = h.error_of(score(h, h.new_id("1950-01-01"), this, 80))
    assert e["code"] == "not_found" and e["field"] == "id_number", e
    # only dispersed tekun persons have a scored caregiver
    for who in ("centralized", "dibao"):
        e = h.error_of(score(h, tekun[who]["id_number"], this, 80))
        assert e["code"] == "invalid_field" and e["field"] == "id_number", e
        assert "dispersed tekun" in e["message"], e
    assert h.psql_value("select count(*) from caregiver_scores where id_hash = %s" % h.idh(pid)) == "0"


def test_caregiver_score_once_per_person_and_month(h, tekun):
    pid = tekun["dispersed"]["id_number"]
    last_month = add_months(china_today().replace(day=1), -2).strftime("%Y-%m")
    rid = h.rid("score")
    first = ok(score(h, pid, last_month, 80, id=rid))
    assert first == {"passed": True, "revoked": False, "score": 80, "pass_mark": 60,
                     "duplicate": False}, first
    # the same request again: the stored answer
    again = ok(score(h, pid, last_month, 80, id=rid))
    assert again["duplicate"] is True and again["passed"] is True
    # another request for the same person and month: conflict, whatever the score
    for value in (80, 30):
        e = h.error_of(score(h, pid, last_month, value))
        assert e["code"] == "conflict" and e["field"] == "month", e
    # the pass mark itself passes
    edge = add_months(china_today().replace(day=1), -3).strftime("%Y-%m")
    assert ok(score(h, pid, edge, 60))["passed"] is True
    assert h.psql_value("select count(*) from caregiver_scores where id_hash = %s" % h.idh(pid)) == "2"
    # no revocation for a pass
    case = ok(h.case_get(id_number=pid))
    assert all(f["department"] != "care" or "R-CAREGIVER" not in f["rules"]
               for f in case["referrals"]), case


def test_failing_score_revokes_the_caregiver_at_once(h, tekun):
    pid = tekun["dispersed"]["id_number"]
    month = add_months(china_today().replace(day=1), -1).strftime("%Y-%m")
    res = ok(score(h, pid, month, 59))
    assert res["passed"] is False and res["revoked"] is True and res["pass_mark"] == 60, res
    # the decision is in the case, citing R-CAREGIVER, for that person
    case = ok(h.case_get(id_number=pid))
    revs = [f for f in case["referrals"] if f["referral_id"] == res["referral_id"]]
    assert len(revs) == 1, case
    f = revs[0]
    assert f["department"] == "care" and f["status"] == "granted" and f["rules"] == ["R-CAREGIVER"]
    assert f["measures"] == [{"code": "care.caregiver_revoked", "id_masked": h.mask(pid),
                              "amount_fen": 0, "period": "once", "form": "service"}], f
    assert "59" in f["reason"] and "revoked" in f["reason"] and f["decided_at"], f
    # decided by the score, exactly once; and a task to find a new caregiver
    assert h.psql("select decided_by from decisions where referral_id = %d"
                  % h.num(res["referral_id"])) == [["caregiver.score"]]
    assert h.psql("select kind, status, referral_id from care_tasks where task_id = %d"
                  % h.num(res["task_id"])) == [["find_caregiver", "open",
                                                 str(h.num(res["referral_id"]))]]
    # the score and the revocation are append-only
    p = subprocess.run(["psql", h.PG_DSN, "-X", "-q", "-c",
                        "update caregiver_scores set score = 90 where id_hash = %s" % h.idh(pid)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "append-only" in p.stderr, p.stderr


# ------------------------------------------------------------------ bad ledger and list queries

@pytest.mark.parametrize("op,body,field", [
    ("ledger.monthly", {}, "month"),
    ("ledger.monthly", {"month": "2026-13"}, "month"),
    ("ledger.monthly", {"month": "2026-11", "township": "5201231"}, "township"),
    ("ledger.monthly", {"month": "Nov 2026"}, "month"),
    ("ledger.monthly", {"month": 202611}, "month"),
    ("disclosure.list", {"month": "2026-11"}, "village"),
    ("disclosure.list", {"village": "520123101", "month": "2026-11"}, "village"),
    ("disclosure.list", {"village": "520123101001", "month": "2026-00"}, "month"),
    ("disclosure.list", {"village": "520123101001", "month": "2026-11", "id": 1}, "id"),
])
def test_ledger_and_list_reject_bad_input(h, op, body, field):
    e = h.error_of(h.call(op, body))
    assert e["code"] == "invalid_field" and e["field"] == field, e


def test_ledger_submit_rejects_bad_input(h):
    this = china_today().strftime("%Y-%m")
    nxt = add_months(china_today().replace(day=1), 1).strftime("%Y-%m")
    for body, field in [({"month": this, "township": "520123101"}, "by"),
                        ({"month": this, "township": "520123101", "by": ""}, "by"),
                        ({"month": nxt, "township": "520123101", "by": "x"}, "month"),
                        ({"month": "2026-1", "township": "520123101", "by": "x"}, "month"),
                        ({"month": this, "by": "x"}, "township")]:
        e = h.error_of(h.call("ledger.submit", body, h.rid()))
        assert e["code"] == "invalid_field" and e["field"] == field, (body, e)


def test_departments_submit_their_ledgers_and_the_county_sees_who_has_not(h):
    """R-LEDGER-MONTHLY: each township's and each department's ledger; the county's
    ledger lists who has not submitted (missing), and aidctl shows it."""
    month, town = "2024-03", new_township(h)
    file(h, household(h, town, [h.member(birth="1950-01-01", name="周一")],
                      datetime.date(2024, 2, 10)))
    other = new_township(h)
    file(h, household(h, other, [h.member(birth="1951-01-01", name="周二")],
                      datetime.date(2024, 2, 11)))
    r = ok(h.call("ledger.submit", {"month": month, "department": "housing", "by": "住建局"},
                  h.rid()))
    assert r["department"] == "housing" and r["due_on"] == "2024-03-28" and r["late"] is True, r
    ok(h.call("ledger.submit", {"month": month, "township": town, "by": "乡镇民政办"}, h.rid()))
    e = h.error_of(h.call("ledger.submit", {"month": month, "department": "housing", "by": "x"},
                          h.rid()))
    assert e["code"] == "conflict" and e["field"] == "department", e
    for body, field in [({"month": month, "by": "x"}, "township"),
                        ({"month": month, "township": town, "department": "civil", "by": "x"},
                         "department"),
                        ({"month": month, "department": "police", "by": "x"}, "department")]:
        e = h.error_of(h.call("ledger.submit", body, h.rid()))
        assert e["code"] == "invalid_field" and e["field"] == field, (body, e)
    county = ok(h.call("ledger.monthly", {"month": month}))
    miss = county["missing"]
    assert "housing" not in miss["departments"] and "civil" in miss["departments"], miss
    assert other in miss["townships"] and town not in miss["townships"], miss
    assert "missing" not in ok(h.call("ledger.monthly", {"month": month, "township": town}))
    p = aidctl(h, "ledger", month)
    assert p.returncode == 0, p.stderr
    line = [x for x in p.stdout.splitlines() if "departments not submitted" in x]
    assert line and " civil" in line[0] and "housing" not in line[0], p.stdout
    p = aidctl(h, "ledger", "submit", month, "medical", "医保局")
    assert p.returncode == 0 and "medical" in p.stdout, (p.stdout, p.stderr)
    assert "medical" not in ok(h.call("ledger.monthly", {"month": month}))["missing"]["departments"]


# ------------------------------------------------------------------ a simulated month

@pytest.fixture(scope="module")
def month(h):
    """Files the month's households, visits, scores and complaint in a new
    township; returns what the test needs to compute the figures."""
    t = new_township(h)
    today = china_today()
    first = today.replace(day=1)
    m = first.strftime("%Y-%m")
    hh = {}
    # H1 dispersed tekun person (semi self-care) and a relative: monthly plan
    # since a month before → due on the 1st
    hh["H1"] = [h.member(birth="1944-02-02", name="赵守田", tekun="dispersed", self_care="semi"),
                h.member(birth="1974-02-02", name="赵成")]
    # H2 centralized tekun person: due on the 6th
    hh["H2"] = [h.member(birth="1946-03-03", name="钱永福", tekun="centralized")]
    # H3 dibao family: elderly (supplement B), adult, pupil (B and education
    # aid); quarterly plans since three months → due on the 1st
    hh["H3"] = [h.member(birth="1950-04-04", name="孙桂兰"),
                h.member(birth="1986-05-05", name="孙建国"),
                h.member(birth=add_months(today, -12 * 10).isoformat(), name="孙小明",
                         school_stage="compulsory")]
    # H4 an urgent accident in an ordinary family: O1, emergency cash
    hh["H4"] = [h.member(birth="1980-06-06", name="李大山", monthly_income_fen=300000),
                h.member(birth="1982-07-07", name="李秀英", monthly_income_fen=300000)]
    # H5 an orphan in the second village, first reported this month: not due
    hh["H5"] = [h.member(birth=add_months(today, -12 * 9).isoformat(), name="周小雨", orphan=True)]
    as_of = {"H1": add_months(first, -1), "H2": add_months(first, -1) + datetime.timedelta(days=5),
             "H3": add_months(first, -3), "H4": first, "H5": first}
    extra = {"H3": {"status": {"dibao": "partial"}},
             "H4": {"urgency": "urgent", "circumstances": [{"kind": "accident"}]}}
    cases = {}
    for k, members in hh.items():
        body = household(h, t, members, as_of[k], village=2 if k == "H5" else 1, **extra.get(k, {}))
        cases[k] = h.submit_ok(body)["case_id"]
    for k in cases:
        h.wait_complete(cases[k])
    # the benefits sweep starts the granted households' entitlements a moment after
    # their decisions: the ledger's benefits rows count them, so two readings of the
    # ledger agree only once it has
    h.wait_swept(cases.values())
    # visits of the month: the dispersed tekun person and the dibao elder
    # (both due), the orphan (not due yet)
    for who in (hh["H1"][0], hh["H3"][0], hh["H5"][0]):
        ok(h.call("visit.record", {"id_number": who["id_number"], "visited_on": today.isoformat(),
                                   "visitor": "网格员王", "method": "home"}, h.rid("v")))
    # the dispersed tekun person's caregiver fails this month
    rev = ok(score(h, hh["H1"][0]["id_number"], m, 40))
    assert rev["revoked"] is True
    # a complaint about the dibao family, followed to its result
    tn = ok(h.call("complaint.submit", {"channel": "hotline", "text": "低保金发放延迟",
                                        "case_id": cases["H3"]}, h.rid("c")))["tracking_no"]
    ok(h.call("complaint.update", {"tracking_no": tn, "status": "investigating", "by": "民政办刘",
                                   "note": "已联系乡镇核实"}, h.rid("c")))
    ok(h.call("complaint.update", {"tracking_no": tn, "status": "resolved", "by": "民政办刘",
                                   "note": "已补发"}, h.rid("c")))
    views = {k: ok(h.case_get(case_id=c)) for k, c in cases.items()}
    return {"township": t, "month": m, "first": first, "hh": hh, "cases": cases, "views": views,
            "tracking_no": tn, "revocation": rev}


def expected_ledger(h, sim):
    """Every row of the township's ledger, computed here: (section, item) →
    (count, amount_fen)."""
    want = {}
    # groups by POLICY.md §1, person by person
    groups = collections.Counter({"S2": 2, "S1": 3, "O1": 2, "S4": 1, "S8": 1})
    for g, n in groups.items():
        want[("groups", g)] = (n, 0)
    want[("groups", "any")] = (1 + 1 + 3 + 2 + 1, 0)
    # the same from the case views
    seen = collections.Counter(g for v in sim["views"].values() for p in v["persons"]
                               for g in p["groups"])
    assert seen == groups, seen
    # visits: due in the month = H1 tekun (1st), H2 (6th), H3 × 3 (1st); the
    # orphan is due next month. Done: H1 tekun and the H3 elder. Recorded: 3.
    want[("visits", "due")] = (5, 0)
    want[("visits", "done")] = (2, 0)
    want[("visits", "rate_pct")] = (40, 0)
    want[("visits", "recorded")] = (3, 0)
    # decisions and measures of the month, from the case views
    dec, meas = collections.Counter(), collections.defaultdict(lambda: [0, 0])
    for v in sim["views"].values():
        for f in v["referrals"]:
            if not f["decided_at"] or month_of(f["decided_at"]) != sim["month"]:
                continue
            dec["%s.%s" % (f["department"], f["status"])] += 1
            if f["status"] == "granted":
                for x in f["measures"]:
                    meas[x["code"]][0] += 1
                    meas[x["code"]][1] += x["amount_fen"]
    for k, n in dec.items():
        want[("decisions", k)] = (n, 0)
    for k, (n, amount) in meas.items():
        want[("measures", k)] = (n, amount)
    # the revocation is one of them
    assert meas["care.caregiver_revoked"] == [1, 0]
    # centralized care: H2 centralized, H1 dispersed → 50% against 60%
    want[("central_care", "centralized")] = (1, 0)
    want[("central_care", "dispersed")] = (1, 0)
    want[("central_care", "rate_pct")] = (50, 0)
    want[("central_care", "target_pct")] = (60, 0)
    return want


def test_monthly_ledger_matches_the_month(h, month):
    sim = month
    res = ok(h.call("ledger.monthly", {"month": sim["month"], "township": sim["township"]}))
    assert res["month"] == sim["month"] and res["township"] == sim["township"]
    assert res["due_on"] == sim["month"] + "-28"
    assert res["submitted"] is False
    got = {}
    for r in res["rows"]:
        assert r["township"] == sim["township"], r
        if r["section"] == "benefits":
            continue    # the entitlements and payroll figures: test_52_twelve_months
        key = (r["section"], r["item"])
        assert key not in got, "row twice: %r" % (key,)
        got[key] = (r["count"], r["amount_fen"])
    want = expected_ledger(h, sim)
    assert got == want, "\n".join("%s: got %s want %s" % (k, got.get(k), want.get(k))
                                  for k in sorted(set(got) | set(want)) if got.get(k) != want.get(k))
    # spot checks a township clerk would make
    assert got[("measures", "civil.tekun_support")] == (2, 2 * 112800)
    assert got[("measures", "tempaid.emergency_cash")] == (1, 3 * 70500 * 2)
    assert got[("measures", "civil.dibao_supplement")] == (2, 2 * 14100)
    # sections in order, groups in code order
    sections = [r["section"] for r in res["rows"]]
    order = ["groups", "visits", "decisions", "measures", "central_care", "reviews", "benefits"]
    assert sections == sorted(sections, key=order.index)
    # the county view holds the same rows for this township
    county = ok(h.call("ledger.monthly", {"month": sim["month"]}))
    assert "township" not in county
    mine = [r for r in county["rows"] if r["township"] == sim["township"]]
    assert mine == res["rows"]
    # a month with nothing in it
    empty = ok(h.call("ledger.monthly", {"month": "2001-01", "township": sim["township"]}))
    assert empty["rows"] == [] and empty["submitted"] is False


def test_disclosure_lists_only_what_may_be_shown(h, month):
    sim = month
    village = area(sim["township"])["village"]
    res = ok(h.call("disclosure.list", {"village": village, "month": sim["month"]}))
    got = sorted((r["village"], r["name_masked"], r["household_size"], r["measure"], r["amount_fen"])
                 for r in res["rows"])
    want = []
    for k in ("H1", "H2", "H3", "H4"):
        members = sim["hh"][k]
        amounts = collections.Counter()
        for f in sim["views"][k]["referrals"]:
            if f["status"] != "granted" or month_of(f["decided_at"]) != sim["month"]:
                continue
            for x in f["measures"]:
                if x["form"] == "cash" and x["code"] in DISCLOSED:
                    amounts[x["code"]] += x["amount_fen"]
        for code, amount in amounts.items():
            want.append((village, name_mask(members[0]["name"]), len(members), code, amount))
    assert got == sorted(want), (got, want)
    # the figures a villager would see on the notice board
    assert (village, "赵**", 2, "civil.tekun_support", 112800) in got
    assert (village, "孙**", 3, "civil.dibao_supplement", 2 * 14100) in got
    assert (village, "孙**", 3, "education.compulsory", 100000) in got
    assert (village, "李**", 2, "tempaid.emergency_cash", 423000) in got
    # never an ID number, a name in full, or a health or disability detail
    text = repr(res)
    assert not ID_RE.search(text)
    for members in sim["hh"].values():
        for m in members:
            assert m["name"] not in text and m["id_number"] not in text
    assert "tekun_care" not in text and "medical" not in text
    assert set(res["rows"][0]) == {"village", "name_masked", "household_size", "measure",
                                   "amount_fen"}
    # the orphan's village has no cash of the month: an empty list
    other = ok(h.call("disclosure.list", {"village": area(sim["township"], 2)["village"],
                                          "month": sim["month"]}))
    assert other["rows"] == [], other


def test_complaint_of_the_month_was_followed_to_its_result(h, month):
    c = ok(h.call("complaint.get", {"tracking_no": month["tracking_no"]}))
    assert re.fullmatch(r"TS%s-\d{6}" % month["month"].replace("-", ""), c["tracking_no"]), c
    assert c["status"] == "resolved" and c["case_id"] == month["cases"]["H3"]
    assert [(s["step"], s["status"], s["by"]) for s in c["steps"]] == [
        (1, "registered", "hotline"), (2, "investigating", "民政办刘"), (3, "resolved", "民政办刘")]


def test_aidctl_ledger_csv_and_submission(h, month):
    sim = month
    res = ok(h.call("ledger.monthly", {"month": sim["month"], "township": sim["township"]}))
    p = aidctl(h, "ledger", sim["month"], sim["township"], "--csv")
    assert p.returncode == 0, p.stderr
    rows = list(csv.reader(io.StringIO(p.stdout)))
    assert rows[0] == ["township", "month", "section", "item", "count", "amount_fen"]
    assert rows[1:] == [[r["township"], sim["month"], r["section"], r["item"], str(r["count"]),
                         str(r["amount_fen"])] for r in res["rows"]]
    # readable form
    p = aidctl(h, "ledger", sim["month"], sim["township"])
    assert p.returncode == 0 and "submitted no" in p.stdout and "tekun_support" in p.stdout, p
    # submit it: once
    p = aidctl(h, "ledger", "submit", sim["month"], sim["township"], "乡镇民政办")
    assert p.returncode == 0, p.stderr
    late = china_today().isoformat() > sim["month"] + "-28"
    assert ("late" in p.stdout) is late, p.stdout
    p = aidctl(h, "ledger", "submit", sim["month"], sim["township"], "乡镇民政办")
    assert p.returncode == 0 and "duplicate" in p.stdout, p.stdout   # same body, same id
    e = h.error_of(h.call("ledger.submit", {"month": sim["month"], "township": sim["township"],
                                            "by": "另一人"}, h.rid()))
    assert e["code"] == "conflict", e
    res = ok(h.call("ledger.monthly", {"month": sim["month"], "township": sim["township"]}))
    assert res["submitted"] is True
    p = aidctl(h, "--json", "ledger", sim["month"], sim["township"])
    assert p.returncode == 0 and '"submitted": true' in p.stdout, p.stdout
    # the public list as CSV, and the other commands
    p = aidctl(h, "disclosure", area(sim["township"])["village"], sim["month"], "--csv")
    assert p.returncode == 0 and p.stdout.startswith(
        "village,month,name_masked,household_size,measure,amount_fen\n"), p
    assert not ID_RE.search(p.stdout)
    p = aidctl(h, "visits", sim["township"], "2099-01-01")
    assert p.returncode == 0 and "visits due in %s" % sim["township"] in p.stdout, p
    assert not ID_RE.search(p.stdout)
    p = aidctl(h, "complaint", sim["tracking_no"])
    assert p.returncode == 0 and "resolved" in p.stdout and "民政办刘" in p.stdout, p
    p = aidctl(h, "visits", sim["township"], "--csv")
    assert p.returncode == 2, p
    p = aidctl(h, "ledger", "2026-13", sim["township"])
    assert p.returncode == 1 and "invalid_field at month" in p.stderr, p


def test_ledger_of_townships_with_benefits_only(h):
    """A month whose only rows are entitlements, in several townships: the county
    ledger has each township's benefits and central-care rows. The owner sized its
    per-township table by the care rows and the tekun reports only, so the benefits
    rows' townships ran past its end: the supervision service died on the heap it
    had overwritten (munmap_chunk(): invalid pointer) and every owned op of it was
    unavailable until it restarted."""
    base, towns = 940000000, ["52012%04d" % k for k in range(9000, 9040)]
    setup = ["INSERT INTO cases (case_id, township) VALUES %s" %
             ", ".join("(%d, '%s')" % (base + k, t) for k, t in enumerate(towns)),
             "INSERT INTO entitlements (case_id, subject, kind, amount_fen, first_month,"
             " referral_id, report_id, rules) SELECT %d + k, int8send(%d + k),"
             " 'dibao_supplement', 1000, '2031-07-01', %d + k, %d + k, '{}'"
             " FROM generate_series(0, %d) k" % (base, base, base, base, len(towns) - 1)]
    try:
        for sql in setup:
            h.psql(sql)
        res = ok(h.call("ledger.monthly", {"month": "2031-07"}))
        rows = {(r["township"], r["section"], r["item"]): (r["count"], r["amount_fen"])
                for r in res["rows"]}
        for t in towns:
            assert rows[(t, "benefits", "households")][0] == 1, (t, res["rows"])
            assert rows[(t, "benefits", "owed")] == (1, 1000), (t, res["rows"])
            assert rows[(t, "central_care", "centralized")] == (0, 0), (t, res["rows"])
        # the owner is still there for the next request
        ok(h.call("ledger.monthly", {"month": "2031-07", "township": towns[0]}))
    finally:
        h.psql("DELETE FROM entitlements WHERE case_id BETWEEN %d AND %d" % (base, base + 99))
        h.psql("DELETE FROM cases WHERE case_id BETWEEN %d AND %d" % (base, base + 99))
