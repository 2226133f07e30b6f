"""test_sql_layout.py — where the SQL lives (issue 15, ops/sql/README.md):
migrations hold tables, indexes and data changes only; every SQL function is
defined in exactly one file, ops/sql/NN_<domain>.sql, together with what
depends on it (its triggers, the row policies calling it, its grants); the
functions nothing calls are defined nowhere; a view has one home in ops/sql
too. Static: no database needed.
"""
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MIGRATIONS = os.path.join(ROOT, "ops", "migrations")
SQL = os.path.join(ROOT, "ops", "sql")
FUNC = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(?:public\.)?(\w+)\s*\(", re.I)
DEAD = ("aid_record_assessment", "aid_record_decisions", "aid_review_open")
VIEW = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:public\.)?(\w+)", re.I)
# The views migrations made before views had their home in ops/sql; migrations are
# never edited, so these statements stay as they ran. No other migration makes a view.
OLD_VIEWS = {"040_roles.sql": {"aid_audit"}, "043_decision_rows.sql": {"measures"},
             "050_reach.sql": {"aid_audit"}}


def code(path):
    """The file without its -- comments (good enough for these checks)."""
    with open(path, encoding="utf-8") as f:
        return re.sub(r"--[^\n]*", "", f.read())


def sql_files(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".sql"))


def test_each_function_defined_in_one_file():
    where = {}
    for path in sql_files(MIGRATIONS) + sql_files(SQL):
        for name in set(n.lower() for n in FUNC.findall(code(path))):
            where.setdefault(name, []).append(os.path.relpath(path, ROOT))
    twice = {n: fs for n, fs in where.items() if len(fs) > 1}
    assert not twice, twice
    assert len(where) >= 25, sorted(where)
    assert not set(DEAD) & set(where), set(DEAD) & set(where)


def test_migrations_hold_no_functions():
    for path in sql_files(MIGRATIONS):
        text = code(path)
        name = os.path.basename(path)
        assert not FUNC.search(text), (name, FUNC.search(text).group(0))
        assert not re.search(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:TRIGGER|PROCEDURE)\b", text, re.I), name
        assert not re.search(r"\bON\s+FUNCTION\b", text, re.I), name   # grants go with the function
        for pol in re.findall(r"\bCREATE\s+POLICY\b[^;]*;", text, re.I):
            calls = set(re.findall(r"\b(\w+)\s*\(", pol)) - {"USING", "CHECK", "EXISTS", "SELECT"}
            assert not calls, (name, calls, pol)   # a policy calling a function goes with it


def test_sql_files_named_and_described():
    files = sql_files(SQL)
    assert files, "ops/sql holds the functions"
    for path in files:
        base = os.path.basename(path)
        assert re.fullmatch(r"\d\d_[a-z_]+\.sql", base), base
        with open(path, encoding="utf-8") as f:
            first = f.readline()
        assert first.startswith("-- ops/sql/%s — " % base), (base, first)
        text = code(path)
        # idempotent: every function replaceable, every trigger and policy dropped first
        assert not re.search(r"\bCREATE\s+FUNCTION\b", text, re.I), base
        for kind, obj in (("TRIGGER", r"(\w+)\s[^;]*?\bON\s+(\w+)"), ("POLICY", r"(\w+)\s+ON\s+(\w+)")):
            for m in re.finditer(r"\bCREATE\s+%s\s+%s" % (kind, obj), text, re.I):
                drop = r"DROP\s+%s\s+IF\s+EXISTS\s+%s\s+ON\s+%s\s*;" % (kind, m.group(1), m.group(2))
                assert re.search(drop, text[:m.start()], re.I), (base, m.group(0))
    assert os.path.exists(os.path.join(SQL, "README.md"))


def test_each_view_has_one_home():
    home = {}
    for path in sql_files(SQL):
        text = code(path)
        assert not re.search(r"\bCREATE\s+VIEW\b", text, re.I), path   # replaceable: idempotent
        for name in set(n.lower() for n in VIEW.findall(text)):
            home.setdefault(name, []).append(os.path.basename(path))
    twice = {n: fs for n, fs in home.items() if len(fs) > 1}
    assert not twice, twice
    assert home.get("aid_audit") == ["95_audit.sql"], home
    made = {}
    for path in sql_files(MIGRATIONS):
        base = os.path.basename(path)
        views = set(n.lower() for n in VIEW.findall(code(path)))
        assert views <= OLD_VIEWS.get(base, set()), (base, views - OLD_VIEWS.get(base, set()))
        for name in views:
            made[name] = made.get(name, 0) + 1
    # a view changed after the migration that made it has its current form in ops/sql
    for name, n in made.items():
        assert n == 1 or name in home, (name, n)


def test_one_decision_recorder():
    """A decision is recorded by one SQL logic (aid_apply_decisions: the only
    INSERT INTO decisions; aid_record_decision a thin wrapper of it) and one C
    recorder (services/department/record.c: the only code that turns measures
    into the statement's arrays), used by the department worker and by
    decision.submit."""
    inserts = [os.path.basename(p) for p in sql_files(SQL)
               for _ in re.findall(r"\bINSERT\s+INTO\s+decisions\b", code(p), re.I)]
    assert inserts == ["50_department.sql"], inserts
    src = code(os.path.join(SQL, "50_department.sql"))
    body = src[src.index("FUNCTION aid_record_decision("):]
    body = body[:body.index("$$;")]
    assert "aid_apply_decisions(" in body, body
    makers = []
    for top in ("services", "common"):
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith(".c"):
                    with open(os.path.join(d, f), encoding="utf-8") as fh:
                        if re.search(r"pgarr_add_text\([^;]*proto_periods\[", fh.read()):
                            makers.append(os.path.relpath(os.path.join(d, f), ROOT))
    assert makers == ["services/department/record.c"], makers
