"""test_30_visits.py — care visits (POLICY.md §12, proto/CARE.md).

visits.due lists every person with a visit plan (R-VISIT-MONTHLY /
R-VISIT-QUARTERLY), first due one period after the case's first report and
then one period after the last visit; visit.record stores a visit, answers
the next due date, and files a report through the normal pipeline when it
finds a critical situation (urgent) or suspected epidemic symptoms (a
medical referral citing R-VISIT-SYMPTOM). Redis keeps each township's
schedule (masked only) and is never the only copy: with Redis down, and
after changes Redis did not see, the answers stay right.

Every test works in a township of its own, so the figures are exact.
"""
import datetime
import random
import re

import pytest

ID_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")


# ------------------------------------------------------------------ helpers

def china_today():
    return (datetime.datetime.utcnow() + datetime.timedelta(hours=8)).date()


def add_months(d, n):
    """d plus n months, the day clamped to the month's end (like date.c)."""
    total = d.year * 12 + d.month - 1 + n
    y, m = divmod(total, 12)
    m += 1
    last = (datetime.date(y + (m == 12), m % 12 + 1, 1) - datetime.timedelta(days=1)).day
    return datetime.date(y, m, min(d.day, last))


def new_township(h):
    """A township code of county 520123 that no report uses yet."""
    for _ in range(200):
        t = "520123%03d" % random.randrange(200, 1000)
        if h.psql_value("select count(*) from reports where township = %s" % h.q(t)) == "0":
            return t
    raise AssertionError("no free township code")


def area(township, village=1):
    return {"county": township[:6], "township": township, "village": "%s%03d" % (township, village)}


def household(h, township, members, as_of, village=1, **kw):
    body = h.report(members, as_of=as_of.isoformat() if as_of else None, **kw)
    body["area"] = area(township, village)
    return body


def file(h, body):
    res = h.submit_ok(body)
    h.wait_complete(res["case_id"])
    return res


def due(h, township, before=None):
    body = {"township": township}
    if before:
        body["before"] = before.isoformat() if isinstance(before, datetime.date) else before
    r = h.call("visits.due", body)
    assert r["ok"] is True, r
    return r["result"]


def record(h, id_number, visited_on, id=None, **kw):
    body = {"id_number": id_number, "visited_on": visited_on.isoformat(), "visitor": "村干部李"}
    body.update(kw)
    return h.call("visit.record", body, id or h.rid("visit"))


def by_mask(result):
    return {v["id_masked"]: v for v in result["visits"]}


FAR = "2099-01-01"


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("body,field", [
    ({}, "township"),
    ({"township": "52012310"}, "township"),
    ({"township": "52012310x"}, "township"),
    ({"township": "520123101", "before": "2026-13-01"}, "before"),
    ({"township": "520123101", "before": "tomorrow"}, "before"),
    ({"township": "520123101", "bfore": "2026-12-01"}, "bfore"),
])
def test_visits_due_rejects_bad_input(h, body, field):
    e = h.error_of(h.call("visits.due", body))
    assert e["code"] == "invalid_field" and e["field"] == field, e


def test_visits_due_needs_a_body(h):
    e = h.error_of(h.call("visits.due"))
    assert e["code"] == "invalid_field" and e["field"] == "body", e


def test_visit_record_rejects_bad_input(h):
    t = new_township(h)
    m = h.member(birth="1950-03-03", name="冯老汉", tekun="dispersed")
    file(h, household(h, t, [m], china_today()))
    pid = m["id_number"]
    today = china_today()
    good = {"id_number": pid, "visited_on": today.isoformat(), "visitor": "李"}
    cases = [
        (dict(good, visited_on=(today + datetime.timedelta(days=1)).isoformat()), "visited_on"),
        (dict(good, visited_on="2026-02-30"), "visited_on"),
        (dict(good, method="email"), "method"),
        (dict(good, living="fine"), "living"),
        (dict(good, symptoms="yes"), "symptoms"),
        (dict(good, visitor=""), "visitor"),
        (dict(good, health="x" * 257), "health"),
        (dict(good, id_number=pid[:17] + ("0" if pid[17] != "0" else "1")), "id_number"),
        ({k: v for k, v in good.items() if k != "visitor"}, "visitor"),
        ({k: v for k, v in good.items() if k != "visited_on"}, "visited_on"),
        (dict(good, extra=1), "extra"),
    ]
    for body, field in cases:
        e = h.error_of(h.call("visit.record", body, h.rid("bad")))
        assert e["code"] == "invalid_field" and e["field"] == field, (body, e)
    # a write needs its idempotency key
    e = h.error_of(h.call("visit.record", good))
    assert e["code"] == "invalid_field" and e["field"] == "id", e
    # nothing was stored by any of them
    assert h.psql_value("select count(*) from visits where id_hash = %s" % h.idh(pid)) == "0"


