-- 043_decision_rows.sql — a decision is one row, and no index is kept twice.
--
-- Everything the pipeline writes is paid for per row and per index entry
-- (make bench: both cores busy, three quarters of it in Postgres; about 110
-- WAL records per fully decided report). Three things were written twice:
--
-- 1. Measures: one row per measure (1.8 a referral) in their own table, each
--    with its primary-key entry — 3.6 WAL records a decision for what is part
--    of the decision. They are now arrays in the decision row, in order, and
--    `measures` is a view with the same columns as the table it replaces
--    (ord counts from 1), so every reader is unchanged. The checks of the
--    table are checks of the arrays; the decision row is append-only, so are
--    its measures.
-- 2. reports.request_id UNIQUE: a report is only ever inserted for a request
--    id that its own transaction has just inserted into requests (primary
--    key, ON CONFLICT DO NOTHING: aid_submit_report(s)); requests.report_id
--    names the report. The second unique index guarded nothing new.
-- 3. referrals (department, seq) UNIQUE: seq is handed out under the row lock
--    of dept_streams, and every referral is queued in the same statement
--    under referral_queue's primary key (department, seq). Nothing looks a
--    referral up by that pair in referrals.
--
-- And requests rows get room on their page (fillfactor 50): intake inserts a
-- batch and, in the same transaction, sets report_id and case_id — with
-- full pages that update went to another page and into the index again.
--
-- The functions, triggers and policies this file once made are defined in
-- ops/sql/ now, each once, in its current form (ops/sql/README.md).

ALTER TABLE reports DROP CONSTRAINT reports_request_id_key;
ALTER TABLE referrals DROP CONSTRAINT referrals_department_seq_key;
ALTER TABLE requests SET (fillfactor = 50);

ALTER TABLE decisions
    ADD COLUMN m_code       text[]   NOT NULL DEFAULT '{}',
    ADD COLUMN m_person     int[]    NOT NULL DEFAULT '{}',  -- NULL element: the household
    ADD COLUMN m_id_masked  text[]   NOT NULL DEFAULT '{}',
    ADD COLUMN m_amount_fen bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN m_period     text[]   NOT NULL DEFAULT '{}',
    ADD COLUMN m_form       text[]   NOT NULL DEFAULT '{}';

-- the decisions recorded so far get their measures (the row trigger that
-- keeps decisions append-only is off for this one statement)
ALTER TABLE decisions DISABLE TRIGGER USER;
UPDATE decisions d
   SET m_code = m.codes, m_person = m.persons, m_id_masked = m.masks,
       m_amount_fen = m.amounts, m_period = m.periods, m_form = m.forms
  FROM (SELECT referral_id, array_agg(code ORDER BY ord) AS codes,
               array_agg(person_idx ORDER BY ord) AS persons,
               array_agg(id_masked ORDER BY ord) AS masks,
               array_agg(amount_fen ORDER BY ord) AS amounts,
               array_agg(period ORDER BY ord) AS periods,
               array_agg(form ORDER BY ord) AS forms
          FROM measures GROUP BY referral_id) m
 WHERE m.referral_id = d.referral_id;
ALTER TABLE decisions ENABLE TRIGGER USER;

ALTER TABLE decisions ADD CONSTRAINT decisions_measures_check CHECK (
    cardinality(m_person) = cardinality(m_code)
    AND cardinality(m_id_masked) = cardinality(m_code)
    AND cardinality(m_amount_fen) = cardinality(m_code)
    AND cardinality(m_period) = cardinality(m_code)
    AND cardinality(m_form) = cardinality(m_code)
    AND array_position(m_code, NULL) IS NULL
    AND array_position(m_amount_fen, NULL) IS NULL
    AND 0 <= ALL (m_amount_fen)
    AND m_period <@ '{once,month,quarter,year}'::text[]
    AND m_form <@ '{cash,in_kind,service,referral}'::text[]);

DROP TABLE measures;

-- security_invoker: a department reading measures sees those of the decisions
-- its row-level security lets it see, as it did with the table's own policy
CREATE VIEW measures WITH (security_invoker = true) AS
SELECT d.referral_id, m.ord::int AS ord, m.code, m.person_idx, m.id_masked, m.amount_fen,
       m.period, m.form
  FROM decisions d
 CROSS JOIN LATERAL unnest(d.m_code, d.m_person, d.m_id_masked, d.m_amount_fen, d.m_period,
                           d.m_form)
       WITH ORDINALITY AS m(code, person_idx, id_masked, amount_fen, period, form, ord);
REVOKE ALL ON measures FROM PUBLIC;
GRANT SELECT ON measures TO aid_intake, aid_department, aid_operator;
