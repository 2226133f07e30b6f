-- ops/sql/20_roles.sql — who the session is: the department of a department role, the
-- row-level policies that use it, the PII key check every service makes on connecting.
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.

-- The department a role acts for: 'civil' for aid_civil, NULL for every
-- other role. Stable and cheap: a policy compares an indexed column with it,
-- so the planner evaluates it once per scan, not once per row.
CREATE OR REPLACE FUNCTION aid_role_department() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN current_user::text IN ('aid_civil', 'aid_tempaid', 'aid_medical',
                                            'aid_education', 'aid_housing', 'aid_employment',
                                            'aid_relief', 'aid_social', 'aid_care')
                THEN substr(current_user::text, 5) END
$$;

-- a department role sees only its own referrals, decisions and what led to them
DROP POLICY IF EXISTS own_department ON assessments;
CREATE POLICY own_department ON assessments TO aid_department
    USING (EXISTS (SELECT 1 FROM referrals f WHERE f.report_id = assessments.report_id
                      AND f.department = aid_role_department()
                      AND f.issued_by = 'eligibility'));
DROP POLICY IF EXISTS own_department ON decisions;
CREATE POLICY own_department ON decisions TO aid_department
    USING (EXISTS (SELECT 1 FROM referrals f WHERE f.referral_id = decisions.referral_id
                      AND f.department = aid_role_department()))
    WITH CHECK (EXISTS (SELECT 1 FROM referrals f WHERE f.referral_id = decisions.referral_id
                           AND f.department = aid_role_department()));
DROP POLICY IF EXISTS own_department ON referral_queue;
CREATE POLICY own_department ON referral_queue TO aid_department
    USING (department = aid_role_department())
    WITH CHECK (department = aid_role_department());
DROP POLICY IF EXISTS own_department ON referrals;
CREATE POLICY own_department ON referrals TO aid_department
    USING (department = aid_role_department())
    WITH CHECK (department = aid_role_department());
DROP POLICY IF EXISTS own_department ON reports;
CREATE POLICY own_department ON reports TO aid_department
    USING (EXISTS (SELECT 1 FROM referrals f WHERE f.report_id = reports.report_id
                      AND f.department = aid_role_department()
                      AND f.issued_by = 'eligibility'));

CREATE OR REPLACE FUNCTION aid_session_department() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN session_user::text IN ('aid_civil', 'aid_tempaid', 'aid_medical',
                                            'aid_education', 'aid_housing', 'aid_employment',
                                            'aid_relief', 'aid_social', 'aid_care')
                THEN substr(session_user::text, 5) END
$$;

REVOKE ALL ON FUNCTION aid_session_department() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION aid_session_department() TO aid_department;

-- Records p_check when the database has none yet; true when p_check is the
-- database's. SECURITY DEFINER so that no service role needs INSERT on pii_key.
CREATE OR REPLACE FUNCTION aid_pii_key_matches(p_check bytea)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    stored bytea;
BEGIN
    INSERT INTO pii_key (generation, check_hash) VALUES (1, p_check)
        ON CONFLICT (generation) DO NOTHING;
    SELECT check_hash INTO stored FROM pii_key WHERE generation = 1;
    RETURN stored = p_check;
END
$$;

REVOKE ALL ON FUNCTION aid_pii_key_matches(bytea) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION aid_pii_key_matches(bytea)
    TO aid_intake, aid_eligibility, aid_triggers, aid_department, aid_operator;
GRANT EXECUTE ON FUNCTION aid_pii_key_matches(bytea) TO aid_casework;
