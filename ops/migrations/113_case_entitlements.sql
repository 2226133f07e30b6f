-- 113_case_entitlements.sql — case.get shows a case's entitlements (issue 17):
-- intake, which answers case.get, reads them.
GRANT SELECT ON entitlements TO aid_intake;
