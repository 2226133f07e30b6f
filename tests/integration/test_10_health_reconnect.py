"""test_10_health_reconnect.py — `health` after a Postgres restart (issue 14, point 7).

Postgres restarted while the intake replicas are idle leaves each of them a
connection the server has closed. The FIRST health call on each replica after
the restart must say the database is ok (the dead idle link is replaced before
it is used), not `down` until some later call: probes must not flap. Before
the fix the first call on each replica failed on its dead connection.
"""
import shlex
import time


def endpoints(h, env):
    """The intake endpoints of the stack as `ops/stack.sh env` lists them."""
    for line in h.stack("env", env=env, drop=()).stdout.splitlines():
        if line.startswith("export AID_INTAKE_API="):
            value = shlex.split(line[len("export AID_INTAKE_API="):])[0]
            return [e for e in value.split(",") if e]
    return []


def test_first_health_after_postgres_restart_says_database_ok(h):
    env = {"AID_REPLICAS": "intake:2"}
    p = h.stack("up", env=env, drop=())
    clients = []
    try:
        eps = endpoints(h, env)
        assert len(eps) == 2, (eps, p.stdout)
        clients = [h.Client(endpoint=ep, timeout=10) for ep in eps]
        for ep, c in zip(eps, clients):  # each replica connected to Postgres, then idle
            deadline = time.monotonic() + 30
            while c.call("health")["result"]["database"] != "ok":
                assert time.monotonic() < deadline, "%s: database never ok" % ep
                time.sleep(0.2)
        h.stack("pg-stop")
        h.stack("pg-start")
        first = {ep: c.call("health")["result"] for ep, c in zip(eps, clients)}
        bad = {ep: r for ep, r in first.items() if r["database"] != "ok" or r["status"] == "down"}
        assert not bad, "first health call after the Postgres restart: %r" % bad
    finally:
        for c in clients:
            c.close()
        h.stack("up", env={"AID_REPLICAS": ""}, drop=())  # explicitly back to one intake (up remembers its settings)
        h.wait_health("ok", 30)
