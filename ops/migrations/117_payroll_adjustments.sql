-- 117_payroll_adjustments.sql — adjustment lines of the payroll (issue 17, POLICY.md §17
-- R-PAY-MONTHLY): a correction of a month already in a run — an entitlement's amount
-- changed, superseded or ended for that month after its line was made, or paused months
-- a resumption says are owed (back pay) — is a line of kind 'adjustment' (positive or
-- negative) for that month in the next run, with its reason and the rule ids of the
-- change (rules); the paid line is never rewritten (aid_payroll_run,
-- ops/sql/57_benefits.sql). The index serves what a household and month were given.

ALTER TABLE payroll_lines ADD COLUMN adjust_reason text, ADD COLUMN rules text[];
CREATE INDEX payroll_lines_case_month ON payroll_lines (case_id, month);
