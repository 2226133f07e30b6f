"""test_32_complaints.py — public supervision (POLICY.md §13–14, proto/CARE.md):
complaints with tracking numbers followed step by step (R-COMPLAINT), every
step kept (R-AUDIT), and the referrals past their deadline in working days
(R-PROC-*) that the quarterly joint meeting reviews.
"""
import datetime
import os
import random
import re
import subprocess
import time

import pytest

ID_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
TS_RE = re.compile(r"TS(\d{6})-(\d{6,})")


def china_today():
    return (datetime.datetime.utcnow() + datetime.timedelta(hours=8)).date()


def ok(r):
    assert r.get("ok") is True, r
    return r["result"]


def submit(h, body, id=None):
    return h.call("complaint.submit", body, id or h.rid("complaint"))


def update(h, no, status, by="调查员", note="", id=None):
    body = {"tracking_no": no, "status": status, "by": by}
    if note:
        body["note"] = note
    return h.call("complaint.update", body, id or h.rid("step"))


def get(h, no):
    return h.call("complaint.get", {"tracking_no": no})


# ------------------------------------------------------------------ complaints

def test_complaint_walks_registered_investigating_resolved(h):
    res = ok(submit(h, {"channel": "mailbox", "text": "村里低保评议不公开", "by": "信访办"}))
    no = res["tracking_no"]
    m = TS_RE.fullmatch(no)
    assert m and m.group(1) == china_today().strftime("%Y%m"), no
    assert res["status"] == "registered"
    c = ok(get(h, no))
    assert c["status"] == "registered" and c["channel"] == "mailbox" and "case_id" not in c
    assert c["text"] == "村里低保评议不公开"
    assert [(s["step"], s["status"], s["by"]) for s in c["steps"]] == [(1, "registered", "信访办")]
    # skipping a step is refused, and stores nothing
    e = h.error_of(update(h, no, "resolved"))
    assert e["code"] == "invalid_field" and e["field"] == "status", e
    assert ok(get(h, no))["status"] == "registered"
    r = ok(update(h, no, "investigating", by="纪检组王", note="调取评议记录"))
    assert r == {"tracking_no": no, "status": "investigating", "step": 2, "duplicate": False}, r
    # the same step twice, or going back, is a conflict
    e = h.error_of(update(h, no, "investigating"))
    assert e["code"] == "conflict" and e["field"] == "status", e
    ok(update(h, no, "resolved", by="纪检组王", note="已责令公开评议结果"))
    for status in ("investigating", "resolved"):
        e = h.error_of(update(h, no, status))
        assert e["code"] == "conflict" and e["field"] == "status", e
    c = ok(get(h, no))
    assert c["status"] == "resolved"
    assert [(s["step"], s["status"], s["by"], s["note"]) for s in c["steps"]] == [
        (1, "registered", "信访办", "registered from mailbox"),
        (2, "investigating", "纪检组王", "调取评议记录"),
        (3, "resolved", "纪检组王", "已责令公开评议结果")]
    for s in c["steps"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s["at"]), s


def test_tracking_numbers_count_up_within_the_month(h):
    a = ok(submit(h, {"channel": "online", "text": "一"}))["tracking_no"]
    b = ok(submit(h, {"channel": "online", "text": "二"}))["tracking_no"]
    ma, mb = TS_RE.fullmatch(a), TS_RE.fullmatch(b)
    assert ma.group(1) == mb.group(1) and int(mb.group(2)) == int(ma.group(2)) + 1, (a, b)


def test_complaint_about_a_case(h):
    m = h.member(birth="1950-01-01", name="申诉人")
    res = h.submit_ok(h.report([m], status={"dibao": "partial"}))
    c = ok(submit(h, {"channel": "visit", "text": "补助金额不对 " + m["id_number"],
                      "case_id": res["case_id"]}))
    got = ok(get(h, c["tracking_no"]))
    assert got["case_id"] == res["case_id"]
    # an ID number in the text is kept masked, as everywhere it is shown
    assert m["id_number"] not in got["text"] and h.mask(m["id_number"]) in got["text"], got
    e = h.error_of(submit(h, {"channel": "visit", "text": "x", "case_id": "case-999999999"}))
    assert e["code"] == "not_found" and e["field"] == "case_id", e


