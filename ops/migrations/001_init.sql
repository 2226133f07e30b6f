-- 001_init.sql — cases, reports, referrals, decisions and policy parameters.
--
-- PostgreSQL is the source of truth (DESIGN.md): a state change and the
-- events it causes commit together, and the constraints below — not only the
-- services' code — guarantee one case per household member, one result per
-- request id, one referral per report and department, and one decision per
-- referral.
--
-- The functions, triggers and policies this file once made are defined in
-- ops/sql/ now, each once, in its current form (ops/sql/README.md).

CREATE TABLE cases (
    case_id     bigserial PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every person ever reported belongs to exactly one case (一户一条救助链).
CREATE TABLE case_members (
    id_number   char(18) PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases,
    name        text NOT NULL,
    joined_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_members_case ON case_members (case_id);

-- Idempotency: the first result of each request id, with the hash of its body.
CREATE TABLE requests (
    request_id  text PRIMARY KEY,
    op          text NOT NULL,
    body_hash   bytea NOT NULL,
    report_id   bigint,
    case_id     bigint,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reports (
    report_id   bigserial PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases,
    request_id  text NOT NULL UNIQUE,
    source      text NOT NULL,
    as_of       date NOT NULL,
    township    char(9) NOT NULL,
    village     char(12) NOT NULL,
    urgent      boolean NOT NULL,
    body        bytea NOT NULL,             -- canonical MessagePack of the report
    received_at timestamptz NOT NULL DEFAULT now(),
    assessed_at timestamptz                 -- set by eligibility in its transaction
);
CREATE INDEX reports_case ON reports (case_id);
CREATE INDEX reports_unassessed ON reports (report_id) WHERE assessed_at IS NULL;

CREATE TABLE assessments (
    report_id   bigint PRIMARY KEY REFERENCES reports,
    data        bytea NOT NULL,             -- MessagePack of the assessment
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The per-person results of an assessment, for case.get, visits and ledgers.
CREATE TABLE assessed_persons (
    report_id      bigint NOT NULL REFERENCES reports,
    idx            int NOT NULL,
    id_number      char(18) NOT NULL,
    name           text NOT NULL,
    age            int NOT NULL,
    groups         text[] NOT NULL,
    supplement_fen bigint NOT NULL,
    visit_every    text NOT NULL CHECK (visit_every IN ('month', 'quarter', 'none')),
    care_category  int NOT NULL CHECK (care_category BETWEEN 0 AND 3),
    PRIMARY KEY (report_id, idx)
);
CREATE INDEX assessed_persons_id ON assessed_persons (id_number);

-- One row per department stream: the last seq handed out on referral.<dept>.
CREATE TABLE dept_streams (
    department  text PRIMARY KEY,
    last_seq    bigint NOT NULL DEFAULT 0
);
INSERT INTO dept_streams (department) VALUES
    ('civil'), ('tempaid'), ('medical'), ('education'), ('housing'),
    ('employment'), ('relief'), ('social'), ('care');

CREATE TABLE referrals (
    referral_id bigserial PRIMARY KEY,
    report_id   bigint NOT NULL REFERENCES reports,
    case_id     bigint NOT NULL REFERENCES cases,
    department  text NOT NULL REFERENCES dept_streams,
    seq         bigint NOT NULL,
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'granted', 'denied', 'referred')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    decided_at  timestamptz,
    UNIQUE (report_id, department),
    UNIQUE (department, seq)
);
CREATE INDEX referrals_pending ON referrals (department, seq) WHERE status = 'pending';
CREATE INDEX referrals_case ON referrals (case_id);

-- Exactly one decision per referral: the primary key is the guarantee.
CREATE TABLE decisions (
    referral_id bigint PRIMARY KEY REFERENCES referrals,
    status      text NOT NULL CHECK (status IN ('granted', 'denied', 'referred')),
    reason      text NOT NULL,
    rules       text[] NOT NULL,
    decided_by  text NOT NULL,
    decided_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE measures (
    referral_id bigint NOT NULL REFERENCES decisions,
    ord         int NOT NULL,
    code        text NOT NULL,
    person_idx  int,                        -- index in the report, NULL for the household
    id_masked   text,
    amount_fen  bigint NOT NULL CHECK (amount_fen >= 0),
    period      text NOT NULL CHECK (period IN ('once', 'month', 'quarter', 'year')),
    form        text NOT NULL CHECK (form IN ('cash', 'in_kind', 'service', 'referral')),
    PRIMARY KEY (referral_id, ord)
);

-- County policy parameters (P_… in POLICY.md), versioned by effective date.
-- Rows are only ever added: a change is a new row with a later date.
CREATE TABLE params (
    name           text NOT NULL,
    effective_from date NOT NULL,
    value          bigint NOT NULL,
    unit           text NOT NULL,
    note           text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, effective_from)
);
INSERT INTO params (name, effective_from, value, unit, note) VALUES
    ('P_DIBAO',                '2000-01-01', 70500,  'fen/month', 'dibao standard, urban = rural'),
    ('P_LOWINC_MULT',          '2000-01-01', 150,    'percent',   'low-income line, x P_DIBAO'),
    ('P_TEKUN_MINOR_AGE',      '2000-01-01', 18,     'years',     'tekun: minors have no labour capacity'),
    ('P_TEKUN_MULT',           '2000-01-01', 160,    'percent',   'tekun standard, x P_DIBAO'),
    ('P_CARE_FULL',            '2000-01-01', 0,      'fen/month', 'tekun care allowance, full self-care'),
    ('P_CARE_SEMI',            '2000-01-01', 30000,  'fen/month', 'tekun care allowance, semi'),
    ('P_CARE_NONE',            '2000-01-01', 60000,  'fen/month', 'tekun care allowance, none'),
    ('P_CENTRAL_TARGET',       '2000-01-01', 60,     'percent',   'centralized care target'),
    ('P_TEMP_EMERG_MULT',      '2000-01-01', 300,    'percent',   'emergency cash, x P_DIBAO x size'),
    ('P_TEMP_EXPEND_MIN_MULT', '2000-01-01', 600,    'percent',   'expenditure threshold, x P_DIBAO x size'),
    ('P_LOCAL_INCOME_AVG',     '2000-01-01', 250000, 'fen/month', 'local per-capita disposable income'),
    ('P_TEMP_EXPEND_RATE',     '2000-01-01', 50,     'percent',   'expenditure aid rate'),
    ('P_TEMP_CAP_MULT',        '2000-01-01', 1200,   'percent',   'temporary aid cap, x P_DIBAO x size'),
    ('P_MED_RETRO_RATE',       '2000-01-01', 70,     'percent',   'retroactive medical aid rate'),
    ('P_EDU_PRE',              '2000-01-01', 100000, 'fen/year',  'education aid, preschool'),
    ('P_EDU_COMP',             '2000-01-01', 100000, 'fen/year',  'education aid, compulsory'),
    ('P_EDU_SENIOR',           '2000-01-01', 200000, 'fen/year',  'education aid, senior high'),
    ('P_EDU_VOC',              '2000-01-01', 200000, 'fen/year',  'education aid, vocational'),
    ('P_EDU_HIGHER',           '2000-01-01', 600000, 'fen/year',  'education aid, higher'),
    ('P_CAREGIVER_PASS',       '2000-01-01', 60,     'score',     'caregiver pass mark');
