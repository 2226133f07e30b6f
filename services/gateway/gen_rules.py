#!/usr/bin/env python3
"""gen_rules.py — builds www/rules.json, the rule texts the console shows next
to every decision, from the repository's rule reference docs/policy.md (and the
measure vocabulary from proto/DEPARTMENTS.md).

    services/gateway/gen_rules.py [--lang zh|en] [POLICY.md [DEPARTMENTS.md [OUT.json [ZH.tsv]]]]

Defaults: docs/policy.md, proto/DEPARTMENTS.md and docs/rules.zh.tsv of this
repository; output services/gateway/www/rules.json. Run it again whenever docs/policy.md changes
and commit the result: the gateway serves the file as it is (no build step).

For each rule id R-… the text is its row of a rule table (`| `R-X` | plan |
what the system does | parameters | where |`): what it does, then its
parameters; the section is the heading above the table. The S/M/O scope rules
take the text of their group (the group table and the "- M1: …" bullets of
§1). That English text is kept as `text_en`; `measure_names` is proto/zh.c's
table of measure code → Chinese name (the console's, the CSV's and aidctl's); `text` is the rule in the plan's
own words, in Chinese, from docs/rules.zh.tsv (`rule id<TAB>text`), and a rule
without a Chinese text fails the run. With `--lang en`, `text` is the English. A Chinese title per rule (TITLES below) heads the text on the page; a
rule without one fails the run, so a new rule is never shown untitled.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Chinese headings, as a caseworker would name each rule.
TITLES = {
    "R-SCOPE-S1": "低保对象", "R-SCOPE-S2": "特困供养对象", "R-SCOPE-S3": "60年代精简退职老职工",
    "R-SCOPE-S4": "孤儿", "R-SCOPE-S5": "事实无人抚养未成年人", "R-SCOPE-S6": "留守/困境未成年人",
    "R-SCOPE-S7": "低收入家庭老年人", "R-SCOPE-S8": "低收入家庭未成年人",
    "R-SCOPE-S9": "低收入家庭重病患者", "R-SCOPE-S10": "低收入家庭重度残疾人",
    "R-SCOPE-M1": "因病因学因灾等支出型困难家庭", "R-SCOPE-M2": "困难职工、困难职业病患者",
    "R-SCOPE-O1": "遭遇突发事件的其他困难群众",
    "R-DIBAO-REVIEW": "低保审核(应保尽保)", "R-TEKUN-REVIEW": "特困人员认定",
    "R-DIBAO-KEEP": "安置点低保“四个不摘”",
    "R-DIBAO-SUP-A": "分类施保 A 类(30%)", "R-DIBAO-SUP-B": "分类施保 B 类(20%)",
    "R-DIBAO-SUP-C": "分类施保 C 类(15%)", "R-DIBAO-SUP-D": "分类施保 D 类(70 元)",
    "R-DIBAO-SUP-MAX": "分类施保就高不累加",
    "R-TEKUN-STD": "特困基本生活标准", "R-TEKUN-CARE": "特困照料护理补贴",
    "R-TEKUN-CENTRAL": "特困集中供养",
    "R-TEMP-SCOPE": "临时救助对象范围", "R-TEMP-EMERG": "急难型临时救助",
    "R-TEMP-EXPEND": "支出型临时救助", "R-TEMP-FORM": "临时救助方式",
    "R-MED-OVERLAY": "医疗救助:补充保险", "R-MED-RETRO": "医疗救助:追溯救助",
    "R-MED-TRIPLE": "三重保障制度",
    "R-EDU-S": "教育资助(兜底群体学生)", "R-EDU-EXEMPT": "义务教育阶段免除学杂费、课本费",
    "R-EDU-GRADE": "家庭经济困难学生认定",
    "R-HOUSE-S": "住房救助(兜底群体)", "R-HOUSE-FREE": "全额低保家庭免缴租金",
    "R-HOUSE-M": "边缘群体定向配租",
    "R-EMP-S": "就业困难人员认定", "R-EMP-MO": "登记失业人员服务", "R-EMP-ZERO": "零就业家庭援助",
    "R-RELIEF": "灾害应急救助", "R-TRIGGER-DISASTER": "灾情触发主动救助",
    "R-SOCIAL": "社会力量参与救助服务",
    "R-CARE-CAT1": "关爱对象一类", "R-CARE-CAT2": "关爱对象二类", "R-CARE-CAT3": "关爱对象三类",
    "R-VISIT-MONTHLY": "每月探访", "R-VISIT-QUARTERLY": "每季度探访",
    "R-CAREGIVER": "照料护理人月度评分", "R-VISIT-SYMPTOM": "探访发现疑似症状转诊",
    "R-LEDGER-MONTHLY": "月度台账(每月28日前报送)",
    "R-DISCLOSE": "救助对象公示", "R-COMPLAINT": "投诉受理与跟踪", "R-AUDIT": "审计留痕",
    "R-PROC-DIBAO": "低保审核时限", "R-PROC-TEKUN": "特困认定时限", "R-PROC-NOTICE": "公示与异议",
    "R-PROC-INVESTIGATE": "入户调查", "R-PROC-CONFIRM": "县级审核确认", "R-PROC-SPOTCHECK": "县级抽查",
    "R-DIBAO-GRANT": "低保待遇(差额救助)", "R-TEKUN-GRANT": "特困供养待遇",
    "R-PAY-MONTHLY": "按月社会化发放", "R-RECHECK": "定期复核", "R-EXIT": "渐退与退出",
}

RULE = re.compile(r"R-[A-Z0-9]+(?:-[A-Z0-9]+)*")


def clean(text):
    """Markdown emphasis and code marks out, whitespace folded."""
    text = text.replace("**", "").replace("`", "")
    return re.sub(r"\s+", " ", text).strip()


def blocks(lines):
    """(kind, section, text) for each bullet, table row and paragraph."""
    section, out, cur, kind = "", [], [], None

    def flush():
        nonlocal cur, kind
        if cur:
            out.append((kind, section, " ".join(cur)))
        cur, kind = [], None

    for line in lines:
        if line.startswith("#"):
            flush()
            section = clean(line.lstrip("#"))
        elif line.startswith("- "):
            flush()
            kind, cur = "bullet", [line[2:]]
        elif line.startswith("|"):
            flush()
            out.append(("row", section, line))
        elif not line.strip():
            flush()
        elif line.startswith(" ") and kind == "bullet":
            cur.append(line.strip())
        else:
            if kind != "para":
                flush()
                kind = "para"
            cur.append(line.strip())
    flush()
    return out


def row_cells(row):
    return [clean(c) for c in row.strip().strip("|").split("|")]


def load_zh(path):
    """{rule id: Chinese text} from docs/rules.zh.tsv (# lines are comments)."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            rid, sep, text = line.partition("\t")
            if not sep or not RULE.fullmatch(rid) or not text.strip():
                sys.exit("gen_rules.py: %s:%d: expected 'R-…<TAB>text'" % (path, n))
            if rid in out:
                sys.exit("gen_rules.py: %s:%d: %s twice" % (path, n, rid))
            out[rid] = text.strip()
    return out


def build(policy_path, departments_path, zh_path=None, lang="zh"):
    with open(policy_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    bs = blocks(lines)
    zh = load_zh(zh_path or os.path.join(ROOT, "docs", "rules.zh.tsv"))
    rules, groups, found = {}, {}, {}
    # the group table and bullets of §1: S1..S10 rows, "- M1: ..." and "- O1: ..." bullets
    for kind, section, text in bs:
        if kind == "row":
            cells = row_cells(text)
            if len(cells) >= 2 and re.fullmatch(r"S\d+", cells[0]):
                groups[cells[0]] = cells[1]
            elif cells and RULE.fullmatch(cells[0]) and len(cells) >= 4:
                what, params = cells[2], cells[3]
                text = what + ("" if params in ("—", "-", "") else " (%s)" % params)
                found[cells[0]] = (text, section)
        elif kind == "bullet":
            m = re.match(r"([MO]\d):\s*(.*)", text)
            if m:
                groups[m.group(1)] = clean(m.group(2))
    scope = next(s for k, s, t in bs if s.startswith("1."))
    for rid in sorted(found):
        text, sec = found[rid]
        m = re.fullmatch(r"R-SCOPE-([SMO]\d+)", rid)
        if m and m.group(1) in groups:
            text, sec = groups[m.group(1)], scope
        if rid not in TITLES:
            sys.exit("gen_rules.py: no Chinese title for %s: add it to TITLES" % rid)
        if rid not in zh:
            sys.exit("gen_rules.py: no Chinese text for %s: add it to %s" % (rid, zh_path))
        rules[rid] = {"title": TITLES[rid], "section": sec,
                      "text": zh[rid] if lang == "zh" else text, "text_en": text}
    extra = sorted(set(zh) - set(rules))
    if extra:
        sys.exit("gen_rules.py: %s names rules docs/policy.md does not have: %s"
                 % (zh_path, " ".join(extra)))
    groups_en = dict(groups)
    if lang == "zh":   # a group's tooltip: its scope rule in the plan's words
        groups = {g: zh.get("R-SCOPE-" + g, t) for g, t in groups.items()}
    measures = {}
    if departments_path and os.path.exists(departments_path):
        with open(departments_path, encoding="utf-8") as f:
            doc = f.read()
        # "| civil | `dibao_review` once service H · … |": the rows of the codes table
        for dept, codes in re.findall(r"^\| (\w+) \| (`\w+`.*)\|$", doc, re.M):
            measures[dept] = ["%s.%s" % (dept, c) for c in re.findall(r"`(\w+)`", codes)]
    # measure code → Chinese name: the one table, proto/zh.c's zh_measures
    names = {}
    zh_c = os.path.join(ROOT, "proto", "zh.c")
    with open(zh_c, encoding="utf-8") as f:
        src = f.read()
    table = re.search(r"zh_measures\[\] = \{(.*?)\n\};", src, re.S)
    if not table:
        sys.exit("gen_rules.py: no zh_measures table in proto/zh.c")
    for code, name in re.findall(r'\{"([a-z_]+\.[a-z_0-9]+)", "([^"]+)"\}', table.group(1)):
        names[code] = name
    missing = [m for ms in measures.values() for m in ms if m not in names]
    if missing:
        sys.exit("gen_rules.py: no Chinese name in proto/zh.c for %s" % " ".join(missing))
    return {
        "source": "docs/policy.md, docs/rules.zh.tsv, proto/zh.c",
        "measure_names": names,
        "lang": lang,
        "generated_by": "services/gateway/gen_rules.py",
        "rules": rules,
        "groups": groups,
        "groups_en": groups_en,
        "measures": measures,
    }


def main(argv):
    lang = "zh"
    if len(argv) > 2 and argv[1] == "--lang":
        lang = argv[2]
        if lang not in ("zh", "en"):
            sys.exit("gen_rules.py: --lang is zh or en, not %s" % lang)
        argv = argv[:1] + argv[3:]
    policy = argv[1] if len(argv) > 1 else os.path.join(ROOT, "docs", "policy.md")
    departments = argv[2] if len(argv) > 2 else os.path.join(ROOT, "proto", "DEPARTMENTS.md")
    out = argv[3] if len(argv) > 3 else os.path.join(HERE, "www", "rules.json")
    zh = argv[4] if len(argv) > 4 else os.path.join(ROOT, "docs", "rules.zh.tsv")
    data = build(policy, departments, zh, lang)
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(out + ".tmp", out)
    print("gen_rules.py: %d rules, %d groups, %d departments -> %s"
          % (len(data["rules"]), len(data["groups"]), len(data["measures"]), out))


if __name__ == "__main__":
    main(sys.argv)