def test_visit_record_unknown_person_is_not_found(h):
    e = h.error_of(record(h, h.new_id("1955-05-05"), china_today()))
    assert e["code"] == "not_found" and e["field"] == "id_number", e


# ------------------------------------------------------------------ plans and due dates

def test_plans_first_due_one_period_after_the_first_report(h):
    t = new_township(h)
    today = china_today()
    first = add_months(today, -2)
    tekun = h.member(birth="1945-01-20", name="周守田", tekun="dispersed", self_care="semi")
    relative = h.member(birth="1975-04-01", name="周明")
    orphan = h.member(birth="2015-06-01", name="吴小丽", orphan=True)
    dibao = [h.member(birth="1952-02-02", name="郑大娘"), h.member(birth="1990-08-08", name="郑强")]
    file(h, household(h, t, [tekun, relative], first))
    file(h, household(h, t, [orphan], first, village=2))
    file(h, household(h, t, dibao, first, status={"dibao": "partial"}))
    got = by_mask(due(h, t, FAR))
    want = {
        h.mask(tekun["id_number"]): ("month", add_months(first, 1), "周**"),
        h.mask(orphan["id_number"]): ("month", add_months(first, 1), "吴**"),
        h.mask(dibao[0]["id_number"]): ("quarter", add_months(first, 3), "郑**"),
        h.mask(dibao[1]["id_number"]): ("quarter", add_months(first, 3), "郑*"),
    }
    assert set(got) == set(want), got     # the relative (no S group) has no plan
    for mask, (every, on, name) in want.items():
        v = got[mask]
        assert (v["every"], v["due_on"], v["name_masked"]) == (every, on.isoformat(), name), v
        assert v["overdue"] is (on < today), v
        assert v["village"] == area(t, 2 if mask == h.mask(orphan["id_number"]) else 1)["village"]
    # before is exclusive, and the default is everything due up to today
    monthly = add_months(first, 1)
    assert due(h, t, monthly)["visits"] == []
    assert {v["id_masked"] for v in due(h, t, monthly + datetime.timedelta(days=1))["visits"]} >= {
        h.mask(tekun["id_number"]), h.mask(orphan["id_number"])}
    default = due(h, t)
    assert default["before"] == (today + datetime.timedelta(days=1)).isoformat()
    assert {v["id_masked"] for v in default["visits"]} == {
        m for m, (_, on, _) in want.items() if on <= today}
    # sorted by due date; masked only
    dates = [v["due_on"] for v in due(h, t, FAR)["visits"]]
    assert dates == sorted(dates)
    assert not ID_RE.search(repr(due(h, t, FAR))), "a full ID number in visits.due"


def test_visit_moves_the_next_due_date(h):
    t = new_township(h)
    today = china_today()
    first = add_months(today, -4)
    tekun = h.member(birth="1944-07-07", name="钱大爷", tekun="centralized")
    elder = h.member(birth="1950-09-09", name="孙奶奶")
    file(h, household(h, t, [tekun], first))
    file(h, household(h, t, [elder], first, status={"dibao": "full"}))
    before = by_mask(due(h, t, FAR))
    assert before[h.mask(tekun["id_number"])]["overdue"] is True
    visited = today - datetime.timedelta(days=3)
    r = record(h, tekun["id_number"], visited, method="phone", living="difficult",
               health="血压偏高", care="饮食正常", needs="冬衣")
    assert r["ok"] is True, r
    res = r["result"]
    assert re.fullmatch(r"visit-\d+", res["visit_id"]), res
    assert res["every"] == "month" and res["next_due_on"] == add_months(visited, 1).isoformat()
    assert "report_id" not in res    # nothing urgent: no report filed
    after = by_mask(due(h, t, FAR))
    v = after[h.mask(tekun["id_number"])]
    assert v["due_on"] == add_months(visited, 1).isoformat() and v["overdue"] is False, v
    # the other person's plan is untouched
    assert after[h.mask(elder["id_number"])] == before[h.mask(elder["id_number"])]
    # an older visit recorded later does not move the date back
    r = record(h, tekun["id_number"], visited - datetime.timedelta(days=20))
    assert r["result"]["next_due_on"] == add_months(visited, 1).isoformat(), r
    # the quarterly person
    r = record(h, elder["id_number"], today)
    assert r["result"]["every"] == "quarter"
    assert r["result"]["next_due_on"] == add_months(today, 3).isoformat()
    # stored as sent, masked nowhere in the database (staff data), once each
    rows = h.psql("select method, living, health, care, needs, symptoms, visitor from visits "
                  "where id_hash = %s order by visit_id" % h.idh(tekun["id_number"]))
    assert rows[0] == ["phone", "difficult", "血压偏高", "饮食正常", "冬衣", "f", "村干部李"], rows
    assert len(rows) == 2


