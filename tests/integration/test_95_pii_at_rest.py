"""No ID number at rest in plain text (issue 5; ops/SECURITY.md, common/pii.h).

Runs after the rest of the suite (name order), so Postgres holds everything
the earlier tests stored: reports, households joined across reports,
assessments, triggers, visits, caregiver scores, care tasks, idempotency
results. A few more writes of every kind here make sure each path has run,
then the whole database is dumped and searched, as text and as bytes (hex),
for every ID number the run used. Lookups still work: case.get by ID number,
a household joined by a shared member, a trigger naming a person.
"""
import datetime
import os
import re
import subprocess


def china_today():
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date()


def dump(h):
    """`pg_dump --data-only` of the aid database, as bytes."""
    p = subprocess.run(["pg_dump", "--data-only", "--no-owner", h.PG_DSN],
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    return p.stdout


def test_every_write_path_keeps_lookups(h):
    elder = h.member(birth="1948-02-02", name="冯老汉", tekun="dispersed", self_care="semi")
    kin = h.member(birth="1975-05-05", name="冯大")
    first = h.submit_ok(h.report([elder, kin]))
    h.wait_complete(first["case_id"], timeout=60)
    # a visit and a caregiver score, by ID number
    v = h.call("visit.record", {"id_number": elder["id_number"],
                                "visited_on": china_today().isoformat(), "visitor": "李"},
               h.rid("pii-visit"))
    assert v["ok"] is True, v
    month = china_today().replace(day=1).strftime("%Y-%m")
    body = {"id_number": elder["id_number"], "month": month, "caregiver": "王某", "score": 80}
    sid = h.rid("pii-score")
    s = h.call("caregiver.score", body, sid)
    assert s["ok"] is True, s
    assert s["result"]["passed"] is True  # (a failing score and its task: test_31)
    # a retry is answered from the stored (sealed) result
    again = h.call("caregiver.score", body, sid)
    assert again["ok"] is True and again["result"]["duplicate"] is True, again
    assert again["result"]["passed"] is True
    # a second report sharing one person joins the same case (lookup by hash)
    other = h.member(birth="2010-01-01", name="冯小")
    second = h.submit_ok(h.report([kin, other]))
    assert second["case_id"] == first["case_id"]
    h.wait_complete(first["case_id"], timeout=60)
    # case.get by ID number: found, shown masked only
    r = h.case_get(id_number=other["id_number"])
    assert r["ok"] is True, r
    assert r["result"]["case_id"] == first["case_id"]
    text = repr(r)
    for m in (elder, kin, other):
        assert m["id_number"] not in text
    assert sorted(p["id_masked"] for p in r["result"]["persons"]) == \
        sorted(h.mask(m["id_number"]) for m in (elder, kin, other))
    # a trigger naming a person
    t = h.call("trigger.submit", {"kind": "disability", "id_number": other["id_number"],
                                  "disability_grade": 2, "disability_kind": "physical"},
               h.rid("pii-trg"), timeout=30)
    assert t["ok"] is True, t
    assert t["result"]["case_id"] == first["case_id"]
    h.wait_complete(first["case_id"], timeout=60)


def test_no_plaintext_id_number_anywhere_in_postgres(h):
    ids = set(h.USED_IDS)
    assert len(ids) > 10, "the suite should have used many ID numbers"
    data = dump(h)
    lower = data.lower()
    assert len(data) > 10000
    # every 18-character run that could be an ID number, at every offset (overlapping),
    # as text and as hex (bytea, and MessagePack inside it, is dumped as hex): one pass
    # over the dump instead of one search per ID number
    text = {m.group(1) for m in re.finditer(rb"(?=([0-9]{17}[0-9Xx]))", data)}
    hexed = {m.group(1) for m in re.finditer(rb"(?=((?:3[0-9]){17}(?:3[0-9]|58|78)))", lower)}
    leaks = []
    for i in sorted(ids):
        for variant in {i, i.lower()}:
            raw = variant.encode()
            if raw in text:
                leaks.append(("text", i[:6] + "…"))
            if raw.hex().encode() in hexed:
                leaks.append(("bytea", i[:6] + "…"))
    assert not leaks, "ID numbers in plain text at rest: %r" % leaks[:20]


def test_stored_persons_are_hashes_and_sealed(h):
    # every ID column is a 32-byte keyed hash; every stored person opens with the key
    assert h.psql_value("select count(*) from case_members where octet_length(id_hash) <> 32"
                        " or octet_length(id_enc) <> 59") == "0"
    rows = h.psql("select encode(id_hash, 'hex'), id_enc from case_members")
    assert rows
    opened = h.open_ids([r[1] for r in rows])
    assert len(opened) == len(rows)
    for (hexhash, _), pid in zip(rows, opened):
        assert h.id_hash(pid) == hexhash
    # no column anywhere is named like an ID number any more
    cols = h.psql("select table_name || '.' || column_name from information_schema.columns"
                  " where table_schema = 'public' and column_name = 'id_number'")
    assert cols == [], cols
    # report bodies are sealed (format byte 1), never MessagePack maps
    assert h.psql_value("select count(*) from reports where get_byte(body, 0) <> 1") == "0"
    assert h.psql_value("select count(*) from triggers where get_byte(body, 0) <> 1") == "0"
    assert h.psql_value("select count(*) from requests where result is not null"
                        " and get_byte(result, 0) <> 1") == "0"


def test_a_service_without_the_key_refuses_to_start(h):
    env = dict(os.environ)
    env.pop("AID_PII_KEY", None)
    env.pop("AID_PII_KEY_FILE", None)
    env["AID_INTAKE_API"] = "tcp://127.0.0.1:1"   # never reached
    p = subprocess.run([os.path.join(h.ROOT, "bin", "eligibility")], env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert "pii.key_missing" in p.stderr and "AID_PII_KEY" in p.stderr


def test_a_service_with_another_key_stops_before_it_touches_anything(h):
    """044_pii_key_check: the database keeps the keyed hash of a fixed text
    (recorded by the stack's first connection); a process holding another key
    is told so on connecting and exits before any statement of its own."""
    stored = h.psql("select encode(check_hash, 'hex'), recorded_by from pii_key")
    assert len(stored) == 1 and len(stored[0][0]) == 64, stored
    assert stored[0][1].startswith("aid_"), stored          # a service role recorded it
    env = dict(os.environ)
    env.pop("AID_PII_KEY_FILE", None)
    env["AID_PII_KEY"] = os.urandom(32).hex()
    env["AID_METRICS_PORT"] = "0"
    env["AID_INTAKE_BIND"] = "tcp://127.0.0.1:*"   # a second intake on a port of its own
    # common/store.c refuses the database (an error, no exit of its own); each
    # service's loop sees that and stops: the worker loop, and intake's
    for service in ("eligibility", "triggers", "intake"):
        p = subprocess.run([os.path.join(h.ROOT, "bin", service)], env=env,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 1, (service, p.returncode, p.stderr[-2000:])
        assert "pii.key_mismatch" in p.stderr, (service, p.stderr[-2000:])
        assert env["AID_PII_KEY"] not in p.stderr + p.stdout
    # the check recorded first stays
    assert h.psql("select encode(check_hash, 'hex'), recorded_by from pii_key") == stored
    # the stack's own services hold the recorded key: they keep working
    res = h.submit_ok(h.report([h.member()]))
    h.wait_complete(res["case_id"], timeout=60)