def test_complaint_submit_is_idempotent(h):
    rid = h.rid("once")
    body = {"channel": "hotline", "text": "重复来电"}
    a = ok(submit(h, body, id=rid))
    b = ok(submit(h, body, id=rid))
    assert b["duplicate"] is True and b["tracking_no"] == a["tracking_no"]
    assert h.error_of(submit(h, dict(body, text="另一件事"), id=rid))["code"] == "conflict"
    assert h.psql_value("select count(*) from complaints where request_id = %s" % h.q(rid)) == "1"


@pytest.mark.parametrize("body,field", [
    ({"text": "x"}, "channel"),
    ({"channel": "fax", "text": "x"}, "channel"),
    ({"channel": "hotline"}, "text"),
    ({"channel": "hotline", "text": ""}, "text"),
    ({"channel": "hotline", "text": "长" * 86}, "text"),          # 258 bytes
    ({"channel": "hotline", "text": "x", "case_id": "12"}, "case_id"),
    ({"channel": "hotline", "text": "x", "case_id": "case-"}, "case_id"),
    ({"channel": "hotline", "text": "x", "case_id": "case-0"}, "case_id"),
    ({"channel": "hotline", "text": "x", "urgent": True}, "urgent"),
])
def test_complaint_submit_rejects_bad_input(h, body, field):
    e = h.error_of(submit(h, body))
    assert e["code"] == "invalid_field" and e["field"] == field, e


def test_complaint_get_and_update_reject_bad_input(h):
    no = ok(submit(h, {"channel": "hotline", "text": "x"}))["tracking_no"]
    for bad in ("", "TS2026-1", "ts202611-000001", "TS202613-000001", "TS202611000001",
                "TS202611-12345", "TS202611-00000a"):
        e = h.error_of(get(h, bad))
        assert e["code"] == "invalid_field" and e["field"] == "tracking_no", (bad, e)
    e = h.error_of(get(h, "TS200001-999999"))
    assert e["code"] == "not_found" and e["field"] == "tracking_no", e
    e = h.error_of(update(h, "TS200001-999999", "investigating"))
    assert e["code"] == "not_found" and e["field"] == "tracking_no", e
    for status in ("registered", "closed", ""):
        e = h.error_of(update(h, no, status))
        assert e["code"] == "invalid_field" and e["field"] == "status", (status, e)
    e = h.error_of(update(h, no, "investigating", by=""))
    assert e["code"] == "invalid_field" and e["field"] == "by", e
    e = h.error_of(h.call("complaint.update", {"tracking_no": no, "status": "investigating"},
                          h.rid()))
    assert e["code"] == "invalid_field" and e["field"] == "by", e
    e = h.error_of(h.call("complaint.update", {"tracking_no": no, "status": "investigating",
                                               "by": "x"}))
    assert e["code"] == "invalid_field" and e["field"] == "id", e
    assert ok(get(h, no))["status"] == "registered"


