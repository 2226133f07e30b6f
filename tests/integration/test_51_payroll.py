"""test_51_payroll.py — payees and the monthly payroll (issue 17, POLICY.md §17
R-PAY-MONTHLY), in a township of its own and months of 2025 that no other test
pays.

- payee.set stores the account sealed and answers it masked to its last 4
  digits; nothing of it (nor the holder's ID number) is in a log.
- payroll.run: one line per household and month, its entitlements summed;
  a household without a payee is blocked (listed, not in the file); control
  totals; a second run of the month is a conflict naming month.
- payroll.approve: four eyes (the maker cannot approve); once approved, a
  change to that month's entitlements is paid by the next run: an adjustment
  line for that month (with its reason and rules), the paid line unchanged.
- the bank's file has one line per household: its lines of the run summed.
- corrections: an amount lowered for a month already paid is a negative
  adjustment in the next run; a resumption with back pay pays the paused months
  as adjustments, one without owes nothing for them.
- payroll.file only after approval; payroll.reconcile marks lines paid or
  failed; a failed (or blocked) line is carried once into the next run, a
  paid line never again; the sum paid equals the entitlements month by month.
"""
import glob
import os
import random
import re
import time

import pytest

# payees and the payroll are the civil-affairs office's: in secure mode only its keys
# and the county's services (test_95_secure checks that boundary); plaintext here
pytestmark = pytest.mark.skipif(os.environ.get("AID_SECURE") == "1",
                                reason="needs a civil-affairs key in secure mode")

ACCOUNT_RE = re.compile(r"6222[0-9]{12}")


def new_township(h):
    for _ in range(200):
        t = "520123%03d" % random.randrange(200, 1000)
        if h.psql_value("SELECT count(*) FROM cases WHERE township = %s" % h.q(t)) == "0":
            return t
    raise AssertionError("no free township code")


def report_in(h, town, members, as_of, **kw):
    body = h.report(members, as_of=as_of, **kw)
    body["area"] = {"county": "520123", "township": town, "village": town + "001"}
    return body


def settle(h, body):
    rep = h.submit_ok(body)
    h.wait_complete(rep["case_id"], timeout=60)
    return rep["case_id"]


def wait_ents(h, case_id, n, month=None, timeout=30.0):
    deadline = time.monotonic() + timeout
    body = {"case_id": case_id}
    if month:
        body["month"] = month
    while True:
        r = h.call("entitlements.list", body)
        assert r["ok"], r
        if len(r["result"]["entitlements"]) == n:
            return r["result"]["entitlements"]
        assert time.monotonic() < deadline, r
        time.sleep(0.3)


def ok(h, op, body, rid=None):
    r = h.call(op, body, id=rid or h.rid(op), timeout=20)
    assert r.get("ok") is True, (op, body, r)
    return r["result"]


def err(h, op, body):
    r = h.call(op, body, id=h.rid(op), timeout=20)
    return h.error_of(r)


def file_lines(h, run_id):
    lines, after = [], 0
    while True:
        res = ok(h, "payroll.file", {"run_id": run_id, "after_line": after})
        lines += res["lines"]
        if res["next_after"] is None:
            return lines
        after = res["next_after"]


def paid_by_case_month(h, cases):
    nums = ",".join(c[5:] for c in cases)
    rows = h.psql("SELECT case_id, to_char(month, 'YYYY-MM'), sum(amount_fen)"
                  "  FROM payroll_lines WHERE status = 'paid' AND case_id IN (%s)"
                  " GROUP BY 1, 2" % nums)
    return {("case-" + c, m): int(s) for c, m, s in rows}


def owed_by_case_month(h, cases, months):
    out = {}
    for c in cases:
        for m in months:
            r = ok(h, "entitlements.list", {"case_id": c, "month": m})
            s = sum(e["amount_fen"] for e in r["entitlements"])
            if s:
                out[(c, m)] = s
    return out


