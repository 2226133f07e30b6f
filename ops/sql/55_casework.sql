-- ops/sql/55_casework.sql — the review procedure (POLICY.md §16): working days from the
-- county calendar, where a review stands and by when, the steps, the spot-check draw.
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.
--
-- The errors a step may meet are raised with SQLSTATEs of their own, which the casework
-- service turns into the contract's codes: CW404 not_found, CW409 conflict,
-- CW401 unauthorized, CW422 invalid_field (message "field|text").

-- ---------------------------------------------------------------- the measures view
CREATE OR REPLACE VIEW measures WITH (security_invoker = true) AS
SELECT d.referral_id, m.ord, m.code, m.person_idx, m.id_masked, m.amount_fen, m.period, m.form
  FROM decisions d
 CROSS JOIN LATERAL (
        SELECT u.ord::int AS ord, u.code, u.person_idx, u.id_masked, u.amount_fen, u.period,
               u.form
          FROM unnest(d.m_code, d.m_person, d.m_id_masked, d.m_amount_fen, d.m_period,
                      d.m_form)
               WITH ORDINALITY AS u(code, person_idx, id_masked, amount_fen, period, form, ord)
        UNION ALL
        SELECT g.ord, g.code, g.person_idx, g.id_masked, g.amount_fen, g.period, g.form
          FROM review_measures g WHERE g.referral_id = d.referral_id) m;

-- A working day: Monday–Friday unless the calendar lists it as a holiday, and a
-- weekend day the calendar lists as an adjusted working day (调休). Nothing else.
CREATE OR REPLACE FUNCTION aid_workday(p_day date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT c.kind = 'workday' FROM calendar_days c WHERE c.day = p_day),
                    extract(isodow FROM p_day) < 6)
$$;

-- The p_n-th working day after p_day (p_day itself when p_n is 0). When the calendar
-- lists no day after p_day up to the p_n-th Monday–Friday day after it (w: a weekend
-- p_day counts from its Friday, then whole weeks and the rest), that day is the
-- answer: one index probe, no list of days (case.get asks it for every open review).
-- Otherwise one query over the days that follow (a year more than Monday–Friday
-- would need, for long holidays); NULL when the calendar leaves fewer working days.
-- PL/pgSQL: its plans are kept by the session (a SQL function's are made again at
-- every statement that calls it, which cost as much as the day list it saves).
CREATE OR REPLACE FUNCTION aid_workdays_add(p_day date, p_n int) RETURNS date
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fri date := p_day - greatest(extract(isodow FROM p_day)::int - 5, 0);
    dow int := extract(isodow FROM fri)::int;
    w date;
BEGIN
    IF p_n <= 0 THEN
        RETURN p_day;
    END IF;
    w := fri - (dow - 1) + ((dow - 1 + p_n) / 5) * 7 + (dow - 1 + p_n) % 5;
    IF NOT EXISTS (SELECT 1 FROM calendar_days c WHERE c.day > p_day AND c.day <= w) THEN
        RETURN w;
    END IF;
    RETURN (SELECT d.day::date
              FROM generate_series(p_day + 1, p_day + 2 * p_n + 366, interval '1 day') AS d(day)
              LEFT JOIN calendar_days c ON c.day = d.day::date
             WHERE coalesce(c.kind = 'workday', extract(isodow FROM d.day) < 6)
             ORDER BY d.day OFFSET p_n - 1 LIMIT 1);
END;
$$;

-- The working days in (p_from, p_to]: 0 when p_to is not after p_from (the days
-- past a deadline, referrals.overdue; a review's allowance from its start).
CREATE OR REPLACE FUNCTION aid_workdays_between(p_from date, p_to date) RETURNS int
LANGUAGE sql STABLE AS $$
    SELECT count(*)::int
      FROM generate_series(p_from + 1, p_to, interval '1 day') AS d(day)
      LEFT JOIN calendar_days c ON c.day = d.day::date
     WHERE coalesce(c.kind = 'workday', extract(isodow FROM d.day) < 6)
$$;

-- A county parameter in force on p_day, or its documented default.
CREATE OR REPLACE FUNCTION aid_casework_param(p_name text, p_day date, p_default bigint)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT p.value FROM params p
                      WHERE p.name = p_name AND p.effective_from <= p_day
                      ORDER BY p.effective_from DESC LIMIT 1), p_default)
$$;

