-- 115_case_merges.sql — one case per household over time (issue 17): when two cases
-- prove to be one household, case.merge folds one into the other. The merge is kept
-- (who, when, why); the old case's reports and decisions stay under its number (the
-- history), its members and entitlements go on under the other, and case.get of the
-- old number answers with the new one.

CREATE TABLE case_merges (
    from_case   bigint PRIMARY KEY,            -- merged once
    into_case   bigint NOT NULL CHECK (into_case <> from_case),
    by_whom     text NOT NULL,
    reason      text NOT NULL,
    request_id  text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_merges_into ON case_merges (into_case);
REVOKE ALL ON case_merges FROM PUBLIC;

GRANT SELECT, INSERT ON case_merges TO aid_benefits;
GRANT UPDATE (case_id) ON case_members TO aid_benefits;
GRANT SELECT ON case_merges TO aid_intake, aid_operator;
