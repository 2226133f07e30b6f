-- ops/sql/95_audit.sql — the audit trail of a case: the view aid_audit, one row per event
-- of every domain's records (reports, assessments, referrals, decisions, visits, caregiver
-- scores, care tasks, complaints, triggers, reads in audit_log, the web console's
-- gateway_audit, moves). Its one current form lives here (it was defined in
-- 040_roles.sql, then replaced in 050_reach.sql; those stay as they ran).
-- Applied after every migration run, in name order (ops/sql/README.md): idempotent.
-- A domain that adds records to the trail adds its UNION ALL branch here, never in a
-- migration (CREATE OR REPLACE VIEW: the columns stay at, case_id, who, action, detail).
--
-- Read it per case: SELECT … FROM aid_audit WHERE case_id = $1 ORDER BY at
-- (aidctl audit). The web console records case ids as "case-<n>": they join their
-- case too.
CREATE OR REPLACE VIEW aid_audit AS
    SELECT r.received_at AS at, r.case_id, r.source AS who, 'report.received' AS action,
           format('report %s request %s%s', r.report_id, r.request_id,
                  CASE WHEN r.urgent THEN ' urgent' ELSE '' END) AS detail
      FROM reports r
    UNION ALL
    SELECT a.created_at, r.case_id, 'eligibility', 'assessment',
           format('report %s', a.report_id)
      FROM assessments a JOIN reports r USING (report_id)
    UNION ALL
    SELECT f.created_at, f.case_id, f.issued_by, 'referral',
           format('referral %s to %s (report %s)', f.referral_id, f.department, f.report_id)
      FROM referrals f
    UNION ALL
    SELECT d.decided_at, f.case_id, d.decided_by, 'decision',
           format('referral %s %s: %s; rules %s', d.referral_id, f.department, d.status,
                  array_to_string(d.rules, ','))
      FROM decisions d JOIN referrals f USING (referral_id)
    UNION ALL
    SELECT v.recorded_at, v.case_id, v.visitor, 'visit',
           format('visit %s on %s (%s, living %s) request %s', v.visit_id, v.visited_on,
                  v.method, v.living, v.request_id)
      FROM visits v
    UNION ALL
    SELECT s.scored_at, m.case_id, s.caregiver, 'caregiver.score',
           format('%s score %s (pass %s) request %s', to_char(s.month, 'YYYY-MM'), s.score,
                  s.pass_mark, s.request_id)
      FROM caregiver_scores s JOIN case_members m USING (id_hash)
    UNION ALL
    SELECT t.created_at, t.case_id, 'caregiver.score', 'care.task',
           format('task %s %s (%s)', t.task_id, t.kind, t.status)
      FROM care_tasks t
    UNION ALL
    SELECT st.at, c.case_id, st.by_whom, 'complaint.' || st.status,
           format('%s step %s request %s', st.tracking_no, st.step, st.request_id)
      FROM complaint_steps st JOIN complaints c USING (tracking_no)
     WHERE c.case_id IS NOT NULL
    UNION ALL
    SELECT g.created_at, t.case_id, 'trigger', 'trigger.' || g.kind,
           format('trigger %s request %s: %s', g.trigger_id, g.request_id, t.status)
      FROM trigger_targets t JOIN triggers g USING (trigger_id)
    UNION ALL
    SELECT l.at, l.case_id, l.who, l.action, l.detail
      FROM audit_log l
    UNION ALL
    SELECT ga.at, CASE WHEN ga.case_id ~ '^(case-)?[0-9]{1,18}$'
                       THEN substring(ga.case_id FROM '[0-9]+$')::bigint END,
           ga.username || ' (' || ga.role || ')', ga.action,
           ga.detail || CASE WHEN ga.client <> '' THEN ' from ' || ga.client ELSE '' END
      FROM gateway_audit ga
    UNION ALL
    SELECT m.created_at, m.case_id, 'intake', 'move.reported',
           format('move-%s: report %s filed in %s (village %s), case registered in %s',
                  m.move_id, m.report_id, m.to_township, m.to_village, m.from_township)
      FROM case_moves m
    UNION ALL
    SELECT d.decided_at, m.case_id, d.decided_by, 'move.' || d.decision,
           format('move-%s %s → %s request %s: %s', m.move_id, m.from_township,
                  m.to_township, d.request_id, d.note)
      FROM case_move_decisions d JOIN case_moves m USING (move_id)
    UNION ALL
    SELECT t.recorded_at, v.case_id, t.by_account, 'review.' || t.action,
           format('referral %s on %s by client %s request %s%s', t.referral_id, t.on_day,
                  t.client, t.request_id, CASE WHEN t.note <> '' THEN ': ' || t.note ELSE '' END)
      FROM review_steps t JOIN reviews v USING (referral_id)
    UNION ALL
    SELECT d.drawn_at, v.case_id, d.drawn_by, 'review.drawn',
           format('referral %s drawn for %s spot checks of %s (seed %s, %s of %s) request %s',
                  v.referral_id, to_char(d.month, 'YYYY-MM'), d.township, d.seed,
                  cardinality(d.drawn), cardinality(d.pool), d.request_id)
      FROM review_draws d JOIN reviews v ON v.referral_id = ANY (d.drawn);

GRANT SELECT ON aid_audit TO aid_operator;
