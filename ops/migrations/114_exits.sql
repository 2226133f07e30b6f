-- 114_exits.sql — exits and pauses of entitlements (issue 17, POLICY.md §17 R-EXIT,
-- R-RECHECK): who ended an entitlement when no decision did (an exit, a death), and
-- the parameters of §17 that were not in the table yet.

ALTER TABLE entitlements
    ADD COLUMN ended_by_whom  text,          -- an exit's or a death's: who recorded it
    ADD COLUMN ended_request  text;          -- and under which request id

INSERT INTO params (name, effective_from, value, unit, note) VALUES
    ('P_GRADUAL_EXIT_MONTHS',   '2000-01-01', 6,  'months', 'R-EXIT: months kept after income reaches the standard'),
    ('P_RECHECK_MONTHS',        '2000-01-01', 6,  'months', 'R-RECHECK: dibao households'),
    ('P_RECHECK_MONTHS_STABLE', '2000-01-01', 12, 'months', 'R-RECHECK: all members elderly, severely disabled or ill')
ON CONFLICT DO NOTHING;

GRANT UPDATE (ended_by_whom, ended_request) ON entitlements TO aid_benefits;
