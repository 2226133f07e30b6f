-- ops/sql/70_care.sql — care: the roster, visit schedules and plans, visits, caregiver
-- scores.
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.

-- The cases of p_township (NULL: all) or case p_case with their latest
-- report on p_on, counting only settled reports: a report whose move is
-- pending or rejected is not the household's latest.
CREATE OR REPLACE FUNCTION aid_roster(p_township text, p_case bigint, p_on date)
RETURNS TABLE (case_id bigint, report_id bigint, township text, village text)
LANGUAGE sql STABLE AS $$
    SELECT l.case_id, l.report_id, l.township, l.village FROM (
        SELECT DISTINCT ON (r.case_id) r.case_id, r.report_id, r.township::text AS township,
               r.village::text AS village
          FROM reports r
         WHERE EXISTS (SELECT 1 FROM assessed_persons ap WHERE ap.report_id = r.report_id)
           AND aid_china_date(r.received_at) <= p_on
           AND (p_case IS NULL OR r.case_id = p_case)
           AND (p_township IS NULL
                OR r.case_id IN (SELECT r2.case_id FROM reports r2
                                 WHERE r2.township = p_township::bpchar))
           AND aid_report_settled(r.report_id)
         ORDER BY r.case_id, r.report_id DESC) l
     WHERE p_township IS NULL OR l.township = p_township
$$;

