#!/usr/bin/python3
"""gen.py — regenerates the golden vectors of proto/vectors/.

Run from anywhere:  /usr/bin/python3 proto/vectors/gen.py
Needs python3-msgpack. Writes, next to this script:
  NAME.hex       the MessagePack bytes, lower-case hex, one line
  NAME.json      the same value as JSON (for readers; see "$malformed" below)
  manifest.json  request name -> {"ok": true} | {"code": ..., "field": ... | null}
  README.md      the list of vectors and what each expects

Every map is written with its keys in a fixed order (the order in the tables
below: the envelope as v, op, id, body; report bodies in the order of the
report.submit schema, which is also the canonical order proto_report_encode
writes), so a regeneration gives the same bytes. The generated files are
committed; tests/interop/test_vectors.py and tests/unit/test_vectors.c read
them.

A vector whose bytes are not MessagePack at all cannot be written as JSON; its
.json is {"$malformed": "<what the bytes are>", "bytes": "<annotated hex>"}.
"""
import json
import os
import sys

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- ID numbers
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number(region, birth, seq):
    """A valid 18-character resident ID number (GB 11643): region (6 digits),
    birth date YYYYMMDD, a 3-digit sequence number and the check character."""
    first17 = "%s%s%03d" % (region, birth, seq)
    assert len(first17) == 17 and first17.isdigit()
    return first17 + _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def wrong_check(idn):
    """idn with a check character that does not match."""
    good = idn[17]
    bad = "0" if good != "0" else "1"
    return idn[:17] + bad


# ---------------------------------------------------------------- values
AREA = {"county": "520123", "township": "520123102", "village": "520123102005"}

# The minimal household (one elderly woman). Its ID number appears in no other
# valid vector, so case_get_by_id_number always finds exactly this case.
MIN_ID = id_number("520123", "19580314", 2)          # 520123195803140029
FULL_HEAD = id_number("520123", "19860512", 5)       # 520123198605120055
FULL_CHILD = id_number("520123", "20120903", 1)      # 52012320120903001X
assert FULL_CHILD.endswith("X")
BAD_ID = wrong_check(id_number("520123", "19580314", 3))


def envelope(op, rid, body=None):
    env = {"v": 1, "op": op}
    if rid is not None:
        env["id"] = rid
    if body is not None:
        env["body"] = body
    return env


def minimal_body(member_id=MIN_ID, name="张桂兰", member_extra=None):
    member = {"id_number": member_id, "name": name, "hukou_local": True}
    if member_extra is not None:
        member = member_extra
    return {"area": dict(AREA), "household": {"members": [member]}}


FULL_BODY = {
    "as_of": "2025-09-01",
    "source": "hotline",
    "reporter": "村委会 李主任",
    "area": dict(AREA),
    "urban": True,
    "urgency": "urgent",
    "household": {
        "status": {
            "dibao": "partial",
            "low_income": False,
            "single_parent": True,
            "one_child": False,
            "two_daughter": True,
            "relocation_site": True,
        },
        "housing": "dangerous",
        "members": [
            {
                "id_number": FULL_HEAD,
                "name": "王秀英",
                "relation": "head",
                "hukou_local": True,
                "residence_permit": False,
                "months_working_locally": 0,
                "monthly_income_fen": 48000,
                "tekun": "none",
                "disability_grade": 3,
                "disability_kind": "physical",
                "serious_illness": True,
                "self_care": "semi",
                "labor_capacity": True,
                "employed": False,
                "wants_work": True,
                "school_stage": "none",
                "orphan": False,
                "unsupported_minor": False,
                "left_behind": False,
                "minor_in_difficulty": False,
                "no_supporter": False,
                "three_nos": False,
                "retired_1960s": False,
                "dept_recognized": "hardship_worker",
            },
            {
                "id_number": FULL_CHILD,
                "name": "王小花",
                "relation": "child",
                "hukou_local": True,
                "residence_permit": False,
                "months_working_locally": 0,
                "monthly_income_fen": 0,
                "tekun": "none",
                "disability_grade": 0,
                "disability_kind": "none",
                "serious_illness": False,
                "self_care": "full",
                "labor_capacity": False,
                "employed": False,
                "wants_work": False,
                "school_stage": "compulsory",
                "orphan": False,
                "unsupported_minor": False,
                "left_behind": True,
                "minor_in_difficulty": True,
                "no_supporter": False,
                "three_nos": False,
                "retired_1960s": False,
                "dept_recognized": "none",
            },
        ],
    },
    "circumstances": [
        {
            "kind": "illness",
            "expense_fen": 2350000,
            "occurred_on": "2025-08-28",
            "id_number": FULL_HEAD,
            "note": "住院治疗",
        },
        {
            "kind": "disaster",
            "expense_fen": 0,
            "occurred_on": "2025-08-30",
            "id_number": FULL_CHILD,
            "note": "山洪冲毁房屋",
        },
    ],
}


