"""test_95_secure.py — secure mode (ops/SECURITY.md): CURVE on the intake with the
ZAP allow-list. Runs when the stack is secure (AID_SECURE=1 make integration);
skipped on the plaintext stack.

allowed key served · plaintext refused · unknown key refused · wrong server key
refused · a key admitted by editing the allow-list, without a restart, is served
under its name · a flooding key gets rate_limited while others are still served ·
only a department's own keys read its pending referrals and decide them · only a
township's own keys (for its cases) and the county's services decide possible moves ·
a key names only its own staff accounts in review steps."""
import os
import time

import msgpack
import pytest
import zmq

pytestmark = pytest.mark.skipif(os.environ.get("AID_SECURE") != "1",
                                reason="the stack runs plaintext (AID_SECURE is not 1)")


def _ask(h, setup, op="health", timeout=1.5):
    """One request on a fresh DEALER prepared by setup(sock); the reply or None.
    The send is bounded too: a DEALER left without a connection (seen once, in the
    sanitizer pass, right after a refused handshake) blocks a plain send forever."""
    s = h._zctx.socket(zmq.DEALER)
    s.linger = 0
    s.sndtimeo = int(timeout * 1000)
    try:
        setup(s)
        s.connect(h.INTAKE.split(",")[0])
        try:
            s.send_multipart([b"", msgpack.packb({"v": 1, "op": op, "id": h.rid("sec")})])
        except zmq.Again:
            return None
        if not s.poll(int(timeout * 1000)):
            return None
        return msgpack.unpackb(s.recv_multipart()[-1], raw=False)
    finally:
        s.close(linger=0)


def _keys(pub, sec, server=None):
    def setup(s):
        s.curve_publickey, s.curve_secretkey = pub, sec
        s.curve_serverkey = server or os.environ["AID_INTAKE_PUBKEY"].encode()
    return setup


def _admit(pub, name):
    """Adds "KEY NAME" to the intake allow-list by atomic replacement."""
    path = os.environ["AID_ALLOWED_KEYS"]
    with open(path) as f:
        text = f.read()
    with open(path + ".tmp", "w") as f:
        f.write(text + "%s %s\n" % (pub.decode(), name))
    os.replace(path + ".tmp", path)


def _remove(pub):
    path = os.environ["AID_ALLOWED_KEYS"]
    with open(path) as f:
        lines = [l for l in f if not l.startswith(pub.decode())]
    with open(path + ".tmp", "w") as f:
        f.writelines(lines)
    os.replace(path + ".tmp", path)


def test_allowed_key_is_served(h):
    r = h.call("health")
    assert r["ok"] is True


def test_plaintext_client_gets_nothing(h):
    assert _ask(h, lambda s: None) is None


def test_unknown_key_gets_nothing(h):
    pub, sec = zmq.curve_keypair()
    assert _ask(h, _keys(pub, sec)) is None


def test_wrong_server_key_gets_nothing(h):
    secret = h._env_key("AID_CLIENT").encode()
    impostor, _ = zmq.curve_keypair()
    assert _ask(h, _keys(zmq.curve_public(secret), secret, server=impostor)) is None


def test_key_admitted_without_restart_and_revoked(h):
    pub, sec = zmq.curve_keypair()
    name = "it-%s-township" % h.RUN
    assert _ask(h, _keys(pub, sec)) is None
    _admit(pub, name)
    try:
        r = _ask(h, _keys(pub, sec), timeout=5)
        assert r is not None and r["ok"] is True
        log = open(os.path.join(h.LOG_DIR, "intake.log"), encoding="utf-8").read()
        assert '"client":"%s"' % name in log       # the User-Id is the name
    finally:
        _remove(pub)
    assert _ask(h, _keys(pub, sec)) is None         # refused at the next handshake