CREATE OR REPLACE FUNCTION aid_bump_schedules(p_cases bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO visit_schedule_versions AS s (township, version)
    SELECT t.township, 1
      FROM (SELECT DISTINCT r.township FROM reports r WHERE r.case_id = ANY (p_cases)) t
     ORDER BY t.township
    ON CONFLICT (township) DO UPDATE SET version = s.version + 1
$$;

-- When the next visit is due: one period after the last visit, or after the
-- case's first report when nobody has visited yet. Month ends clamp like
-- common/date.c (01-31 + 1 month = 02-28). NULL for 'none'.
CREATE OR REPLACE FUNCTION aid_visit_due(p_every text, p_first date, p_last date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT (coalesce(p_last, p_first)
            + CASE p_every WHEN 'month' THEN interval '1 month'
                           WHEN 'quarter' THEN interval '3 months' END)::date
$$;

CREATE OR REPLACE FUNCTION aid_visit_plans(p_township text, p_id text, p_on date, p_visits_before date)
RETURNS TABLE (id_hash bytea, id_enc bytea, name text, case_id bigint, township text,
               village text, every text, first_on date, last_on date, due_on date)
LANGUAGE sql STABLE AS $$
    SELECT ap.id_hash, m.id_enc, ap.name, l.case_id, l.township, l.village, ap.visit_every,
           f.first_on, v.last_on, aid_visit_due(ap.visit_every, f.first_on, v.last_on)
      FROM aid_roster(p_township,
                      CASE WHEN p_id IS NULL THEN NULL
                           ELSE (SELECT m.case_id FROM case_members m
                                  WHERE m.id_hash = decode(p_id, 'hex'))
                      END, p_on) l
      JOIN assessed_persons ap ON ap.report_id = l.report_id AND ap.visit_every <> 'none'
      JOIN case_members m ON m.id_hash = ap.id_hash
     CROSS JOIN LATERAL (SELECT min(r.as_of) AS first_on FROM reports r
                          WHERE r.case_id = l.case_id
                            AND aid_china_date(r.received_at) <= p_on) f
      LEFT JOIN LATERAL (SELECT max(x.visited_on) AS last_on FROM visits x
                          WHERE x.id_hash = ap.id_hash
                            AND x.visited_on < p_visits_before) v ON true
     WHERE p_id IS NULL OR ap.id_hash = decode(p_id, 'hex')
$$;

-- visit.record: a visit is recorded where the household lives (its
-- latest settled report), not where a report about it was last filed.
CREATE OR REPLACE FUNCTION aid_record_visit(p_request text, p_id text, p_case bigint,
                                            p_visited_on date, p_visitor text, p_method text,
                                            p_living text, p_health text, p_care text,
                                            p_needs text, p_symptoms boolean, p_report bigint,
                                            OUT visit_id bigint, OUT every text,
                                            OUT next_due_on date)
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    v text;
BEGIN
    SELECT r.township, r.village INTO t, v FROM reports r
     WHERE r.case_id = p_case AND aid_report_settled(r.report_id)
     ORDER BY r.report_id DESC LIMIT 1;
    INSERT INTO visits (id_hash, case_id, township, village, visited_on, visitor, method,
                        living, health, care, needs, symptoms, report_id, request_id)
    VALUES (decode(p_id, 'hex'), p_case, t, v, p_visited_on, p_visitor, p_method, p_living,
            p_health, p_care, p_needs, p_symptoms, p_report, p_request)
    RETURNING visits.visit_id INTO visit_id;
    PERFORM aid_bump_schedules(ARRAY[p_case]);
    SELECT p.every, p.due_on INTO every, next_due_on
      FROM aid_visit_plans(NULL, p_id, 'infinity', 'infinity') p;
END;
$$;

-- caregiver.score: p_id is the person's hex id_hash (p_masked the masked ID
-- number for the measure, as before).
CREATE OR REPLACE FUNCTION aid_caregiver_score(p_request text, p_id text, p_month date,
                                               p_caregiver text, p_score int, p_case bigint,
                                               p_report bigint, p_idx int, p_masked text,
                                               OUT outcome text, OUT passed boolean,
                                               OUT pass_mark int, OUT referral_id bigint,
                                               OUT task_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    s bigint;
    reason text;
    h bytea := decode(p_id, 'hex');
BEGIN
    IF EXISTS (SELECT 1 FROM caregiver_scores c WHERE c.id_hash = h AND c.month = p_month)
    THEN
        outcome := 'conflict';
        RETURN;
    END IF;
    SELECT coalesce((SELECT p.value FROM params p
                      WHERE p.name = 'P_CAREGIVER_PASS' AND p.effective_from <= p_month
                      ORDER BY p.effective_from DESC, p.created_at DESC LIMIT 1), 60)::int
      INTO pass_mark;
    passed := p_score >= pass_mark;
    IF NOT passed THEN
        UPDATE dept_streams d SET last_seq = d.last_seq + 1
         WHERE d.department = 'care' RETURNING d.last_seq INTO s;
        INSERT INTO referrals (report_id, case_id, department, seq, issued_by)
        VALUES (p_report, p_case, 'care', s, 'caregiver.score')
        RETURNING referrals.referral_id INTO referral_id;
    END IF;
    INSERT INTO caregiver_scores (id_hash, month, caregiver, score, pass_mark, passed,
                                  referral_id, request_id)
    VALUES (h, p_month, p_caregiver, p_score, pass_mark, passed, referral_id, p_request)
    ON CONFLICT (id_hash, month) DO NOTHING;
    IF NOT FOUND THEN
        -- a concurrent score won the race; the caller rolls back, so the
        -- referral above never becomes visible
        outcome := 'conflict';
        RETURN;
    END IF;
    outcome := 'ok';
    IF passed THEN
        RETURN;
    END IF;
    reason := format('caregiver scored %s for %s, below the pass mark %s: revoked at once; '
                     'a new caregiver is to be found', p_score, to_char(p_month, 'YYYY-MM'),
                     pass_mark);
    PERFORM aid_record_decision(referral_id, 'granted', reason, ARRAY['R-CAREGIVER'],
                                ARRAY['care.caregiver_revoked'], ARRAY[p_idx], ARRAY[p_masked],
                                ARRAY[0::bigint], ARRAY['once'], ARRAY['service'],
                                'caregiver.score');
    INSERT INTO care_tasks (kind, case_id, id_hash, referral_id, note)
    VALUES ('find_caregiver', p_case, h, referral_id,
            format('find a new caregiver: the caregiver failed the score of %s (R-CAREGIVER)',
                   to_char(p_month, 'YYYY-MM')))
    RETURNING care_tasks.task_id INTO task_id;
END;
$$;
