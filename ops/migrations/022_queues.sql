-- 022_queues.sql — the pipeline's write path made cheaper (issue 6, measured by make bench).
--
-- Before this migration a report cost ~150 WAL records. Most of them were not
-- the rows themselves but their side effects:
--
--  * Work was found through partial indexes on the rows' own state
--    (reports WHERE assessed_at IS NULL, referrals WHERE status = 'pending').
--    A column in an index predicate makes every change of it a non-HOT
--    update: marking a report assessed or a referral decided wrote a new
--    entry into every index of the row (7 on reports, 5 on referrals).
--    Work is now found through two small queue tables, filled in the
--    transaction that creates the work and emptied in the one that does it;
--    the state columns are in no index any more, so their updates are HOT
--    (room left on each page by the fillfactor below).
--
--  * Foreign keys on the hot tables took a row lock on the parent for every
--    child row (a WAL record each, and multixacts on the shared parents:
--    every referral locked its department's dept_streams row). The rows
--    these keys guarded are only ever written by the functions of 001, 002,
--    021 and this file, which take the parent from the same statement or a
--    row they hold locked (a report claimed from report_queue, a referral
--    claimed from referral_queue), and nothing deletes these rows (R-AUDIT:
--    the trail is append-only). The keys are dropped on the hot path; the
--    unique keys — one case per person, one referral per report and
--    department, one decision per referral — stay, and they are what the
--    exactly-once guarantees rest on.
--
--  * Two indexes nobody needed: reports (case_id) is served by
--    reports_case_latest (case_id, report_id DESC), and case_members'
--    expression index on id_number::text only existed because
--    aid_submit_report compared the char(18) key with text (fixed below).

-- ---------------------------------------------------------------- queues
-- report_queue: reports not yet assessed. aid_submit_report(s) add the row;
-- eligibility claims rows (FOR UPDATE SKIP LOCKED) and deletes them in the
-- transaction that records the assessment (aid_record_assessment(s)).
CREATE TABLE report_queue (
    report_id bigint PRIMARY KEY
);
INSERT INTO report_queue (report_id) SELECT report_id FROM reports WHERE assessed_at IS NULL;

-- referral_queue: referrals not yet decided, in each department's stream
-- order. aid_record_assessment(s) add the rows; a department claims its
-- rows (FOR UPDATE SKIP LOCKED) and aid_record_decision(s) delete them with
-- the decision.
CREATE TABLE referral_queue (
    department  text NOT NULL,
    seq         bigint NOT NULL,
    referral_id bigint NOT NULL,
    PRIMARY KEY (department, seq)
);
INSERT INTO referral_queue (department, seq, referral_id)
SELECT department, seq, referral_id FROM referrals WHERE status = 'pending';

-- Queues churn: vacuum them after a few thousand dead rows, not after a
-- fifth of the table (the default), so claims do not walk dead entries.
ALTER TABLE report_queue SET (autovacuum_vacuum_scale_factor = 0,
                              autovacuum_vacuum_threshold = 2000);
ALTER TABLE referral_queue SET (autovacuum_vacuum_scale_factor = 0,
                                autovacuum_vacuum_threshold = 2000);

DROP INDEX reports_unassessed;
DROP INDEX referrals_pending;
-- Room on each page for the HOT updates that decide its referrals: a page's
-- referrals are decided within seconds of each other, before pruning can
-- reclaim the old versions, so about as much room as the rows themselves.
ALTER TABLE referrals SET (fillfactor = 50);

-- ---------------------------------------------------------------- keys and indexes
ALTER TABLE case_members DROP CONSTRAINT case_members_case_id_fkey;
ALTER TABLE reports DROP CONSTRAINT reports_case_id_fkey;
ALTER TABLE assessments DROP CONSTRAINT assessments_report_id_fkey;
ALTER TABLE assessed_persons DROP CONSTRAINT assessed_persons_report_id_fkey;
ALTER TABLE referrals DROP CONSTRAINT referrals_report_id_fkey;
ALTER TABLE referrals DROP CONSTRAINT referrals_case_id_fkey;
ALTER TABLE referrals DROP CONSTRAINT referrals_department_fkey;
ALTER TABLE decisions DROP CONSTRAINT decisions_referral_id_fkey;
ALTER TABLE measures DROP CONSTRAINT measures_referral_id_fkey;

DROP INDEX reports_case;
DROP INDEX case_members_id_text;

-- ---------------------------------------------------------------- single-row forms
-- As in 001, with the report queued and the household lookup on the key's own type.
CREATE OR REPLACE FUNCTION aid_submit_report(p_request_id text, p_raw bytea, p_ids text[],
                                             p_names text[], p_source text, p_as_of date,
                                             p_township text, p_village text, p_urgent boolean,
                                             p_body bytea,
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
     WHERE m.id_number = ANY (p_ids::bpchar[]);
    IF case_id IS NULL THEN
        INSERT INTO cases DEFAULT VALUES RETURNING cases.case_id INTO case_id;
    END IF;
    INSERT INTO case_members (id_number, case_id, name)
    SELECT u.id, aid_submit_report.case_id, u.name FROM unnest(p_ids, p_names) AS u(id, name)
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

-- As in 002, with the report taken off report_queue and the referrals queued.
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
    INSERT INTO assessed_persons (report_id, idx, id_number, name, age, groups,
                                  supplement_fen, visit_every, care_category)
    SELECT p_report, (t.ord - 1)::int, t.id, t.name, t.age, string_to_array(t.g, ','),
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

-- As in 002, with the referral taken off referral_queue. The referral must
-- exist (there is no foreign key to say so any more).
CREATE OR REPLACE FUNCTION aid_record_decision(p_referral bigint, p_status text, p_reason text,
                                               p_rules text[], p_codes text[], p_persons int[],
                                               p_masks text[], p_amounts bigint[],
                                               p_periods text[], p_forms text[], p_by text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM referrals f WHERE f.referral_id = p_referral) THEN
        RAISE EXCEPTION 'no referral %', p_referral USING ERRCODE = 'foreign_key_violation';
    END IF;
    INSERT INTO decisions (referral_id, status, reason, rules, decided_by)
    VALUES (p_referral, p_status, p_reason, p_rules, p_by)
    ON CONFLICT (referral_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO measures (referral_id, ord, code, person_idx, id_masked, amount_fen, period, form)
    SELECT p_referral, t.ord::int, t.code, t.person, t.mask, t.amount, t.period, t.form
      FROM unnest(p_codes, p_persons, p_masks, p_amounts, p_periods, p_forms)
           WITH ORDINALITY AS t(code, person, mask, amount, period, form, ord);
    UPDATE referrals SET status = p_status, decided_at = now() WHERE referral_id = p_referral;
    DELETE FROM referral_queue q USING referrals f
     WHERE f.referral_id = p_referral AND q.department = f.department AND q.seq = f.seq;
    RETURN true;
END;
$$;

-- ---------------------------------------------------------------- batch forms (021)
-- Their plans are made once per session (plan_cache_mode, see 021), which on
-- a fresh cluster is while the tables are empty: a sequential scan is then
-- the cheapest way to find a row, and the plan would keep reading whole
-- tables after they have grown. Every statement here finds its rows by key,
-- so sequential scans are taken off the table (enable_seqscan = off only
-- makes them a last resort).
-- As in 021, with the reports taken off report_queue and the referrals queued.
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
    INSERT INTO assessed_persons (report_id, idx, id_number, name, age, groups,
                                  supplement_fen, visit_every, care_category)
    SELECT t.r, t.i, t.id, t.name, t.age,
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

-- As in 021, with the decided referrals taken off referral_queue. Every
-- referral must exist (a batch naming an unknown one fails as a whole).
CREATE OR REPLACE FUNCTION aid_record_decisions(p_refs bigint[], p_status text[],
                                                p_reason text[], p_rules text[],
                                                p_m_ref bigint[], p_m_ord int[],
                                                p_codes text[], p_persons int[], p_masks text[],
                                                p_amounts bigint[], p_periods text[],
                                                p_forms text[], p_by text)
RETURNS TABLE (o_referral_id bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(p_refs) r
                WHERE NOT EXISTS (SELECT 1 FROM referrals f WHERE f.referral_id = r)) THEN
        RAISE EXCEPTION 'no referral among %', p_refs USING ERRCODE = 'foreign_key_violation';
    END IF;
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
        DELETE FROM referral_queue q USING done
         WHERE q.department = done.department AND q.seq = done.seq
    )
    SELECT done.referral_id FROM done;
END;
$$;

-- As in 021, with the new reports queued for eligibility.
CREATE OR REPLACE FUNCTION aid_submit_reports(p_request text[], p_raw bytea[], p_source text[],
                                   p_as_of date[], p_township text[], p_village text[],
                                   p_urgent boolean[], p_body bytea[], p_p_ord int[],
                                   p_ids text[], p_names text[])
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
    ), queued AS (
        INSERT INTO report_queue (report_id) SELECT made.report_id FROM made
    )
    SELECT t.ord::int, made.report_id, made.case_id, 'new'::text
      FROM made JOIN unnest(p_request) WITH ORDINALITY AS t(req, ord) ON t.req = made.request_id;
END;
$$;
