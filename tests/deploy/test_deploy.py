"""test_deploy.py — what ships for a deployment holds together (no cluster, no
Docker engine needed; seconds).

- ops/Dockerfile: multi-stage, a numeric non-root USER, the web console's pages
  and the container scripts in /app, a HEALTHCHECK, every library the Makefile
  links against installed in the build stage, mount points owned by the user.
- docker-compose.yml: `docker-compose config -q` passes with no environment;
  the config it renders has the gateway, secure mode on every service, the
  `init` service making the secrets before Postgres and `migrate`, one image,
  healthchecks, each service on its own Postgres role.
- ops/k8s: base is what gen_base.py writes; both overlays render (kubectl
  kustomize when installed, else the small renderer below, checked against
  kubectl where both exist) and every object is checked: numeric
  runAsUser/runAsGroup/fsGroup with runAsNonRoot, /readyz readiness and
  /healthz liveness, resources on every container, the one image, a PDB per
  Deployment, NetworkPolicies exposing only intake and the gateway, the HPA on
  a Pods metric, every Secret referenced made by the overlay, the migrate Job
  or cert-manager, every ConfigMap key referenced present; the overlays differ
  in replicas, resources and hostnames; every rendered object is valid against
  the Kubernetes API's schema (tests/deploy/schema: npm kubernetes-models, ajv,
  offline once installed).
"""
import copy
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
K8S = os.path.join(ROOT, "ops", "k8s")
OVERLAYS = ("county", "province")
DEPARTMENTS = ("civil", "tempaid", "medical", "education", "housing", "employment",
               "relief", "social", "care")
SERVICES = ("bus", "intake", "eligibility", "triggers", "supervision", "decisions", "benefits", "casework", "gateway") + DEPARTMENTS
UID = 10001
JOB_SECRETS = {"aid-db-roles", "aid-console-admin"}   # made by ops/container/migrate.sh


def read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------- Dockerfile

def dockerfile_stages():
    """[(FROM line, [instructions])], continuation lines joined."""
    text = re.sub(r"\\\n", " ", read("ops", "Dockerfile"))
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append((line, []))
        else:
            assert stages, "instruction before FROM: " + line
            stages[-1][1].append(line)
    return stages


def test_dockerfile_one_image_multi_stage_numeric_user_www_healthcheck():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "multi-stage: a build stage and a runtime stage"
    build_from, build = stages[0]
    final_from, final = stages[-1]
    assert " AS build" in build_from, build_from
    build_text = "\n".join(build)
    # the build runs the Makefile and puts the pages, migrations, scripts into /app
    assert re.search(r"\bmake\b[^\n]*\ball\b", build_text), "the build stage runs make all"
    for src, dst in (("bin", "/app/bin"), ("ops/migrations", "/app/migrations"),
                     ("ops/sql", "/app/sql"),
                     ("services/gateway/www", "/app/services/gateway/www"),
                     ("ops/container", "/app/ops/container")):
        assert re.search(r"cp -a %s %s\b" % (re.escape(src), re.escape(dst)), build_text), (src, dst)
    # every library the Makefile links against has its -dev package in the build stage
    libs = set(re.findall(r"(?:^|\s)-l([a-z0-9]+)\b", read("Makefile"), re.M))
    dev = {"zmq": "libzmq3-dev", "hiredis": "libhiredis-dev", "msgpackc": "libmsgpack-dev",
           "pq": "libpq-dev", "microhttpd": "libmicrohttpd-dev", "sodium": "libsodium-dev",
           "jansson": "libjansson-dev", "pthread": None, "cmocka": None}
    for lib in sorted(libs):
        assert lib in dev, "Makefile links -l%s: which Debian package builds it?" % lib
        if dev[lib] and lib != "cmocka":
            assert dev[lib] in build_text, "build stage lacks %s (-l%s)" % (dev[lib], lib)
    # the runtime stage: /app from the build, a numeric non-root user, a HEALTHCHECK
    final_text = "\n".join(final)
    assert re.search(r"^COPY --from=build\b.* /app /app$", final_text, re.M), final_text
    users = [i.split(None, 1)[1] for i in final if i.upper().startswith("USER ")]
    assert users, "the runtime stage sets USER"
    m = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1].strip())
    assert m and int(m.group(1)) != 0, "USER must be a non-zero number (runAsNonRoot): %r" % users[-1]
    assert int(m.group(1)) == UID, users[-1]
    hc = [i for i in final if i.upper().startswith("HEALTHCHECK ")]
    assert hc and "CMD" in hc[-1], "the runtime stage has a HEALTHCHECK"
    script = re.search(r"(/app/ops/container/[a-z-]+\.sh)", hc[-1]).group(1)
    assert os.access(os.path.join(ROOT, script[len("/app/"):]), os.X_OK), script
    # compose's named volumes start as the image's mount points: owned by the user
    assert re.search(r"mkdir -p /secrets /pgowner", final_text), final_text
    assert re.search(r"chown %d:%d /secrets /pgowner" % (UID, UID), final_text), final_text
    # nothing of the machine's in the build context
    ignore = read(".dockerignore").split()
    for p in ("var/", "bin/", "build/", ".git", "ops/k8s/overlays/*/secrets/"):
        assert p in ignore, ".dockerignore lacks " + p


