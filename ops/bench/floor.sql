-- ops/bench/floor.sql — one pgbench transaction of `make bench-floor` (floor.sh):
-- the rows `make bench` writes for 250 reports, written bare, in the three
-- transactions of the pipeline — filing, assessment, decisions — with no service, no
-- function, no check, no message: what this Postgres can do with the data model alone.
--
-- Per report, as in make bench (its averages): the request, a new case, 2.75 members,
-- the report (a 1,410-byte body) and its queue row; the assessment (304 bytes), 2.75
-- assessed persons, 4.3 referrals and their queue rows; then each referral's queue row
-- locked and deleted, its decision (two measures) and the referral marked decided, and
-- a review for 0.8 of the reports. Left out, so the floor is if anything too fast: the
-- request row's second write, the entitlements (0.67 a report), the foreign keys of
-- reviews, the streams' counters, every lookup and every answer.
-- The tables are copies of the real ones (floor.sh: same columns, keys, indexes and
-- fill factors) in the schema floor; ids come from the real sequences.
-- floor.sh runs it planning as the pipeline's functions do (enable_seqscan off).

BEGIN;
WITH r AS MATERIALIZED (
    SELECT nextval('reports_report_id_seq') AS rid, nextval('cases_case_id_seq') AS cid,
           md5(random()::text || g::text) AS req,
           CASE g % 4 WHEN 0 THEN 2 ELSE 3 END AS np
      FROM generate_series(1, 250) g
), q AS (
    INSERT INTO floor.requests (request_id, op, body_hash, report_id, case_id)
    SELECT r.req, 'report.submit', sha256(convert_to(r.req, 'UTF8')), r.rid, r.cid FROM r
), c AS (
    INSERT INTO floor.cases (case_id, township) SELECT r.cid, '330102001' FROM r
), m AS (
    INSERT INTO floor.case_members (id_hash, id_enc, case_id, name)
    SELECT sha256(convert_to(r.req || k::text, 'UTF8')),
           substring(decode(repeat(r.req, 4), 'hex') FROM 1 FOR 59), r.cid, '张某某'
      FROM r CROSS JOIN generate_series(1, 3) k WHERE k <= r.np
    ON CONFLICT DO NOTHING
), rep AS (
    INSERT INTO floor.reports (report_id, case_id, request_id, source, as_of, township,
                               village, urgent, body)
    SELECT r.rid, r.cid, r.req, 'floor', current_date, '330102001', '330102001001', false,
           substring(decode(repeat(r.req, 89), 'hex') FROM 1 FOR 1410)
      FROM r
)
INSERT INTO floor.report_queue (report_id) SELECT r.rid FROM r;
COMMIT;

BEGIN;
WITH q AS (
    SELECT x.report_id FROM floor.report_queue x ORDER BY x.report_id LIMIT 250
       FOR UPDATE SKIP LOCKED
), d AS (
    DELETE FROM floor.report_queue x USING q WHERE x.report_id = q.report_id
    RETURNING x.report_id
), rr AS MATERIALIZED (
    SELECT p.report_id, p.case_id, p.request_id FROM d JOIN floor.reports p USING (report_id)
), a AS (
    INSERT INTO floor.assessments (report_id, data)
    SELECT rr.report_id, substring(decode(repeat(rr.request_id, 19), 'hex') FROM 1 FOR 304)
      FROM rr
), ap AS (
    INSERT INTO floor.assessed_persons (report_id, idx, name, age, groups, supplement_fen,
                                        visit_every, care_category, id_hash)
    SELECT rr.report_id, k, '张某某', 40 + k, '{elderly}', 0, 'none', 0,
           sha256(convert_to(rr.request_id || k::text, 'UTF8'))
      FROM rr CROSS JOIN generate_series(1, 3) k
     WHERE k <= CASE rr.report_id % 4 WHEN 0 THEN 2 ELSE 3 END
), f AS (
    -- 4.3 departments a report: civil and care always, the others as often as in make bench
    INSERT INTO floor.referrals (report_id, case_id, department, seq)
    SELECT rr.report_id, rr.case_id, dep.d, nextval('floor.seq')
      FROM rr CROSS JOIN LATERAL (
          SELECT u.d FROM unnest(ARRAY['civil', 'care', 'education', 'medical', 'social',
                                       'housing', 'tempaid', 'employment'],
                                 ARRAY[0, 0, 5, 9, 7, 11, 4, 13],
                                 ARRAY[0, 0, 3, 4, 3, 4, 1, 3]) AS u(d, modulus, below)
           WHERE u.modulus = 0 OR rr.report_id % u.modulus < u.below) dep
    RETURNING referral_id, department, seq
)
INSERT INTO floor.referral_queue (department, seq, referral_id)
SELECT f.department, f.seq, f.referral_id FROM f;
COMMIT;

BEGIN;
WITH q AS (
    SELECT x.department, x.seq, x.referral_id FROM floor.referral_queue x
     ORDER BY x.department, x.seq LIMIT 1075 FOR UPDATE SKIP LOCKED
), dq AS (
    DELETE FROM floor.referral_queue x USING q
     WHERE x.department = q.department AND x.seq = q.seq
    RETURNING x.referral_id
), dec AS (
    INSERT INTO floor.decisions (referral_id, status, reason, rules, decided_by, m_code,
                                 m_person, m_id_masked, m_amount_fen, m_period, m_form)
    SELECT dq.referral_id, 'granted', '', ARRAY['R-DIBAO-SUP-A', 'R-CARE-VISIT'], 'civil',
           ARRAY['civil.dibao_supplement', 'care.visit'], ARRAY[1, 2],
           ARRAY['330102********0011', '330102********0012'], ARRAY[31500, 0]::bigint[],
           ARRAY['month', 'once'], ARRAY['cash', 'service']
      FROM dq
    ON CONFLICT (referral_id) DO NOTHING
    RETURNING referral_id
), up AS (
    UPDATE floor.referrals f SET status = 'granted', decided_at = now()
      FROM dec WHERE f.referral_id = dec.referral_id
    RETURNING f.referral_id, f.case_id, f.department
)
INSERT INTO floor.reviews (referral_id, kind, case_id, department, township, village, as_of,
                           started_on, stage, proposal)
SELECT up.referral_id, 'dibao', up.case_id, up.department, '330102001', '330102001001',
       current_date, current_date, 'investigation',
       '[{"code": "civil.dibao_supplement", "person": 1, "amount_fen": 31500,
          "period": "month", "form": "cash"}]'::jsonb
  FROM up WHERE up.referral_id % 43 < 8;
COMMIT;
