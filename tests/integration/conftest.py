"""conftest.py — shared helpers for the integration tests of the live stack.

The tests talk to a running private stack (ops/stack.sh) over loopback only:
the intake API with ZeroMQ + MessagePack, Postgres through the psql CLI and
Redis through redis-cli. `make integration` (ops/run-integration.sh) starts a
fresh stack under var/test and exports its environment; when AID_INTAKE_API
is missing we read it from `ops/stack.sh env` of $AID_VAR (default var/test).

Every test reaches the helpers through the `h` fixture (this module), e.g.
`h.submit_ok(h.report([h.member(birth="1950-01-01")]))`. Everything that
waits is bounded in time.

Helpers:
  new_id(birth)          unique valid ID number (per-run random area code)
  member(...), report(...)  build report.submit bodies
  Client, call(op, body, id), submit(body, id), submit_ok(...)
  wait_complete(case_id, timeout)  poll case.get until complete
  confirm_moves(case_id)  confirm a case's possible moves (move.decide)
  stack(...), ensure_up(), wait_health(...), psql(sql), redis_cli(...)
  USED_IDS               every ID number the tests generated (for test_99_logs)
"""
import datetime
import hashlib
import os
import random
import re
import shlex
import subprocess
import sys
import threading
import time

import msgpack
import pytest
import zmq

# ---------------------------------------------------------------- environment

