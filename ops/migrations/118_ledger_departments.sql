-- 118_ledger_departments.sql — the departments' monthly ledgers (POLICY.md §12
-- R-LEDGER-MONTHLY as now written: each township's and each department's ledger is
-- due before the 28th; issue 17): a department's submission for a month, once,
-- beside the townships' (ledger_submissions). The supervision service records them
-- (ledger.submit with "department") and lists who has not submitted
-- (ledger.monthly's "missing").

CREATE TABLE ledger_dept_submissions (
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    department   text NOT NULL CHECK (department ~ '^[a-z]{2,16}$'),
    submitted_by text NOT NULL,
    request_id   text NOT NULL UNIQUE,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (month, department)
);

REVOKE ALL ON ledger_dept_submissions FROM PUBLIC;
GRANT SELECT, INSERT ON ledger_dept_submissions TO aid_supervision;