@pytest.fixture(scope="module")
def county(h):
    town = new_township(h)
    a_elder = h.member(birth="1950-03-01", name="钱一")
    a = settle(h, report_in(h, town, [a_elder], "2025-01-10", status={"dibao": "partial"}))
    b = settle(h, report_in(h, town, [h.member(birth="1941-01-01", name="钱二", tekun="dispersed",
                                               self_care="none")], "2025-01-12"))
    c = settle(h, report_in(h, town, [h.member(birth="1952-01-01", name="钱三")], "2025-01-15",
                            status={"dibao": "full"}))
    for x, n in ((a, 1), (b, 2), (c, 1)):
        wait_ents(h, x, n)
    return {"town": town, "a": a, "b": b, "c": c, "a_elder": a_elder}


def test_payee_is_sealed_and_masked(h, county):
    holder = h.new_id("1975-05-05")
    res = ok(h, "payee.set", {"case_id": county["a"], "holder_id_number": holder,
                              "bank": "农村信用社", "account": "6222000011112222", "by": "乡镇民政办"})
    assert res == {"case_id": county["a"], "holder_masked": h.mask(holder), "bank": "农村信用社",
                   "account_masked": "****2222", "duplicate": False}
    ok(h, "payee.set", {"case_id": county["b"], "holder_id_number": h.new_id("1960-01-01"),
                        "bank": "农村信用社", "account": "6222000033334444"})
    clear = h.psql_value(
        "SELECT count(*) FROM payees WHERE case_id = %s AND (position(convert_to(%s, 'UTF8')"
        " IN account_enc) > 0 OR position(convert_to(%s, 'UTF8') IN holder_enc) > 0)"
        % (county["a"][5:], h.q("6222000011112222"), h.q(holder)))
    assert clear == "0"
    e = err(h, "payee.set", {"case_id": county["a"], "holder_id_number": holder,
                             "bank": "x", "account": "12ab"})
    assert e["code"] == "invalid_field" and e["field"] == "account"
    e = err(h, "payee.set", {"case_id": "case-999999999", "holder_id_number": holder,
                             "bank": "x", "account": "123456"})
    assert e["code"] == "not_found" and e["field"] == "case_id"


