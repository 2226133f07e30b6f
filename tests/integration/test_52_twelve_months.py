"""test_52_twelve_months.py — a small county's year of entitlements and payroll
(issue 17 "Done when", POLICY.md §16-17), in a township of its own, months of 2025,
through the real flows: the casework review, recheck.open, a report's death, case.merge.

Five households: H1 a grandmother and a child who apply for dibao in January (the
township investigates, the county confirms after the notice, another person: the
allowance from February; reported again, the grandmother's supplement), H2 a
dispersed tekun person, H3 a dibao couple on dibao since the autumn before, H4 a
dibao widower, H5 his sister filed on a case of her own. Every month the township
runs the payroll, a second person approves it, the bank's file is written, the
bank's return reconciled; then the month's events:

  Mar  H1's child started school in February (a report of February decided after
       March was paid: a supplement from March, March adjusted in April's run);
       H3's re-check is due (recheck.open): the investigation finds its income at
       the standard, the confirmation starts the gradual exit, 6 more months (R-EXIT)
  Apr  the bank fails H2's line: paid in May's run
  Jun  H5 proves to be one household with H4 (case.merge): her supplement goes on
       under H4, case.get of H5's number answers with H4
  Jul  the sister reports H4's widower dead (a `death` circumstance): his
       entitlements end at the end of July, hers run on
  Aug  H2 goes to hospital: paused from September, resumed from November with
       back pay (September and October paid in November's run); H1's re-check is
       due (six months after February's report): a higher pension, the
       confirmation lowers its allowance from September

At the end, what was paid for each household and month (a merged case's lines
counted under the case it goes on as) equals, to the fen, both the entitlements
active (and not paused) in that month and the amounts worked out here from the plan
of the year; no household-month and no entitlement-month was paid twice.
"""
import os
import random
import re
import time

import pytest

# payees and the payroll are the civil-affairs office's: in secure mode only its keys
# and the county's services (test_95_secure checks that boundary); plaintext here
pytestmark = pytest.mark.skipif(os.environ.get("AID_SECURE") == "1",
                                reason="needs a civil-affairs key in secure mode")

SUP_B = 14100
TEKUN = 112800 + 30000        # R-TEKUN-STD + R-TEKUN-CARE (self-care semi)
MONTHS = ["2025-%02d" % m for m in range(2, 13)]


def new_township(h):
    for _ in range(200):
        t = "520123%03d" % random.randrange(200, 1000)
        if h.psql_value("SELECT count(*) FROM cases WHERE township = %s" % h.q(t)) == "0":
            return t
    raise AssertionError("no free township code")


def ok(h, op, body):
    r = h.call(op, body, id=h.rid(op), timeout=30)
    assert r.get("ok") is True, (op, body, r)
    return r["result"]


def file_report(h, town, members, as_of, **kw):
    body = h.report(members, as_of=as_of, **kw)
    body["area"] = {"county": "520123", "township": town, "village": town + "001"}
    rep = h.submit_ok(body)
    # decided: assessed, and no referral left pending (an application's stays in
    # review until the county confirms it)
    num = rep["report_id"][7:]
    deadline = time.monotonic() + 60
    while h.psql_value("SELECT count(*) FROM reports r WHERE r.report_id = %s"
                       "   AND EXISTS (SELECT 1 FROM assessments a WHERE a.report_id = r.report_id)"
                       "   AND NOT EXISTS (SELECT 1 FROM referrals f"
                       "   WHERE f.report_id = r.report_id AND f.status = 'pending')" % num) != "1":
        assert time.monotonic() < deadline, "report %s not decided" % rep["report_id"]
        time.sleep(0.2)
    return rep


def wait_started(h, report_id, timeout=30.0):
    """Until the benefits sweep has handled the civil decision of report_id."""
    deadline = time.monotonic() + timeout
    while h.psql_value(
            "SELECT count(*) FROM entitlement_sources s JOIN referrals f USING (referral_id)"
            " WHERE f.report_id = %s AND f.department = 'civil'" % report_id[7:]) == "0":
        assert time.monotonic() < deadline, "the sweep never handled %s" % report_id
        time.sleep(0.3)


