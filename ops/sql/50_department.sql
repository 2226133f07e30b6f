-- ops/sql/50_department.sql — decisions: a department's claim and record steps, the one
-- set-based write.
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.
--
-- The claim and the dequeue run generic plans (made once per session, for any
-- department and any depth of its queue), and a generic plan is as good as the
-- statistics when it was made: analysed while a department's queue held a few
-- rows, both read every queued row of the department (7 and 5 ms a step behind
-- a backlog of 20,000, whatever the batch). Each is now written so that no
-- statistics can lead there (test_41): the claim below, the dequeue here.

-- The decided referrals leave their department's queue: each row found by one
-- lookup of the queue's keys (department, seq), then deleted by its address.
-- A subquery with LIMIT 1 is never turned into a join: as a join, or as
-- department = ANY (…) AND seq = ANY (…), it was planned with the department as
-- the only index condition or with the queue on the outer side. referral_id
-- keeps one department's seq from matching another's row.
CREATE OR REPLACE FUNCTION aid_dequeue_referrals(p_depts text[], p_seqs bigint[],
                                                 p_refs bigint[])
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    DELETE FROM referral_queue q
     WHERE q.ctid = ANY (ARRAY(
               SELECT x.ctid
                 FROM unnest(p_depts, p_seqs, p_refs) AS u(d, s, r)
                 CROSS JOIN LATERAL (SELECT k.ctid FROM referral_queue k
                                      WHERE k.department = u.d AND k.seq = u.s
                                        AND k.referral_id = u.r
                                      LIMIT 1) x));
END;
$$;

-- The one recording logic: decisions, their measures and the referrals' completion for
-- a batch, each referral's decided_by in p_bys. Callers check who may decide what.
CREATE OR REPLACE FUNCTION aid_apply_decisions_by(p_refs bigint[], p_status text[],
                                                  p_reason text[], p_rules text[],
                                                  p_m_ref bigint[], p_m_ord int[],
                                                  p_codes text[], p_persons int[],
                                                  p_masks text[], p_amounts bigint[],
                                                  p_periods text[], p_forms text[],
                                                  p_bys text[])
RETURNS TABLE (o_referral_id bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
DECLARE
    v_done bigint[];
    v_open bigint[];
    v_depts text[];
    v_seqs bigint[];
BEGIN
    -- a granted decision citing R-DIBAO-REVIEW or R-TEKUN-REVIEW is stored as the
    -- proposal, in_review (POLICY.md §16); its review, and the sign-off an
    -- R-TEMP-EMERG grant owes, are opened for the whole batch afterwards by one
    -- aid_reviews_open call (ops/sql/55_casework.sql), not by a trigger per row
    WITH ms AS (
        SELECT m.r, array_agg(m.code ORDER BY m.ord) AS codes,
               array_agg(m.person ORDER BY m.ord) AS persons,
               array_agg(m.mask ORDER BY m.ord) AS masks,
               array_agg(m.amount ORDER BY m.ord) AS amounts,
               array_agg(m.period ORDER BY m.ord) AS periods,
               array_agg(m.form ORDER BY m.ord) AS forms
          FROM unnest(p_m_ref, p_m_ord, p_codes, p_persons, p_masks, p_amounts, p_periods,
                      p_forms) AS m(r, ord, code, person, mask, amount, period, form)
         GROUP BY m.r
    ), fresh AS (
        INSERT INTO decisions (referral_id, status, reason, rules, decided_by, m_code, m_person,
                               m_id_masked, m_amount_fen, m_period, m_form)
        SELECT t.r,
               CASE WHEN t.s = 'granted'
                         AND t.rules && ARRAY['R-DIBAO-REVIEW', 'R-TEKUN-REVIEW']
                    THEN 'in_review' ELSE t.s END,
               t.reason, t.rules,
               t.by, coalesce(ms.codes, '{}'), coalesce(ms.persons, '{}'),
               coalesce(ms.masks, '{}'), coalesce(ms.amounts, '{}'),
               coalesce(ms.periods, '{}'), coalesce(ms.forms, '{}')
          FROM (SELECT u.r, u.s, u.reason,
                       CASE WHEN u.rules = '' THEN '{}'::text[]
                            ELSE string_to_array(u.rules, ',') END AS rules, u.by
                  FROM unnest(p_refs, p_status, p_reason, p_rules, p_bys)
                       AS u(r, s, reason, rules, by)) t
          LEFT JOIN ms ON ms.r = t.r
        ON CONFLICT (referral_id) DO NOTHING
        RETURNING decisions.referral_id AS r, decisions.status AS s,
                  decisions.status IN ('in_review', 'granted')
                  AND decisions.rules && ARRAY['R-DIBAO-REVIEW', 'R-TEKUN-REVIEW',
                                               'R-TEMP-EMERG'] AS opens
    ), done AS (
        UPDATE referrals f SET status = fresh.s, decided_at = now()
          FROM fresh
         WHERE f.referral_id = fresh.r
        RETURNING f.referral_id, f.department, f.seq, fresh.opens
    )
    SELECT coalesce(array_agg(done.referral_id), '{}'),
           coalesce(array_agg(done.referral_id) FILTER (WHERE done.opens), '{}'),
           coalesce(array_agg(done.department), '{}'), coalesce(array_agg(done.seq), '{}')
      INTO v_done, v_open, v_depts, v_seqs
      FROM done;
    PERFORM aid_dequeue_referrals(v_depts, v_seqs, v_done);
    IF cardinality(v_open) > 0 THEN
        PERFORM aid_reviews_open(v_open);
    END IF;
    RETURN QUERY SELECT unnest(v_done);
END;
$$;

-- The same with one decided_by for the whole batch (a department, an external one's
-- "external:<department>").
CREATE OR REPLACE FUNCTION aid_apply_decisions(p_refs bigint[], p_status text[], p_reason text[],
                                               p_rules text[], p_m_ref bigint[], p_m_ord int[],
                                               p_codes text[], p_persons int[], p_masks text[],
                                               p_amounts bigint[], p_periods text[],
                                               p_forms text[], p_by text)
RETURNS TABLE (o_referral_id bigint)
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY
    SELECT x.o_referral_id
      FROM aid_apply_decisions_by(p_refs, p_status, p_reason, p_rules, p_m_ref, p_m_ord,
                                  p_codes, p_persons, p_masks, p_amounts, p_periods, p_forms,
                                  array_fill(p_by, ARRAY[coalesce(cardinality(p_refs), 0)])) x;
END;
$$;

-- One decision (aid_caregiver_score): aid_apply_decisions with one row, the one
-- recording logic. True when recorded now, false when the referral was already decided.
CREATE OR REPLACE FUNCTION aid_record_decision(p_referral bigint, p_status text, p_reason text,
                                               p_rules text[], p_codes text[], p_persons int[],
                                               p_masks text[], p_amounts bigint[],
                                               p_periods text[], p_forms text[], p_by text)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(cardinality(p_codes), 0);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM referrals f WHERE f.referral_id = p_referral) THEN
        RAISE EXCEPTION 'no referral %', p_referral USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN EXISTS (
        SELECT 1
          FROM aid_apply_decisions(ARRAY[p_referral], ARRAY[p_status], ARRAY[p_reason],
                                   ARRAY[array_to_string(coalesce(p_rules, '{}'), ',')],
                                   array_fill(p_referral, ARRAY[n]),
                                   ARRAY(SELECT generate_series(1, n)),
                                   coalesce(p_codes, '{}'), coalesce(p_persons, '{}'),
                                   coalesce(p_masks, '{}'), coalesce(p_amounts, '{}'),
                                   coalesce(p_periods, '{}'), coalesce(p_forms, '{}'), p_by));