def test_visit_of_a_person_without_plan(h):
    t = new_township(h)
    m = h.member(birth="1980-01-01", name="普通人")
    file(h, household(h, t, [m], china_today()))
    r = record(h, m["id_number"], china_today())
    assert r["ok"] is True, r
    assert r["result"]["every"] == "none" and r["result"]["next_due_on"] is None, r
    assert due(h, t, FAR)["visits"] == []


def test_visit_record_is_idempotent(h):
    t = new_township(h)
    m = h.member(birth="1948-02-02", name="何大爷", tekun="dispersed")
    file(h, household(h, t, [m], add_months(china_today(), -1)))
    rid = h.rid("idem")
    first = record(h, m["id_number"], china_today(), id=rid)
    again = record(h, m["id_number"], china_today(), id=rid)
    assert first["ok"] and again["ok"], (first, again)
    assert again["result"]["duplicate"] is True
    assert again["result"]["visit_id"] == first["result"]["visit_id"]
    other = record(h, m["id_number"], china_today(), id=rid, needs="不同")
    assert h.error_of(other)["code"] == "conflict"
    assert h.psql_value("select count(*) from visits where id_hash = %s"
                        % h.idh(m["id_number"])) == "1"


# ------------------------------------------------------------------ visits that file reports

def test_symptoms_create_one_medical_referral_citing_R_VISIT_SYMPTOM(h):
    t = new_township(h)
    m = h.member(birth="1946-06-06", name="陈阿婆", tekun="dispersed")
    res = file(h, household(h, t, [m], add_months(china_today(), -1)))
    r = record(h, m["id_number"], china_today(), symptoms=True, health="发热咳嗽")
    assert r["ok"] is True, r
    rep = r["result"]["report_id"]
    case = h.wait_complete(res["case_id"])
    refs = h.referrals_of(case, rep)
    assert "medical" in refs, refs
    med = refs["medical"]
    assert med["status"] == "granted" and "R-VISIT-SYMPTOM" in med["rules"], med
    codes = [x["code"] for x in med["measures"]]
    assert codes.count("medical.symptom_referral") == 1, med
    sym = [x for x in med["measures"] if x["code"] == "medical.symptom_referral"][0]
    assert sym["form"] == "referral" and sym["amount_fen"] == 0 and sym["period"] == "once"
    # exactly one medical referral for that report, decided once
    assert h.psql_value("select count(*) from referrals f join decisions d using (referral_id)"
                        " where f.report_id = %d and f.department = 'medical'"
                        % h.num(rep)) == "1"
    # the report came from the visit, normal urgency
    assert h.psql("select urgent from reports where report_id = %d" % h.num(rep)) == [["f"]]
    assert h.psql("select report_id from visits where request_id = %s" % h.q(r["id"])) == [
        [str(h.num(rep))]]


def test_critical_living_files_an_urgent_report(h):
    t = new_township(h)
    ms = [h.member(birth="1949-03-03", name="林老伯", tekun="dispersed"),
          h.member(birth="1979-03-03", name="林二")]
    res = file(h, household(h, t, ms, add_months(china_today(), -1)))
    r = record(h, ms[0]["id_number"], china_today(), living="critical", needs="房屋漏雨")
    assert r["ok"] is True, r
    rep = r["result"]["report_id"]
    assert h.psql("select urgent, case_id from reports where report_id = %d" % h.num(rep)) == [
        ["t", str(h.num(res["case_id"]))]]
    case = h.wait_complete(res["case_id"])
    refs = h.referrals_of(case, rep)
    # the whole pipeline ran on it: civil and care decide the household again
    assert {"civil", "care"} <= set(refs), refs
    # no symptoms: no symptom referral
    assert all(x["code"] != "medical.symptom_referral"
               for f in refs.values() for x in f["measures"]), refs
    # the urgent report makes the relative (no S group) O1: an emergency
    persons = {p["id_masked"]: p for p in case["persons"]}
    assert persons[h.mask(ms[1]["id_number"])]["groups"] == ["O1"], persons


def test_critical_with_symptoms_one_report(h):
    t = new_township(h)
    m = h.member(birth="1947-04-04", name="罗奶奶", tekun="dispersed")
    res = file(h, household(h, t, [m], add_months(china_today(), -1)))
    r = record(h, m["id_number"], china_today(), living="critical", symptoms=True)
    rep = r["result"]["report_id"]
    case = h.wait_complete(res["case_id"])
    refs = h.referrals_of(case, rep)
    assert "R-VISIT-SYMPTOM" in refs["medical"]["rules"], refs
    # urgent + epidemic: emergency temporary aid for the household of 1
    assert refs["tempaid"]["measures"][0]["code"] == "tempaid.emergency_cash"
    assert refs["tempaid"]["measures"][0]["amount_fen"] == 3 * 70500
    assert h.psql_value("select count(*) from reports where case_id = %d" % h.num(res["case_id"])) == "2"