def test_flooding_key_is_rate_limited_others_served(h):
    pub, sec = zmq.curve_keypair()
    _admit(pub, "it-%s-flood" % h.RUN)
    s = h._zctx.socket(zmq.DEALER)
    s.linger = 0
    try:
        _keys(pub, sec)(s)
        s.connect(h.INTAKE.split(",")[0])
        n = 1500                                    # well past the default burst of 400
        for i in range(n):
            s.send_multipart([b"", msgpack.packb({"v": 1, "op": "health", "id": "f%d" % i})])
        codes = {}
        deadline = time.time() + 30
        while sum(codes.values()) < n and time.time() < deadline:
            if s.poll(5000):
                r = msgpack.unpackb(s.recv_multipart()[-1], raw=False)
                k = "ok" if r["ok"] else r["error"]["code"]
                codes[k] = codes.get(k, 0) + 1
        assert sum(codes.values()) == n, codes      # every request answered
        assert codes.get("rate_limited", 0) > 0, codes
        assert h.call("health")["ok"] is True       # the others are still served
    finally:
        s.close(linger=0)
        _remove(pub)


def _client_named(h, name):
    """A client of the intake with a new key admitted under name."""
    pub, sec = zmq.curve_keypair()
    _admit(pub, name)
    env = dict(os.environ, AID_CLIENT_SECRETKEY=sec.decode())
    env.pop("AID_CLIENT_SECRETKEY_FILE", None)
    return h.Client(env=env, timeout=5), pub


def test_only_a_departments_own_keys_act_for_it(h):
    res = h.submit_ok(h.report([h.member(birth="1950-01-01"), h.member(birth="1980-01-01")],
                               status={"dibao": "full"}, housing="renting"))
    case = h.wait_complete(res["case_id"], report_id=res["report_id"])
    ref = h.referrals_of(case, res["report_id"])["housing"]
    # the local client (a staff tool, AID_DEPARTMENT_ANY has only the services) is no department
    e = h.error_of(h.call("referrals.pending", {"department": "housing"}))
    assert e["code"] == "unauthorized" and e["field"] == "department", e
    clients = {name: _client_named(h, name)
               for name in ("housing", "housing.app2", "housingx", "civil")}
    try:
        for name in ("housing", "housing.app2"):
            r = clients[name][0].call("referrals.pending", {"department": "housing"})
            assert r["ok"] is True, (name, r)
        for name in ("housingx", "civil"):
            r = clients[name][0].call("referrals.pending", {"department": "housing"})
            e = h.error_of(r)
            assert e["code"] == "unauthorized" and e["field"] == "department", (name, e)
            assert "result" not in r
        r = clients["civil"][0].call("referrals.pending", {"department": "civil"})
        assert r["ok"] is True, r
        # deciding another department's referral: refused before anything is looked at
        denied = {"referral_id": ref["referral_id"], "status": "denied", "reason": "test",
                  "measures": [], "rules": ["R-HOUSE-S"]}
        e = h.error_of(clients["civil"][0].call("decision.submit", denied, id=h.rid("dec")))
        assert e["code"] == "unauthorized" and e["field"] == "referral_id", e
        # the housing key gets past the check: the built-in housing service decided
        # the referral already, otherwise, so this one is a conflict
        e = h.error_of(clients["housing"][0].call("decision.submit", denied, id=h.rid("dec")))
        assert e["code"] == "conflict", e
        # the refusal is logged where the operation is served: its owner, the decisions
        # service behind the front door (the caller's name came with the request)
        log = open(os.path.join(h.LOG_DIR, "decisions.log"), encoding="utf-8").read()
        assert '"event":"intake.unauthorized","client":"civil","department":"housing"' in log
    finally:
        for c, pub in clients.values():
            c.close()
            _remove(pub)


