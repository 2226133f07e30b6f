"""test_50_review.py — the review procedure of POLICY.md §16 (issue 16), end to end
through the front door to its owner, the casework service: a dibao applicant and a
tekun applicant walked through investigation (入户调查), the 7-day notice (公示), an
objection, county confirmation by another person (four eyes), a refusal with its
reason, the monthly spot-check draw (抽查, at least 30%), two officers confirming at
once, an emergency grant's sign-off, and deadlines in working days against a test
calendar with a holiday and an adjusted working Saturday (调休).

Each test files its reports in a township of its own (a random code), so a draw sees
only its own reviews and a re-run on the same stack draws again.
"""
import datetime
import json
import os
import random
import subprocess
import threading

import pytest

P_DIBAO = 70500


def china_today():
    return (datetime.datetime.utcnow() + datetime.timedelta(hours=8)).date()


def day(d, n=0):
    return (datetime.date.fromisoformat(d) + datetime.timedelta(days=n)).isoformat()


def wd_add(start, n, cal):
    """The n-th working day after start: Monday–Friday, minus cal's holidays, plus
    its adjusted working days."""
    d = start
    while n > 0:
        d += datetime.timedelta(days=1)
        kind = cal.get(d.isoformat())
        if kind == "workday" or (kind is None and d.isoweekday() < 6):
            n -= 1
    return d.isoformat()


def wd_between(a, b, cal):
    """The working days in (a, b] (ISO dates), as wd_add counts them."""
    d, n, end = datetime.date.fromisoformat(a), 0, datetime.date.fromisoformat(b)
    while d < end:
        d += datetime.timedelta(days=1)
        kind = cal.get(d.isoformat())
        n += kind == "workday" or (kind is None and d.isoweekday() < 6)
    return n


_TAKEN = set()


def area():
    """A township of its own: no report of this run (of any module) is there yet,
    so what a test lists for it is what the test made."""
    import conftest as h
    for _ in range(200):
        t = "520123%03d" % random.randint(200, 999)
        if t not in _TAKEN and \
                h.psql_value("SELECT count(*) FROM reports WHERE township = %s" % h.q(t)) == "0":
            _TAKEN.add(t)
            return {"county": "520123", "township": t, "village": t + "001"}
    raise AssertionError("no free township code")


def file_case(h, members, where, **kw):
    res = h.submit_ok(h.report(members, area=where, **kw))
    case = h.wait_complete(res["case_id"])
    return case, h.referrals_of(case, res["report_id"])


def dibao_applicant(h, where, income=30000):
    return file_case(h, [h.member(birth="1980-03-03", name="王小明", monthly_income_fen=income)],
                     where)


def tekun_applicant(h, where, name="李孤老"):
    return file_case(h, [h.member(birth="1950-04-04", name=name, no_supporter=True)], where)


def step(h, ref, action, by, on=None, id=None, **kw):
    body = {"referral_id": ref, "action": action, "by": by}
    if on:
        body["on"] = on
    body.update(kw)
    return h.call("review.step", body, id=id or h.rid("step"))


def ok(reply):
    assert reply["ok"], reply
    return reply["result"]


def error(reply, code, field=None):
    assert not reply["ok"], reply
    e = reply["error"]
    assert e["code"] == code, e
    if field is not None:
        assert e.get("field") == field, e
    return e


def queue_item(h, ref, **q):
    items = ok(h.call("review.queue", q))["items"]
    return next((i for i in items if i["referral_id"] == ref), None)


