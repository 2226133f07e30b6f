"""test_21_import.py — `aidctl import --source … FILE.csv` (部门数据比对): each
source's CSV with good and bad rows, the verdict file (accepted / matched /
rejected with reason, one per row, in file order), bad rows never stopping
the import, the same file imported twice filing nothing twice, header
errors, and a few thousand rows in bounded time."""
import csv
import os
import subprocess
import time

import pytest


def aidctl(h, *args, timeout=300):
    return subprocess.run([os.path.join(h.ROOT, "bin", "aidctl")] + list(args),
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, AID_INTAKE_API=h.INTAKE))


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def verdicts(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return rows


def run_import(h, source, path, *extra):
    out = path + ".out.csv"
    p = aidctl(h, "import", "--source", source, path, "--out", out, *extra)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "%" in p.stderr  # the progress bar
    return verdicts(out), p


def reports_count(h, case_id):
    return int(h.psql_value("SELECT count(*) FROM reports WHERE case_id = %d" % h.num(case_id)))


@pytest.fixture(scope="module")
def households(h):
    """A marginal couple (medical), a low-income adult (disability), an
    employed dibao member (hr), an S and an ordinary household (agriculture)."""
    out = {}
    a = h.member(birth="1986-02-02", monthly_income_fen=80000)
    b = h.member(birth="1988-03-03", monthly_income_fen=80000)
    out["couple"] = (h.submit_ok(h.report([a, b])), a, b)
    d = h.member(birth="1980-07-07", monthly_income_fen=0)
    out["disabled"] = (h.submit_ok(h.report([d])), d)
    w = h.member(birth="1985-05-05", employed=True, labor_capacity=True, wants_work=True)
    idle = h.member(birth="1987-05-05", employed=False)
    out["workers"] = (h.submit_ok(h.report([w, idle], status={"dibao": "partial"})), w, idle)
    s = h.member(birth="1950-01-01")
    out["farm_s"] = (h.submit_ok(h.report([s], status={"dibao": "full"})), s)
    o = h.member(birth="1970-01-01", monthly_income_fen=900000)
    out["farm_o"] = (h.submit_ok(h.report([o])), o)
    for v in out.values():
        h.wait_complete(v[0]["case_id"])
    return out


def test_import_medical(h, households, tmp_path):
    res, a, b = households["couple"]
    before = reports_count(h, res["case_id"])
    lines = [
        "id_number,expense_fen,months",
        "%s,600000,6" % b["id_number"],               # 2: accepted (R-MED-RETRO)
        "%s,600000,6" % h.new_id(),                   # 3: rejected, not registered
        "%s,600000,6" % (b["id_number"][:17] + ("0" if b["id_number"][17] != "0" else "1")),
        "%s,6000.50,6" % a["id_number"],              # 5: rejected locally, not an integer
        "%s,0,6" % a["id_number"],                    # 6: rejected, expense 0
        "%s,100,,extra" % a["id_number"],             # 7: wrong field count
        "",                                           # 8: blank: no row
        '"%s","1000","3"' % a["id_number"],           # 9: quoted, accepted
        "%s,100," % a["id_number"],                   # 10: months missing
        '"%s,100,6' % a["id_number"],                 # 11: unterminated quote
    ]
    path = write(tmp_path, "medical.csv", "\r\n".join(lines) + "\r\n")
    rows, p = run_import(h, "medical", path)
    got = [(int(r["line"]), r["verdict"]) for r in rows]
    assert got == [(2, "accepted"), (3, "rejected"), (4, "rejected"), (5, "rejected"),
                   (6, "rejected"), (7, "rejected"), (9, "accepted"), (10, "rejected"),
                   (11, "rejected")], rows
    by = {int(r["line"]): r for r in rows}
    assert by[3]["reason"].startswith("not_found id_number")
    assert by[4]["reason"].startswith("invalid_field id_number")
    assert by[5]["reason"] == "invalid_field expense_fen: must be an integer"
    assert by[6]["reason"].startswith("invalid_field expense_fen")
    assert by[7]["reason"].startswith("bad_row")
    assert by[10]["reason"].startswith("invalid_field months")
    assert by[2]["id_masked"] == h.mask(b["id_number"])
    assert by[2]["case_id"] == res["case_id"] and by[2]["report_id"].startswith("report-")
    assert b["id_number"] not in open(path + ".out.csv", encoding="utf-8").read()
    assert "2 accepted, 0 matched, 7 rejected" in p.stdout
    case = h.wait_complete(res["case_id"], timeout=60)
    med = h.referrals_of(case, by[2]["report_id"])["medical"]
    assert any(m["code"] == "medical.retro_aid" and m["amount_fen"] == 420000
               for m in med["measures"]), med
    assert reports_count(h, res["case_id"]) == before + 2
    # the same file again: the same verdicts, nothing filed twice
    again, _ = run_import(h, "medical", path)
    assert [(r["line"], r["verdict"], r["report_id"]) for r in again] == \
        [(r["line"], r["verdict"], r["report_id"]) for r in rows]
    assert reports_count(h, res["case_id"]) == before + 2


def test_import_disability_hr_agriculture(h, households, tmp_path):
    res, d = households["disabled"]
    path = write(tmp_path, "dis.csv", "\n".join([
        "disability_kind,id_number,disability_grade",   # any column order
        "physical,%s,2" % d["id_number"],               # accepted
        "physical,%s,2" % d["id_number"],               # the same again: matched
        "none,%s,2" % d["id_number"],                   # rejected: kind
        "visual,%s,7" % d["id_number"],                 # rejected: grade
    ]) + "\n")
    rows, _ = run_import(h, "disability", path)
    assert [r["verdict"] for r in rows] == ["accepted", "matched", "rejected", "rejected"], rows
    assert rows[2]["reason"].startswith("invalid_field disability_kind")
    assert rows[3]["reason"].startswith("invalid_field disability_grade")

    wres, w, idle = households["workers"]
    path = write(tmp_path, "hr.csv", "\n".join([
        "id_number,unemployed_on",
        "%s,2026-10-01" % w["id_number"],    # accepted
        "%s," % idle["id_number"],           # matched: not employed already
        "%s,2026-13-01" % w["id_number"],    # rejected: date (the column's name)
    ]) + "\n")
    rows, _ = run_import(h, "hr", path)
    assert [r["verdict"] for r in rows] == ["accepted", "matched", "rejected"], rows
    assert rows[2]["reason"].startswith("invalid_field unemployed_on")
    case = h.wait_complete(wres["case_id"], timeout=60)
    assert "employment" in h.referrals_of(case, rows[0]["report_id"])

    sres, s = households["farm_s"]
    ores, o = households["farm_o"]
    path = write(tmp_path, "agri.csv", "\n".join([
        "id_number,hazard,occurred_on",
        "%s,hail,2026-09-01" % s["id_number"],   # accepted: an S household
        "%s,hail," % o["id_number"],             # matched: not an S household
        "%s,locusts," % s["id_number"],          # rejected: hazard
    ]) + "\n")
    rows, _ = run_import(h, "agriculture", path)
    assert [r["verdict"] for r in rows] == ["accepted", "matched", "rejected"], rows
    case = h.wait_complete(sres["case_id"], timeout=60)
    refs = h.referrals_of(case, rows[0]["report_id"])
    assert sorted(refs) == ["relief", "tempaid"]
    assert "R-TRIGGER-DISASTER" in refs["relief"]["rules"]


@pytest.mark.parametrize("header,source", [
    ("id_number,expense_fen", "medical"),                 # months missing
    ("id_number,expense_fen,months,note", "medical"),     # unknown column
    ("id_number,id_number,expense_fen,months", "medical"),
    ("id_number,expense_fen,months", "fishery"),          # unknown source
])
def test_import_header_errors(h, tmp_path, header, source):
    path = write(tmp_path, "bad.csv", header + "\n%s,1,1\n" % h.new_id())
    p = aidctl(h, "import", "--source", source, path)
    assert p.returncode == 2, (p.stdout, p.stderr)


def test_import_usage(h, tmp_path):
    assert aidctl(h, "import", str(tmp_path / "missing.csv"), "--source", "hr").returncode == 2
    assert aidctl(h, "case", "case-1", "--source", "hr").returncode == 2


def test_import_default_verdict_file_and_many_rows(h, households, tmp_path):
    """5,000 rows, mostly unknown people (a realistic nightly list), a few
    registered, some bad: every row gets its verdict, in bounded time."""
    res, a, b = households["couple"]
    lines = ["id_number,expense_fen,months"]
    for i in range(5000):
        if i % 1000 == 7:
            lines.append("%s,%d,6" % (a["id_number"], 1000 + i))
        elif i % 97 == 0:
            lines.append("%s,abc,6" % h.new_id())
        else:
            lines.append("%s,%d,6" % (h.new_id(), 1000 + i))
    path = write(tmp_path, "nightly.csv", "\n".join(lines) + "\n")
    t0 = time.monotonic()
    p = aidctl(h, "--json", "import", "--source", "medical", path)
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    rows = verdicts(str(tmp_path / "nightly.verdicts.csv"))
    assert len(rows) == 5000
    assert [int(r["line"]) for r in rows] == list(range(2, 5002))
    assert sum(r["verdict"] == "accepted" for r in rows) == 5
    assert took < 120, took
