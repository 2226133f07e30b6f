"""test_60_chinese.py — what a person reads is Chinese (issue 16): place names
from the county's table (`aidctl places import`), the ledger CSV with Chinese
headers, measure names and yuan, times in UTC+8 with the zone, and `aidctl
--lang zh`. The test brings its own small place table (made-up names)."""
import csv
import datetime
import io
import os
import re
import tempfile

import requests  # noqa: F401  (the g fixture's clients use it)


def month():
    return (datetime.datetime.utcnow() + datetime.timedelta(hours=8)).strftime("%Y-%m")


PLACES = "code,name,parent\n{c},测试县,\n{a},测试甲镇,{c}\n{va},测试甲镇一村,{a}\n"


def import_places(g, text):
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as f:
        f.write(text)
    try:
        return g.aidctl("places", "import", f.name, check=False)
    finally:
        os.unlink(f.name)


def test_places_import_checks_the_whole_file_and_the_console_shows_names(g):
    # a bad line is named with its field, and nothing of the file is written
    bad = "code,name\n%s,测试乙镇(不应写入)\n52012310100x,坏村,%s\n" % (g.TOWN_B, g.TOWN_A)
    out = import_places(g, bad)
    assert out.returncode == 2 and ":3: code: must be 6, 9 or 12 digits" in out.stderr, out.stderr
    assert g.psql("SELECT count(*) FROM places WHERE code = '%s'" % g.TOWN_B) == "0"
    out = import_places(g, "%s,测试乙镇,%s\n" % (g.TOWN_B, g.TOWN_A))
    assert out.returncode == 2 and ":1: parent:" in out.stderr, out.stderr
    out = import_places(g, PLACES.format(c=g.COUNTY, a=g.TOWN_A, va=g.VILLAGE_A))
    assert out.returncode == 0 and "imported 3 places" in out.stdout, out.stderr
    # again: the same codes are updated, not doubled
    out = import_places(g, "%s,测试甲镇(新名)\n" % g.TOWN_A)
    assert out.returncode == 0, out.stderr
    names = g.ok(g.login("tw_a").get("/api/places"))["names"]
    assert names[g.TOWN_A] == "测试甲镇(新名)" and names[g.VILLAGE_A] == "测试甲镇一村"
    assert g.TOWN_B not in names          # no name known: the console shows the code
    import_places(g, "%s,测试甲镇,%s\n" % (g.TOWN_A, g.COUNTY))
    listed = g.aidctl("places", "list").stdout
    assert re.search(r"^%s\s+%s\s+测试甲镇$" % (g.TOWN_A, g.COUNTY), listed, re.M), listed


def test_ledger_csv_is_chinese_with_yuan(g):
    import_places(g, PLACES.format(c=g.COUNTY, a=g.TOWN_A, va=g.VILLAGE_A))
    case = g.file("tw_a")
    g.wait_decided(case["case_id"], ["civil"])
    c = g.login("tw_a")
    res = g.ok(c.get("/api/ledger?month=" + month()))
    r = c.get("/api/ledger.csv?month=" + month())
    assert r.status_code == 200
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff乡镇代码,乡镇,栏目,项目代码,项目,数量,金额(元)\r\n"), text[:80]
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))[1:]
    assert len(rows) == len(res["rows"])
    assert all(x[0] == g.TOWN_A and x[1] == "测试甲镇" for x in rows), rows[:3]
    money = {x[3]: x for x in rows if x[2] == "救助措施与金额"}
    assert "civil.dibao_supplement" in money, rows
    sup = money["civil.dibao_supplement"]
    assert sup[4] == "分类施保金", sup
    fen = next(x["amount_fen"] for x in res["rows"]
               if x["section"] == "measures" and x["item"] == "civil.dibao_supplement")
    assert sup[6] == "%d.%02d" % (fen // 100, fen % 100) and fen > 0, (sup, fen)
    assert all(re.fullmatch(r"\d+\.\d{2}", x[6]) for x in money.values()), money
    groups = {x[3]: x for x in rows if x[2] == "救助对象(按类别,人)"}
    assert groups["S1"][4] == "低保对象" and groups["S1"][6] == "", groups["S1"]


def test_audit_times_carry_their_zone(g):
    case = g.file("tw_a")
    g.ok(g.case("tw_a", case["case_id"]))
    rows = g.ok(g.login("auditor1").get("/api/audit?case_id=" + case["case_id"]))["rows"]
    assert rows and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\+8\)", x["at"])
                        for x in rows), rows


def test_aidctl_is_english_by_default_and_chinese_with_lang_zh(g):
    case = g.file("tw_a")
    g.wait_decided(case["case_id"], ["civil", "medical"])
    en = g.aidctl("case", case["case_id"]).stdout
    assert "referral" in en and "civil.dibao_supplement" in en and "granted" in en, en
    assert "已批准" not in en
    zh = g.aidctl("--lang", "zh", "case", case["case_id"]).stdout
    for word in ("个案", "家庭成员", "身份证号码", "救助措施", "金额(元)", "民政", "已批准",
                 "分类施保金", "(UTC+8)"):
        assert word in zh, (word, zh)
    assert "civil.dibao_supplement" not in zh and "granted" not in zh, zh
    led = g.aidctl("--lang", "zh", "ledger", month(), g.TOWN_A).stdout
    assert "台账" in led and "金额(元)" in led and "分类施保金" in led, led
    assert g.aidctl("--lang", "fr", "health", check=False).returncode == 2
