"""test_07_kill_flow.py — crash anywhere, lose nothing (DESIGN.md 6).

~300 reports flow in from a thread; eligibility is killed (-9) a quarter of
the way, civil and tempaid half-way, and `ops/stack.sh up` restarts them
after the last submission. Every accepted report ends complete; in the
database every (report, department) has exactly one referral, with exactly
one decision, and the fan-out is the one POLICY.md gives for its template.
"""
import threading
import time

N = 300


def templates(h, k):
    """Three report shapes, with their departments (POLICY.md)."""
    t = k % 3
    if t == 0:   # dibao, an elderly member, urgent accident
        ms = [h.member(birth="1952-02-02", name="流甲%d" % k), h.member(birth="1985-05-05", name="流乙%d" % k)]
        body = h.report(ms, status={"dibao": "partial"}, urgency="urgent",
                        circumstances=[{"kind": "accident"}])
        return body, {"civil", "tempaid", "medical", "care"}
    if t == 1:   # dispersed tekun needing some care
        ms = [h.member(birth="1941-01-01", name="流丙%d" % k, tekun="dispersed", self_care="semi")]
        return h.report(ms), {"civil", "care", "social"}
    # an M household hit by a flood
    ms = [h.member(birth="1980-08-08", name="流丁%d" % k, monthly_income_fen=300000)]
    body = h.report(ms, housing="damaged", urgency="urgent", circumstances=[{"kind": "disaster"}])
    return body, {"tempaid", "relief", "housing"}


def test_kills_while_reports_flow(h):
    sent = []                 # (request id, result, expected departments)
    errors = []
    progress = [0]

    def submitter():
        c = h.Client(timeout=15)
        try:
            for k in range(N):
                body, depts = templates(h, k)
                i = h.rid("flow")
                r = c.call("report.submit", body, i)
                if not r.get("ok"):
                    errors.append(r)
                    continue
                sent.append((i, r["result"], depts))
                progress[0] = k + 1
                time.sleep(0.01)
        except Exception as e:
            errors.append(repr(e))
        finally:
            c.close()

    t = threading.Thread(target=submitter)
    t0 = time.monotonic()
    t.start()
    try:
        def wait_progress(n):
            while progress[0] < n and t.is_alive() and time.monotonic() - t0 < 60:
                time.sleep(0.01)
        wait_progress(N // 4)
        h.stack("kill-service", "eligibility")
        wait_progress(N // 2)
        h.stack("kill-service", "civil")
        h.stack("kill-service", "tempaid")
        t.join(timeout=90)
    finally:
        h.stack("up")
    assert not t.is_alive(), "submitter still running"
    assert not errors, errors[:3]
    assert len(sent) == N
    ids = [i for i, _, _ in sent]
    h.wait_reports_decided(ids, timeout=90)

    inl = ",".join(h.q(i) for i in ids)
    # one report per request id
    assert h.psql_value("select count(*) from reports where request_id in (%s)" % inl) == str(N)
    # no referral without a decision, and as many decisions as referrals
    scope = "select report_id from reports where request_id in (%s)" % inl
    assert h.psql_value("select count(*) from referrals r left join decisions d using (referral_id) "
                        "where d.referral_id is null and r.report_id in (%s)" % scope) == "0"
    refs = int(h.psql_value("select count(*) from referrals where report_id in (%s)" % scope))
    decs = int(h.psql_value("select count(*) from decisions d join referrals r using (referral_id) "
                            "where r.report_id in (%s)" % scope))
    assert refs == decs > 0, (refs, decs)
    # the global invariant of the whole database as well
    assert h.psql_value("select count(*) from referrals r left join decisions d using (referral_id) "
                        "where d.referral_id is null") == "0"
    assert h.psql_value("select count(*) from referrals") == h.psql_value("select count(*) from decisions")
    # status of the referral agrees with its decision
    assert h.psql_value("select count(*) from referrals r join decisions d using (referral_id) "
                        "where r.status <> d.status or r.decided_at is null") == "0"
    # each report reached exactly its departments, each once
    rows = h.psql("select r.request_id, string_agg(f.department, ',' order by f.department), count(*) "
                  "from reports r join referrals f using (report_id) where r.request_id in (%s) "
                  "group by 1" % inl)
    got = {row[0]: (set(row[1].split(",")), int(row[2])) for row in rows}
    bad = []
    for i, res, depts in sent:
        d, n = got.get(i, (set(), 0))
        if d != depts or n != len(depts):
            bad.append((i, sorted(d), n, sorted(depts)))
    assert not bad, bad[:5]
    # and the case view says complete (a sample, through the public API)
    for i, res, depts in sent[::15]:
        case = h.wait_complete(res["case_id"], timeout=10)
        assert set(h.referrals_of(case, res["report_id"])) == depts
    assert time.monotonic() - t0 < 150