def test_month_by_month(h, county):
    town, a, b, c = county["town"], county["a"], county["b"], county["c"]
    # February: A and B due, C blocked (no payee)
    run = ok(h, "payroll.run", {"month": "2025-02", "township": town, "by": "张会计"})
    assert (run["lines"], run["total_fen"], run["blocked"]) == (2, 14100 + 172800, 1), run
    e = err(h, "payroll.run", {"month": "2025-02", "township": town, "by": "张会计"})
    assert e["code"] == "conflict" and e["field"] == "month"
    e = err(h, "payroll.file", {"run_id": run["run_id"]})
    assert e["code"] == "conflict" and e["field"] == "run_id"      # not approved yet
    e = err(h, "payroll.approve", {"run_id": run["run_id"], "by": "张会计"})
    assert e["code"] == "conflict" and e["field"] == "by"          # four eyes
    appr = ok(h, "payroll.approve", {"run_id": run["run_id"], "by": "李科长"})
    assert appr["approved_by"] == "李科长" and appr["total_fen"] == run["total_fen"]

    got = ok(h, "payroll.get", {"run_id": run["run_id"]})
    assert [p["case_id"] for p in got["problems"]] == [c]
    assert got["problems"][0]["status"] == "blocked"

    lines = file_lines(h, run["run_id"])
    assert sorted(l["case_id"] for l in lines) == sorted([a, b])
    assert {l["account"] for l in lines} == {"6222000011112222", "6222000033334444"}
    by_case = {l["case_id"]: l for l in lines}
    assert h.psql_value("SELECT count(*) FROM audit_log WHERE action LIKE %s"
                        % h.q("payroll.file run %d %%" % run["run_id"])) >= "1"

    # a change to February after its approval: February's paid line stays, March's
    # run adjusts February (below)
    elder = dict(county["a_elder"], disability_grade=3, disability_kind="physical")
    settle(h, report_in(h, town, [elder], "2025-01-20", status={"dibao": "partial"}))
    ents = wait_ents(h, a, 1, month="2025-02")
    deadline = time.monotonic() + 30
    while ents[0]["amount_fen"] != 21150:
        assert time.monotonic() < deadline, ents
        time.sleep(0.3)
        ents = wait_ents(h, a, 1, month="2025-02")
    assert [(e["first_month"], e["amount_fen"]) for e in ents] == [("2025-02", 21150)], ents

    # the bank: A paid, B failed
    rec = ok(h, "payroll.reconcile", {"run_id": run["run_id"], "by": "张会计", "returns": [
        {"line_id": by_case[a]["line_id"], "status": "paid"},
        {"line_id": by_case[b]["line_id"], "status": "failed", "reason": "账户已销户"}]})
    assert (rec["paid"], rec["failed"]) == (1, 1)
    e = err(h, "payroll.reconcile", {"run_id": run["run_id"], "by": "张会计", "returns": [
        {"line_id": by_case[a]["line_id"], "status": "failed", "reason": "x"}]})
    assert e["code"] == "conflict" and e["field"] == "returns[0].status"   # paid stays paid
    e = err(h, "payroll.reconcile", {"run_id": run["run_id"], "by": "张会计", "returns": [
        {"line_id": by_case[a]["line_id"], "status": "failed"}]})
    assert e["code"] == "invalid_field" and e["field"] == "returns[0].reason"

    # March: C now has a payee; B's February and C's February carried once; A's
    # February adjusted by what it is owed more (21150 - 14100), the paid line unchanged
    ok(h, "payee.set", {"case_id": c, "holder_id_number": h.new_id("1970-01-01"),
                        "bank": "农业银行", "account": "6222000055556666"})
    run3 = ok(h, "payroll.run", {"month": "2025-03", "township": town, "by": "张会计"})
    assert run3["blocked"] == 0
    assert run3["lines"] == 6, run3
    assert run3["total_fen"] == 21150 + 172800 + 14100 + 172800 + 14100 + 7050, run3
    got3 = ok(h, "payroll.get", {"run_id": run3["run_id"]})
    assert [(x["case_id"], x["month"], x["amount_fen"], x["status"]) for x in got3["adjustments"]] \
        == [(a, "2025-02", 7050, "due")], got3
    assert "superseded" in got3["adjustments"][0]["reason"].split(","), got3
    assert "R-PAY-MONTHLY" in got3["adjustments"][0]["rules"], got3
    assert h.psql_value("SELECT amount_fen FROM payroll_lines WHERE line_id = %d"
                        % by_case[a]["line_id"]) == "14100"        # never rewritten
    ok(h, "payroll.approve", {"run_id": run3["run_id"], "by": "李科长"})
    lines3 = file_lines(h, run3["run_id"])
    # the bank's file: one line per household, its lines of the run summed
    assert sorted((l["case_id"], l["month"], l["amount_fen"], l["lines"]) for l in lines3) == \
        sorted([(a, "2025-03", 21150 + 7050, 2), (b, "2025-03", 172800 * 2, 2),
                (c, "2025-03", 14100 * 2, 2)]), lines3
    ok(h, "payroll.reconcile", {"run_id": run3["run_id"], "by": "张会计", "returns": [
        {"line_id": l["line_id"], "status": "paid"} for l in lines3]})

    # April: nothing carried again (paid lines never again)
    run4 = ok(h, "payroll.run", {"month": "2025-04", "township": town, "by": "张会计"})
    assert run4["lines"] == 3 and run4["total_fen"] == 21150 + 172800 + 14100, run4
    ok(h, "payroll.approve", {"run_id": run4["run_id"], "by": "李科长"})
    lines4 = file_lines(h, run4["run_id"])
    ok(h, "payroll.reconcile", {"run_id": run4["run_id"], "by": "张会计", "returns": [
        {"line_id": l["line_id"], "status": "paid"} for l in lines4]})

    # to the fen: what was paid for each household and month is what it was owed
    cases = [a, b, c]
    assert paid_by_case_month(h, cases) == owed_by_case_month(
        h, cases, ["2025-01", "2025-02", "2025-03", "2025-04"])


def month_paid(h, town, month, fail=()):
    """Run, approve, the file, every household's line paid but those in fail."""
    run = ok(h, "payroll.run", {"month": month, "township": town, "by": "张会计"})
    ok(h, "payroll.approve", {"run_id": run["run_id"], "by": "李科长"})
    lines = file_lines(h, run["run_id"])
    assert sum(l["amount_fen"] for l in lines) == run["total_fen"], (run, lines)
    if lines:
        ok(h, "payroll.reconcile", {"run_id": run["run_id"], "by": "张会计", "returns": [
            {"line_id": l["line_id"], "status": "paid"} for l in lines]})
    return run, ok(h, "payroll.get", {"run_id": run["run_id"]})