def test_dibao_review_investigation_notice_objection_four_eyes_confirm(h):
    where = area()
    case, refs = dibao_applicant(h, where)
    civil = refs["civil"]
    # not granted on arrival: the policy's result is the proposal, as before
    assert civil["status"] == "in_review", civil
    assert [m["code"] for m in civil["measures"]] == ["civil.dibao_review"]
    assert "R-DIBAO-REVIEW" in civil["rules"]
    assert civil["review"]["stage"] == "investigation" and civil["review"]["steps"] == []
    ref = civil["referral_id"]
    item = queue_item(h, ref, township=where["township"])
    assert item and item["stage"] == "investigation" and item["name_masked"] == "王**", item
    assert item["proposal"][0]["code"] == "civil.dibao_review"
    # the township investigates on paper three days after as_of, finds a lower income
    d1 = day(h.AS_OF, 3)
    inv = ok(step(h, ref, "investigate", "520123101.li", on=d1,
                  findings={"visit": "入户核查, 收入低于申报"},
                  amend={"members": [{"index": 0, "monthly_income_fen": 20000}]},
                  note="工资流水核实为每月200元"))
    # entered late, so its notice has ended by now: the review awaits confirmation
    assert inv["notice_ends_on"] == day(d1, 6), inv
    assert inv["stage"] == ("notice" if day(d1, 6) >= china_today().isoformat()
                            else "confirmation"), inv
    # confirming during the notice: conflict naming the stage and its last day
    e = error(step(h, ref, "confirm", "county.wang", on=day(d1, 2)), "conflict")
    assert "notice" in e["message"] and day(d1, 6) in e["message"], e
    # an objection during the notice sends it back to investigation
    error(step(h, ref, "object", "520123101.li", on=day(d1, 3)), "invalid_field", "note")
    obj = ok(step(h, ref, "object", "520123101.li", on=day(d1, 3), note="邻居反映有经营收入"))
    assert obj["stage"] == "investigation", obj
    # investigated again: the notice starts again on that day
    d2 = day(d1, 4)
    inv2 = ok(step(h, ref, "investigate", "520123101.li", on=d2,
                   amend={"members": [{"index": 0, "monthly_income_fen": 20000}]},
                   note="复查: 经营已停止"))
    assert inv2["notice_ends_on"] == day(d2, 6), inv2
    # wrong steps change nothing
    error(step(h, ref, "confirm", "county.wang", on="2026-13-01"), "invalid_field", "on")
    error(step(h, ref, "confirm", "county.wang", on=day(d2, -1)), "invalid_field", "on")
    error(step(h, ref, "confirm", "county.wang", on=day(h.AS_OF, -1)), "invalid_field", "on")
    tomorrow = (china_today() + datetime.timedelta(days=1)).isoformat()
    error(step(h, ref, "confirm", "county.wang", on=tomorrow), "invalid_field", "on")
    error(step(h, ref, "dance", "county.wang"), "invalid_field", "action")
    # four eyes: the investigator may not confirm
    e = error(step(h, ref, "confirm", "520123101.li", on=day(d2, 7)), "unauthorized", "by")
    assert "four eyes" in e["message"]
    # the county confirms after the notice: granted, R-DIBAO-GRANT from the amended income
    rid = h.rid("confirm")
    conf = ok(step(h, ref, "confirm", "county.wang", on=day(d2, 7), id=rid))
    assert conf["status"] == "granted" and conf["stage"] == "done", conf
    again = ok(step(h, ref, "confirm", "county.wang", on=day(d2, 7), id=rid))
    assert again.get("duplicate") is True
    error(step(h, ref, "confirm", "county.zhou", on=day(d2, 8)), "conflict")
    case = ok(h.case_get(case_id=case["case_id"]))
    h.check_case_invariants(case)
    civil = h.referrals_of(case, civil["report_id"])["civil"]
    assert civil["status"] == "granted"
    grant = [m for m in civil["measures"] if m["code"] == "civil.dibao_grant"]
    assert grant == [{"code": "civil.dibao_grant", "amount_fen": P_DIBAO - 20000,
                      "period": "month", "form": "cash"}], civil["measures"]
    # the confirmation started the household's monthly dibao allowance (benefits,
    # R-PAY-MONTHLY) in its own transaction, citing the grant
    ents = [e for e in case["entitlements"] if e["kind"] == "dibao_allowance"]
    assert len(ents) == 1 and ents[0]["amount_fen"] == P_DIBAO - 20000, case["entitlements"]
    assert "R-DIBAO-GRANT" in ents[0]["rules"] and ents[0]["last_month"] is None, ents
    steps = civil["review"]["steps"]
    assert [s["action"] for s in steps] == ["investigate", "object", "investigate", "confirm"]
    assert steps[1]["note"] == "邻居反映有经营收入" and steps[3]["by"] == "county.wang"
    assert queue_item(h, ref) is None
    # every step is on record with who, when, what and why (R-AUDIT)
    rows = h.psql("SELECT action, by_account, on_day, note FROM review_steps"
                  " WHERE referral_id = %d ORDER BY n" % h.num(ref))
    assert [r[0] for r in rows] == ["investigate", "object", "investigate", "confirm"], rows
    assert rows[1][1:] == ["520123101.li", day(d1, 3), "邻居反映有经营收入"], rows


