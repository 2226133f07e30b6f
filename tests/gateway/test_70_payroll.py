"""test_70_payroll.py — the county office's payroll page (资金发放, issue 17,
R-PAY-MONTHLY; proto/BENEFITS.md), in a township of its own and a month no other
test pays:

- only the county office reaches /api/payroll (a caseworker, a department officer,
  an auditor: 403; nobody signed in: 401);
- compiling a month shows the control totals and a household without a payee as
  blocked; the same month again is a conflict naming month (and the run);
- the maker's own approval is refused with the server's message (four eyes),
  a second county officer approves; the run view never holds an account number;
- the bank's file: only after approval, only to the county office, the same bytes
  as `aidctl payroll file`, an attachment never cached, audited;
- the bank's returns uploaded as CSV: a failed line with the bank's reason shows
  among the run's problems; the same file again records nothing twice; an error
  names the file's line;
- every write is in the console's audit trail, and no account is in its log.
"""
import os
import random
import subprocess

import pytest

ACCOUNT = "6222%012d" % random.randrange(10 ** 12)
MONTH = "2024-03"


def new_township(g):
    for _ in range(200):
        t = "520123%03d" % random.randrange(200, 1000)
        if g.psql("SELECT count(*) FROM cases WHERE township = '%s'" % t) == "0":
            return t
    raise AssertionError("no free township code")


def case_of(g, town, members):
    body = g.report(members, township=town, as_of="2024-01-10")
    return g.file("admin", body)["case_id"]


def entitlements_fen(g, case_id):
    """The case's monthly sum once its entitlements started (benefits' sweep)."""
    n = case_id[5:]
    return int(g.wait_for(lambda: g.psql(
        "SELECT sum(amount_fen) FROM entitlements WHERE case_id = %s AND last_month IS NULL"
        % n) or None, timeout=30))


@pytest.fixture(scope="module")
def county(g):
    town = new_township(g)
    paid = case_of(g, town, [g.member("1950-03-01"), g.member("1985-07-09")])
    blocked = case_of(g, town, [g.member("1948-05-05")])
    fen = entitlements_fen(g, paid)
    entitlements_fen(g, blocked)
    g.aidctl("payee", "set", paid, g.new_id("1975-05-05"), "农村信用社", "乡镇民政办",
             stdin=ACCOUNT + "\n")
    run = g.ok(g.login("admin").post("/api/payroll/runs", {"month": MONTH, "township": town},
                                     key=g.key("pay-run")))
    return {"town": town, "paid": paid, "blocked": blocked, "fen": fen, "run": run}


def path(run, tail=""):
    return "/api/payroll/runs/%d%s" % (run["run_id"], tail)


def test_only_the_county_office_reaches_the_payroll(g, county):
    run = county["run"]
    for who in ("tw_a", "auditor1", "civil_officer"):
        c = g.login(who)
        g.err(c.get(path(run)), 403, "unauthorized")
        g.err(c.get(path(run, "/file")), 403, "unauthorized")
        g.err(c.post("/api/payroll/runs", {"month": MONTH}), 403, "unauthorized")
        g.err(c.post(path(run, "/approve")), 403, "unauthorized")
        g.err(c.post(path(run, "/returns"), {"csv": "1,paid\n"}), 403, "unauthorized")
    g.err(g.Client().get(path(run)), 401, "unauthorized")
    g.err(g.login("county1").get("/api/payroll/runs/x1"), 400, "invalid_field", "run_id")


def test_a_month_is_compiled_once_with_its_blocked_households(g, county):
    run = county["run"]
    assert run["lines"] == 1 and run["total_fen"] == county["fen"] and run["blocked"] == 1, run
    again = g.login("county1").post("/api/payroll/runs", {"month": MONTH, "township": county["town"]})
    e = g.err(again, 409, "conflict", "month")
    assert e["message_en"].endswith("run %d" % run["run_id"]) and "已编制过" in e["message"], e
    e = g.err(g.login("county1").post("/api/payroll/runs", {"month": "2024-3"}), 400,
              "invalid_field", "month")
    assert "YYYY-MM" in e["message"], e
    r = g.login("county1").get(path(run))
    view = g.ok(r)
    assert view["by"] == "县民政局管理员(admin)" and "approved_by" not in view, view
    assert [(p["case_id"], p["status"]) for p in view["problems"]] == [(county["blocked"], "blocked")]
    assert ACCOUNT not in r.text and ACCOUNT[-4:] not in r.text
    g.err(g.login("admin").get(path(run, "/file")), 409, "conflict", "run_id")


