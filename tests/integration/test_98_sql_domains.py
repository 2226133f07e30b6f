"""test_98_sql_domains.py — the functions by domain (ops/sql, issue 15): a
database migrated by the files of main before the move (every function still
in ops/migrations) and then upgraded by ops/container/migrate.sh (the new
migrations and ops/sql) ends up with exactly the functions, triggers, row
policies and function grants of a fresh database made by migrate.sh; a second
run of ops/sql on it changes nothing; the dead functions (and the triggers that
called them) are gone from both.
The views are compared too (aid_audit's one home is ops/sql/95_audit.sql).
Both databases live in the running test cluster under other names.
"""
import os
import re
import subprocess

import pytest

# SQL only: no C program runs, so the sanitizer pass skips it (conftest)
pytestmark = pytest.mark.no_c

# the last commit of main whose migrations still defined the functions
OLD_MAIN = "2c06e7a"
DEAD = ("aid_record_assessment", "aid_record_decisions",
        # the assessed-report trigger's function: eligibility bumps the visit
        # schedules itself since a report is assessed by its assessment (122)
        "aid_reports_assessed")
# triggers gone on purpose, with the functions above
DEAD_TRIGGERS = ("reports.reports_assessed_bump_schedules",)

CATALOG = r"""
SELECT 'function', p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid)),
       coalesce(p.proacl::text, '-'), pg_get_userbyid(p.proowner)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
UNION ALL
SELECT 'trigger', c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid), t.tgenabled::text, ''
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT t.tgisinternal
UNION ALL
SELECT 'policy', tablename || '.' || policyname, roles::text,
       regexp_replace(coalesce(qual, '') || ' / ' || coalesce(with_check, ''), '\s+', ' ', 'g'), cmd
  FROM pg_policies WHERE schemaname = 'public'
UNION ALL
SELECT 'view', c.relname, md5(pg_get_viewdef(c.oid)), coalesce(c.relacl::text, '-'),
       pg_get_userbyid(c.relowner)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'v'
ORDER BY 1, 2
"""

# functions whose body changed since, on purpose (same name, arguments and owner):
# aid_record_decision became a thin wrapper of aid_apply_decisions (one recording logic)
REWRITTEN = ("aid_record_decision",)

def dsn(h, db):
    return re.sub(r"\bdbname=\S+", "dbname=" + db, h.PG_DSN)


def psql(h, db, *args):
    p = subprocess.run(["psql", dsn(h, db), "-X", "-q", "-A", "-t", "-F", "\t",
                        "-v", "ON_ERROR_STOP=1"] + list(args),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, "psql %s failed: %s" % (args, p.stderr)
    return p.stdout


def catalog(h, db):
    return [tuple(line.split("\t")) for line in psql(h, db, "-c", CATALOG).splitlines()]


def migrate(h, db, tmp_path):
    """ops/container/migrate.sh on db, compose mode with the stack's own role passwords."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AID_") and not k.startswith("PG")}
    env.update({"PGHOST": "127.0.0.1", "PGPORT": re.search(r"\bport=(\d+)", h.PG_DSN).group(1),
                "PGUSER": "postgres", "PGDATABASE": db,
                "PGPASSFILE": os.path.join(h.VAR, "pgpass", "postgres"),
                "AID_MIGRATIONS": os.path.join(h.ROOT, "ops", "migrations"),
                "AID_SQL": os.path.join(h.ROOT, "ops", "sql"),
                "AID_ROLE_PASSWORDS": os.path.join(h.VAR, "pgpass"),
                "AID_ADMIN_PASSWORD_FILE": str(tmp_path / ("admin-" + db)),
                "AIDCTL": os.path.join(h.ROOT, "bin", "aidctl")})
    p = subprocess.run([os.path.join(h.ROOT, "ops", "container", "migrate.sh")], env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def old_migrations(h, tmp_path):
    """The migration files of main before the move, from git."""
    if not os.path.exists(os.path.join(h.ROOT, ".git")):
        pytest.skip("not a git checkout: the old migrations come from commit " + OLD_MAIN)
    arc = subprocess.run(["git", "-C", h.ROOT, "archive", OLD_MAIN, "ops/migrations"],
                         capture_output=True, timeout=60)
    assert arc.returncode == 0, arc.stderr.decode(errors="replace")
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=arc.stdout, check=True, timeout=60)
    d = tmp_path / "ops" / "migrations"
    return sorted(str(f) for f in d.iterdir() if f.name.endswith(".sql"))


def test_old_database_converges_to_fresh(h, tmp_path):
    old_files = old_migrations(h, tmp_path)
    assert any("031_pii.sql" in f for f in old_files), old_files
    old, fresh = "aid_sqlold_" + h.RUN, "aid_sqlnew_" + h.RUN
    for db in (old, fresh):
        h.psql("CREATE DATABASE " + db)
    try:
        # the old database: main's files, recorded as ops/stack.sh and migrate.sh record them
        psql(h, old, "-c", "CREATE TABLE schema_migrations (name text PRIMARY KEY, "
                           "applied_at timestamptz NOT NULL DEFAULT now())")
        for f in old_files:
            psql(h, old, "-1", "-f", f, "-c",
                 "INSERT INTO schema_migrations (name) VALUES ('%s')" % os.path.basename(f))
        before = catalog(h, old)
        assert {r[1].partition("(")[0] for r in before if r[0] == "function"} >= set(DEAD)
        out = migrate(h, old, tmp_path)
        new_files = [f for f in os.listdir(os.path.join(h.ROOT, "ops", "migrations"))
                     if f.endswith(".sql") and f not in {os.path.basename(o) for o in old_files}]
        assert "(%d applied now)" % len(new_files) in out, out
        migrate(h, fresh, tmp_path)
        want = catalog(h, fresh)
        assert catalog(h, old) == want
        names = {r[1].partition("(")[0] for r in want if r[0] == "function"}
        assert not names & set(DEAD), names & set(DEAD)
        # everything but the dead functions is still there (later work adds functions
        # and changes bodies and grants: only their presence is checked here)
        kept = {r[:2] for r in before
                if r[1].partition("(")[0] not in DEAD and r[1] not in DEAD_TRIGGERS}
        assert not {r[1] for r in want if r[0] == "trigger"} & set(DEAD_TRIGGERS)
        assert kept <= {r[:2] for r in want}, sorted(kept - {r[:2] for r in want})
        assert len([r for r in want if r[0] == "trigger"]) >= 20
        assert len([r for r in want if r[0] == "policy"]) >= 10
        assert {r[1] for r in want if r[0] == "view"} >= {"aid_audit", "measures"}, want
        # ops/sql again (every run applies it): nothing changes
        for f in sorted(os.listdir(os.path.join(h.ROOT, "ops", "sql"))):
            if f.endswith(".sql"):
                psql(h, fresh, "-1", "-f", os.path.join(h.ROOT, "ops", "sql", f))
        assert catalog(h, fresh) == want
    finally:
        for db in (old, fresh):
            h.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