def test_corrections_and_back_pay(h):
    """A lowered amount for a month paid is taken back in the next run (a negative
    adjustment); a resumption with back pay pays the paused months, one without
    owes nothing for them."""
    town = new_township(h)
    elder = h.member(birth="1951-03-01", name="孙一", disability_grade=3,
                     disability_kind="physical")
    d = settle(h, report_in(h, town, [elder], "2025-01-10", status={"dibao": "partial"}))
    e = settle(h, report_in(h, town, [h.member(birth="1942-01-01", name="孙二", tekun="dispersed",
                                               self_care="none")], "2025-01-12"))
    f = settle(h, report_in(h, town, [h.member(birth="1943-01-01", name="孙三", tekun="dispersed",
                                               self_care="none")], "2025-01-12"))
    for x, n in ((d, 1), (e, 2), (f, 2)):
        wait_ents(h, x, n)
        ok(h, "payee.set", {"case_id": x, "holder_id_number": h.new_id("1970-02-02"),
                            "bank": "农村信用社", "account": "6222000099990000"})
    run, _ = month_paid(h, town, "2025-02")
    assert run["total_fen"] == 21150 + 172800 * 2, run

    # D's amount was lower from February (a report of January decided late); E and F
    # in hospital from March
    settle(h, report_in(h, town, [{k: v for k, v in elder.items() if not k.startswith("disability")}],
                        "2025-01-25", status={"dibao": "partial"}))
    deadline = time.monotonic() + 30
    while wait_ents(h, d, 1, month="2025-02")[0]["amount_fen"] != 14100:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    paused = {}
    for x in (e, f):
        paused[x] = wait_ents(h, x, 2, month="2025-03")
        for ent in paused[x]:
            ok(h, "entitlement.suspend", {"entitlement_id": ent["entitlement_id"],
                                          "from_month": "2025-03", "reason": "住院", "by": "乡镇民政办"})

    # March: D's 14100, less February's 7050 paid too much; nothing for E and F
    run, got = month_paid(h, town, "2025-03")
    assert (run["lines"], run["total_fen"]) == (2, 14100 - 7050), run
    assert [(x["case_id"], x["month"], x["amount_fen"], x["status"]) for x in got["adjustments"]] \
        == [(d, "2025-02", -7050, "paid")], got
    assert "superseded" in got["adjustments"][0]["reason"].split(",")

    # E resumes in April with back pay for March, F without
    for x, back in ((e, True), (f, False)):
        for ent in paused[x]:
            res = ok(h, "entitlement.resume", {"entitlement_id": ent["entitlement_id"],
                                               "month": "2025-04", "by": "乡镇民政办",
                                               "back_pay": back})
            assert res["back_pay"] is back, res
    r = h.call("entitlement.resume", {"entitlement_id": paused[e][0]["entitlement_id"],
                                      "month": "2025-04", "by": "x", "back_pay": "yes"},
               id=h.rid("resume"))
    assert h.error_of(r)["field"] == "back_pay", r
    run, got = month_paid(h, town, "2025-04")
    assert run["total_fen"] == 14100 + 172800 * 3, run
    assert [(x["case_id"], x["month"], x["amount_fen"], x["reason"]) for x in got["adjustments"]] \
        == [(e, "2025-03", 172800, "back_pay")], got
    assert "R-PAY-MONTHLY" in got["adjustments"][0]["rules"]
    # May: nothing more to correct
    run, got = month_paid(h, town, "2025-05")
    assert run["total_fen"] == 14100 + 172800 * 2 and got["adjustments"] == [], got

    expect = {(d, m): 14100 for m in ("2025-02", "2025-03", "2025-04", "2025-05")}
    expect.update({(x, m): 172800 for x in (e, f) for m in ("2025-02", "2025-04", "2025-05")})
    expect[(e, "2025-03")] = 172800
    assert paid_by_case_month(h, [d, e, f]) == expect