def test_only_civil_keys_and_county_services_run_the_payroll(h):
    """The benefits service behind the front door (issue 17): payees, payroll, exits
    and merges are the civil-affairs office's; a case's entitlements are readable like
    case.get. The owner registers under the local service key (AID_OWNER_ANY)."""
    res = h.submit_ok(h.report([h.member(birth="1950-01-01")], status={"dibao": "full"}))
    r = h.call("entitlements.list", {"case_id": res["case_id"]})
    assert r["ok"] is True, r
    e = h.error_of(h.call("payroll.get", {"run_id": 999999999}))
    assert e["code"] == "unauthorized" and e["field"] == "op", e
    e = h.error_of(h.call("payroll.run", {"month": "2020-02", "township": "520123996",
                                          "by": "x"}, id=h.rid("pay")))
    assert e["code"] == "unauthorized", e
    clients = {name: _client_named(h, name) for name in ("civil.county", "housing")}
    try:
        r = clients["civil.county"][0].call("payroll.get", {"run_id": 999999999})
        assert h.error_of(r)["code"] == "not_found", r
        r = clients["housing"][0].call("payee.set", {
            "case_id": res["case_id"], "holder_id_number": h.new_id(), "bank": "x",
            "account": "123456"}, id=h.rid("payee"))
        assert h.error_of(r)["code"] == "unauthorized", r
        log = open(os.path.join(h.LOG_DIR, "benefits.log"), encoding="utf-8").read()
        assert '"event":"benefits.unauthorized","client":"housing"' in log
    finally:
        for c, pub in clients.values():
            c.close()
            _remove(pub)


def test_only_a_townships_own_keys_and_county_services_decide_its_moves(h):
    """Issue 14, point 6: a possible move (a report filed outside its case's
    township) is decided by the case's township or the county, nobody else."""
    t1, t2 = "520123%03d" % (700 + os.getpid() % 100), "520123%03d" % (800 + os.getpid() % 100)
    ms = [h.member(birth="1950-01-01")]
    first = h.submit_ok(h.report(ms, area={"county": "520123", "township": t1,
                                           "village": t1 + "001"}))
    h.submit_ok(h.report(ms, area={"county": "520123", "township": t2, "village": t2 + "001"}))
    [mv] = [m for m in h.call("move.queue", {"township": t1})["result"]["moves"]
            if m["case_id"] == first["case_id"]]
    decide = {"move_id": mv["move_id"], "decision": "reject", "by": "x"}
    clients = {name: _client_named(h, name)
               for name in (t1 + ".app", t2, "township-app.x")}
    try:
        # the local client (a staff tool, not a county service) and a key of no township
        for r in (h.call("move.decide", decide, id=h.rid("mv")),
                  clients["township-app.x"][0].call("move.decide", decide, id=h.rid("mv"))):
            e = h.error_of(r)
            assert (e["code"], e.get("field")) == ("unauthorized", "township"), e
        # the township the report came from: as if the move did not exist
        e = h.error_of(clients[t2][0].call("move.decide", decide, id=h.rid("mv")))
        assert (e["code"], e.get("field")) == ("not_found", "move_id"), e
        e = h.error_of(clients[t2][0].call("move.decide", dict(decide, township=t1),
                                           id=h.rid("mv")))
        assert (e["code"], e.get("field")) == ("unauthorized", "township"), e
        # the case's own township decides
        r = clients[t1 + ".app"][0].call("move.decide", decide, id=h.rid("mv"))
        assert r["ok"] is True and r["result"]["township"] == t1, r
    finally:
        for c, pub in clients.values():
            c.close()
            _remove(pub)


