-- 040_roles.sql — least privilege in Postgres and the audit trail (issue 5,
-- R-AUDIT; ops/SECURITY.md "Postgres roles and the audit trail").
--
-- One role per service, each with only the grants its statements need; the
-- services no longer connect as the cluster owner. Roles are cluster-wide, so
-- they are made idempotently and NOLOGIN here: ops/stack.sh (or the operator,
-- in production) gives each LOGIN and a password of its own.
--
--   aid_intake        the front door: every case read and write of the contract
--   aid_eligibility   assessments and the referrals they route
--   aid_triggers      the trigger worker: files reports for trigger targets
--   aid_gateway       the web console: its own gateway_* tables only
--   aid_civil … aid_care   one per department, members of aid_department:
--                     row-level security shows each only its own referrals,
--                     their decisions and measures, and the reports and
--                     assessments of its cases
--   aid_operator      read-only, for aidctl audit and other operator reads
--
-- Nobody but the owner may UPDATE, DELETE or TRUNCATE the records the audit
-- trail is made of: no service role is granted it, and triggers refuse it
-- even to the owner for the trail proper (audit_log, decisions, measures,
-- assessments; gateway_audit, visits, scores, complaints already). The view
-- aid_audit puts the trail of a case together in time order.
--
-- The functions, triggers and policies this file once made are defined in
-- ops/sql/ now, each once, in its current form (ops/sql/README.md).

