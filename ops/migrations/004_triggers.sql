-- 004_triggers.sql — triggers from other bureaus (PROTOCOL.md trigger.submit).
--
-- A trigger commits with its idempotency record (intake's write
-- transaction). A disaster over areas also commits the list of the cases it
-- reaches (trigger_targets): the registered S households of those areas, as
-- their latest assessment shows them at that moment. The trigger worker
-- (services/triggers) then files one report per target in chunks, each chunk
-- one transaction that files the reports and marks the targets filed — so a
-- crash loses nothing and files nothing twice, and a disaster over 100,000
-- households never holds one giant transaction.

CREATE TABLE triggers (
    trigger_id   bigserial PRIMARY KEY,
    request_id   text NOT NULL UNIQUE,         -- the request (or batch item) that sent it
    kind         text NOT NULL CHECK (kind IN ('disaster', 'medical_expense', 'unemployment',
                                               'disability', 'death')),
    body         bytea NOT NULL,               -- the trigger body as received (MessagePack)
    cases        int NOT NULL DEFAULT 0,       -- cases it reaches (the reply's "cases")
    reached      int NOT NULL DEFAULT 0,       -- cases it has filed a report on so far
    created_at   timestamptz NOT NULL DEFAULT now(),
    done_at      timestamptz                   -- every target filed (set at once when none)
);
CREATE INDEX triggers_open ON triggers (trigger_id) WHERE done_at IS NULL;

CREATE TABLE trigger_targets (
    trigger_id   bigint NOT NULL REFERENCES triggers,
    case_id      bigint NOT NULL REFERENCES cases,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'filed', 'skipped')),
    report_id    bigint REFERENCES reports,    -- the report filed for it
    note         text NOT NULL DEFAULT '',     -- why a target was skipped
    PRIMARY KEY (trigger_id, case_id)
);
CREATE INDEX trigger_targets_pending ON trigger_targets (trigger_id, case_id)
    WHERE status = 'pending';

-- Finding the households of an area, and the latest report of a case.
CREATE INDEX reports_township ON reports (township);
CREATE INDEX reports_village ON reports (village);
CREATE INDEX reports_case_latest ON reports (case_id, report_id DESC);

-- The S groups of POLICY.md §1, as assessed_persons.groups spells them.
CREATE FUNCTION aid_s_groups() RETURNS text[] LANGUAGE sql IMMUTABLE AS
$$ SELECT ARRAY['S1','S2','S3','S4','S5','S6','S7','S8','S9','S10']::text[] $$;

-- aid_trigger_targets: the registered S households of the areas (township
-- or village codes), by the latest assessed report of each case (where the
-- household lives now and what it is now), recorded as the trigger's
-- targets. Returns how many; the trigger row gets that count (and is done
-- at once when it is 0).
CREATE FUNCTION aid_trigger_targets(p_trigger bigint, p_areas text[]) RETURNS integer
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
                           WHERE r2.case_id = c.case_id AND r2.assessed_at IS NOT NULL
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

-- aid_case_is_s: true when the latest assessed report of the case has a
-- person in an S group (a disaster naming one household reaches it only then).
CREATE FUNCTION aid_case_is_s(p_case bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM assessed_persons ap
                    WHERE ap.report_id = (SELECT r.report_id FROM reports r
                                           WHERE r.case_id = p_case AND r.assessed_at IS NOT NULL
                                           ORDER BY r.report_id DESC LIMIT 1)
                      AND ap.groups && aid_s_groups())
$$;
