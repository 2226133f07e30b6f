-- 041_dept_steps.sql — a department's two hot statements as functions that
-- check the caller once per batch instead of once per row.
--
-- Row-level security (040) keeps a department role to its own rows in any
-- statement it writes itself; its policies on reports, assessments, decisions
-- and measures are probes of referrals made for every row read or written,
-- which cost the departments about a sixth of their throughput (make bench:
-- 3,742 fully decided reports/s with them, 4,407 without). A department
-- service does only two things on the hot path — claim a batch of its queued
-- referrals with what they need to be decided, and record the decisions —
-- and these functions do exactly that, as the owner (so without per-row
-- probes), for the department of the role that logged in and nothing else:
--
--   aid_dept_claim(limit)   locks up to `limit` queued referrals of the
--                           caller's department (FOR UPDATE SKIP LOCKED) and
--                           returns them with their report and assessment
--   aid_dept_record(...)    aid_record_decisions (022) for a batch of which
--                           every referral is the caller's department's, and
--                           decided_by names that department or a replica
--                           of it ('civil' or 'civil.2')
--
-- The caller is session_user: inside SECURITY DEFINER current_user is the
-- owner. A role that is not a department gets insufficient_privilege.
-- Only aid_department may execute them.
--
-- aid_record_decisions is replaced (same behaviour, its statement moved to
-- aid_apply_decisions) so that taking the decided referrals off
-- referral_queue is always an index lookup. Its plan is generic and made on
-- a session's first call; made while the queue was
-- nearly empty, the join of the old form ran the other way round — every
-- queue row against every decided one — and once a backlog built up each
-- batch took 150 ms instead of a few (auto_explain caught it in one make
-- bench run in four: 1,400 instead of 4,500 decided reports/s).

CREATE FUNCTION aid_session_department() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN session_user::text IN ('aid_civil', 'aid_tempaid', 'aid_medical',
                                            'aid_education', 'aid_housing', 'aid_employment',
                                            'aid_relief', 'aid_social', 'aid_care')
                THEN substr(session_user::text, 5) END
$$;

CREATE FUNCTION aid_dept_claim(p_limit int)
RETURNS TABLE (o_referral_id bigint, o_case_id bigint, o_body bytea, o_data bytea,
               o_age_us bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
DECLARE
    d text := aid_session_department();
BEGIN
    IF d IS NULL THEN
        RAISE EXCEPTION 'aid_dept_claim: % is not a department role', session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY
    WITH q AS (SELECT rq.referral_id, rq.seq FROM referral_queue rq
                WHERE rq.department = d ORDER BY rq.seq LIMIT p_limit
                  FOR UPDATE SKIP LOCKED)
    SELECT f.referral_id, f.case_id, r.body, a.data,
           (extract(epoch FROM clock_timestamp() - f.created_at) * 1000000)::bigint
      FROM q JOIN referrals f USING (referral_id)
      JOIN reports r ON r.report_id = f.report_id
      JOIN assessments a ON a.report_id = f.report_id
     ORDER BY q.seq;
END;
$$;

CREATE FUNCTION aid_dept_record(p_refs bigint[], p_status text[], p_reason text[],
                                p_rules text[], p_m_ref bigint[], p_m_ord int[],
                                p_codes text[], p_persons int[], p_masks text[],
                                p_amounts bigint[], p_periods text[], p_forms text[],
                                p_by text)
RETURNS TABLE (o_referral_id bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
DECLARE
    d text := aid_session_department();
BEGIN
    IF d IS NULL THEN
        RAISE EXCEPTION 'aid_dept_record: % is not a department role', session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_by IS NULL OR (p_by <> d AND p_by NOT LIKE d || '.%') THEN
        RAISE EXCEPTION 'aid_dept_record: % cannot decide as %', session_user, p_by
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_refs) r LEFT JOIN referrals f ON f.referral_id = r
                WHERE f.department IS DISTINCT FROM d) THEN
        RAISE EXCEPTION 'aid_dept_record: a referral among % is not one of %''s', p_refs, d
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- every referral exists (checked above): no second check
    RETURN QUERY
    SELECT x.o_referral_id
      FROM aid_apply_decisions(p_refs, p_status, p_reason, p_rules, p_m_ref, p_m_ord,
                               p_codes, p_persons, p_masks, p_amounts, p_periods,
                               p_forms, p_by) x;
