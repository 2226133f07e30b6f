-- ops/sql/60_triggers.sql — triggers (events that file reports for S-group cases).
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.

-- The S groups of POLICY.md §1, as assessed_persons.groups spells them.
CREATE OR REPLACE FUNCTION aid_s_groups() RETURNS text[] LANGUAGE sql IMMUTABLE AS
$$ SELECT ARRAY['S1','S2','S3','S4','S5','S6','S7','S8','S9','S10']::text[] $$;

-- aid_case_is_s: true when the latest assessed report of the case has a
-- person in an S group (a disaster naming one household reaches it only then).
CREATE OR REPLACE FUNCTION aid_case_is_s(p_case bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM assessed_persons ap
                    WHERE ap.report_id = (SELECT r.report_id FROM reports r
                                           WHERE r.case_id = p_case
                                             AND EXISTS (SELECT 1 FROM assessed_persons a
                                                          WHERE a.report_id = r.report_id)
                                           ORDER BY r.report_id DESC LIMIT 1)
                      AND ap.groups && aid_s_groups())
$$;

-- The targets of trigger p_trigger: the S-group cases of the areas p_areas
-- (townships or villages), by each case's latest settled assessed report.
CREATE OR REPLACE FUNCTION aid_trigger_targets(p_trigger bigint, p_areas text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    areas bpchar[] := p_areas::bpchar[];
    n integer;
BEGIN
    INSERT INTO trigger_targets (trigger_id, case_id)
    SELECT p_trigger, l.case_id
      FROM (SELECT DISTINCT r.case_id FROM reports r
             WHERE r.township = ANY (areas) OR r.village = ANY (areas)) c
      CROSS JOIN LATERAL (SELECT r2.case_id, r2.report_id, r2.township, r2.village
                            FROM reports r2
                           WHERE r2.case_id = c.case_id
                             AND EXISTS (SELECT 1 FROM assessed_persons a
                                          WHERE a.report_id = r2.report_id)
                             AND aid_report_settled(r2.report_id)
                           ORDER BY r2.report_id DESC LIMIT 1) l
     WHERE (l.township = ANY (areas) OR l.village = ANY (areas))
       AND EXISTS (SELECT 1 FROM assessed_persons ap
                    WHERE ap.report_id = l.report_id AND ap.groups && aid_s_groups());
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE triggers SET cases = n, done_at = CASE WHEN n = 0 THEN now() END
     WHERE trigger_id = p_trigger;
    RETURN n;
END;
$$;
