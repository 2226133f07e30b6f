-- 031_pii.sql — no ID number in plain text at rest (issue 5; ops/SECURITY.md,
-- "Personal data at rest"; common/pii.h).
--
-- Every ID number column becomes id_hash: the keyed BLAKE2b-256 of the ID
-- number (32 bytes), computed by the services with the key from their
-- configuration. It serves every lookup, join and unique key exactly as the
-- ID number did (a household still joins its case by any member's ID
-- number). case_members also keeps id_enc: the ID number sealed with
-- XChaCha20-Poly1305, opened only by a service that must show or hand out
-- the full number. reports.body, triggers.body and requests.result hold
-- sealed MessagePack (the services seal and open them); their columns do not
-- change. The key never reaches PostgreSQL: no pgcrypto, nothing in SQL can
-- recover an ID number.
--
-- The functions below take hashes where they took ID numbers, as lowercase
-- hex in the same text parameters (decode(x, 'hex') on the way in), so most
-- keep their signatures. aid_submit_report(s) also take the id_enc of each
-- person (hex), as a last parameter.
--
-- Data: ID numbers already stored in plain text cannot be converted here
-- (the key is not in the database): the migration refuses a database that
-- holds any; convert such data offline with the services' key first.
--
-- The functions, triggers and policies this file once made are defined in
-- ops/sql/ now, each once, in its current form (ops/sql/README.md).

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM case_members) OR EXISTS (SELECT 1 FROM assessed_persons)
       OR EXISTS (SELECT 1 FROM reports) OR EXISTS (SELECT 1 FROM triggers) THEN
        RAISE EXCEPTION '031_pii: the database holds plaintext ID numbers; it needs an offline '
                        'conversion with the PII key (ops/SECURITY.md), not this migration'
              USING HINT = 'a local development stack whose data may go: ops/stack.sh down, '
                           'then remove its directory (var/ by default) and make up again';
    END IF;
END;
$$;

-- ---------------------------------------------------------------- tables
-- the care tables reference case_members by the ID number: by its hash now
ALTER TABLE visits DROP COLUMN id_number;
ALTER TABLE visits ADD COLUMN id_hash bytea NOT NULL
    CHECK (octet_length(id_hash) = 32);
CREATE INDEX visits_person ON visits (id_hash, visited_on);

ALTER TABLE caregiver_scores DROP COLUMN id_number;
ALTER TABLE caregiver_scores ADD COLUMN id_hash bytea NOT NULL
    CHECK (octet_length(id_hash) = 32);
ALTER TABLE caregiver_scores ADD PRIMARY KEY (id_hash, month);

ALTER TABLE care_tasks DROP COLUMN id_number;
ALTER TABLE care_tasks ADD COLUMN id_hash bytea NOT NULL
    CHECK (octet_length(id_hash) = 32);

-- drops the primary key and case_members_id_text (020) with it
ALTER TABLE case_members DROP COLUMN id_number;
ALTER TABLE case_members ADD COLUMN id_hash bytea NOT NULL
    CHECK (octet_length(id_hash) = 32);
ALTER TABLE case_members ADD COLUMN id_enc bytea NOT NULL
    CHECK (octet_length(id_enc) = 18 + 41);
ALTER TABLE case_members ADD PRIMARY KEY (id_hash);

ALTER TABLE visits ADD FOREIGN KEY (id_hash) REFERENCES case_members;
ALTER TABLE caregiver_scores ADD FOREIGN KEY (id_hash) REFERENCES case_members;
ALTER TABLE care_tasks ADD FOREIGN KEY (id_hash) REFERENCES case_members;

ALTER TABLE assessed_persons DROP COLUMN id_number;
ALTER TABLE assessed_persons ADD COLUMN id_hash bytea NOT NULL
    CHECK (octet_length(id_hash) = 32);
CREATE INDEX assessed_persons_id ON assessed_persons (id_hash);

COMMENT ON COLUMN case_members.id_hash IS 'keyed BLAKE2b-256 of the ID number (common/pii.h)';
COMMENT ON COLUMN case_members.id_enc IS 'the ID number, XChaCha20-Poly1305 sealed (common/pii.h)';
COMMENT ON COLUMN reports.body IS 'canonical MessagePack report, sealed (common/pii.h, AD reports.body)';
COMMENT ON COLUMN triggers.body IS 'the trigger body as received, sealed (AD triggers.body)';
COMMENT ON COLUMN requests.result IS 'the first result of a write, sealed (AD requests.result)';

-- ---------------------------------------------------------------- the write path
-- The functions of 001, 002, 021 and 022 (their latest form) with ID numbers
-- replaced by their hashes: p_ids carries hex id_hash values,
-- aid_submit_report(s) take the hex id_enc of each person as a last
-- parameter (p_encs, in p_ids' order). The advisory locks are taken on the
-- hashes (the same person, the same lock). Generated from the earlier text
-- with the smallest edits, so the two stay easy to compare.
