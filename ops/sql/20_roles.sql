-- ops/sql/20_roles.sql — who the session is: the department of a department role, the
-- row-level policies that use it, the PII key check every service makes on connecting.
-- the grants of the services that own operations behind the front door (issue 15).
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.

-- The department a role acts for: 'civil' for aid_civil, NULL for every
-- other role. Stable and cheap: a policy compares an indexed column with it,
-- so the planner evaluates it once per scan, not once per row.
CREATE OR REPLACE FUNCTION aid_role_department() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN current_user::text IN ('aid_civil', 'aid_tempaid', 'aid_medical',
                                            'aid_education', 'aid_housing', 'aid_employment',
                                            'aid_relief', 'aid_social', 'aid_care')
                THEN substr(current_user::text, 5) END
$$;

-- a department role sees only its own referrals, decisions and what led to them
DROP POLICY IF EXISTS own_department ON assessments;
CREATE POLICY own_department ON assessments TO aid_department
    USING (EXISTS (SELECT 1 FROM referrals f WHERE f.report_id = assessments.report_id
                      AND f.department = aid_role_department()
                      AND f.issued_by = 'eligibility'));
DROP POLICY IF EXISTS own_department ON decisions;
CREATE POLICY own_department ON decisions TO aid_department
    USING (EXISTS (SELECT 1 FROM referrals f WHERE f.referral_id = decisions.referral_id
                      AND f.department = aid_role_department()))
    WITH CHECK (EXISTS (SELECT 1 FROM referrals f WHERE f.referral_id = decisions.referral_id
                           AND f.department = aid_role_department()));
DROP POLICY IF EXISTS own_department ON referral_queue;
CREATE POLICY own_department ON referral_queue TO aid_department
    USING (department = aid_role_department())
    WITH CHECK (department = aid_role_department());
DROP POLICY IF EXISTS own_department ON referrals;
CREATE POLICY own_department ON referrals TO aid_department
    USING (department = aid_role_department())
    WITH CHECK (department = aid_role_department());
DROP POLICY IF EXISTS own_department ON reports;
CREATE POLICY own_department ON reports TO aid_department
    USING (EXISTS (SELECT 1 FROM referrals f WHERE f.report_id = reports.report_id
                      AND f.department = aid_role_department()
                      AND f.issued_by = 'eligibility'));

CREATE OR REPLACE FUNCTION aid_session_department() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN session_user::text IN ('aid_civil', 'aid_tempaid', 'aid_medical',
                                            'aid_education', 'aid_housing', 'aid_employment',
                                            'aid_relief', 'aid_social', 'aid_care')
                THEN substr(session_user::text, 5) END
$$;

REVOKE ALL ON FUNCTION aid_session_department() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION aid_session_department() TO aid_department;

-- Records p_check when the database has none yet; true when p_check is the
-- database's. SECURITY DEFINER so that no service role needs INSERT on pii_key.
CREATE OR REPLACE FUNCTION aid_pii_key_matches(p_check bytea)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    stored bytea;
BEGIN
    INSERT INTO pii_key (generation, check_hash) VALUES (1, p_check)
        ON CONFLICT (generation) DO NOTHING;
    SELECT check_hash INTO stored FROM pii_key WHERE generation = 1;
    RETURN stored = p_check;
END
$$;

REVOKE ALL ON FUNCTION aid_pii_key_matches(bytea) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION aid_pii_key_matches(bytea)
    TO aid_intake, aid_eligibility, aid_triggers, aid_department, aid_operator, aid_supervision,
       aid_decisions;
GRANT EXECUTE ON FUNCTION aid_pii_key_matches(bytea) TO aid_casework;

-- ---------------------------------------------------------------- owners (issue 15)
-- Each service that owns operations behind the front door writes only its own
-- records; the front door (aid_intake) keeps the report path and case reads.

