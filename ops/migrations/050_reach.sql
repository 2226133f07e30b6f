-- 050_reach.sql — a case's reach follows its registered township, not every
-- township a report was filed in (issue 14, point 6).
--
-- cases.township is where the household is registered: the township of the
-- case's first report (existing cases: of their latest report). A report
-- filed in another township for persons of the case is kept as before — it
-- joins the case, is assessed and decided — but it does not move the
-- household: aid_submit_report(s) record a possible move (住址变更) for it in
-- the same statement, and the case's township confirms or rejects it
-- (aid_move_decide, one decision per move, append-only). Until a move is
-- confirmed its report is not the household's latest: aid_roster (ledgers,
-- visit plans, disclosure lists) and aid_trigger_targets skip it, and the
-- case's township stays. The web console shows a caseworker the whole case
-- only when it is registered in their township; one whose township filed a
-- report in it sees only those reports (case.get with "township").
--
-- The functions, triggers and policies this file once made are defined in
-- ops/sql/ now, each once, in its current form (ops/sql/README.md).

-- ---------------------------------------------------------------- cases
ALTER TABLE cases ADD COLUMN township char(9);
UPDATE cases c SET township = (SELECT r.township FROM reports r WHERE r.case_id = c.case_id
                                ORDER BY r.report_id DESC LIMIT 1);
CREATE INDEX cases_township ON cases (township);

-- ---------------------------------------------------------------- moves
-- One row per report filed outside the case's registered township.
CREATE TABLE case_moves (
    move_id       bigserial PRIMARY KEY,
    case_id       bigint NOT NULL REFERENCES cases,
    report_id     bigint NOT NULL UNIQUE REFERENCES reports,
    from_township char(9) NOT NULL,           -- the case's township when the report came
    to_township   char(9) NOT NULL,           -- the report's township and village
    to_village    char(12) NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_moves_case ON case_moves (case_id);

-- Who decided a move, when, how and why: at most one decision per move.
CREATE TABLE case_move_decisions (
    move_id     bigint PRIMARY KEY REFERENCES case_moves,
    decision    text NOT NULL CHECK (decision IN ('confirm', 'reject')),
    decided_by  text NOT NULL,
    note        text NOT NULL,
    request_id  text NOT NULL UNIQUE,
    decided_at  timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- the audit view
-- As in 040_roles.sql, with the moves: reported (a report filed outside the
-- case's township) and decided (who, when, confirm or reject, why). The web
-- console records case ids as "case-<n>": they now join their case too
-- (040 matched bare numbers only, so staff reads and writes were left out).
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
      FROM case_move_decisions d JOIN case_moves m USING (move_id);

-- ---------------------------------------------------------------- grants
GRANT SELECT, INSERT ON case_moves, case_move_decisions TO aid_intake;
GRANT UPDATE (township) ON cases TO aid_intake;
GRANT USAGE ON SEQUENCE case_moves_move_id_seq TO aid_intake;
-- the trigger worker files reports through aid_submit_report(s) too
GRANT SELECT, INSERT ON case_moves TO aid_triggers;
GRANT SELECT ON case_move_decisions TO aid_triggers;
GRANT USAGE ON SEQUENCE case_moves_move_id_seq TO aid_triggers;
GRANT SELECT ON case_moves, case_move_decisions TO aid_operator;
