-- 116_entitlement_deaths.sql — a death trigger ends the person's entitlements (issue 17,
-- POLICY.md §17 R-EXIT): the benefits service reads the death triggers and records each
-- one it has handled, once.

CREATE TABLE entitlement_deaths (
    trigger_id  bigint PRIMARY KEY,
    case_id     bigint,                    -- NULL: the person is in no case
    ended       int NOT NULL DEFAULT 0,
    at          timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON entitlement_deaths FROM PUBLIC;
GRANT SELECT, INSERT ON entitlement_deaths TO aid_benefits;
GRANT UPDATE (case_id, ended) ON entitlement_deaths TO aid_benefits;
GRANT SELECT (trigger_id, kind, body, created_at) ON triggers TO aid_benefits;
GRANT SELECT ON entitlement_deaths TO aid_operator;