def test_tekun_reviews_draw_spot_check_refusal_and_concurrent_confirms(h):
    where = area()
    t = where["township"]
    refs = []
    for k in range(4):
        _, r = tekun_applicant(h, where, name="孤老%d" % k)
        assert r["civil"]["status"] == "in_review" and r["civil"]["review"]["stage"] == "investigation"
        refs.append(r["civil"]["referral_id"])
    d1 = day(h.AS_OF, 2)
    for ref in refs:
        ok(step(h, ref, "investigate", t + ".zhao", on=d1, findings={"self_care": "full"}))
    # the monthly draw: at least P_SPOTCHECK_RATE (30%) of the 4 awaiting, with its seed
    draw = ok(h.call("review.draw", {"township": t, "month": "2026-11", "by": "county.qian"},
                     id=h.rid("draw")))
    assert draw["awaiting"] == 4 and draw["rate_percent"] == 30, draw
    assert len(draw["drawn"]) == 2 and set(draw["drawn"]) <= set(refs), draw
    assert isinstance(draw["seed"], int) and draw["by"] == "county.qian"
    e = error(h.call("review.draw", {"township": t, "month": "2026-11", "by": "county.zhou"},
                     id=h.rid("draw")), "conflict")
    assert "county.qian" in e["message"], e
    rows = h.psql("SELECT drawn_by, seed, cardinality(pool), cardinality(drawn) FROM review_draws"
                  " WHERE township = '%s'" % t)
    assert rows == [["county.qian", str(draw["seed"]), "4", "2"]], rows
    error(h.call("review.draw", {"township": t, "month": "2026-13", "by": "x"}, id=h.rid("d")),
          "invalid_field", "month")
    drawn, rest = draw["drawn"], [r for r in refs if r not in draw["drawn"]]
    after = day(d1, 7)
    # a drawn review is confirmed only after the county's re-visit
    e = error(step(h, drawn[0], "confirm", "county.wang", on=after), "conflict")
    assert "spot_check" in e["message"], e
    assert queue_item(h, drawn[0], stage="spot_check")["stage"] == "spot_check"
    ok(step(h, drawn[0], "spot_check", "county.qian", on=after, findings={"result": "属实"}))
    conf = ok(step(h, drawn[0], "confirm", "county.wang", on=after))
    assert conf["status"] == "granted"
    case = ok(h.call("case.get", {"case_id": conf["case_id"]}))
    civil = [f for f in case["referrals"] if f["referral_id"] == drawn[0]][0]
    grant = [m for m in civil["measures"] if m["code"] == "civil.tekun_grant"]
    assert len(grant) == 1 and grant[0]["amount_fen"] == P_DIBAO * 160 // 100, civil
    assert grant[0]["period"] == "month" and "id_masked" in grant[0]
    # a spot check on a review that was not drawn is a conflict
    error(step(h, rest[0], "spot_check", "county.qian", on=after), "conflict")
    # a refusal needs its reason and another person than the investigator
    error(step(h, rest[0], "refuse", "county.wang", on=after), "invalid_field", "note")
    error(step(h, rest[0], "refuse", t + ".zhao", on=after, note="有赡养人"), "unauthorized", "by")
    ref_ = ok(step(h, rest[0], "refuse", "county.wang", on=after, note="有法定赡养人且有赡养能力"))
    assert ref_["status"] == "denied"
    case = ok(h.call("case.get", {"case_id": ref_["case_id"]}))
    h.check_case_invariants(case)
    civil = [f for f in case["referrals"] if f["referral_id"] == rest[0]][0]
    assert civil["status"] == "denied" and civil["reason"] == "有法定赡养人且有赡养能力", civil
    # two officers confirm at once: one wins, the other gets conflict
    replies = []

    def confirm(by):
        replies.append(step(h, rest[1], "confirm", by, on=after))

    ts = [threading.Thread(target=confirm, args=(b,)) for b in ("county.wang", "county.zhou")]
    for th in ts:
        th.start()
    for th in ts:
        th.join(30)
    assert sorted(r["ok"] for r in replies) == [False, True], replies
    assert [r for r in replies if not r["ok"]][0]["error"]["code"] == "conflict"
    n = h.psql_value("SELECT count(*) FROM review_steps WHERE referral_id = %d AND action = 'confirm'"
                     % h.num(rest[1]))
    assert int(n) == 1