def test_complaint_steps_are_append_only(h):
    no = ok(submit(h, {"channel": "hotline", "text": "改不了"}))["tracking_no"]
    for sql in ("update complaint_steps set note = 'x' where tracking_no = '%s'" % no,
                "delete from complaint_steps where tracking_no = '%s'" % no,
                "update complaints set text = 'x' where tracking_no = '%s'" % no):
        p = subprocess.run(["psql", h.PG_DSN, "-X", "-q", "-c", sql],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and "append-only" in p.stderr, (sql, p.stderr)
    assert ok(get(h, no))["text"] == "改不了"


def test_aidctl_complaint(h):
    aidctl = os.path.join(h.ROOT, "bin", "aidctl")
    p = subprocess.run([aidctl, "complaint", "submit", "hotline", "命令行投诉"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    no = TS_RE.search(p.stdout).group(0)
    p = subprocess.run([aidctl, "complaint", "update", no, "investigating", "核查员", "已受理"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "investigating" in p.stdout, p
    p = subprocess.run([aidctl, "complaint", "update", no, "investigating", "核查员", "再来"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "conflict" in p.stderr, p
    p = subprocess.run([aidctl, "--json", "complaint", "get", no],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and '"status": "investigating"' in p.stdout, p
    p = subprocess.run([aidctl, "complaint", "TS1"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "invalid_field at tracking_no" in p.stderr, p


# ------------------------------------------------------------------ overdue referrals

def working_days_after(d, n):
    while n > 0:
        d += datetime.timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def working_days_between(a, b):
    n, d = 0, a
    while d < b:
        d += datetime.timedelta(days=1)
        n += d.weekday() < 5
    return n


@pytest.mark.parametrize("body,field", [
    ({"township": "5201"}, "township"),
    ({"as_of": "2026-02-30"}, "as_of"),
    ({"as_of": "soon"}, "as_of"),
    ({"department": "civil"}, "department"),
])
def test_overdue_rejects_bad_input(h, body, field):
    e = h.error_of(h.call("referrals.overdue", body))
    assert e["code"] == "invalid_field" and e["field"] == field, e


def pending(result):
    """The overdue referrals still pending (not the reviews past their dates)."""
    return [o for o in result["referrals"] if "review_stage" not in o]


def test_overdue_lists_pending_referrals_past_their_deadline(h):
    # a township of its own
    for _ in range(200):
        t = "520123%03d" % random.randrange(200, 1000)
        if h.psql_value("select count(*) from reports where township = %s" % h.q(t)) == "0":
            break
    area = {"county": "520123", "township": t, "village": t + "001"}
    waiting = ("housing", "civil")
    for d in waiting:
        h.stack("kill-service", d)            # their referrals now wait
    try:
        m = [h.member(birth="1951-01-01", name="欧阳一"), h.member(birth="1953-01-01", name="欧阳二")]
        body = h.report(m, status={"dibao": "partial"}, housing="renting", urgency="urgent",
                        circumstances=[{"kind": "accident"}])
        body["area"] = area
        res = h.submit_ok(body)
        deadline = time.monotonic() + 30
        while True:
            case = ok(h.case_get(case_id=res["case_id"]))
            refs = h.referrals_of(case, res["report_id"])
            if refs and all(f["status"] != "pending" for d, f in refs.items() if d not in waiting):
                break
            assert time.monotonic() < deadline, case
            time.sleep(0.2)
        assert all(refs[d]["status"] == "pending" for d in waiting), refs
        created = {}
        for d in waiting:
            created[d] = datetime.date.fromisoformat(h.psql_value(
                "select to_char(aid_china_date(created_at), 'YYYY-MM-DD') from referrals"
                " where report_id = %d and department = '%s'" % (h.num(res["report_id"]), d)))
        days = {"housing": 10, "civil": 30}    # P_PROC_DEFAULT_DAYS, P_PROC_CIVIL_DAYS
        due = {d: working_days_after(created[d], days[d]) for d in waiting}
        # not yet overdue today
        now = ok(h.call("referrals.overdue", {"township": t}))
        assert now["referrals"] == [] and now["township"] == t, now
        # on the deadline itself: not overdue; the day after: overdue
        # (the emergency cash's sign-off, a review of POLICY.md §16, is overdue after
        # 5 working days: listed with its review_stage, apart from the pending ones)
        r = ok(h.call("referrals.overdue", {"township": t, "as_of": due["housing"].isoformat()}))
        assert pending(r) == [], r
        assert [(o["department"], o["review_stage"]) for o in r["referrals"]
                if "review_stage" in o] == [("tempaid", "signoff")], r
        r = ok(h.call("referrals.overdue",
                      {"township": t, "as_of": (due["housing"] + datetime.timedelta(days=1))
                       .isoformat()}))
        assert [o["department"] for o in pending(r)] == ["housing"], r
        later = due["civil"] + datetime.timedelta(days=30)
        r = ok(h.call("referrals.overdue", {"township": t, "as_of": later.isoformat()}))
        assert r["as_of"] == later.isoformat()
        want = [{"referral_id": refs[d]["referral_id"], "case_id": res["case_id"],
                 "department": d, "township": t, "village": t + "001",
                 "created_on": created[d].isoformat(), "deadline_days": days[d],
                 "deadline": due[d].isoformat(),
                 "working_days_overdue": working_days_between(due[d], later),
                 "urgent": True,
                 "rules": ["R-PROC-DIBAO", "R-PROC-TEKUN"] if d == "civil" else []}
                for d in ("housing", "civil")]          # the earlier deadline first
        assert pending(r) == want, r
        # the whole county's list has them too, urgent ones first, masked
        county = ok(h.call("referrals.overdue", {"as_of": later.isoformat()}))
        assert all(o in county["referrals"] for o in want)
        urg = [x["urgent"] for x in county["referrals"]]
        assert urg == sorted(urg, reverse=True), urg
        assert not ID_RE.search(repr(county))
        p = subprocess.run([os.path.join(h.ROOT, "bin", "aidctl"), "overdue", t,
                            later.isoformat()], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and refs["housing"]["referral_id"] in p.stdout, p
    finally:
        for d in waiting:
            h.stack("start-service", d)
    h.wait_complete(res["case_id"], timeout=30)
    assert pending(ok(h.call("referrals.overdue", {"township": t, "as_of": later.isoformat()}))) == []