END;
$$;

REVOKE ALL ON FUNCTION aid_session_department() FROM PUBLIC;
REVOKE ALL ON FUNCTION aid_dept_claim(int) FROM PUBLIC;
REVOKE ALL ON FUNCTION aid_dept_record(bigint[], text[], text[], text[], bigint[], int[],
                                       text[], int[], text[], bigint[], text[], text[], text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_session_department() TO aid_department;
GRANT EXECUTE ON FUNCTION aid_dept_claim(int) TO aid_department;
GRANT EXECUTE ON FUNCTION aid_dept_record(bigint[], text[], text[], text[], bigint[], int[],
                                          text[], int[], text[], bigint[], text[], text[],
                                          text)
    TO aid_department;

-- aid_apply_decisions: the statement of aid_record_decisions (022) without
-- its existence check, for callers that checked already (aid_dept_record).
-- It runs with the caller's rights: a department role calling it directly
-- is held by row-level security like any statement of its own.
CREATE FUNCTION aid_apply_decisions(p_refs bigint[], p_status text[], p_reason text[],
                                    p_rules text[], p_m_ref bigint[], p_m_ord int[],
                                    p_codes text[], p_persons int[], p_masks text[],
                                    p_amounts bigint[], p_periods text[], p_forms text[],
                                    p_by text)
RETURNS TABLE (o_referral_id bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
BEGIN
    RETURN QUERY
    WITH fresh AS (
        INSERT INTO decisions (referral_id, status, reason, rules, decided_by)
        SELECT t.r, t.s, t.reason,
               CASE WHEN t.rules = '' THEN '{}'::text[] ELSE string_to_array(t.rules, ',') END,
               p_by
          FROM unnest(p_refs, p_status, p_reason, p_rules) AS t(r, s, reason, rules)
        ON CONFLICT (referral_id) DO NOTHING
        RETURNING decisions.referral_id AS r, decisions.status AS s
    ), ms AS (
        INSERT INTO measures (referral_id, ord, code, person_idx, id_masked, amount_fen,
                              period, form)
        SELECT m.r, m.ord, m.code, m.person, m.mask, m.amount, m.period, m.form
          FROM unnest(p_m_ref, p_m_ord, p_codes, p_persons, p_masks, p_amounts, p_periods,
                      p_forms) AS m(r, ord, code, person, mask, amount, period, form)
         WHERE m.r IN (SELECT fresh.r FROM fresh)
    ), done AS (
        UPDATE referrals f SET status = fresh.s, decided_at = now()
          FROM fresh
         WHERE f.referral_id = fresh.r
        RETURNING f.referral_id, f.department, f.seq
    ), dequeued AS (
        -- the = ANY conditions are the index's keys (a lookup whatever the
        -- statistics said when the plan was made); the pair check keeps a
        -- department's seq from matching another department's row
        DELETE FROM referral_queue q
         WHERE q.department = ANY (ARRAY(SELECT DISTINCT done.department FROM done))
           AND q.seq = ANY (ARRAY(SELECT done.seq FROM done))
           AND (q.department, q.seq) IN (SELECT done.department, done.seq FROM done)
    )
    SELECT done.referral_id FROM done;
END;
$$;

-- As in 022: every referral must exist (a batch naming an unknown one fails
-- as a whole), then the decisions.
CREATE OR REPLACE FUNCTION aid_record_decisions(p_refs bigint[], p_status text[],
                                                p_reason text[], p_rules text[],
                                                p_m_ref bigint[], p_m_ord int[],
                                                p_codes text[], p_persons int[], p_masks text[],
                                                p_amounts bigint[], p_periods text[],
                                                p_forms text[], p_by text)
RETURNS TABLE (o_referral_id bigint)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(p_refs) r
                WHERE NOT EXISTS (SELECT 1 FROM referrals f WHERE f.referral_id = r)) THEN
        RAISE EXCEPTION 'no referral among %', p_refs USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN QUERY
    SELECT x.o_referral_id
      FROM aid_apply_decisions(p_refs, p_status, p_reason, p_rules, p_m_ref, p_m_ord,
                               p_codes, p_persons, p_masks, p_amounts, p_periods,
                               p_forms, p_by) x;
END;
$$;