def test_no_account_number_in_any_log(h, county):
    for path in glob.glob(os.path.join(h.LOG_DIR, "*.log")):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        assert not ACCOUNT_RE.search(text), path


def aidctl(h, *args, stdin=None):
    import subprocess
    p = subprocess.run([os.path.join(h.ROOT, "bin", "aidctl"), *args], capture_output=True,
                       text=True, timeout=60, input=stdin)
    return p.returncode, p.stdout, p.stderr


def test_aidctl_month(h, county, tmp_path):
    """A month as the county office runs it with aidctl: run, approve, the bank's
    file (yuan, mode 0600, the control totals), the bank's return."""
    town, a, b, c = county["town"], county["a"], county["b"], county["c"]
    rc, out, errs = aidctl(h, "payee", "set", a, h.new_id("1976-06-06"), "农村信用社", "会计",
                           stdin="6222000077778888\n")
    assert rc == 0 and "****8888" in out and "6222000077778888" not in out + errs, (out, errs)
    rc, out, errs = aidctl(h, "payroll", "run", "2025-06", "张会计", town)
    assert rc == 0, errs
    run = re.match(r"run (\d+): 3 lines, ([0-9.]+) yuan, 0 blocked", out)
    assert run and run.group(2) == "%.2f" % ((21150 + 172800 + 14100) / 100), out
    run = run.group(1)
    rc, out, errs = aidctl(h, "payroll", "file", run, "--out", str(tmp_path / "bank.csv"))
    assert rc == 1 and "not approved" in errs, (out, errs)
    rc, out, errs = aidctl(h, "payroll", "approve", run, "张会计")
    assert rc == 1 and "four eyes" in errs
    rc, out, errs = aidctl(h, "payroll", "approve", run, "李科长")
    assert rc == 0, errs
    bank = tmp_path / "bank.csv"
    rc, out, errs = aidctl(h, "payroll", "file", run, "--out", str(bank))
    assert rc == 0, errs
    assert os.stat(bank).st_mode & 0o777 == 0o600
    rows = bank.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "line_id,case_id,month,bank,account,amount_yuan"
    body = {r.split(",")[1]: r.split(",") for r in rows[1:]}
    assert sorted(body) == sorted([a, b, c])
    assert body[a][4] == "6222000077778888" and body[a][5] == "211.50"
    assert body[b][5] == "1728.00" and body[c][5] == "141.00"
    returns = tmp_path / "returns.csv"
    returns.write_text("line_id,status,reason\n%s,paid\n%s,paid\n%s,failed,户名不符\n"
                       % (body[a][0], body[b][0], body[c][0]), encoding="utf-8")
    rc, out, errs = aidctl(h, "payroll", "reconcile", run, str(returns), "张会计")
    assert rc == 0 and "2 paid, 1 failed" in out, (out, errs)
    rc, out, errs = aidctl(h, "payroll", "reconcile", run, str(returns), "张会计")
    assert rc == 0, (out, errs)                          # the same return again: once
    rc, out, errs = aidctl(h, "--json", "payroll", "show", run)
    assert rc == 0 and '"failed": 1' in out, out
    rc, out, errs = aidctl(h, "--json", "entitlements", a, "2025-06")
    assert rc == 0 and '"amount_fen": 21150' in out, out
    # July carries C's failed June line
    rc, out, errs = aidctl(h, "payroll", "run", "2025-07", "张会计", town)
    assert rc == 0 and "4 lines" in out, out
    # its file: one line per household, C's two lines (June carried, July) summed, and
    # still checked against the run's control totals (4 lines)
    run7 = re.match(r"run (\d+):", out).group(1)
    rc, out, errs = aidctl(h, "payroll", "approve", run7, "李科长")
    assert rc == 0, errs
    rc, out, errs = aidctl(h, "payroll", "file", run7, "--out", str(tmp_path / "bank7.csv"))
    assert rc == 0 and "4 lines" in out, (out, errs)
    rows = (tmp_path / "bank7.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert sorted((r.split(",")[1], r.split(",")[5]) for r in rows) == sorted(
        [(a, "211.50"), (b, "1728.00"), (c, "282.00")]), rows
