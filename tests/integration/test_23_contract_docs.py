"""test_23_contract_docs.py — the integrator's contract as the repository
documents it, checked against the live stack.

- proto/README.md §11 lists every operation intake serves with its required
  fields: every operation of proto/envelope.c is in the table, and for each
  required field a valid body without it is refused `invalid_field` naming
  exactly that field (table-driven from the document itself, so the table
  and the code cannot drift apart).
- decision.submit: `rules` may be left out of a denial or a referral; every
  error names the field at fault (a denial carrying measures is a `measures`
  error, with or without rules); a grant still cites its rules.
- The external-handler example of proto/DEPARTMENTS.md runs as written: the
  code block is cut out of the document and run against a private stack
  with housing external; it decides the pending housing referrals.
- The repository stands alone: no file names a path outside it, and every
  rule id the services use is in docs/policy.md.
"""
import copy
import os
import re
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------- the table of §11

def doc_table():
    """[(op, variant, [required field paths])] from proto/README.md §11."""
    text = read("proto/README.md")
    sec = text.split("## 11.", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in sec.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        op = re.match(r"`([a-z.]+)`", cells[0]).group(1)
        m = re.search(r"\(`(\w+)` ([\w ,]+?)\)", cells[0])
        variant = m.group(2).replace(",", " ").split()[0] if m else ""
        req = []
        for item in cells[2].split(", "):
            names = re.findall(r"`([^`]+)`", item)
            if names:
                req.append(names[0])  # "`a` or `b`": the error names the first
        rows.append((op, variant, req))
    return rows


def served_ops():
    src = read("proto/envelope.c")
    table = src.split("proto_ops[] = {", 1)[1].split("};", 1)[0]
    return sorted(set(re.findall(r'"([a-z]+\.[a-z]+|health)"', table)))


def test_every_operation_is_in_the_table():
    documented = sorted({op for op, _, _ in doc_table()})
    assert documented == served_ops()


def plaintext_only():
    """decision.submit's checks after the referral's lookup need a client that may act
    for housing: every client in plain text, only a housing key in secure mode
    (test_95_secure checks that boundary)."""
    if os.environ.get("AID_SECURE"):
        pytest.skip("needs a housing client key in secure mode (make integration runs it)")


def remove(body, path):
    """body without the key at path ("a.b[0].c")."""
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    node = body
    for p in parts[:-1]:
        node = node[int(p[1:-1])] if p.startswith("[") else node[p]
    del node[parts[-1]]
    return body


@pytest.fixture(scope="module")
def bodies(h):
    """A valid body for every row of the table (the live stack's data)."""
    person = h.member(birth="1950-01-01")
    rep = h.submit_ok(h.report([person], status={"dibao": "full"}, housing="renting"))
    case = h.wait_complete(rep["case_id"], timeout=60)
    [housing] = [f for f in case["referrals"] if f["department"] == "housing"]
    pid = person["id_number"]
    return {
        ("report.submit", ""): h.report([h.member()]),
        ("case.get", ""): {"case_id": rep["case_id"]},
        ("case.area", ""): {"case_id": rep["case_id"]},
        ("health", ""): {},
        ("trigger.submit", "disaster"): {"kind": "disaster", "areas": ["520123999"],
                                         "hazard": "flood"},
        ("trigger.submit", "medical_expense"): {"kind": "medical_expense", "id_number": pid,
                                                "expense_fen": 100, "months": 1},
        ("trigger.submit", "unemployment"): {"kind": "unemployment", "id_number": pid},
        ("trigger.submit", "disability"): {"kind": "disability", "id_number": pid,
                                           "disability_grade": 1, "disability_kind": "physical"},
        ("trigger.submit", "death"): {"kind": "death", "id_number": h.new_id()},
        ("trigger.batch", ""): {"triggers": [{"kind": "death", "id_number": h.new_id()}]},
        ("triggers.list", ""): {},
        ("trigger.get", ""): {"trigger_id": "trigger-1"},
        ("referrals.pending", ""): {"department": "housing"},
        ("decision.submit", "granted"): {
            "referral_id": housing["referral_id"], "status": "granted",
            "measures": [{"code": "housing.public_rental_or_subsidy"}], "rules": ["R-HOUSE-S"]},
        ("decision.submit", "denied"): {"referral_id": housing["referral_id"],
                                        "status": "denied", "reason": "no need"},
        ("visits.due", ""): {"township": "520123101"},
        ("visit.record", ""): {"id_number": pid, "visited_on": "2026-11-02", "visitor": "李"},
        ("caregiver.score", ""): {"id_number": pid, "month": "2026-11", "caregiver": "赵",
                                  "score": 80},
        ("ledger.monthly", ""): {"month": "2026-11"},
        ("ledger.submit", ""): {"month": "2026-11", "township": "520123998", "by": "x"},
        ("disclosure.list", ""): {"village": "520123101001", "month": "2026-11"},
        ("complaint.submit", ""): {"channel": "hotline", "text": "x"},
        ("complaint.get", ""): {"tracking_no": "TS202611-000001"},
        ("complaint.update", ""): {"tracking_no": "TS202611-000001", "status": "investigating",
                                   "by": "x"},
        ("referrals.overdue", ""): {},
        ("move.queue", ""): {},
        ("move.decide", ""): {"move_id": "move-999999", "decision": "reject", "by": "x"},
        ("entitlements.list", ""): {"case_id": rep["case_id"]},
        ("payee.set", ""): {"case_id": rep["case_id"], "holder_id_number": pid, "bank": "x",
                            "account": "123456"},
        ("payroll.run", ""): {"month": "2020-01", "township": "520123997", "by": "x"},
        ("payroll.approve", ""): {"run_id": 999999999, "by": "y"},
        ("payroll.get", ""): {"run_id": 999999999},
        ("payroll.file", ""): {"run_id": 999999999},
        ("payroll.reconcile", ""): {"run_id": 999999999, "by": "x",
                                    "returns": [{"line_id": 1, "status": "paid"}]},
        ("entitlement.exit", ""): {"case_id": "case-999999999", "reason": "other",
                                   "month": "2026-11", "by": "x"},
        ("entitlement.suspend", ""): {"entitlement_id": 999999999, "from_month": "2026-11",
                                      "reason": "住院", "by": "x"},
        ("entitlement.resume", ""): {"entitlement_id": 999999999, "month": "2026-12",
                                     "by": "x"},
        ("recheck.due", ""): {"month": "2026-11"},
        ("case.merge", ""): {"into": "case-999999998", "from": "case-999999999", "by": "x",
                             "reason": "y"},
        ("review.queue", ""): {},
        ("review.step", ""): {"referral_id": "referral-999999", "action": "confirm", "by": "x"},
        ("review.draw", ""): {"township": "520123998", "month": "2026-11", "by": "x"},
        ("calendar.set", ""): {"days": [{"day": "2030-01-01", "kind": "normal"}], "by": "x"},
        ("calendar.get", ""): {"from": "2026-11-01", "to": "2026-11-30"},
        ("case.search", ""): {},
        ("recheck.open", ""): {"case_id": "case-999999999", "by": "x"},
    }


def test_the_table_has_a_body_for_every_row(bodies):
    assert sorted((op, v) for op, v, _ in doc_table()) == sorted(bodies)


CASES = [(op, v, f) for op, v, req in doc_table() for f in req]


@pytest.mark.parametrize("op,variant,field", CASES,
                         ids=["%s%s-%s" % (op, "(%s)" % v if v else "", f) for op, v, f in CASES])
def test_a_missing_required_field_is_named(h, bodies, op, variant, field):
    if op == "decision.submit" and field != "referral_id":
        plaintext_only()
    body = remove(copy.deepcopy(bodies[(op, variant)]), field)
    r = h.call(op, body, h.rid("miss"), timeout=20)
    assert r["ok"] is False, (op, field, r)
    assert r["error"]["code"] == "invalid_field" and r["error"]["field"] == field, (op, field, r)


@pytest.mark.parametrize("key", sorted(["%s|%s" % k for k in [
    ("report.submit", ""), ("case.get", ""), ("trigger.submit", "disaster"),
    ("referrals.pending", ""), ("decision.submit", "granted"), ("decision.submit", "denied"),
    ("visits.due", ""), ("ledger.monthly", ""), ("complaint.get", ""), ("trigger.get", "")]]))
def test_the_whole_body_passes_validation(h, bodies, key):
    """The bodies above are valid: what the previous test removed caused the error."""
    op, variant = key.split("|")
    r = h.call(op, bodies[(op, variant)], h.rid("whole"), timeout=20)
    assert r["ok"] or r["error"]["code"] != "invalid_field", (op, r)


# ---------------------------------------------------------------- decision.submit

def test_decision_rules_optional_for_denials_and_errors_name_their_field(h, bodies):
    plaintext_only()
    d = bodies[("decision.submit", "denied")]
    rid = d["referral_id"]
    # a denial carrying measures, without rules: the measures are wrong
    r = h.call("decision.submit", dict(d, measures=[{"code": "housing.rent_free"}]),
               h.rid("dm"))
    assert r["error"]["code"] == "invalid_field" and r["error"]["field"] == "measures", r
    # a denial or a referral without rules passes validation; this referral was
    # decided by the built-in department, so the answer is the conflict
    for status in ("denied", "referred"):
        r = h.call("decision.submit", dict(d, status=status), h.rid("dn"))
        assert r["error"]["code"] == "conflict" and r["error"]["field"] == "referral_id", r
    # a grant without rules is refused on rules
    g = dict(bodies[("decision.submit", "granted")])
    del g["rules"]
    r = h.call("decision.submit", g, h.rid("gr"))
    assert r["error"]["field"] == "rules", r
    assert h.psql("SELECT count(*) FROM decisions WHERE referral_id = %d" % h.num(rid)) == [["1"]]


# ---------------------------------------------------------------- the handler example

def doc_example():
    """The Python code block under "### A handler in 60 lines" of DEPARTMENTS.md."""
    text = read("proto/DEPARTMENTS.md")
    sec = text.split("### A handler in 60 lines", 1)[1]
    return re.search(r"```python\n(.*?)```", sec, re.S).group(1)


def test_the_example_compiles():
    compile(doc_example(), "DEPARTMENTS.md", "exec")


@pytest.fixture(scope="module")
def ext(h):
    if os.environ.get("AID_SECURE"):
        pytest.skip("the example is the plaintext one; secure handlers: "
                    "tests/interop/housing_handler.py (test_22)")
    sys.path.insert(0, HERE)
    from test_22_external import Ext  # the same outside stack test_22 uses
    import shutil
    e = Ext(h)
    e.var = h.VAR.rstrip("/") + "-doc"
    e.env["AID_VAR"] = e.var
    e.stack("down", check=False)
    shutil.rmtree(e.var, ignore_errors=True)
    try:
        e.up()
        yield e
    finally:
        if getattr(e, "client", None):
            e.client.close()
        e.stack("down", check=False)


def test_the_departments_example_runs_as_written(h, ext, tmp_path):
    reps = [ext.submit(h.report([h.member(birth="1950-01-01")], status={"dibao": "full"},
                                housing="renting")),
            ext.submit(h.report([h.member(birth="1980-01-01", monthly_income_fen=900000)],
                                housing="renting",
                                circumstances=[{"kind": "illness", "expense_fen": 500000}])),
            ext.submit(h.report([h.member(birth="1952-01-01")], status={"dibao": "partial"},
                                housing="owned", circumstances=[{"kind": "housing_loss"}]))]
    script = tmp_path / "handler.py"
    script.write_text(doc_example(), encoding="utf-8")
    log = open(tmp_path / "handler.log", "wb")
    p = subprocess.Popen(["/usr/bin/python3", str(script)], cwd=str(tmp_path), env=ext.env,
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        cases = [ext.wait_complete(r["case_id"], timeout=90) for r in reps]
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
        log.close()
    out = (tmp_path / "handler.log").read_text(errors="replace")
    want = [("granted", ["R-HOUSE-S", "R-HOUSE-FREE"]), ("granted", ["R-HOUSE-M"]),
            ("granted", ["R-HOUSE-S"])]
    for rep, case, (status, rules) in zip(reps, cases, want):
        [f] = [x for x in case["referrals"]
               if x["department"] == "housing" and x["report_id"] == rep["report_id"]]
        assert f["status"] == status and f["rules"] == rules, (f, out)
    decided_by = ext.psql("SELECT DISTINCT decided_by FROM decisions d JOIN referrals f"
                          " USING (referral_id) WHERE f.department = 'housing'")
    assert decided_by == [["external:housing"]], decided_by
    assert "referral-" in out, out


# ---------------------------------------------------------------- the repository stands alone

def git_grep(*args):
    p = subprocess.run(["git", "grep", "-n", "-I"] + list(args), cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode in (0, 1), p.stderr
    return p.stdout.splitlines()


def test_no_file_names_a_path_outside_the_repository():
    hits = git_grep("-E", r"\.\./shared|/wor[k]/", "--", ".")  # [k]: not this line
    assert hits == [], "\n".join(hits[:20])


def test_every_rule_id_the_services_use_is_in_docs_policy():
    used = set()
    for line in git_grep("-h", "-o", "-E", r"\"R-[A-Z0-9]+(-[A-Z0-9]+)*\"", "--",
                         "services", "proto", "common"):
        used.add(line.split(":", 1)[-1].strip('"'))
    assert len(used) > 40, used
    doc = read("docs/policy.md")
    defined = set(re.findall(r"^\| `(R-[A-Z0-9-]+)` \|", doc, re.M))
    assert not used - defined, sorted(used - defined)
