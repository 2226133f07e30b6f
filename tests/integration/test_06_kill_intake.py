"""test_06_kill_intake.py — `ok` means committed: kill -9 intake right after
an ok, restart it, and the report is there (and gets decided)."""
import threading
import time


def test_kill_intake_right_after_ok(h):
    for round_ in range(3):
        ms = [h.member(birth="1947-03-0%d" % (round_ + 1), name="急停%d" % round_)]
        body = h.report(ms, status={"dibao": "full"}, housing="none")
        i = h.rid("kill-intake")
        res = h.submit_ok(body, i)
        h.stack("kill-service", "intake")
        assert h.status().get("intake") is None, "intake still running after kill-service"
        h.stack("up")
        case = h.wait_complete(res["case_id"], timeout=30)
        refs = h.referrals_of(case, res["report_id"])
        assert set(refs) == {"civil", "medical", "housing", "care"}, refs
        assert [p["id_masked"] for p in case["persons"]] == [h.mask(ms[0]["id_number"])]
        assert h.psql_value("select count(*) from reports where request_id = %s" % h.q(i)) == "1"
        # the retry after the crash is a duplicate with the same ids
        again = h.submit_ok(body, i)
        assert again["duplicate"] is True and again["report_id"] == res["report_id"]


def test_kill_intake_during_a_burst(h):
    """A thread submits while intake is killed: every acknowledged report is
    durable; every unanswered one, retried with its id after the restart, is
    accepted exactly once."""
    stop = threading.Event()
    acked, unanswered, bodies = [], [], {}

    def submitter():
        c = h.Client(timeout=2)
        try:
            k = 0
            while not stop.is_set() and k < 400:
                k += 1
                i = h.rid("burst")
                body = h.report([h.member(birth="1946-04-04", name="连发%d" % k)],
                                status={"dibao": "partial"})
                bodies[i] = body
                try:
                    r = c.call("report.submit", body, i)
                except h.NoReply:
                    unanswered.append(i)
                    continue
                if r.get("ok"):
                    acked.append((i, r["result"]))
                else:
                    unanswered.append(i)
                time.sleep(0.005)
        finally:
            c.close()

    t = threading.Thread(target=submitter)
    t.start()
    try:
        deadline = time.monotonic() + 20
        while len(acked) < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        h.stack("kill-service", "intake")
        time.sleep(0.3)
        h.stack("up")
        n = len(acked)
        deadline = time.monotonic() + 20
        while len(acked) < n + 20 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        t.join(timeout=30)
    assert len(acked) >= 50, (len(acked), len(unanswered))
    for i in unanswered:
        r = h.submit_ok(bodies[i], i)
        acked.append((i, r))
    ids = [i for i, _ in acked]
    rows = h.psql("select request_id, count(*) from reports where request_id in (%s) group by 1"
                  % ",".join(h.q(i) for i in ids))
    counts = {r[0]: int(r[1]) for r in rows}
    assert all(counts.get(i) == 1 for i in ids), \
        [(i, counts.get(i)) for i in ids if counts.get(i) != 1][:5]
    for i, res in acked[-5:] + acked[:5]:
        case = h.wait_complete(res["case_id"], timeout=30)
        assert h.referrals_of(case, res["report_id"]), res
    h.wait_reports_decided(ids, timeout=30)