def test_a_key_names_only_its_own_staff_accounts_in_review_steps(h):
    """Issue 16: `by` of review.step is a staff account; a key may name only its own
    accounts (its name or <name>.<person>), the county's services any."""
    t = "520123%03d" % (600 + os.getpid() % 100)
    res = h.submit_ok(h.report([h.member(birth="1950-04-04", no_supporter=True)],
                               area={"county": "520123", "township": t, "village": t + "001"}))
    case = h.wait_complete(res["case_id"], report_id=res["report_id"])
    ref = h.referrals_of(case, res["report_id"])["civil"]["referral_id"]
    step = {"referral_id": ref, "action": "investigate", "by": t + ".li", "on": "2026-11-03"}
    clients = {name: _client_named(h, name) for name in (t, "520123999")}
    try:
        # the local client (a staff tool) and another township's key: unauthorized `by`
        for r in (h.call("review.step", step, id=h.rid("rv")),
                  clients["520123999"][0].call("review.step", step, id=h.rid("rv"))):
            e = h.error_of(r)
            assert (e["code"], e.get("field")) == ("unauthorized", "by"), e
        assert h.psql_value("SELECT steps FROM reviews WHERE referral_id = %d"
                            % h.num(ref)) == "0"
        # the township's own key names its own caseworker
        r = clients[t][0].call("review.step", step, id=h.rid("rv"))
        assert r["ok"] is True and r["result"]["notice_ends_on"] == "2026-11-09", r
        assert h.psql_value("SELECT client FROM review_steps WHERE referral_id = %d"
                            % h.num(ref)) == t
    finally:
        for c, pub in clients.values():
            c.close()
            _remove(pub)


def test_a_township_key_reads_only_its_own_townships_reviews_and_cases(h):
    """Issue 16: the review queue and the case list of a township are its own and the
    county's: a township's key asking for another township is unauthorized (field
    township), and without a township it gets only its own."""
    t, other = "520123%03d" % (500 + os.getpid() % 100), "520123%03d" % (400 + os.getpid() % 100)
    for tw in (t, other):
        res = h.submit_ok(h.report([h.member(birth="1950-04-04", no_supporter=True)],
                                   area={"county": "520123", "township": tw, "village": tw + "001"}))
        h.wait_complete(res["case_id"], report_id=res["report_id"])
    clients = {name: _client_named(h, name) for name in (t + ".app",)}
    c = clients[t + ".app"][0]
    try:
        for op in ("review.queue", "case.search"):
            e = h.error_of(c.call(op, {"township": other}))
            assert (e["code"], e.get("field")) == ("unauthorized", "township"), (op, e)
        items = c.call("review.queue", {})["result"]["items"]
        assert items and all(i["village"].startswith(t) for i in items), items
        cases = c.call("case.search", {})["result"]["cases"]
        assert cases and all(x["township"] == t for x in cases), cases
        # a key of no township (the county's staff tool here) reads every township
        everyone = h.call("review.queue", {})["result"]["items"]
        assert {i["village"][:9] for i in everyone} >= {t, other}, everyone
    finally:
        for cl, pub in clients.values():
            cl.close()
            _remove(pub)



def test_a_township_key_opens_re_checks_of_its_own_townships_cases_only(h):
    """Issue 17: recheck.open names a staff account of the key, and a township's key
    reaches only the cases registered in its township (another's is not_found)."""
    t = "520123%03d" % (300 + os.getpid() % 100)
    res = h.submit_ok(h.report([h.member(birth="1979-09-09")],
                               area={"county": "520123", "township": t, "village": t + "001"}))
    h.wait_complete(res["case_id"], report_id=res["report_id"])
    clients = {name: _client_named(h, name) for name in (t, "520123999")}
    try:
        body = {"case_id": res["case_id"], "by": "520123999.li", "on": "2026-11-20"}
        e = h.error_of(clients["520123999"][0].call("recheck.open", body, id=h.rid("rc")))
        assert (e["code"], e.get("field")) == ("not_found", "case_id"), e
        e = h.error_of(clients[t][0].call("recheck.open", dict(body, by="520123999.li"),
                                          id=h.rid("rc")))
        assert (e["code"], e.get("field")) == ("unauthorized", "by"), e
        # its own township's case: reached (nothing is due there yet)
        e = h.error_of(clients[t][0].call("recheck.open", dict(body, by=t + ".li"),
                                          id=h.rid("rc")))
        assert e["code"] == "conflict" and "no re-check due" in e["message"], e
    finally:
        for c, pub in clients.values():
            c.close()
            _remove(pub)
