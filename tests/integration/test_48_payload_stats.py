"""test_48_payload_stats.py — ANALYZE keeps no statistics for the payload columns
(migration 123, issue 19).

Autovacuum analyses the pipeline's large tables again and again while they grow;
half of that work was sorting samples of columns nothing searches (report bodies,
encrypted ID numbers, measure arrays, review proposals). The test analyses the
tables and reads pg_stats: no row for a payload column, a row for the columns
the planner does use (a key, a township, a status, the rules).
"""
import pytest

# SQL only: no C program runs, so the sanitizer pass skips it (conftest)
pytestmark = pytest.mark.no_c

PAYLOAD = {
    "reports": ["body"],
    "assessments": ["data"],
    "case_members": ["id_enc", "name"],
    "assessed_persons": ["name"],
    "requests": ["body_hash", "result"],
    "decisions": ["reason", "m_code", "m_person", "m_id_masked", "m_amount_fen",
                  "m_period", "m_form"],
    "reviews": ["proposal", "grant_measures"],
    "audit_log": ["detail"],
}
KEPT = {
    "reports": ["case_id", "township"],
    "decisions": ["status", "rules"],
    "case_members": ["case_id", "id_hash"],
    "reviews": ["stage"],
    "audit_log": ["action"],
}

# ANALYZE on audit_log rows made here, in a transaction rolled back (the
# statistics are transactional too): what it keeps and what it skips
SAMPLE = """
BEGIN;
INSERT INTO audit_log (who, action, case_id, detail, db_role)
SELECT 'test_48', 'test_48.' || (g % 3), g, repeat('x', g % 50), 'postgres'
  FROM generate_series(1, 200) g;
ANALYZE audit_log;
SELECT 'stats', attname FROM pg_stats
 WHERE schemaname = 'public' AND tablename = 'audit_log' ORDER BY 2;
ROLLBACK;
"""


def test_payload_columns_have_no_statistics(h):
    rows = h.psql("SELECT c.relname, a.attname, a.attstattarget FROM pg_attribute a"
                  " JOIN pg_class c ON c.oid = a.attrelid"
                  " WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0"
                  " AND NOT a.attisdropped AND c.relname IN (%s)"
                  % ", ".join("'%s'" % t for t in sorted(set(PAYLOAD) | set(KEPT))))
    target = {(t, a): int(v) for t, a, v in rows}
    for t, cols in PAYLOAD.items():
        for c in cols:
            assert target.get((t, c)) == 0, "%s.%s keeps statistics (%s)" % (t, c, target.get((t, c)))
    for t, cols in KEPT.items():
        for c in cols:
            assert target.get((t, c)) == -1, "%s.%s: %s" % (t, c, target.get((t, c)))
    stats = [r[1] for r in h.psql_script(SAMPLE) if r[0] == "stats"]
    assert "action" in stats and "case_id" in stats, stats
    assert "detail" not in stats, stats