def test_deadlines_count_working_days_of_the_calendar(h):
    today = china_today()
    # a two-day holiday on the 3rd and 4th weekdays from today, and the Saturday after
    # it an adjusted working day (调休)
    d, weekdays, holidays = today, 0, []
    while weekdays < 4:
        d += datetime.timedelta(days=1)
        if d.isoweekday() < 6:
            weekdays += 1
            if weekdays >= 3:
                holidays.append(d)
    saturday = d + datetime.timedelta(days=(6 - d.isoweekday()) % 7 or 7)
    cal = {x.isoformat(): "holiday" for x in holidays}
    cal[saturday.isoformat()] = "workday"
    days = [{"day": k, "kind": v, "note": "测试"} for k, v in cal.items()]
    ok(h.call("calendar.set", {"days": days, "by": "county.admin"}, id=h.rid("cal")))
    try:
        got = ok(h.call("calendar.get", {"from": today.isoformat(),
                                         "to": (today + datetime.timedelta(days=30)).isoformat()}))
        assert {x["day"]: x["kind"] for x in got["days"]} == cal, got
        error(h.call("calendar.set", {"days": [{"day": "2026-02-30", "kind": "holiday"}],
                                      "by": "x"}, id=h.rid("cal")), "invalid_field", "days[0].day")
        where = area()
        _, refs = tekun_applicant(h, where)
        _, drefs = dibao_applicant(h, where)
        # tekun: investigation within 15 working days; dibao: 20 (R-PROC-TEKUN, R-PROC-DIBAO)
        assert refs["civil"]["review"]["due_on"] == wd_add(today, 15, cal), refs["civil"]
        assert drefs["civil"]["review"]["due_on"] == wd_add(today, 20, cal), drefs["civil"]
        assert wd_add(today, 15, cal) != wd_add(today, 15, {})  # the calendar mattered
        # a review past its date is overdue, and comes first in the queue
        ref = drefs["civil"]["referral_id"]
        started = today - datetime.timedelta(days=60)
        h.psql("UPDATE reviews SET started_on = '%s' WHERE referral_id = %d"
               % (started.isoformat(), h.num(ref)))
        items = ok(h.call("review.queue", {"township": where["township"]}))["items"]
        assert items[0]["referral_id"] == ref and items[0]["overdue"] is True, items
        assert items[0]["due_on"] == wd_add(started, 20, cal)
        assert [i["referral_id"] for i in
                ok(h.call("review.queue", {"township": where["township"], "overdue": True}))["items"]
                ] == [ref]
        # referrals.overdue counts in the same calendar: the days to the deadline and
        # the days past it, across the holiday and the adjusted Saturday
        as_of = wd_add(today, 6, cal)
        rows = ok(h.call("referrals.overdue", {"township": where["township"],
                                                "as_of": as_of}))["referrals"]
        [row] = [r for r in rows if r["referral_id"] == ref]
        assert row["deadline"] == wd_add(started, 20, cal) and row["deadline_days"] == 20, row
        assert row["working_days_overdue"] == wd_between(row["deadline"], as_of, cal), row
        assert wd_between(row["deadline"], as_of, cal) != wd_between(row["deadline"], as_of, {})
    finally:
        ok(h.call("calendar.set", {"days": [{"day": k, "kind": "normal"} for k in cal],
                                   "by": "county.admin"}, id=h.rid("cal")))


def test_emergency_grant_is_paid_at_once_and_owes_its_signoff(h):
    where = area()
    case, refs = file_case(h, [h.member(birth="1970-01-01", name="急难户")], where,
                           urgency="urgent", circumstances=[{"kind": "accident"}])
    temp = refs["tempaid"]
    assert temp["status"] == "granted", temp    # 先行救助: stays immediate
    assert temp["review"]["stage"] == "signoff", temp
    ref = temp["referral_id"]
    assert queue_item(h, ref, stage="signoff") is not None
    error(step(h, ref, "confirm", "county.wang"), "conflict")
    done = ok(step(h, ref, "signoff", where["township"] + ".li", note="补办手续齐全"))
    assert done["stage"] == "done" and done["status"] == "granted"
    assert queue_item(h, ref) is None


