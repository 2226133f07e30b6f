"""test_22_external.py — a department that runs its own handler, for real.

A separate stack ($AID_VAR-ext, its own ports) is started with
AID_EXTERNAL_DEPARTMENTS=housing, so the built-in housing service is not
started; tests/interop/housing_handler.py (Python, the public contract only)
is the housing department: it subscribes to referral.housing on the bus,
catches up with referrals.pending and answers decision.submit. The stack is
stopped at the end.

Checked: housing referrals wait while no handler runs (the case is not
complete); referrals.pending shows them oldest first with masked IDs only;
decision.submit is validated strictly; the handler catches up on start and
on a seq gap; its decisions appear in case.get with decided_by
external:housing and complete becomes true; the same decision again is ok
with duplicate: true, a different one a conflict."""
import os
import shlex
import shutil
import subprocess
import sys
import time

import msgpack
import pytest
import zmq

HANDLER = "tests/interop/housing_handler.py"


class Ext:
    """The external-housing stack: its environment, a client and psql."""

    def __init__(self, h):
        self.h = h
        self.var = h.VAR.rstrip("/") + "-ext"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AID_")}
        self.env.update({"AID_VAR": self.var, "AID_EXTERNAL_DEPARTMENTS": "housing",
                         "AID_SWEEP_MS": "500"})
        if os.environ.get("AID_SECURE"):  # a secure run: the outside stack is secure too
            self.env["AID_SECURE"] = os.environ["AID_SECURE"]
        self.handler = None
        self.handler_log = os.path.join(self.var, "log", "housing-handler.log")

    def stack(self, *args, check=True):
        p = subprocess.run([self.h.STACK_SH] + list(args), cwd=self.h.ROOT, env=self.env,
                           capture_output=True, text=True, timeout=300)
        if check:
            assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p

    def up(self):
        out = self.stack("up").stdout
        assert "external" in out.split("housing", 1)[1].splitlines()[0], out
        for line in self.stack("env").stdout.splitlines():
            if line.startswith("export "):
                k, _, v = line[len("export "):].partition("=")
                self.env[k] = shlex.split(v)[0] if v else ""
        self.client = self.h.Client(endpoint=self.env["AID_INTAKE_API"], timeout=15, env=self.env)
        return out

    def call(self, op, body=None, id=None):
        return self.client.call(op, body, id)

    def psql(self, sql):
        p = subprocess.run(["psql", self.env["AID_PG_DSN"], "-X", "-q", "-A", "-t", "-F", "\t",
                            "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return [line.split("\t") for line in p.stdout.splitlines() if line]

    def start_handler(self):
        os.makedirs(os.path.dirname(self.handler_log), exist_ok=True)
        log = open(self.handler_log, "ab")
        self.handler = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(self.h.ROOT, HANDLER)], cwd=self.h.ROOT,
            env=dict(self.env, HANDLER_SWEEP_S="2"), stdout=log, stderr=log,
            stdin=subprocess.DEVNULL)
        log.close()

    def stop_handler(self):
        if self.handler and self.handler.poll() is None:
            self.handler.terminate()
            try:
                self.handler.wait(10)
            except subprocess.TimeoutExpired:
                self.handler.kill()
                self.handler.wait(5)
        self.handler = None

    def handler_output(self):
        try:
            with open(self.handler_log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def submit(self, body):
        r = self.call("report.submit", body, self.h.rid("ext"))
        assert r.get("ok"), r
        return r["result"]

    def case(self, case_id):
        r = self.call("case.get", {"case_id": case_id})
        assert r.get("ok"), r
        return r["result"]

    def wait_complete(self, case_id, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            c = self.case(case_id)
            if c["complete"]:
                self.h.check_case_invariants(c)
                return c
            assert time.monotonic() < deadline, (
                "case %s not complete: %r\nhandler:\n%s" % (case_id, c["referrals"],
                                                            self.handler_output()[-3000:]))
            time.sleep(0.2)


@pytest.fixture(scope="module")
def ext(h):
    e = Ext(h)
    # a fresh database every run, as the main test stack has (one left by an
    # earlier run may carry an older schema)
    e.stack("down", check=False)
    shutil.rmtree(e.var, ignore_errors=True)
    try:
        e.up()
        yield e
    finally:
        e.stop_handler()
        if getattr(e, "client", None):
            e.client.close()
        e.stack("down", check=False)


def housing_of(case, report_id):
    refs = [f for f in case["referrals"] if f["report_id"] == report_id and
            f["department"] == "housing"]
    assert len(refs) == 1, case["referrals"]
    return refs[0]


def test_built_in_housing_not_started(ext):
    st = ext.stack("status").stdout
    assert not any(line.split()[:1] == ["housing"] and "running" in line
                   for line in st.splitlines()), st
    assert any(line.split()[:1] == ["housing"] and "external (AID_EXTERNAL_DEPARTMENTS)" in line
               for line in st.splitlines()), st


def test_referrals_wait_for_the_outside_system(h, ext):
    global WAITING
    renting = ext.submit(h.report([h.member(birth="1950-01-01"), h.member(birth="1980-01-01")],
                                  status={"dibao": "full"}, housing="renting"))
    time.sleep(3)
    case = ext.case(renting["case_id"])
    assert case["complete"] is False
    assert housing_of(case, renting["report_id"])["status"] == "pending"
    others = [f for f in case["referrals"] if f["department"] != "housing"]
    assert others and all(f["status"] != "pending" for f in others)
    WAITING = renting


def test_referrals_pending_shows_masked_ids_oldest_first(h, ext):
    r = ext.call("referrals.pending", {"department": "housing"})
    assert r["ok"], r
    refs = r["result"]["referrals"]
    assert refs and r["result"]["department"] == "housing"
    seqs = [f["seq"] for f in refs]
    assert seqs == sorted(seqs)
    mine = [f for f in refs if f["report_id"] == WAITING["report_id"]]
    assert len(mine) == 1
    f = mine[0]
    assert f["case_id"] == WAITING["case_id"] and f["household"]["class"] == "S"
    assert f["report"]["household"]["housing"] == "renting"
    for p in f["persons"]:
        assert "id_number" not in p  # housing acts for the household: masked IDs only
        assert "*" in p["id_masked"] and p["groups"] == ["S1"]
    for m in f["report"]["household"]["members"]:
        assert "********" in m["id_number"] and m["name"].endswith("*")
    # after_seq and limit
    later = ext.call("referrals.pending", {"department": "housing", "after_seq": f["seq"]})
    assert all(x["seq"] > f["seq"] for x in later["result"]["referrals"])
    one = ext.call("referrals.pending", {"department": "housing", "limit": 1})
    assert len(one["result"]["referrals"]) == 1
    for body, field in [({}, "department"), ({"department": "roads"}, "department"),
                        ({"department": "housing", "limit": 0}, "limit"),
                        ({"department": "housing", "limit": 201}, "limit"),
                        ({"department": "housing", "after_seq": -1}, "after_seq"),
                        ({"department": "housing", "x": 1}, "x")]:
        e = ext.call("referrals.pending", body)
        assert e["ok"] is False and e["error"]["field"] == field, (body, e)


@pytest.mark.parametrize("change,field", [
    ({"status": "approved"}, "status"),
    ({"measures": [{"code": "housing.teleport"}]}, "measures[0].code"),
    ({"measures": [{"code": "civil.dibao_review"}]}, "measures[0].code"),
    ({"measures": [{"code": "housing.rent_free", "amount_fen": 100}]}, "measures[0].amount_fen"),
    ({"measures": [{"code": "housing.rent_free", "amount_fen": -1}]}, "measures[0].amount_fen"),
    ({"measures": [{"code": "housing.rent_free", "form": "cash"}]}, "measures[0].form"),
    ({"measures": [{"code": "housing.rent_free", "period": "month"}]}, "measures[0].period"),
    ({"measures": [{"code": "housing.rent_free", "person": 0}]}, "measures[0].person"),
    ({"measures": [{"code": "housing.rent_free", "id_masked": "x"}]}, "measures[0].id_masked"),
    ({"measures": [{"code": "housing.rent_free"}, {"code": "housing.rent_free"}]}, "measures[1]"),
    ({"measures": []}, "measures"),
    ({"rules": ["R-HOUSE-S", "R-NOPE"]}, "rules[1]"),
    ({"rules": ["R-HOUSE-S", "R-HOUSE-S"]}, "rules[1]"),
    ({"rules": []}, "rules"),
    ({"status": "denied"}, "measures"),
    ({"status": "denied", "measures": []}, "reason"),
    ({"status": "referred", "measures": []}, "reason"),
    ({"reason": "x" * 300}, "reason"),
    ({"extra": True}, "extra"),
    ({"referral_id": "referral-999999999"}, "referral_id"),
    ({"referral_id": "12"}, "referral_id"),
])
def test_decision_submit_validation(h, ext, change, field):
    ref = ext.call("referrals.pending", {"department": "housing"})["result"]["referrals"][0]
    body = {"referral_id": ref["referral_id"], "status": "granted",
            "measures": [{"code": "housing.public_rental_or_subsidy"}], "rules": ["R-HOUSE-S"]}
    body.update(change)
    r = ext.call("decision.submit", body, h.rid("bad"))
    assert r["ok"] is False and r["error"]["field"] == field, (change, r)
    assert r["error"]["code"] == ("not_found" if field == "referral_id" else "invalid_field")
    # nothing was recorded
    assert ext.psql("SELECT status FROM referrals WHERE referral_id = %d"
                    % h.num(ref["referral_id"])) == [["pending"]]


def test_external_decision_announces_case_updated(h, ext):
    """decision.submit publishes case.updated after its commit, as the
    built-in departments do, so live views (the web console) see it."""
    import msgpack
    import zmq
    rep = ext.submit(h.report([h.member(birth="1951-02-02")], status={"dibao": "full"},
                              housing="renting"))
    deadline = time.monotonic() + 30
    while True:
        f = [x for x in ext.case(rep["case_id"])["referrals"]
             if x["report_id"] == rep["report_id"] and x["department"] == "housing"]
        if f:
            break
        assert time.monotonic() < deadline, "no housing referral"
        time.sleep(0.2)
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"case.updated")
    h.curve(sub, "AID_BUS_PUBKEY", "AID_SERVICE", env=ext.env)
    sub.connect(ext.env["AID_BUS_SUB"])
    try:
        time.sleep(0.5)  # slow joiner: let the subscription reach the broker
        r = ext.call("decision.submit", {"referral_id": f[0]["referral_id"], "status": "referred",
                                         "reason": "handed to the county housing office",
                                         "rules": ["R-HOUSE-S"]}, h.rid("announce"))
        assert r["ok"] and r["result"]["duplicate"] is False, r
        want = h.num(f[0]["referral_id"])
        # the owner's log says who decided (the client's key name; "local" in plaintext):
        # the decisions service behind the front door
        with open(os.path.join(ext.var, "log", "decisions.log"), encoding="utf-8") as lf:
            assert ('"event":"decision.external","referral_id":%d,"department":"housing",'
                    '"client":"local"' % want) in lf.read()
        deadline = time.monotonic() + 5
        seen = []
        while time.monotonic() < deadline:
            if sub.poll(200):
                topic, body = sub.recv_multipart()
                ev = msgpack.unpackb(body, raw=False)
                seen.append(ev)
                if ev.get("referral_id") == want:
                    assert ev["department"] == "housing" and ev["seq"] > 0, ev
                    return
        raise AssertionError("no case.updated for %s: %r" % (want, seen))
    finally:
        sub.close()


def test_handler_catches_up_and_decides(h, ext):
    ext.start_handler()
    case = ext.wait_complete(WAITING["case_id"])
    f = housing_of(case, WAITING["report_id"])
    assert f["status"] == "granted", f
    assert sorted(m["code"] for m in f["measures"]) == ["housing.public_rental_or_subsidy",
                                                        "housing.rent_free"]
    assert f["rules"] == ["R-HOUSE-S", "R-HOUSE-FREE"]
    assert ext.psql("SELECT decided_by FROM decisions WHERE referral_id = %d"
                    % h.num(f["referral_id"])) == [["external:housing"]]


def test_handler_decides_new_referrals_live(h, ext):
    # an M household with a housing need: directed allocation (R-HOUSE-M)
    m = ext.submit(h.report([h.member(birth="1980-01-01")], housing="damaged",
                            circumstances=[{"kind": "disaster"}]))
    # an S household with a need, partial dibao: no rent-free
    s = ext.submit(h.report([h.member(birth="1950-01-01")], status={"dibao": "partial"},
                            housing="none"))
    cm = ext.wait_complete(m["case_id"])
    fm = housing_of(cm, m["report_id"])
    assert [x["code"] for x in fm["measures"]] == ["housing.directed_allocation"]
    assert fm["rules"] == ["R-HOUSE-M"]
    cs = ext.wait_complete(s["case_id"])
    fs = housing_of(cs, s["report_id"])
    assert [x["code"] for x in fs["measures"]] == ["housing.public_rental_or_subsidy"]
    assert "decided" in ext.handler_output()


def test_handler_catches_up_on_a_seq_gap(h, ext):
    """An event whose seq skips ahead (events were lost): the handler catches
    up from Postgres through referrals.pending."""
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    h.curve(pub, "AID_BUS_PUBKEY", "AID_SERVICE", env=ext.env)
    pub.connect(ext.env["AID_BUS_PUB"])
    time.sleep(0.5)  # slow joiner
    ext.stop_handler()
    hh = ext.submit(h.report([h.member(birth="1950-01-01")], status={"dibao": "partial"},
                             housing="dangerous"))
    time.sleep(1.5)
    ext.start_handler()
    time.sleep(1.5)
    for seq in (10 ** 12, 10 ** 12 + 5):  # the first sets the handler's position
        pub.send_multipart([b"referral.housing",
                            msgpack.packb({"seq": seq, "department": "housing"})])
        time.sleep(0.3)
    pub.close(0)
    ext.wait_complete(hh["case_id"])
    deadline = time.monotonic() + 10
    while "seq gap" not in ext.handler_output() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "seq gap" in ext.handler_output()


def test_same_decision_is_duplicate_different_is_conflict(h, ext):
    case = ext.case(WAITING["case_id"])
    f = housing_of(case, WAITING["report_id"])
    same = {"referral_id": f["referral_id"], "status": "granted",
            "measures": [{"code": "housing.public_rental_or_subsidy", "amount_fen": 0,
                          "period": "once", "form": "service"},
                         {"code": "housing.rent_free"}],
            "rules": ["R-HOUSE-S", "R-HOUSE-FREE"]}
    r = ext.call("decision.submit", same, h.rid("again"))
    assert r["ok"] and r["result"]["duplicate"] is True, r
    other = dict(same, measures=[{"code": "housing.public_rental_or_subsidy"}],
                 rules=["R-HOUSE-S"])
    r = ext.call("decision.submit", other, h.rid("other"))
    assert r["ok"] is False and r["error"]["code"] == "conflict", r
    r = ext.call("decision.submit", dict(same, status="denied", measures=[], reason="no"),
                 h.rid("other"))
    assert r["error"]["code"] == "conflict", r
    # a referral decided by a built-in department: the same rules apply
    civil = [x for x in case["referrals"] if x["department"] == "civil"]
    if civil:
        r = ext.call("decision.submit", {"referral_id": civil[0]["referral_id"],
                                         "status": "denied", "reason": "x", "rules": []},
                     h.rid("civ"))
        assert r["error"]["code"] == "conflict" and "civil" in r["error"]["message"], r
    assert ext.psql("SELECT count(*) FROM decisions WHERE referral_id = %d"
                    % h.num(f["referral_id"])) == [["1"]]
