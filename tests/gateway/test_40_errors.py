"""test_40_errors.py — how the gateway maps the contract's errors to HTTP, and
how it behaves when intake is silent, talks nonsense or is several processes.

A second gateway is started here, pointed at fake intakes (ZeroMQ ROUTERs
in this process) that answer `health` as the test tells them; it shares the
stack's database for its accounts."""
import os
import socket
import subprocess
import threading
import time

import msgpack
import pytest
import requests
import zmq

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeIntake:
    """A ROUTER that answers every request by self.mode:
    ("ok", result) | ("error", code, field) | ("silent",) | ("garbage",) |
    ("noid", code, id) — an error that does not name the request (id is ""
    or None for none), as intake answers a request it cannot read."""

    def __init__(self, ctx):
        self.port = free_port()
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind("tcp://127.0.0.1:%d" % self.port)
        self.mode = ("ok", {"status": "ok"})
        self.seen = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while not self.stop.is_set():
            if not poller.poll(100):
                continue
            frames = self.sock.recv_multipart()
            req = msgpack.unpackb(frames[-1], raw=False)
            self.seen.append(req)
            mode = self.mode
            if mode[0] == "silent":
                continue
            if mode[0] == "garbage":
                body = b"\xc1\xc1"
            elif mode[0] == "noid":
                reply = {"v": 1, "ok": False, "error": {"code": mode[1], "message": "unreadable"}}
                if mode[2] is not None:
                    reply["id"] = mode[2]
                body = msgpack.packb(reply)
            elif mode[0] == "ok":
                body = msgpack.packb({"v": 1, "id": req.get("id", ""), "ok": True,
                                      "result": mode[1]})
            else:
                e = {"code": mode[1], "message": "test says " + mode[1]}
                if mode[2]:
                    e["field"] = mode[2]
                body = msgpack.packb({"v": 1, "id": req.get("id", ""), "ok": False, "error": e})
            self.sock.send_multipart(frames[:-1] + [body])

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def fake(g):
    ctx = zmq.Context()
    intakes = [FakeIntake(ctx), FakeIntake(ctx)]
    port = free_port()
    env = dict(os.environ,
               AID_GATEWAY_URL="http://127.0.0.1:%d" % port,
               AID_INTAKE_API=",".join("tcp://127.0.0.1:%d" % i.port for i in intakes),
               AID_GATEWAY_TIMEOUT_MS="1500", AID_LOG_LEVEL="warn")
    proc = subprocess.Popen([os.path.join(ROOT, "bin", "gateway")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = env["AID_GATEWAY_URL"]
    old = g.URL
    try:  # the gateway is stopped even when the set-up fails
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                requests.get(url + "/api/session", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        client = g.Client()
        client.s.headers.update({})

        class Fake:
            pass

        f = Fake()
        f.url, f.intakes, f.client = url, intakes, client
        # the client talks to this gateway
        client.url = lambda path: url + path
        client.login("auditor1")
        yield f
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        for i in intakes:
            i.close()
        ctx.term()
    assert old == g.URL


@pytest.mark.parametrize("code,field,status", [
    ("invalid_field", "household.members[2].id_number", 400),
    ("bad_request", None, 400),
    ("unauthorized", None, 403),
    ("not_found", "case_id", 404),
    ("conflict", "id", 409),
    ("too_large", None, 413),
    ("rate_limited", None, 429),
    ("unavailable", None, 503),
    ("unknown_op", "op", 501),
])
def test_contract_errors_map_to_http_statuses(g, fake, code, field, status):
    for i in fake.intakes:
        i.mode = ("error", code, field)
    r = fake.client.get("/api/health")
    assert r.status_code == status, r.text
    e = r.json()["error"]
    assert e["code"] == code and e["message_en"] == "test says " + code
    # a message the table does not know: the code's Chinese text, naming the field
    assert e["message"] == {
        "bad_request": "请求无效", "unauthorized": "无权进行此操作",
        "invalid_field": "身份证号码(household.members[2].id_number)填写有误",
        "not_found": "未找到个案编号(case_id)所指的记录",
        "conflict": "请求编号(id)与先前的提交冲突", "too_large": "内容过大",
        "rate_limited": "请求过于频繁,请稍后重试", "unavailable": "服务暂不可用,请稍后重试",
        "unknown_op": "该功能尚未上线"}[code], e
    assert not e["message"].isascii(), e
    assert e.get("field") == field
    if status == 429:
        assert int(r.headers["Retry-After"]) >= 1


def test_results_pass_through_whole(g, fake):
    result = {"status": "ok", "nested": {"list": [1, "二", True, None]}, "fen": 211500}
    for i in fake.intakes:
        i.mode = ("ok", result)
    assert g.ok(fake.client.get("/api/health")) == result


def test_no_answer_is_unavailable_in_time(g, fake):
    for i in fake.intakes:
        i.mode = ("silent",)
    t = time.time()
    e = g.err(fake.client.get("/api/health"), 503, "unavailable")
    assert 1.2 < time.time() - t < 5 and e["message"]
    for i in fake.intakes:
        i.mode = ("ok", {"status": "ok"})
    # the late answer of the silent request is never taken for a new one
    assert g.ok(fake.client.get("/api/health")) == {"status": "ok"}


@pytest.mark.parametrize("rid", ["", None])
def test_an_error_that_names_no_request_is_this_requests_answer(g, fake, rid):
    """intake answers a request it cannot read with an empty id (or none):
    on the pooled socket that sent it, that is its answer — given at once,
    not after the timeout (1.5 s here) as 503."""
    for i in fake.intakes:
        i.mode = ("noid", "bad_request", rid)
    t = time.time()
    e = g.err(fake.client.get("/api/health"), 400, "bad_request")
    assert time.time() - t < 1.0 and e["message_en"] == "unreadable"
    assert e["message"] == "请求无效", e
    for i in fake.intakes:
        i.mode = ("ok", {"status": "ok"})
    assert g.ok(fake.client.get("/api/health")) == {"status": "ok"}


def test_requests_waiting_on_intake_do_not_hold_up_others(g, fake):
    """While 8 requests wait on a silent intake (each for the 1.5 s timeout),
    a request that needs no intake and a static page are answered at once:
    handlers run on workers, not on the server's few event threads."""
    for i in fake.intakes:
        i.mode = ("silent",)
    results = []

    def waiting():
        results.append(fake.client.get("/api/health", timeout=10).status_code)
    threads = [threading.Thread(target=waiting) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    t0 = time.time()
    assert requests.get(fake.url + "/api/session", timeout=10).status_code == 200
    assert requests.get(fake.url + "/", timeout=10).status_code == 200
    took = time.time() - t0
    for t in threads:
        t.join(10)
    for i in fake.intakes:
        i.mode = ("ok", {"status": "ok"})
    assert took < 1.0, took
    assert results == [503] * 8


def test_a_malformed_reply_is_unavailable(g, fake):
    for i in fake.intakes:
        i.mode = ("garbage",)
    g.err(fake.client.get("/api/health"), 503, "unavailable")
    for i in fake.intakes:
        i.mode = ("ok", {"status": "ok"})


def test_requests_spread_over_every_intake_endpoint(g, fake):
    for i in fake.intakes:
        i.mode = ("ok", {"status": "ok"})
        i.seen.clear()
    for _ in range(12):
        g.ok(fake.client.get("/api/health"))
    assert all(len(i.seen) > 0 for i in fake.intakes), [len(i.seen) for i in fake.intakes]
    req = fake.intakes[0].seen[0]
    assert req["v"] == 1 and req["op"] == "health" and req["id"].startswith("gw-read-")


def test_reads_and_writes_carry_the_right_envelope(g, fake):
    for i in fake.intakes:
        i.mode = ("ok", {"tracking_no": "TS202611-000001", "status": "registered"})
        i.seen.clear()
    tw = g.Client()
    tw.url = lambda path: fake.url + path
    tw.login("tw_a")
    g.ok(tw.post("/api/complaints", {"channel": "hotline", "text": "x"}, key="envelope-0001"))
    req = [r for i in fake.intakes for r in i.seen][0]
    assert req["op"] == "complaint.submit" and req["id"] == "gw-tw_a-envelope-0001"
    # the caseworker's township: the complaint is theirs to read (issue 14, point 5)
    assert req["body"] == {"channel": "hotline", "text": "x", "by": "甲镇经办人(tw_a)",
                           "township": g.TOWN_A}
