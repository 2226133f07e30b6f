-- 091_decisions_role.sql — the Postgres role of the department runtime's operations
-- behind the front door (issue 15). It connects as its own role and holds only its
-- own grants (ops/sql/20_roles.sql, with what the front door gave up).
--   aid_decisions   services/decisions/: referrals.pending, decision.submit,
--                   referrals.overdue

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aid_decisions') THEN
        CREATE ROLE aid_decisions NOLOGIN;
    END IF;
END;
$$;