def test_image_scripts_parse():
    for s in ("healthcheck.sh", "init-secrets.sh", "migrate.sh"):
        p = subprocess.run(["bash", "-n", os.path.join(ROOT, "ops", "container", s)],
                           capture_output=True, text=True)
        assert p.returncode == 0, (s, p.stderr)
    p = subprocess.run(["bash", "-n", os.path.join(K8S, "make-secrets.sh")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


# ---------------------------------------------------------------- compose

def compose(*args):
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is not installed (make deps installs Debian's docker-compose)"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run([exe, "-f", os.path.join(ROOT, "docker-compose.yml")] + list(args),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_compose_config_passes_with_no_environment():
    p = compose("config", "-q")
    assert p.returncode == 0, p.stderr


def test_compose_gateway_secure_init_healthchecks():
    p = compose("config")
    assert p.returncode == 0, p.stderr
    svc = yaml.safe_load(p.stdout)["services"]
    ours = {n: s for n, s in svc.items()
            if n not in ("postgres", "redis") and "ha" not in s.get("profiles", [])}
    assert set(SERVICES) | {"init", "migrate"} == set(ours), sorted(ours)
    for n, s in ours.items():
        assert s["image"] == "aid:latest", (n, s.get("image"))
        assert s["build"]["dockerfile"] == "ops/Dockerfile", n
    # init makes the secrets before Postgres and migrate use them
    assert ours["init"]["command"] == ["/app/ops/container/init-secrets.sh"], ours["init"]
    assert svc["postgres"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert svc["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/pgowner/password"
    assert "POSTGRES_PASSWORD" not in svc["postgres"]["environment"]
    assert ours["migrate"]["command"] == ["/app/ops/container/migrate.sh"]
    assert ours["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert ours["migrate"]["environment"]["PGUSER"] == "postgres"
    for n in ("init", "migrate"):
        hc = ours[n]["healthcheck"]
        assert ours[n]["restart"] == "no" and (hc.get("disable") is True or hc.get("test") == ["NONE"]), n
    for n in ("postgres", "redis"):
        assert svc[n]["healthcheck"]["test"], n
    for n in SERVICES:
        s = ours[n]
        env = s["environment"]
        assert env["AID_SECURE"] == "1", (n, "secure mode by default")
        assert env["AID_SERVICE_SECRETKEY_FILE"].startswith("/secrets/keys/"), n
        hc = s.get("healthcheck", {})
        assert not hc.get("disable") and hc.get("test") != ["NONE"], n  # the image's HEALTHCHECK
        assert s["restart"] == "unless-stopped", n
        assert "secrets:/secrets:ro" in [v if isinstance(v, str) else "%s:%s:%s" % (
            v["source"], v["target"], "ro" if v.get("read_only") else "rw") for v in s["volumes"]], n
        deps = s.get("depends_on", {})
        if n == "bus":
            assert deps["init"]["condition"] == "service_completed_successfully", n
        else:
            assert deps["migrate"]["condition"] == "service_completed_successfully", n
            m = re.fullmatch(r"host=postgres port=5432 dbname=aid user=aid_(\w+) "
                             r"passfile=/secrets/pgpass/aid_(\w+) connect_timeout=3", env["AID_PG_DSN"])
            assert m and m.group(1) == m.group(2) == n, (n, env["AID_PG_DSN"])
        pii = "AID_PII_KEY_FILE" in env
        assert pii == (n not in ("bus", "gateway")), (n, "the PII key only where ID numbers are read")
    assert ours["intake"]["environment"]["AID_INTAKE_SECRETKEY_FILE"] == "/secrets/keys/intake.key"
    assert ours["bus"]["environment"]["AID_BUS_SECRETKEY_FILE"] == "/secrets/keys/bus.key"
    gw = ours["gateway"]
    assert gw["command"] == ["/app/bin/gateway"]
    assert gw["environment"]["AID_GATEWAY_URL"] == "http://0.0.0.0:8080"
    published = [p for p in gw["ports"]]
    assert any((isinstance(p, dict) and p["target"] == 8080 and p.get("host_ip") == "127.0.0.1")
               or (isinstance(p, str) and re.fullmatch(r"127\.0\.0\.1:\d+:8080(/tcp)?", p))
               for p in published), published
    # the roles init and migrate give passwords are the roles the services use
    roles = set(re.search(r"ROLES=\(([^)]*)\)", read("ops", "container", "migrate.sh")).group(1).split())
    assert {"aid_" + n for n in SERVICES if n != "bus"} <= roles, roles
    assert roles == set(re.search(r"ROLES=\(([^)]*)\)", read("ops", "container", "init-secrets.sh")).group(1).split())


# ---------------------------------------------------------------- kustomize

def test_k8s_base_is_what_the_generator_writes():
    p = subprocess.run(["/usr/bin/python3", os.path.join(K8S, "gen_base.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def load_yaml_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def smp(base, patch):
    """Strategic merge as kustomize does it for these manifests: maps merge, lists of
    maps with a `name` merge by name, anything else is replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = smp(base[k], v) if k in base else copy.deepcopy(v)
        return out
    if (isinstance(base, list) and isinstance(patch, list) and base and patch
            and all(isinstance(x, dict) and "name" in x for x in base + patch)):
        out = [copy.deepcopy(x) for x in base]
        for x in patch:
            for i, y in enumerate(out):
                if y["name"] == x["name"]:
                    out[i] = smp(y, x)
                    break
            else:
                out.append(copy.deepcopy(x))
        return out
    return copy.deepcopy(patch)


def render(dirpath):
    """A small kustomize: resources, namespace, images, replicas, patches (strategic
    merge, by the patch's kind and name), secretGenerator (files, envs), generatorOptions
    labels — the features ops/k8s uses."""
    k = load_yaml_docs(os.path.join(dirpath, "kustomization.yaml"))[0]
    objs = []
    for r in k.get("resources", []):
        p = os.path.join(dirpath, r)
        objs += render(p) if os.path.isdir(p) else load_yaml_docs(p)
    for g in k.get("secretGenerator", []):
        data = {}
        for f in g.get("files", []):
            key, _, src = f.partition("=") if "=" in f else (os.path.basename(f), "", f)
            with open(os.path.join(dirpath, src), encoding="utf-8") as fh:
                data[key] = fh.read()
        for e in g.get("envs", []):
            with open(os.path.join(dirpath, e), encoding="utf-8") as fh:
                for line in fh:
                    if "=" in line and not line.startswith("#"):
                        key, _, v = line.rstrip("\n").partition("=")
                        data[key] = v
        meta = {"name": g["name"]}
        labels = (k.get("generatorOptions") or {}).get("labels")
        if labels:
            meta["labels"] = dict(labels)
        objs.append({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
                     "stringData": data})
    for p in k.get("patches", []):
        patch = load_yaml_docs(os.path.join(dirpath, p["path"]))[0]
        hits = [i for i, o in enumerate(objs) if o["kind"] == patch["kind"]
                and o["metadata"]["name"] == patch["metadata"]["name"]]
        assert len(hits) == 1, "patch %s matches %d objects" % (p["path"], len(hits))
        objs[hits[0]] = smp(objs[hits[0]], patch)
    for r in k.get("replicas", []):
        for o in objs:
            if o["kind"] == "Deployment" and o["metadata"]["name"] == r["name"]:
                o["spec"]["replicas"] = r["count"]
    for img in k.get("images", []):
        for o in objs:
            for c in pod_containers(o):
                name, _, tag = c["image"].partition(":")
                if name == img["name"]:
                    c["image"] = "%s:%s" % (img.get("newName", name), img.get("newTag", tag))
    if k.get("namespace"):
        for o in objs:
            if o["kind"] != "Namespace":
                o["metadata"]["namespace"] = k["namespace"]
    return objs


def pod_spec(o):
    if o["kind"] in ("Deployment", "Job"):
        return o["spec"]["template"]["spec"]
    return None


def pod_containers(o):
    s = pod_spec(o)
    return (s.get("initContainers", []) + s["containers"]) if s else []


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """{overlay: [objects]} with stand-in secret files where make-secrets.sh puts them."""
    tmp = tmp_path_factory.mktemp("k8s")
    shutil.copytree(K8S, tmp / "k8s", ignore=shutil.ignore_patterns("secrets"))
    out = {}
    for o in OVERLAYS:
        d = tmp / "k8s" / "overlays" / o
        k = load_yaml_docs(d / "kustomization.yaml")[0]
        for g in k.get("secretGenerator", []):
            for f in g.get("files", []) + g.get("envs", []):
                src = f.partition("=")[2] or f
                (d / src).parent.mkdir(parents=True, exist_ok=True)
                (d / src).write_text("PGPASSWORD=stand-in\n" if src.endswith(".env") else "stand-in\n")
        ours = render(str(d))
        kubectl = shutil.which("kubectl")
        if kubectl:
            p = subprocess.run([kubectl, "kustomize", str(d)], capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr
            theirs = [x for x in yaml.safe_load_all(p.stdout) if x]
            # the small renderer agrees with kustomize on every object's spec
            key = lambda x: (x["kind"], x["metadata"]["name"])
            assert sorted(map(key, ours)) == sorted(map(key, theirs))
            by = {key(x): x for x in theirs}
            for x in ours:
                if x["kind"] != "Secret":
                    assert yaml.safe_load(yaml.safe_dump(x.get("spec"))) == by[key(x)].get("spec"), key(x)
                    assert x["metadata"].get("namespace") == by[key(x)]["metadata"].get("namespace"), key(x)
            ours = theirs
        out[o] = ours
    return out


def by_kind(objs, kind):
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_pods_secure_probed_resourced_one_image(rendered, overlay):
    objs = rendered[overlay]
    deps = by_kind(objs, "Deployment")
    assert set(deps) == {"aid-" + s for s in SERVICES}, sorted(deps)
    jobs = by_kind(objs, "Job")
    assert set(jobs) == {"aid-migrate"}
    images = set()
    for o in list(deps.values()) + list(jobs.values()):
        name = o["metadata"]["name"]
        assert o["metadata"]["namespace"] == "aid", name
        spec = pod_spec(o)
        sc = spec["securityContext"]
        assert sc["runAsNonRoot"] is True, name
        for f in ("runAsUser", "runAsGroup", "fsGroup"):
            assert isinstance(sc.get(f), int) and sc[f] == UID, (name, f, sc.get(f))
        for c in pod_containers(o):
            images.add(c["image"])
            r = c.get("resources", {})
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(r.get(part, {})), (name, c["name"], part, r)
            csc = c.get("securityContext", {})
            assert csc.get("allowPrivilegeEscalation") is False, name
            assert "ALL" in csc.get("capabilities", {}).get("drop", []), name
            assert c["command"][0].startswith("/app/"), (name, c["command"])
            if o["kind"] == "Job":
                continue
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            svc = name[len("aid-"):]
            assert c["command"] == ["/app/bin/" + svc], name
            if svc == "bus":
                assert "tcpSocket" in c["readinessProbe"] and "tcpSocket" in c["livenessProbe"], name
                continue
            rp, lp = c["readinessProbe"]["httpGet"], c["livenessProbe"]["httpGet"]
            assert rp["path"] == "/readyz" and lp["path"] == "/healthz", (name, rp, lp)
            assert rp["port"] in ports and lp["port"] in ports, (name, ports)
            env = {e["name"]: e for e in c.get("env", [])}
            assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "aid-db-roles",
                                                                     "key": "aid_" + svc}, name
            assert "user=aid_%s " % svc in env["AID_PG_DSN"]["value"], name
    assert len(images) == 1, "one image for every pod: %s" % sorted(images)
    # the Job connects as the owner the schema belongs to (as compose and ops/stack.sh)
    jenv = {e["name"]: e for e in jobs["aid-migrate"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert jenv["PGUSER"]["value"] == "postgres"
    assert jenv["AID_ROLES_SECRET"]["value"] == "aid-db-roles"
    assert jenv["AID_ADMIN_SECRET"]["value"] == "aid-console-admin"
    sa = jobs["aid-migrate"]["spec"]["template"]["spec"]["serviceAccountName"]
    role = by_kind(objs, "Role")[sa]
    allowed = {}
    for rule in role["rules"]:
        assert rule["resources"] == ["secrets"], rule
        for v in rule["verbs"]:
            allowed.setdefault(v, set()).update(rule.get("resourceNames", ["*"]))
    assert allowed["create"] == {"*"} and JOB_SECRETS <= allowed["get"] and JOB_SECRETS <= allowed["patch"], allowed
    binding = [b for b in by_kind(objs, "RoleBinding").values() if b["roleRef"]["name"] == sa]
    assert binding and binding[0]["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": "aid"}]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_references_resolve(rendered, overlay):
    objs = rendered[overlay]
    secrets = {n: set((s.get("data") or {}).keys()) | set((s.get("stringData") or {}).keys())
               for n, s in by_kind(objs, "Secret").items()}
    configs = {n: set(c["data"]) for n, c in by_kind(objs, "ConfigMap").items()}
    tls_by_cert_manager = set()
    for ing in by_kind(objs, "Ingress").values():
        for t in ing["spec"].get("tls", []):
            assert "cert-manager.io/cluster-issuer" in ing["metadata"].get("annotations", {}), ing
            tls_by_cert_manager.add(t["secretName"])
    made = set(secrets) | JOB_SECRETS | tls_by_cert_manager

    def secret_ok(name, key=None):
        assert name in made, "%s: Secret %s is made by nobody" % (overlay, name)
        if key and name in secrets:
            assert key in secrets[name], (name, key)

    for o in objs:
        spec = pod_spec(o)
        if not spec:
            continue
        sa = spec.get("serviceAccountName")
        assert sa in by_kind(objs, "ServiceAccount"), (o["metadata"]["name"], sa)
        for v in spec.get("volumes", []):
            if "secret" in v:
                secret_ok(v["secret"]["secretName"])
        for c in pod_containers(o):
            env_names = set()
            for ef in c.get("envFrom", []):
                if "secretRef" in ef:
                    secret_ok(ef["secretRef"]["name"])
                if "configMapRef" in ef:
                    assert ef["configMapRef"]["name"] in configs
                    env_names |= configs[ef["configMapRef"]["name"]]
            for e in c.get("env", []):
                vf = e.get("valueFrom", {})
                if "secretKeyRef" in vf:
                    secret_ok(vf["secretKeyRef"]["name"], vf["secretKeyRef"]["key"])
                if "configMapKeyRef" in vf:
                    assert vf["configMapKeyRef"]["key"] in configs[vf["configMapKeyRef"]["name"]], e
                for ref in re.findall(r"\$\(([A-Z_]+)\)", e.get("value", "")):
                    assert ref in env_names, (o["metadata"]["name"], e["name"], ref)
                env_names.add(e["name"])
            # a key file a service is told to read is in the mounted Secret
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            vols = {v["name"]: v for v in spec.get("volumes", [])}
            cfg = {}
            for ef in c.get("envFrom", []):
                if "configMapRef" in ef:
                    cfg.update(by_kind(objs, "ConfigMap")[ef["configMapRef"]["name"]]["data"])
            cfg.update({e["name"]: e["value"] for e in c.get("env", []) if "value" in e})
            for k, v in cfg.items():
                if k.endswith("_FILE") or k.endswith("ALLOWED_KEYS"):
                    d, _, f = v.rpartition("/")
                    assert d in mounts, (o["metadata"]["name"], k, v)
                    sname = vols[mounts[d]]["secret"]["secretName"]
                    secret_ok(sname, f)
    # Services select pods that exist, on ports they name
    pods = {o["metadata"]["name"]: o for o in by_kind(objs, "Deployment").values()}
    for s in by_kind(objs, "Service").values():
        sel = s["spec"]["selector"]
        hits = [d for d in pods.values() if all(d["spec"]["template"]["metadata"]["labels"].get(k) == v
                                                 for k, v in sel.items())]
        assert hits, s["metadata"]["name"]
        for p in s["spec"]["ports"]:
            if isinstance(p["targetPort"], str):
                assert any(p["targetPort"] in {cp["name"] for c in pod_containers(d) for cp in c["ports"]}
                           for d in hits), (s["metadata"]["name"], p)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_pdb_networkpolicy_hpa_ingress(rendered, overlay):
    objs = rendered[overlay]
    deps = by_kind(objs, "Deployment")
    pdbs = by_kind(objs, "PodDisruptionBudget")
    covered = {p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for p in pdbs.values()}
    assert covered == {d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for d in deps.values()}
    for p in pdbs.values():
        assert p["apiVersion"] == "policy/v1" and "maxUnavailable" in p["spec"], p["metadata"]["name"]
    # NetworkPolicies: every pod of the system is under a policy with Ingress; a rule
    # open to everyone (no `from`) only for intake's and the gateway's own ports
    nps = by_kind(objs, "NetworkPolicy").values()
    default = [n for n in nps if n["spec"]["podSelector"].get("matchLabels") == {"app.kubernetes.io/part-of": "aid"}]
    assert default and "Ingress" in default[0]["spec"]["policyTypes"] and "Egress" in default[0]["spec"]["policyTypes"]
    public = {}
    for n in nps:
        for rule in n["spec"].get("ingress", []):
            sources = rule.get("from")
            open_to_all = not sources or any("ipBlock" in s or s.get("namespaceSelector") == {}
                                             for s in sources)
            if open_to_all:
                who = n["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
                public[who] = sorted(p["port"] for p in rule.get("ports", []))
    assert public == {"intake": [5601], "gateway": [8080]}, public
    # the HPA: intake on a Pods metric (its request rate), autoscaling/v2
    hpa = by_kind(objs, "HorizontalPodAutoscaler")["aid-intake"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "aid-intake"}
    m = hpa["spec"]["metrics"][0]
    assert m["type"] == "Pods" and m["pods"]["metric"]["name"] == "aid_requests_per_second", m
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert "replicas" not in deps["aid-intake"]["spec"], "the HPA owns intake's replicas"
    adapter = read("ops", "k8s", "prometheus-adapter.yaml")
    assert "aid_requests_total" in adapter and "aid_requests_per_second" in adapter
    # the web console: Service and Ingress to it
    ing = by_kind(objs, "Ingress")["aid-gateway"]
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "aid-gateway" and backend["name"] in by_kind(objs, "Service")
    assert ing["spec"]["rules"][0]["host"] in ing["spec"]["tls"][0]["hosts"]


def test_k8s_overlays_differ_in_replicas_resources_hosts(rendered):
    c, p = rendered["county"], rendered["province"]

    def summary(objs):
        d = by_kind(objs, "Deployment")
        return {
            "replicas": {n: x["spec"].get("replicas") for n, x in d.items()},
            "intake": d["aid-intake"]["spec"]["template"]["spec"]["containers"][0]["resources"],
            "host": by_kind(objs, "Ingress")["aid-gateway"]["spec"]["rules"][0]["host"],
            "hpa": (by_kind(objs, "HorizontalPodAutoscaler")["aid-intake"]["spec"]["minReplicas"],
                    by_kind(objs, "HorizontalPodAutoscaler")["aid-intake"]["spec"]["maxReplicas"]),
            "pg": by_kind(objs, "ConfigMap")["aid-config"]["data"]["AID_PG_HOST"],
        }
    sc, sp = summary(c), summary(p)
    for k in sc:
        assert sc[k] != sp[k], (k, sc[k])
    assert by_kind(c, "Service")["aid-intake"]["spec"]["type"] == "LoadBalancer"


@pytest.fixture(scope="module")
def schema_validator():
    """tests/deploy/schema: the Kubernetes OpenAPI schemas (npm kubernetes-models +
    ajv), installed by its deps.sh when missing; the schema tests skip, saying why,
    only where Node.js or the npm package cannot be installed."""
    d = os.path.join(os.path.dirname(__file__), "schema")
    p = subprocess.run([os.path.join(d, "deps.sh")], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        pytest.skip("Kubernetes schema check did not run: " + (p.stdout + p.stderr).strip()[-300:])
    return lambda objs: subprocess.run(["node", os.path.join(d, "validate.mjs")], input=json.dumps(objs),
                                       cwd=d, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_every_object_valid_against_the_api_schema(rendered, overlay, schema_validator):
    p = schema_validator(rendered[overlay])
    assert p.returncode == 0, p.stdout + p.stderr
    assert "schema: %d valid, 0 invalid" % len(rendered[overlay]) in p.stdout, p.stdout


def test_schema_validator_rejects_a_bad_object(schema_validator):
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
           "spec": {"replicas": "two", "selector": {}, "template": {"spec": {"containers": [
               {"name": "a", "image": "b", "securityContext": {"runAsUser": "aid"}}]}}}}
    p = schema_validator([bad])
    assert p.returncode == 1 and "runAsUser must be integer" in p.stdout, p.stdout


def test_compose_ha_profile_needs_no_setting():
    """The `ha` profile (etcd x3, two Patroni nodes, a Redis replica, three Sentinels)
    renders with no environment; its Postgres nodes take their passwords from the
    volume `init` fills, after `init` has run."""
    p = compose("--profile", "ha", "config")
    assert p.returncode == 0, p.stderr
    svc = yaml.safe_load(p.stdout)["services"]
    ha = {n for n, s in svc.items() if "ha" in s.get("profiles", [])}
    assert ha == {"etcd1", "etcd2", "etcd3", "patroni1", "patroni2", "redis-replica",
                  "sentinel1", "sentinel2", "sentinel3"}, sorted(ha)
    for n in ("patroni1", "patroni2"):
        s = svc[n]
        assert s["depends_on"]["init"]["condition"] == "service_completed_successfully", n
        vols = [v if isinstance(v, str) else "%s:%s" % (v["source"], v["target"]) for v in s["volumes"]]
        assert any(v.startswith("pgowner:/pgowner") for v in vols), (n, vols)
        assert not any("PASSWORD" in k for k in s.get("environment", {})), (n, "passwords from files")



def test_owners_reach_every_intake_pod():
    """The owners behind the front door connect to AID_INTAKE_API resolved to every
    address (common/owner.c): in Kubernetes a headless Service of the intake pods, so
    with several intake pods (the HPA) each has every owner."""
    docs = [d for f in ("intake.yaml", "workers.yaml")
            for d in load_yaml_docs(os.path.join(K8S, "base", f)) if d]
    svc = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    owners = svc["aid-intake-owners"]["spec"]
    assert owners["clusterIP"] == "None"
    assert owners["selector"] == {"app.kubernetes.io/name": "intake"}
    assert [p["port"] for p in owners["ports"]] == [5601]
    for d in docs:
        if d["kind"] != "Deployment":
            continue
        name = d["metadata"]["name"][len("aid-"):]
        env = {e["name"]: e.get("value") for e in d["spec"]["template"]["spec"]["containers"][0].get("env", [])}
        if name in ("triggers", "supervision", "decisions", "care"):
            assert env.get("AID_INTAKE_API") == "tcp://aid-intake-owners:5601", name
        else:
            assert "AID_INTAKE_API" not in env, name
