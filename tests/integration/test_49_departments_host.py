"""test_49_departments_host.py — the departments host (services/departments,
README "The departments host"): every built-in department decided by one
process, one transaction per step for all of them, as `make bench` runs it.

`AID_DEPARTMENTS_HOST=1 AID_REPLICAS=departments:2 ops/stack.sh up` stops the
eight department services that own no operations, starts care again (it
keeps serving its operations and leaves its referrals to the host) and starts
two hosts. Then:

- reports routed to many departments are decided, each referral exactly once,
  under its department's name and the deciding host's instance
  ("civil.1", "care.2"), and both hosts decided some; a host killed (-9)
  while reports flow loses nothing once it is started again;
- the host's role acts for no department by itself (row-level security shows
  it no referral, aid_dept_claim refuses it), names only built-in
  departments, cannot record a referral under another department than its own,
  and no department role may call the host's functions.

Going back (`AID_DEPARTMENTS_HOST= AID_REPLICAS= up`) starts the nine
department services again, and they decide.
"""
import os
import re
import subprocess
import threading

from test_96_roles import as_role, refused, value_as

HOST = {"AID_DEPARTMENTS_HOST": "1", "AID_REPLICAS": "departments:2"}
N = 90


def templates(h, k):
    """Report shapes routed to most departments between them (test_07)."""
    t = k % 3
    if t == 0:
        ms = [h.member(birth="1952-02-02", name="宿甲%d" % k), h.member(birth="1985-05-05", name="宿乙%d" % k)]
        return h.report(ms, status={"dibao": "partial"}, urgency="urgent",
                        circumstances=[{"kind": "accident"}])
    if t == 1:
        return h.report([h.member(birth="1941-01-01", name="宿丙%d" % k, tekun="dispersed",
                                  self_care="semi")])
    ms = [h.member(birth="1980-08-08", name="宿丁%d" % k, monthly_income_fen=300000),
          h.member(birth="2012-09-04", name="宿戊%d" % k, school_stage="compulsory")]
    return h.report(ms, housing="damaged", urgency="urgent", circumstances=[{"kind": "disaster"}])


