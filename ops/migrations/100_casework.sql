-- 100_casework.sql — the review procedure of POLICY.md §16 (issue 16): the county's
-- working-day calendar, the reviews and their steps, the monthly spot-check draws, the
-- grants a confirmation makes, and the role of the casework service.
--
-- A civil referral whose decision contains R-DIBAO-REVIEW or R-TEKUN-REVIEW is stored
-- as today (the decision row is the proposal) but with the status `in_review`; its
-- review row is made in the same statement (the decisions trigger of
-- ops/sql/55_casework.sql). The functions are in ops/sql/55_casework.sql.

-- ---------------------------------------------------------------- role
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aid_casework') THEN
        CREATE ROLE aid_casework NOLOGIN;
    END IF;
END;
$$;

-- ---------------------------------------------------------------- in_review
ALTER TABLE referrals DROP CONSTRAINT referrals_status_check;
ALTER TABLE referrals ADD CONSTRAINT referrals_status_check
    CHECK (status IN ('pending', 'in_review', 'granted', 'denied', 'referred'));
ALTER TABLE decisions DROP CONSTRAINT decisions_status_check;
ALTER TABLE decisions ADD CONSTRAINT decisions_status_check
    CHECK (status IN ('in_review', 'granted', 'denied', 'referred'));

-- ---------------------------------------------------------------- calendar
-- The exceptions to Monday–Friday: public holidays and adjusted working days (调休).
-- County data, set by an operator (calendar.set); nothing is shipped.
CREATE TABLE calendar_days (
    day     date PRIMARY KEY,
    kind    text NOT NULL CHECK (kind IN ('holiday', 'workday')),
    note    text NOT NULL DEFAULT '',
    set_by  text NOT NULL,
    set_at  timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- reviews
-- One row per review: a dibao or tekun review (an in_review referral), or the
-- sign-off owed for an R-TEMP-EMERG grant. `stage` is what the last step left:
-- investigation → notice (its end is investigated_on + P_NOTICE_DAYS - 1; after it the
-- review awaits confirmation) → done; signoff → done.
CREATE TABLE reviews (
    referral_id     bigint PRIMARY KEY REFERENCES referrals,
    kind            text NOT NULL CHECK (kind IN ('dibao', 'tekun', 'emerg')),
    case_id         bigint NOT NULL REFERENCES cases,
    department      text NOT NULL,
    township        char(9) NOT NULL,
    village         char(12) NOT NULL,
    as_of           date NOT NULL,
    started_on      date NOT NULL,        -- the China day the report was committed
    stage           text NOT NULL CHECK (stage IN ('investigation', 'notice', 'signoff', 'done')),
    investigated_on date,
    investigator    text,
    drawn_month     date,                 -- set by the spot-check draw that drew it
    spot_checked    boolean NOT NULL DEFAULT false,
    outcome         text CHECK (outcome IN ('granted', 'denied', 'signed')),
    last_on         date,                 -- the day of the last step
    steps           int NOT NULL DEFAULT 0,
    proposal        jsonb NOT NULL DEFAULT '[]',   -- the measures proposed now
    grant_measures  jsonb NOT NULL DEFAULT '[]'    -- what a confirmation grants
);
CREATE INDEX reviews_open ON reviews (township, stage) WHERE stage <> 'done';
CREATE INDEX reviews_case ON reviews (case_id);

-- Every step, append-only (R-AUDIT): who, on which day, what, why.
CREATE TABLE review_steps (
    referral_id bigint NOT NULL REFERENCES reviews,
    n           int NOT NULL,
    action      text NOT NULL CHECK (action IN ('investigate', 'object', 'confirm', 'refuse',
                                                'spot_check', 'signoff')),
    by_account  text NOT NULL,
    on_day      date NOT NULL,
    note        text NOT NULL DEFAULT '',
    findings    jsonb,
    amend       jsonb,
    client      text NOT NULL,
    request_id  text NOT NULL UNIQUE,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (referral_id, n)
);

-- The monthly draw of R-PROC-SPOTCHECK, one per township and month, append-only.
CREATE TABLE review_draws (
    township   char(9) NOT NULL,
    month      date NOT NULL CHECK (extract(day FROM month) = 1),
    rate       int NOT NULL,
    seed       bigint NOT NULL,
    pool       bigint[] NOT NULL,         -- the tekun reviews awaiting confirmation
    drawn      bigint[] NOT NULL,
    drawn_by   text NOT NULL,
    request_id text NOT NULL UNIQUE,
    drawn_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (township, month)
);

-- The measures a confirmation grants (R-DIBAO-GRANT, R-TEKUN-GRANT), append-only;
-- the measures view shows them after the decision's own (a reviewed referral always
-- has its decision row, the proposal). The union is inside the lateral of each
-- decision, so that a lookup by referral_id stays an index lookup of decisions (a
-- UNION ALL of two views was not flattened: the ledger scanned decisions per row).
CREATE TABLE review_measures (
    referral_id bigint NOT NULL REFERENCES reviews,
    ord         int NOT NULL,
    code        text NOT NULL,
    person_idx  int,
    id_masked   text,
    amount_fen  bigint NOT NULL CHECK (amount_fen >= 0),
    period      text NOT NULL CHECK (period IN ('once', 'month', 'quarter', 'year')),
    form        text NOT NULL CHECK (form IN ('cash', 'in_kind', 'service', 'referral')),
    PRIMARY KEY (referral_id, ord)
);

-- (the measures view now shows review_measures too: ops/sql/55_casework.sql)

-- ---------------------------------------------------------------- grants
-- aid_casework: reads what a review shows, writes only the review tables, the
-- status of a reviewed referral, its own request records and audit rows.
GRANT SELECT ON referrals, reports, cases, case_members, decisions, params, requests,
                calendar_days, reviews, review_steps, review_draws, review_measures
    TO aid_casework;
GRANT INSERT ON requests, audit_log, calendar_days, review_steps, review_draws,
                review_measures TO aid_casework;
GRANT UPDATE (result) ON requests TO aid_casework;
GRANT UPDATE (kind, note, set_by, set_at), DELETE ON calendar_days TO aid_casework;
GRANT UPDATE (stage, investigated_on, investigator, drawn_month, spot_checked, outcome,
              last_on, steps, proposal, grant_measures) ON reviews TO aid_casework;
GRANT UPDATE (status, decided_at) ON referrals TO aid_casework;
GRANT USAGE ON SEQUENCE audit_log_audit_id_seq TO aid_casework;
GRANT SELECT ON review_measures TO aid_intake, aid_department, aid_operator, aid_supervision;
GRANT SELECT ON calendar_days, reviews, review_steps, review_draws, params
    TO aid_intake, aid_operator, aid_supervision;

-- row-level security: the casework role sees the referrals under review and their
-- decisions, and nothing else of them; every report's row (the case list per township
-- and village, case.search: the bodies are sealed and never opened but for a review's)
CREATE POLICY casework ON referrals TO aid_casework
    USING (EXISTS (SELECT 1 FROM reviews v WHERE v.referral_id = referrals.referral_id));
CREATE POLICY casework ON reports TO aid_casework USING (true);
CREATE POLICY casework ON decisions TO aid_casework
    USING (EXISTS (SELECT 1 FROM referrals f WHERE f.referral_id = decisions.referral_id));
-- a grant's measures are seen by whoever sees its referral (a department: its own)
ALTER TABLE review_measures ENABLE ROW LEVEL SECURITY;
CREATE POLICY visible_referral ON review_measures
    USING (EXISTS (SELECT 1 FROM referrals f WHERE f.referral_id = review_measures.referral_id));
