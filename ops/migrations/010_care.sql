-- 010_care.sql — care visits, caregiver scores, monthly ledgers, public
-- disclosure, complaints and procedure deadlines (POLICY.md §12–14,
-- proto/CARE.md).
--
-- PostgreSQL is the truth for all of it: the visit schedule Redis keeps per
-- township (services/intake/op_visits.c) is rebuilt from the functions
-- below whenever it is missing or stale. Visits, scores, complaints and
-- their steps are append-only (R-AUDIT): triggers refuse UPDATE, DELETE and
-- TRUNCATE.

-- The county's calendar day of a timestamp: China Standard Time, UTC+8, no
-- daylight saving. Every "which day / which month" of this file uses it.
CREATE FUNCTION aid_china_date(t timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (t AT TIME ZONE INTERVAL '+08:00')::date
$$;

CREATE FUNCTION aid_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (R-AUDIT)', TG_TABLE_NAME;
END;
$$;

-- ---------------------------------------------------------------- referrals
-- Most referrals are issued by eligibility's routing, one per report and
-- department (§15). A caregiver revocation (R-CAREGIVER) is recorded as a
-- care referral issued by the score itself, on the household's latest report
-- and decided in the same transaction; issued_by tells the two apart, and the
-- one-per-report guarantee now holds for the routed ones.
ALTER TABLE referrals ADD COLUMN issued_by text NOT NULL DEFAULT 'eligibility';
ALTER TABLE referrals DROP CONSTRAINT referrals_report_id_department_key;
CREATE UNIQUE INDEX referrals_routed_once ON referrals (report_id, department)
    WHERE issued_by = 'eligibility';

-- ---------------------------------------------------------------- parameters
INSERT INTO params (name, effective_from, value, unit, note) VALUES
    ('P_PROC_CIVIL_DAYS',   '2000-01-01', 30, 'working days',
     'civil referral deadline: whole dibao review (R-PROC-DIBAO), tekun 15+15 (R-PROC-TEKUN)'),
    ('P_PROC_DEFAULT_DAYS', '2000-01-01', 10, 'working days',
     'referral deadline of every other department (county default)');

-- ---------------------------------------------------------------- rosters
-- The roster on a day: each case's latest assessed report received on or
-- before p_on (China date), optionally only cases whose latest such report
-- is in p_township, or only case p_case. Ledgers and visit plans count the
-- persons of these reports.
CREATE FUNCTION aid_roster(p_township text, p_case bigint, p_on date)
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
         ORDER BY r.case_id, r.report_id DESC) l
     WHERE p_township IS NULL OR l.township = p_township
$$;

