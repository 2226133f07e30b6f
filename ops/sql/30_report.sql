-- ops/sql/30_report.sql — filing reports: one, a batch, and whether a report is settled.
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.

-- (the form before 031_pii, gone where it is still there)
DROP FUNCTION IF EXISTS aid_submit_report(text, bytea, text[], text[], text, date, text, text,
                                          boolean, bytea);
-- report.submit in one transaction: the request, the case found by its
-- members' ID hashes, the report and its queue row. A new case is registered
-- in its report's township;
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

-- (the form before 031_pii, gone where it is still there)
DROP FUNCTION IF EXISTS aid_submit_reports(text[], bytea[], text[], date[], text[], text[], boolean[], bytea[], int[], text[], text[]);
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

-- True when the report may stand for where the household lives: it moved
-- nobody, or its move was confirmed.
CREATE OR REPLACE FUNCTION aid_report_settled(p_report bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NOT EXISTS (SELECT 1 FROM case_moves m
                        WHERE m.report_id = p_report
                          AND NOT EXISTS (SELECT 1 FROM case_move_decisions d
                                           WHERE d.move_id = m.move_id
                                             AND d.decision = 'confirm'))
$$;