def wait_ents(h, case_id, want, month=None, timeout=20.0):
    """Polls entitlements.list until want(list) holds (the sweep runs every 300 ms)."""
    body = {"case_id": case_id}
    if month:
        body["month"] = month
    deadline = time.monotonic() + timeout
    while True:
        ents = ok(h, "entitlements.list", body)["entitlements"]
        if want(ents):
            return ents
        assert time.monotonic() < deadline, "entitlements of %s: %r" % (case_id, ents)
        time.sleep(0.2)


def step(h, ref, action, by, on, **kw):
    body = {"referral_id": ref, "action": action, "by": by, "on": on}
    body.update(kw)
    return ok(h, "review.step", body)


def review(h, ref, on, amend, confirm_on):
    """The township investigates (its findings amend the report), the county confirms
    after the 7-day notice, another person than the investigator (POLICY §16)."""
    step(h, ref, "investigate", "520123101.li", on, note="入户调查",
         **({"amend": {"members": amend}} if amend else {}))
    conf = step(h, ref, "confirm", "county.wang", confirm_on)
    assert conf["status"] == "granted", conf
    return conf


def month_cycle(h, town, month, fail=()):
    """Run, approve (a second person), the bank's file, the return: every line paid
    but those of the cases in fail."""
    run = ok(h, "payroll.run", {"month": month, "township": town, "by": "张会计"})
    ok(h, "payroll.approve", {"run_id": run["run_id"], "by": "李科长"})
    lines, after = [], 0
    while True:
        page = ok(h, "payroll.file", {"run_id": run["run_id"], "after_line": after})
        lines += page["lines"]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    # the bank's file: one line per household, the control total to the fen
    assert len(lines) == len({l["case_id"] for l in lines})
    assert sum(l["lines"] for l in lines) == run["lines"]
    assert sum(l["amount_fen"] for l in lines) == run["total_fen"]
    if lines:
        ok(h, "payroll.reconcile", {"run_id": run["run_id"], "by": "张会计", "returns": [
            {"line_id": l["line_id"], "status": "failed", "reason": "账户冻结"}
            if l["case_id"] in fail else {"line_id": l["line_id"], "status": "paid"}
            for l in lines]})
    return run, lines


