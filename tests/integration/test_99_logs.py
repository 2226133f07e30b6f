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
    leaks = []
    for name, text in logs.items():
        for i in variants:
            pos = text.find(i)
            if pos >= 0:
                line = text[text.rfind("\n", 0, pos) + 1:text.find("\n", pos)]
                leaks.append("%s: %s…: %s" % (name, i[:6], line[:300]))
        for m in ID_RE.finditer(text):
            if h.valid_id(m.group(0)) and m.group(0) not in variants:
                line = text[text.rfind("\n", 0, m.start()) + 1:text.find("\n", m.start())]
                leaks.append("%s: unknown valid ID %s…: %s" % (name, m.group(0)[:6], line[:300]))
    assert not leaks, "full ID numbers in service logs:\n" + "\n".join(leaks[:20])


def test_logs_do_show_masked_ids(h):
    """The logs are not simply empty of IDs: report.accepted names the head
    masked (first 6 + last 4)."""
    text = service_logs(h).get("intake.log", "")
    assert re.search(r"[0-9]{6}\*{8}[0-9X]{4}", text), "no masked ID number in intake.log"
