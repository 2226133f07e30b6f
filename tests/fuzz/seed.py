#!/usr/bin/python3
"""seed.py — writes the seed corpora of the fuzz targets (tests/fuzz/corpus/).

Seeds are valid requests built from ops/samples plus the classic hostile
inputs. Crashes found by fuzzing are added to the same folders by hand (name
them crash-<what>.bin) and replayed by `make test` from then on."""
import glob, json, os
import msgpack

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))

def write(kind, name, data):
    path = os.path.join(here, "corpus", kind, name + ".bin")
    with open(path, "wb") as f:
        f.write(data)

def req(op, body=None, id="seed-1"):
    m = {"v": 1, "op": op, "id": id}
    if body is not None:
        m["body"] = body
    return msgpack.packb(m)

for i, path in enumerate(sorted(glob.glob(os.path.join(root, "ops/samples/*.json")))):
    body = json.load(open(path))
    write("request", "report-%02d" % i, req("report.submit", body))
    write("mp", "report-%02d" % i, msgpack.packb(body))
write("request", "case-by-id", req("case.get", {"case_id": "case-1"}))
write("request", "case-by-person", req("case.get", {"id_number": "52012319580312021X"}))
write("request", "health", req("health"))
write("request", "unknown-op", req("nope"))
# one valid-looking body per further operation (see proto/DEPARTMENTS.md, proto/CARE.md)
others = {
    "trigger-disaster": ("trigger.submit", {"kind": "disaster", "areas": ["520123101"],
                                            "hazard": "flood", "occurred_on": "2026-11-01"}),
    "trigger-medical": ("trigger.submit", {"kind": "medical_expense", "id_number": "52012319580312021X",
                                           "expense_fen": 5000000, "months": 6}),
    "trigger-death": ("trigger.submit", {"kind": "death", "id_number": "52012319580312021X"}),
    "pending": ("referrals.pending", {"department": "housing", "after_seq": 0, "limit": 100}),
    "decision": ("decision.submit", {"referral_id": "referral-1", "status": "granted", "reason": "",
                                     "measures": [{"code": "housing.rent_free"}],
                                     "rules": ["R-HOUSE-FREE"]}),
    "visits-due": ("visits.due", {"township": "520123101", "before": "2026-12-31"}),
    "visit": ("visit.record", {"id_number": "52012319580312021X", "visited_on": "2026-11-20",
                               "visitor": "王", "method": "home", "living": "normal", "health": "",
                               "care": "", "needs": "", "symptoms": False}),
    "score": ("caregiver.score", {"id_number": "52012319580312021X", "month": "2026-11",
                                  "caregiver": "李", "score": 55}),
    "ledger": ("ledger.monthly", {"month": "2026-11", "township": "520123101"}),
    "disclosure": ("disclosure.list", {"village": "520123101001", "month": "2026-11"}),
    "complaint": ("complaint.submit", {"channel": "hotline", "text": "未收到救助金"}),
    "complaint-update": ("complaint.update", {"tracking_no": "TS202611-000001",
                                              "status": "investigating", "by": "张", "note": ""}),
    "overdue": ("referrals.overdue", {"township": "520123101"}),
}
for name, (op, body) in others.items():
    write("request", name, req(op, body))
write("request", "not-a-map", msgpack.packb([1, 2, 3]))
# an ID number where a key belongs: the refusal must name it masked
write("request", "id-number-key", req("case.get", {"52012319580312021X": "case-1"}))
write("request", "id-number-envelope-key", msgpack.packb({"v": 1, "op": "health", "id": "seed-1",
                                                          "520123195803120212": 1}))
hostile = {
    "array32-huge": b"\xdd\xff\xff\xff\xff",
    "map32-huge": b"\xdf\xff\xff\xff\xff",
    "str32-huge": b"\xdb\xff\xff\xff\xff",
    "bin32-huge": b"\xc6\xff\xff\xff\xff",
    "ext32-huge": b"\xc9\xff\xff\xff\xff\x01",
    "never-used": b"\xc1",
    "deep": b"\x91" * 40 + b"\xc0",
    "trailing": b"\x80\x00",
    "truncated-float": b"\xcb\x00\x00",
}
for name, data in hostile.items():
    write("mp", name, data)
    write("request", name, data)
