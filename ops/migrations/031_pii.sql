-- 031_pii.sql — no ID number in plain text at rest (issue 5; ops/SECURITY.md,
-- "Personal data at rest"; common/pii.h).
--
-- Every ID number column becomes id_hash: the keyed BLAKE2b-256 of the ID
-- number (32 bytes), computed by the services with the key from their
-- configuration. It serves every lookup, join and unique key exactly as the
-- ID number did (a household still joins its case by any member's ID
-- number). case_members also keeps id_enc: the ID number sealed with
-- XChaCha20-Poly1305, opened only by a service that must show or hand out
-- the full number. reports.body, triggers.body and requests.result hold
-- sealed MessagePack (the services seal and open them); their columns do not
-- change. The key never reaches PostgreSQL: no pgcrypto, nothing in SQL can
-- recover an ID number.
--
-- The functions below take hashes where they took ID numbers, as lowercase
-- hex in the same text parameters (decode(x, 'hex') on the way in), so most
-- keep their signatures. aid_submit_report(s) also take the id_enc of each
-- person (hex), as a last parameter.
--
-- Data: ID numbers already stored in plain text cannot be converted here
-- (the key is not in the database): the migration refuses a database that
-- holds any; convert such data offline with the services' key first.

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM case_members) OR EXISTS (SELECT 1 FROM assessed_persons)
       OR EXISTS (SELECT 1 FROM reports) OR EXISTS (SELECT 1 FROM triggers) THEN
        RAISE EXCEPTION '031_pii: the database holds plaintext ID numbers; it needs an offline '
                        'conversion with the PII key (ops/SECURITY.md), not this migration'
              USING HINT = 'a local development stack whose data may go: ops/stack.sh down, '
                           'then remove its directory (var/ by default) and make up again';
    END IF;
END;
$$;

-- ---------------------------------------------------------------- tables
-- the care tables reference case_members by the ID number: by its hash now
ALTER TABLE visits DROP COLUMN id_number;
ALTER TABLE visits ADD COLUMN id_hash bytea NOT NULL
    CHECK (octet_length(id_hash) = 32);
CREATE INDEX visits_person ON visits (id_hash, visited_on);

ALTER TABLE caregiver_scores DROP COLUMN id_number;
ALTER TABLE caregiver_scores ADD COLUMN id_hash bytea NOT NULL
    CHECK (octet_length(id_hash) = 32);
ALTER TABLE caregiver_scores ADD PRIMARY KEY (id_hash, month);

ALTER TABLE care_tasks DROP COLUMN id_number;
ALTER TABLE care_tasks ADD COLUMN id_hash bytea NOT NULL
    CHECK (octet_length(id_hash) = 32);

-- drops the primary key and case_members_id_text (020) with it
ALTER TABLE case_members DROP COLUMN id_number;
ALTER TABLE case_members ADD COLUMN id_hash bytea NOT NULL
    CHECK (octet_length(id_hash) = 32);
ALTER TABLE case_members ADD COLUMN id_enc bytea NOT NULL
    CHECK (octet_length(id_enc) = 18 + 41);
ALTER TABLE case_members ADD PRIMARY KEY (id_hash);

ALTER TABLE visits ADD FOREIGN KEY (id_hash) REFERENCES case_members;
ALTER TABLE caregiver_scores ADD FOREIGN KEY (id_hash) REFERENCES case_members;
ALTER TABLE care_tasks ADD FOREIGN KEY (id_hash) REFERENCES case_members;

ALTER TABLE assessed_persons DROP COLUMN id_number;
ALTER TABLE assessed_persons ADD COLUMN id_hash bytea NOT NULL
    CHECK (octet_length(id_hash) = 32);
CREATE INDEX assessed_persons_id ON assessed_persons (id_hash);

COMMENT ON COLUMN case_members.id_hash IS 'keyed BLAKE2b-256 of the ID number (common/pii.h)';
COMMENT ON COLUMN case_members.id_enc IS 'the ID number, XChaCha20-Poly1305 sealed (common/pii.h)';
COMMENT ON COLUMN reports.body IS 'canonical MessagePack report, sealed (common/pii.h, AD reports.body)';
COMMENT ON COLUMN triggers.body IS 'the trigger body as received, sealed (AD triggers.body)';
COMMENT ON COLUMN requests.result IS 'the first result of a write, sealed (AD requests.result)';

-- ---------------------------------------------------------------- care (010)
-- aid_visit_plans gives the person's id_hash and id_enc instead of the ID
-- number (a new result type: dropped and made again); p_id is the hex hash.
DROP FUNCTION aid_visit_plans(text, text, date, date);
CREATE FUNCTION aid_visit_plans(p_township text, p_id text, p_on date, p_visits_before date)
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

