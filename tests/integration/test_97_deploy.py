"""test_97_deploy.py — what a deployment leans on: the probes, `up`'s memory
of its settings, and `make run`'s Ctrl-C.

- /readyz (every service's metrics port, the web console's own port) answers
  503 while Postgres is stopped and 200 again once it is back; /healthz stays
  200 `ok` throughout (liveness, not readiness: restarting a pod does not
  bring its database back).
- `ops/stack.sh up` with AID_REPLICAS and AID_EXTERNAL_DEPARTMENTS keeps them
  in var/settings.env: a later bare `up` after the services died starts the
  same layout (two intakes, the external department not started) and says
  which settings it used; giving a setting again changes it, and says so.
- ops/run.sh (`make run`) in its own process group, interrupted as Ctrl-C
  does (SIGINT to the group) once it serves: no process of it remains and
  every service of its stack is stopped.
"""
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request


def get(url, timeout=8.0):
    """(status, body) of a GET; (None, error) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except OSError as e:
        return None, repr(e)


def probe_bases(h):
    """The HTTP bases that serve the probes: intake's and civil's metrics
    ports and the web console."""
    bases = {}
    for svc in ("INTAKE", "CIVIL"):
        addrs = os.environ.get("AID_METRICS_" + svc, "")
        assert addrs, "stack.env lacks AID_METRICS_%s" % svc
        bases[svc.lower()] = "http://" + addrs.split(",")[0]
    gw = os.environ.get("AID_GATEWAY_URL")
    assert gw, "stack.env lacks AID_GATEWAY_URL"
    bases["gateway"] = gw.rstrip("/")
    return bases


def wait_status(url, want, timeout):
    deadline = time.monotonic() + timeout
    while True:
        st, body = get(url)
        if st == want:
            return body
        assert time.monotonic() < deadline, "%s: %r %r, want %d" % (url, st, body, want)
        time.sleep(0.3)


def test_readyz_fails_without_postgres_healthz_does_not(h):
    bases = probe_bases(h)
    for name, b in bases.items():
        assert wait_status(b + "/readyz", 200, 30).startswith("ready"), name
        st, body = get(b + "/healthz")
        assert (st, body) == (200, "ok\n"), (name, st, body)
    h.stack("pg-stop")
    try:
        for name, b in bases.items():
            body = wait_status(b + "/readyz", 503, 15)
            assert body.startswith("unready: "), (name, body)
            st, body = get(b + "/healthz")
            assert (st, body) == (200, "ok\n"), (name, st, body)
        # intake's own health op agrees: the database is down
        r = h.call("health", timeout=10)
        assert r.get("ok") and r["result"]["database"] != "ok", r
    finally:
        h.stack("pg-start")
    for name, b in bases.items():
        assert wait_status(b + "/readyz", 200, 30) == "ready\n", name


def instances(h, service):
    return {k: v for k, v in h.status().items() if k == service or k.startswith(service + ".")}


def test_up_remembers_its_settings(h):
    drop = ("AID_REPLICAS", "AID_EXTERNAL_DEPARTMENTS")
    p = h.stack("up", env={"AID_REPLICAS": "intake:2", "AID_EXTERNAL_DEPARTMENTS": "housing"},
                drop=())
    first = p.stderr
    try:
        intakes = instances(h, "intake")
        assert intakes.get("intake.1") and intakes.get("intake.2"), (intakes, p.stdout)
        assert not any(instances(h, "housing").values()), p.stdout

        # the services die (a crash, a reboot); `up` alone brings the same layout back
        h.stack("kill-service", "intake")
        h.stack("kill-service", "civil")
        p = h.stack("up", drop=drop)
        intakes = instances(h, "intake")
        assert intakes.get("intake.1") and intakes.get("intake.2"), (intakes, p.stdout)
        assert "intake" not in intakes, intakes
        housing_line = [ln for ln in p.stdout.splitlines() if ln.startswith("housing")]
        assert housing_line and "external" in housing_line[0], p.stdout
        assert instances(h, "civil").get("civil"), p.stdout
        # and it says so (the first up said what it changed)
        with open(os.path.join(h.VAR, "settings.env"), encoding="utf-8") as f:
            kept = f.read()
        assert "AID_REPLICAS=intake:2\n" in kept and "AID_EXTERNAL_DEPARTMENTS=housing\n" in kept, kept
        assert "changing AID_REPLICAS: '' -> 'intake:2'" in first, first
        assert "using the settings of the last up" in p.stderr, p.stderr
        assert "AID_REPLICAS=intake:2" in p.stderr, p.stderr
        assert "AID_EXTERNAL_DEPARTMENTS=housing" in p.stderr, p.stderr
    finally:
        # the change back is explicit, and printed as one
        p = h.stack("up", env={"AID_REPLICAS": "", "AID_EXTERNAL_DEPARTMENTS": ""}, drop=())
    assert "changing AID_REPLICAS: 'intake:2' -> ''" in p.stderr, p.stderr
    assert "changing AID_EXTERNAL_DEPARTMENTS: 'housing' -> ''" in p.stderr, p.stderr
    assert instances(h, "intake").get("intake"), p.stdout
    assert instances(h, "housing").get("housing"), p.stdout
    h.wait_health("ok", 30)


def group_members(pgid):
    """Live (non-zombie) processes of process group pgid: {pid: comm}."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, encoding="utf-8", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out[int(d)] = comm
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8", errors="replace") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def test_run_ctrl_c_leaves_no_process(h, tmp_path):
    var = h.VAR.rstrip("/") + "-run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AID_")}
    # ports of its own, next to the test stack's (AID_* ports of the run, or the defaults)
    for key, default in (("PG", 25532), ("REDIS", 26479), ("INTAKE", 5701),
                         ("BUS_SUB", 5702), ("BUS_PUB", 5703), ("GATEWAY", 18080)):
        env["AID_%s_PORT" % key] = str(int(os.environ.get("AID_%s_PORT" % key, default)) + 60)
    env["AID_METRICS_PORT"] = str(int(os.environ.get("AID_METRICS_PORT", 9601)) + 60)
    env["AID_INTAKE_REPLICA_PORT"] = str(int(os.environ.get("AID_INTAKE_REPLICA_PORT", 5631)) + 60)
    samples = tmp_path / "samples"
    samples.mkdir()
    first = sorted(f for f in os.listdir(os.path.join(h.ROOT, "ops", "samples")) if f.endswith(".json"))[0]
    shutil.copy(os.path.join(h.ROOT, "ops", "samples", first), samples / first)
    env.update({"AID_VAR": var, "AID_SAMPLES": str(samples), "AID_SWEEP_MS": "300"})
    subprocess.run([h.STACK_SH, "down"], cwd=h.ROOT, env=env, capture_output=True, timeout=120)
    shutil.rmtree(var, ignore_errors=True)
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        run = subprocess.Popen([os.path.join(h.ROOT, "ops", "run.sh")], cwd=h.ROOT, env=env,
                               stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    pgid = run.pid
    service_pids = []
    try:
        deadline = time.monotonic() + 240
        while "Press Ctrl-C" not in log.read_text(errors="replace"):
            assert run.poll() is None, "ops/run.sh ended early:\n" + log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "ops/run.sh does not serve:\n" + log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        st = subprocess.run([h.STACK_SH, "status"], cwd=h.ROOT, env=env, capture_output=True,
                            text=True, timeout=60).stdout
        service_pids = [int(ln.split()[1]) for ln in st.splitlines()
                        if len(ln.split()) >= 3 and ln.split()[2] == "running"]
        assert len(service_pids) >= 5, st
        os.killpg(pgid, signal.SIGINT)  # what Ctrl-C in a terminal does
        run.wait(timeout=120)
        deadline = time.monotonic() + 10
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = group_members(pgid)
        assert not left, "left behind by ops/run.sh after Ctrl-C: %r" % left
        still = [p for p in service_pids if alive(p)]
        assert not still, "services still running after Ctrl-C: %r\n%s" % (still, log.read_text())
    finally:
        if run.poll() is None:
            os.killpg(pgid, signal.SIGKILL)
            run.wait(10)
        for pid in group_members(pgid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        subprocess.run([h.STACK_SH, "down"], cwd=h.ROOT, env=env, capture_output=True, timeout=120)
