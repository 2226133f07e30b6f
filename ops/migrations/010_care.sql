-- 010_care.sql — care visits, caregiver scores, monthly ledgers, public
-- disclosure, complaints and procedure deadlines (POLICY.md §12–14,
-- proto/CARE.md).
--
-- PostgreSQL is the truth for all of it: the visit schedule Redis keeps per
-- township (services/intake/op_visits.c) is rebuilt from the functions
-- below whenever it is missing or stale. Visits, scores, complaints and
-- their steps are append-only (R-AUDIT): triggers refuse UPDATE, DELETE and
-- TRUNCATE.
--
-- The functions, triggers and policies this file once made are defined in
-- ops/sql/ now, each once, in its current form (ops/sql/README.md).

-- ---------------------------------------------------------------- referrals
-- Most referrals are issued by eligibility's routing, one per report and
-- department (§15). A caregiver revocation (R-CAREGIVER) is recorded as a
-- care referral issued by the score itself, on the household's latest report
-- and decided in the same transaction; issued_by tells the two apart, and the
-- one-per-report guarantee now holds for the routed ones.
ALTER TABLE referrals ADD COLUMN issued_by text NOT NULL DEFAULT 'eligibility';
ALTER TABLE referrals DROP CONSTRAINT referrals_report_id_department_key;
CREATE UNIQUE INDEX referrals_routed_once ON referrals (report_id, department)
    WHERE issued_by = 'eligibility';

-- ---------------------------------------------------------------- parameters
INSERT INTO params (name, effective_from, value, unit, note) VALUES
    ('P_PROC_CIVIL_DAYS',   '2000-01-01', 30, 'working days',
     'civil referral deadline: whole dibao review (R-PROC-DIBAO), tekun 15+15 (R-PROC-TEKUN)'),
    ('P_PROC_DEFAULT_DAYS', '2000-01-01', 10, 'working days',
     'referral deadline of every other department (county default)');

-- ---------------------------------------------------------------- visits
-- Every visit (R-VISIT-MONTHLY / R-VISIT-QUARTERLY): date, visitor, method,
-- living, health and care status, needs. township/village are the
-- household's at the time; report_id is the report the visit filed (urgent
-- for living = critical, an epidemic circumstance for symptoms), if any.
CREATE TABLE visits (
    visit_id    bigserial PRIMARY KEY,
    id_number   char(18) NOT NULL REFERENCES case_members,
    case_id     bigint NOT NULL REFERENCES cases,
    township    char(9) NOT NULL,
    village     char(12) NOT NULL,
    visited_on  date NOT NULL,
    visitor     text NOT NULL,
    method      text NOT NULL CHECK (method IN ('home', 'phone', 'video')),
    living      text NOT NULL CHECK (living IN ('normal', 'difficult', 'critical')),
    health      text NOT NULL,
    care        text NOT NULL,
    needs       text NOT NULL,
    symptoms    boolean NOT NULL,
    report_id   bigint REFERENCES reports,
    request_id  text NOT NULL UNIQUE,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX visits_person ON visits (id_number, visited_on);
CREATE INDEX visits_township ON visits (township, visited_on);

-- The version of each township's visit schedule, bumped in the transaction
-- of every change a schedule depends on: a report of a case being assessed
-- (every township the case has reports in: a household that moved changes
-- both) and a visit. The Redis copy of a schedule is built under a version
-- read before the schedule, so it is current exactly while the version has
-- not moved. Rows are locked in township order: no deadlocks.
CREATE TABLE visit_schedule_versions (
    township char(9) PRIMARY KEY,
    version  bigint NOT NULL
);

-- ---------------------------------------------------------------- caregivers
-- One score per dispersed tekun person and month (R-CAREGIVER); the primary
-- key makes a second one impossible. pass_mark is P_CAREGIVER_PASS in force
-- on the first day of the month scored.
CREATE TABLE caregiver_scores (
    id_number   char(18) NOT NULL REFERENCES case_members,
    month       date NOT NULL CHECK (extract(day FROM month) = 1),
    caregiver   text NOT NULL,
    score       int NOT NULL CHECK (score BETWEEN 0 AND 100),
    pass_mark   int NOT NULL,
    passed      boolean NOT NULL,
    referral_id bigint REFERENCES referrals,   -- the revocation, when it failed
    request_id  text NOT NULL UNIQUE,
    scored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id_number, month)
);

-- Work opened by a rule for people to do, e.g. finding a new caregiver.
CREATE TABLE care_tasks (
    task_id     bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('find_caregiver')),
    case_id     bigint NOT NULL REFERENCES cases,
    id_number   char(18) NOT NULL REFERENCES case_members,
    referral_id bigint NOT NULL REFERENCES referrals,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    note        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX care_tasks_open ON care_tasks (case_id) WHERE status = 'open';

-- ---------------------------------------------------------------- ledgers
-- A township's ledger for a month counts as submitted once (R-LEDGER-MONTHLY).
CREATE TABLE ledger_submissions (
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    township     char(9) NOT NULL,
    submitted_by text NOT NULL,
    request_id   text NOT NULL UNIQUE,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (month, township)
);

-- ---------------------------------------------------------------- complaints
-- R-COMPLAINT: a tracking number per complaint (TS + YYYYMM of its China
-- date + a number counted per month), every step stored, nothing changed.
CREATE TABLE complaint_counters (
    month  char(6) PRIMARY KEY,
    last   int NOT NULL
);

CREATE TABLE complaints (
    tracking_no text PRIMARY KEY,
    channel     text NOT NULL CHECK (channel IN ('hotline', 'mailbox', 'visit', 'online')),
    text        text NOT NULL,
    case_id     bigint REFERENCES cases,
    request_id  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Steps 1 registered, 2 investigating, 3 resolved: each at most once, in
-- order (the functions below check the order; the keys make it hold).
CREATE TABLE complaint_steps (
    tracking_no text NOT NULL REFERENCES complaints,
    step        int NOT NULL CHECK (step BETWEEN 1 AND 3),
    status      text NOT NULL CHECK (status IN ('registered', 'investigating', 'resolved')),
    by_whom     text NOT NULL,
    note        text NOT NULL,
    request_id  text NOT NULL UNIQUE,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tracking_no, step),
    CHECK (step = CASE status WHEN 'registered' THEN 1 WHEN 'investigating' THEN 2 ELSE 3 END)
);