-- ---------------------------------------------------------------- visits
-- Every visit (R-VISIT-MONTHLY / R-VISIT-QUARTERLY): date, visitor, method,
-- living, health and care status, needs. township/village are the
-- household's at the time; report_id is the report the visit filed (urgent
-- for living = critical, an epidemic circumstance for symptoms), if any.
CREATE TABLE visits (
    visit_id    bigserial PRIMARY KEY,
    id_number   char(18) NOT NULL REFERENCES case_members,
    case_id     bigint NOT NULL REFERENCES cases,
    township    char(9) NOT NULL,
    village     char(12) NOT NULL,
    visited_on  date NOT NULL,
    visitor     text NOT NULL,
    method      text NOT NULL CHECK (method IN ('home', 'phone', 'video')),
    living      text NOT NULL CHECK (living IN ('normal', 'difficult', 'critical')),
    health      text NOT NULL,
    care        text NOT NULL,
    needs       text NOT NULL,
    symptoms    boolean NOT NULL,
    report_id   bigint REFERENCES reports,
    request_id  text NOT NULL UNIQUE,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX visits_person ON visits (id_number, visited_on);
CREATE INDEX visits_township ON visits (township, visited_on);
CREATE TRIGGER visits_append_only BEFORE UPDATE OR DELETE ON visits
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
CREATE TRIGGER visits_no_truncate BEFORE TRUNCATE ON visits
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();

-- The version of each township's visit schedule, bumped in the transaction
-- of every change a schedule depends on: a report of a case being assessed
-- (every township the case has reports in: a household that moved changes
-- both) and a visit. The Redis copy of a schedule is built under a version
-- read before the schedule, so it is current exactly while the version has
-- not moved. Rows are locked in township order: no deadlocks.
CREATE TABLE visit_schedule_versions (
    township char(9) PRIMARY KEY,
    version  bigint NOT NULL
);

CREATE FUNCTION aid_bump_schedules(p_cases bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO visit_schedule_versions AS s (township, version)
    SELECT t.township, 1
      FROM (SELECT DISTINCT r.township FROM reports r WHERE r.case_id = ANY (p_cases)) t
     ORDER BY t.township
    ON CONFLICT (township) DO UPDATE SET version = s.version + 1
$$;

CREATE FUNCTION aid_reports_assessed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM aid_bump_schedules(ARRAY(SELECT DISTINCT n.case_id FROM assessed n
                                       WHERE n.assessed_at IS NOT NULL));
    RETURN NULL;
END;
$$;
-- once per statement: eligibility marks a whole batch assessed in one UPDATE
CREATE TRIGGER reports_assessed_bump_schedules AFTER UPDATE ON reports
    REFERENCING NEW TABLE AS assessed
    FOR EACH STATEMENT EXECUTE FUNCTION aid_reports_assessed();

-- When the next visit is due: one period after the last visit, or after the
-- case's first report when nobody has visited yet. Month ends clamp like
-- common/date.c (01-31 + 1 month = 02-28). NULL for 'none'.
CREATE FUNCTION aid_visit_due(p_every text, p_first date, p_last date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT (coalesce(p_last, p_first)
            + CASE p_every WHEN 'month' THEN interval '1 month'
                           WHEN 'quarter' THEN interval '3 months' END)::date
$$;

-- The visit plans on day p_on: every person of the roster whose assessment
-- gives a visit frequency, with the first report's as_of (of the reports
-- received by p_on), the last visit dated before p_visits_before and the due
-- date that follows. Filters as aid_roster; p_id keeps one person.
CREATE FUNCTION aid_visit_plans(p_township text, p_id text, p_on date, p_visits_before date)
RETURNS TABLE (id_number text, name text, case_id bigint, township text, village text,
               every text, first_on date, last_on date, due_on date)
LANGUAGE sql STABLE AS $$
    SELECT ap.id_number::text, ap.name, l.case_id, l.township, l.village, ap.visit_every,
           f.first_on, v.last_on, aid_visit_due(ap.visit_every, f.first_on, v.last_on)
      FROM aid_roster(p_township,
                      CASE WHEN p_id IS NULL THEN NULL
                           ELSE (SELECT m.case_id FROM case_members m WHERE m.id_number = p_id::bpchar)
                      END, p_on) l
      JOIN assessed_persons ap ON ap.report_id = l.report_id AND ap.visit_every <> 'none'
     CROSS JOIN LATERAL (SELECT min(r.as_of) AS first_on FROM reports r
                          WHERE r.case_id = l.case_id
                            AND aid_china_date(r.received_at) <= p_on) f
      LEFT JOIN LATERAL (SELECT max(x.visited_on) AS last_on FROM visits x
                          WHERE x.id_number = ap.id_number
                            AND x.visited_on < p_visits_before) v ON true
     WHERE p_id IS NULL OR ap.id_number = p_id
$$;

-- visit.record in one round trip: the visit (township and village from the
-- household's latest report), then the person's plan after it. every and
-- next_due_on are NULL when the person has no visit plan.
CREATE FUNCTION aid_record_visit(p_request text, p_id text, p_case bigint, p_visited_on date,
                                 p_visitor text, p_method text, p_living text, p_health text,
                                 p_care text, p_needs text, p_symptoms boolean, p_report bigint,
                                 OUT visit_id bigint, OUT every text, OUT next_due_on date)
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    v text;
BEGIN
    SELECT r.township, r.village INTO t, v FROM reports r
     WHERE r.case_id = p_case ORDER BY r.report_id DESC LIMIT 1;
    INSERT INTO visits (id_number, case_id, township, village, visited_on, visitor, method,
                        living, health, care, needs, symptoms, report_id, request_id)
    VALUES (p_id, p_case, t, v, p_visited_on, p_visitor, p_method, p_living, p_health, p_care,
            p_needs, p_symptoms, p_report, p_request)
    RETURNING visits.visit_id INTO visit_id;
    PERFORM aid_bump_schedules(ARRAY[p_case]);
    SELECT p.every, p.due_on INTO every, next_due_on
      FROM aid_visit_plans(NULL, p_id, 'infinity', 'infinity') p;
END;
$$;

-- ---------------------------------------------------------------- caregivers
-- One score per dispersed tekun person and month (R-CAREGIVER); the primary
-- key makes a second one impossible. pass_mark is P_CAREGIVER_PASS in force
-- on the first day of the month scored.
CREATE TABLE caregiver_scores (
    id_number   char(18) NOT NULL REFERENCES case_members,
    month       date NOT NULL CHECK (extract(day FROM month) = 1),
    caregiver   text NOT NULL,
    score       int NOT NULL CHECK (score BETWEEN 0 AND 100),
    pass_mark   int NOT NULL,
    passed      boolean NOT NULL,
    referral_id bigint REFERENCES referrals,   -- the revocation, when it failed
    request_id  text NOT NULL UNIQUE,
    scored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id_number, month)
);
CREATE TRIGGER caregiver_scores_append_only BEFORE UPDATE OR DELETE ON caregiver_scores
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();

-- Work opened by a rule for people to do, e.g. finding a new caregiver.
CREATE TABLE care_tasks (
    task_id     bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('find_caregiver')),
    case_id     bigint NOT NULL REFERENCES cases,
    id_number   char(18) NOT NULL REFERENCES case_members,
    referral_id bigint NOT NULL REFERENCES referrals,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    note        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX care_tasks_open ON care_tasks (case_id) WHERE status = 'open';

-- caregiver.score in one round trip. outcome 'ok' or 'conflict' (already
-- scored for that month). A failing score revokes the caregiver at once:
-- a care referral on report p_report issued by the score, its decision
-- (granted, care.caregiver_revoked for person p_idx, citing R-CAREGIVER) and
-- a task to find a new caregiver, all in the caller's transaction.
CREATE FUNCTION aid_caregiver_score(p_request text, p_id text, p_month date, p_caregiver text,
                                    p_score int, p_case bigint, p_report bigint, p_idx int,
                                    p_masked text,
                                    OUT outcome text, OUT passed boolean, OUT pass_mark int,
                                    OUT referral_id bigint, OUT task_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    s bigint;
    reason text;
BEGIN
    IF EXISTS (SELECT 1 FROM caregiver_scores c
                WHERE c.id_number = p_id::bpchar AND c.month = p_month)
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
    INSERT INTO caregiver_scores (id_number, month, caregiver, score, pass_mark, passed,
                                  referral_id, request_id)
    VALUES (p_id, p_month, p_caregiver, p_score, pass_mark, passed, referral_id, p_request)
    ON CONFLICT (id_number, month) DO NOTHING;
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
    INSERT INTO care_tasks (kind, case_id, id_number, referral_id, note)
    VALUES ('find_caregiver', p_case, p_id, referral_id,
            format('find a new caregiver: the caregiver failed the score of %s (R-CAREGIVER)',
                   to_char(p_month, 'YYYY-MM')))
    RETURNING care_tasks.task_id INTO task_id;
END;
$$;

-- ---------------------------------------------------------------- ledgers
-- A township's ledger for a month counts as submitted once (R-LEDGER-MONTHLY).
CREATE TABLE ledger_submissions (
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    township     char(9) NOT NULL,
    submitted_by text NOT NULL,
    request_id   text NOT NULL UNIQUE,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (month, township)
);
CREATE TRIGGER ledger_submissions_append_only BEFORE UPDATE OR DELETE ON ledger_submissions
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();

-- The rows of the monthly ledger (proto/CARE.md defines every figure), for
-- the month starting p_month, one township or all (p_township NULL). The
-- centralized-care figures need the tekun kind from the report bodies and
-- are added by the caller.
CREATE FUNCTION aid_ledger(p_month date, p_township text)
RETURNS TABLE (township text, section text, item text, count bigint, amount_fen bigint)
LANGUAGE sql STABLE AS $$
    WITH bounds AS (
        SELECT p_month AS f, (p_month + interval '1 month' - interval '1 day')::date AS l
    ),
    -- groups: persons of the roster at the month's end, per group code
    grp AS (
        SELECT ro.township, g.code, count(*) AS n
          FROM bounds b, aid_roster(p_township, NULL, b.l) ro
          JOIN assessed_persons ap ON ap.report_id = ro.report_id
         CROSS JOIN LATERAL unnest(ap.groups) AS g(code)
         GROUP BY ro.township, g.code
    ),
    grp_any AS (
        SELECT ro.township, count(*) AS n
          FROM bounds b, aid_roster(p_township, NULL, b.l) ro
          JOIN assessed_persons ap ON ap.report_id = ro.report_id
         WHERE cardinality(ap.groups) > 0
         GROUP BY ro.township
    ),
    -- visits: the plans of the roster at the month's end; due when the due
    -- date that follows the visits before the month is on or before the
    -- month's last day; done when such a person has a visit dated within it
    plan AS (
        SELECT p.township, p.id_number, p.due_on <= b.l AS due,
               EXISTS (SELECT 1 FROM visits x WHERE x.id_number = p.id_number::bpchar
                          AND x.visited_on BETWEEN b.f AND b.l) AS visited
          FROM bounds b, aid_visit_plans(p_township, NULL, b.l, b.f) p
    ),
    vis AS (
        SELECT township, count(*) FILTER (WHERE due) AS due,
               count(*) FILTER (WHERE due AND visited) AS done
          FROM plan GROUP BY township
    ),
    rec AS (
        SELECT x.township::text AS township, count(*) AS n
          FROM bounds b, visits x
         WHERE x.visited_on BETWEEN b.f AND b.l
           AND (p_township IS NULL OR x.township = p_township::bpchar)
         GROUP BY x.township
    ),
    -- decisions recorded within the month, by the township of their report
    dec AS (
        SELECT r.township::text AS township, f.department, d.status, d.referral_id
          FROM bounds b, decisions d
          JOIN referrals f USING (referral_id)
          JOIN reports r ON r.report_id = f.report_id
         WHERE aid_china_date(d.decided_at) BETWEEN b.f AND b.l
           AND (p_township IS NULL OR r.township = p_township::bpchar)
    )
    SELECT township, 'groups', code, n, 0::bigint FROM grp
    UNION ALL SELECT township, 'groups', 'any', n, 0 FROM grp_any
    UNION ALL SELECT township, 'visits', 'due', due, 0 FROM vis
    UNION ALL SELECT township, 'visits', 'done', done, 0 FROM vis
    UNION ALL SELECT township, 'visits', 'rate_pct', (done * 200 + due) / (2 * due), 0
                FROM vis WHERE due > 0
    UNION ALL SELECT township, 'visits', 'recorded', n, 0 FROM rec
    UNION ALL SELECT township, 'decisions', department || '.' || status, count(*), 0
                FROM dec GROUP BY township, department, status
    UNION ALL SELECT d.township, 'measures', m.code, count(*), sum(m.amount_fen)::bigint
                FROM dec d JOIN measures m USING (referral_id)
               WHERE d.status = 'granted'
               GROUP BY d.township, m.code
$$;

-- ---------------------------------------------------------------- complaints
-- R-COMPLAINT: a tracking number per complaint (TS + YYYYMM of its China
-- date + a number counted per month), every step stored, nothing changed.
CREATE TABLE complaint_counters (
    month  char(6) PRIMARY KEY,
    last   int NOT NULL
);

CREATE TABLE complaints (
    tracking_no text PRIMARY KEY,
    channel     text NOT NULL CHECK (channel IN ('hotline', 'mailbox', 'visit', 'online')),
    text        text NOT NULL,
    case_id     bigint REFERENCES cases,
    request_id  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER complaints_append_only BEFORE UPDATE OR DELETE ON complaints
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
CREATE TRIGGER complaints_no_truncate BEFORE TRUNCATE ON complaints
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();

-- Steps 1 registered, 2 investigating, 3 resolved: each at most once, in
-- order (the functions below check the order; the keys make it hold).
CREATE TABLE complaint_steps (
    tracking_no text NOT NULL REFERENCES complaints,
    step        int NOT NULL CHECK (step BETWEEN 1 AND 3),
    status      text NOT NULL CHECK (status IN ('registered', 'investigating', 'resolved')),
    by_whom     text NOT NULL,
    note        text NOT NULL,
    request_id  text NOT NULL UNIQUE,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tracking_no, step),
    CHECK (step = CASE status WHEN 'registered' THEN 1 WHEN 'investigating' THEN 2 ELSE 3 END)
);
CREATE TRIGGER complaint_steps_append_only BEFORE UPDATE OR DELETE ON complaint_steps
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
CREATE TRIGGER complaint_steps_no_truncate BEFORE TRUNCATE ON complaint_steps
    FOR EACH STATEMENT EXECUTE FUNCTION aid_append_only();

-- complaint.submit: outcome 'ok' with the tracking number, or 'not_found'
-- when p_case names no case.
CREATE FUNCTION aid_complaint_submit(p_request text, p_channel text, p_text text, p_case bigint,
                                     p_by text, OUT outcome text, OUT tracking_no text)
LANGUAGE plpgsql AS $$
DECLARE
    m char(6) := to_char(aid_china_date(now()), 'YYYYMM');
    n int;
BEGIN
    IF p_case IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_id = p_case) THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    INSERT INTO complaint_counters AS c (month, last) VALUES (m, 1)
    ON CONFLICT (month) DO UPDATE SET last = c.last + 1
    RETURNING c.last INTO n;
    tracking_no := 'TS' || m || '-' || lpad(n::text, greatest(6, length(n::text)), '0');
    INSERT INTO complaints (tracking_no, channel, text, case_id, request_id)
    VALUES (tracking_no, p_channel, p_text, p_case, p_request);
    INSERT INTO complaint_steps (tracking_no, step, status, by_whom, note, request_id)
    VALUES (tracking_no, 1, 'registered', p_by, 'registered from ' || p_channel, p_request);
    outcome := 'ok';
END;
$$;

-- complaint.update: outcome 'ok' (step recorded), 'not_found', 'conflict'
-- (the complaint is already at or past that status: steps never go back or
-- repeat) or 'skip' (a step in between is missing). cur_status is the status
-- before the call.
CREATE FUNCTION aid_complaint_update(p_request text, p_no text, p_status text, p_by text,
                                     p_note text, OUT outcome text, OUT cur_status text,
                                     OUT step int)
LANGUAGE plpgsql AS $$
DECLARE
    want int := CASE p_status WHEN 'investigating' THEN 2 WHEN 'resolved' THEN 3 END;
    cur int;
BEGIN
    PERFORM 1 FROM complaints c WHERE c.tracking_no = p_no FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT s.step, s.status INTO cur, cur_status FROM complaint_steps s
     WHERE s.tracking_no = p_no ORDER BY s.step DESC LIMIT 1;
    step := want;
    IF want IS NULL OR want <= cur THEN
        outcome := 'conflict';
    ELSIF want > cur + 1 THEN
        outcome := 'skip';
    ELSE
        INSERT INTO complaint_steps (tracking_no, step, status, by_whom, note, request_id)
        VALUES (p_no, want, p_status, p_by, p_note, p_request);
        outcome := 'ok';
    END IF;
END;
$$;
