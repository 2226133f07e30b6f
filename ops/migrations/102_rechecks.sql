-- 102_rechecks.sql — a re-check opens a review (issue 17, POLICY.md §17 R-RECHECK):
-- one row per re-check opened with recheck.open (casework), the civil referral whose
-- review (§16) carries it, and how it ended. The functions are aid_recheck_open
-- (ops/sql/55_casework.sql), aid_recheck_confirm and aid_rechecks_overdue
-- (ops/sql/57_benefits.sql).
CREATE TABLE rechecks (
    referral_id   bigint PRIMARY KEY REFERENCES referrals,
    case_id       bigint NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('dibao', 'tekun')),
    due_month     date NOT NULL,          -- the month it was due (recheck.due)
    opened_by     text NOT NULL,
    opened_on     date NOT NULL,
    request_id    text NOT NULL UNIQUE,
    closed_on     date,                   -- the day of the confirmation or refusal
    outcome       text CHECK (outcome IN ('recomputed', 'exit', 'keep', 'refused')),
    at            timestamptz NOT NULL DEFAULT now(),
    CHECK ((closed_on IS NULL) = (outcome IS NULL))
);
CREATE UNIQUE INDEX rechecks_open ON rechecks (case_id) WHERE outcome IS NULL;
REVOKE ALL ON rechecks FROM PUBLIC;
