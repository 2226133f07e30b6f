"""conftest.py — helpers of the HA drills (tests/ha, `make test-ha`).

The drills run against the private HA stack that tests/ha/run.sh starts with
ops/ha.sh (etcd x3, Postgres x2 under Patroni, pgBackRest, Redis + replica +
Sentinel x3) and exports. They reuse the fault drills' load client, waits and
audit (tests/faults/conftest.py, loaded as a plain module so that its fixtures
stay out of this session) and add:

  ha(*args)              ops/ha.sh on this stack
  leader()               the node number of the primary, or None
  node_roles()           {node: "primary" | "standby" | "down"} asked of each Postgres
  Watch(load)            samples the load's acknowledgements; .outage(t) is the
                         longest time without a new one from t on (seconds)
  audit(name, load, t)   the fault drills' audit after a drill, and the figures
                         printed: seconds of write outage, acknowledged, lost, doubled

Everything that waits is bounded in time.
"""
import importlib.util
import json
import os
import subprocess
import threading
import time

import pytest

ROOT = os.environ.get("AID_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
HA_SH = os.path.join(ROOT, "ops", "ha.sh")

_spec = importlib.util.spec_from_file_location(
    "aid_fault_helpers", os.path.join(ROOT, "tests", "faults", "conftest.py"))
h = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(h)

VAR = h.VAR
HAVE_STACK = h.HAVE_STACK and os.environ.get("AID_HA") == "1"
RATE = float(os.environ.get("AID_HA_RATE", "80"))            # reports per second
NODE_DOWN_S = float(os.environ.get("AID_HA_NODE_DOWN_S", "60"))


def ha(*args, check=True, timeout=300):
    env = dict(os.environ, AID_VAR=VAR)
    p = subprocess.run([HA_SH] + list(args), cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, "ops/ha.sh %s failed (%d):\n%s\n%s" % (
            " ".join(args), p.returncode, p.stdout, p.stderr)
    return p


def ports():
    out = {}
    with open(os.path.join(VAR, "ports.env")) as f:
        for line in f:
            if line.startswith("AID_") and "=" in line:
                k, v = line.strip().split("=", 1)
                out[k] = v
    return out


NODES = (1, 2)


def node_port(n):
    p = ports()
    return p["AID_PG_PORT"] if n == 1 else p["AID_PG%d_PORT" % n]


def leader():
    p = ha("leader", check=False, timeout=30)
    return int(p.stdout.strip()) if p.returncode == 0 and p.stdout.strip() else None


def cluster():
    p = ha("cluster", check=False, timeout=30)
    try:
        return json.loads(p.stdout) if p.returncode == 0 else {}
    except ValueError:
        return {}


def node_sql(n, sql, db="postgres"):
    """One value from node n over its own socket (as the owner), None when down."""
    p = subprocess.run(["psql", "-X", "-q", "-tA", "-h", os.path.join(VAR, "run", "pg%d" % n),
                        "-p", node_port(n), "-U", "postgres", "-d", db, "-c", sql],
                       capture_output=True, text=True, timeout=20,
                       env=dict(os.environ, PGCONNECT_TIMEOUT="3"))
    return p.stdout.strip() if p.returncode == 0 else None


def node_roles():
    out = {}
    for n in NODES:
        v = node_sql(n, "SELECT pg_is_in_recovery()")
        out[n] = {"f": "primary", "t": "standby"}.get(v, "down")
    return out


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("%s: not within %ss; cluster %r\n%s" % (
        what, timeout, cluster(), h.tail_logs()))


def standby_streaming(n):
    """Node n is back as a standby that the primary streams to (sync or async)."""
    for m in cluster().get("members", []):
        if m.get("name") == "node%d" % n:
            return m.get("role") in ("replica", "sync_standby") and \
                m.get("state") in ("running", "streaming")
    return False


def sync_standby():
    for m in cluster().get("members", []):
        if m.get("role") == "sync_standby":
            return m.get("name")
    return None


class Watch(threading.Thread):
    """Samples load.acked() every 20 ms; .times are the moments it grew."""

    def __init__(self, load):
        super().__init__(daemon=True)
        self.load, self.times, self.stop = load, [], threading.Event()

    def run(self):
        last = 0
        while not self.stop.is_set() and self.load.is_alive():
            n = self.load.acked()
            if n > last:
                self.times.append(time.monotonic())
                last = n
            time.sleep(0.02)

    def outage(self, t, until=None):
        """Longest stretch without a new acknowledgement from t (to until)."""
        pts = [t] + [x for x in self.times if x > t and (until is None or x <= until)]
        if until is not None:
            pts.append(until)
        return max((b - a for a, b in zip(pts, pts[1:])), default=0.0)


def log_since(name, offset):
    path = os.path.join(VAR, "log", name)
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def log_size(name):
    try:
        return os.path.getsize(os.path.join(VAR, "log", name))
    except OSError:
        return 0


def audit(name, load, outage):
    """Every acknowledged report stored with the ids it was acknowledged with
    (lost = those that are not), each department reached once per report
    (doubled = pairs reached twice), then the fault drills' full audit:
    everything assessed and decided once. Prints the drill's figures."""
    like = h.it.q(load.tag + "-%")
    rows = h.psql("SELECT request_id, report_id, case_id FROM reports WHERE request_id LIKE %s"
                  % like)
    db = {r[0]: ("report-" + r[1], "case-" + r[2]) for r in rows}
    lost = sum(1 for rid, ids in load.ok.items() if db.get(rid) != ids)
    doubled = int(h.psql_value(
        "SELECT count(*) FROM (SELECT f.report_id, f.department FROM referrals f"
        " JOIN reports r USING (report_id) WHERE r.request_id LIKE %s"
        " GROUP BY 1, 2 HAVING count(*) > 1) x" % like))
    print("\n%s: %.1f s of write outage, %d reports acknowledged, %d lost, %d doubled"
          " (resent %d, answers %r)" % (name, outage, len(load.ok), lost, doubled, load.resent,
                                        load.codes))
    assert lost == 0 and doubled == 0
    h.wait_complete(load.tag, load.n, 240)
    h.verify(load)


@pytest.fixture(autouse=True)
def _ha_up():
    """Every drill starts with the whole HA stack up: a primary with a sync standby,
    every etcd member, Redis and its Sentinels, every service healthy."""
    if not HAVE_STACK:
        pytest.skip("no HA stack: run `make test-ha` (tests/ha/run.sh)")
    ha("up")
    wait_for("a synchronous standby", sync_standby, 120)
    h.wait_health("ok", 60)
    yield
