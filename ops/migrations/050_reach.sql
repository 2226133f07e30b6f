-- 050_reach.sql — a case's reach follows its registered township, not every
-- township a report was filed in (issue 14, point 6).
--
-- cases.township is where the household is registered: the township of the
-- case's first report (existing cases: of their latest report). A report
-- filed in another township for persons of the case is kept as before — it
-- joins the case, is assessed and decided — but it does not move the
-- household: aid_submit_report(s) record a possible move (住址变更) for it in
-- the same statement, and the case's township confirms or rejects it
-- (aid_move_decide, one decision per move, append-only). Until a move is
-- confirmed its report is not the household's latest: aid_roster (ledgers,
-- visit plans, disclosure lists) and aid_trigger_targets skip it, and the
-- case's township stays. The web console shows a caseworker the whole case
-- only when it is registered in their township; one whose township filed a
-- report in it sees only those reports (case.get with "township").

-- ---------------------------------------------------------------- cases
ALTER TABLE cases ADD COLUMN township char(9);
UPDATE cases c SET township = (SELECT r.township FROM reports r WHERE r.case_id = c.case_id
                                ORDER BY r.report_id DESC LIMIT 1);
CREATE INDEX cases_township ON cases (township);

-- ---------------------------------------------------------------- moves
-- One row per report filed outside the case's registered township.
CREATE TABLE case_moves (
    move_id       bigserial PRIMARY KEY,
    case_id       bigint NOT NULL REFERENCES cases,
    report_id     bigint NOT NULL UNIQUE REFERENCES reports,
    from_township char(9) NOT NULL,           -- the case's township when the report came
    to_township   char(9) NOT NULL,           -- the report's township and village
    to_village    char(12) NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_moves_case ON case_moves (case_id);

-- Who decided a move, when, how and why: at most one decision per move.
CREATE TABLE case_move_decisions (
    move_id     bigint PRIMARY KEY REFERENCES case_moves,
    decision    text NOT NULL CHECK (decision IN ('confirm', 'reject')),
    decided_by  text NOT NULL,
    note        text NOT NULL,
    request_id  text NOT NULL UNIQUE,
    decided_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER case_moves_append_only BEFORE UPDATE OR DELETE ON case_moves
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
CREATE TRIGGER case_moves_no_truncate BEFORE TRUNCATE ON case_moves
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();
CREATE TRIGGER case_move_decisions_append_only BEFORE UPDATE OR DELETE ON case_move_decisions
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
CREATE TRIGGER case_move_decisions_no_truncate BEFORE TRUNCATE ON case_move_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();

-- True when the report may stand for where the household lives: it moved
-- nobody, or its move was confirmed.
CREATE FUNCTION aid_report_settled(p_report bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NOT EXISTS (SELECT 1 FROM case_moves m
                        WHERE m.report_id = p_report
                          AND NOT EXISTS (SELECT 1 FROM case_move_decisions d
                                           WHERE d.move_id = m.move_id
                                             AND d.decision = 'confirm'))
$$;

-- ---------------------------------------------------------------- filing
-- As in 031_pii.sql, and: a new case is registered in its report's township;
-- a report for an existing case registered elsewhere records a move.
CREATE OR REPLACE FUNCTION aid_submit_report(p_request_id text, p_raw bytea, p_ids text[],
                                             p_names text[], p_source text, p_as_of date,
                                             p_township text, p_village text, p_urgent boolean,
                                             p_body bytea, p_encs text[],
                                             OUT report_id bigint, OUT case_id bigint,
                                             OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    h bytea := sha256(p_raw);
    prev requests%ROWTYPE;
    id text;
BEGIN
    INSERT INTO requests (request_id, op, body_hash)
    VALUES (p_request_id, 'report.submit', h)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        SELECT * INTO prev FROM requests r WHERE r.request_id = p_request_id;
        report_id := prev.report_id;
        case_id := prev.case_id;
        outcome := CASE WHEN prev.body_hash = h AND prev.op = 'report.submit'
                        THEN 'duplicate' ELSE 'conflict' END;
        RETURN;
    END IF;
    FOR id IN SELECT DISTINCT u FROM unnest(p_ids) u ORDER BY u LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(id, 0));
    END LOOP;
    SELECT min(m.case_id) INTO case_id FROM case_members m
     WHERE m.id_hash = ANY (ARRAY(SELECT decode(u, 'hex') FROM unnest(p_ids) u));
    IF case_id IS NULL THEN
        INSERT INTO cases (township) VALUES (p_township) RETURNING cases.case_id INTO case_id;
    END IF;
    INSERT INTO case_members (id_hash, id_enc, case_id, name)
    SELECT decode(u.id, 'hex'), decode(u.enc, 'hex'), aid_submit_report.case_id, u.name
      FROM unnest(p_ids, p_encs, p_names) AS u(id, enc, name)
    ON CONFLICT DO NOTHING;
    INSERT INTO reports (case_id, request_id, source, as_of, township, village, urgent, body)
    VALUES (aid_submit_report.case_id, p_request_id, p_source, p_as_of, p_township, p_village,
            p_urgent, p_body)
    RETURNING reports.report_id INTO report_id;
    INSERT INTO report_queue (report_id) VALUES (aid_submit_report.report_id);
    INSERT INTO case_moves (case_id, report_id, from_township, to_township, to_village)
    SELECT c.case_id, aid_submit_report.report_id, c.township, p_township, p_village
      FROM cases c
     WHERE c.case_id = aid_submit_report.case_id AND c.township <> p_township::bpchar;
    UPDATE requests r SET report_id = aid_submit_report.report_id,
                          case_id = aid_submit_report.case_id
     WHERE r.request_id = p_request_id;
    outcome := 'new';
END;
$$;

CREATE OR REPLACE FUNCTION aid_submit_reports(p_request text[], p_raw bytea[], p_source text[],
                                   p_as_of date[], p_township text[], p_village text[],
                                   p_urgent boolean[], p_body bytea[], p_p_ord int[],
                                   p_ids text[], p_names text[], p_encs text[])
RETURNS TABLE (o_ord int, o_report_id bigint, o_case_id bigint, o_outcome text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
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
              LEFT JOIN case_members m ON m.id_hash = decode(p.id, 'hex')
             WHERE p.o = ANY (v_fresh)
             GROUP BY p.o) x;
    -- … or a new case, registered in its report's township
    SELECT count(*) INTO v_missing FROM unnest(v_case) c WHERE c IS NULL;
    IF v_missing > 0 THEN
        SELECT array_agg(nextval('cases_case_id_seq')) INTO v_new
          FROM generate_series(1, v_missing);
        FOR i IN 1 .. coalesce(array_length(v_case, 1), 0) LOOP
            IF v_case[i] IS NULL THEN
                j := j + 1;
                v_case[i] := v_new[j];
            END IF;
        END LOOP;
        INSERT INTO cases (case_id, township)
        SELECT c.case_id, t.tw
          FROM unnest(v_ord, v_case) AS c(o, case_id)
          JOIN unnest(p_township) WITH ORDINALITY AS t(tw, ord) ON t.ord = c.o
         WHERE c.case_id = ANY (v_new);
    END IF;

    INSERT INTO case_members (id_hash, id_enc, case_id, name)
    SELECT decode(p.id, 'hex'), decode(p.enc, 'hex'), c.case_id, p.name
      FROM unnest(p_p_ord, p_ids, p_encs, p_names) AS p(o, id, enc, name)
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
        RETURNING reports.report_id, reports.case_id, reports.request_id, reports.township,
                  reports.village
    ), upd AS (
        UPDATE requests q SET report_id = made.report_id, case_id = made.case_id
          FROM made
         WHERE q.request_id = made.request_id
    ), queued AS (
        INSERT INTO report_queue (report_id) SELECT made.report_id FROM made
    ), moved AS (
        -- filed outside the case's registered township: a possible move
        INSERT INTO case_moves (case_id, report_id, from_township, to_township, to_village)
        SELECT made.case_id, made.report_id, k.township, made.township, made.village
          FROM made JOIN cases k ON k.case_id = made.case_id
         WHERE k.township <> made.township
    )
    SELECT t.ord::int, made.report_id, made.case_id, 'new'::text
      FROM made JOIN unnest(p_request) WITH ORDINALITY AS t(req, ord) ON t.req = made.request_id;
END;
$$;

-- ---------------------------------------------------------------- where the household lives
-- As in 010_care.sql, counting only settled reports: a report whose move is
-- pending or rejected is not the household's latest.
CREATE OR REPLACE FUNCTION aid_roster(p_township text, p_case bigint, p_on date)
RETURNS TABLE (case_id bigint, report_id bigint, township text, village text)
LANGUAGE sql STABLE AS $$
    SELECT l.case_id, l.report_id, l.township, l.village FROM (
        SELECT DISTINCT ON (r.case_id) r.case_id, r.report_id, r.township::text AS township,
               r.village::text AS village
          FROM reports r
         WHERE r.assessed_at IS NOT NULL
           AND aid_china_date(r.received_at) <= p_on
           AND (p_case IS NULL OR r.case_id = p_case)
           AND (p_township IS NULL
                OR r.case_id IN (SELECT r2.case_id FROM reports r2
                                 WHERE r2.township = p_township::bpchar))
           AND aid_report_settled(r.report_id)
         ORDER BY r.case_id, r.report_id DESC) l
     WHERE p_township IS NULL OR l.township = p_township
$$;

-- As in 004_triggers.sql, by the latest settled assessed report.
CREATE OR REPLACE FUNCTION aid_trigger_targets(p_trigger bigint, p_areas text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    areas bpchar[] := p_areas::bpchar[];
    n integer;
BEGIN
    INSERT INTO trigger_targets (trigger_id, case_id)
    SELECT p_trigger, l.case_id
      FROM (SELECT DISTINCT r.case_id FROM reports r
             WHERE r.township = ANY (areas) OR r.village = ANY (areas)) c
      CROSS JOIN LATERAL (SELECT r2.case_id, r2.report_id, r2.township, r2.village
                            FROM reports r2
                           WHERE r2.case_id = c.case_id AND r2.assessed_at IS NOT NULL
                             AND aid_report_settled(r2.report_id)
                           ORDER BY r2.report_id DESC LIMIT 1) l
     WHERE (l.township = ANY (areas) OR l.village = ANY (areas))
       AND EXISTS (SELECT 1 FROM assessed_persons ap
                    WHERE ap.report_id = l.report_id AND ap.groups && aid_s_groups());
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE triggers SET cases = n, done_at = CASE WHEN n = 0 THEN now() END
     WHERE trigger_id = p_trigger;
    RETURN n;
END;
$$;

-- As in 031_pii.sql: a visit is recorded where the household lives (its
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

-- ---------------------------------------------------------------- move.queue / move.decide
-- The pending moves of the cases registered in p_township (NULL: all).
CREATE FUNCTION aid_move_queue(p_township text)
RETURNS TABLE (move_id bigint, case_id bigint, report_id bigint, township text,
               to_township text, to_village text, created_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT m.move_id, m.case_id, m.report_id, c.township::text, m.to_township::text,
           m.to_village::text, m.created_at
      FROM case_moves m JOIN cases c ON c.case_id = m.case_id
     WHERE NOT EXISTS (SELECT 1 FROM case_move_decisions d WHERE d.move_id = m.move_id)
       AND (p_township IS NULL OR c.township = p_township::bpchar)
     ORDER BY m.move_id
$$;

-- move.decide: outcome 'ok', 'not_found' (no such move, or its case is not
-- registered in p_township when one is given) or 'conflict' (decided
-- already: prev_decision says how). Confirming registers the case in the
-- move's township; every township the case has reports in gets its visit
-- schedule rebuilt. The case row is locked: decisions of one case queue.
CREATE FUNCTION aid_move_decide(p_request text, p_move bigint, p_decision text, p_by text,
                                p_note text, p_township text,
                                OUT outcome text, OUT case_id bigint, OUT township text,
                                OUT prev_decision text)
LANGUAGE plpgsql AS $$
DECLARE
    mv case_moves%ROWTYPE;
BEGIN
    SELECT * INTO mv FROM case_moves m WHERE m.move_id = p_move;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT c.township INTO township FROM cases c WHERE c.case_id = mv.case_id FOR UPDATE;
    IF p_township IS NOT NULL AND township IS DISTINCT FROM p_township::bpchar THEN
        outcome := 'not_found';
        township := NULL;
        RETURN;
    END IF;
    case_id := mv.case_id;
    SELECT d.decision INTO prev_decision FROM case_move_decisions d WHERE d.move_id = p_move;
    IF FOUND THEN
        outcome := 'conflict';
        RETURN;
    END IF;
    INSERT INTO case_move_decisions (move_id, decision, decided_by, note, request_id)
    VALUES (p_move, p_decision, p_by, p_note, p_request);
    IF p_decision = 'confirm' THEN
        UPDATE cases c SET township = mv.to_township WHERE c.case_id = mv.case_id;
        township := mv.to_township;
        PERFORM aid_bump_schedules(ARRAY[mv.case_id]);
    END IF;
    outcome := 'ok';
END;
$$;

-- ---------------------------------------------------------------- the audit view
-- As in 040_roles.sql, with the moves: reported (a report filed outside the
-- case's township) and decided (who, when, confirm or reject, why). The web
-- console records case ids as "case-<n>": they now join their case too
-- (040 matched bare numbers only, so staff reads and writes were left out).
CREATE OR REPLACE VIEW aid_audit AS
    SELECT r.received_at AS at, r.case_id, r.source AS who, 'report.received' AS action,
           format('report %s request %s%s', r.report_id, r.request_id,
                  CASE WHEN r.urgent THEN ' urgent' ELSE '' END) AS detail
      FROM reports r
    UNION ALL
    SELECT a.created_at, r.case_id, 'eligibility', 'assessment',
           format('report %s', a.report_id)
      FROM assessments a JOIN reports r USING (report_id)
    UNION ALL
    SELECT f.created_at, f.case_id, f.issued_by, 'referral',
           format('referral %s to %s (report %s)', f.referral_id, f.department, f.report_id)
      FROM referrals f
    UNION ALL
    SELECT d.decided_at, f.case_id, d.decided_by, 'decision',
           format('referral %s %s: %s; rules %s', d.referral_id, f.department, d.status,
                  array_to_string(d.rules, ','))
      FROM decisions d JOIN referrals f USING (referral_id)
    UNION ALL
    SELECT v.recorded_at, v.case_id, v.visitor, 'visit',
           format('visit %s on %s (%s, living %s) request %s', v.visit_id, v.visited_on,
                  v.method, v.living, v.request_id)
      FROM visits v
    UNION ALL
    SELECT s.scored_at, m.case_id, s.caregiver, 'caregiver.score',
           format('%s score %s (pass %s) request %s', to_char(s.month, 'YYYY-MM'), s.score,
                  s.pass_mark, s.request_id)
      FROM caregiver_scores s JOIN case_members m USING (id_hash)
    UNION ALL
    SELECT t.created_at, t.case_id, 'caregiver.score', 'care.task',
           format('task %s %s (%s)', t.task_id, t.kind, t.status)
      FROM care_tasks t
    UNION ALL
    SELECT st.at, c.case_id, st.by_whom, 'complaint.' || st.status,
           format('%s step %s request %s', st.tracking_no, st.step, st.request_id)
      FROM complaint_steps st JOIN complaints c USING (tracking_no)
     WHERE c.case_id IS NOT NULL
    UNION ALL
    SELECT g.created_at, t.case_id, 'trigger', 'trigger.' || g.kind,
           format('trigger %s request %s: %s', g.trigger_id, g.request_id, t.status)
      FROM trigger_targets t JOIN triggers g USING (trigger_id)
    UNION ALL
    SELECT l.at, l.case_id, l.who, l.action, l.detail
      FROM audit_log l
    UNION ALL
    SELECT ga.at, CASE WHEN ga.case_id ~ '^(case-)?[0-9]{1,18}$'
                       THEN substring(ga.case_id FROM '[0-9]+$')::bigint END,
           ga.username || ' (' || ga.role || ')', ga.action,
           ga.detail || CASE WHEN ga.client <> '' THEN ' from ' || ga.client ELSE '' END
      FROM gateway_audit ga
    UNION ALL
    SELECT m.created_at, m.case_id, 'intake', 'move.reported',
           format('move-%s: report %s filed in %s (village %s), case registered in %s',
                  m.move_id, m.report_id, m.to_township, m.to_village, m.from_township)
      FROM case_moves m
    UNION ALL
    SELECT d.decided_at, m.case_id, d.decided_by, 'move.' || d.decision,
           format('move-%s %s → %s request %s: %s', m.move_id, m.from_township,
                  m.to_township, d.request_id, d.note)
      FROM case_move_decisions d JOIN case_moves m USING (move_id);

-- ---------------------------------------------------------------- grants
GRANT SELECT, INSERT ON case_moves, case_move_decisions TO aid_intake;
GRANT UPDATE (township) ON cases TO aid_intake;
GRANT USAGE ON SEQUENCE case_moves_move_id_seq TO aid_intake;
-- the trigger worker files reports through aid_submit_report(s) too
GRANT SELECT, INSERT ON case_moves TO aid_triggers;
GRANT SELECT ON case_move_decisions TO aid_triggers;
GRANT USAGE ON SEQUENCE case_moves_move_id_seq TO aid_triggers;
GRANT SELECT ON case_moves, case_move_decisions TO aid_operator;