def test_review_bodies_are_checked(h):
    error(step(h, "referral-999999999", "confirm", "county.wang"), "not_found", "referral_id")
    error(h.call("review.step", {"referral_id": "r-1", "action": "confirm", "by": "x"},
                 id=h.rid("s")), "invalid_field", "referral_id")
    error(h.call("review.step", {"referral_id": "referral-1", "action": "confirm"},
                 id=h.rid("s")), "invalid_field", "by")
    error(h.call("review.step", {"referral_id": "referral-1", "action": "confirm", "by": "x",
                                 "color": 1}, id=h.rid("s")), "invalid_field", "color")
    error(h.call("review.queue", {"stage": "nope"}), "invalid_field", "stage")
    # a write needs its request id
    error(h.call("review.step", {"referral_id": "referral-1", "action": "confirm", "by": "x"}),
          "invalid_field", "id")


def aidctl(h, *args):
    return subprocess.run([os.path.join(h.ROOT, "bin", "aidctl")] + list(args),
                          env=dict(os.environ), capture_output=True, text=True, timeout=30)


def test_notice_overdue_ledger_and_aidctl(h, tmp_path):
    where = area()
    t, village = where["township"], where["village"]
    _, refs = dibao_applicant(h, where, income=10000)
    ref = refs["civil"]["referral_id"]
    _, late = tekun_applicant(h, where, name="逾期老人")
    late_ref = late["civil"]["referral_id"]
    # aidctl: the queue, a step with --json, as the staff would type them
    p = aidctl(h, "review", "queue", "township=" + t)
    assert p.returncode == 0 and ref in p.stdout and "investigation" in p.stdout, p
    assert "王**" in p.stdout and "王小明" not in p.stdout
    p = aidctl(h, "--json", "review", "step", ref, "investigate", t + ".li", "on=2026-11-05",
               'findings={"visit": "入户"}')
    assert p.returncode == 0, p
    res = json.loads(p.stdout)
    assert res["notice_ends_on"] == "2026-11-11" and res["referral_id"] == ref, res
    p = aidctl(h, "review", "step", ref, "confirm", t + ".li", "on=2026-11-12")
    assert p.returncode != 0 and "four eyes" in p.stderr, p
    # 公示: the proposal under notice in its village, apart from the recipients
    d = ok(h.call("disclosure.list", {"village": village, "month": "2026-11"}))
    assert d["rows"] == [] and d["notices"] == [
        {"village": village, "name_masked": "王**", "household_size": 1,
         "measure": "civil.dibao_grant", "amount_fen": P_DIBAO - 10000,
         "notice_ends_on": "2026-11-11"}], d
    # confirmed: a recipient of the month of the confirmation
    conf_case = ok(step(h, ref, "confirm", "county.wang", on="2026-11-12"))["case_id"]
    month = china_today().isoformat()[:7]
    d = ok(h.call("disclosure.list", {"village": village, "month": month}))
    assert {"village": village, "name_masked": "王**", "household_size": 1,
            "measure": "civil.dibao_grant", "amount_fen": P_DIBAO - 10000} in d["rows"], d
    assert d["notices"] == []
    # a review past its date is in referrals.overdue and in the month's ledger
    started = china_today() - datetime.timedelta(days=60)
    h.psql("UPDATE reviews SET started_on = '%s' WHERE referral_id = %d"
           % (started.isoformat(), h.num(late_ref)))
    od = ok(h.call("referrals.overdue", {"township": t}))["referrals"]
    assert [(r["referral_id"], r["review_stage"]) for r in od] == [(late_ref, "investigation")], od
    assert od[0]["deadline"] == wd_add(started, 15, {}) and od[0]["working_days_overdue"] > 0
    def ledger(m):
        rows = ok(h.call("ledger.monthly", {"month": m, "township": t}))["rows"]
        return {r["item"]: r["count"] for r in rows if r["section"] == "reviews"}
    # (a count of 0 is no row; a confirmation counts in the month of its step's date)
    assert ledger(month) == {"overdue": 1}
    assert ledger("2026-11") == {"overdue": 1, "confirmed": 1}
    # every step is in the case's audit trail (aidctl audit)
    p = aidctl(h, "audit", conf_case)
    assert p.returncode == 0 and "review.investigate" in p.stdout and "review.confirm" in p.stdout, p
    assert "county.wang" in p.stdout, p
    # aidctl health: the owner of the review procedure answers
    p = aidctl(h, "health")
    assert p.returncode == 0 and "casework  ok" in p.stdout, p
    # aidctl: the draw and the calendar import
    p = aidctl(h, "review", "draw", t, "2026-10", "county.qian")
    assert p.returncode == 0 and "0 of 0 drawn" in p.stdout, p
    csv = tmp_path / "cal.csv"
    csv.write_text("day,kind,note\n2031-10-01,holiday,国庆节\n2031-09-28,workday,调休\n",
                   encoding="utf-8")
    try:
        # (aidctl's default id is the body's hash: the same file twice acts once)
        p = aidctl(h, "--id", h.rid("cal"), "calendar", "import", str(csv), "county.admin")
        assert p.returncode == 0 and "2 day(s) set" in p.stdout, p
        p = aidctl(h, "--json", "calendar", "list", "2031-09-01", "2031-10-31")
        assert [x["day"] for x in json.loads(p.stdout)["days"]] == ["2031-09-28", "2031-10-01"]
        csv.write_text("2031-10-02,feast\n", encoding="utf-8")
        p = aidctl(h, "calendar", "import", str(csv), "county.admin")
        assert p.returncode != 0 and "days[0].kind" in p.stderr, p
    finally:
        csv.write_text("2031-10-01,normal\n2031-09-28,normal\n", encoding="utf-8")
        aidctl(h, "--id", h.rid("cal"), "calendar", "import", str(csv), "county.admin")


