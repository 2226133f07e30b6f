"""conftest.py — helpers of the fault drills (tests/faults, `make test-faults`).

The drills run against the private stack that tests/faults/run.sh starts (two
intake and two civil replicas, AID_SWEEP_MS=300) and exports. They reuse the
report builders and psql helper of tests/integration/conftest.py (loaded as a
plain module, so its fixtures stay out of this session) and add:

  Load(tag, n, window, rate)  n report.submit requests with ids "<tag>-<k>" from a
                              thread, over one DEALER connected to every intake
                              endpoint; silence and `unavailable` are resent with
                              the same id and body; .ok = {request id: (report, case)}
  stack(*args)                ops/stack.sh on this stack
  instance_pids(service)      pids of a service's running instances
  wait_complete(tag, n, s)    until every report of the burst is assessed and
                              every referral decided (SQL), bounded
  verify(load)                the invariants after a drill, in SQL (see below)

Everything that waits is bounded in time.
"""
import importlib.util
import os
import random
import subprocess
import threading
import time

import msgpack
import pytest
import zmq

ROOT = os.environ.get("AID_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
STACK_SH = os.path.join(ROOT, "ops", "stack.sh")
VAR = os.environ.get("AID_VAR", os.path.join(ROOT, "var", "test-faults"))
if not os.path.isabs(VAR):
    VAR = os.path.join(ROOT, VAR)
ENDPOINTS = [e for e in os.environ.get("AID_INTAKE_API", "").split(",") if e]
HAVE_STACK = bool(ENDPOINTS and os.environ.get("AID_PG_DSN"))

_spec = importlib.util.spec_from_file_location(
    "aid_integration_helpers", os.path.join(ROOT, "tests", "integration", "conftest.py"))
it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(it)

RUN = "%06x" % random.SystemRandom().getrandbits(24)
DEPARTMENTS = it.DEPARTMENTS


def stack(*args, check=True, timeout=180):
    """Runs ops/stack.sh ARGS on the drill stack (its AID_REPLICAS kept)."""
    env = dict(os.environ, AID_VAR=VAR)
    p = subprocess.run([STACK_SH] + list(args), cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, "ops/stack.sh %s failed (%d):\n%s\n%s" % (
            " ".join(args), p.returncode, p.stdout, p.stderr)
    return p


def instance_pids(service):
    """{instance: pid} of the running instances of service."""
    out = {}
    for line in stack("status").stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].split(".")[0] == service and parts[2] == "running":
            out[parts[0]] = int(parts[1])
    return out


def psql(sql):
    return it.psql(sql)


def psql_value(sql):
    return it.psql_value(sql)


def household(k):
    """A varied household that reaches several departments (a third each:
    a dibao family in a dangerous house with a child at school, a low-income
    elderly couple, a seriously ill head of household with a large bill)."""
    kind = k % 3
    if kind == 0:
        return it.report([it.member(birth="1978-04-02", relation="head", labor_capacity=True,
                                    wants_work=True),
                          it.member(birth="2014-09-01", relation="child",
                                    school_stage="compulsory", left_behind=True)],
                         status={"dibao": "full"}, housing="dangerous")
    if kind == 1:
        return it.report([it.member(birth="1946-01-20", relation="head", self_care="semi"),
                          it.member(birth="1949-07-07", relation="spouse")],
                         status={"low_income": True})
    return it.report([it.member(birth="1970-12-12", relation="head", serious_illness=True)],
                     status={"low_income": True},
                     circumstances=[{"kind": "illness", "expense_fen": 4000000}])


class Load(threading.Thread):
    """n report.submit requests, up to `window` in flight (optionally paced at
    `rate` per second), over one DEALER connected to every intake endpoint.
    Silence for `resend` seconds and `unavailable` answers are sent again, same
    id, same body, until `deadline` seconds have passed.

    No ZMQ_IMMEDIATE here: with it, libzmq 4.3 ends the pipe of a peer that
    disconnects as soon as it processes that command, which it may do between
    the two frames of a reply it is reading (every 100th receive), and then
    aborts (`Assertion failed: !_more (src/fq.cpp:112)`). Without it the pipe
    of a killed intake waits for the restarted one, and the resends cover the
    rest."""

    def __init__(self, tag, n, window=300, rate=None, resend=3.0, deadline=180.0):
        super().__init__(daemon=True)
        self.tag = "flt-%s-%s" % (RUN, tag)
        self.n, self.window, self.rate, self.resend = n, window, rate, resend
        self.deadline = deadline
        self.ok = {}              # request id -> (report_id, case_id) of the ok answer
        self.codes = {}           # error code -> count
        self.refused = {}         # request id -> error (anything but unavailable)
        self.sent = 0             # distinct requests sent at least once
        self.resent = 0
        self.lock = threading.Lock()
        self.bodies = {}

    def rid(self, k):
        return "%s-%d" % (self.tag, k)

    def run(self):
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 100000)
        sock.setsockopt(zmq.RCVHWM, 100000)
        for ep in ENDPOINTS:
            sock.connect(ep)
        pending = {}              # rid -> time it is due for a resend
        t0 = time.monotonic()
        end = t0 + self.deadline
        nxt = 0
        try:
            while len(self.ok) + len(self.refused) < self.n and time.monotonic() < end:
                now = time.monotonic()
                while len(pending) < self.window and nxt < self.n:
                    if self.rate and nxt > (now - t0) * self.rate:
                        break
                    rid = self.rid(nxt)
                    self.bodies[rid] = msgpack.packb(
                        {"v": 1, "op": "report.submit", "id": rid, "body": household(nxt)},
                        use_bin_type=True)
                    if not self._send(sock, rid):
                        break
                    pending[rid] = now + self.resend
                    nxt += 1
                    with self.lock:
                        self.sent = nxt
                for rid, due in list(pending.items()):
                    if due <= now and self._send(sock, rid):
                        pending[rid] = now + self.resend
                        self.resent += 1
                if sock.poll(20, zmq.POLLIN):
                    while True:
                        try:
                            frames = sock.recv_multipart(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        rep = msgpack.unpackb(frames[-1], raw=False)
                        rid = rep.get("id")
                        if rid not in pending:
                            continue          # a late second answer
                        if rep.get("ok"):
                            res = rep["result"]
                            with self.lock:
                                self.ok[rid] = (res["report_id"], res["case_id"])
                            del pending[rid]
                            continue
                        code = rep.get("error", {}).get("code", "?")
                        with self.lock:
                            self.codes[code] = self.codes.get(code, 0) + 1
                        if code in ("unavailable", "rate_limited"):
                            pending[rid] = time.monotonic() + 0.2
                        else:
                            with self.lock:
                                self.refused[rid] = rep.get("error")
                            del pending[rid]
        finally:
            sock.close(0)

    @staticmethod
    def _send_frames(sock, body):
        try:
            sock.send_multipart([b"", body], zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False

    def _send(self, sock, rid):
        return self._send_frames(sock, self.bodies[rid])

    def acked(self):
        with self.lock:
            return len(self.ok)

    def finish(self, timeout=180):
        self.join(timeout)
        assert not self.is_alive(), "load %s still running after %ss" % (self.tag, timeout)
        assert not self.refused, "refused: %r" % (list(self.refused.items())[:3],)
        assert len(self.ok) == self.n, "only %d of %d reports accepted (codes %r)" % (
            len(self.ok), self.n, self.codes)


def progress(tag):
    """(reports, assessed, pending referrals) of a burst, from the database."""
    row = psql("SELECT count(*), count(a.report_id),"
               " (SELECT count(*) FROM referrals f JOIN reports r2 USING (report_id)"
               "   WHERE r2.request_id LIKE %s AND f.status = 'pending')"
               " FROM reports r LEFT JOIN assessments a USING (report_id)"
               " WHERE r.request_id LIKE %s" % (it.q(tag + "-%"), it.q(tag + "-%")))[0]
    return tuple(int(x) for x in row)


def completed(tag):
    """How many reports of a burst are complete (assessed, nothing pending)."""
    return int(psql_value(
        "SELECT count(*) FROM reports r WHERE r.request_id LIKE %s"
        " AND EXISTS (SELECT 1 FROM assessments a WHERE a.report_id = r.report_id)"
        " AND NOT EXISTS (SELECT 1 FROM referrals f WHERE f.report_id = r.report_id"
        " AND f.status = 'pending')" % it.q(tag + "-%")))


def wait_complete(tag, n, timeout=90):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = progress(tag)
        if last[0] == n and last[1] == n and last[2] == 0:
            return last
        time.sleep(0.5)
    raise AssertionError("burst %s not complete after %ss: (reports, assessed, pending) = %r\n%s"
                         % (tag, timeout, last, tail_logs()))


def verify(load):
    """After a drill: every acknowledged report is there under its request id
    with the report and case ids it was acknowledged with, nothing else was
    stored for the burst, every report is assessed, each department reached at
    most once per report, every referral decided exactly once and its status
    that of its decision; a sample agrees through case.get."""
    like = it.q(load.tag + "-%")
    rows = psql("SELECT request_id, report_id, case_id FROM reports WHERE request_id LIKE %s" % like)
    db = {r[0]: ("report-" + r[1], "case-" + r[2]) for r in rows}
    assert len(db) == load.n, "%d reports stored for %d accepted" % (len(db), load.n)
    lost = [rid for rid, ids in load.ok.items() if db.get(rid) != ids]
    assert not lost, "acknowledged but not stored as acknowledged: %r" % (lost[:5],)
    bad = psql_value(
        "SELECT count(*) FROM (SELECT f.report_id, f.department FROM referrals f"
        " JOIN reports r USING (report_id) WHERE r.request_id LIKE %s"
        " GROUP BY 1, 2 HAVING count(*) > 1) x" % like)
    assert bad == "0", "%s (report, department) pairs with more than one referral" % bad
    row = psql(
        "SELECT count(*), count(d.referral_id), count(*) FILTER (WHERE f.status = 'pending'),"
        " count(*) FILTER (WHERE d.status IS DISTINCT FROM f.status),"
        " (SELECT count(*) FROM reports r0 WHERE r0.request_id LIKE %s"
        "   AND NOT EXISTS (SELECT 1 FROM assessments a WHERE a.report_id = r0.report_id))"
        " FROM referrals f JOIN reports r USING (report_id)"
        " LEFT JOIN decisions d USING (referral_id) WHERE r.request_id LIKE %s" % (like, like))[0]
    refs, decided, pending, mismatch, unassessed = (int(x) for x in row)
    assert refs > 0, "the burst made no referral at all"
    assert (decided, pending, mismatch, unassessed) == (refs, 0, 0, 0), \
        "referrals %d, decided %d, pending %d, status mismatches %d, unassessed reports %d" % (
            refs, decided, pending, mismatch, unassessed)
    sample = random.sample(sorted(load.ok.values()), min(8, len(load.ok)))
    c = Client()
    try:
        for _, case_id in sample:
            rep = c.call("case.get", {"case_id": case_id})
            assert rep.get("ok") and rep["result"]["complete"], rep
            it.check_case_invariants(rep["result"])
    finally:
        c.close()
    return refs


class Client:
    """A DEALER to every intake endpoint for single calls (health, case.get)."""

    def __init__(self, timeout=10.0):
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        if len(ENDPOINTS) > 1:
            # safe here, unlike in Load: a socket per call reads a few frames,
            # never the 100th receive where libzmq may process a disconnect
            self.sock.setsockopt(zmq.IMMEDIATE, 1)
        for ep in ENDPOINTS:
            self.sock.connect(ep)
        self.timeout = timeout
        self.n = 0

    def call(self, op, body=None):
        self.n += 1
        rid = "flt-%s-call-%d-%d" % (RUN, os.getpid(), self.n)
        req = {"v": 1, "op": op, "id": rid}
        if body is not None:
            req["body"] = body
        self.sock.send_multipart([b"", msgpack.packb(req, use_bin_type=True)])
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.sock.poll(100, zmq.POLLIN):
                rep = msgpack.unpackb(self.sock.recv_multipart()[-1], raw=False)
                if rep.get("id") == rid:
                    return rep
        raise AssertionError("no answer to %s within %ss" % (op, self.timeout))

    def close(self):
        self.sock.close(0)


def health():
    c = Client(timeout=5)
    try:
        r = c.call("health")
        return r.get("result", {}) if r.get("ok") else {}
    except AssertionError:
        return {}
    finally:
        c.close()


def wait_health(want="ok", timeout=30):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = health()
        if last.get("status") == want:
            return last
        time.sleep(0.2)
    raise AssertionError("health is not %r after %ss: %r" % (want, timeout, last))


def tail_logs(lines=6):
    out = []
    logdir = os.path.join(VAR, "log")
    for name in sorted(os.listdir(logdir)) if os.path.isdir(logdir) else []:
        try:
            with open(os.path.join(logdir, name), "rb") as f:
                f.seek(max(0, os.path.getsize(f.name) - 4000))
                text = f.read().decode("utf-8", "replace").splitlines()[-lines:]
        except OSError:
            continue
        out.append("--- %s\n%s" % (name, "\n".join(text)))
    return "\n".join(out)


@pytest.fixture(autouse=True)
def _stack_up():
    """Every drill starts with the whole stack running and healthy."""
    if not HAVE_STACK:
        pytest.skip("no drill stack: run `make test-faults` (tests/faults/run.sh)")
    stack("up")
    wait_health("ok", 30)
    yield
