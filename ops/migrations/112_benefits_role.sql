-- 112_benefits_role.sql — what the benefits service (aid_benefits) may touch:
-- it reads decisions, their reports and the case register, keeps the tables of
-- 110 and 111, records its requests (exactly-once writes) and its reads
-- (R-AUDIT). Nothing else: it never writes a decision or a report.

GRANT SELECT ON cases, case_members, reports, assessed_persons, referrals, decisions,
                measures, params
    TO aid_benefits;
GRANT SELECT, INSERT ON requests, audit_log TO aid_benefits;
GRANT UPDATE (result) ON requests TO aid_benefits;
GRANT USAGE ON SEQUENCE audit_log_audit_id_seq TO aid_benefits;

GRANT SELECT, INSERT ON entitlements, entitlement_sources, payees, entitlement_pauses,
                        payroll_runs, payroll_lines
    TO aid_benefits;
GRANT UPDATE (last_month, ended_by, end_reason, end_rules, case_id) ON entitlements TO aid_benefits;
GRANT SELECT, UPDATE ON entitlement_sweep TO aid_benefits;
GRANT UPDATE (started) ON entitlement_sources TO aid_benefits;
GRANT UPDATE (to_month, resumed_by, owed) ON entitlement_pauses TO aid_benefits;
GRANT UPDATE (lines, total_fen, blocked, approved_by, approved_at, filed_at) ON payroll_runs TO aid_benefits;
GRANT UPDATE (status, reason, settled_at) ON payroll_lines TO aid_benefits;
GRANT USAGE ON SEQUENCE entitlements_entitlement_id_seq, entitlement_pauses_pause_id_seq,
                        payroll_runs_run_id_seq, payroll_lines_line_id_seq
    TO aid_benefits;

-- the operator reads everything (040_roles.sql), these too
GRANT SELECT ON entitlements, entitlement_sources, entitlement_sweep, entitlement_pauses,
                payroll_runs, payroll_lines
    TO aid_operator;
GRANT SELECT (case_id, since, bank, account_last4, set_by) ON payees TO aid_operator;

-- row security of the decision tables (040_roles.sql): the benefits service reads all
CREATE POLICY benefits ON referrals TO aid_benefits USING (true);
CREATE POLICY benefits ON decisions TO aid_benefits USING (true);
CREATE POLICY benefits ON reports TO aid_benefits USING (true);