def too_many_members():
    members = [
        {"id_number": id_number("520123", "19700101", 100 + i), "name": "成员%02d" % (i + 1),
         "hukou_local": True}
        for i in range(31)
    ]
    assert len({m["id_number"] for m in members}) == 31
    return {"area": dict(AREA), "household": {"members": members}}


def array32_huge():
    """An envelope whose household.members is an array32 header claiming
    2^32-1 elements, with nothing after it: five hostile bytes that would make
    a naive decoder allocate ~100 GB. Not decodable, by construction."""
    p = lambda v: msgpack.packb(v, use_bin_type=True)
    data = (b"\x84" + p("v") + p(1) + p("op") + p("report.submit") + p("id") +
            p("vec-err-array32-huge") + p("body") + b"\x81" + p("household") + b"\x81" +
            p("members") + b"\xdd\xff\xff\xff\xff")
    doc = {
        "$malformed": "a map {v: 1, op: \"report.submit\", id: \"vec-err-array32-huge\", "
                      "body: {household: {members: <array32 header dd ffffffff claiming "
                      "4294967295 elements>}}}; the message ends right after the header",
        "bytes": " ".join([
            "84", "a1" + b"v".hex(), "01", "a2" + b"op".hex(), "ad" + b"report.submit".hex(),
            "a2" + b"id".hex(), "b4" + b"vec-err-array32-huge".hex(), "a4" + b"body".hex(),
            "81", "a9" + b"household".hex(), "81", "a7" + b"members".hex(), "dd", "ffffffff"]),
    }
    return data, doc


# ---------------------------------------------------------------- the vectors
# (name, kind, value, expect, what). kind: "request" (in manifest.json, sent by
# the live test), "reply" (the reply to request NAME minus "reply_"), "raw"
# (a request given as bytes). expect: {"ok": True} or {"code", "field"}.
OK = {"ok": True}


def err(code, field):
    return {"code": code, "field": field}


