-- ops/sql/10_common.sql — shared helpers of every domain: the China date, append-only
-- records (the function and every table's append-only triggers), the request ledger of
-- idempotent writes.
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.

-- The county's calendar day of a timestamp: China Standard Time, UTC+8, no
-- daylight saving. Every "which day / which month" of this file uses it.
CREATE OR REPLACE FUNCTION aid_china_date(t timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (t AT TIME ZONE INTERVAL '+08:00')::date
$$;

CREATE OR REPLACE FUNCTION aid_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (R-AUDIT)', TG_TABLE_NAME;
END;
$$;

DROP TRIGGER IF EXISTS assessments_append_only ON assessments;
CREATE TRIGGER assessments_append_only BEFORE UPDATE OR DELETE ON assessments
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS assessments_no_truncate ON assessments;
CREATE TRIGGER assessments_no_truncate BEFORE TRUNCATE ON assessments
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS caregiver_scores_append_only ON caregiver_scores;
CREATE TRIGGER caregiver_scores_append_only BEFORE UPDATE OR DELETE ON caregiver_scores
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS caregiver_scores_no_truncate ON caregiver_scores;
CREATE TRIGGER caregiver_scores_no_truncate BEFORE TRUNCATE ON caregiver_scores
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS case_move_decisions_append_only ON case_move_decisions;
CREATE TRIGGER case_move_decisions_append_only BEFORE UPDATE OR DELETE ON case_move_decisions
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS case_move_decisions_no_truncate ON case_move_decisions;
CREATE TRIGGER case_move_decisions_no_truncate BEFORE TRUNCATE ON case_move_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS case_moves_append_only ON case_moves;
CREATE TRIGGER case_moves_append_only BEFORE UPDATE OR DELETE ON case_moves
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS case_moves_no_truncate ON case_moves;
CREATE TRIGGER case_moves_no_truncate BEFORE TRUNCATE ON case_moves
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS complaint_steps_append_only ON complaint_steps;
CREATE TRIGGER complaint_steps_append_only BEFORE UPDATE OR DELETE ON complaint_steps
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS complaint_steps_no_truncate ON complaint_steps;
CREATE TRIGGER complaint_steps_no_truncate BEFORE TRUNCATE ON complaint_steps
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS complaints_append_only ON complaints;
CREATE TRIGGER complaints_append_only BEFORE UPDATE OR DELETE ON complaints
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS complaints_no_truncate ON complaints;
CREATE TRIGGER complaints_no_truncate BEFORE TRUNCATE ON complaints
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS decisions_append_only ON decisions;
CREATE TRIGGER decisions_append_only BEFORE UPDATE OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS decisions_no_truncate ON decisions;
CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS ledger_submissions_append_only ON ledger_submissions;
CREATE TRIGGER ledger_submissions_append_only BEFORE UPDATE OR DELETE ON ledger_submissions
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS ledger_submissions_no_truncate ON ledger_submissions;
CREATE TRIGGER ledger_submissions_no_truncate BEFORE TRUNCATE ON ledger_submissions
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS measures_append_only ON measures;
CREATE TRIGGER measures_append_only INSTEAD OF UPDATE OR DELETE ON measures
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS visits_append_only ON visits;
CREATE TRIGGER visits_append_only BEFORE UPDATE OR DELETE ON visits
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS visits_no_truncate ON visits;
CREATE TRIGGER visits_no_truncate BEFORE TRUNCATE ON visits
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();

CREATE OR REPLACE FUNCTION aid_begin_request(p_request_id text, p_op text, p_raw bytea,
                                  OUT outcome text, OUT result bytea)
LANGUAGE plpgsql AS $$
DECLARE
    h bytea := sha256(p_raw);
    prev requests%ROWTYPE;
BEGIN
    INSERT INTO requests (request_id, op, body_hash) VALUES (p_request_id, p_op, h)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        outcome := 'new';
        RETURN;
    END IF;
    SELECT * INTO prev FROM requests r WHERE r.request_id = p_request_id;
    outcome := CASE WHEN prev.body_hash = h AND prev.op = p_op THEN 'duplicate' ELSE 'conflict' END;
    result := prev.result;
END;
$$;

-- A work table of the session (temporary, p_columns its columns): created at its first
-- use in a session and kept, emptied here for the caller and at every commit (ON COMMIT
-- DELETE ROWS). Made and dropped in each transaction instead (ON COMMIT DROP), the
-- sweep's two work tables wrote and removed their catalog rows at every call (an empty
-- batch 4.1–4.2 ms a call with its commit, 1.1–1.2 ms without them) and sent catalog
-- invalidations to every other session. A table made from other columns (the function
-- using it changed while the session lived) is made again.
CREATE OR REPLACE FUNCTION aid_work_table(p_name text, p_columns text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t regclass := to_regclass(format('pg_temp.%I', p_name));
BEGIN
    IF t IS NOT NULL AND obj_description(t, 'pg_class') IS NOT DISTINCT FROM p_columns THEN
        EXECUTE format('DELETE FROM pg_temp.%I', p_name);
        RETURN;
    END IF;
    IF t IS NOT NULL THEN
        EXECUTE format('DROP TABLE pg_temp.%I', p_name);
    END IF;
    EXECUTE format('CREATE TEMP TABLE %I (%s) ON COMMIT DELETE ROWS', p_name, p_columns);
    EXECUTE format('COMMENT ON TABLE pg_temp.%I IS %L', p_name, p_columns);
END;
$$;
-- its callers: the entitlements' functions (the definer's) and the payroll's adjustment,
-- which the benefits service runs with its own rights
REVOKE ALL ON FUNCTION aid_work_table(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_work_table(text, text) TO aid_benefits;