def submit_all(h, n, tag, during=None):
    """Submits n reports from two threads; calls during() once half are sent."""
    ids, errors, lock = [], [], threading.Lock()

    def worker(w):
        c = h.Client(timeout=15)
        try:
            for k in range(w, n, 2):
                i = h.rid(tag)
                r = c.call("report.submit", templates(h, k), i)
                with lock:
                    (ids if r.get("ok") else errors).append(i if r.get("ok") else r)
                    if during and len(ids) == n // 2:
                        during()
        except Exception as e:
            errors.append(repr(e))
        finally:
            c.close()

    ts = [threading.Thread(target=worker, args=(w,)) for w in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert len(ids) == n
    return ids


def decided_once(h, ids):
    """Every referral of these requests' reports has exactly one decision;
    returns {decided_by: count}."""
    scope = "select report_id from reports where request_id in (%s)" % ",".join(h.q(i) for i in ids)
    bad = h.psql("select f.referral_id, count(d.referral_id) from referrals f left join decisions d "
                 "using (referral_id) where f.report_id in (%s) group by 1 "
                 "having count(d.referral_id) <> 1" % scope)
    assert bad == [], bad[:5]
    rows = h.psql("select d.decided_by, f.department, count(*) from decisions d join referrals f "
                  "using (referral_id) where f.report_id in (%s) group by 1, 2" % scope)
    for by, dept, _ in rows:
        assert re.fullmatch(re.escape(dept) + r"(\.[12])?", by), (by, dept)
    return rows


def decisions_by_route(h, ids):
    """{(the report's departments, a department): {(status, rules, measure codes,
    amounts)}} of these requests' reports: what was decided, whoever decided it."""
    scope = "select report_id from reports where request_id in (%s)" % ",".join(h.q(i) for i in ids)
    rows = h.psql("select f.report_id, f.department, d.status, array_to_string(d.rules, ','), "
                  "array_to_string(d.m_code, ','), array_to_string(d.m_amount_fen, ',') "
                  "from referrals f join decisions d using (referral_id) "
                  "where f.report_id in (%s)" % scope)
    route = {}
    for rid, dept, *_ in rows:
        route.setdefault(rid, set()).add(dept)
    out = {}
    for rid, dept, *what in rows:
        out.setdefault((tuple(sorted(route[rid])), dept), set()).add(tuple(what))
    return out


def test_host_decides_every_department_once(h):
    h.stack("up", env=HOST, drop=())
    try:
        st = h.status()
        assert st.get("departments.1") and st.get("departments.2"), st
        for d in ("civil", "tempaid", "medical", "education", "housing", "employment",
                  "relief", "social"):
            assert not st.get(d), (d, st)
        assert st.get("care"), st
        # status says why the departments the host decides for are not running
        lines = {ln.split()[0]: ln for ln in h.stack("status").stdout.splitlines() if ln.strip()}
        assert "decided by the departments host" in lines["civil"], lines
        assert "running" in lines["departments.1"], lines
        # care runs for its operations and says it leaves its referrals to the host
        assert '"event":"dept.hosted"' in h.log_since("care", 0)
        # every instance of the layout answers on its metrics port (care too), and
        # the departments not started are not listed (stack.env as `up` wrote it)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AID_METRICS_")}
        env["AID_VAR"] = h.VAR
        p = subprocess.run([os.path.join(h.ROOT, "bin", "aidctl"), "stats"], env=env,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        listed = {line.split()[0] for line in p.stdout.splitlines()[1:] if line.strip()}
        assert {"departments.1", "departments.2", "care"} <= listed, p.stdout
        assert not listed & {"civil", "tempaid", "social"}, p.stdout

        ids = submit_all(h, N, "host")
        h.wait_reports_decided(ids, timeout=60)
        rows = decided_once(h, ids)
        by_host = {}
        for by, dept, n in rows:
            by_host.setdefault(by.rsplit(".", 1)[-1], set()).add(dept)
        assert set(by_host) == {"1", "2"}, rows
        assert len({dept for _, dept, _ in rows}) >= 7, rows
        hosted = decisions_by_route(h, ids)

        # a host killed while reports flow: its steps roll back, the other host
        # and the restarted one decide every referral once
        killed = []

        def kill():
            killed.append(h.stack("kill-service", "departments.1").stdout)

        ids = submit_all(h, N, "hostkill", during=kill)
        assert killed and "killed" in killed[0], killed
        h.stack("start-service", "departments.1", env=HOST, drop=())
        h.wait_reports_decided(ids, timeout=60)
        decided_once(h, ids)
    finally:
        h.stack("up", env={"AID_DEPARTMENTS_HOST": "", "AID_REPLICAS": ""}, drop=())
    st = h.status()
    assert st.get("civil") and st.get("care"), st
    assert not st.get("departments") and not st.get("departments.1"), st
    assert "AID_DEPARTMENTS_HOST is not 1" in h.stack("status").stdout
    # the department services decide again, care among them
    ids = submit_all(h, 6, "hostback")
    h.wait_reports_decided(ids, timeout=30)
    rows = decided_once(h, ids)
    assert {by for by, _, _ in rows} >= {"civil", "care"}, rows
    # the host decided as the departments' own processes do (it decodes a report
    # once for all its referrals; each department decides on its own copy)
    own = decisions_by_route(h, ids)
    assert own and set(own) <= set(hosted), (sorted(own), sorted(hosted))
    for key, what in own.items():
        assert what == hosted[key], (key, what, hosted[key])


def test_host_role_acts_for_no_department_by_itself(h):
    # row-level security: a member of aid_department, for no department
    assert value_as(h, "aid_departments", "SELECT count(*) FROM referrals") == "0"
    refused(h, "aid_departments", "SELECT * FROM aid_dept_claim(1)", why=r"not a department role")
    refused(h, "aid_departments", "SELECT * FROM aid_host_claim('{civil,nosuch}', 1)",
            why=r"not built in")
    refused(h, "aid_departments", "SELECT aid_host_depth(NULL)", why=r"not built in")
    # its claim of no rows works (rolled back: psql -c is its own transaction)
    rc, rows, err = as_role(h, "aid_departments",
                            "SELECT count(*) FROM aid_host_claim('{civil,care}', 0)")
    assert rc == 0 and rows == [["0"]], (rows, err)
    # recording names each referral's department, and it must be the referral's
    res = h.submit_ok(templates(h, 0))      # routed to civil among others
    case = h.wait_complete(res["case_id"])
    rid = h.num(h.referrals_of(case, res["report_id"])["civil"]["referral_id"])
    args = ("'{%s}'::bigint[], '{denied}', '{x}', '{}', '{}'::bigint[], '{}'::int[], '{}', "
            "'{}'::int[], '{}', '{}'::bigint[], '{}', '{}', ''" % rid)
    refused(h, "aid_departments", "SELECT * FROM aid_host_record('{housing}', %s)" % args,
            why=r"not of the department named for it")
    refused(h, "aid_departments", "SELECT * FROM aid_host_record('{civil,civil}', %s)" % args,
            why=r"2 departments for 1 referrals")
    refused(h, "aid_departments", "SELECT * FROM aid_host_record('{nosuch}', %s)" % args,
            why=r"not built in")
    # no department role may call the host's functions
    for fn in ("aid_host_claim('{civil}', 1)", "aid_host_depth('{civil}')"):
        refused(h, "aid_civil", "SELECT * FROM %s" % fn, why=r"permission denied")
    refused(h, "aid_civil", "SELECT * FROM aid_host_record('{civil}', %s)" % args,
            why=r"permission denied")