def test_four_eyes_then_the_banks_file(g, county, tmp_path):
    run = county["run"]
    e = g.err(g.login("admin").post(path(run, "/approve"), key=g.key("pay-ok")), 409, "conflict",
              "by")
    assert "编制人不能审核" in e["message"] and "cannot approve" in e["message_en"], e
    res = g.ok(g.login("county1").post(path(run, "/approve"), {"by": "admin"}, key=g.key("pay-ok")))
    assert res["approved_by"] == "县级经办人(county1)", res
    g.err(g.login("tw_a").get(path(run, "/file")), 403, "unauthorized")
    r = g.login("county1").get(path(run, "/file"))
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Disposition"] == 'attachment; filename="payroll-%d-%s-%s.csv"' % (
        run["run_id"], MONTH, county["town"])
    out = tmp_path / "bank.csv"
    g.aidctl("payroll", "file", str(run["run_id"]), "--out", str(out))
    assert r.content == out.read_bytes()
    lines = r.text.splitlines()
    assert lines[0] == "line_id,case_id,month,bank,account,amount_yuan" and len(lines) == 2
    f = lines[1].split(",")
    assert f[1:5] == [county["paid"], MONTH, "农村信用社", ACCOUNT], f
    assert f[5] == "%d.%02d" % divmod(county["fen"], 100)
    view = g.ok(g.login("admin").get(path(run)))
    assert view["approved_by"] == "县级经办人(county1)" and view["filed"] is True
    rows = g.ok(g.login("admin").get("/api/audit?username=county1&limit=50"))["rows"]
    assert any(x["action"] == "payroll.approve" and x["detail"].endswith("run %d" % run["run_id"])
               for x in rows), rows
    assert any(x["action"] == "payroll.file" and x["detail"].startswith("run %d " % run["run_id"])
               for x in rows), rows
    rows = g.ok(g.login("admin").get("/api/audit?username=admin&limit=50"))["rows"]
    assert any(x["action"] == "payroll.run" and x["detail"].endswith("run %d" % run["run_id"])
               for x in rows), rows


def test_the_banks_returns(g, county):
    run = county["run"]
    c = g.login("county1")
    if "approved_by" not in g.ok(c.get(path(run))):  # run alone
        g.ok(c.post(path(run, "/approve")))
    line_id = int(c.get(path(run, "/file")).text.splitlines()[1].split(",")[0])
    blocked = [p["line_id"] for p in g.ok(c.get(path(run)))["problems"]][0]
    csv = "\ufeffline_id,status,reason\r\n%d,failed,账户已销户\r\n" % line_id
    k = g.key("pay-ret")
    res = g.ok(c.post(path(run, "/returns"), {"csv": csv}, key=k))
    assert (res["paid"], res["failed"]) == (0, 1), res
    assert res["lines"] == [{"line_id": line_id, "status": "failed", "reason": "账户已销户"}]
    view = g.ok(c.get(path(run)))
    assert view["settled"]["failed"] == 1 and view["settled"]["failed_fen"] == county["fen"]
    got = next(p for p in view["problems"] if p["line_id"] == line_id)
    assert (got["status"], got["reason"]) == ("failed", "账户已销户"), got
    # the same file again (a retry, or uploaded twice) records nothing twice
    assert g.ok(c.post(path(run, "/returns"), {"csv": csv}, key=k))["failed"] == 1
    assert g.ok(c.post(path(run, "/returns"), {"csv": csv}))["failed"] == 1
    assert g.ok(c.get(path(run)))["settled"]["failed"] == 1
    # errors name the file's line
    e = g.err(c.post(path(run, "/returns"), {"csv": "line_id,status\n\n%d,paid\n" % line_id}), 409,
              "conflict", "csv")
    assert e["line"] == 3 and e["message"].startswith("银行回盘文件第 3 行"), e
    e = g.err(c.post(path(run, "/returns"), {"csv": "%d,failed\n" % line_id}), 400,
              "invalid_field", "csv")
    assert e["line"] == 1 and "原因" in e["message"], e
    e = g.err(c.post(path(run, "/returns"), {"csv": "%d,failed,x\n%d,paid\n" % (line_id, blocked)}),
              409, "conflict", "csv")
    assert e["line"] == 2 and "受阻" in e["message"], e
    e = g.err(c.post(path(run, "/returns"), {"csv": "%d;paid\n" % line_id}), 400, "invalid_field",
              "csv")
    assert e["line"] == 1, e
    g.err(c.post(path(run, "/returns"), {"csv": "line_id,status\n"}), 400, "invalid_field", "csv")
    g.err(c.post(path(run, "/returns"), {"file": "x"}), 400, "invalid_field", "file")
    assert g.ok(c.get(path(run)))["settled"] == {"paid": 0, "paid_fen": 0, "failed": 1,
                                                 "failed_fen": county["fen"]}
    rows = g.ok(c.get("/api/audit?username=county1&limit=50"))["rows"]
    assert any(x["action"] == "payroll.reconcile" and
               x["detail"].endswith("run %d paid 0 failed 1" % run["run_id"]) for x in rows), rows



def test_a_failed_line_carried_into_the_next_months_file(g, county, tmp_path):
    """The line the bank failed (test above) is carried into next month's run: the
    household has two lines there, its one row of the bank's file sums them, and the
    file still matches the run's control totals (which count lines)."""
    nxt = g.ok(g.login("admin").post("/api/payroll/runs", {"month": "2024-04",
                                                           "township": county["town"]},
                                     key=g.key("pay-run-next")))
    g.ok(g.login("county1").post(path(nxt, "/approve"), key=g.key("pay-ok-next")))
    r = g.login("county1").get(path(nxt, "/file"))
    assert r.status_code == 200, r.text
    out = tmp_path / "bank-next.csv"
    g.aidctl("payroll", "file", str(nxt["run_id"]), "--out", str(out))
    assert r.content == out.read_bytes()
    rows = r.text.splitlines()[1:]
    assert len(rows) == 1, rows
    f = rows[0].split(",")
    assert f[1] == county["paid"] and f[5] == "%d.%02d" % divmod(2 * county["fen"], 100), f

def test_no_account_in_the_console_log(g, county):
    log = os.path.join(os.environ.get("AID_VAR", "var/gwtest"), "log", "gateway.log")
    if not os.path.exists(log):
        pytest.skip("the stack's log is elsewhere")
    out = subprocess.run(["grep", "-c", ACCOUNT, log], capture_output=True, text=True)
    assert out.stdout.strip() == "0"
