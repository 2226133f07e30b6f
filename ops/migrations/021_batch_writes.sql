-- 021_batch_writes.sql — the fan-out writes of a whole batch in one statement each.
--
-- aid_record_assessment / aid_record_decision (002) do one report or one
-- referral per call; under load that is a function call, three to six
-- statements and a round trip per row. These are their batch forms, with the
-- same effects row for row, set-based inside: eligibility and the
-- departments call them once per claimed batch, in the batch's transaction.
-- Keep each in step with its single-row form. Their statements use generic
-- plans (plan_cache_mode), made once per session.

-- aid_record_assessments: for every report of the batch, the assessment, its
-- per-person rows, the report marked assessed, and one referral per routed
-- department with the next seqs of that department's stream (in batch
-- order). The streams are locked in name order first, so concurrent
-- eligibility replicas cannot deadlock. Arrays:
--   reports:  p_reports, p_cases, p_data (hex of the MessagePack assessment)
--   persons:  p_p_report, p_p_idx, p_ids, p_names, p_ages, p_groups
--             (comma-separated), p_sup, p_visit, p_care
--   routes:   p_r_report, p_r_dept (in routing order per report)
CREATE FUNCTION aid_record_assessments(p_reports bigint[], p_cases bigint[], p_data text[],
                                       p_p_report bigint[], p_p_idx int[], p_ids text[],
                                       p_names text[], p_ages int[], p_groups text[],
                                       p_sup bigint[], p_visit text[], p_care int[],
                                       p_r_report bigint[], p_r_dept text[])
RETURNS TABLE (o_report bigint, o_case bigint, o_department text, o_referral_id bigint,
               o_seq bigint)
LANGUAGE plpgsql
-- plans made once per session: re-planning every statement for every batch (custom
-- plans for new array parameters) cost a fifth of the backend's time
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    INSERT INTO assessments (report_id, data)
    SELECT t.r, decode(t.h, 'hex') FROM unnest(p_reports, p_data) AS t(r, h);
    INSERT INTO assessed_persons (report_id, idx, id_number, name, age, groups,
                                  supplement_fen, visit_every, care_category)
    SELECT t.r, t.i, t.id, t.name, t.age,
           CASE WHEN t.g = '' THEN '{}'::text[] ELSE string_to_array(t.g, ',') END,
           t.sup, t.visit, t.care
      FROM unnest(p_p_report, p_p_idx, p_ids, p_names, p_ages, p_groups, p_sup, p_visit, p_care)
           AS t(r, i, id, name, age, g, sup, visit, care);
    UPDATE reports SET assessed_at = now() WHERE report_id = ANY (p_reports);
    PERFORM 1 FROM dept_streams WHERE department = ANY (p_r_dept)
     ORDER BY department FOR UPDATE;
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
    )
    SELECT * FROM made ORDER BY made.referral_id;
END;
$$;

-- aid_record_decisions: a department's decisions for a batch of referrals,
-- their measures and the referrals' completion. A referral already decided
-- is left as it is (the decisions primary key; a redelivery is a no-op).
-- Returns the referrals decided by this call. Arrays:
--   decisions: p_refs, p_status, p_reason, p_rules (comma-separated rule ids)
--   measures:  p_m_ref, p_m_ord, p_codes, p_persons, p_masks, p_amounts,
--              p_periods, p_forms
CREATE FUNCTION aid_record_decisions(p_refs bigint[], p_status text[], p_reason text[],
                                     p_rules text[], p_m_ref bigint[], p_m_ord int[],
                                     p_codes text[], p_persons int[], p_masks text[],
                                     p_amounts bigint[], p_periods text[], p_forms text[],
                                     p_by text)
RETURNS TABLE (o_referral_id bigint)
LANGUAGE plpgsql
-- plans made once per session: re-planning every statement for every batch (custom
-- plans for new array parameters) cost a fifth of the backend's time
SET plan_cache_mode = force_generic_plan
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
        RETURNING f.referral_id
    )
    SELECT done.referral_id FROM done;
END;
$$;