-- Where review r stands on p_today: its stage (investigation, notice, confirmation,
-- spot_check, signoff, done), the date that stage is due, the last day of the notice,
-- and whether it is past due (R-PROC-DIBAO, R-PROC-TEKUN, R-PROC-NOTICE,
-- R-PROC-SPOTCHECK, R-TEMP-EMERG).
CREATE OR REPLACE FUNCTION aid_review_state(r reviews, p_today date,
                                            OUT stage text, OUT due_on date,
                                            OUT notice_ends_on date, OUT overdue boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    stage := r.stage;
    IF r.investigated_on IS NOT NULL THEN
        notice_ends_on := r.investigated_on
                          + (aid_casework_param('P_NOTICE_DAYS', r.as_of, 7) - 1)::int;
    END IF;
    IF r.stage = 'notice' AND p_today > notice_ends_on THEN
        stage := CASE WHEN r.drawn_month IS NOT NULL AND NOT r.spot_checked
                      THEN 'spot_check' ELSE 'confirmation' END;
    END IF;
    due_on := CASE
        WHEN stage = 'investigation' AND r.kind = 'dibao' THEN aid_workdays_add(r.started_on, 20)
        WHEN stage = 'investigation' THEN aid_workdays_add(r.started_on, 15)
        WHEN stage = 'notice' THEN notice_ends_on
        WHEN stage IN ('confirmation', 'spot_check') AND r.kind = 'dibao'
            THEN least(aid_workdays_add(notice_ends_on, 10), aid_workdays_add(r.started_on, 30))
        WHEN stage IN ('confirmation', 'spot_check') THEN aid_workdays_add(notice_ends_on, 15)
        WHEN stage = 'signoff'
            THEN aid_workdays_add(r.started_on,
                                  aid_casework_param('P_EMERG_SIGNOFF_WD', r.as_of, 5)::int)
    END;
    overdue := stage NOT IN ('notice', 'done') AND p_today > due_on;
END;
$$;

-- The reviews of a batch of new decisions (aid_apply_decisions, once per batch, for
-- the referrals it decided whose decision cites a review or an emergency grant): a
-- dibao or tekun review (the decision stored as the proposal, in_review) starts at
-- investigation; an R-TEMP-EMERG grant stays granted and owes its sign-off. Read
-- from the decision rows themselves, so a call can only open what they say. The
-- definer's rights: the department roles write no review table. Returns the number
-- of reviews opened.
CREATE OR REPLACE FUNCTION aid_reviews_open(p_refs bigint[]) RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    n int;
BEGIN
    INSERT INTO reviews (referral_id, kind, case_id, department, township, village, as_of,
                         started_on, stage, proposal)
    SELECT v.referral_id, v.kind, f.case_id, f.department, r.township, r.village, r.as_of,
           aid_china_date(r.received_at),
           CASE WHEN v.kind = 'emerg' THEN 'signoff' ELSE 'investigation' END,
           coalesce((SELECT jsonb_agg(jsonb_build_object('code', m.code, 'person', m.person,
                                                         'id_masked', m.mask,
                                                         'amount_fen', m.amount,
                                                         'period', m.period, 'form', m.form)
                                      ORDER BY m.ord)
                       FROM unnest(v.m_code, v.m_person, v.m_id_masked, v.m_amount_fen,
                                   v.m_period, v.m_form)
                            WITH ORDINALITY AS m(code, person, mask, amount, period, form, ord)),
                    '[]'::jsonb)
      FROM (SELECT d.referral_id, d.m_code, d.m_person, d.m_id_masked, d.m_amount_fen,
                   d.m_period, d.m_form,
                   CASE WHEN d.status = 'in_review' AND 'R-DIBAO-REVIEW' = ANY (d.rules)
                            THEN 'dibao'
                        WHEN d.status = 'in_review' AND 'R-TEKUN-REVIEW' = ANY (d.rules)
                            THEN 'tekun'
                        WHEN d.status = 'granted' AND 'R-TEMP-EMERG' = ANY (d.rules)
                            THEN 'emerg' END AS kind
              FROM decisions d
             WHERE d.referral_id = ANY (p_refs)) v
      JOIN referrals f ON f.referral_id = v.referral_id
      JOIN reports r ON r.report_id = f.report_id
     WHERE v.kind IS NOT NULL
    ON CONFLICT (referral_id) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;

REVOKE ALL ON FUNCTION aid_reviews_open(bigint[]) FROM PUBLIC;
-- the roles that call aid_apply_decisions with their own rights (decision.submit);
-- the departments' aid_dept_record runs as its definer
GRANT EXECUTE ON FUNCTION aid_reviews_open(bigint[]) TO aid_decisions;

-- (the decisions trigger that opened them one row at a time, and its function
-- aid_review_open, are gone: migration 120)

DROP TRIGGER IF EXISTS review_steps_append_only ON review_steps;
CREATE TRIGGER review_steps_append_only BEFORE UPDATE OR DELETE ON review_steps
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS review_steps_no_truncate ON review_steps;
CREATE TRIGGER review_steps_no_truncate BEFORE TRUNCATE ON review_steps
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS review_draws_append_only ON review_draws;
CREATE TRIGGER review_draws_append_only BEFORE UPDATE OR DELETE ON review_draws
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS review_draws_no_truncate ON review_draws;
CREATE TRIGGER review_draws_no_truncate BEFORE TRUNCATE ON review_draws
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS review_measures_append_only ON review_measures;
CREATE TRIGGER review_measures_append_only BEFORE UPDATE OR DELETE ON review_measures
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
DROP TRIGGER IF EXISTS review_measures_no_truncate ON review_measures;
CREATE TRIGGER review_measures_no_truncate BEFORE TRUNCATE ON review_measures
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();

-- One step of a review (review.step), checked and recorded, in the caller's
-- transaction (the request's). The row is locked first: of two officers confirming
-- at once, the second sees the first's outcome and gets CW409. p_proposal and
-- p_grant (investigate only) are the recomputed proposal and what a confirmation
-- would grant, made by the service with the policy's functions. p_township (the
-- caller's reach, optional): a review of another township is CW404, as a missing one.
-- (its form before p_township, gone where it is still there)
DROP FUNCTION IF EXISTS aid_review_step(bigint, text, text, date, date, text, jsonb, jsonb, jsonb,
                                        jsonb, text, text);
CREATE OR REPLACE FUNCTION aid_review_step(p_ref bigint, p_action text, p_by text, p_on date,
                                           p_today date, p_note text, p_findings jsonb,
                                           p_amend jsonb, p_proposal jsonb, p_grant jsonb,
                                           p_client text, p_request text,
                                           p_township text DEFAULT NULL)
RETURNS TABLE (o_stage text, o_status text, o_due_on date, o_notice_ends_on date,
               o_case_id bigint, o_entitlements boolean)
LANGUAGE plpgsql AS $$
DECLARE
    r reviews;
    s record;
    new_stage text;
    status_ text;
    ents boolean := false;
BEGIN
    SELECT * INTO r FROM reviews v WHERE v.referral_id = p_ref FOR UPDATE;
    -- p_township: the caller's reach; a review elsewhere is as one that does not exist
    IF NOT FOUND OR r.township <> coalesce(p_township, r.township) THEN
        RAISE EXCEPTION 'referral_id|no review of referral %', p_ref USING ERRCODE = 'CW404';
    END IF;
    IF p_on > p_today THEN
        RAISE EXCEPTION 'on|% is after today (%)', p_on, p_today USING ERRCODE = 'CW422';
    END IF;
    IF p_on < r.as_of THEN
        RAISE EXCEPTION 'on|% is before the report''s as_of (%)', p_on, r.as_of
            USING ERRCODE = 'CW422';
    END IF;
    IF p_on < r.last_on THEN
        RAISE EXCEPTION 'on|% is before the previous step (%)', p_on, r.last_on
            USING ERRCODE = 'CW422';
    END IF;
    s := aid_review_state(r, p_on);
    IF r.stage = 'done' THEN
        RAISE EXCEPTION 'the review is done (%)', r.outcome USING ERRCODE = 'CW409';
    END IF;
    IF (p_action = 'signoff') <> (r.kind = 'emerg') THEN
        RAISE EXCEPTION 'stage % (due %) allows no %', s.stage, s.due_on, p_action
            USING ERRCODE = 'CW409';
    END IF;
    CASE p_action
    WHEN 'investigate' THEN
        IF s.stage <> 'investigation' THEN
            RAISE EXCEPTION 'stage % (ends %) allows no investigate', s.stage,
                coalesce(s.notice_ends_on, s.due_on) USING ERRCODE = 'CW409';
        END IF;
        IF p_amend IS NOT NULL AND coalesce(p_note, '') = '' THEN
            RAISE EXCEPTION 'note|an amended proposal needs its reason' USING ERRCODE = 'CW422';
        END IF;
        UPDATE reviews SET stage = 'notice', investigated_on = p_on, investigator = p_by,
                           proposal = coalesce(p_proposal, proposal),
                           grant_measures = coalesce(p_grant, grant_measures)
         WHERE referral_id = p_ref;
        new_stage := 'notice';
    WHEN 'object' THEN
        IF s.stage <> 'notice' THEN
            RAISE EXCEPTION 'stage % (due %) allows no objection: only the notice does', s.stage,
                s.due_on USING ERRCODE = 'CW409';
        END IF;
        IF coalesce(p_note, '') = '' THEN
            RAISE EXCEPTION 'note|an objection needs its content' USING ERRCODE = 'CW422';
        END IF;
        UPDATE reviews SET stage = 'investigation', investigated_on = NULL, investigator = NULL
         WHERE referral_id = p_ref;
        new_stage := 'investigation';
    WHEN 'confirm', 'refuse' THEN
        IF p_action = 'refuse' AND coalesce(p_note, '') = '' THEN
            RAISE EXCEPTION 'note|a refusal needs its reason' USING ERRCODE = 'CW422';
        END IF;
        IF s.stage = 'notice' OR (p_action = 'confirm' AND s.stage <> 'confirmation') THEN
            RAISE EXCEPTION 'stage % (ends %) allows no %', s.stage,
                coalesce(CASE WHEN s.stage = 'notice' THEN s.notice_ends_on END, s.due_on),
                p_action USING ERRCODE = 'CW409';
        END IF;
        IF r.investigator = p_by THEN
            RAISE EXCEPTION 'by|% investigated this review: another person must % it (four eyes)',
                p_by, p_action USING ERRCODE = 'CW401';
        END IF;
        status_ := CASE WHEN p_action = 'confirm' THEN 'granted' ELSE 'denied' END;
        UPDATE reviews SET stage = 'done', outcome = status_ WHERE referral_id = p_ref;
        UPDATE referrals SET status = status_, decided_at = now() WHERE referral_id = p_ref;
        IF p_action = 'confirm' THEN
            INSERT INTO review_measures (referral_id, ord, code, person_idx, id_masked,
                                         amount_fen, period, form)
            SELECT p_ref, 1000 + g.ord::int, g.m->>'code', (g.m->>'person')::int,
                   g.m->>'id_masked', (g.m->>'amount_fen')::bigint, g.m->>'period',
                   g.m->>'form'
              FROM jsonb_array_elements(r.grant_measures) WITH ORDINALITY AS g(m, ord);
            -- the household's entitlements start here, in the same transaction
            -- (ops/sql/57_benefits.sql, R-PAY-MONTHLY); a re-check's supersede the
            -- old ones from the month after, or start the exit (R-RECHECK, R-EXIT)
            IF EXISTS (SELECT 1 FROM rechecks k WHERE k.referral_id = p_ref) THEN
                PERFORM aid_recheck_confirm(p_ref, p_on, p_by, p_request);
            ELSE
                PERFORM aid_entitlements_start(p_ref);
            END IF;
            ents := true;
        ELSE
            -- a refused re-check is closed; the entitlements run on as they were
            UPDATE rechecks SET closed_on = p_on, outcome = 'refused'
             WHERE referral_id = p_ref AND outcome IS NULL;
        END IF;
        new_stage := 'done';
    WHEN 'spot_check' THEN
        IF s.stage <> 'spot_check' THEN
            RAISE EXCEPTION 'stage % (ends %) allows no spot_check: the review was not drawn '
                'or its notice has not ended', s.stage, coalesce(s.notice_ends_on, s.due_on)
                USING ERRCODE = 'CW409';
        END IF;
        UPDATE reviews SET spot_checked = true WHERE referral_id = p_ref;
        new_stage := 'notice';
    WHEN 'signoff' THEN
        UPDATE reviews SET stage = 'done', outcome = 'signed' WHERE referral_id = p_ref;
        new_stage := 'done';
    ELSE
        RAISE EXCEPTION 'action|unknown action %', p_action USING ERRCODE = 'CW422';
    END CASE;
    UPDATE reviews SET last_on = p_on, steps = steps + 1 WHERE referral_id = p_ref;
    INSERT INTO review_steps (referral_id, n, action, by_account, on_day, note, findings, amend,
                              client, request_id)
    VALUES (p_ref, r.steps + 1, p_action, p_by, p_on, coalesce(p_note, ''), p_findings, p_amend,
            p_client, p_request);
    SELECT * INTO r FROM reviews v WHERE v.referral_id = p_ref;
    s := aid_review_state(r, p_today);
    RETURN QUERY
    SELECT s.stage, f.status, s.due_on, s.notice_ends_on, f.case_id, ents
      FROM referrals f WHERE f.referral_id = p_ref;
END;
$$;

REVOKE ALL ON FUNCTION aid_review_step(bigint, text, text, date, date, text, jsonb, jsonb,
                                       jsonb, jsonb, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_review_step(bigint, text, text, date, date, text, jsonb, jsonb,
                                          jsonb, jsonb, text, text, text) TO aid_casework;

-- The open reviews, oldest due first (review.queue), with where each stands on p_today.
CREATE OR REPLACE FUNCTION aid_review_queue(p_stage text, p_township text, p_department text,
                                            p_overdue boolean, p_today date)
RETURNS TABLE (o_referral_id bigint, o_case_id bigint, o_department text, o_kind text,
               o_stage text, o_due_on date, o_overdue boolean, o_notice_ends_on date,
               o_township text, o_village text, o_name text, o_proposal jsonb)
LANGUAGE sql STABLE AS $$
    SELECT v.referral_id, v.case_id, v.department, v.kind, s.stage, s.due_on, s.overdue,
           s.notice_ends_on, v.township::text, v.village::text,
           (SELECT m.name FROM case_members m WHERE m.case_id = v.case_id
             ORDER BY m.joined_at LIMIT 1),
           v.proposal
      FROM reviews v
     CROSS JOIN LATERAL aid_review_state(v, p_today) s
     WHERE v.stage <> 'done'
       AND (p_township IS NULL OR v.township = p_township)
       AND (p_department IS NULL OR v.department = p_department)
       AND (p_stage IS NULL OR s.stage = p_stage)
       AND (p_overdue IS NULL OR s.overdue = p_overdue)
     ORDER BY s.due_on, v.referral_id
$$;

REVOKE ALL ON FUNCTION aid_review_queue(text, text, text, boolean, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_review_queue(text, text, text, boolean, date)
    TO aid_casework, aid_intake, aid_operator;

-- The review object of case.get: where each review of case p_case stands.
CREATE OR REPLACE FUNCTION aid_case_reviews(p_case bigint, p_today date)
RETURNS TABLE (o_referral_id bigint, o_review jsonb)
LANGUAGE sql STABLE AS $$
    SELECT v.referral_id,
           jsonb_strip_nulls(jsonb_build_object(
               'kind', v.kind, 'stage', s.stage, 'due_on', s.due_on, 'overdue', s.overdue,
               'notice_ends_on', s.notice_ends_on, 'spot_check', v.drawn_month IS NOT NULL,
               'steps', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                      'action', t.action, 'by', t.by_account, 'on', t.on_day,
                                      'note', t.note) ORDER BY t.n)
                                    FROM review_steps t WHERE t.referral_id = v.referral_id),
                                 '[]'::jsonb)))
      FROM reviews v CROSS JOIN LATERAL aid_review_state(v, p_today) s
     WHERE v.case_id = p_case
