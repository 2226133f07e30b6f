-- 124_departments_host.sql — the role of the departments host (services/departments):
-- one process deciding for every built-in department, one transaction per step for all
-- of them, instead of a process, a database session and a transaction per department.
--
-- It is a member of aid_department for what every department's worker reads (the
-- policy parameters, the PII key check), and acts for no department by itself: the
-- row-level policies and aid_dept_claim / aid_dept_record know it by no department
-- (aid_session_department is NULL for it). It claims and records through its own two
-- functions (ops/sql/50_department.sql: aid_host_claim, aid_host_record), which name
-- each referral's department and check it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aid_departments') THEN
        CREATE ROLE aid_departments NOLOGIN;
    END IF;
END
$$;

GRANT aid_department TO aid_departments;
