"""test_40_owners.py — the owners behind the front door (issue 15): a service
that registers an operation with intake gets each request for it, with the
caller's name, and its reply reaches the caller; a write whose owner dies
while holding it is answered `unavailable` "outcome unknown" once the owner's
heartbeats stop (AID_OWNER_EXPIRY_MS, 3 s), never a hang; an owner that says
GONE is dropped at once and the operation is served as before.

The owner here is a bare DEALER speaking services/intake/forward.h's frames,
registered for an operation intake still serves itself (case.area: an owner, when one
is connected, takes it over), or for one of a real owner's operations while that owner
is stopped (decision.submit, the decisions service: otherwise the two would share the
requests). Plaintext stacks only: in secure mode only keys named service.<name> may
register.
"""
import os
import time

import msgpack
import pytest
import zmq

from test_42_owned_ops import _stop

MAGIC = b"AIDO1"

pytestmark = pytest.mark.skipif(os.environ.get("AID_SECURE") == "1",
                                reason="the fake owner has no service key")


class FakeOwner:
    def __init__(self, h, ops, instance=None):
        """instance: (name, started µs) said in READY, as common/owner.c does."""
        self.sock = h._zctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(h.INTAKE)
        self.ops = ops
        self.instance = instance
        self.ready()
        time.sleep(0.3)

    def ready(self):
        extra = [] if self.instance is None else \
            [self.instance[0].encode(), str(self.instance[1]).encode()]
        self.sock.send_multipart([b"", MAGIC, b"READY", b"test", self.ops.encode()] + extra)

    def take(self, timeout=10.0):
        """The next forwarded request: (token, client, envelope)."""
        assert self.sock.poll(int(timeout * 1000), zmq.POLLIN), "no request forwarded"
        f = self.sock.recv_multipart()
        assert f[:3] == [b"", MAGIC, b"REQUEST"], f
        return f[3], f[4].decode(), msgpack.unpackb(f[5], raw=False)

    def reply(self, token, envelope):
        self.sock.send_multipart([b"", MAGIC, b"REPLY", token,
                                  msgpack.packb(envelope, use_bin_type=True)])

    def gone(self):
        self.sock.send_multipart([b"", MAGIC, b"GONE"])
        time.sleep(0.3)
        self.sock.close(linger=0)


def test_forwarded_with_identity_and_answered(h):
    owner = FakeOwner(h, "case.area")
    nowhere = {"case_id": "case-999999999"}
    try:
        c = h.Client(timeout=10)
        c.sock.send_multipart([b"", msgpack.packb({"v": 1, "op": "case.area", "id": "fw1",
                                                   "body": nowhere})])
        token, client, env = owner.take()
        assert client == "local"          # the caller's identity travels with it
        assert env["op"] == "case.area" and env["id"] == "fw1"
        owner.reply(token, {"v": 1, "id": "fw1", "ok": True, "result": {"by": "owner"}})
        assert c.sock.poll(10000, zmq.POLLIN)
        f = c.sock.recv_multipart()
        assert msgpack.unpackb(f[-1], raw=False) == {"v": 1, "id": "fw1", "ok": True,
                                                     "result": {"by": "owner"}}
        c.close()
    finally:
        owner.gone()
    # dropped at once: intake serves it again
    e = h.error_of(h.call("case.area", nowhere))
    assert (e["code"], e["field"]) == ("not_found", "case_id"), e


def test_owner_killed_mid_write_answers_outcome_unknown(h):
    _stop(h, "decisions")                 # the real owner of decision.submit: not now
    try:
        _killed_mid_write(h)
    finally:
        h.stack("up")
        deadline = time.monotonic() + 15
        while not h.call("referrals.overdue", {}).get("ok"):
            assert time.monotonic() < deadline, "decisions did not come back"
            time.sleep(0.2)


def _killed_mid_write(h):
    owner = FakeOwner(h, "decision.submit")
    c = h.Client(timeout=15)
    rid = h.rid("fwk")
    t0 = time.monotonic()
    c.sock.send_multipart([b"", msgpack.packb(
        {"v": 1, "op": "decision.submit", "id": rid,
         "body": {"referral_id": "referral-1", "status": "denied", "reason": "x"}})])
    owner.take()
    owner.sock.close(linger=0)            # killed: no reply, no GONE, no heartbeat
    assert c.sock.poll(10000, zmq.POLLIN), "no answer: a hang"
    rep = msgpack.unpackb(c.sock.recv_multipart()[-1], raw=False)
    took = time.monotonic() - t0
    c.close()
    assert rep["ok"] is False and rep["id"] == rid, rep
    assert rep["error"]["code"] == "unavailable"
    assert rep["error"]["message"].startswith("outcome unknown: the owner of decision.submit"), rep
    assert 2.0 <= took < 8.0, took      # at the owner's expiry (3 s), before the 5 s bound


def test_restarted_owner_replaces_its_dead_predecessor_at_once(h):
    """An owner killed -9 holding a write and restarted (a new routing id, the same
    instance, a later start): the write is answered "outcome unknown" at the
    restart's READY, not at the dead one's expiry (3 s), and the new instance gets
    the requests; a READY of an older start of the same instance is ignored."""
    _stop(h, "decisions")
    try:
        inst = "fake@%s#1" % h.RUN
        dead = FakeOwner(h, "decision.submit", (inst, 1000))
        c = h.Client(timeout=15)
        rid = h.rid("rep")
        c.sock.send_multipart([b"", msgpack.packb(
            {"v": 1, "op": "decision.submit", "id": rid,
             "body": {"referral_id": "referral-1", "status": "denied", "reason": "x"}})])
        dead.take()
        dead.sock.close(linger=0)          # killed: no reply, no GONE
        t0 = time.monotonic()
        new = FakeOwner(h, "decision.submit", (inst, 2000))
        assert c.sock.poll(10000, zmq.POLLIN), "no answer: a hang"
        rep = msgpack.unpackb(c.sock.recv_multipart()[-1], raw=False)
        took = time.monotonic() - t0
        assert rep["ok"] is False and rep["error"]["code"] == "unavailable", rep
        assert rep["error"]["message"].startswith("outcome unknown: the owner of decision.submit "
                                                  "was replaced by its restart"), rep
        assert took < 1.5, took            # at once (the READY), not at the 3 s expiry
        stale = FakeOwner(h, "decision.submit", (inst, 1500))   # older than the live one
        new.ready()                        # its heartbeat
        try:
            for i in range(3):             # every request goes to the new instance
                c.sock.send_multipart([b"", msgpack.packb(
                    {"v": 1, "op": "decision.submit", "id": rid + str(i),
                     "body": {"referral_id": "referral-1", "status": "denied", "reason": "x"}})])
                token, _, env = new.take(timeout=2)
                new.reply(token, {"v": 1, "id": env["id"], "ok": True, "result": {"n": i}})
                assert c.sock.poll(5000, zmq.POLLIN)
                r = msgpack.unpackb(c.sock.recv_multipart()[-1], raw=False)
                assert r["ok"] and r["result"] == {"n": i}, r
            assert not stale.sock.poll(100, zmq.POLLIN)
        finally:
            stale.sock.close(linger=0)
            new.gone()
            c.close()
    finally:
        h.stack("up")
        deadline = time.monotonic() + 15
        while not h.call("referrals.overdue", {}).get("ok"):
            assert time.monotonic() < deadline, "decisions did not come back"
            time.sleep(0.2)
