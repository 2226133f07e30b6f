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
import base64
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest



def service_roles():
    """The database roles of the services, as ops/stack.sh lists them (PG_ROLES):
    the image's init and migrate scripts must make the same ones."""
    src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "ops", "stack.sh")).read()
    return re.search(r"^PG_ROLES=\(([^)]*)\)", src, re.M).group(1).split()

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
        # SIGINT as a terminal's foreground job has it: a suite started in the
        # background of a shell inherits it ignored, and bash cannot trap a signal
        # ignored on entry (the Ctrl-C would never reach run.sh's trap)
        run = subprocess.Popen([os.path.join(h.ROOT, "ops", "run.sh")], cwd=h.ROOT, env=env,
                               stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
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


# ---------------------------------------------------------------- the image's scripts

def test_image_healthcheck_probes_the_services_own_port(h):
    script = os.path.join(h.ROOT, "ops", "container", "healthcheck.sh")
    bare = {k: v for k, v in os.environ.items() if not k.startswith("AID_")}

    def run(env, *args):
        return subprocess.run([script] + list(args), env=dict(bare, **env), capture_output=True,
                              text=True, timeout=20).returncode

    metrics = os.environ["AID_METRICS_INTAKE"].split(",")[0].rpartition(":")[2]
    gw = os.environ["AID_GATEWAY_URL"]
    assert run({"AID_METRICS_PORT": metrics}) == 0
    assert run({"AID_METRICS_PORT": metrics}, "ready") == 0
    assert run({"AID_METRICS_PORT": "0", "AID_GATEWAY_URL": gw}) == 0
    bus = os.environ["AID_BUS_SUB"].rpartition(":")[2]
    assert run({"AID_METRICS_PORT": "0", "AID_BUS_SUB_BIND": "tcp://*:" + bus}) == 0
    # nothing listening there: unhealthy, quickly
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = str(s.getsockname()[1])
    assert run({"AID_METRICS_PORT": free}) == 1
    assert run({}) == 1


def test_image_init_makes_secrets_once(h, tmp_path):
    env = dict(os.environ, AID_SECRETS=str(tmp_path / "secrets"), AID_PGOWNER=str(tmp_path / "pgowner"),
               AIDCTL=os.path.join(h.ROOT, "bin", "aidctl"))
    init = os.path.join(h.ROOT, "ops", "container", "init-secrets.sh")
    p = subprocess.run([init], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    files = {}
    for d, _, names in os.walk(tmp_path):
        for n in names:
            path = os.path.join(d, n)
            files[os.path.relpath(path, tmp_path)] = open(path, encoding="utf-8").read()
            if not n.endswith(".pub"):
                assert os.stat(path).st_mode & 0o077 == 0, path
    for n in ("intake", "bus", "service", "client"):
        assert len(files["secrets/keys/%s.key" % n].split()[0]) == 40, n
    assert re.fullmatch(r"[0-9a-f]{64}\n", files["secrets/pii.key"])
    assert files["secrets/keys/service.pub"].split()[0] + " county-services" in files["secrets/keys/allowed_keys"]
    assert files["secrets/keys/service.pub"].split()[0] + " county-services" in files["secrets/keys/bus_allowed_keys"]
    assert files["secrets/keys/client.pub"].split()[0] not in files["secrets/keys/bus_allowed_keys"]
    roles = [k for k in files if k.startswith("secrets/pgpass/")]
    assert sorted(r.rpartition("/")[2] for r in roles) == sorted(service_roles()), roles
    pw = files["pgowner/password"].strip()
    assert files["pgowner/pgpass"] == "*:*:*:postgres:%s\n" % pw
    assert files["pgowner/owner.env"] == "PGPASSWORD=%s\n" % pw
    # again: nothing made anew, nothing replaced
    p = subprocess.run([init], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "made" not in p.stdout, p.stdout
    for rel, text in files.items():
        assert open(tmp_path / rel, encoding="utf-8").read() == text, rel


class FakeSecretsAPI(http.server.BaseHTTPRequestHandler):
    """The few Kubernetes API calls ops/container/migrate.sh makes (Secrets of one
    namespace: GET ?pretty=true, merge PATCH of stringData, POST), checked."""
    secrets, calls, token = {}, [], "test-token"

    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj, indent=2).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        path = self.path.split("?")[0]
        self.calls.append((self.command, path))
        if self.headers.get("Authorization") != "Bearer " + self.token:
            return self.reply(401, {"kind": "Status", "code": 401})
        prefix = "/api/v1/namespaces/aid/secrets"
        assert path.startswith(prefix), path
        name = path[len(prefix):].lstrip("/")
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.command == "GET":
            if name not in self.secrets:
                return self.reply(404, {"kind": "Status", "code": 404})
            data = {k: base64.b64encode(v.encode()).decode() for k, v in self.secrets[name].items()}
            return self.reply(200, {"kind": "Secret", "metadata": {"name": name, "namespace": "aid"},
                                    "data": data, "type": "Opaque"})
        if self.command == "PATCH":
            assert self.headers["Content-Type"] == "application/merge-patch+json"
            if name not in self.secrets:
                return self.reply(404, {"kind": "Status", "code": 404})
            self.secrets[name].update(body["stringData"])
            return self.reply(200, {"kind": "Secret"})
        if self.command == "POST":
            assert name == "" and body["kind"] == "Secret", (name, body)
            self.secrets[body["metadata"]["name"]] = dict(body["stringData"])
            return self.reply(201, {"kind": "Secret"})
        return self.reply(405, {})

    do_GET = do_PATCH = do_POST = handle_any


def pg_port():
    return re.search(r"port=(\d+)", h_dsn()).group(1)


def h_dsn():
    return os.environ["AID_PG_DSN"]


def run_migrate(h, env, timeout=300):
    base = {k: v for k, v in os.environ.items() if not k.startswith("AID_") and not k.startswith("PG")}
    base.update({"PGHOST": "127.0.0.1", "PGPORT": pg_port(), "PGUSER": "postgres",
                 "PGPASSFILE": os.path.join(h.VAR, "pgpass", "postgres"),
                 "AID_MIGRATIONS": os.path.join(h.ROOT, "ops", "migrations"),
                 "AID_SQL": os.path.join(h.ROOT, "ops", "sql"),
                 "AIDCTL": os.path.join(h.ROOT, "bin", "aidctl")})
    base.update(env)
    return subprocess.run([os.path.join(h.ROOT, "ops", "container", "migrate.sh")], env=base,
                          capture_output=True, text=True, timeout=timeout)


def role_login_ok(role, password, db):
    p = subprocess.run(["psql", "-X", "-tA", "-h", "127.0.0.1", "-p", pg_port(), "-U", role, "-d", db,
                        "-c", "SELECT current_user"],
                       env=dict(os.environ, PGPASSWORD=password, PGPASSFILE="/dev/null"),
                       capture_output=True, text=True, timeout=30)
    return p.returncode == 0 and p.stdout.strip() == role


@pytest.mark.no_c
def test_image_migrate_compose_and_kubernetes(h, tmp_path):
    """ops/container/migrate.sh on fresh databases of the test cluster: compose
    mode (role passwords from files: the stack's own, so nothing changes for the
    running services) and Kubernetes mode against a fake API: the Job generates
    the roles' passwords into Secret aid-db-roles, the roles log in with them,
    a second run keeps them; then the stack's passwords are given back."""
    n = len([f for f in os.listdir(os.path.join(h.ROOT, "ops", "migrations")) if f.endswith(".sql")])
    nf = len([f for f in os.listdir(os.path.join(h.ROOT, "ops", "sql")) if f.endswith(".sql")])
    pgpass = os.path.join(h.VAR, "pgpass")
    dbs = ["aid_deploy_c_" + h.RUN, "aid_deploy_k_" + h.RUN]
    for db in dbs:
        h.psql("CREATE DATABASE " + db)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeSecretsAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # compose: the roles' password files are the stack's
        p = run_migrate(h, {"PGDATABASE": dbs[0], "AID_ROLE_PASSWORDS": pgpass,
                            "AID_ADMIN_PASSWORD_FILE": str(tmp_path / "admin.password")})
        assert p.returncode == 0, p.stdout + p.stderr
        assert "migrations up to date (%d applied now)" % n in p.stdout, p.stdout
        assert "functions: %d of %d files applied" % (nf, nf) in p.stdout, p.stdout
        admin_pw = (tmp_path / "admin.password").read_text().strip()
        assert len(admin_pw) >= 20 and "web console account admin" in p.stdout
        p2 = run_migrate(h, {"PGDATABASE": dbs[0], "AID_ROLE_PASSWORDS": pgpass,
                             "AID_ADMIN_PASSWORD_FILE": str(tmp_path / "admin.password")})
        assert p2.returncode == 0 and "(0 applied now)" in p2.stdout, p2.stdout + p2.stderr
        # unchanged files are not applied again (no locks while the services run)
        assert "functions: 0 of %d files applied" % nf in p2.stdout, p2.stdout
        assert "web console account" not in p2.stdout, p2.stdout

        # Kubernetes: a fake API; nothing in it yet
        sa = tmp_path / "sa"
        sa.mkdir()
        (sa / "token").write_text(FakeSecretsAPI.token)
        (sa / "namespace").write_text("aid")
        kenv = {"PGDATABASE": dbs[1], "AID_ROLES_SECRET": "aid-db-roles", "AID_ADMIN_SECRET": "aid-console-admin",
                "AID_K8S_API": "http://127.0.0.1:%d" % server.server_port, "AID_K8S_SA": str(sa)}
        p = run_migrate(h, kenv)
        assert p.returncode == 0, p.stdout + p.stderr
        made = dict(FakeSecretsAPI.secrets["aid-db-roles"])
        assert sorted(made) == sorted(service_roles()) and all(re.fullmatch(r"[A-Za-z0-9_-]{24}", v) for v in made.values()), made.keys()
        assert ("POST", "/api/v1/namespaces/aid/secrets") in FakeSecretsAPI.calls
        assert role_login_ok("aid_intake", made["aid_intake"], dbs[1])
        assert role_login_ok("aid_care", made["aid_care"], dbs[1])
        assert FakeSecretsAPI.secrets["aid-console-admin"]["AID_ADMIN_PASSWORD"]
        # a second run (next release) keeps every password and writes nothing
        FakeSecretsAPI.calls.clear()
        p = run_migrate(h, kenv)
        assert p.returncode == 0, p.stdout + p.stderr
        assert FakeSecretsAPI.secrets["aid-db-roles"] == made
        assert [c for c in FakeSecretsAPI.calls if c[0] != "GET"] == [], FakeSecretsAPI.calls
        # one key lost from the Secret: only it is made anew (a PATCH), the rest kept
        del FakeSecretsAPI.secrets["aid-db-roles"]["aid_social"]
        p = run_migrate(h, kenv)
        assert p.returncode == 0, p.stdout + p.stderr
        after = FakeSecretsAPI.secrets["aid-db-roles"]
        assert after["aid_social"] != made["aid_social"] and role_login_ok("aid_social", after["aid_social"], dbs[1])
        assert {k: v for k, v in after.items() if k != "aid_social"} == {k: v for k, v in made.items() if k != "aid_social"}
        # a wrong token: the Job fails, saying why
        (sa / "token").write_text("wrong")
        p = run_migrate(h, kenv)
        assert p.returncode != 0 and "HTTP 401" in p.stderr, p.stdout + p.stderr
    finally:
        server.shutdown()
        # the running stack's own role passwords back
        p = run_migrate(h, {"PGDATABASE": dbs[0], "AID_ROLE_PASSWORDS": pgpass,
                            "AID_ADMIN_PASSWORD_FILE": str(tmp_path / "admin.password")})
        assert p.returncode == 0, p.stdout + p.stderr
        for db in dbs:
            h.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
    role_pw = open(os.path.join(pgpass, "aid_intake"), encoding="utf-8").read().strip().rpartition(":")[2]
    assert role_login_ok("aid_intake", role_pw, "aid")
    h.wait_health("ok", 30)
