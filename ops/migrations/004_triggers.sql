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
--
-- The functions, triggers and policies this file once made are defined in
-- ops/sql/ now, each once, in its current form (ops/sql/README.md).

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