-- visit.record: p_id is the person's hex id_hash.
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
     WHERE r.case_id = p_case ORDER BY r.report_id DESC LIMIT 1;
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

-- the monthly ledger: visits matched by the person's hash
CREATE OR REPLACE FUNCTION aid_ledger(p_month date, p_township text)
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
        SELECT p.township, p.id_hash, p.due_on <= b.l AS due,
               EXISTS (SELECT 1 FROM visits x WHERE x.id_hash = p.id_hash
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

-- ---------------------------------------------------------------- the write path
-- The functions of 001, 002, 021 and 022 (their latest form) with ID numbers
-- replaced by their hashes: p_ids carries hex id_hash values,
-- aid_submit_report(s) take the hex id_enc of each person as a last
-- parameter (p_encs, in p_ids' order). The advisory locks are taken on the
-- hashes (the same person, the same lock). Generated from the earlier text
-- with the smallest edits, so the two stay easy to compare.

DROP FUNCTION aid_submit_report(text, bytea, text[], text[], text, date, text, text, boolean,
                                bytea);
CREATE FUNCTION aid_submit_report(p_request_id text, p_raw bytea, p_ids text[],
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
    -- Serialise reports that share a person, so two concurrent first reports
    -- of one household cannot open two cases. Sorted: no deadlocks.
    FOR id IN SELECT DISTINCT u FROM unnest(p_ids) u ORDER BY u LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(id, 0));
    END LOOP;
    SELECT min(m.case_id) INTO case_id FROM case_members m
     WHERE m.id_hash = ANY (ARRAY(SELECT decode(u, 'hex') FROM unnest(p_ids) u));
    IF case_id IS NULL THEN
        INSERT INTO cases DEFAULT VALUES RETURNING cases.case_id INTO case_id;
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
    UPDATE requests r SET report_id = aid_submit_report.report_id,
                          case_id = aid_submit_report.case_id
     WHERE r.request_id = p_request_id;
    outcome := 'new';
END;
$$;
CREATE OR REPLACE FUNCTION aid_record_assessment(p_report bigint, p_case bigint, p_data bytea,
                                                 p_ids text[], p_names text[], p_ages int[],
                                                 p_groups text[], p_sup bigint[], p_visit text[],
                                                 p_care int[], p_depts text[])
RETURNS TABLE (o_department text, o_referral_id bigint, o_seq bigint)
LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    INSERT INTO assessments (report_id, data) VALUES (p_report, p_data);
    INSERT INTO assessed_persons (report_id, idx, id_hash, name, age, groups,
                                  supplement_fen, visit_every, care_category)
    SELECT p_report, (t.ord - 1)::int, decode(t.id, 'hex'), t.name, t.age, string_to_array(t.g, ','),
           t.sup, t.visit, t.care
      FROM unnest(p_ids, p_names, p_ages, p_groups, p_sup, p_visit, p_care)
           WITH ORDINALITY AS t(id, name, age, g, sup, visit, care, ord);
    UPDATE reports SET assessed_at = now() WHERE report_id = p_report;
    DELETE FROM report_queue q WHERE q.report_id = p_report;
    FOREACH d IN ARRAY p_depts LOOP
        o_department := d;
        UPDATE dept_streams s SET last_seq = s.last_seq + 1
         WHERE s.department = d RETURNING s.last_seq INTO o_seq;
        IF o_seq IS NULL THEN
            RAISE EXCEPTION 'unknown department %', d;
        END IF;
        INSERT INTO referrals (report_id, case_id, department, seq)
        VALUES (p_report, p_case, d, o_seq)
        RETURNING referral_id INTO o_referral_id;
        INSERT INTO referral_queue (department, seq, referral_id) VALUES (d, o_seq, o_referral_id);
        RETURN NEXT;
    END LOOP;
END;
$$;
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
    UPDATE reports SET assessed_at = now() WHERE report_id = ANY (p_reports);
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
DROP FUNCTION aid_submit_reports(text[], bytea[], text[], date[], text[], text[], boolean[],
                                 bytea[], int[], text[], text[]);
CREATE FUNCTION aid_submit_reports(p_request text[], p_raw bytea[], p_source text[],
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
        RETURNING reports.report_id, reports.case_id, reports.request_id
    ), upd AS (
        UPDATE requests q SET report_id = made.report_id, case_id = made.case_id
          FROM made
         WHERE q.request_id = made.request_id
    ), queued AS (
        INSERT INTO report_queue (report_id) SELECT made.report_id FROM made
    )
    SELECT t.ord::int, made.report_id, made.case_id, 'new'::text
      FROM made JOIN unnest(p_request) WITH ORDINALITY AS t(req, ord) ON t.req = made.request_id;
END;
$$;
