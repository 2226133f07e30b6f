"""test_99_logs.py — never full PII in a log (POLICY.md §13).

Runs last: no service log under $AID_VAR/log (postgres.log, initdb.log and
redis.log are not the services') contains any full ID number the tests used
— the ones the helpers generated plus every ID number the database holds —
nor any other 18-character string that is a valid ID number.
"""
import glob
import os
import re

SKIP = {"postgres.log", "initdb.log", "redis.log"}
ID_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def service_logs(h):
    out = {}
    for path in sorted(glob.glob(os.path.join(h.LOG_DIR, "*.log"))):
        if os.path.basename(path) in SKIP:
            continue
        with open(path, "rb") as f:
            out[os.path.basename(path)] = f.read().decode("utf-8", "replace")
    return out


def leak(logname, text, pos, secret, keep):
    """A line of the failure report: where secret was found, shown cut to its
    first keep characters (the report is printed, so it must not leak too)."""
    line = text[text.rfind("\n", 0, pos) + 1:text.find("\n", pos)]
    cut = secret[:keep] + "…"
    return "%s: %s: %s" % (logname, cut, line.replace(secret, cut)[:300])


def leaks_of(logs, secrets, keep):
    return [leak(name, text, text.find(x), x, keep)
            for name, text in logs.items() for x in secrets if x in text]


def test_no_full_id_number_in_service_logs(h):
    logs = service_logs(h)
    assert logs, "no service logs under %s" % h.LOG_DIR
    ids = set(h.USED_IDS)
    # every person stored (their ID numbers are sealed at rest: opened with the key)
    ids |= set(h.open_ids([r[0] for r in h.psql("select id_enc from case_members")]))
    assert ids
    variants = set()
    for i in ids:
        variants.add(i)
        if i.endswith("X"):
            variants.add(i[:-1] + "x")
    leaks = leaks_of(logs, variants, 6)
    for name, text in logs.items():
        for m in ID_RE.finditer(text):
            if h.valid_id(m.group(0)) and m.group(0) not in variants:
                leaks.append("unknown valid ID " + leak(name, text, m.start(), m.group(0), 6))
    assert not leaks, "full ID numbers in service logs:\n" + "\n".join(leaks[:20])


def test_logs_do_show_masked_ids(h):
    """The logs are not simply empty of IDs: report.accepted names the head
    masked (first 6 + last 4)."""
    text = service_logs(h).get("intake.log", "")
    assert re.search(r"[0-9]{6}\*{8}[0-9X]{4}", text), "no masked ID number in intake.log"


def test_no_full_name_in_service_logs(h):
    """Names are masked after their first character (POLICY.md §13): no
    name of two or more characters that the database holds appears whole
    in a service log."""
    logs = service_logs(h)
    names = {r[0] for r in h.psql("select distinct name from case_members")
             if len(r[0]) >= 2}
    assert names
    leaks = leaks_of(logs, names, 1)
    assert not leaks, "full names in service logs:\n" + "\n".join(leaks[:20])