-- supervision (services/supervision/): ledger.*, disclosure.list, complaint.*, move.*.
-- Reads what the ledger, the public list and the moves are made of; writes the
-- ledger submissions, complaints, move decisions (and the case's township, the
-- township's visit schedule version with it), its requests and R-AUDIT read rows.
GRANT SELECT ON cases, case_members, requests, reports, assessments, assessed_persons,
                referrals, decisions, measures, params, visits, visit_schedule_versions,
                caregiver_scores, care_tasks, ledger_submissions, complaint_counters,
                complaints, complaint_steps, case_moves, case_move_decisions,
                entitlements
    TO aid_supervision;
GRANT INSERT ON requests, ledger_submissions, complaint_counters, complaints, complaint_steps,
                case_move_decisions, visit_schedule_versions, audit_log
    TO aid_supervision;
GRANT UPDATE (result) ON requests TO aid_supervision;
GRANT UPDATE (last) ON complaint_counters TO aid_supervision;
GRANT UPDATE (township) ON cases TO aid_supervision;
GRANT UPDATE (version) ON visit_schedule_versions TO aid_supervision;
GRANT USAGE ON SEQUENCE audit_log_audit_id_seq TO aid_supervision;
DROP POLICY IF EXISTS supervision ON reports;
CREATE POLICY supervision ON reports FOR SELECT TO aid_supervision USING (true);
DROP POLICY IF EXISTS supervision ON assessments;
CREATE POLICY supervision ON assessments FOR SELECT TO aid_supervision USING (true);
DROP POLICY IF EXISTS supervision ON referrals;
CREATE POLICY supervision ON referrals FOR SELECT TO aid_supervision USING (true);
DROP POLICY IF EXISTS supervision ON decisions;
CREATE POLICY supervision ON decisions FOR SELECT TO aid_supervision USING (true);
-- triggers (services/triggers/): trigger.submit, trigger.batch, triggers.list,
-- trigger.get beside its disaster worker: records triggers and their targets, files
-- the reports of person triggers (aid_submit_report, as the worker does), and reads
-- what became of them; its requests and R-AUDIT read rows.
GRANT SELECT ON assessed_persons, referrals, decisions, measures TO aid_triggers;
GRANT INSERT ON triggers, trigger_targets, audit_log TO aid_triggers;
GRANT UPDATE (cases, done_at) ON triggers TO aid_triggers;
GRANT UPDATE (result) ON requests TO aid_triggers;
GRANT USAGE ON SEQUENCE triggers_trigger_id_seq, audit_log_audit_id_seq TO aid_triggers;
-- what the front door gave up to it
REVOKE INSERT, UPDATE ON triggers, trigger_targets FROM aid_intake;
REVOKE SELECT ON triggers, trigger_targets FROM aid_intake;
REVOKE USAGE ON SEQUENCE triggers_trigger_id_seq FROM aid_intake;

-- care (services/care/, beside its department worker): visits.due, visit.record,
-- caregiver.score. A visit may be to any registered person and files its report
-- on the household's case (aid_submit_report), so the care role reads every
-- household's reports and may file one; a failed caregiver score records a care
-- referral, its decision and a task (aid_caregiver_score). Its requests and R-AUDIT
-- read rows.
GRANT SELECT ON cases, case_members, requests, assessed_persons, visits,
                visit_schedule_versions, caregiver_scores, care_tasks, dept_streams,
                case_moves, case_move_decisions
    TO aid_care;
GRANT INSERT ON requests, cases, case_members, reports, report_queue, case_moves, referrals,
                visits, visit_schedule_versions, caregiver_scores, care_tasks, audit_log
    TO aid_care;
GRANT UPDATE (report_id, case_id, result) ON requests TO aid_care;
GRANT UPDATE (version) ON visit_schedule_versions TO aid_care;
GRANT UPDATE (last_seq) ON dept_streams TO aid_care;
GRANT USAGE ON SEQUENCE cases_case_id_seq, reports_report_id_seq, referrals_referral_id_seq,
                        visits_visit_id_seq, care_tasks_task_id_seq, case_moves_move_id_seq,
                        audit_log_audit_id_seq
    TO aid_care;
DROP POLICY IF EXISTS care_visits ON reports;
CREATE POLICY care_visits ON reports TO aid_care USING (true) WITH CHECK (true);
-- what the front door gave up to care
REVOKE INSERT ON visits, caregiver_scores, care_tasks FROM aid_intake;
REVOKE USAGE ON SEQUENCE visits_visit_id_seq, care_tasks_task_id_seq FROM aid_intake;

-- what the front door gave up to supervision (case_move_decisions stays readable: a report
-- filed outside its case's township looks for an open move)
REVOKE INSERT, UPDATE ON ledger_submissions, complaint_counters, complaints, complaint_steps,
                        case_move_decisions
    FROM aid_intake;
REVOKE SELECT ON ledger_submissions, complaint_counters, complaints, complaint_steps
    FROM aid_intake;
REVOKE UPDATE (township) ON cases FROM aid_intake;

-- decisions (services/decisions/): referrals.pending, decision.submit, referrals.overdue,
-- the department runtime's operations. Reads every department's queue, its referrals and
-- what led to them (the report, the assessed persons, their sealed ID numbers) and the
-- deadlines' parameters; records an external department's decision (aid_record_decision:
-- the decision, the referral's status, its queue row gone), its requests and R-AUDIT
-- read rows. It files no report and writes no case.
GRANT SELECT ON requests, referral_queue, referrals, reports, assessed_persons, case_members,
                decisions, measures, params
    TO aid_decisions;
GRANT INSERT ON requests, decisions, audit_log TO aid_decisions;
GRANT UPDATE (result) ON requests TO aid_decisions;
GRANT UPDATE (status, decided_at) ON referrals TO aid_decisions;
GRANT DELETE ON referral_queue TO aid_decisions;
GRANT USAGE ON SEQUENCE audit_log_audit_id_seq TO aid_decisions;
DROP POLICY IF EXISTS decisions ON referral_queue;
CREATE POLICY decisions ON referral_queue TO aid_decisions USING (true);
DROP POLICY IF EXISTS decisions ON referrals;
CREATE POLICY decisions ON referrals TO aid_decisions USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS decisions ON decisions;
CREATE POLICY decisions ON decisions TO aid_decisions USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS decisions ON reports;
CREATE POLICY decisions ON reports FOR SELECT TO aid_decisions USING (true);
-- what the front door gave up to it (it still reads decisions and measures: case.get)
REVOKE INSERT ON decisions, referrals FROM aid_intake;
REVOKE UPDATE (status, decided_at) ON referrals FROM aid_intake;
REVOKE SELECT, INSERT, DELETE ON referral_queue FROM aid_intake;
REVOKE USAGE ON SEQUENCE referrals_referral_id_seq FROM aid_intake;
