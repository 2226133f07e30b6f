"""test_05_stores_down.py — Redis is never the only copy of anything; the bus
is a fast path; services live through their stores being down.

With Redis stopped, health says degraded (and its replies stay valid),
reports are still accepted and fully decided; after Redis is back, health is
ok again. With the bus broker killed, the sweeps still decide every report
and health says the bus is not ok. Services restarted while Redis or
Postgres is down come up and work once the store is back.
"""
import time

import msgpack


def test_health_replies_stay_valid_when_redis_goes_away(h):
    """The first health calls after Redis stops report the Redis error; the
    reply must still be a valid MessagePack map of UTF-8 strings (a few
    stop/start cycles, since the first call after each outage is the one that
    drops the connection)."""
    seen, bad = [], []
    for cycle in range(3):
        assert h.wait_health("ok", 20)["redis"] == "ok"
        h.stack("redis-stop")
        try:
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                rep = h.client().send_frames([b"", h_pack({"v": 1, "op": "health"})], timeout=5)
                assert rep is not None, "no reply to health"
                try:
                    r = msgpack.unpackb(rep[-1], raw=False)
                except UnicodeDecodeError as e:
                    bad.append("cycle %d: %s: %r" % (cycle, e, rep[-1]))
                    continue
                seen.append(r["result"]["redis"])
                if not r["result"]["redis"].isprintable():
                    bad.append("cycle %d: redis status %r" % (cycle, r["result"]["redis"]))
                time.sleep(0.1)
        finally:
            h.stack("redis-start")
    h.wait_health("ok", 20, tolerate_bad_reply=True)
    assert not bad, "health replies with Redis down carry garbage:\n" + "\n".join(bad)
    assert seen and "ok" not in seen[1:], seen


def h_pack(o):
    return msgpack.packb(o, use_bin_type=True)


def test_redis_down_degraded_but_working(h):
    assert h.wait_health("ok", 20)["redis"] == "ok"
    h.stack("redis-stop")
    try:
        # (a garbled first reply is test_health_replies_stay_valid_when_redis_goes_away's)
        hr = h.wait_health("degraded", 15, tolerate_bad_reply=True)
        assert hr["redis"] != "ok" and hr["database"] == "ok", hr
        results = []
        for k in range(4):
            ms = [h.member(birth="1949-0%d-09" % (k + 1), name="无缓存%d" % k)]
            body = h.report(ms, status={"dibao": "partial"}, urgency="urgent",
                            circumstances=[{"kind": "accident"}])
            results.append(h.submit_ok(body))
        for res in results:
            case = h.wait_complete(res["case_id"], timeout=30)
            refs = h.referrals_of(case, res["report_id"])
            assert set(refs) == {"civil", "tempaid", "medical", "care"}, refs
            assert all(f["status"] == "granted" for f in refs.values()), refs
            assert refs["tempaid"]["measures"][0]["amount_fen"] == 3 * 70500
        # reads work too
        r = h.case_get(id_number=ms[0]["id_number"])
        assert r["ok"] is True, r
        assert h.health()["status"] == "degraded"
    finally:
        h.stack("redis-start")
    t0 = time.monotonic()
    hr = h.wait_health("ok", 20)
    assert hr["redis"] == "ok"
    # and the system still works with Redis back
    res = h.submit_ok(h.report([h.member(birth="1950-10-10", name="恢复")], status={"dibao": "partial"}))
    h.wait_complete(res["case_id"], timeout=30)
    assert time.monotonic() - t0 < 40


def test_bus_down_reports_still_decided(h):
    """The bus is a fast path, never the only copy: with the broker killed
    the periodic sweep still decides every report."""
    h.stack("kill-service", "bus")
    try:
        res = [h.submit_ok(h.report([h.member(birth="1948-12-0%d" % (k + 1), name="无总线%d" % k)],
                                    status={"dibao": "partial"})) for k in range(3)]
        for r in res:
            case = h.wait_complete(r["case_id"], timeout=30)
            assert set(h.referrals_of(case, r["report_id"])) == {"civil", "medical", "care"}
    finally:
        h.stack("up")
    res = h.submit_ok(h.report([h.member(birth="1948-11-11", name="总线恢复")], status={"dibao": "partial"}))
    h.wait_complete(res["case_id"], timeout=30)


def test_health_reports_bus_down(h):
    """health gives the status of each dependency (database, redis, bus):
    with the bus broker dead it must not say the bus is ok."""
    h.stack("kill-service", "bus")
    try:
        time.sleep(1.0)
        hr = h.health()
        assert hr["bus"] != "ok", "bus broker killed, health still says %r" % (hr,)
        # like Redis down: the system works on (sweeps), but not at full health
        assert hr["status"] == "degraded", \
            "bus broker killed: bus %r but overall status %r" % (hr["bus"], hr["status"])
    finally:
        h.stack("up")
    h.wait_health("ok", 20)


def test_services_start_while_redis_down(h):
    h.stack("redis-stop")
    try:
        h.stack("restart-service", "intake")
        h.stack("restart-service", "civil")
        hr = h.wait_health("degraded", 15, tolerate_bad_reply=True)
        assert hr["database"] == "ok", hr
        res = h.submit_ok(h.report([h.member(birth="1951-07-07", name="冷启动")], status={"dibao": "partial"}))
        case = h.wait_complete(res["case_id"], timeout=30)
        assert h.referrals_of(case, res["report_id"])["civil"]["status"] == "granted"
    finally:
        h.stack("redis-start")
    h.wait_health("ok", 20)


def test_services_start_while_postgres_down(h):
    h.stack("pg-stop")
    try:
        for s in ("intake", "eligibility", "civil", "medical", "care"):
            h.stack("restart-service", s)
        time.sleep(1.0)
        st = h.status()
        down = [s for s in ("intake", "eligibility", "civil", "medical", "care") if not st.get(s)]
        assert not down, "services that could not live without Postgres: %s\n%s" % (
            down, h.tail_logs(*down))
        assert h.health(timeout=15)["status"] == "down"
    finally:
        h.stack("pg-start")
    h.wait_health("ok", 30)
    res = h.submit_ok(h.report([h.member(birth="1951-08-08", name="库后启动")], status={"dibao": "partial"}))
    case = h.wait_complete(res["case_id"], timeout=30)
    assert set(h.referrals_of(case, res["report_id"])) == {"civil", "medical", "care"}