ROOT = os.environ.get("AID_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
STACK_SH = os.path.join(ROOT, "ops", "stack.sh")
ENV_KEYS = ("AID_INTAKE_API", "AID_PG_DSN", "AID_REDIS_URL", "AID_BUS_SUB",
            "AID_BUS_PUB", "AID_VAR")



# ---------------------------------------------------------------- markers
def pytest_configure(config):
    config.addinivalue_line(
        "markers", "no_c: checks scripts, SQL or files only, no C program; skipped in the "
        "sanitizer pass (AID_SANITIZE set by `make test SANITIZE=…`), which adds nothing to it")


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("AID_SANITIZE"):
        return
    skip = pytest.mark.skip(reason="runs no C program; checked in the plain pass")
    for item in items:
        if item.get_closest_marker("no_c"):
            item.add_marker(skip)


def _load_env():
    """Fills os.environ from `ops/stack.sh env` when the stack env is absent."""
    if os.environ.get("AID_INTAKE_API"):
        return True
    var = os.environ.get("AID_VAR", "var/test")
    try:
        out = subprocess.run([STACK_SH, "env"], cwd=ROOT, env=dict(os.environ, AID_VAR=var),
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if out.returncode != 0:
        return False
    for line in out.stdout.splitlines():
        if line.startswith("export "):
            k, _, v = line[len("export "):].partition("=")
            os.environ[k] = shlex.split(v)[0] if v else ""
    return bool(os.environ.get("AID_INTAKE_API"))


HAVE_STACK = _load_env()
INTAKE = os.environ.get("AID_INTAKE_API", "")
PG_DSN = os.environ.get("AID_PG_DSN", "")
REDIS_URL = os.environ.get("AID_REDIS_URL", "")
VAR = os.environ.get("AID_VAR", os.path.join(ROOT, "var", "test"))
if not os.path.isabs(VAR):
    VAR = os.path.join(ROOT, VAR)
LOG_DIR = os.path.join(VAR, "log")

RUN = "%08x" % random.SystemRandom().getrandbits(32)   # this session's tag

DEPARTMENTS = ("civil", "tempaid", "medical", "education", "housing", "employment",
               "relief", "social", "care")
SERVICES = ("bus", "intake", "eligibility") + DEPARTMENTS

# ---------------------------------------------------------------- ID numbers

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_rng = random.SystemRandom()
_id_lock = threading.Lock()
# A random 6-digit area base per run: with the birth date and a 3-digit
# sequence this keeps IDs unique across tests and earlier runs on one stack.
_AREA_BASE = _rng.randrange(110000, 600000)
_SEQ_START = _rng.randrange(0, 1000)
_id_counters = {}
USED_IDS = set()          # every ID number handed out or used on the wire


def check_char(first17):
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def valid_id(s):
    """True when s is a valid ID number (check char and real birth date)."""
    if len(s) != 18 or not s[:17].isdigit() or s[17] not in "0123456789Xx":
        return False
    try:
        datetime.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return check_char(s[:17]) == s[17].upper()


def _date(d):
    if isinstance(d, datetime.date):
        return d
    return datetime.date.fromisoformat(d)


def new_id(birth="1980-06-15", want_check=None):
    """A fresh, unique, valid ID number born on `birth` (YYYY-MM-DD)."""
    b = _date(birth).strftime("%Y%m%d")
    with _id_lock:
        while True:
            # one counter for all birth dates: every ID of the run has its own
            # (area, sequence) pair, so even the masks (first 6 + last 4) differ
            n = _id_counters.get("n", _SEQ_START)
            _id_counters["n"] = n + 1
            area = _AREA_BASE + n // 1000
            first17 = "%06d%s%03d" % (area, b, n % 1000)
            c = check_char(first17)
            if want_check is None or c == want_check:
                s = first17 + c
                USED_IDS.add(s)
                return s


def bad_check_id(birth="1980-06-15"):
    """A unique ID number whose check character is wrong."""
    good = new_id(birth)
    wrong = CHECK_CHARS[(CHECK_CHARS.index(good[17]) + 1) % 11]
    s = good[:17] + wrong
    USED_IDS.add(s)
    return s


def mask(id_number):
    """The mask of POLICY §13: first 6 and last 4 characters kept."""
    return id_number[:6] + "*" * 8 + id_number[14:]


# ---------------------------------------------------------------- report bodies

AS_OF = "2026-11-01"
AREA = {"county": "520123", "township": "520123101", "village": "520123101001"}
_rid_counter = [0]
_rid_lock = threading.Lock()


def rid(tag="r"):
    """A unique request id for this run."""
    with _rid_lock:
        _rid_counter[0] += 1
        return "it-%s-%s-%d" % (RUN, tag, _rid_counter[0])


def member(birth="1980-06-15", name="测试人", hukou_local=True, id_number=None, **kw):
    m = {"id_number": id_number or new_id(birth), "name": name, "hukou_local": hukou_local}
    m.update(kw)
    return m


def report(members, as_of=AS_OF, status=None, housing=None, **kw):
    """A report.submit body; `status`/`housing` go into the household."""
    hh = {"members": members}
    if status is not None:
        hh["status"] = status
    if housing is not None:
        hh["housing"] = housing
    body = {"source": "visit", "area": dict(AREA), "household": hh}
    if as_of is not None:
        body["as_of"] = as_of
    body.update(kw)
    return body


def ids_in(body):
    return [m["id_number"] for m in body["household"]["members"]]


# ---------------------------------------------------------------- ZeroMQ client

_zctx = zmq.Context.instance()


def _env_key(prefix, env=None):
    """The Z85 secret key PREFIX_SECRETKEY, or the one in PREFIX_SECRETKEY_FILE."""
    env = os.environ if env is None else env
    v = env.get(prefix + "_SECRETKEY")
    if v:
        return v
    with open(env[prefix + "_SECRETKEY_FILE"]) as f:
        return f.read().split()[0]


def curve(sock, server_var="AID_INTAKE_PUBKEY", who="AID_CLIENT", env=None):
    """Secure mode (AID_SECURE=1 in env, default os.environ): makes sock a CURVE
    client, before its connect, of the server whose public key is in server_var,
    with the key pair of `who` (AID_CLIENT for the intake; AID_SERVICE for the
    bus). A no-op otherwise."""
    env = os.environ if env is None else env
    if env.get("AID_SECURE") != "1":
        return sock
    secret = _env_key(who, env).encode()
    sock.curve_secretkey = secret
    sock.curve_publickey = zmq.curve_public(secret)
    sock.curve_serverkey = env[server_var].encode()
    return sock


class NoReply(AssertionError):
    pass


class BadReply(AssertionError):
    """A reply that is not a MessagePack map of valid UTF-8 strings."""


class Client:
    """A DEALER (default) or REQ client of the intake API with a receive
    timeout. After a time-out the socket is replaced, so a late reply can
    never be mistaken for the answer to the next request."""

    def __init__(self, kind=zmq.DEALER, timeout=10.0, endpoint=None, env=None):
        self.kind = kind
        self.timeout = timeout
        self.endpoint = endpoint or INTAKE
        self.env = env  # another stack's environment (its keys), default os.environ
        self.sock = None
        self._open()

    def _open(self):
        if self.sock is not None:
            self.sock.close(linger=0)
        self.sock = _zctx.socket(self.kind)
        self.sock.setsockopt(zmq.LINGER, 0)
        curve(self.sock, env=self.env)
        self.sock.connect(self.endpoint)

    def close(self):
        if self.sock is not None:
            self.sock.close(linger=0)
            self.sock = None

    def send_frames(self, frames, timeout=None):
        """Sends raw frames (after the DEALER delimiter, if the caller gives
        it) and returns the reply frames, or None on time-out."""
        if self.sock is None:
            self._open()
        self.sock.send_multipart(frames)
        if self.sock.poll(int((timeout or self.timeout) * 1000), zmq.POLLIN):
            return self.sock.recv_multipart()
        self._open()
        return None

    def raw(self, payload, timeout=None):
        """Sends one request body of raw bytes; the decoded reply or None."""
        frames = [payload] if self.kind == zmq.REQ else [b"", payload]
        rep = self.send_frames(frames, timeout)
        if rep is None:
            return None
        assert rep[-1:] and (self.kind == zmq.REQ or rep[0] == b""), rep
        try:
            reply = msgpack.unpackb(rep[-1], raw=False)
        except Exception as e:
            raise BadReply("reply is not valid MessagePack with UTF-8 strings (%s): %r"
                           % (e, rep[-1][:300]))
        if not isinstance(reply, dict):
            raise BadReply("reply is not a map: %r" % (reply,))
        return reply

    def call(self, op, body=None, id=None, timeout=None, v=1, **extra):
        req = {"v": v, "op": op}
        if id is not None:
            req["id"] = id
        if body is not None:
            req["body"] = body
        req.update(extra)
        rep = self.raw(msgpack.packb(req, use_bin_type=True), timeout)
        if rep is None:
            raise NoReply("no reply to %s within %ss" % (op, timeout or self.timeout))
        return rep


_tls = threading.local()


def client():
    """This thread's shared DEALER client."""
    c = getattr(_tls, "client", None)
    if c is None:
        c = _tls.client = Client()
    return c


def call(op, body=None, id=None, timeout=10.0, **extra):
    return client().call(op, body, id, timeout=timeout, **extra)


def raw(payload, timeout=5.0):
    return client().raw(payload, timeout)


def submit(body, id=None, timeout=15.0):
    for m in body.get("household", {}).get("members", []) if isinstance(body, dict) else []:
        if isinstance(m, dict) and isinstance(m.get("id_number"), str):
            USED_IDS.add(m["id_number"])
    return call("report.submit", body, id or rid(), timeout=timeout)


def submit_ok(body, id=None, timeout=15.0):
    r = submit(body, id, timeout)
    assert r.get("ok") is True, "report.submit failed: %r" % (r,)
    res = r["result"]
    assert re.fullmatch(r"report-\d+", res["report_id"]), res
    assert re.fullmatch(r"case-\d+", res["case_id"]), res
    return res


def error_of(reply):
    assert reply.get("ok") is False, "expected an error reply, got %r" % (reply,)
    return reply["error"]


def case_get(case_id=None, id_number=None):
    body = {"case_id": case_id} if case_id is not None else {"id_number": id_number}
    return call("case.get", body)


def wait_complete(case_id, timeout=30.0, report_id=None):
    """Polls case.get until the case is complete (and, if given, report_id
    has referrals or is assessed); returns the case. Bounded by timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            r = call("case.get", {"case_id": case_id}, timeout=5)
        except NoReply as e:
            r = {"ok": False, "error": {"code": "no reply", "message": str(e)}}
        last = r
        if r.get("ok") and r["result"]["complete"]:
            check_case_invariants(r["result"])
            return r["result"]
        if time.monotonic() > deadline:
            pending = []
            if r.get("ok"):
                pending = [(f["department"], f["report_id"]) for f in r["result"]["referrals"]
                           if f["status"] == "pending"]
            raise AssertionError("case %s not complete after %.0fs; pending referrals %r; "
                                 "last reply %r" % (case_id, timeout, pending, _short(last)))
        time.sleep(0.1)


def confirm_moves(case_id, by="乡镇民政办"):
    """Confirms every pending possible move of the case (a report filed
    outside its registered township, migration 050): the household then
    lives where that report was filed. Returns the move.decide results."""
    r = call("move.queue", {})
    assert r.get("ok") is True, r
    out = []
    for m in r["result"]["moves"]:
        if m["case_id"] == case_id:
            d = call("move.decide", {"move_id": m["move_id"], "decision": "confirm", "by": by},
                     rid("move"))
            assert d.get("ok") is True, d
            out.append(d["result"])
    return out


def _short(x, n=600):
    s = repr(x)
    return s if len(s) <= n else s[:n] + "..."


def check_case_invariants(case):
    """Invariants of every case view: each department at most once per
    report, decided referrals have decided_at, denied ones a reason."""
    seen = set()
    for f in case["referrals"]:
        key = (f["report_id"], f["department"])
        assert key not in seen, "department %s twice for %s" % (f["department"], f["report_id"])
        seen.add(key)
        assert f["department"] in DEPARTMENTS, f
        assert f["status"] in ("pending", "in_review", "granted", "denied", "referred"), f
        if f["status"] == "in_review":   # POLICY.md §16: a proposal under review
            assert f["review"]["stage"] in ("investigation", "notice", "confirmation",
                                            "spot_check"), f
        if f["status"] != "pending":
            assert f["decided_at"], f
        if f["status"] == "denied":
            assert f["reason"], f
        if f["status"] == "granted":
            assert f["measures"], f
        for m in f["measures"]:
            assert m["period"] in ("once", "month", "quarter", "year"), m
            assert m["form"] in ("cash", "in_kind", "service", "referral"), m
            assert isinstance(m["amount_fen"], int) and m["amount_fen"] >= 0, m
            if m["form"] != "cash":
                assert m["amount_fen"] == 0, m
            if "id_masked" in m:
                assert re.fullmatch(r"\d{6}\*{8}[\dX]{4}", m["id_masked"]), m
    for p in case["persons"]:
        assert re.fullmatch(r"\d{6}\*{8}[\dX]{4}", p["id_masked"]), p


def referrals_of(case, report_id):
    return {f["department"]: f for f in case["referrals"] if f["report_id"] == report_id}


# ---------------------------------------------------------------- stack control

def _stack_env(extra=None, drop=()):
    env = dict(os.environ)
    env["AID_VAR"] = VAR
    for k in drop:
        env.pop(k, None)
    if extra:
        env.update(extra)
    return env


def stack(*args, env=None, drop=("AID_REPLICAS",), check=True, timeout=180):
    """Runs ops/stack.sh ARGS against this test stack; returns the result."""
    p = subprocess.run([STACK_SH] + list(args), cwd=ROOT, env=_stack_env(env, drop),
                       capture_output=True, text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, "ops/stack.sh %s failed (%d):\n%s\n%s" % (
            " ".join(args), p.returncode, p.stdout, p.stderr)
    return p


def status():
    """{instance: pid or None} from `ops/stack.sh status`."""
    out = {}
    for line in stack("status").stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            out[parts[0]] = int(parts[1]) if parts[1].isdigit() and parts[2] == "running" else None
    return out


def health(timeout=5.0):
    r = call("health", timeout=timeout)
    assert r.get("ok") is True, r
    return r["result"]


def wait_health(want="ok", timeout=30.0, tolerate_bad_reply=False):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = health()
            if last["status"] == want:
                return last
        except BadReply as e:
            if not tolerate_bad_reply:
                raise
            last = e
        except (NoReply, AssertionError) as e:
            last = e
        time.sleep(0.2)
    raise AssertionError("health did not become %r within %ss: %r" % (want, timeout, last))


def ensure_up():
    """Every service, Postgres and Redis running (idempotent `up`), health ok."""
    stack("up")
    return wait_health("ok", 30)


def psql(sql, timeout=60):
    """Runs sql with psql on AID_PG_DSN; returns rows as lists of strings."""
    p = subprocess.run(["psql", PG_DSN, "-X", "-q", "-A", "-t", "-F", "\t",
                        "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, "psql failed: %s\n%s" % (sql, p.stderr)
    return [line.split("\t") for line in p.stdout.splitlines() if line != ""]


def psql_script(sql, timeout=120):
    """Runs a script of several statements in one session (a transaction of its own
    making, session settings) on AID_PG_DSN; returns the rows of every statement."""
    p = subprocess.run(["psql", PG_DSN, "-X", "-q", "-A", "-t", "-F", "\t",
                        "-v", "ON_ERROR_STOP=1", "-f", "-"],
                       input=sql, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return [line.split("\t") for line in p.stdout.splitlines() if line != ""]


ENT_ID_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")


def entitlements(case_id, month=None, timeout=10):
    """entitlements.list of a case (in a month); no full ID number in the answer."""
    body = {"case_id": case_id}
    if month:
        body["month"] = month
    r = call("entitlements.list", body, timeout=timeout)
    assert r.get("ok") is True, r
    assert not ENT_ID_RE.search(repr(r)), "a full ID number in entitlements.list"
    return r["result"]["entitlements"]


def wait_entitlements(case_id, want, month=None, timeout=30.0):
    """Polls entitlements.list until want(list) holds (the benefits sweep starts them)."""
    deadline = time.monotonic() + timeout
    while True:
        ents = entitlements(case_id, month)
        if want(ents):
            return ents
        assert time.monotonic() < deadline, "entitlements of %s never became right: %r" % (
            case_id, ents)
        time.sleep(0.2)


def wait_swept(case_ids, timeout=30.0):
    """Until every civil referral of the cases ("case-N" ids) is decided and the
    benefits sweep has handled each granted one: what it does a moment after the
    decisions, on its own cadence (a referral still pending is waited for too, so
    an early call does not pass before there is anything to sweep)."""
    nums = ",".join(str(int(c[len("case-"):])) for c in case_ids)
    deadline = time.monotonic() + timeout
    while psql_value(
            "SELECT count(*) FROM referrals f WHERE f.case_id IN (%s) AND f.department = 'civil'"
            " AND (f.status = 'pending'"
            "      OR f.status = 'granted' AND NOT EXISTS (SELECT 1 FROM entitlement_sources s"
            "                                               WHERE s.referral_id = f.referral_id))"
            % nums) != "0":
        assert time.monotonic() < deadline, "the benefits sweep never handled cases %s (or one is still pending)" % nums
        time.sleep(0.2)


def psql_value(sql):
    rows = psql(sql)
    assert len(rows) == 1 and len(rows[0]) == 1, rows
    return rows[0][0]


def q(s):
    """SQL string literal."""
    return "'" + str(s).replace("'", "''") + "'"


def _pii_master():
    """The PII master key of the stack (AID_PII_KEY or AID_PII_KEY_FILE)."""
    hexkey = os.environ.get("AID_PII_KEY")
    if not hexkey:
        with open(os.environ["AID_PII_KEY_FILE"]) as f:
            hexkey = f.read()
    return bytes.fromhex(hexkey.strip())


def id_hash(id_number):
    """The hex id_hash of an ID number, as common/pii.c makes it: keyed
    BLAKE2b-256 under the subkey 1 of crypto_kdf (context "aid_pii_")."""
    sub = hashlib.blake2b(b"", digest_size=32, key=_pii_master(),
                          salt=(1).to_bytes(8, "little"), person=b"aid_pii_").digest()
    return hashlib.blake2b(str(id_number).encode(), digest_size=32, key=sub).hexdigest()


def idh(id_number):
    """SQL for the id_hash of an ID number: WHERE id_hash = %s" % idh(pid)."""
    return "decode('%s', 'hex')" % id_hash(id_number)


def open_ids(hexes):
    """The ID numbers of id_enc values (hex, as psql prints bytea), via aidctl pii."""
    hexes = [h for h in hexes if h]
    if not hexes:
        return []
    p = subprocess.run([os.path.join(ROOT, "bin", "aidctl"), "pii", "open"],
                       input="\n".join(hexes) + "\n", capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def _in_list(values):
    return ",".join(q(v) for v in values) or "NULL"


def undecided(request_ids):
    """How many of these requests' reports are not yet assessed or still
    have a pending referral (from the database)."""
    return int(psql_value(
        "select count(*) from reports r where r.request_id in (%s) and (not exists "
        "(select 1 from assessments a where a.report_id = r.report_id) "
        "or exists (select 1 from referrals f where f.report_id = r.report_id "
        "and f.status = 'pending'))" % _in_list(request_ids)))


def wait_reports_decided(request_ids, timeout=60.0):
    """Polls the database until every report of these requests is assessed
    and every referral decided. Bounded by timeout."""
    deadline = time.monotonic() + timeout
    while True:
        left = undecided(request_ids)
        if left == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError("%d of %d reports not fully decided after %.0fs"
                                 % (left, len(request_ids), timeout))
        time.sleep(0.3)


def redis_cli(*args, timeout=20):
    return subprocess.run(["redis-cli", "-u", REDIS_URL] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def num(wire_id):
    """The number of a wire id like "report-12"."""
    return int(wire_id.rsplit("-", 1)[1])


def log_path(instance):
    return os.path.join(LOG_DIR, instance + ".log")


def log_size(instance):
    try:
        return os.path.getsize(log_path(instance))
    except OSError:
        return 0


def log_since(instance, offset):
    try:
        with open(log_path(instance), "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def log_until(instance, offset, *needles, timeout=5.0):
    """The log of instance since offset once it holds every needle (the server
    writes its log on its own, a moment after the statement), or as it is when
    timeout runs out."""
    deadline = time.monotonic() + timeout
    while True:
        log = log_since(instance, offset)
        if all(n in log for n in needles) or time.monotonic() > deadline:
            return log
        time.sleep(0.1)


def tail_logs(*instances, lines=15):
    """The last lines of some service logs, for failure messages."""
    out = []
    for inst in instances:
        text = log_since(inst, max(0, log_size(inst) - 20000)).splitlines()[-lines:]
        out.append("--- %s.log\n%s" % (inst, "\n".join(text)))
    return "\n".join(out)


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def h():
    """The helper module itself."""
    if not HAVE_STACK:
        pytest.skip("no running stack: start one (see ops/run-integration.sh) or run "
                    "`make integration`")
    return sys.modules[__name__]


@pytest.fixture(scope="module", autouse=True)
def _stack_ready():
    """Each test file starts with the whole stack up and healthy (a file
    before may have stopped Postgres, Redis or services on purpose)."""
    if HAVE_STACK:
        ensure_up()
    yield
