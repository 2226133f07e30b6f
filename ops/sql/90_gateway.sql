-- ops/sql/90_gateway.sql — the web console's own records.
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.

CREATE OR REPLACE FUNCTION gateway_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'gateway_audit is append-only (R-AUDIT)';
END;
$$;

DROP TRIGGER IF EXISTS gateway_audit_no_truncate ON gateway_audit;
CREATE TRIGGER gateway_audit_no_truncate BEFORE TRUNCATE ON gateway_audit
    FOR EACH STATEMENT EXECUTE FUNCTION gateway_audit_append_only();
DROP TRIGGER IF EXISTS gateway_audit_no_update ON gateway_audit;
CREATE TRIGGER gateway_audit_no_update BEFORE UPDATE OR DELETE ON gateway_audit
    FOR EACH ROW EXECUTE FUNCTION gateway_audit_append_only();