VECTORS = [
    ("report_minimal", "request",
     envelope("report.submit", "vec-report-minimal", minimal_body()), OK,
     "report.submit with only the required fields; everything else takes its default"),
    ("report_full", "request",
     envelope("report.submit", "vec-report-full", FULL_BODY), OK,
     "report.submit with every field, keys in canonical order (equal to proto_report_encode's output)"),
    ("case_get_by_case_id", "request",
     envelope("case.get", "vec-case-get-by-case-id", {"case_id": "case-1"}), OK,
     "case.get by case id (the live test also sends it with a case id it created)"),
    ("case_get_by_id_number", "request",
     envelope("case.get", "vec-case-get-by-id-number", {"id_number": MIN_ID}), OK,
     "case.get by a member's ID number (report_minimal's member)"),
    ("health", "request", envelope("health", "vec-health"), OK,
     "health"),
    ("health_bare", "request", {"op": "health"}, OK,
     "health with the smallest envelope: v and id may be left out of a read"),
    ("err_unknown_op", "request",
     envelope("report.delete", "vec-err-unknown-op", {}), err("unknown_op", "op"),
     "an operation that does not exist"),
    ("err_missing_op", "request",
     {"v": 1, "id": "vec-err-missing-op", "body": {}}, err("bad_request", "op"),
     "an envelope without op"),
    ("err_not_a_map", "request",
     ["v", 1, "op", "health"], err("bad_request", None),
     "valid MessagePack that is not a map (an array)"),
    ("err_array32_huge", "raw", array32_huge(), err("bad_request", None),
     "members given as an array32 header claiming 2^32-1 elements, nothing after it"),
    ("err_bad_check_digit", "request",
     envelope("report.submit", "vec-err-bad-check-digit", minimal_body(BAD_ID)),
     err("invalid_field", "household.members[0].id_number"),
     "a member ID number whose check character does not match"),
    ("err_unknown_key", "request",
     envelope("report.submit", "vec-err-unknown-key",
              minimal_body(member_extra={"id_number": MIN_ID, "name": "张桂兰",
                                         "hukou_locl": True})),
     err("invalid_field", "household.members[0].hukou_locl"),
     "a misspelt key (hukou_locl) inside a member"),
    ("err_too_many_members", "request",
     envelope("report.submit", "vec-err-too-many-members", too_many_members()),
     err("invalid_field", "household.members"),
     "31 members (the limit is 30), each one valid"),
    ("err_missing_id", "request",
     envelope("report.submit", None, minimal_body()), err("invalid_field", "id"),
     "report.submit without an id (a write needs its idempotency key)"),
    ("err_case_not_found", "request",
     envelope("case.get", "vec-err-case-not-found", {"case_id": "case-0"}),
     err("not_found", "case_id"),
     "case.get for a case that does not exist"),
    # replies: reply_<request> is the reply intake sends to <request>. Exact for
    # error replies (apart from the free-text message); for ok replies the
    # values are examples and the key order and types are exact.
    ("reply_report_minimal", "reply",
     {"v": 1, "id": "vec-report-minimal", "ok": True,
      "result": {"report_id": "report-1", "case_id": "case-1", "duplicate": False}},
     None, "ok reply to report.submit (ids are examples)"),
    ("reply_health", "reply",
     {"v": 1, "id": "vec-health", "ok": True,
      "result": {"status": "ok", "database": "ok", "redis": "ok", "bus": "ok",
                 "version": "aid-intake 0.1.0"}},
     None, "ok reply to health (all dependencies up)"),
    ("reply_case_get_by_id_number", "reply",
     {"v": 1, "id": "vec-case-get-by-id-number", "ok": True,
      "result": {
          "case_id": "case-1",
          "complete": False,
          "persons": [{"id_masked": "520123********0029", "name_masked": "张**", "age": 68,
                       "groups": ["S7"], "dibao_supplement_fen": 0, "visit_every": "quarter",
                       "care_category": 0}],
          "referrals": [
              {"referral_id": "referral-1", "report_id": "report-1", "department": "civil",
               "status": "granted", "reason": "",
               "measures": [
                   {"code": "civil.dibao_review", "amount_fen": 0, "period": "once",
                    "form": "service"}],
               "rules": ["R-DIBAO-REVIEW"],
               "decided_at": "2026-11-29T02:01:43Z"},
              {"referral_id": "referral-2", "report_id": "report-1", "department": "care",
               "status": "pending", "reason": "", "measures": [], "rules": [],
               "decided_at": None}],
          "entitlements": [],
      }},
     None, "ok reply to case.get: an illustrative case (a household measure, one pending referral)"),
    ("reply_err_bad_check_digit", "reply",
     {"v": 1, "id": "vec-err-bad-check-digit", "ok": False,
      "error": {"code": "invalid_field", "field": "household.members[0].id_number",
                "message": "ID number check character does not match"}},
     None, "error reply with a field path"),
    ("reply_err_unknown_op", "reply",
     {"v": 1, "id": "vec-err-unknown-op", "ok": False,
      "error": {"code": "unknown_op", "field": "op", "message": "no such operation"}},
     None, "error reply to an unknown operation"),
    ("reply_err_not_a_map", "reply",
     {"v": 1, "id": "", "ok": False,
      "error": {"code": "bad_request", "message": "request must be a MessagePack map"}},
     None, "error reply without a field (no \"field\" key) and without a readable id"),
]


def pack(value):
    return msgpack.packb(value, use_bin_type=True)


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def expect_text(expect):
    if expect.get("ok"):
        return "ok"
    return "`%s` %s" % (expect["code"], "field `%s`" % expect["field"] if expect["field"]
                        else "(no field)")