-- ---------------------------------------------------------------- roles
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['aid_intake', 'aid_eligibility', 'aid_triggers', 'aid_gateway',
                             'aid_operator', 'aid_department',
                             'aid_civil', 'aid_tempaid', 'aid_medical', 'aid_education',
                             'aid_housing', 'aid_employment', 'aid_relief', 'aid_social',
                             'aid_care'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    FOREACH r IN ARRAY ARRAY['civil', 'tempaid', 'medical', 'education', 'housing',
                             'employment', 'relief', 'social', 'care'] LOOP
        EXECUTE format('GRANT aid_department TO %I', 'aid_' || r);
    END LOOP;
END;
$$;

-- ---------------------------------------------------------------- audit_log
-- What the other records do not already say with who and when: reads of a
-- case by a client (intake's case.get, case.area, referrals.pending,
-- complaint.get, visits.due: who = the client key's name in secure mode,
-- 'local' in plaintext mode), operator reads and changes. Decisions,
-- reports, assessments, referrals, visits, scores, complaints and staff
-- actions (gateway_audit) are records with who and when of their own and
-- are not copied here: the view aid_audit unions them.
CREATE TABLE audit_log (
    audit_id  bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    who       text NOT NULL,                      -- client key name, 'local', a username
    action    text NOT NULL,                      -- case.get, referrals.pending, audit.read, ...
    case_id   bigint,                             -- NULL: not about one case
    detail    text NOT NULL DEFAULT '',           -- e.g. the request id
    db_role   text NOT NULL DEFAULT current_user  -- the service that wrote it
);
CREATE INDEX audit_log_case ON audit_log (case_id, at) WHERE case_id IS NOT NULL;

-- Parameter rows say who added them (rows are only ever added; the owner
-- may still remove a mistaken one, and that is the owner's own log).
ALTER TABLE params ADD COLUMN created_by text NOT NULL DEFAULT session_user;

-- ---------------------------------------------------------------- grants
-- Nothing for PUBLIC beyond PostgreSQL's defaults (schema usage, function
-- execution: every function here is SECURITY INVOKER, so it can do no more
-- than its caller's grants allow).
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC;

-- intake: the contract's reads and writes. No DELETE anywhere; UPDATE only of
-- the columns its writes move on.
GRANT SELECT ON cases, case_members, requests, reports, assessments, assessed_persons,
                dept_streams, referrals, decisions, measures, params, triggers,
                trigger_targets, visits, visit_schedule_versions, caregiver_scores,
                care_tasks, ledger_submissions, complaint_counters, complaints,
                complaint_steps
    TO aid_intake;
GRANT INSERT ON cases, case_members, requests, reports, referrals, decisions, measures,
                triggers, trigger_targets, visits, visit_schedule_versions, caregiver_scores,
                care_tasks, ledger_submissions, complaint_counters, complaints,
                complaint_steps, audit_log
    TO aid_intake;
GRANT UPDATE (report_id, case_id, result) ON requests TO aid_intake;
GRANT UPDATE (status, decided_at) ON referrals TO aid_intake;
GRANT UPDATE (last_seq) ON dept_streams TO aid_intake;
GRANT UPDATE (version) ON visit_schedule_versions TO aid_intake;
GRANT UPDATE (last) ON complaint_counters TO aid_intake;
GRANT UPDATE (cases, done_at) ON triggers TO aid_intake;
GRANT USAGE ON SEQUENCE cases_case_id_seq, reports_report_id_seq, referrals_referral_id_seq,
                        triggers_trigger_id_seq, visits_visit_id_seq, care_tasks_task_id_seq,
                        audit_log_audit_id_seq
    TO aid_intake;

-- eligibility: claims unassessed reports, records assessments and routes
-- referrals (the assessed-report trigger bumps the visit schedules).
GRANT SELECT ON reports, dept_streams, referrals, params, visit_schedule_versions
    TO aid_eligibility;
GRANT INSERT ON assessments, assessed_persons, referrals, visit_schedule_versions
    TO aid_eligibility;
GRANT UPDATE (assessed_at) ON reports TO aid_eligibility;
GRANT UPDATE (last_seq) ON dept_streams TO aid_eligibility;
GRANT UPDATE (version) ON visit_schedule_versions TO aid_eligibility;
GRANT USAGE ON SEQUENCE referrals_referral_id_seq TO aid_eligibility;

-- triggers: files reports for the targets of bureau triggers.
GRANT SELECT ON reports, triggers, trigger_targets, requests, case_members, cases, params
    TO aid_triggers;
GRANT INSERT ON requests, cases, case_members, reports TO aid_triggers;
GRANT UPDATE (report_id, case_id) ON requests TO aid_triggers;
GRANT UPDATE (status, report_id, note) ON trigger_targets TO aid_triggers;
GRANT UPDATE (reached, done_at) ON triggers TO aid_triggers;
GRANT USAGE ON SEQUENCE cases_case_id_seq, reports_report_id_seq TO aid_triggers;

-- departments: their referrals, the reports and assessments behind them,
-- parameters; their decisions and measures (aid_record_decisions runs as
-- the caller, so row-level security holds inside it).
GRANT SELECT ON referrals, reports, assessments, decisions, measures, params
    TO aid_department;
GRANT INSERT ON decisions, measures TO aid_department;
GRANT UPDATE (status, decided_at) ON referrals TO aid_department;

-- gateway: the web console's own tables; case data only through intake.
GRANT SELECT, INSERT, UPDATE, DELETE ON gateway_sessions TO aid_gateway;
GRANT SELECT ON gateway_users TO aid_gateway;
GRANT UPDATE (password_hash, updated_at) ON gateway_users TO aid_gateway;
GRANT SELECT, INSERT ON gateway_logins, gateway_audit TO aid_gateway;
GRANT USAGE ON SEQUENCE gateway_audit_audit_id_seq TO aid_gateway;

-- operator: reads everything but the console's secrets, writes only its own
-- reads into the trail.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO aid_operator;
REVOKE SELECT ON gateway_sessions FROM aid_operator;
REVOKE SELECT ON gateway_users FROM aid_operator;
GRANT SELECT (username, role, scope, display_name, disabled, created_at, updated_at)
    ON gateway_users TO aid_operator;
GRANT INSERT ON audit_log TO aid_operator;
GRANT USAGE ON SEQUENCE audit_log_audit_id_seq TO aid_operator;

-- The work queues of 022_queues.sql. A claim locks the rows it takes (FOR
-- UPDATE), which asks for UPDATE on a column; the queues' rows are never
-- changed, only deleted.
GRANT SELECT, INSERT ON report_queue TO aid_intake, aid_triggers;
GRANT SELECT, DELETE ON report_queue TO aid_eligibility;
GRANT UPDATE (report_id) ON report_queue TO aid_eligibility;
GRANT SELECT ON report_queue TO aid_operator;
GRANT SELECT, INSERT ON referral_queue TO aid_eligibility, aid_intake;
GRANT SELECT, DELETE ON referral_queue TO aid_department, aid_intake;
GRANT UPDATE (seq) ON referral_queue TO aid_department;
GRANT SELECT ON referral_queue TO aid_operator;
ALTER TABLE referral_queue ENABLE ROW LEVEL SECURITY;
CREATE POLICY services ON referral_queue TO aid_intake, aid_eligibility, aid_triggers, aid_operator
    USING (true) WITH CHECK (true);

-- ---------------------------------------------------------------- row-level security
-- Pipeline and operator roles see every row (a permissive policy); a
-- department sees what its referrals lead to. The owner bypasses RLS (it is
-- not FORCEd). Every qual is an equality on an indexed column: the
-- department on referrals (the (department, seq) key); for the rows behind a
-- referral, an EXISTS probe of referrals per row — by primary key for
-- decisions and measures, by the referrals_routed_once key (report,
-- department) for reports and assessments: a department reads the reports it
-- was routed a referral for. The probes are planned as index-only sub-plans,
-- about a microsecond per row (the workers run with enable_seqscan = off, so
-- a plan cannot turn one into a hash of all the department's referrals); a
-- PL/pgSQL function per row cost five times as much and halved the
-- departments' throughput (make bench). The referrals policy holds inside the
-- probes too.
ALTER TABLE referrals ENABLE ROW LEVEL SECURITY;
CREATE POLICY services ON referrals TO aid_intake, aid_eligibility, aid_triggers, aid_operator
    USING (true) WITH CHECK (true);

ALTER TABLE decisions ENABLE ROW LEVEL SECURITY;
CREATE POLICY services ON decisions TO aid_intake, aid_eligibility, aid_triggers, aid_operator
    USING (true) WITH CHECK (true);

ALTER TABLE measures ENABLE ROW LEVEL SECURITY;
CREATE POLICY services ON measures TO aid_intake, aid_eligibility, aid_triggers, aid_operator
    USING (true) WITH CHECK (true);

ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY services ON reports TO aid_intake, aid_eligibility, aid_triggers, aid_operator
    USING (true) WITH CHECK (true);

ALTER TABLE assessments ENABLE ROW LEVEL SECURITY;
CREATE POLICY services ON assessments TO aid_intake, aid_eligibility, aid_triggers, aid_operator
    USING (true) WITH CHECK (true);

-- ---------------------------------------------------------------- the audit view
-- The whole trail, one row per event: at, case_id, who, action, detail.
-- Read it per case: SELECT … FROM aid_audit WHERE case_id = $1 ORDER BY at.
CREATE VIEW aid_audit AS
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
    SELECT ga.at, CASE WHEN ga.case_id ~ '^[0-9]{1,18}$' THEN ga.case_id::bigint END,
           ga.username || ' (' || ga.role || ')', ga.action,
           ga.detail || CASE WHEN ga.client <> '' THEN ' from ' || ga.client ELSE '' END
      FROM gateway_audit ga;
GRANT SELECT ON aid_audit TO aid_operator;
