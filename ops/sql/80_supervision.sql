-- ops/sql/80_supervision.sql — supervision: the monthly ledger and complaints.
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.

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
    ),
    -- reviews (POLICY.md §16): open ones past their stage's date at the month's end
    -- (or today, in the current month), and the month's confirmations and refusals
    -- (the dates of only the open reviews are computed: reviews_open index)
    rev AS (
        SELECT township, sum(overdue) AS overdue, sum(confirmed) AS confirmed,
               sum(refused) AS refused
          FROM (SELECT v.township::text AS township, count(*) AS overdue, 0 AS confirmed,
                       0 AS refused
                  FROM bounds b, reviews v
                 CROSS JOIN LATERAL aid_review_state(v, least(b.l, aid_china_date(now()))) s
                 WHERE v.stage <> 'done' AND v.started_on <= b.l AND s.overdue
                   AND (p_township IS NULL OR v.township = p_township::bpchar)
                 GROUP BY v.township
                UNION ALL
                SELECT v.township::text, 0,
                       count(*) FILTER (WHERE v.outcome = 'granted'),
                       count(*) FILTER (WHERE v.outcome = 'denied')
                  FROM bounds b, reviews v
                 WHERE v.stage = 'done' AND v.last_on BETWEEN b.f AND b.l
                   AND (p_township IS NULL OR v.township = p_township::bpchar)
                 GROUP BY v.township) x
         GROUP BY township
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
    UNION ALL SELECT township, 'reviews', 'overdue', overdue, 0 FROM rev WHERE overdue > 0
    UNION ALL SELECT township, 'reviews', 'confirmed', confirmed, 0 FROM rev WHERE confirmed > 0
    UNION ALL SELECT township, 'reviews', 'refused', refused, 0 FROM rev WHERE refused > 0
$$;

-- The monthly ledger's benefits figures (issue 17, R-LEDGER-MONTHLY, R-PAY-MONTHLY,
-- R-RECHECK, R-EXIT), per township of the case, for month p_month (its first day):
--   households, persons   households with an entitlement active in the month, and
--                         their members;
--   owed                  those households (count) and the sum of their entitlements
--                         active and not paused in the month (paused with back pay
--                         counts): what the month owes;
--   paid, failed          the payroll lines for the month (regular, carried and
--                         adjustment) the bank's return marked paid or failed: count
--                         and sum;
--   rechecks_due          dibao households and tekun persons whose re-check is due
--                         in or before the month (aid_recheck_due), rechecks_overdue
--                         those due before it;
--   rechecks_done         households re-decided in the month: a granted civil
--                         decision within it on a case that held an entitlement from
--                         another decision;
--   exit.<reason>         persons or households whose entitlement ended with the
--                         month, by reason (death, income, moved, merged, ended, ...;
--                         not a supersession).
CREATE OR REPLACE FUNCTION aid_ledger_benefits(p_month date, p_township text)
RETURNS TABLE (township text, section text, item text, count bigint, amount_fen bigint)
LANGUAGE sql STABLE AS $$
    WITH act AS (
        SELECT c.township::text AS township, e.case_id, e.amount_fen,
               aid_entitlement_paused(e.entitlement_id, p_month) AS paused
          FROM entitlements e JOIN cases c USING (case_id)
         WHERE e.first_month <= p_month AND (e.last_month IS NULL OR e.last_month >= p_month)
           AND (p_township IS NULL OR c.township = p_township::bpchar)),
    hh AS (
        SELECT a.township, count(DISTINCT a.case_id) AS households,
               coalesce(sum(a.amount_fen) FILTER (WHERE NOT a.paused), 0)::bigint AS owed
          FROM act a GROUP BY a.township),
    per AS (
        SELECT c.township::text AS township, count(*) AS n
          FROM case_members m JOIN cases c USING (case_id)
         WHERE m.case_id IN (SELECT a.case_id FROM act a)
         GROUP BY 1),
    pay AS (
        SELECT c.township::text AS township,
               count(*) FILTER (WHERE l.status = 'paid') AS paid,
               coalesce(sum(l.amount_fen) FILTER (WHERE l.status = 'paid'), 0)::bigint AS paid_fen,
               count(*) FILTER (WHERE l.status = 'failed') AS failed,
               coalesce(sum(l.amount_fen) FILTER (WHERE l.status = 'failed'), 0)::bigint AS failed_fen
          FROM payroll_lines l JOIN cases c USING (case_id)
         WHERE l.month = p_month AND (p_township IS NULL OR c.township = p_township::bpchar)
         GROUP BY 1),
    due AS (
        SELECT d.township, count(*) AS due, count(*) FILTER (WHERE d.due_month < p_month) AS overdue
          FROM aid_recheck_due(p_month, p_township) d GROUP BY 1),
    done AS (
        SELECT c.township::text AS township, count(DISTINCT f.case_id) AS n
          FROM referrals f JOIN cases c USING (case_id)
         WHERE f.department = 'civil' AND f.status = 'granted'
           AND aid_china_date(f.decided_at) >= p_month
           AND aid_china_date(f.decided_at) < aid_month_after(p_month)
           AND (p_township IS NULL OR c.township = p_township::bpchar)
           AND EXISTS (SELECT 1 FROM entitlements e
                        WHERE e.case_id = f.case_id AND e.referral_id <> f.referral_id
                          AND e.first_month <= p_month)
         GROUP BY 1),
    ex AS (
        SELECT c.township::text AS township, e.end_reason, count(DISTINCT e.subject) AS n
          FROM entitlements e JOIN cases c USING (case_id)
         WHERE e.last_month = p_month AND e.last_month >= e.first_month
           AND e.end_reason <> 'superseded'
           AND (p_township IS NULL OR c.township = p_township::bpchar)
         GROUP BY 1, 2)
    SELECT township, 'benefits', 'households', households, 0::bigint FROM hh
    UNION ALL SELECT township, 'benefits', 'persons', n, 0 FROM per
    UNION ALL SELECT township, 'benefits', 'owed', households, owed FROM hh
    UNION ALL SELECT township, 'benefits', 'paid', paid, paid_fen FROM pay
    UNION ALL SELECT township, 'benefits', 'failed', failed, failed_fen FROM pay
    UNION ALL SELECT township, 'benefits', 'rechecks_due', due, 0 FROM due
    UNION ALL SELECT township, 'benefits', 'rechecks_overdue', overdue, 0 FROM due
    UNION ALL SELECT township, 'benefits', 'rechecks_done', n, 0 FROM done
    UNION ALL SELECT township, 'benefits', 'exit.' || end_reason, n, 0 FROM ex
