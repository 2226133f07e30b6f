"""conftest.py — helpers for the web console's tests (services/gateway).

The tests speak HTTP to a running gateway of a private stack
(tests/gateway/run.sh starts one under var/gwtest with the housing department
external, so housing referrals wait for a person's decision). Outside the
runner they read the stack of $AID_VAR (default var/gwtest) through
`ops/stack.sh env`.

Accounts are made with `bin/aidctl user add` (the operator's tool), one per
role: two township caseworkers (townships A and B), a county officer (the
stack's admin), a housing officer, a civil officer and an auditor.

Every test reaches the helpers through the `g` fixture, e.g.
`g.login("tw_a").post("/api/reports", g.report([...]))`.
"""
import datetime
import json
import os
import random
import shlex
import subprocess
import threading
import time

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STACK_SH = os.path.join(ROOT, "ops", "stack.sh")
AIDCTL = os.path.join(ROOT, "bin", "aidctl")


def _load_env():
    if os.environ.get("AID_GATEWAY_URL"):
        return True
    var = os.environ.get("AID_VAR", "var/gwtest")
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
    return bool(os.environ.get("AID_GATEWAY_URL"))


HAVE_STACK = _load_env()
URL = os.environ.get("AID_GATEWAY_URL", "")
VAR = os.environ.get("AID_VAR", os.path.join(ROOT, "var", "gwtest"))

COUNTY = "520123"
TOWN_A = "520123101"
TOWN_B = "520123102"
VILLAGE_A = "520123101001"
VILLAGE_B = "520123102001"
PASSWORD = "gw-test-password-1"

# name: (role, scope, display name)
USERS = {
    "tw_a": ("township", TOWN_A, "甲镇经办人"),
    "tw_b": ("township", TOWN_B, "乙镇经办人"),
    "housing_officer": ("department", "housing", "住建局经办人"),
    "civil_officer": ("department", "civil", "民政局经办人"),
    "auditor1": ("auditor", "", "审计员"),
    "county1": ("county", "", "县级经办人"),
}

# ---------------------------------------------------------------- ID numbers

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECKS = "10X98765432"
_rng = random.SystemRandom()
_lock = threading.Lock()
_AREA = _rng.randrange(110000, 600000)
_seq = [_rng.randrange(0, 900)]


