"""test_08_replicas.py — two instances of one department share the work
without double decisions (FOR UPDATE SKIP LOCKED; the decisions primary key
backs it up).

`AID_REPLICAS=civil:2 ops/stack.sh up` replaces civil by civil.1 and civil.2;
200 civil-bound reports later every civil referral has exactly one decision
and both instances decided some (decisions.decided_by names the instance).
`AID_REPLICAS= ops/stack.sh up` goes back to one civil (a bare `up` would
keep the remembered layout, test_97_deploy).
"""
import threading


N = 200
THREADS = 4


def test_two_civil_instances(h):
    p = h.stack("up", env={"AID_REPLICAS": "civil:2"}, drop=())
    try:
        st = h.status()
        assert st.get("civil.1") and st.get("civil.2"), (st, p.stdout)
        assert "civil" not in st or st["civil"] is None, st
        results, errors = [], []
        lock = threading.Lock()

        def worker(w):
            c = h.Client(timeout=15)
            try:
                for k in range(N // THREADS):
                    ms = [h.member(birth="1953-03-03", name="双实例%d-%d" % (w, k))]
                    i = h.rid("replica")
                    r = c.call("report.submit", h.report(ms, status={"dibao": "partial"}), i)
                    with lock:
                        (results if r.get("ok") else errors).append((i, r))
            except Exception as e:
                errors.append(repr(e))
            finally:
                c.close()

        ts = [threading.Thread(target=worker, args=(w,)) for w in range(THREADS)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=90)
        assert not errors, errors[:3]
        assert len(results) == N
        ids = [i for i, _ in results]
        h.wait_reports_decided(ids, timeout=60)

        scope = "select report_id from reports where request_id in (%s)" % ",".join(h.q(i) for i in ids)
        civil = [int(r[0]) for r in h.psql("select referral_id from referrals where department = 'civil' "
                                           "and report_id in (%s)" % scope)]
        assert len(civil) == N, "one civil referral per report: %d for %d reports" % (len(civil), N)
        rows = h.psql("select r.referral_id, count(d.referral_id) from referrals r left join decisions d "
                      "using (referral_id) where r.department = 'civil' and r.report_id in (%s) "
                      "group by 1 having count(d.referral_id) <> 1" % scope)
        assert rows == [], rows[:5]
        by = h.psql("select d.decided_by, count(*) from decisions d join referrals r using (referral_id) "
                    "where r.department = 'civil' and r.report_id in (%s) group by 1" % scope)
        assert sum(int(n) for _, n in by) == N, by

        # both instances decided some; the decisions primary key (checked
        # above: exactly one decision per referral) means none decided twice
        counts = {who: int(n) for who, n in by}
        assert set(counts) == {"civil.1", "civil.2"}, counts
        assert counts["civil.1"] > 0 and counts["civil.2"] > 0, counts
    finally:
        # up keeps AID_REPLICAS (var/settings.env): going back to one civil is explicit
        h.stack("up", env={"AID_REPLICAS": ""}, drop=())
    st = h.status()
    assert st.get("civil"), st
    assert not st.get("civil.1") and not st.get("civil.2"), st
    # the single civil works again
    res = h.submit_ok(h.report([h.member(birth="1953-04-04", name="回到单实例")], status={"dibao": "partial"}))
    case = h.wait_complete(res["case_id"], timeout=30)
    assert h.referrals_of(case, res["report_id"])["civil"]["status"] == "granted"
