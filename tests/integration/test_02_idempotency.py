"""test_02_idempotency.py — the request id is the idempotency key.

Same id + same body → the first result with duplicate: true, also with Redis
stopped and after Redis is flushed (Postgres is the truth); same id +
different body → conflict; concurrent submissions of one id → one report.
"""
import copy
import threading
import time

import pytest


def body_for(h, birth="1948-08-08"):
    return h.report([h.member(birth=birth, name="李四")], status={"dibao": "partial"})


def reports_with_id(h, i):
    return int(h.psql_value("select count(*) from reports where request_id = %s" % h.q(i)))


def test_same_id_same_body_is_duplicate(h):
    b = body_for(h)
    i = h.rid("idem")
    first = h.submit_ok(b, i)
    assert first["duplicate"] is False
    for _ in range(3):
        again = h.submit_ok(copy.deepcopy(b), i)
        assert again == {"report_id": first["report_id"], "case_id": first["case_id"],
                         "duplicate": True}
    assert reports_with_id(h, i) == 1


def test_same_id_different_body_is_conflict(h):
    b = body_for(h)
    i = h.rid("idem")
    first = h.submit_ok(b, i)
    b2 = copy.deepcopy(b)
    b2["household"]["members"][0]["monthly_income_fen"] = 1
    r = h.submit(b2, i)
    e = h.error_of(r)
    assert e["code"] == "conflict", e
    assert r["id"] == i
    # a wholly different report under the same id is a conflict too
    e = h.error_of(h.submit(body_for(h, "1960-01-01"), i))
    assert e["code"] == "conflict"
    assert h.submit_ok(b, i)["report_id"] == first["report_id"]
    assert reports_with_id(h, i) == 1


def test_duplicate_and_conflict_with_redis_stopped(h):
    b = body_for(h)
    i = h.rid("idem-redis")
    first = h.submit_ok(b, i)
    h.stack("redis-stop")
    try:
        again = h.submit_ok(b, i)
        assert again["duplicate"] is True
        assert (again["report_id"], again["case_id"]) == (first["report_id"], first["case_id"])
        b2 = copy.deepcopy(b)
        b2["reporter"] = "changed"
        assert h.error_of(h.submit(b2, i))["code"] == "conflict"
        # a new report while Redis is down, and its retry
        nb = body_for(h, "1951-01-01")
        j = h.rid("idem-redis")
        n1 = h.submit_ok(nb, j)
        assert n1["duplicate"] is False
        n2 = h.submit_ok(nb, j)
        assert n2["duplicate"] is True and n2["report_id"] == n1["report_id"]
    finally:
        h.stack("redis-start")
    assert reports_with_id(h, i) == 1 and reports_with_id(h, j) == 1
    # after Redis is back: still the same answers
    assert h.submit_ok(nb, j)["report_id"] == n1["report_id"]
    assert h.submit_ok(b, i)["report_id"] == first["report_id"]
    h.wait_health("ok", 20)


def test_duplicate_and_conflict_after_redis_flush(h):
    b = body_for(h)
    i = h.rid("idem-flush")
    first = h.submit_ok(b, i)
    assert h.submit_ok(b, i)["duplicate"] is True      # now certainly cached in Redis
    r = h.redis_cli("FLUSHALL")
    assert r.returncode == 0 and "OK" in r.stdout, r
    again = h.submit_ok(b, i)
    assert again["duplicate"] is True
    assert (again["report_id"], again["case_id"]) == (first["report_id"], first["case_id"])
    h.redis_cli("FLUSHALL")
    b2 = copy.deepcopy(b)
    b2["urgency"] = "urgent"
    assert h.error_of(h.submit(b2, i))["code"] == "conflict"
    assert reports_with_id(h, i) == 1


def test_concurrent_same_id_one_report(h):
    b = body_for(h, "1944-04-04")
    i = h.rid("idem-conc")
    threads, per_thread = 8, 6
    barrier = threading.Barrier(threads)
    results, errors = [], []
    lock = threading.Lock()

    def worker():
        c = h.Client(timeout=20)
        try:
            barrier.wait(timeout=10)
            for _ in range(per_thread):
                r = c.call("report.submit", b, i)
                with lock:
                    results.append(r)
        except Exception as e:  # reported below
            with lock:
                errors.append(repr(e))
        finally:
            c.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == threads * per_thread
    assert all(r.get("ok") for r in results), [r for r in results if not r.get("ok")][:3]
    ids = {(r["result"]["report_id"], r["result"]["case_id"]) for r in results}
    assert len(ids) == 1, ids
    fresh = [r for r in results if r["result"]["duplicate"] is False]
    assert len(fresh) == 1, "%d replies said duplicate: false" % len(fresh)
    assert reports_with_id(h, i) == 1
    case = h.wait_complete(fresh[0]["result"]["case_id"], timeout=30)
    refs = h.referrals_of(case, fresh[0]["result"]["report_id"])
    assert set(refs) >= {"civil", "medical", "care"}, refs


def test_different_ids_same_body_are_two_reports(h):
    b = body_for(h)
    r1 = h.submit_ok(b)
    r2 = h.submit_ok(b)
    assert r1["report_id"] != r2["report_id"]
    assert r1["case_id"] == r2["case_id"]          # same household, same case
    assert r2["duplicate"] is False


def reordered(o):
    """The same MessagePack content with every map's keys in reverse order."""
    if isinstance(o, dict):
        return {k: reordered(o[k]) for k in reversed(list(o))}
    if isinstance(o, list):
        return [reordered(x) for x in o]
    return o


def test_same_body_with_keys_in_another_order_is_duplicate(h):
    """A MessagePack map has no key order: a client in another language
    (Go randomises map order) retrying the same body must get duplicate,
    not conflict."""
    b = h.report([h.member(birth="1950-01-01", name="顺序甲"), h.member(birth="1960-01-01", name="顺序乙")],
                 status={"dibao": "partial", "single_parent": False})
    i = h.rid("order")
    first = h.submit_ok(b, i)
    r = h.submit(reordered(b), i)
    assert r.get("ok") is True, "same body, keys in another order: %r" % (r.get("error"),)
    assert r["result"]["duplicate"] is True and r["result"]["report_id"] == first["report_id"]
