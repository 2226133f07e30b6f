-- 110_entitlements.sql — entitlements: the monthly benefits of a household or
-- person over time (POLICY.md §17, issue 17), and the role of the benefits
-- service that keeps them.
--
-- One row is one monthly benefit (kind) of one subject — a person (id_hash)
-- or, for a household-level benefit, the case — with its amount in fen, its
-- first month and, once it ends, its last month (months are the first day of
-- the month). A later decision supersedes from its own first month on: the
-- old row gets a last month and the id of the referral that superseded or
-- ended it; earlier months are never rewritten. A row superseded before its
-- first month ever came is void (last month = the month before its first) and
-- counts for no month. The exclusion constraint is the guarantee that no
-- subject holds two rows of one kind in one month.
--
-- entitlement_sources records each decision whose monthly measures were
-- turned into entitlements (aid_entitlements_start, ops/sql/57_benefits.sql):
-- each decision once, whoever asks (the benefits service's sweep of newly
-- decided referrals, or the casework confirmation).

CREATE EXTENSION IF NOT EXISTS btree_gist;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aid_benefits') THEN
        CREATE ROLE aid_benefits NOLOGIN;
    END IF;
END;
$$;

CREATE TABLE entitlements (
    entitlement_id  bigserial PRIMARY KEY,
    case_id         bigint NOT NULL,
    id_hash         bytea,                 -- the person; NULL: the household (case)
    subject         bytea NOT NULL,        -- id_hash, or int8send(case_id) for the household
    id_masked       text,                  -- first 6 and last 4 (R-DISCLOSE), NULL for the household
    kind            text NOT NULL CHECK (kind IN ('dibao_allowance', 'dibao_supplement',
                                                  'tekun_support', 'care_allowance')),
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    first_month     date NOT NULL CHECK (extract(day FROM first_month) = 1),
    last_month      date CHECK (last_month IS NULL OR (extract(day FROM last_month) = 1
                                AND last_month >= first_month - 31)),
    referral_id     bigint NOT NULL,       -- the decision that produced it
    report_id       bigint NOT NULL,       -- that decision's report (orders decisions)
    rules           text[] NOT NULL,
    ended_by        bigint,                -- the referral that superseded or ended it
    end_reason      text,                  -- 'superseded', 'exit', 'death', 'moved', ...
    end_rules       text[],
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((last_month IS NULL) = (ended_by IS NULL AND end_reason IS NULL)),
    EXCLUDE USING gist (subject WITH =, kind WITH =,
                        daterange(first_month, last_month, '[]') WITH &&)
        WHERE (last_month IS NULL OR last_month >= first_month)
);
CREATE INDEX entitlements_case ON entitlements (case_id, kind);
CREATE INDEX entitlements_subject ON entitlements (subject, kind);
CREATE INDEX entitlements_open ON entitlements (first_month) WHERE last_month IS NULL;

CREATE TABLE entitlement_sources (
    referral_id  bigint PRIMARY KEY,
    started      int NOT NULL DEFAULT 0,   -- entitlements it started
    at           timestamptz NOT NULL DEFAULT now()
);

-- the sweep's low watermark: every civil referral below it is recorded in
-- entitlement_sources or was not granted (one row)
CREATE TABLE entitlement_sweep (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    low   bigint NOT NULL DEFAULT 0
);
INSERT INTO entitlement_sweep DEFAULT VALUES;

REVOKE ALL ON entitlements, entitlement_sources, entitlement_sweep FROM PUBLIC;
