-- ops/sql/57_benefits.sql — entitlements and the monthly payroll (POLICY.md §17,
-- issue 17; tables in migrations 110–112): starting the entitlements of a
-- decision, the sweep that starts those of newly decided referrals in batches,
-- what is active in a month, and a payroll run.
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.

-- The first day of the month after d.
CREATE OR REPLACE FUNCTION aid_month_after(d date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (date_trunc('month', d) + interval '1 month')::date
$$;

-- The entitlement kind of a monthly cash measure code, NULL for every other.
CREATE OR REPLACE FUNCTION aid_entitlement_kind(p_code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_code
        WHEN 'civil.dibao_grant' THEN 'dibao_allowance'
        WHEN 'civil.dibao_supplement' THEN 'dibao_supplement'
        WHEN 'civil.tekun_support' THEN 'tekun_support'
        WHEN 'civil.tekun_grant' THEN 'tekun_support'
        WHEN 'civil.tekun_care' THEN 'care_allowance'
    END
$$;

-- The rule ids of a decision that produced an entitlement of kind.
CREATE OR REPLACE FUNCTION aid_entitlement_rules(p_kind text, p_rules text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(r ORDER BY r), '{}') FROM unnest(p_rules) AS r
     WHERE CASE p_kind
               WHEN 'dibao_allowance' THEN r IN ('R-DIBAO-GRANT', 'R-DIBAO-REVIEW', 'R-PROC-CONFIRM')
               WHEN 'dibao_supplement' THEN r LIKE 'R-DIBAO-SUP-%'
               WHEN 'tekun_support' THEN r IN ('R-TEKUN-STD', 'R-TEKUN-GRANT')
               WHEN 'care_allowance' THEN r = 'R-TEKUN-CARE'
           END
              OR r = 'R-RECHECK'
$$;

-- The first month a change may take effect in for case: never a month whose
-- payroll has been approved (for the case's township or the county): changes
-- to it wait for the next run (R-PAY-MONTHLY).
CREATE OR REPLACE FUNCTION aid_entitlements_open_month(p_case bigint, p_from date) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT greatest(p_from, coalesce(
        (SELECT aid_month_after(max(r.month)) FROM payroll_runs r
          WHERE r.approved_at IS NOT NULL
            AND (r.township IS NULL
                 OR r.township = (SELECT c.township FROM cases c WHERE c.case_id = p_case))),
        p_from))
$$;

-- Starts the entitlements of the granted decision of referral p_referral: one
-- per monthly cash measure (civil.dibao_grant → dibao_allowance,
-- civil.dibao_supplement, civil.tekun_support and civil.tekun_grant →
-- tekun_support, civil.tekun_care → care_allowance), from the month after the
-- report's as_of (R-PROC-DIBAO: benefits start the month after; a month already
-- in a payroll run is corrected by an adjustment line of the next run, its paid
-- line never rewritten). A civil decision decides the whole
-- household: it supersedes, from that first month on, the case's and its
-- persons' active entitlements of the kinds it decides (supplements, tekun
-- support and care allowance; the dibao allowance too when it grants one),
-- ending those it no longer grants; past months are never rewritten. An
-- unchanged entitlement (same person, kind and amount) runs on. A decision
-- older than the entitlements it would supersede (an earlier report decided
-- late) starts nothing. Each decision once (entitlement_sources): returns the
-- number started now, 0 when it was done before or is not granted.
-- Called by the benefits service's sweep and by the casework confirmation.
-- The definer's rights: the casework role confirming a review writes no
-- entitlement table itself (EXECUTE granted to aid_benefits and aid_casework).
CREATE OR REPLACE FUNCTION aid_entitlements_start(p_referral bigint) RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_case bigint;
    v_report bigint;
    v_asof date;
    v_rules text[];
    v_status text;
    v_month date;
    v_kinds text[] := ARRAY['dibao_supplement', 'tekun_support', 'care_allowance'];
    v_started int := 0;
    v_keep bigint[];
BEGIN
    INSERT INTO entitlement_sources (referral_id) VALUES (p_referral)
        ON CONFLICT (referral_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    -- the referral's status: a review's decision row stays the proposal (in_review)
    -- while its confirmation makes the referral granted, with the grant's rules
    SELECT f.case_id, f.report_id, r.as_of,
           d.rules || CASE WHEN d.status = 'in_review'
                           THEN ARRAY['R-DIBAO-GRANT', 'R-TEKUN-GRANT', 'R-PROC-CONFIRM']
                           ELSE '{}'::text[] END,
           f.status
      INTO v_case, v_report, v_asof, v_rules, v_status
      FROM referrals f JOIN decisions d USING (referral_id) JOIN reports r USING (report_id)
     WHERE f.referral_id = p_referral AND f.department = 'civil';
    IF NOT FOUND OR v_status <> 'granted' THEN
        RETURN 0;
    END IF;
    -- a re-check (R-RECHECK, aid_recheck_confirm) takes effect the month after its
    -- confirmation, not after the report it started from
    v_asof := coalesce((SELECT k.closed_on FROM rechecks k WHERE k.referral_id = p_referral),
                       v_asof);
    -- one case at a time (the sweep and a confirmation may meet)
    PERFORM pg_advisory_xact_lock(hashtext('aid_entitlements'), v_case::int);

    PERFORM aid_work_table('ent_new',
        'id_hash bytea, subject bytea, id_masked text, kind text, amount_fen bigint, rules text[]');
    INSERT INTO ent_new
    SELECT p.id_hash, coalesce(p.id_hash, int8send(v_case)), m.id_masked,
           aid_entitlement_kind(m.code), sum(m.amount_fen),
           aid_entitlement_rules(aid_entitlement_kind(m.code), v_rules)
      FROM measures m
      LEFT JOIN assessed_persons p ON p.report_id = v_report AND p.idx = m.person_idx
     WHERE m.referral_id = p_referral AND m.period = 'month' AND m.form = 'cash'
       AND m.amount_fen > 0 AND aid_entitlement_kind(m.code) IS NOT NULL
     GROUP BY 1, 2, 3, 4, 6;
    IF EXISTS (SELECT 1 FROM ent_new WHERE kind = 'dibao_allowance') THEN
        v_kinds := v_kinds || 'dibao_allowance'::text;
    END IF;

    -- stale: a later report's decision already holds these kinds
    IF EXISTS (SELECT 1 FROM entitlements e
                WHERE (e.case_id = v_case OR e.subject = ANY (ARRAY(SELECT subject FROM ent_new)))
                  AND e.kind = ANY (v_kinds) AND e.report_id > v_report) THEN
        RETURN 0;
    END IF;
    -- from its own first month, even one already in a payroll run: the run after
    -- corrects that month with an adjustment line (aid_payroll_run)
    v_month := aid_month_after(v_asof);

    -- a person whose entitlements a death ended gets none again (a report filed
    -- after the death may still list them)
    DELETE FROM ent_new n
     WHERE n.id_hash IS NOT NULL
       AND EXISTS (SELECT 1 FROM entitlements e WHERE e.subject = n.subject
                      AND e.end_reason = 'death');
    -- unchanged ones run on: nothing to start for them
    SELECT coalesce(array_agg(e.entitlement_id), '{}') INTO v_keep
      FROM entitlements e JOIN ent_new n ON n.subject = e.subject AND n.kind = e.kind
     WHERE e.case_id = v_case AND e.amount_fen = n.amount_fen
       AND e.first_month <= v_month AND e.last_month IS NULL;
    DELETE FROM ent_new n
     USING entitlements e
     WHERE e.entitlement_id = ANY (v_keep) AND e.subject = n.subject AND e.kind = n.kind;
    -- the rest of the decided kinds end before v_month (void when not begun)
    UPDATE entitlements e
       SET last_month = CASE WHEN e.first_month >= v_month
                             THEN (e.first_month - interval '1 month')::date
                             ELSE (v_month - interval '1 month')::date END,
           ended_by = p_referral,
           end_reason = CASE WHEN e.case_id <> v_case THEN 'moved'
                             WHEN EXISTS (SELECT 1 FROM ent_new n WHERE n.subject = e.subject
                                             AND n.kind = e.kind) THEN 'superseded'
                             ELSE 'ended' END,
           end_rules = v_rules
     WHERE (e.case_id = v_case OR e.subject = ANY (ARRAY(SELECT subject FROM ent_new)))
       AND e.kind = ANY (v_kinds)
       AND (e.last_month IS NULL OR e.last_month >= v_month)
       AND e.entitlement_id <> ALL (v_keep);
    INSERT INTO entitlements (case_id, id_hash, subject, id_masked, kind, amount_fen,
                              first_month, referral_id, report_id, rules)
    SELECT v_case, n.id_hash, n.subject, n.id_masked, n.kind, n.amount_fen, v_month,
           p_referral, v_report, n.rules
      FROM ent_new n;
    GET DIAGNOSTICS v_started = ROW_COUNT;
    UPDATE entitlement_sources SET started = v_started WHERE referral_id = p_referral;
    RETURN v_started;
END
$$;
REVOKE ALL ON FUNCTION aid_entitlements_start(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_entitlements_start(bigint) TO aid_benefits, aid_casework;

-- Starts the entitlements of the granted civil decisions p_refs, as calling
-- aid_entitlements_start for each in report order would, in a few set-based
-- statements for the common case: a decision whose case no other decision of the
-- batch touches, none of whose persons another decision of the batch names, and
-- whose case and persons hold no entitlement yet (a first grant). For such a
-- decision aid_entitlements_start would find nothing stale, no death, nothing to
-- keep and nothing to end, and insert every monthly cash measure: so it is done
-- here, for all of them in one insert. Every other decision goes through
-- aid_entitlements_start, one at a time, oldest report first; the two groups share
-- no case and no person, so their order between them changes nothing. Every case
-- of the batch is locked first, in order (the lock aid_entitlements_start takes).
-- At most p_others of the other decisions (a dozen statements each) are handled in
-- one call, so that a batch of them does not hold the benefits service's requests
-- for seconds; the rest stay unstarted for the next call, which finds them first.
-- Returns the number of decisions handled now, whatever they started (those done
-- before and those not granted are not counted).
DROP FUNCTION IF EXISTS aid_entitlements_start_batch(bigint[]);
CREATE OR REPLACE FUNCTION aid_entitlements_start_batch(p_refs bigint[], p_others int)
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_ref bigint;
    v_n int := 0;
    v_first int := 0;
    v_started bigint[];
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('aid_entitlements'), c::int)
       FROM (SELECT DISTINCT f.case_id AS c FROM referrals f
              WHERE f.referral_id = ANY (p_refs) ORDER BY 1) x;
    PERFORM aid_work_table('ent_refs',
        'referral_id bigint, case_id bigint, report_id bigint, month date, rules text[]');
    PERFORM aid_work_table('ent_rows', 'referral_id bigint, id_hash bytea, subject bytea, '
                                       'id_masked text, kind text, amount_fen bigint, rules text[]');
    -- as aid_entitlements_start reads one: the review's confirmation adds the
    -- grant's rules, a re-check takes effect after its confirmation
    INSERT INTO ent_refs
    SELECT f.referral_id, f.case_id, f.report_id,
           aid_month_after(coalesce(k.closed_on, r.as_of)),
           d.rules || CASE WHEN d.status = 'in_review'
                           THEN ARRAY['R-DIBAO-GRANT', 'R-TEKUN-GRANT', 'R-PROC-CONFIRM']
                           ELSE '{}'::text[] END
      FROM referrals f JOIN decisions d USING (referral_id) JOIN reports r USING (report_id)
      LEFT JOIN rechecks k ON k.referral_id = f.referral_id
     WHERE f.referral_id = ANY (p_refs) AND f.department = 'civil' AND f.status = 'granted'
       AND NOT EXISTS (SELECT 1 FROM entitlement_sources s WHERE s.referral_id = f.referral_id);
    -- the person of each measure by its key, a probe each: as a join, planned
    -- against a temporary table without statistics (~900 rows), the batch's few
    -- dozen decisions got a hash of every assessed person of the county (100 ms
    -- of 120 at 180,000, one more month every month); LIMIT 1 keeps the lookup
    -- a subquery (the key is unique, so it changes nothing else)
    INSERT INTO ent_rows
    SELECT x.referral_id, p.id_hash, coalesce(p.id_hash, int8send(x.case_id)), m.id_masked,
           aid_entitlement_kind(m.code), sum(m.amount_fen),
           aid_entitlement_rules(aid_entitlement_kind(m.code), x.rules)
      FROM ent_refs x
      JOIN measures m ON m.referral_id = x.referral_id
      LEFT JOIN LATERAL (SELECT ap.id_hash FROM assessed_persons ap
                          WHERE ap.report_id = x.report_id AND ap.idx = m.person_idx
                          LIMIT 1) p ON true
     WHERE m.period = 'month' AND m.form = 'cash' AND m.amount_fen > 0
       AND aid_entitlement_kind(m.code) IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 7;

    -- first grants: recorded as started and inserted at once
    WITH first AS (
        SELECT x.referral_id FROM ent_refs x
         WHERE NOT EXISTS (SELECT 1 FROM ent_refs y
                            WHERE y.case_id = x.case_id AND y.referral_id <> x.referral_id)
           AND NOT EXISTS (SELECT 1 FROM ent_rows a JOIN ent_rows b ON b.subject = a.subject
                            WHERE a.referral_id = x.referral_id AND b.referral_id <> x.referral_id)
           AND NOT EXISTS (SELECT 1 FROM entitlements e WHERE e.case_id = x.case_id)
           AND NOT EXISTS (SELECT 1 FROM ent_rows a JOIN entitlements e ON e.subject = a.subject
                            WHERE a.referral_id = x.referral_id)
    ), counts AS (
        -- each decision's rows counted once (a count per decision would read
        -- the whole batch's rows again for each: quadratic in the batch)
        SELECT a.referral_id, count(*) AS n FROM ent_rows a GROUP BY a.referral_id
    ), src AS (
        INSERT INTO entitlement_sources (referral_id, started)
        SELECT f.referral_id, coalesce(c.n, 0)
          FROM first f LEFT JOIN counts c USING (referral_id)
        ON CONFLICT (referral_id) DO NOTHING
        RETURNING referral_id
    ), ins AS (
        INSERT INTO entitlements (case_id, id_hash, subject, id_masked, kind, amount_fen,
                                  first_month, referral_id, report_id, rules)
        SELECT x.case_id, a.id_hash, a.subject, a.id_masked, a.kind, a.amount_fen, x.month,
               x.referral_id, x.report_id, a.rules
          FROM src JOIN ent_refs x USING (referral_id) JOIN ent_rows a USING (referral_id)
    )
    SELECT count(*), coalesce(array_agg(src.referral_id), '{}') INTO v_first, v_started
      FROM src;
    -- the decisions just started leave the work table (the ones the insert
    -- returned: no read of entitlement_sources, the county's history)
    DELETE FROM ent_refs x WHERE x.referral_id = ANY (v_started);

    -- the others one by one, as before
    FOR v_ref IN SELECT x.referral_id FROM ent_refs x ORDER BY x.report_id, x.referral_id
                  LIMIT p_others LOOP
        PERFORM aid_entitlements_start(v_ref);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_first + v_n;
END
$$;
REVOKE ALL ON FUNCTION aid_entitlements_start_batch(bigint[], int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_entitlements_start_batch(bigint[], int) TO aid_benefits;

-- Starts the entitlements of up to p_limit granted civil decisions not yet
-- started, oldest report first, without a trigger on the decisions (the
-- report's hot path stays as it is), as one batch (aid_entitlements_start_batch,
-- at most p_limit / 10 of them other than first grants).
-- The watermark (entitlement_sweep.low) skips what is settled: every civil
-- referral below it was decided when a sweep looked, and each granted one was
-- handled. It is exact, with no allowance for late commits, because civil
-- referrals become visible in the order of their ids: every transaction that
-- files one (eligibility's aid_record_assessments, a re-check's
-- aid_recheck_open) first locks the civil row of dept_streams and holds it to
-- its commit, and takes the ids after that from one sequence (cache 1), so a
-- civil referral not yet committed is numbered above every committed one. One
-- snapshot, taken before the batch is looked for, gives the oldest civil
-- referral still pending and the newest filed; the mark may rise to the lower
-- of the two (the newest plus one when none is pending) only when every
-- decision found was handled. A referral still pending then is above the mark
-- whatever is decided while the batch runs, and the next sweep finds it.
-- Returns the number of decisions handled, and whether more wait now (a full
-- batch found, or some of it left for the next call).
DROP FUNCTION IF EXISTS aid_entitlements_sweep(int, bigint);
CREATE OR REPLACE FUNCTION aid_entitlements_sweep(p_limit int,
                                                  OUT handled int, OUT more boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_low bigint;
    v_mark bigint;
    v_refs bigint[];
    v_n int;
BEGIN
    handled := 0;
    SELECT low INTO v_low FROM entitlement_sweep FOR UPDATE;
    SELECT least(p.first, coalesce(t.last + 1, v_low)) INTO v_mark
      FROM (SELECT min(f.referral_id) AS first FROM referrals f
             WHERE f.department = 'civil' AND f.status = 'pending'
               AND f.referral_id >= v_low) p,
           (SELECT max(f.referral_id) AS last FROM referrals f
             WHERE f.department = 'civil' AND f.referral_id >= v_low) t;
    v_refs := ARRAY(
        SELECT f.referral_id FROM referrals f
         WHERE f.referral_id >= v_low AND f.department = 'civil' AND f.status = 'granted'
           AND NOT EXISTS (SELECT 1 FROM entitlement_sources s
                            WHERE s.referral_id = f.referral_id)
         ORDER BY f.report_id, f.referral_id
         LIMIT p_limit);
    v_n := cardinality(v_refs);
    IF v_n > 0 THEN
        handled := aid_entitlements_start_batch(v_refs, greatest(p_limit / 10, 1));
    END IF;
    more := v_n = p_limit OR handled < v_n;
    IF NOT more AND v_mark > v_low THEN
        UPDATE entitlement_sweep SET low = v_mark;
    END IF;
END
$$;

-- the benefits service checks the PII key on connecting, like every service
-- that reads ID numbers (aid_pii_key_matches: 20_roles.sql)
GRANT EXECUTE ON FUNCTION aid_pii_key_matches(bytea) TO aid_benefits;

-- The household status the case's entitlements give, for the reports p_reports
-- (POLICY.md §17: status given in a report is what the reporter believes; what
-- the county granted is the case's entitlements, and decisions use the latter
-- where they differ). One row per report whose case holds an entitlement (any,
-- not void): dibao when a dibao allowance or supplement of the case is in force
-- in the report's month, and the ID hashes (hex) of the persons whose tekun
-- support or care allowance is. In force: not ended before that month (a grant
-- counts from its decision on, though paid from the month after). A case with
-- no entitlement yet has no row: its reported status stands. Eligibility calls
-- it once per batch (set-based, no trigger on the report path).
CREATE OR REPLACE FUNCTION aid_entitled_status(p_reports bigint[])
RETURNS TABLE (report_id bigint, dibao boolean, tekun text[])
LANGUAGE sql STABLE AS $$
    SELECT r.report_id,
           coalesce(bool_or(e.kind IN ('dibao_allowance', 'dibao_supplement')
                            AND (e.last_month IS NULL
                                 OR e.last_month >= date_trunc('month', r.as_of))), false),
           coalesce(array_agg(DISTINCT encode(e.id_hash, 'hex'))
                        FILTER (WHERE e.kind IN ('tekun_support', 'care_allowance')
                                  AND e.id_hash IS NOT NULL
                                  AND (e.last_month IS NULL
                                       OR e.last_month >= date_trunc('month', r.as_of))),
                    '{}')
      FROM reports r
      JOIN entitlements e ON e.case_id = r.case_id
     WHERE r.report_id = ANY (p_reports)
       AND (e.last_month IS NULL OR e.last_month >= e.first_month)
     GROUP BY r.report_id
$$;
GRANT SELECT ON entitlements TO aid_eligibility;

-- ---------------------------------------------------------------- payroll

-- Is entitlement p_ent paused in month p_month, and not owed for it? (A pause
-- whose resumption said the paused months are owed — back pay — pays them.)
CREATE OR REPLACE FUNCTION aid_entitlement_paused(p_ent bigint, p_month date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM entitlement_pauses z
                    WHERE z.entitlement_id = p_ent AND NOT z.owed AND z.from_month <= p_month
                      AND (z.to_month IS NULL OR z.to_month >= p_month))
$$;

-- The corrections of months already run, as adjustment lines of run p_run (of
-- p_month, township p_township; NULL: the county), R-PAY-MONTHLY: for each
-- household and earlier month that a run of its township or the county covered,
-- what it is owed now (its entitlements active in that month and not paused, or
-- paused with back pay) minus what its lines gave (regular and adjustment lines,
-- whatever their status: a failed or blocked one is carried; the lines of a case
-- merged into it count as its own). A difference is one adjustment line for that
-- month — due, or blocked without a payee — with its reason (adjust_reason:
-- 'back_pay' for paused months a resumption owes, 'granted' for entitlements owed
-- and not given, else the end reasons of those given and no longer owed:
-- 'superseded', 'exit', 'death', ...) and rules (the changes' own, and
-- R-PAY-MONTHLY). The paid lines are never rewritten. A negative one (money given
-- that was not owed) is taken from the household's payment in this run when what
-- stays is more than nothing; else it waits for a later run. Returns the number of
-- adjustment lines.
CREATE OR REPLACE FUNCTION aid_payroll_adjust(p_run bigint, p_month date, p_township text)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v_n int;
    v_m int;
BEGIN
    PERFORM aid_work_table('adj_new',
        'case_id bigint, month date, amount_fen bigint, reason text, rules text[], ents bigint[]');
    INSERT INTO adj_new
    WITH cm AS (
        SELECT DISTINCT c.case_id, r.month
          FROM payroll_runs r JOIN cases c ON r.township IS NULL OR c.township = r.township
         WHERE r.month < p_month AND r.run_id <> p_run
           AND (p_township IS NULL OR c.township = p_township)
           AND EXISTS (SELECT 1 FROM entitlements e
                        WHERE e.case_id = c.case_id AND e.first_month <= r.month)),
    owed AS (
        SELECT cm.case_id, cm.month, coalesce(sum(e.amount_fen), 0) AS owed,
               coalesce(array_agg(e.entitlement_id ORDER BY e.entitlement_id)
                        FILTER (WHERE e.entitlement_id IS NOT NULL), '{}') AS ents
          FROM cm LEFT JOIN entitlements e
            ON e.case_id = cm.case_id AND e.first_month <= cm.month
           AND (e.last_month IS NULL OR e.last_month >= cm.month)
           AND NOT aid_entitlement_paused(e.entitlement_id, cm.month)
         GROUP BY 1, 2),
    lines AS (
        SELECT CASE WHEN EXISTS (SELECT 1 FROM case_merges g WHERE g.from_case = l.case_id)
                    THEN aid_case_resolve(l.case_id) ELSE l.case_id END AS case_id,
               l.month, l.amount_fen, l.entitlements
          FROM payroll_lines l
         WHERE l.kind IN ('regular', 'adjustment') AND l.month < p_month
           AND l.case_id IN (SELECT x.case_id FROM cm x
                             UNION ALL
                             SELECT g.from_case FROM case_merges g)),
    given AS (
        SELECT l.case_id, l.month, sum(l.amount_fen) AS given FROM lines l GROUP BY 1, 2),
    given_ents AS (
        SELECT l.case_id, l.month, array_agg(DISTINCT u.ent) AS ents
          FROM lines l CROSS JOIN LATERAL unnest(l.entitlements) AS u(ent) GROUP BY 1, 2)
    SELECT o.case_id, o.month, o.owed - coalesce(g.given, 0),
           coalesce(ch.reason, 'correction'),
           ARRAY(SELECT DISTINCT x FROM unnest(coalesce(ch.rules, '{}') || 'R-PAY-MONTHLY'::text)
                   AS x ORDER BY x),
           o.ents
      FROM owed o
      LEFT JOIN given g ON g.case_id = o.case_id AND g.month = o.month
      LEFT JOIN given_ents ge ON ge.case_id = o.case_id AND ge.month = o.month
      LEFT JOIN LATERAL (
          SELECT string_agg(DISTINCT w.why, ',' ORDER BY w.why) AS reason,
                 array_agg(DISTINCT r.rule ORDER BY r.rule)
                     FILTER (WHERE r.rule IS NOT NULL) AS rules
            FROM (SELECT coalesce(e.end_reason, 'paused') AS why, e.end_rules AS rules
                    FROM entitlements e
                   WHERE e.entitlement_id = ANY (coalesce(ge.ents, '{}'))
                     AND e.entitlement_id <> ALL (o.ents)
                  UNION ALL
                  SELECT CASE WHEN EXISTS (
                              SELECT 1 FROM entitlement_pauses z
                               WHERE z.entitlement_id = e.entitlement_id AND z.owed
                                 AND z.from_month <= o.month AND z.to_month >= o.month)
                              THEN 'back_pay' ELSE 'granted' END, e.rules
                    FROM entitlements e
                   WHERE e.entitlement_id = ANY (o.ents)
                     AND e.entitlement_id <> ALL (coalesce(ge.ents, '{}'))) w
            LEFT JOIN LATERAL unnest(w.rules) AS r(rule) ON true) ch ON true
     WHERE o.owed <> coalesce(g.given, 0);
    -- what is owed more
    INSERT INTO payroll_lines (run_id, case_id, month, amount_fen, kind, status, adjust_reason,
                               rules, entitlements)
    SELECT p_run, a.case_id, a.month, a.amount_fen, 'adjustment',
           CASE WHEN EXISTS (SELECT 1 FROM payees p WHERE p.case_id = a.case_id)
                THEN 'due' ELSE 'blocked' END,
           a.reason, a.rules, a.ents
      FROM adj_new a WHERE a.amount_fen > 0
     ORDER BY a.case_id, a.month;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    -- what was given too much: from this run's payment, when some of it stays
    INSERT INTO payroll_lines (run_id, case_id, month, amount_fen, kind, status, adjust_reason,
                               rules, entitlements)
    SELECT p_run, a.case_id, a.month, a.amount_fen, 'adjustment',
           CASE WHEN EXISTS (SELECT 1 FROM payees p WHERE p.case_id = a.case_id)
                THEN 'due' ELSE 'blocked' END,
           a.reason, a.rules, a.ents
      FROM adj_new a
     WHERE a.amount_fen < 0
       AND (SELECT coalesce(sum(l.amount_fen), 0) FROM payroll_lines l
             WHERE l.run_id = p_run AND l.case_id = a.case_id)
         + (SELECT sum(b.amount_fen) FROM adj_new b
             WHERE b.case_id = a.case_id AND b.amount_fen < 0) > 0
     ORDER BY a.case_id, a.month;
    GET DIAGNOSTICS v_m = ROW_COUNT;
    RETURN v_n + v_m;
END
$$;

-- The monthly payroll of p_month for township p_township (NULL: the county),
-- R-PAY-MONTHLY: one regular line per household (case) with its entitlements
-- active and not paused in the month summed; every failed or blocked line of
-- an earlier run, not yet carried, carried once; the corrections of months
-- already run as adjustment lines (aid_payroll_adjust); a household without a payee
-- blocked (listed, never in the bank's file). One transaction: a run killed
-- half-way left nothing, and a household-month is in at most one regular line
-- (a county run and a township run of one month never pay it twice). The run's
-- control totals are of its due lines. outcome 'exists' (with that run) when
-- the month's run of that scope was made before.
CREATE OR REPLACE FUNCTION aid_payroll_run(p_request text, p_month date, p_township text,
                                           p_by text,
                                           OUT outcome text, OUT run_id bigint,
                                           OUT lines int, OUT total_fen bigint,
                                           OUT blocked int)
LANGUAGE plpgsql AS $$
BEGIN
    -- one run at a time: a run's adjustments count the lines of every earlier one
    PERFORM pg_advisory_xact_lock(hashtext('aid_payroll_run'));
    INSERT INTO payroll_runs (month, township, created_by, request_id, lines, total_fen, blocked)
    VALUES (p_month, p_township, p_by, p_request, 0, 0, 0)
    ON CONFLICT (month, coalesce(township, '')) DO NOTHING
    RETURNING payroll_runs.run_id INTO run_id;
    IF run_id IS NULL THEN
        SELECT 'exists', r.run_id, r.lines, r.total_fen, r.blocked
          INTO outcome, run_id, lines, total_fen, blocked
          FROM payroll_runs r
         WHERE r.month = p_month AND coalesce(r.township, '') = coalesce(p_township, '');
        RETURN;
    END IF;
    -- this month's lines
    INSERT INTO payroll_lines (run_id, case_id, month, amount_fen, kind, status, entitlements)
    SELECT aid_payroll_run.run_id, e.case_id, p_month, sum(e.amount_fen), 'regular',
           CASE WHEN EXISTS (SELECT 1 FROM payees p WHERE p.case_id = e.case_id)
                THEN 'due' ELSE 'blocked' END,
           array_agg(e.entitlement_id ORDER BY e.entitlement_id)
      FROM entitlements e JOIN cases c USING (case_id)
     WHERE e.first_month <= p_month AND (e.last_month IS NULL OR e.last_month >= p_month)
       AND (p_township IS NULL OR c.township = p_township)
       AND NOT aid_entitlement_paused(e.entitlement_id, p_month)
     GROUP BY e.case_id
    ON CONFLICT (case_id, month) WHERE kind = 'regular' DO NOTHING;
    -- failed and blocked lines of earlier months, each carried once
    INSERT INTO payroll_lines (run_id, case_id, month, amount_fen, kind, carried_from, status,
                               entitlements)
    SELECT aid_payroll_run.run_id, l.case_id, l.month, l.amount_fen, 'carried', l.line_id,
           CASE WHEN EXISTS (SELECT 1 FROM payees p WHERE p.case_id = l.case_id)
                THEN 'due' ELSE 'blocked' END,
           l.entitlements
      FROM payroll_lines l JOIN cases c USING (case_id)
     WHERE l.status IN ('failed', 'blocked') AND l.month < p_month
       AND (p_township IS NULL OR c.township = p_township)
       AND NOT EXISTS (SELECT 1 FROM payroll_lines k WHERE k.carried_from = l.line_id)
    ON CONFLICT (carried_from) DO NOTHING;
    PERFORM aid_payroll_adjust(aid_payroll_run.run_id, p_month, p_township);
    SELECT count(*) FILTER (WHERE l.status = 'due'),
           coalesce(sum(l.amount_fen) FILTER (WHERE l.status = 'due'), 0),
           count(*) FILTER (WHERE l.status = 'blocked')
      INTO lines, total_fen, blocked
      FROM payroll_lines l WHERE l.run_id = aid_payroll_run.run_id;
    UPDATE payroll_runs r SET lines = aid_payroll_run.lines,
                              total_fen = aid_payroll_run.total_fen,
                              blocked = aid_payroll_run.blocked
     WHERE r.run_id = aid_payroll_run.run_id;
    outcome := 'new';
END
$$;

-- The control totals of run p_run as its lines give them now: due lines and
-- their sum, blocked, paid (count, sum), failed (count, sum).
CREATE OR REPLACE FUNCTION aid_payroll_totals(p_run bigint,
                                              OUT due int, OUT due_fen bigint,
                                              OUT blocked int, OUT paid int,
                                              OUT paid_fen bigint, OUT failed int,
                                              OUT failed_fen bigint)
LANGUAGE sql STABLE AS $$
    SELECT count(*) FILTER (WHERE status <> 'blocked')::int,
           coalesce(sum(amount_fen) FILTER (WHERE status <> 'blocked'), 0)::bigint,
           count(*) FILTER (WHERE status = 'blocked')::int,
           count(*) FILTER (WHERE status = 'paid')::int,
           coalesce(sum(amount_fen) FILTER (WHERE status = 'paid'), 0)::bigint,
           count(*) FILTER (WHERE status = 'failed')::int,
           coalesce(sum(amount_fen) FILTER (WHERE status = 'failed'), 0)::bigint
      FROM payroll_lines WHERE run_id = p_run
$$;

-- Approves run p_run by p_by (four eyes: never its maker), after checking its
-- control totals against its lines. outcome: 'ok', 'not_found', 'same_person',
-- 'approved' (before, by approved_by), 'totals' (the lines do not add up).
CREATE OR REPLACE FUNCTION aid_payroll_approve(p_run bigint, p_by text,
                                               OUT outcome text, OUT approved_by text)
LANGUAGE plpgsql AS $$
DECLARE
    r payroll_runs%ROWTYPE;
    t record;
BEGIN
    SELECT * INTO r FROM payroll_runs WHERE run_id = p_run FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF r.approved_by IS NOT NULL THEN
        outcome := 'approved';
        approved_by := r.approved_by;
        RETURN;
    END IF;
    IF r.created_by = p_by THEN
        outcome := 'same_person';
        RETURN;
    END IF;
    SELECT * INTO t FROM aid_payroll_totals(p_run);
    IF t.due <> r.lines OR t.due_fen <> r.total_fen OR t.blocked <> r.blocked THEN
        outcome := 'totals';
        RETURN;
    END IF;
    UPDATE payroll_runs SET approved_by = p_by, approved_at = now() WHERE run_id = p_run;
    outcome := 'ok';
    approved_by := p_by;
END
$$;

-- Marks line p_line of run p_run paid or failed (the bank's return, with its
-- reason), and with it every other due line of the same household in the run
-- (the bank's file has one line per household: its lines summed, p_line the
-- first of them). outcome: 'ok', 'no_run', 'not_found' (no such line in the run),
-- 'not_approved', 'blocked' (never sent), 'settled' (paid or failed before:
-- a paid line is never paid again, a failed one is carried, not re-marked).
CREATE OR REPLACE FUNCTION aid_payroll_settle(p_run bigint, p_line bigint, p_status text,
                                              p_reason text, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    l payroll_lines%ROWTYPE;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM payroll_runs WHERE run_id = p_run AND approved_at IS NOT NULL) THEN
        outcome := CASE WHEN EXISTS (SELECT 1 FROM payroll_runs WHERE run_id = p_run)
                        THEN 'not_approved' ELSE 'no_run' END;
        RETURN;
    END IF;
    SELECT * INTO l FROM payroll_lines WHERE line_id = p_line AND run_id = p_run FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
    ELSIF l.status = 'blocked' THEN
        outcome := 'blocked';
    ELSIF l.status <> 'due' THEN
        outcome := CASE WHEN l.status = p_status THEN 'ok' ELSE 'settled' END;
    ELSE
        -- the bank's file pays a household its lines of the run summed, in one line
        UPDATE payroll_lines SET status = p_status, reason = p_reason, settled_at = now()
         WHERE run_id = p_run AND case_id = l.case_id AND status = 'due';
        outcome := 'ok';
    END IF;
END
$$;

-- ---------------------------------------------------------------- the public list

-- The entitlements of the households of village p_village (their latest report's)
-- active in month p_month, for the public list (R-DISCLOSE): per case and the
-- measure code the list shows (civil.dibao_grant for the dibao allowance,
-- civil.dibao_supplement, civil.tekun_support), the month's amount, and the
-- report that names the household. So a household granted in November is on
-- December's list, and every month after while its entitlements run.
CREATE OR REPLACE FUNCTION aid_disclosure_entitlements(p_village text, p_month date)
RETURNS TABLE (case_id bigint, code text, amount bigint, report_id bigint)
LANGUAGE sql STABLE AS $$
    WITH v AS (
        SELECT DISTINCT ON (r.case_id) r.case_id, r.report_id, r.village
          FROM reports r
         WHERE r.case_id IN (SELECT x.case_id FROM reports x WHERE x.village = p_village)
         ORDER BY r.case_id, r.report_id DESC)
    SELECT e.case_id,
           CASE e.kind WHEN 'dibao_allowance' THEN 'civil.dibao_grant' ELSE 'civil.' || e.kind END,
           sum(e.amount_fen)::bigint, max(v.report_id)
      FROM v JOIN entitlements e ON e.case_id = v.case_id
     WHERE v.village = p_village
       AND e.kind IN ('dibao_allowance', 'dibao_supplement', 'tekun_support')
       AND e.first_month <= p_month AND (e.last_month IS NULL OR e.last_month >= p_month)
     GROUP BY 1, 2
$$;

-- ---------------------------------------------------------------- exits and pauses

-- The value of parameter p_name in force on p_on.
CREATE OR REPLACE FUNCTION aid_benefits_param(p_name text, p_on date) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT p.value FROM params p WHERE p.name = p_name AND p.effective_from <= p_on
     ORDER BY p.effective_from DESC, p.created_at DESC LIMIT 1
$$;

-- Ends entitlements of case p_case (R-EXIT), each with its reason, rule and who:
--   death   the person p_hash's, every kind, at the end of month p_month;
--   income  the household's, after P_GRADUAL_EXIT_MONTHS more months (渐退), unless
--           its latest civil decision keeps its dibao (R-DIBAO-KEEP: outcome 'keep');
--   moved   the person p_hash's (moved to another household), at the end of p_month;
--   other   the household's (or the person's, with p_hash) at the end of p_month.
-- An end in a month already paid is corrected by a negative adjustment line of
-- the next run (aid_payroll_run); the paid line stays. outcome: 'ok' (ended: the number),
-- 'keep', 'none' (nothing active to end); last_month the end month.
CREATE OR REPLACE FUNCTION aid_entitlements_exit(p_request text, p_case bigint, p_hash bytea,
                                                 p_reason text, p_month date, p_by text,
                                                 OUT outcome text, OUT ended int,
                                                 OUT last_month date)
LANGUAGE plpgsql AS $$
DECLARE
    v_rules text[];
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('aid_entitlements'), p_case::int);
    IF p_reason = 'income' AND EXISTS (
        SELECT 1 FROM (SELECT d.m_code FROM referrals f JOIN decisions d USING (referral_id)
                        WHERE f.case_id = p_case AND f.department = 'civil'
                          AND d.status = 'granted'
                        ORDER BY f.report_id DESC LIMIT 1) l
         WHERE 'civil.dibao_keep' = ANY (l.m_code)) THEN
        outcome := 'keep';
        ended := 0;
        RETURN;
    END IF;
    last_month := CASE p_reason
        WHEN 'income' THEN (p_month + make_interval(months =>
                            aid_benefits_param('P_GRADUAL_EXIT_MONTHS', p_month)::int))::date
        ELSE p_month END;
    -- a month already paid stays paid: the next run's adjustment line takes it back
    v_rules := CASE p_reason WHEN 'income' THEN '{R-EXIT,R-RECHECK}' ELSE '{R-EXIT}' END;
    UPDATE entitlements e
       SET last_month = CASE WHEN e.first_month > aid_entitlements_exit.last_month
                             THEN (e.first_month - interval '1 month')::date
                             ELSE aid_entitlements_exit.last_month END,
           end_reason = p_reason, end_rules = v_rules,
           ended_by_whom = p_by, ended_request = p_request
     WHERE e.case_id = p_case
       AND (p_hash IS NULL OR e.id_hash = p_hash)
       AND (e.last_month IS NULL OR e.last_month > aid_entitlements_exit.last_month);
    GET DIAGNOSTICS ended = ROW_COUNT;
    outcome := CASE WHEN ended > 0 THEN 'ok' ELSE 'none' END;
END
$$;

-- Pauses entitlement p_ent from p_from (whereabouts unknown, in hospital, in
-- custody): not paid, not owed, for the months paused. outcome 'ok',
-- 'not_found', 'paused' (a pause is open), 'ended' (it ended before p_from).
CREATE OR REPLACE FUNCTION aid_entitlement_pause(p_request text, p_ent bigint, p_from date,
                                                 p_reason text, p_by text, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    e entitlements%ROWTYPE;
BEGIN
    SELECT * INTO e FROM entitlements WHERE entitlement_id = p_ent FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
    ELSIF e.last_month IS NOT NULL AND e.last_month < p_from THEN
        outcome := 'ended';
    ELSIF EXISTS (SELECT 1 FROM entitlement_pauses z WHERE z.entitlement_id = p_ent
                     AND z.to_month IS NULL) THEN
        outcome := 'paused';
    ELSE
        INSERT INTO entitlement_pauses (entitlement_id, from_month, reason, by_whom, request_id)
        VALUES (p_ent, greatest(p_from, aid_entitlements_open_month(e.case_id, p_from)),
                p_reason, p_by, p_request);
        outcome := 'ok';
    END IF;
END
$$;

-- Resumes entitlement p_ent from month p_month (the pause ends the month before).
-- p_back_pay: the resumption says the paused months are owed (back pay: the next
-- run pays those already run as adjustment lines); else they are owed nothing.
-- outcome 'ok', 'not_found', 'not_paused'.
DROP FUNCTION IF EXISTS aid_entitlement_resume(bigint, date, text);
CREATE OR REPLACE FUNCTION aid_entitlement_resume(p_ent bigint, p_month date, p_by text,
                                                  p_back_pay boolean, OUT outcome text)
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE entitlement_pauses z
       SET to_month = greatest(z.from_month, p_month) - interval '1 month', resumed_by = p_by,
           owed = p_back_pay
     WHERE z.entitlement_id = p_ent AND z.to_month IS NULL;
    outcome := CASE WHEN FOUND THEN 'ok'
                    WHEN EXISTS (SELECT 1 FROM entitlements WHERE entitlement_id = p_ent)
                    THEN 'not_paused' ELSE 'not_found' END;
END
$$;

-- ---------------------------------------------------------------- re-checks

-- The re-checks due by month p_month (R-RECHECK), of township p_township (NULL:
-- the county): each dibao household (an active dibao allowance or supplement in
-- the month) and each tekun person (active tekun support), with the month of its
-- re-check — its last civil decision's month (the as_of of the report it decided)
-- plus P_RECHECK_MONTHS (6), P_RECHECK_MONTHS_STABLE (12) for a household whose
-- members were all elderly on that report, 12 for a tekun person — those due in
-- or before p_month, overdue when before it.
CREATE OR REPLACE FUNCTION aid_recheck_due(p_month date, p_township text)
RETURNS TABLE (case_id bigint, kind text, id_masked text, due_month date, township text)
LANGUAGE sql STABLE AS $$
    WITH last AS (
        SELECT DISTINCT ON (f.case_id) f.case_id, f.report_id,
               date_trunc('month', coalesce(k.closed_on, r.as_of))::date AS checked
          FROM referrals f JOIN reports r USING (report_id)
          LEFT JOIN rechecks k ON k.referral_id = f.referral_id
         WHERE f.department = 'civil' AND f.status = 'granted'
           AND f.case_id IN (SELECT e.case_id FROM entitlements e
                              WHERE e.first_month <= p_month
                                AND (e.last_month IS NULL OR e.last_month >= p_month))
         ORDER BY f.case_id, coalesce(k.closed_on, r.as_of) DESC, f.report_id DESC),
    active AS (
        SELECT e.case_id, e.kind, e.id_masked
          FROM entitlements e JOIN cases c USING (case_id)
         WHERE e.first_month <= p_month AND (e.last_month IS NULL OR e.last_month >= p_month)
           AND e.kind IN ('dibao_allowance', 'dibao_supplement', 'tekun_support')
           AND (p_township IS NULL OR c.township = p_township)),
    due AS (
        SELECT DISTINCT a.case_id, 'dibao'::text AS kind, NULL::text AS id_masked,
               (l.checked + make_interval(months => (CASE WHEN NOT EXISTS (
                    SELECT 1 FROM assessed_persons p WHERE p.report_id = l.report_id
                       AND p.age < 60)
                    THEN aid_benefits_param('P_RECHECK_MONTHS_STABLE', p_month)
                    ELSE aid_benefits_param('P_RECHECK_MONTHS', p_month) END)::int))::date AS due
          FROM active a JOIN last l USING (case_id)
         WHERE a.kind IN ('dibao_allowance', 'dibao_supplement')
        UNION ALL
        SELECT a.case_id, 'tekun', a.id_masked,
               (l.checked + interval '12 months')::date
          FROM active a JOIN last l USING (case_id)
         WHERE a.kind = 'tekun_support')
    SELECT d.case_id, d.kind, d.id_masked, d.due, c.township::text
      FROM due d JOIN cases c USING (case_id)
     WHERE d.due <= p_month
     ORDER BY d.due, d.case_id, d.id_masked
$$;

-- ---------------------------------------------------------------- one case per household

-- The case p_case goes on as: itself, or the case it was merged into (followed).
-- PL/pgSQL, whose plan the session keeps: every case.get asks it, and a SQL function
-- with a recursive query is planned again at each call (issue 19).
CREATE OR REPLACE FUNCTION aid_case_resolve(p_case bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (WITH RECURSIVE chain(c, depth) AS (
        SELECT p_case, 0
        UNION ALL
        SELECT m.into_case, chain.depth + 1 FROM case_merges m JOIN chain ON m.from_case = chain.c
         WHERE chain.depth < 32)
    SELECT c FROM chain ORDER BY depth DESC LIMIT 1);
END;
$$;

-- Case p_case and every case merged into it (followed back through case_merges),
-- ascending: whose reports, referrals and decisions case.get shows under p_case's
-- number (history kept: a merge moves members and entitlements, never reports).
-- PL/pgSQL, whose plans the session keeps: case.get calls it in most of its
-- statements, and as a SQL function (a recursive query, never inlined) it was
-- planned again at every call; a case nothing was merged into (nearly all) is one
-- index probe.
CREATE OR REPLACE FUNCTION aid_case_family(p_case bigint) RETURNS bigint[]
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM case_merges m WHERE m.into_case = p_case) THEN
        RETURN ARRAY[p_case];
    END IF;
    RETURN (WITH RECURSIVE fam(c, depth) AS (
                SELECT p_case, 0
                UNION ALL
                SELECT m.from_case, fam.depth + 1 FROM case_merges m JOIN fam ON m.into_case = fam.c
                 WHERE fam.depth < 32)
            SELECT array_agg(DISTINCT c ORDER BY c) FROM fam);
END;
$$;

-- Merges case p_from into p_into (case.merge): the members of p_from become
-- members of p_into (every later report about them joins it); its persons'
-- entitlements go on under p_into; a household-level entitlement of p_from ends
-- at the end of p_month when p_into holds one of that kind, else goes on under
-- p_into; p_from's reports and decisions stay where they are. Recorded with who
-- and why, and in the audit trail. outcome: 'ok', 'no_into', 'no_from', 'same',
-- 'merged' (p_from was merged before), 'into_merged' (p_into was).
CREATE OR REPLACE FUNCTION aid_case_merge(p_request text, p_into bigint, p_from bigint,
                                          p_by text, p_reason text, p_month date,
                                          OUT outcome text, OUT members int,
                                          OUT moved int, OUT ended int)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_end date;
BEGIN
    members := 0; moved := 0; ended := 0;
    IF p_into = p_from THEN outcome := 'same'; RETURN; END IF;
    IF NOT EXISTS (SELECT 1 FROM cases WHERE case_id = p_into) THEN outcome := 'no_into'; RETURN; END IF;
    IF NOT EXISTS (SELECT 1 FROM cases WHERE case_id = p_from) THEN outcome := 'no_from'; RETURN; END IF;
    IF EXISTS (SELECT 1 FROM case_merges WHERE from_case = p_from) THEN outcome := 'merged'; RETURN; END IF;
    IF EXISTS (SELECT 1 FROM case_merges WHERE from_case = p_into) THEN outcome := 'into_merged'; RETURN; END IF;
    -- the persons' locks of the report path (aid_submit_report), then the cases'
    FOR v_hash IN SELECT m.id_hash FROM case_members m WHERE m.case_id = p_from
                   ORDER BY encode(m.id_hash, 'hex') LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(encode(v_hash, 'hex'), 0));
    END LOOP;
    PERFORM pg_advisory_xact_lock(hashtext('aid_entitlements'), least(p_into, p_from)::int);
    PERFORM pg_advisory_xact_lock(hashtext('aid_entitlements'), greatest(p_into, p_from)::int);
    INSERT INTO case_merges (from_case, into_case, by_whom, reason, request_id)
    VALUES (p_from, p_into, p_by, p_reason, p_request);
    UPDATE case_members SET case_id = p_into WHERE case_id = p_from;
    GET DIAGNOSTICS members = ROW_COUNT;
    v_end := (aid_entitlements_open_month(p_from, aid_month_after(p_month)) - interval '1 month')::date;
    UPDATE entitlements e
       SET last_month = CASE WHEN e.first_month > v_end
                             THEN (e.first_month - interval '1 month')::date ELSE v_end END,
           end_reason = 'merged', end_rules = '{R-AUDIT}', ended_by_whom = p_by,
           ended_request = p_request
     WHERE e.case_id = p_from AND e.id_hash IS NULL
       AND (e.last_month IS NULL OR e.last_month > v_end)
       AND EXISTS (SELECT 1 FROM entitlements k WHERE k.case_id = p_into AND k.kind = e.kind
                      AND k.id_hash IS NULL AND (k.last_month IS NULL OR k.last_month > v_end));
    GET DIAGNOSTICS ended = ROW_COUNT;
    UPDATE entitlements e SET case_id = p_into
     WHERE e.case_id = p_from AND (e.last_month IS NULL OR e.last_month >= e.first_month);
    GET DIAGNOSTICS moved = ROW_COUNT;
    INSERT INTO audit_log (who, action, case_id, detail)
    VALUES (p_by, 'case.merge', p_into,
            format('case %s merged into %s: %s; request %s', p_from, p_into, p_reason, p_request)),
           (p_by, 'case.merge', p_from,
            format('case %s merged into %s: %s; request %s', p_from, p_into, p_reason, p_request));
    outcome := 'ok';
END
$$;

-- A death trigger (trigger p_trigger, the person p_hash, who died in month p_month):
-- ends the person's entitlements at the end of that month (R-EXIT), once per trigger.
-- Returns the number ended (0 also when handled before or the person is in no case).
CREATE OR REPLACE FUNCTION aid_entitlements_death(p_trigger bigint, p_hash bytea, p_month date)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v_case bigint;
    x record;
BEGIN
    INSERT INTO entitlement_deaths (trigger_id) VALUES (p_trigger)
        ON CONFLICT (trigger_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    SELECT m.case_id INTO v_case FROM case_members m WHERE m.id_hash = p_hash;
    IF v_case IS NULL THEN
        RETURN 0;
    END IF;
    SELECT * INTO x FROM aid_entitlements_exit('trigger-' || p_trigger, v_case, p_hash, 'death',
                                               p_month, 'death trigger');
    UPDATE entitlement_deaths SET case_id = v_case, ended = x.ended WHERE trigger_id = p_trigger;
    RETURN x.ended;
END
$$;

-- Deaths named in reports (a `death` circumstance with the person's ID number,
-- R-EXIT; ops/migrations/101): for each (report, its case, the person's ID hash in
-- hex, the month of the death, the per-capita income and number of the living
-- members the report lists), once per report and person: ends the person's
-- entitlements at the end of that month (aid_entitlements_exit, as a death trigger
-- does) and recomputes the household's running dibao allowance for the living from
-- the month after (R-DIBAO-GRANT: per member P_DIBAO minus the per-capita income, at
-- least P_DIBAO_MIN_RATE (10%) of P_DIBAO): the old one ends with the death month
-- (superseded; never in a month already approved for payroll) and the new one runs
-- on. The household's supplements, tekun support and care allowances are recomputed
-- by the report's own civil decision. Eligibility calls it once per batch that names
-- a death, in the batch's transaction; the definer's rights (eligibility writes no
-- entitlement itself). Returns the number of the persons' entitlements ended.
CREATE OR REPLACE FUNCTION aid_entitlements_report_deaths(p_reports bigint[], p_cases bigint[],
                                                          p_hashes text[], p_months date[],
                                                          p_pci bigint[], p_living int[])
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    d record;
    x record;
    a entitlements%ROWTYPE;
    v_n int := 0;
    v_std bigint;
    v_rate bigint;
    v_amount bigint;
    v_from date;
BEGIN
    FOR d IN SELECT t.r, t.c, decode(t.h, 'hex') AS hash, date_trunc('month', t.m)::date AS m,
                    t.pci, t.n
               FROM unnest(p_reports, p_cases, p_hashes, p_months, p_pci, p_living)
                    AS t(r, c, h, m, pci, n)
              ORDER BY t.c, t.r, t.h
    LOOP
        INSERT INTO report_deaths (report_id, id_hash, case_id, month)
        VALUES (d.r, d.hash, d.c, d.m) ON CONFLICT DO NOTHING;
        CONTINUE WHEN NOT FOUND;
        SELECT * INTO x FROM aid_entitlements_exit('report-' || d.r, d.c, d.hash, 'death', d.m,
                                                   'report-' || d.r);
        v_n := v_n + x.ended;
        UPDATE report_deaths SET ended = x.ended WHERE report_id = d.r AND id_hash = d.hash;
        -- the household's dibao allowance, for the living
        SELECT * INTO a FROM entitlements e
         WHERE e.case_id = d.c AND e.kind = 'dibao_allowance' AND e.id_hash IS NULL
           AND e.last_month IS NULL
         FOR UPDATE;
        CONTINUE WHEN NOT FOUND OR d.n < 1;
        v_std := aid_benefits_param('P_DIBAO', d.m);
        v_rate := coalesce(aid_benefits_param('P_DIBAO_MIN_RATE', d.m), 10);
        v_amount := greatest(v_std - d.pci, v_std / 100 * v_rate + (v_std % 100 * v_rate + 50) / 100)
                    * d.n;
        CONTINUE WHEN v_amount = a.amount_fen;
        v_from := greatest(a.first_month, aid_entitlements_open_month(d.c, aid_month_after(d.m)));
        UPDATE entitlements
           SET last_month = (v_from - interval '1 month')::date, end_reason = 'superseded',
               end_rules = '{R-EXIT,R-DIBAO-GRANT}', ended_by_whom = 'report-' || d.r,
               ended_request = 'report-' || d.r
         WHERE entitlement_id = a.entitlement_id;
        INSERT INTO entitlements (case_id, id_hash, subject, id_masked, kind, amount_fen,
                                  first_month, referral_id, report_id, rules)
        VALUES (d.c, NULL, a.subject, NULL, 'dibao_allowance', v_amount, v_from, a.referral_id,
                greatest(a.report_id, d.r), a.rules);
        UPDATE report_deaths SET allowance = v_amount WHERE report_id = d.r AND id_hash = d.hash;
    END LOOP;
    RETURN v_n;
END
$$;
REVOKE ALL ON FUNCTION aid_entitlements_report_deaths(bigint[], bigint[], text[], date[], bigint[],
                                                      int[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_entitlements_report_deaths(bigint[], bigint[], text[], date[],
                                                         bigint[], int[]) TO aid_eligibility;

-- ---------------------------------------------------------------- re-checks as reviews

-- The confirmation of re-check p_ref on p_on (aid_review_step, R-RECHECK): what
-- its investigation recomputed (the review's grant) supersedes the household's
-- entitlements from the month after (aid_entitlements_start; unchanged ones run
-- on); a recomputed dibao allowance of 0 (per-capita income at or above P_DIBAO)
-- is an exit instead (R-EXIT: the household keeps its dibao P_GRADUAL_EXIT_MONTHS
-- more months, then its entitlements end; 'keep' under R-DIBAO-KEEP). The re-check
-- is then done: recheck.due counts from this month. Returns the outcome
-- ('recomputed', 'exit', 'keep'). The definer's rights: casework writes no
-- entitlement itself.
CREATE OR REPLACE FUNCTION aid_recheck_confirm(p_ref bigint, p_on date, p_by text,
                                               p_request text)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_case bigint;
    v_outcome text;
    x record;
BEGIN
    UPDATE rechecks SET closed_on = p_on, outcome = 'recomputed'
     WHERE referral_id = p_ref AND outcome IS NULL
    RETURNING case_id INTO v_case;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM reviews v, jsonb_array_elements(v.grant_measures) g(m)
                WHERE v.referral_id = p_ref AND g.m->>'code' = 'civil.dibao_grant'
                  AND (g.m->>'amount_fen')::bigint = 0) THEN
        -- never started by the sweep either
        INSERT INTO entitlement_sources (referral_id) VALUES (p_ref) ON CONFLICT DO NOTHING;
        SELECT * INTO x FROM aid_entitlements_exit(p_request, v_case, NULL, 'income',
                                                   date_trunc('month', p_on)::date, p_by);
        v_outcome := CASE x.outcome WHEN 'keep' THEN 'keep' ELSE 'exit' END;
    ELSE
        PERFORM aid_entitlements_start(p_ref);
        v_outcome := 'recomputed';
    END IF;
    UPDATE rechecks SET outcome = v_outcome WHERE referral_id = p_ref;
    RETURN v_outcome;
END
$$;
REVOKE ALL ON FUNCTION aid_recheck_confirm(bigint, date, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_recheck_confirm(bigint, date, text, text) TO aid_casework;

-- The re-checks past their month on p_on (R-RECHECK: overdue), of township p_township
-- (NULL: the county): each due before p_on's month and not done since (a confirmed
-- re-check moves the due month on), with the referral of a re-check opened and not
-- yet closed. For referrals.overdue and the monthly ledger (count them).
CREATE OR REPLACE FUNCTION aid_rechecks_overdue(p_on date, p_township text)
RETURNS TABLE (case_id bigint, kind text, id_masked text, due_month date, township text,
               referral_id bigint)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT d.case_id, d.kind, d.id_masked, d.due_month, d.township,
           (SELECT k.referral_id FROM rechecks k WHERE k.case_id = d.case_id
               AND k.outcome IS NULL)
      FROM aid_recheck_due(date_trunc('month', p_on)::date, p_township) d
     WHERE d.due_month < date_trunc('month', p_on)::date
$$;
REVOKE ALL ON FUNCTION aid_rechecks_overdue(date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aid_rechecks_overdue(date, text)
    TO aid_decisions, aid_supervision, aid_operator, aid_benefits;
GRANT SELECT ON rechecks TO aid_benefits, aid_operator, aid_supervision, aid_intake;
-- a re-check's investigation recomputes from the status the entitlements give
GRANT SELECT ON entitlements TO aid_casework;
