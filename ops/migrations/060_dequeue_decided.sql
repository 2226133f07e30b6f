-- 060_dequeue_decided.sql — taking a batch's decided referrals off the queue
-- costs a lookup per referral, not a comparison of every pair.
--
-- aid_apply_decisions (043) ended by deleting the queue rows of the referrals
-- it decided: the index keys (department = ANY, seq = ANY) found them, and
-- then a pair check `(department, seq) IN (SELECT … FROM done)` kept one
-- department's seq from matching another's. Planned generically (the plan
-- must survive growth, 022), that check became a nested-loop semi-join
-- rescanning the batch for every queue row: rows × rows comparisons, 31,000
-- for a batch of 250, and about half of the whole function's time at that
-- size (make bench, issue 19: a department's batches are 60–250 referrals at
-- full load; measured alone, 250 referrals took 14–26 ms with the pair check
-- and 7–12 ms without it).
--
-- A queue row names its referral (referral_queue.referral_id), so the same
-- guarantee is `referral_id = ANY (the decided ones)`: a filter on the rows
-- the index found, nothing rescanned. The measures' regrouping (array_agg
-- … ORDER BY ord) stays: measured alone it is 0.4 ms of those 7–26 ms (the
-- share pg_stat_statements seemed to give it was that of the whole WITH
-- statement it is part of). Parameters and results are unchanged.

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
        -- department and seq are the index's keys (a lookup whatever the
        -- statistics said when the plan was made); referral_id keeps one
        -- department's seq from matching another's row, as a filter
        DELETE FROM referral_queue q
         WHERE q.department = ANY (ARRAY(SELECT DISTINCT done.department FROM done))
           AND q.seq = ANY (ARRAY(SELECT done.seq FROM done))
           AND q.referral_id = ANY (ARRAY(SELECT done.referral_id FROM done))
    )
    SELECT done.referral_id FROM done;
END;
$$;
