-- 111_payroll.sql — payees, pauses and the monthly payroll (POLICY.md §17
-- R-PAY-MONTHLY, issue 17).
--
-- payees: the account a case's benefits are paid to (社会化发放, "一卡通"); the
-- holder's ID number is keyed (holder_hash) and sealed (holder_enc) like every
-- ID number, the account sealed (account_enc); only the last 4 characters are
-- kept in the clear (account_last4), for showing. A change is a new row.
--
-- entitlement_pauses: a paused entitlement (whereabouts unknown, in hospital,
-- in custody) is not paid for the months paused, with reason and who.
--
-- payroll_runs / payroll_lines: one run per month and scope (a township, or
-- the county: township NULL), one line per household and month with its
-- active entitlements summed, in one transaction with the run (a run killed
-- half-way left nothing). A line is due, then paid or failed by the bank's
-- return; a failed line is carried once into the next run (carried_from is
-- unique), a household-month is in at most one regular line (unique), so
-- nobody is paid twice. A household without a payee is a blocked line: listed,
-- never in the bank's file, carried like a failed one.

CREATE TABLE payees (
    case_id        bigint NOT NULL,
    since          timestamptz NOT NULL DEFAULT now(),
    holder_hash    bytea NOT NULL,
    holder_enc     bytea NOT NULL,
    bank           text NOT NULL,
    account_enc    bytea NOT NULL,
    account_last4  text NOT NULL,
    set_by         text NOT NULL,
    request_id     text NOT NULL,
    PRIMARY KEY (case_id, since)
);

CREATE TABLE entitlement_pauses (
    pause_id        bigserial PRIMARY KEY,
    entitlement_id  bigint NOT NULL REFERENCES entitlements,
    from_month      date NOT NULL,
    to_month        date,                  -- NULL: until resumed
    reason          text NOT NULL,
    by_whom         text NOT NULL,
    resumed_by      text,
    owed            boolean NOT NULL DEFAULT false, -- the resumption pays the paused months
    request_id      text NOT NULL
);
CREATE INDEX entitlement_pauses_ent ON entitlement_pauses (entitlement_id);

CREATE TABLE payroll_runs (
    run_id        bigserial PRIMARY KEY,
    month         date NOT NULL CHECK (extract(day FROM month) = 1),
    township      char(9),                 -- NULL: the whole county
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    request_id    text NOT NULL,
    lines         int NOT NULL,            -- control totals, of the due lines
    total_fen     bigint NOT NULL,
    blocked       int NOT NULL,
    approved_by   text,
    approved_at   timestamptz,
    filed_at      timestamptz,
    CHECK (approved_by IS NULL OR approved_by <> created_by)
);
CREATE UNIQUE INDEX payroll_runs_scope ON payroll_runs (month, coalesce(township, ''));

CREATE TABLE payroll_lines (
    line_id       bigserial PRIMARY KEY,
    run_id        bigint NOT NULL REFERENCES payroll_runs,
    case_id       bigint NOT NULL,
    month         date NOT NULL,           -- the month the money is for
    amount_fen    bigint NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('regular', 'carried', 'adjustment')),
    carried_from  bigint UNIQUE REFERENCES payroll_lines,
    status        text NOT NULL DEFAULT 'due'
                  CHECK (status IN ('due', 'blocked', 'paid', 'failed')),
    reason        text,
    entitlements  bigint[] NOT NULL DEFAULT '{}',
    settled_at    timestamptz
);
CREATE UNIQUE INDEX payroll_lines_once ON payroll_lines (case_id, month) WHERE kind = 'regular';
CREATE INDEX payroll_lines_run ON payroll_lines (run_id);
CREATE INDEX payroll_lines_open ON payroll_lines (case_id) WHERE status IN ('failed', 'blocked');

REVOKE ALL ON payees, entitlement_pauses, payroll_runs, payroll_lines FROM PUBLIC;