$$;

REVOKE ALL ON FUNCTION aid_case_reviews(bigint, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_case_reviews(bigint, date) TO aid_casework, aid_intake;

-- The monthly spot-check draw of one township (R-PROC-SPOTCHECK): at least
-- P_SPOTCHECK_RATE of its tekun reviews awaiting confirmation (investigated, not
-- decided, not drawn before), rounded up, chosen by p_seed; recorded with who drew.
-- A second draw of the month is CW409.
CREATE OR REPLACE FUNCTION aid_review_draw(p_township text, p_month date, p_by text,
                                           p_seed bigint, p_request text)
RETURNS TABLE (o_rate int, o_pool bigint[], o_drawn bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    prev review_draws;
    rate_ int := aid_casework_param('P_SPOTCHECK_RATE', p_month, 30)::int;
    pool_ bigint[];
    drawn_ bigint[];
BEGIN
    SELECT * INTO prev FROM review_draws d WHERE d.township = p_township AND d.month = p_month;
    IF FOUND THEN
        RAISE EXCEPTION 'township % was drawn for % by % on %', p_township,
            to_char(p_month, 'YYYY-MM'), prev.drawn_by, aid_china_date(prev.drawn_at)
            USING ERRCODE = 'CW409';
    END IF;
    SELECT coalesce(array_agg(x.referral_id ORDER BY x.referral_id), '{}') INTO pool_
      FROM (SELECT v.referral_id FROM reviews v
             WHERE v.township = p_township AND v.kind = 'tekun' AND v.stage = 'notice'
               AND v.drawn_month IS NULL
               FOR UPDATE) x;
    PERFORM setseed(((p_seed % 2000001) - 1000000) / 1000000.0);
    SELECT coalesce(array_agg(x ORDER BY x), '{}') INTO drawn_
      FROM (SELECT x FROM unnest(pool_) x ORDER BY random()
             LIMIT ceil(cardinality(pool_) * rate_ / 100.0)::int) d;
    INSERT INTO review_draws (township, month, rate, seed, pool, drawn, drawn_by, request_id)
    VALUES (p_township, p_month, rate_, p_seed, pool_, drawn_, p_by, p_request);
    UPDATE reviews SET drawn_month = p_month WHERE referral_id = ANY (drawn_);
    RETURN QUERY SELECT rate_, pool_, drawn_;
END;
$$;

REVOKE ALL ON FUNCTION aid_review_draw(text, date, text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_review_draw(text, date, text, bigint, text) TO aid_casework;

-- calendar.set: each day of p_days becomes a holiday or an adjusted working day
-- ('holiday', 'workday'), or an ordinary day again ('normal': its row goes).
CREATE OR REPLACE FUNCTION aid_calendar_set(p_days date[], p_kinds text[], p_notes text[],
                                            p_by text)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    DELETE FROM calendar_days c USING unnest(p_days, p_kinds) AS t(day, kind)
     WHERE c.day = t.day AND t.kind = 'normal';
    INSERT INTO calendar_days (day, kind, note, set_by)
    SELECT t.day, t.kind, coalesce(t.note, ''), p_by
      FROM unnest(p_days, p_kinds, p_notes) AS t(day, kind, note)
     WHERE t.kind <> 'normal'
    ON CONFLICT (day) DO UPDATE
       SET kind = EXCLUDED.kind, note = EXCLUDED.note, set_by = EXCLUDED.set_by, set_at = now();
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN cardinality(p_days);
END;
$$;

REVOKE ALL ON FUNCTION aid_calendar_set(date[], text[], text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_calendar_set(date[], text[], text[], text) TO aid_casework;

-- The proposals under public notice (公示, R-PROC-NOTICE) in village p_village during
-- p_first..p_last, with the fields of R-DISCLOSE: what a confirmation would grant, the
-- household's first member's name (masked by the caller) and size, the notice's last day.
-- A tekun grant shows its standard support only (R-TEKUN-STD): the care allowance in it
-- follows the person's self-care ability, a disability detail never disclosed.
CREATE OR REPLACE FUNCTION aid_review_notices(p_village text, p_first date, p_last date)
RETURNS TABLE (o_code text, o_amount_fen bigint, o_name text, o_size bigint,
               o_notice_ends_on date)
LANGUAGE sql STABLE AS $$
    SELECT g.m->>'code',
           CASE WHEN g.m->>'code' = 'civil.tekun_grant'
                THEN round(aid_casework_param('P_DIBAO', v.as_of, 70500)
                           * aid_casework_param('P_TEKUN_MULT', v.as_of, 160) / 100.0)::bigint
                ELSE (g.m->>'amount_fen')::bigint END,
           (SELECT m.name FROM case_members m WHERE m.case_id = v.case_id
             ORDER BY m.joined_at LIMIT 1),
           (SELECT count(*) FROM case_members m WHERE m.case_id = v.case_id),
           s.notice_ends_on
      FROM reviews v
     CROSS JOIN LATERAL aid_review_state(v, p_last) s
     CROSS JOIN LATERAL jsonb_array_elements(v.grant_measures) g(m)
     WHERE v.village = p_village::bpchar AND v.stage = 'notice'
       AND v.investigated_on <= p_last AND s.notice_ends_on >= p_first
     ORDER BY v.investigated_on, v.referral_id
$$;

REVOKE ALL ON FUNCTION aid_review_notices(text, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_review_notices(text, date, date) TO aid_supervision, aid_casework;
-- referrals.overdue (the decisions service) lists the reviews past their stage's date;
-- decision.submit reads a decided referral's measures (the view shows the grants too)
GRANT SELECT ON reviews, calendar_days, params, review_measures TO aid_decisions;

-- The case list of a township or village, searched by name (a part of it) or by the
-- hash of an ID number (case.search): newest first, at most p_limit + 1 rows (the
-- caller says whether there are more). A case is in the township it is registered in,
-- and in the villages its reports were filed in; `village` is its latest report's.
CREATE OR REPLACE FUNCTION aid_case_search(p_township text, p_village text, p_name text,
                                           p_id_hash bytea, p_limit int)
RETURNS TABLE (o_case_id bigint, o_township text, o_village text, o_name text,
               o_id_enc bytea, o_members bigint)
LANGUAGE sql STABLE AS $$
    SELECT c.case_id, c.township::text,
           (SELECT r.village::text FROM reports r WHERE r.case_id = c.case_id
             ORDER BY r.report_id DESC LIMIT 1),
           h.name, h.id_enc,
           (SELECT count(*) FROM case_members m WHERE m.case_id = c.case_id)
      FROM cases c
     CROSS JOIN LATERAL (SELECT m.name, m.id_enc FROM case_members m
                          WHERE m.case_id = c.case_id ORDER BY m.joined_at LIMIT 1) h
     WHERE (p_township IS NULL OR c.township = p_township::bpchar)
       AND (p_village IS NULL OR EXISTS (SELECT 1 FROM reports r WHERE r.case_id = c.case_id
                                            AND r.village = p_village::bpchar))
       AND (p_name IS NULL OR EXISTS (SELECT 1 FROM case_members m WHERE m.case_id = c.case_id
                                         AND strpos(m.name, p_name) > 0))
       AND (p_id_hash IS NULL OR EXISTS (SELECT 1 FROM case_members m
                                            WHERE m.case_id = c.case_id
                                              AND m.id_hash = p_id_hash))
     ORDER BY c.case_id DESC
     LIMIT p_limit + 1
$$;

REVOKE ALL ON FUNCTION aid_case_search(text, text, text, bytea, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_case_search(text, text, text, bytea, int) TO aid_casework;

-- ---------------------------------------------------------------- re-checks (R-RECHECK)

-- recheck.open: opens the re-check of case p_case on p_on (POLICY.md §17 R-RECHECK) as
-- a review (§16: investigation → notice → confirmation by another person): a civil
-- referral on the case's latest report, issued by 'recheck', whose decision cites
-- R-RECHECK and R-DIBAO-REVIEW (or R-TEKUN-REVIEW for a tekun person) and so is in
-- review at once (aid_apply_decisions opens it: aid_reviews_open); the review counts its deadlines from p_on and its
-- proposal is the case's entitlements in force (the investigation recomputes it from
-- its findings). Only a re-check due by p_on's month (aid_recheck_due: a dibao
-- household before a tekun person), one open per case. p_township (the caller's reach,
-- optional): a case registered elsewhere is CW404, as a missing one. Errors: CW404 no
-- such case, CW409 none due or one already open. The definer's rights: casework issues no
-- referral and records no decision itself.
CREATE OR REPLACE FUNCTION aid_recheck_open(p_request text, p_case bigint, p_by text, p_on date,
                                            p_township text,
                                            OUT o_referral_id bigint, OUT o_case_id bigint,
                                            OUT o_kind text, OUT o_due_month date,
                                            OUT o_stage text, OUT o_due_on date)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_month date := date_trunc('month', p_on)::date;
    v_report bigint;
    v_seq bigint;
    v_idx int;
    v_mask text;
    v_open bigint;
    r reviews;
    s record;
BEGIN
    o_case_id := aid_case_resolve(p_case);
    IF NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_id = o_case_id
                      AND (p_township IS NULL OR c.township = p_township)) THEN
        RAISE EXCEPTION 'case_id|no case case-%', p_case USING ERRCODE = 'CW404';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('aid_entitlements'), o_case_id::int);
    SELECT k.referral_id INTO v_open FROM rechecks k
     WHERE k.case_id = o_case_id AND k.outcome IS NULL;
    IF FOUND THEN
        RAISE EXCEPTION 'case-% has a re-check open: referral-%', o_case_id, v_open
            USING ERRCODE = 'CW409';
    END IF;
    SELECT d.kind, d.due_month, d.id_masked INTO o_kind, o_due_month, v_mask
      FROM aid_recheck_due(v_month, NULL) d
     WHERE d.case_id = o_case_id
     ORDER BY d.kind = 'dibao' DESC, d.due_month LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'case-% has no re-check due by % (recheck.due)', o_case_id,
            to_char(v_month, 'YYYY-MM') USING ERRCODE = 'CW409';
    END IF;
    SELECT max(x.report_id) INTO v_report FROM reports x WHERE x.case_id = o_case_id;
    IF v_report IS NULL THEN
        RAISE EXCEPTION 'case-% has no report to re-check', o_case_id USING ERRCODE = 'CW409';
    END IF;
    IF o_kind = 'tekun' THEN
        SELECT p.idx INTO v_idx FROM assessed_persons p JOIN entitlements e
            ON e.id_hash = p.id_hash
         WHERE p.report_id = v_report AND e.case_id = o_case_id AND e.id_masked = v_mask
           AND e.kind = 'tekun_support' LIMIT 1;
    END IF;
    UPDATE dept_streams d SET last_seq = d.last_seq + 1
     WHERE d.department = 'civil' RETURNING d.last_seq INTO v_seq;
    INSERT INTO referrals (report_id, case_id, department, seq, issued_by)
    VALUES (v_report, o_case_id, 'civil', v_seq, 'recheck')
    RETURNING referrals.referral_id INTO o_referral_id;
    INSERT INTO rechecks (referral_id, case_id, kind, due_month, opened_by, opened_on, request_id)
    VALUES (o_referral_id, o_case_id, o_kind, o_due_month, p_by, p_on, p_request);
    PERFORM aid_record_decision(
        o_referral_id, 'granted', '',
        CASE o_kind WHEN 'dibao' THEN ARRAY['R-RECHECK', 'R-DIBAO-REVIEW']
                    ELSE ARRAY['R-RECHECK', 'R-TEKUN-REVIEW'] END,
        ARRAY[CASE o_kind WHEN 'dibao' THEN 'civil.dibao_review' ELSE 'civil.tekun_review' END],
        ARRAY[v_idx], ARRAY[v_mask], ARRAY[0::bigint], ARRAY['once'], ARRAY['service'],
        'recheck');
    -- its deadlines count from the day it was opened; its proposal: what runs now
    UPDATE reviews v
       SET as_of = p_on, started_on = p_on,
           proposal = coalesce((
               SELECT jsonb_agg(jsonb_build_object(
                          'code', CASE e.kind WHEN 'dibao_allowance' THEN 'civil.dibao_grant'
                                              WHEN 'care_allowance' THEN 'civil.tekun_care'
                                              ELSE 'civil.' || e.kind END,
                          'person', p.idx, 'id_masked', e.id_masked,
                          'amount_fen', e.amount_fen, 'period', 'month', 'form', 'cash')
                          ORDER BY e.id_hash IS NOT NULL, p.idx, e.kind)
                 FROM entitlements e
                 LEFT JOIN assessed_persons p ON p.report_id = v_report AND p.id_hash = e.id_hash
                WHERE e.case_id = o_case_id AND e.first_month <= aid_month_after(p_on)
                  AND (e.last_month IS NULL OR e.last_month >= v_month)
                  AND (e.last_month IS NULL OR e.last_month >= e.first_month)), '[]')
     WHERE v.referral_id = o_referral_id
    RETURNING * INTO r;
    s := aid_review_state(r, p_on);
    o_stage := s.stage;
    o_due_on := s.due_on;
    INSERT INTO audit_log (who, action, case_id, detail)
    VALUES (p_by, 'recheck.open', o_case_id,
            format('re-check (%s, due %s) opened as referral %s; request %s', o_kind,
                   to_char(o_due_month, 'YYYY-MM'), o_referral_id, p_request));
END;
$$;
REVOKE ALL ON FUNCTION aid_recheck_open(text, bigint, text, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_recheck_open(text, bigint, text, date, text) TO aid_casework;
GRANT SELECT, UPDATE (closed_on, outcome) ON rechecks TO aid_casework;
