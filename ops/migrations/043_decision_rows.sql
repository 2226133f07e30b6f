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
ALTER TABLE decisions DISABLE TRIGGER decisions_append_only;
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
ALTER TABLE decisions ENABLE TRIGGER decisions_append_only;

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
-- the view cannot be written anyway; say why, to the owner too
CREATE TRIGGER measures_append_only INSTEAD OF UPDATE OR DELETE ON measures
    FOR EACH ROW EXECUTE FUNCTION aid_append_only();
REVOKE ALL ON measures FROM PUBLIC;
GRANT SELECT ON measures TO aid_intake, aid_department, aid_operator;

-- aid_apply_decisions (041) and aid_record_decision (022): the measures go
-- into the decision row. The parameters are unchanged; p_m_ord orders the
-- measures of a referral.
CREATE OR REPLACE FUNCTION aid_apply_decisions(p_refs bigint[], p_status text[], p_reason text[],
                                               p_rules text[], p_m_ref bigint[], p_m_ord int[],
                                               p_codes text[], p_persons int[], p_masks text[],
                                               p_amounts bigint[], p_periods text[],
                                               p_forms text[], p_by text)
RETURNS TABLE (o_referral_id bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
BEGIN
    RETURN QUERY
    WITH ms AS (
        SELECT m.r, array_agg(m.code ORDER BY m.ord) AS codes,
               array_agg(m.person ORDER BY m.ord) AS persons,
               array_agg(m.mask ORDER BY m.ord) AS masks,
               array_agg(m.amount ORDER BY m.ord) AS amounts,
               array_agg(m.period ORDER BY m.ord) AS periods,
               array_agg(m.form ORDER BY m.ord) AS forms
          FROM unnest(p_m_ref, p_m_ord, p_codes, p_persons, p_masks, p_amounts, p_periods,
                      p_forms) AS m(r, ord, code, person, mask, amount, period, form)
         GROUP BY m.r
    ), fresh AS (
        INSERT INTO decisions (referral_id, status, reason, rules, decided_by, m_code, m_person,
                               m_id_masked, m_amount_fen, m_period, m_form)
        SELECT t.r, t.s, t.reason,
               CASE WHEN t.rules = '' THEN '{}'::text[] ELSE string_to_array(t.rules, ',') END,
               p_by, coalesce(ms.codes, '{}'), coalesce(ms.persons, '{}'),
               coalesce(ms.masks, '{}'), coalesce(ms.amounts, '{}'),
               coalesce(ms.periods, '{}'), coalesce(ms.forms, '{}')
          FROM unnest(p_refs, p_status, p_reason, p_rules) AS t(r, s, reason, rules)
          LEFT JOIN ms ON ms.r = t.r
        ON CONFLICT (referral_id) DO NOTHING
        RETURNING decisions.referral_id AS r, decisions.status AS s
    ), done AS (
        UPDATE referrals f SET status = fresh.s, decided_at = now()
          FROM fresh
         WHERE f.referral_id = fresh.r
        RETURNING f.referral_id, f.department, f.seq
    ), dequeued AS (
        -- the = ANY conditions are the index's keys (a lookup whatever the
        -- statistics said when the plan was made); the pair check keeps a
        -- department's seq from matching another department's row
        DELETE FROM referral_queue q
         WHERE q.department = ANY (ARRAY(SELECT DISTINCT done.department FROM done))
           AND q.seq = ANY (ARRAY(SELECT done.seq FROM done))
           AND (q.department, q.seq) IN (SELECT done.department, done.seq FROM done)
    )
    SELECT done.referral_id FROM done;
END;
$$;

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
    INSERT INTO decisions (referral_id, status, reason, rules, decided_by, m_code, m_person,
                           m_id_masked, m_amount_fen, m_period, m_form)
    VALUES (p_referral, p_status, p_reason, p_rules, p_by, coalesce(p_codes, '{}'),
            coalesce(p_persons, '{}'), coalesce(p_masks, '{}'), coalesce(p_amounts, '{}'),
            coalesce(p_periods, '{}'), coalesce(p_forms, '{}'))
    ON CONFLICT (referral_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE referrals SET status = p_status, decided_at = now() WHERE referral_id = p_referral;
    DELETE FROM referral_queue q USING referrals f
     WHERE f.referral_id = p_referral AND q.department = f.department AND q.seq = f.seq;
    RETURN true;
END;
$$;
