-- 119_payroll_lines_household.sql — a household's lines of a run (issue 17): the bank's
-- file sums them into one line per household, and the bank's return of that line
-- settles them together (payroll.file, aid_payroll_settle); this index finds them
-- without reading the whole run.

CREATE INDEX payroll_lines_run_case ON payroll_lines (run_id, case_id);
