-- ops/sql/40_eligibility.sql — recording assessments (the eligibility service).
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.

CREATE OR REPLACE FUNCTION aid_record_assessments(p_reports bigint[], p_cases bigint[],
                                                  p_data text[], p_p_report bigint[],
                                                  p_p_idx int[], p_ids text[], p_names text[],
                                                  p_ages int[], p_groups text[], p_sup bigint[],
                                                  p_visit text[], p_care int[],
                                                  p_r_report bigint[], p_r_dept text[])
RETURNS TABLE (o_report bigint, o_case bigint, o_department text, o_referral_id bigint,
               o_seq bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
BEGIN
    INSERT INTO assessments (report_id, data)
    SELECT t.r, decode(t.h, 'hex') FROM unnest(p_reports, p_data) AS t(r, h);
    INSERT INTO assessed_persons (report_id, idx, id_hash, name, age, groups,
                                  supplement_fen, visit_every, care_category)
    SELECT t.r, t.i, decode(t.id, 'hex'), t.name, t.age,
           CASE WHEN t.g = '' THEN '{}'::text[] ELSE string_to_array(t.g, ',') END,
           t.sup, t.visit, t.care
      FROM unnest(p_p_report, p_p_idx, p_ids, p_names, p_ages, p_groups, p_sup, p_visit, p_care)
           AS t(r, i, id, name, age, g, sup, visit, care);
    -- the assessment is what marks the report assessed (migration 122); the
    -- visit schedules of its township change with it
    PERFORM aid_bump_schedules(p_cases);
    DELETE FROM report_queue q WHERE q.report_id = ANY (p_reports);
    PERFORM 1 FROM dept_streams WHERE department = ANY (p_r_dept)
     ORDER BY department FOR UPDATE;
    IF EXISTS (SELECT 1 FROM unnest(p_r_dept) d
                WHERE NOT EXISTS (SELECT 1 FROM dept_streams s WHERE s.department = d)) THEN
        RAISE EXCEPTION 'unknown department in %', p_r_dept;
    END IF;
    RETURN QUERY
    WITH routes AS (
        SELECT t.r, t.d, t.ord, row_number() OVER (PARTITION BY t.d ORDER BY t.ord) AS k
          FROM unnest(p_r_report, p_r_dept) WITH ORDINALITY AS t(r, d, ord)
    ), counts AS (
        SELECT routes.d, count(*) AS n FROM routes GROUP BY routes.d
    ), bumped AS (
        UPDATE dept_streams s SET last_seq = s.last_seq + c.n
          FROM counts c
         WHERE s.department = c.d
        RETURNING s.department AS d, s.last_seq - c.n AS first
    ), made AS (
        INSERT INTO referrals (report_id, case_id, department, seq)
        SELECT ro.r, rep.c, ro.d, b.first + ro.k
          FROM routes ro
          JOIN bumped b ON b.d = ro.d
          JOIN unnest(p_reports, p_cases) AS rep(r, c) ON rep.r = ro.r
         ORDER BY ro.ord
        RETURNING referrals.report_id, referrals.case_id, referrals.department,
                  referrals.referral_id, referrals.seq
    ), queued AS (
        INSERT INTO referral_queue (department, seq, referral_id)
        SELECT made.department, made.seq, made.referral_id FROM made
    )
    SELECT * FROM made ORDER BY made.referral_id;
END;
$$;
