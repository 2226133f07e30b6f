-- 101_report_deaths.sql — a `death` circumstance in a report (issue 17, POLICY.md §17,
-- R-EXIT): each person's death named in a report is handled once (ended the person's
-- entitlements at the end of the month, recomputed the household's dibao allowance).
-- The function is aid_entitlements_report_deaths (ops/sql/57_benefits.sql).
CREATE TABLE report_deaths (
    report_id   bigint NOT NULL,
    id_hash     bytea NOT NULL,
    case_id     bigint NOT NULL,
    month       date NOT NULL,              -- the month of the death
    ended       int NOT NULL DEFAULT 0,     -- the person's entitlements it ended
    allowance   bigint,                     -- the household's dibao allowance from the month after, when recomputed
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (report_id, id_hash)
);
REVOKE ALL ON report_deaths FROM PUBLIC;
GRANT SELECT ON report_deaths TO aid_operator;