-- aid_submit_reports: report.submit for a batch of reports that share no
-- person and no request id with each other (intake sends any report that
-- does through aid_submit_report, in the same transaction, so the order of
-- joining a household stays exactly that of the single-row form). Per
-- report the effects are those of aid_submit_report (001): the idempotency
-- record, the household joined to its smallest existing case (any member's
-- ID number) or a new case, the members, the canonical report. Every
-- person of the batch is locked first, in one sorted pass (the advisory
-- locks aid_submit_report takes), so concurrent intakes serialise on shared
-- persons and cannot deadlock among themselves. Arrays (report k = k-th
-- element, 1-based):
--   reports: p_request, p_raw, p_source, p_as_of, p_township, p_village,
--            p_urgent, p_body
--   persons: p_p_ord (the report's k), p_ids, p_names
-- Returns one row per report: k, report_id, case_id and the outcome 'new',
-- 'duplicate' (same id, same body: the first result) or 'conflict'.
CREATE FUNCTION aid_submit_reports(p_request text[], p_raw bytea[], p_source text[],
                                   p_as_of date[], p_township text[], p_village text[],
                                   p_urgent boolean[], p_body bytea[], p_p_ord int[],
                                   p_ids text[], p_names text[])
RETURNS TABLE (o_ord int, o_report_id bigint, o_case_id bigint, o_outcome text)
LANGUAGE plpgsql
-- plans made once per session: re-planning every statement for every batch (custom
-- plans for new array parameters) cost a fifth of the backend's time
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_fresh int[];
    v_ord int[];
    v_case bigint[];
    v_new bigint[];
    v_missing int := 0;
    j int := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(s.u, 0))
       FROM (SELECT DISTINCT u FROM unnest(p_ids) u ORDER BY u) s;
    WITH inp AS (
        SELECT t.ord::int AS ord, t.req, sha256(t.raw) AS h
          FROM unnest(p_request, p_raw) WITH ORDINALITY AS t(req, raw, ord)
    ), ins AS (
        INSERT INTO requests (request_id, op, body_hash)
        SELECT inp.req, 'report.submit', inp.h FROM inp ORDER BY inp.ord
        ON CONFLICT DO NOTHING
        RETURNING requests.request_id
    )
    SELECT coalesce(array_agg(inp.ord ORDER BY inp.ord), '{}') INTO v_fresh
      FROM inp JOIN ins ON ins.request_id = inp.req;

    -- ids seen before: the first result, or a conflict
    RETURN QUERY
    SELECT t.ord::int, q.report_id, q.case_id,
           CASE WHEN q.body_hash = sha256(t.raw) AND q.op = 'report.submit'
                THEN 'duplicate' ELSE 'conflict' END
      FROM unnest(p_request, p_raw) WITH ORDINALITY AS t(req, raw, ord)
      JOIN requests q ON q.request_id = t.req
     WHERE NOT (t.ord::int = ANY (v_fresh));

    -- the case of each new report: the smallest existing case of a member
    SELECT coalesce(array_agg(x.o ORDER BY x.o), '{}'), coalesce(array_agg(x.c ORDER BY x.o), '{}')
      INTO v_ord, v_case
      FROM (SELECT p.o, min(m.case_id) AS c
              FROM unnest(p_p_ord, p_ids) AS p(o, id)
              LEFT JOIN case_members m ON m.id_number = p.id::char(18)
             WHERE p.o = ANY (v_fresh)
             GROUP BY p.o) x;
    -- … or a new case, handed out in batch order
    SELECT count(*) INTO v_missing FROM unnest(v_case) c WHERE c IS NULL;
    IF v_missing > 0 THEN
        WITH made AS (
            INSERT INTO cases (created_at) SELECT now() FROM generate_series(1, v_missing)
            RETURNING cases.case_id
        )
        SELECT array_agg(made.case_id ORDER BY made.case_id) INTO v_new FROM made;
        FOR i IN 1 .. coalesce(array_length(v_case, 1), 0) LOOP
            IF v_case[i] IS NULL THEN
                j := j + 1;
                v_case[i] := v_new[j];
            END IF;
        END LOOP;
    END IF;

    INSERT INTO case_members (id_number, case_id, name)
    SELECT p.id, c.case_id, p.name
      FROM unnest(p_p_ord, p_ids, p_names) AS p(o, id, name)
      JOIN unnest(v_ord, v_case) AS c(o, case_id) ON c.o = p.o
    ON CONFLICT DO NOTHING;

    RETURN QUERY
    WITH made AS (
        INSERT INTO reports (case_id, request_id, source, as_of, township, village, urgent, body)
        SELECT c.case_id, t.req, t.src, t.as_of, t.tw, t.vi, t.urg, t.body
          FROM unnest(p_request, p_source, p_as_of, p_township, p_village, p_urgent, p_body)
               WITH ORDINALITY AS t(req, src, as_of, tw, vi, urg, body, ord)
          JOIN unnest(v_ord, v_case) AS c(o, case_id) ON c.o = t.ord
         ORDER BY t.ord
        RETURNING reports.report_id, reports.case_id, reports.request_id
    ), upd AS (
        UPDATE requests q SET report_id = made.report_id, case_id = made.case_id
          FROM made
         WHERE q.request_id = made.request_id
    )
    SELECT t.ord::int, made.report_id, made.case_id, 'new'::text
      FROM made JOIN unnest(p_request) WITH ORDINALITY AS t(req, ord) ON t.req = made.request_id;
END;
$$;
