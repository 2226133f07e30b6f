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
-- report's as_of (R-PROC-DIBAO: benefits start the month after; never in a
-- month already approved for payroll). A civil decision decides the whole
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
    -- one case at a time (the sweep and a confirmation may meet)
    PERFORM pg_advisory_xact_lock(hashtext('aid_entitlements'), v_case::int);

    CREATE TEMP TABLE IF NOT EXISTS ent_new (
        id_hash bytea, subject bytea, id_masked text, kind text, amount_fen bigint, rules text[]
    ) ON COMMIT DROP;
    TRUNCATE ent_new;
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
    v_month := aid_entitlements_open_month(v_case, aid_month_after(v_asof));

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

-- Starts the entitlements of up to p_limit granted civil decisions not yet
-- started, oldest report first, without a trigger on the decisions (the
-- report's hot path stays as it is). The watermark skips what is settled:
-- it stays below every civil referral still pending, and p_slack ids below
-- the newest one (a referral numbered earlier may still be in a transaction
-- that has not committed). Returns the number of decisions handled.
CREATE OR REPLACE FUNCTION aid_entitlements_sweep(p_limit int, p_slack bigint DEFAULT 20000)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v_low bigint;
    v_ref bigint;
    v_n int := 0;
    v_pending bigint;
    v_top bigint;
BEGIN
    SELECT low INTO v_low FROM entitlement_sweep FOR UPDATE;
    FOR v_ref IN
        SELECT f.referral_id FROM referrals f
         WHERE f.referral_id >= v_low AND f.department = 'civil' AND f.status = 'granted'
           AND NOT EXISTS (SELECT 1 FROM entitlement_sources s
                            WHERE s.referral_id = f.referral_id)
         ORDER BY f.report_id, f.referral_id
         LIMIT p_limit
    LOOP
        PERFORM aid_entitlements_start(v_ref);
        v_n := v_n + 1;
    END LOOP;
    IF v_n < p_limit THEN
        SELECT min(f.referral_id) INTO v_pending FROM referrals f
         WHERE f.department = 'civil' AND f.status = 'pending' AND f.referral_id >= v_low;
        SELECT max(f.referral_id) INTO v_top FROM referrals f WHERE f.referral_id >= v_low;
        UPDATE entitlement_sweep
           SET low = greatest(v_low, least(coalesce(v_pending, v_top - p_slack),
                                           coalesce(v_top, v_low) - p_slack));
    END IF;
    RETURN v_n;
END
$$;

-- the benefits service checks the PII key on connecting, like every service
-- that reads ID numbers (aid_pii_key_matches: 20_roles.sql)
GRANT EXECUTE ON FUNCTION aid_pii_key_matches(bytea) TO aid_benefits;

-- ---------------------------------------------------------------- payroll

-- The monthly payroll of p_month for township p_township (NULL: the county),
-- R-PAY-MONTHLY: one regular line per household (case) with its entitlements
-- active and not paused in the month summed; every failed or blocked line of
-- an earlier run, not yet carried, carried once; a household without a payee
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
       AND NOT EXISTS (SELECT 1 FROM entitlement_pauses z
                        WHERE z.entitlement_id = e.entitlement_id AND z.from_month <= p_month
                          AND (z.to_month IS NULL OR z.to_month >= p_month))
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
-- reason). outcome: 'ok', 'no_run', 'not_found' (no such line in the run),
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
        UPDATE payroll_lines SET status = p_status, reason = p_reason, settled_at = now()
         WHERE line_id = p_line;
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
-- Never a month already approved for payroll (the end moves to that month's end
-- at the earliest: what was paid stays paid). outcome: 'ok' (ended: the number),
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
    -- what an approved payroll paid stays paid
    last_month := greatest(last_month,
                           (aid_entitlements_open_month(p_case, p_month) - interval '1 month')::date);
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
-- outcome 'ok', 'not_found', 'not_paused'.
CREATE OR REPLACE FUNCTION aid_entitlement_resume(p_ent bigint, p_month date, p_by text,
                                                  OUT outcome text)
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE entitlement_pauses z
       SET to_month = greatest(z.from_month, p_month) - interval '1 month', resumed_by = p_by
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
               date_trunc('month', r.as_of)::date AS checked
          FROM referrals f JOIN reports r USING (report_id)
         WHERE f.department = 'civil' AND f.status = 'granted'
           AND f.case_id IN (SELECT e.case_id FROM entitlements e
                              WHERE e.first_month <= p_month
                                AND (e.last_month IS NULL OR e.last_month >= p_month))
         ORDER BY f.case_id, r.as_of DESC, f.report_id DESC),
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