END;
$$;

CREATE OR REPLACE FUNCTION aid_dept_claim(p_limit int)
RETURNS TABLE (o_referral_id bigint, o_case_id bigint, o_body bytea, o_data bytea,
               o_age_us bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off  -- and so its only plan: the index walk its LIMIT stops
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

REVOKE ALL ON FUNCTION aid_dept_claim(int) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION aid_dept_claim(int) TO aid_department;

-- Retired: the department's checks are aid_dept_record's own again (their one caller),
-- and the host records every department of a step in one aid_host_record (below).
DROP FUNCTION IF EXISTS aid_record_for(text, bigint[], text[], text[], text[], bigint[], int[],
                                       text[], int[], text[], bigint[], text[], text[], text);
DROP FUNCTION IF EXISTS aid_host_record(text, bigint[], text[], text[], text[], bigint[], int[],
                                        text[], int[], text[], bigint[], text[], text[], text);

CREATE OR REPLACE FUNCTION aid_dept_record(p_refs bigint[], p_status text[], p_reason text[],
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
      FROM aid_apply_decisions_by(p_refs, p_status, p_reason, p_rules, p_m_ref, p_m_ord,
                                  p_codes, p_persons, p_masks, p_amounts, p_periods, p_forms,
                                  array_fill(p_by, ARRAY[cardinality(p_refs)])) x;
END;
$$;

REVOKE ALL ON FUNCTION aid_dept_record(bigint[], text[], text[], text[], bigint[], int[],
                                       text[], int[], text[], bigint[], text[], text[], text)
    FROM PUBLIC;

GRANT EXECUTE ON FUNCTION aid_dept_record(bigint[], text[], text[], text[], bigint[], int[],
                                          text[], int[], text[], bigint[], text[], text[],
                                          text)
    TO aid_department;

-- The departments host (services/departments, migration 124): one session deciding for
-- several built-in departments, each step one transaction and two statements for all of
-- them — a claim over their queues, one aid_host_record of every decision. Only the
-- host's own role may call these; the departments it names must be built-in ones.
CREATE OR REPLACE FUNCTION aid_host_check(p_fn text, p_depts text[])
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF session_user::text <> 'aid_departments' THEN
        RAISE EXCEPTION '%: % is not the departments host', p_fn, session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_depts IS NULL OR EXISTS (
           SELECT 1 FROM unnest(p_depts) d
            WHERE d IS NULL OR d NOT IN ('civil', 'tempaid', 'medical', 'education', 'housing',
                                         'employment', 'relief', 'social', 'care')) THEN
        RAISE EXCEPTION '%: % names a department that is not built in', p_fn, p_depts
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

REVOKE ALL ON FUNCTION aid_host_check(text, text[]) FROM PUBLIC;

-- Up to p_limit pending referrals of each department, each department's oldest first,
-- locked (FOR UPDATE SKIP LOCKED: two hosts, or a host and a department's own process,
-- never take the same row); each department's rows read as aid_dept_claim reads them.
-- Returned report by report: a report's body and assessment come with the first of its
-- referrals only (NULL on the others), so the host decodes each once, not once per
-- department (4.3 referrals a report in make bench).
CREATE OR REPLACE FUNCTION aid_host_claim(p_depts text[], p_limit int)
RETURNS TABLE (o_department text, o_referral_id bigint, o_case_id bigint, o_body bytea,
               o_data bytea, o_age_us bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off  -- each department's index walk, stopped by its LIMIT
AS $$
BEGIN
    PERFORM aid_host_check('aid_host_claim', p_depts);
    RETURN QUERY
    WITH q AS (SELECT x.department, x.referral_id, x.seq
                 FROM unnest(p_depts) AS u(d)
                 CROSS JOIN LATERAL (SELECT rq.department, rq.referral_id, rq.seq
                                       FROM referral_queue rq
                                      WHERE rq.department = u.d
                                      ORDER BY rq.seq LIMIT p_limit
                                        FOR UPDATE SKIP LOCKED) x)
    SELECT x.department, x.referral_id, x.case_id,
           CASE WHEN x.first THEN r.body END, CASE WHEN x.first THEN a.data END, x.age_us
      FROM (SELECT q.department, f.referral_id, f.case_id, f.report_id,
                   f.report_id IS DISTINCT FROM lag(f.report_id) OVER w AS first,
                   (extract(epoch FROM clock_timestamp() - f.created_at) * 1000000)::bigint
                       AS age_us
              FROM q JOIN referrals f USING (referral_id)
            WINDOW w AS (ORDER BY f.report_id, q.department)) x
      JOIN reports r ON r.report_id = x.report_id
      JOIN assessments a ON a.report_id = x.report_id
     ORDER BY x.report_id, x.department;
END;
$$;

REVOKE ALL ON FUNCTION aid_host_claim(text[], int) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION aid_host_claim(text[], int) TO aid_departments;

-- The decisions of one host step, every department's: p_depts names each referral's
-- department, and each is recorded as decided by that department, or by an instance
-- of it when p_instance is given ('civil.2' from the host's instance 2).
CREATE OR REPLACE FUNCTION aid_host_record(p_depts text[], p_refs bigint[], p_status text[],
                                           p_reason text[], p_rules text[], p_m_ref bigint[],
                                           p_m_ord int[], p_codes text[], p_persons int[],
                                           p_masks text[], p_amounts bigint[],
                                           p_periods text[], p_forms text[], p_instance text)
RETURNS TABLE (o_referral_id bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
DECLARE
    v_sfx text := CASE WHEN coalesce(p_instance, '') = '' THEN '' ELSE '.' || p_instance END;
BEGIN
    PERFORM aid_host_check('aid_host_record', p_depts);
    IF cardinality(p_depts) IS DISTINCT FROM cardinality(p_refs) THEN
        RAISE EXCEPTION 'aid_host_record: % departments for % referrals',
                        cardinality(p_depts), cardinality(p_refs)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_refs, p_depts) u(r, d)
                LEFT JOIN referrals f ON f.referral_id = u.r
                WHERE f.department IS DISTINCT FROM u.d) THEN
        RAISE EXCEPTION 'aid_host_record: a referral among % is not of the department named for it',
                        p_refs
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- every referral exists (checked above): no second check
    RETURN QUERY
    SELECT x.o_referral_id
      FROM aid_apply_decisions_by(p_refs, p_status, p_reason, p_rules, p_m_ref, p_m_ord,
                                  p_codes, p_persons, p_masks, p_amounts, p_periods, p_forms,
                                  ARRAY(SELECT u.d || v_sfx
                                          FROM unnest(p_depts) WITH ORDINALITY u(d, i)
                                         ORDER BY u.i)) x;
END;
$$;

REVOKE ALL ON FUNCTION aid_host_record(text[], bigint[], text[], text[], text[], bigint[], int[],
                                       text[], int[], text[], bigint[], text[], text[], text)
    FROM PUBLIC;

GRANT EXECUTE ON FUNCTION aid_host_record(text[], bigint[], text[], text[], text[], bigint[],
                                          int[], text[], int[], text[], bigint[], text[],
                                          text[], text)
    TO aid_departments;

-- The referrals waiting for the host's departments (its queue-depth gauge).
CREATE OR REPLACE FUNCTION aid_host_depth(p_depts text[])
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    PERFORM aid_host_check('aid_host_depth', p_depts);
    RETURN (SELECT count(*) FROM referral_queue WHERE department = ANY (p_depts));
END;
$$;

REVOKE ALL ON FUNCTION aid_host_depth(text[]) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION aid_host_depth(text[]) TO aid_departments;
