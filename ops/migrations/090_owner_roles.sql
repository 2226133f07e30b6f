-- 090_owner_roles.sql — the Postgres roles of the services that own operations
-- behind the front door (issue 15). Each owner connects as its own role and holds
-- only its own grants (ops/sql/20_roles.sql, with what the front door gave up).
--   aid_supervision   services/supervision/: ledger, disclosure, complaints, moves

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aid_supervision') THEN
        CREATE ROLE aid_supervision NOLOGIN;
    END IF;
END;
$$;