def test_case_list_of_a_township_searched_by_name_or_id_masked_and_audited(h):
    where = area()
    t = where["township"]
    head = h.member(birth="1966-06-06", name="钱多多")
    res = h.submit_ok(h.report([head, h.member(birth="1990-01-01", name="钱少少")], area=where))
    h.wait_complete(res["case_id"])
    other = h.submit_ok(h.report([h.member(birth="1970-07-07", name="孙一")], area=where))
    h.wait_complete(other["case_id"])
    rid = h.rid("search")
    got = ok(h.call("case.search", {"township": t, "name": "钱少"}, id=rid))
    assert got == {"cases": [{"case_id": res["case_id"], "township": t,
                              "village": where["village"], "name_masked": "钱**",
                              "id_masked": h.mask(head["id_number"]), "members": 2}],
                   "more": False}, got
    by_id = ok(h.call("case.search", {"id_number": head["id_number"]}))["cases"]
    assert [c["case_id"] for c in by_id] == [res["case_id"]]
    everyone = ok(h.call("case.search", {"village": where["village"], "limit": 1}))
    assert [c["case_id"] for c in everyone["cases"]] == [other["case_id"]] and everyone["more"]
    assert ok(h.call("case.search", {"township": t, "name": "不存在"}))["cases"] == []
    # never a name or ID number in full; every search in the audit trail, masked
    text = json.dumps(got, ensure_ascii=False) + json.dumps(by_id, ensure_ascii=False)
    assert "钱多多" not in text and head["id_number"] not in text
    rows = h.psql("SELECT who, detail FROM audit_log WHERE action = 'case.search'"
                  " AND detail LIKE 'request %s %%'" % rid)
    assert rows == [["local", "request %s township %s village - name 钱* id -" % (rid, t)]], rows
    n = h.psql_value("SELECT count(*) FROM audit_log WHERE action = 'case.search' AND detail"
                     " LIKE '%%id %s'" % h.mask(head["id_number"]))
    assert int(n) >= 1
    error(h.call("case.search", {"township": "52012"}), "invalid_field", "township")
    error(h.call("case.search", {"id_number": "123"}), "invalid_field", "id_number")
    error(h.call("case.search", {"township": t, "village": "520123999001"}), "invalid_field",
          "village")
