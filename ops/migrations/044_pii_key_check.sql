-- 044_pii_key_check.sql — one PII key per database (ops/SECURITY.md).
--
-- Every ID number and report body is hashed and sealed with the PII master key
-- (common/pii.h, 031). A process started with another key — a copy-paste slip
-- in a Secret, a replica on a machine with an old key file — would hash the
-- same person to another id_hash (households no longer join, lookups find
-- nobody) and could open no stored body: eligibility would see unreadable
-- reports. Nothing in the data says so until it is too late.
--
-- So the database keeps a check value of the key: the keyed hash (hash subkey,
-- as for id_hash) of a fixed text that is no ID number. It tells nothing about
-- the key and cannot be used to test ID numbers. Every process that holds the
-- key calls aid_pii_key_matches(its check value) on each connection (common/
-- store.c): the first one on a database records it; any later one with another
-- key is told false and stops before it reads or writes anything
-- (pii.key_mismatch). One row, generation 1 (PII_FORMAT); a key rotation (see
-- ops/SECURITY.md) replaces it in the same transaction as the re-sealing.
--
-- The functions, triggers and policies this file once made are defined in
-- ops/sql/ now, each once, in its current form (ops/sql/README.md).

CREATE TABLE pii_key (
    generation smallint PRIMARY KEY CHECK (generation = 1),
    check_hash bytea NOT NULL CHECK (length(check_hash) = 32),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    recorded_by text NOT NULL DEFAULT session_user
);

REVOKE ALL ON pii_key FROM PUBLIC;
GRANT SELECT ON pii_key TO aid_operator;