def test_a_year_of_a_small_county(h):
    town = new_township(h)
    # H1 applies for dibao: the grandmother's pension 81000 a month, so the county's
    # review grants 2 x P_DIBAO - 81000 = 60000 (R-DIBAO-GRANT, R-PROC-CONFIRM)
    gran = h.member(birth="1950-02-02", name="郑奶奶", monthly_income_fen=81000)
    child = h.member(birth="2019-03-03", name="郑小")
    r1 = file_report(h, town, [gran, child], "2025-01-05")
    r2 = file_report(h, town, [h.member(birth="1940-04-04", name="冯独", tekun="dispersed",
                                        self_care="semi")], "2025-01-06")
    # H3 on dibao since the autumn before: its re-check is due in March (R-RECHECK)
    chen = h.member(birth="1980-05-05", name="陈甲")
    r3 = file_report(h, town, [chen, h.member(birth="1944-06-06", name="陈乙")], "2024-09-07",
                     status={"dibao": "partial"})
    widower = h.member(birth="1939-07-07", name="卫翁")
    sister = h.member(birth="1942-08-08", name="卫妹")
    r4 = file_report(h, town, [widower], "2025-01-08", status={"dibao": "full"})
    # H5: the widower's sister, filed on a case of her own (merged in June)
    r5 = file_report(h, town, [sister], "2025-01-09", status={"dibao": "partial"})
    h1, h2, h3, h4, h5 = (r["case_id"] for r in (r1, r2, r3, r4, r5))
    for r in (r2, r3, r4, r5):
        wait_started(h, r["report_id"])
    [f1] = [f for f in h.case_get(h1)["result"]["referrals"]
            if f["report_id"] == r1["report_id"] and f["department"] == "civil"]
    assert f1["status"] == "in_review", f1
    review(h, f1["referral_id"], "2025-01-06", None, "2025-01-14")
    wait_ents(h, h1, lambda e: any(x["kind"] == "dibao_allowance" for x in e))
    # reported again in January, now a dibao household: the grandmother's supplement
    r = file_report(h, town, [gran, child], "2025-01-20")
    wait_started(h, r["report_id"])
    for k, c in enumerate((h1, h2, h3, h4, h5)):
        ok(h, "payee.set", {"case_id": c, "holder_id_number": h.new_id("1970-01-01"),
                            "bank": "农村信用社", "account": "62220000%08d" % k})

    paid_lines = {}
    for month in MONTHS:
        run, lines = month_cycle(h, town, month, fail=(h2,) if month == "2025-04" else ())
        paid_lines[month] = lines
        if month == "2025-03":
            school = dict(child, school_stage="compulsory")
            r = file_report(h, town, [gran, school], "2025-02-20")
            wait_started(h, r["report_id"])
            # H3's re-check: 陈甲 works now, the income per head reaches P_DIBAO
            rc = ok(h, "recheck.open", {"case_id": h3, "by": "520123101.li",
                                        "on": "2025-03-10"})
            assert (rc["kind"], rc["due_month"]) == ("dibao", "2025-03"), rc
            review(h, rc["referral_id"], "2025-03-11",
                   [{"index": 0, "monthly_income_fen": 2 * 70500}], "2025-03-20")
            [x] = ok(h, "entitlements.list", {"case_id": h3})["entitlements"]
            assert (x["last_month"], x["end_reason"]) == ("2025-09", "income"), x
        if month == "2025-06":
            ok(h, "case.merge", {"into": h4, "from": h5, "by": "县民政局",
                                 "reason": "同一户: 卫妹与卫翁同住"})
            got = h.case_get(h5)["result"]
            assert got["case_id"] == h4 and got["merged_from"] == [h5], got
        if month == "2025-07":
            # the sister reports her brother's death: his entitlements end with July
            death = {"kind": "death", "id_number": widower["id_number"],
                     "occurred_on": "2025-07-12"}
            r = file_report(h, town, [sister], "2025-07-25", circumstances=[death])
            assert r["case_id"] == h4, r
            ents = wait_ents(h, h4, lambda e: any(x.get("end_reason") == "death" for x in e))
            [w] = [e for e in ents if e.get("id_masked") == h.mask(widower["id_number"])]
            assert (w["last_month"], w["end_reason"]) == ("2025-07", "death"), w
        if month == "2025-08":
            ents = ok(h, "entitlements.list", {"case_id": h2, "month": "2025-09"})["entitlements"]
            for e in ents:
                ok(h, "entitlement.suspend", {"entitlement_id": e["entitlement_id"],
                                              "from_month": "2025-09", "reason": "住院",
                                              "by": "乡镇民政办"})
            # H1's re-check (due six months after February's report): the pension
            # rose to 101000, the allowance falls to 40000 from September
            rc = ok(h, "recheck.open", {"case_id": h1, "by": "520123101.li",
                                        "on": "2025-08-05"})
            assert (rc["kind"], rc["due_month"]) == ("dibao", "2025-08"), rc
            conf = review(h, rc["referral_id"], "2025-08-06",
                          [{"index": 0, "monthly_income_fen": 101000}], "2025-08-15")
            assert conf["entitlements_started"] is True, conf
        if month == "2025-10":
            ents = ok(h, "entitlements.list", {"case_id": h2, "month": "2025-09"})["entitlements"]
            for e in ents:
                ok(h, "entitlement.resume", {"entitlement_id": e["entitlement_id"],
                                             "month": "2025-11", "by": "乡镇民政办",
                                             "back_pay": True})

    # the plan of the year, worked out here (H5's months under H4, the case it goes on as)
    expect = {}
    for m in MONTHS:
        n = int(m[5:])
        expect[(h1, m)] = SUP_B + (SUP_B if n >= 3 else 0) + (60000 if n <= 8 else 40000)
        expect[(h2, m)] = TEKUN
        if n <= 9:
            expect[(h3, m)] = SUP_B
        expect[(h4, m)] = SUP_B + (SUP_B if n <= 7 else 0)
    nums = ",".join(c[5:] for c in (h1, h2, h3, h4, h5))
    paid = {("case-" + c, m): int(s) for c, m, s in h.psql(
        "SELECT aid_case_resolve(case_id), to_char(month, 'YYYY-MM'), sum(amount_fen)"
        "  FROM payroll_lines WHERE status = 'paid' AND case_id IN (%s) GROUP BY 1, 2" % nums)}
    owed = {("case-" + c, m): int(s) for c, m, s in h.psql(
        "SELECT e.case_id, to_char(g.m, 'YYYY-MM'), sum(e.amount_fen)"
        "  FROM generate_series('2025-02-01'::date, '2025-12-01', '1 month') AS g(m)"
        "  JOIN entitlements e ON e.first_month <= g.m"
        "   AND (e.last_month IS NULL OR e.last_month >= g.m)"
        " WHERE e.case_id IN (%s) AND NOT EXISTS (SELECT 1 FROM entitlement_pauses z"
        "   WHERE z.entitlement_id = e.entitlement_id AND z.from_month <= g.m"
        "     AND (z.to_month IS NULL OR z.to_month >= g.m) AND NOT z.owed)"
        " GROUP BY 1, 2" % nums)}
    assert paid == expect, sorted(set(paid.items()) ^ set(expect.items()))
    assert owed == expect, sorted(set(owed.items()) ^ set(expect.items()))
    # the merged case's months: H5's own lines until June, H4's from July
    h5_lines = h.psql("SELECT to_char(min(month), 'YYYY-MM'), to_char(max(month), 'YYYY-MM')"
                      "  FROM payroll_lines WHERE case_id = %s" % h5[5:])
    assert h5_lines == [["2025-02", "2025-06"]], h5_lines
    # H2's failed April line was paid in May's run, once
    may = h.psql("SELECT l.case_id, to_char(l.month, 'YYYY-MM'), l.kind, l.status"
                 "  FROM payroll_lines l JOIN payroll_runs r USING (run_id)"
                 " WHERE r.township = %s AND r.month = '2025-05-01' AND l.case_id = %s"
                 " ORDER BY l.line_id" % (h.q(town), h2[5:]))
    assert [tuple(x) for x in may] == [(h2[5:], "2025-05", "regular", "paid"),
                                       (h2[5:], "2025-04", "carried", "paid")], may
    # no household-month and no entitlement-month paid twice (a merged case's lines
    # are those of the household it was until the merge)
    twice = h.psql_value(
        "SELECT count(*) FROM (SELECT case_id, month FROM payroll_lines WHERE status = 'paid'"
        " AND kind <> 'adjustment' AND case_id IN (%s) GROUP BY 1, 2 HAVING count(*) > 1) x"
        % nums)
    assert twice == "0"
    twice = h.psql_value(
        "SELECT count(*) FROM (SELECT u.e, l.month FROM payroll_lines l,"
        "       unnest(l.entitlements) AS u(e) WHERE l.status = 'paid'"
        "   AND l.kind <> 'adjustment' AND l.case_id IN (%s)"
        " GROUP BY 1, 2 HAVING count(*) > 1) x" % nums)
    assert twice == "0"
    # the corrections: H1's March (the supplement decided late) in April's run, H2's
    # September and October (back pay) in November's
    adj = h.psql("SELECT l.case_id, to_char(l.month, 'YYYY-MM'), l.amount_fen,"
                 "       to_char(r.month, 'YYYY-MM'), l.adjust_reason"
                 "  FROM payroll_lines l JOIN payroll_runs r USING (run_id)"
                 " WHERE l.kind = 'adjustment' AND l.case_id IN (%s) ORDER BY l.line_id" % nums)
    assert [tuple(x) for x in adj] == [
        (h1[5:], "2025-03", str(SUP_B), "2025-04", "granted"),
        (h2[5:], "2025-09", str(TEKUN), "2025-11", "back_pay"),
        (h2[5:], "2025-10", str(TEKUN), "2025-11", "back_pay")], adj
    # the monthly ledger's benefits figures of the township (R-LEDGER-MONTHLY)
    def benefits(month):
        rows = ok(h, "ledger.monthly", {"month": month, "township": town})["rows"]
        return {r["item"]: (r["count"], r["amount_fen"]) for r in rows
                if r["section"] == "benefits"}
    apr = benefits("2025-04")
    # H4 and H5 proved to be one household: counted once, as it is now; its persons,
    # and the bank's lines of April (H5's its own then), are what they were
    assert apr["households"][0] == 4 and apr["persons"][0] == 7, apr
    assert apr["owed"] == (4, sum(v for (c, m), v in expect.items() if m == "2025-04")), apr
    # April: H2's line failed, then paid, carried, in May; the four others' lines paid
    # (H5's its own then): five lines paid for April, all that was owed
    assert apr["failed"] == (1, TEKUN), apr
    assert apr["paid"] == (5, apr["owed"][1]), apr
    jul = benefits("2025-07")
    assert jul["exit.death"] == (1, 0), jul
    assert benefits("2025-09")["exit.income"][0] >= 1
    dec = benefits("2025-12")
    assert "rechecks_due" not in dec and "rechecks_overdue" not in dec, dec
    # the two re-checks, closed on their confirmation days: an exit and a recomputation
    done = h.psql("SELECT case_id, to_char(due_month, 'YYYY-MM'), closed_on, outcome"
                  "  FROM rechecks WHERE case_id IN (%s) ORDER BY closed_on" % nums)
    assert [tuple(x) for x in done] == [(h3[5:], "2025-03", "2025-03-20", "exit"),
                                        (h1[5:], "2025-08", "2025-08-15", "recomputed")], done

    # the timeline of H1 as case.get shows it: the review's grant, then the re-check's
    ents = h.case_get(h1)["result"]["entitlements"]
    allow = sorted((e["first_month"], e["last_month"], e["amount_fen"])
                   for e in ents if e["kind"] == "dibao_allowance")
    assert allow == [("2025-02", "2025-08", 60000), ("2025-09", None, 40000)], ents
    # H4 as case.get of either number shows it: H5's history under the new number
    for asked in (h4, h5):
        got = h.case_get(asked)["result"]
        assert got["case_id"] == h4 and got["merged_from"] == [h5], got
        assert r5["report_id"] in {f["report_id"] for f in got["referrals"]}, got
        assert sorted((e["id_masked"], e["first_month"], e["last_month"])
                      for e in got["entitlements"]) == sorted(
            [(h.mask(widower["id_number"]), "2025-02", "2025-07"),
             (h.mask(sister["id_number"]), "2025-02", None)]), got["entitlements"]
    # R-RECHECK: H1 was last re-checked in August (not all elderly: every 6 months),
    # H2's tekun support decided in January (every 12 months), the merged household
    # in July (all elderly: every 12 months); H3's dibao ended in September
    due = ok(h, "recheck.due", {"month": "2026-02", "township": town})["due"]
    assert [(d["case_id"], d["kind"], d["due_month"], d["overdue"]) for d in due] == [
        (h2, "tekun", "2026-01", True), (h1, "dibao", "2026-02", False)], due
    assert re.fullmatch(r"[0-9]{6}\*{8}[0-9]{3}[0-9X]", due[0]["id_masked"]), due
    assert ok(h, "recheck.due", {"month": "2025-12", "township": town})["due"] == []
    due = ok(h, "recheck.due", {"month": "2026-07", "township": town})["due"]
    assert (h4, "dibao", "2026-07") in [(d["case_id"], d["kind"], d["due_month"]) for d in due]