def main():
    names = set()
    manifest_lines = []
    rows = []
    for name, kind, value, expect, what in VECTORS:
        assert name not in names, name
        names.add(name)
        if kind == "raw":
            data, doc = value
        else:
            data, doc = pack(value), value
            # the vectors must survive a decode/encode round trip unchanged
            assert pack(msgpack.unpackb(data, raw=False)) == data, name
        assert kind != "reply" or name[len("reply_"):] in names, name
        write(os.path.join(HERE, name + ".hex"), data.hex() + "\n")
        write(os.path.join(HERE, name + ".json"),
              json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        if kind == "reply":
            rows.append("| `%s` | reply | to `%s` | %s |" % (name, name[6:], what))
        else:
            manifest_lines.append("  %s: %s" % (json.dumps(name),
                                               json.dumps(expect, ensure_ascii=False)))
            rows.append("| `%s` | request | %s | %s |" % (name, expect_text(expect), what))
    write(os.path.join(HERE, "manifest.json"), "{\n" + ",\n".join(manifest_lines) + "\n}\n")
    write(os.path.join(HERE, "README.md"), README_HEAD + "\n".join(rows) + "\n" + README_TAIL)
    print("wrote %d vectors to %s" % (len(VECTORS), HERE), file=sys.stderr)


README_HEAD = """# Golden vectors of the public contract

Generated by `gen.py` (`/usr/bin/python3 proto/vectors/gen.py`); do not edit the
generated files by hand, edit `gen.py` and run it. The contract itself is
`proto/README.md`.

Each vector is two files:

- `NAME.hex`: the MessagePack bytes of one request or reply, lower-case hex on one
  line (plus a newline). This is what goes on the wire, as the body frame.
- `NAME.json`: the same value as JSON, for readers. `err_array32_huge` is not
  MessagePack at all, so its `.json` describes the bytes (`"$malformed"`).

Keys are written in a fixed order: envelope `v, op, id, body`; report bodies in the
order of the `report.submit` schema. `report_full` is therefore byte for byte the
canonical form the project stores (`proto_report_encode`). Integers use the
shortest MessagePack form, strings the `str` family (never `bin`).

`manifest.json` lists every request vector with the reply it must get:
`{"ok": true}` or `{"code": "...", "field": "..."}` (`"field": null`: the error
reply carries no `field` key). `reply_NAME` is the reply intake sends to request
`NAME`: for error replies it is exact apart from the free-text `message`; for ok
replies the ids and values are examples, the keys, their order and the types are
exact (`reply_case_get_by_id_number` is illustrative: the number of persons,
referrals and measures depends on the case).

Checked by `tests/interop/test_vectors.py` (offline: decode/re-encode; live: every
request sent as is over REQ and over DEALER to `$AID_INTAKE_API`) and by
`tests/unit/test_vectors.c` (the project's own decoder and encoder agree).

Notes on the live run:
- `report_minimal`, `report_full`: the live test sends the exact bytes once (a
  rerun of the same `id` answers `ok` with `duplicate: true`) and then with a
  fresh `id` (must be `duplicate: false`, and `duplicate: true` when repeated). The
  ID numbers are fixed, so every run joins the same two cases.
- `case_get_by_case_id` asks for `case-1`: on a store without it the exact bytes
  get `not_found`; the live test then asks again with the case id that
  `report_minimal` was answered with (that one must be `ok`).
- `err_missing_id`, `err_not_a_map`, `err_array32_huge`: the reply's `id` is `""`.

| vector | kind | expected reply | what it shows |
| --- | --- | --- | --- |
"""

README_TAIL = """
ID numbers used: `%s` (report_minimal, case_get_by_id_number, err_unknown_key,
err_missing_id), `%s` and `%s` (report_full; the second ends in `X`), `%s`
(err_bad_check_digit: wrong check character), `52012319700101` + `100`…`130` + check
character (err_too_many_members). Area: county `520123`, township `520123102`,
village `520123102005`.
""" % (MIN_ID, FULL_HEAD, FULL_CHILD, BAD_ID)

if __name__ == "__main__":
    main()