def check_char(first17):
    return CHECKS[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def new_id(birth="1980-06-15"):
    """A fresh valid ID number born on birth (unique within this run)."""
    b = birth.replace("-", "")
    with _lock:
        n = _seq[0]
        _seq[0] += 1
    first17 = "%06d%s%03d" % (_AREA + n // 1000, b, n % 1000)
    return first17 + check_char(first17)


def bad_check(id_number):
    """The same ID number with a wrong check character."""
    wrong = CHECKS[(CHECKS.index(id_number[17]) + 1) % 11]
    return id_number[:17] + wrong


def mask(id_number):
    return id_number[:6] + "*" * 8 + id_number[14:]


# ---------------------------------------------------------------- reports

def member(birth="1980-06-15", **kw):
    m = {"id_number": new_id(birth), "name": "测试" + "甲乙丙丁"[_rng.randrange(4)],
         "hukou_local": True}
    m.update(kw)
    return m


def report(members=None, township=TOWN_A, village=None, **kw):
    """A dibao household (S1) of two, owned housing: it reaches civil,
    medical and care, never housing (external in this stack)."""
    body = {
        "as_of": datetime.date.today().isoformat(),
        "source": "visit",
        "area": {"county": COUNTY, "township": township,
                 "village": village or (township + "001")},
        "household": {"status": {"dibao": "full"}, "housing": "owned",
                      "members": members or [member("1950-03-01"), member("1985-07-09")]},
    }
    body.update(kw)
    return body


# ---------------------------------------------------------------- HTTP

class Client:
    """One browser-like session: cookies, the CSRF token, form keys."""

    def __init__(self):
        self.s = requests.Session()
        self.csrf = None
        self.user = None

    def url(self, path):
        return URL + path

    def session(self):
        r = self.s.get(self.url("/api/session"), timeout=15)
        r.raise_for_status()
        self.csrf = r.json()["result"]["csrf"]
        return r

    def login(self, username, password=PASSWORD, expect=200):
        if not self.csrf:
            self.session()
        r = self.s.post(self.url("/api/login"), json={"username": username, "password": password},
                        headers={"X-CSRF-Token": self.csrf}, timeout=30)
        assert r.status_code == expect, r.text
        if r.status_code == 200:
            res = r.json()["result"]
            self.csrf = res["csrf"]
            self.user = res["user"]
        return r

    def get(self, path, **kw):
        kw.setdefault("timeout", 30)
        return self.s.get(self.url(path), **kw)

    def post(self, path, body=None, key=None, csrf=True, headers=None, **kw):
        h = dict(headers or {})
        if csrf and self.csrf:
            h["X-CSRF-Token"] = self.csrf
        if key:
            h["Idempotency-Key"] = key
        kw.setdefault("timeout", 30)
        return self.s.post(self.url(path), json=body if body is not None else {}, headers=h, **kw)


def ok(r, status=200):
    """The result of a successful reply (asserts the status)."""
    assert r.status_code == status, "%s %s: %s" % (r.request.method, r.url, r.text)
    data = r.json()
    assert data["ok"] is True
    return data["result"]


def err(r, status, code, field=None):
    """The error object of a failed reply (asserts status, code, field)."""
    assert r.status_code == status, "%s %s: %s" % (r.request.method, r.url, r.text)
    data = r.json()
    assert data["ok"] is False
    e = data["error"]
    assert e["code"] == code, e
    if field is not None:
        assert e.get("field") == field, e
    return e


def aidctl(*args, stdin=None, check=True):
    out = subprocess.run([AIDCTL] + list(args), input=stdin, capture_output=True, text=True,
                         timeout=60, env=dict(os.environ))
    if check:
        assert out.returncode == 0, out.stderr
    return out


def psql(sql):
    """One value (or rows as text) from the stack's database."""
    dsn = os.environ["AID_PG_DSN"]
    out = subprocess.run(["psql", "-X", "-qtA", "-d", dsn, "-c", sql], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def ensure_user(name, role, scope="", display="", password=PASSWORD):
    args = ["user", "add", name, role] + ([scope] if scope or display else []) + \
           ([display] if display else [])
    out = aidctl(*args, stdin=password + "\n", check=False)
    if out.returncode != 0:
        assert "exists" in out.stderr, out.stderr
        aidctl("user", "passwd", name, stdin=password + "\n")


def wait_for(fn, timeout=20.0, every=0.2):
    """Calls fn until it returns something true; returns that (or fails)."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError("timed out waiting; last value: %r" % (last,))


def key(prefix):
    """A form key unique to this run (stacks outlive test runs)."""
    return "%s-%08x" % (prefix, _rng.getrandbits(32))


class Helpers:
    Client = Client
    key = staticmethod(key)
    ok = staticmethod(ok)
    err = staticmethod(err)
    new_id = staticmethod(new_id)
    bad_check = staticmethod(bad_check)
    mask = staticmethod(mask)
    member = staticmethod(member)
    report = staticmethod(report)
    aidctl = staticmethod(aidctl)
    psql = staticmethod(psql)
    ensure_user = staticmethod(ensure_user)
    wait_for = staticmethod(wait_for)
    URL = URL
    TOWN_A, TOWN_B, VILLAGE_A, VILLAGE_B, COUNTY = TOWN_A, TOWN_B, VILLAGE_A, VILLAGE_B, COUNTY
    PASSWORD = PASSWORD

    def __init__(self):
        self._clients = {}

    def login(self, username):
        """A signed-in client for a test account (one per name, reused)."""
        c = self._clients.get(username)
        if c is None:
            c = Client()
            if username == "admin":
                c.login(os.environ.get("AID_ADMIN_USER", "admin"), os.environ["AID_ADMIN_PASSWORD"])
            else:
                c.login(username)
            self._clients[username] = c
        return c

    def file(self, who="tw_a", body=None, key=None):
        """Files a report as who; returns the result."""
        return ok(self.login(who).post("/api/reports", body or report(), key=key))

    def case(self, who, case_id):
        return self.login(who).get("/api/cases/" + case_id)

    def wait_decided(self, case_id, departments, who="admin", timeout=30):
        """Waits until every listed department's referral is decided."""
        def check():
            c = ok(self.case(who, case_id))
            got = {f["department"]: f["status"] for f in c["referrals"]}
            return c if all(got.get(d, "pending") != "pending" for d in departments) else None
        return wait_for(check, timeout)


@pytest.fixture(scope="session")
def g():
    if not HAVE_STACK:
        pytest.skip("no stack with a gateway: run tests/gateway/run.sh (make test-gateway)")
    for name, (role, scope, display) in USERS.items():
        ensure_user(name, role, scope, display)
    return Helpers()