$$;

-- Who has not submitted month p_month's ledger (R-LEDGER-MONTHLY): kind 'township'
-- for each township of the county (places, 9 digits, and every township of a case)
-- without a submission, kind 'department' for each department of p_departments
-- without one.
CREATE OR REPLACE FUNCTION aid_ledger_missing(p_month date, p_departments text[])
RETURNS TABLE (kind text, code text)
LANGUAGE sql STABLE AS $$
    SELECT 'township', t.code
      FROM (SELECT p.code FROM places p WHERE length(p.code) = 9
            UNION SELECT DISTINCT c.township::text FROM cases c) t
     WHERE NOT EXISTS (SELECT 1 FROM ledger_submissions s
                        WHERE s.month = p_month AND s.township = t.code::bpchar)
    UNION ALL
    SELECT 'department', d.code
      FROM unnest(p_departments) AS d(code)
     WHERE NOT EXISTS (SELECT 1 FROM ledger_dept_submissions s
                        WHERE s.month = p_month AND s.department = d.code)
     ORDER BY 1 DESC, 2
$$;

-- the ledger reads the payroll and the pauses (tables of migration 111)
GRANT SELECT ON payroll_lines, entitlement_pauses, places TO aid_supervision;

-- True when complaint p_no exists and lies within p_township (NULL: any).
CREATE OR REPLACE FUNCTION aid_complaint_in_reach(p_no text, p_township text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM complaints c
                    WHERE c.tracking_no = p_no
                      AND (p_township IS NULL
                           OR c.township = p_township::bpchar
                           OR EXISTS (SELECT 1 FROM cases k
                                       WHERE k.case_id = c.case_id
                                         AND k.township = p_township::bpchar)))
$$;

-- (the form before 051_complaint_reach, gone where it is still there)
DROP FUNCTION IF EXISTS aid_complaint_submit(text, text, text, bigint, text);
CREATE OR REPLACE FUNCTION aid_complaint_submit(p_request text, p_channel text, p_text text, p_case bigint,
                                     p_by text, p_township text,
                                     OUT outcome text, OUT tracking_no text)
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
    INSERT INTO complaints (tracking_no, channel, text, case_id, request_id, township)
    VALUES (tracking_no, p_channel, p_text, p_case, p_request, p_township);
    INSERT INTO complaint_steps (tracking_no, step, status, by_whom, note, request_id)
    VALUES (tracking_no, 1, 'registered', p_by, 'registered from ' || p_channel, p_request);
    outcome := 'ok';
END;
$$;

-- (the form before 051_complaint_reach, gone where it is still there)
DROP FUNCTION IF EXISTS aid_complaint_update(text, text, text, text, text);
CREATE OR REPLACE FUNCTION aid_complaint_update(p_request text, p_no text, p_status text, p_by text,
                                     p_note text, p_township text, OUT outcome text,
                                     OUT cur_status text, OUT step int)
LANGUAGE plpgsql AS $$
DECLARE
    want int := CASE p_status WHEN 'investigating' THEN 2 WHEN 'resolved' THEN 3 END;
    cur int;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('complaint:' || p_no, 0));
    IF NOT aid_complaint_in_reach(p_no, p_township) THEN
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