# ------------------------------------------------------------------ Redis: fast, never the only copy

def test_schedule_in_redis_is_masked_and_follows_postgres(h):
    t = new_township(h)
    today = china_today()
    first = add_months(today, -1)
    a = h.member(birth="1941-01-01", name="黄大伯", tekun="dispersed")
    file(h, household(h, t, [a], first))
    r1 = due(h, t, FAR)
    assert h.redis_cli("EXISTS", "visits:due:" + t).stdout.strip() == "1"
    members = h.redis_cli("ZRANGE", "visits:due:" + t, "0", "-1", "WITHSCORES").stdout
    assert h.mask(a["id_number"]) in members and a["id_number"] not in members, members
    assert "黄" in members and "黄大伯" not in members
    assert not ID_RE.search(members)
    # a visit recorded after the schedule was cached moves the date
    visit_on = today
    record(h, a["id_number"], visit_on)
    r2 = due(h, t, FAR)
    assert r2["visits"][0]["due_on"] == add_months(visit_on, 1).isoformat(), (r1, r2)
    # a new household assessed after the schedule was cached appears
    b = h.member(birth="2014-02-02", name="黄小宝", orphan=True)
    file(h, household(h, t, [b], first))
    r3 = due(h, t, FAR)
    assert {v["id_masked"] for v in r3["visits"]} == {h.mask(a["id_number"]), h.mask(b["id_number"])}
    # the answer comes from Redis while Postgres has not moved on (an entry
    # planted there shows) …
    h.redis_cli("ZADD", "visits:due:" + t, "19990101", "%s|fake|month|9|假*" % area(t)["village"])
    assert [v["id_masked"] for v in due(h, t, FAR)["visits"]][0] == "fake"
    # … and is rebuilt from Postgres as soon as it has
    record(h, b["id_number"], today)
    r4 = due(h, t, FAR)
    assert len(r4["visits"]) == 2 and all(v["id_masked"] != "fake" for v in r4["visits"]), r4


def test_visits_due_answers_from_postgres_with_redis_down(h):
    t = new_township(h)
    today = china_today()
    first = add_months(today, -3)
    a = h.member(birth="1943-03-03", name="马大爷", tekun="centralized")
    c = h.member(birth="1955-05-05", name="马大娘")
    file(h, household(h, t, [a], first))
    file(h, household(h, t, [c], first, status={"dibao": "partial"}))
    cached = due(h, t, FAR)
    h.stack("redis-stop")
    try:
        assert due(h, t, FAR) == cached
        r = record(h, a["id_number"], today)      # a write with Redis down
        assert r["ok"] is True, r
        down = by_mask(due(h, t, FAR))
        assert down[h.mask(a["id_number"])]["due_on"] == add_months(today, 1).isoformat()
        assert down[h.mask(c["id_number"])]["due_on"] == add_months(first, 3).isoformat()
    finally:
        h.stack("redis-start")
    h.wait_health("ok", 20)
    # back up: whatever Redis kept from before is stale and is not believed
    up = by_mask(due(h, t, FAR))
    assert up == down


def test_household_that_moves_leaves_the_old_township_schedule(h):
    t1 = new_township(h)
    t2 = new_township(h)
    while t2 == t1:
        t2 = new_township(h)
    first = add_months(china_today(), -1)
    ms = [h.member(birth="1942-02-02", name="迁居人", tekun="dispersed")]
    res = file(h, household(h, t1, ms, first))
    assert len(due(h, t1, FAR)["visits"]) == 1          # cached in Redis for t1
    moved = h.submit_ok(household(h, t2, ms, china_today()))
    assert moved["case_id"] == res["case_id"]
    h.wait_complete(res["case_id"])
    # a report filed elsewhere moves nobody until t1 confirms the move (issue 14)
    assert len(due(h, t1, FAR)["visits"]) == 1
    assert due(h, t2, FAR)["visits"] == []
    assert [m["township"] for m in h.confirm_moves(res["case_id"])] == [t2]
    assert due(h, t1, FAR)["visits"] == []
    got = due(h, t2, FAR)["visits"]
    # still one plan, still due one month after the case's first report
    assert [(v["id_masked"], v["due_on"]) for v in got] == [
        (h.mask(ms[0]["id_number"]), add_months(first, 1).isoformat())], got
