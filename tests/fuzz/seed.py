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
write("request", "not-a-map", msgpack.packb([1, 2, 3]))
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
