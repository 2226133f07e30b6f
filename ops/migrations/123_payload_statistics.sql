-- 123_payload_statistics.sql — no statistics for columns no query filters, joins or
-- groups on.
--
-- Autovacuum analyses the pipeline's large tables again and again while they grow
-- (ten times each in one `make bench`), and ANALYZE sorts a sample of every column
-- to find its common values and histogram: for the payload columns below that was
-- half of the work (jsonb proposals compared key by key, measure arrays, encrypted
-- ID numbers, report bodies), and none of those statistics is ever used — the
-- columns are read by key, carried along or unnested, never searched. Measured on a
-- bench stack of 82,000 reports: analysing the eight tables took 1.2 s before and
-- 0.6 s after. The keys, dates, townships, statuses, rule lists and person groups
-- keep their statistics.
ALTER TABLE reports ALTER COLUMN body SET STATISTICS 0;
ALTER TABLE assessments ALTER COLUMN data SET STATISTICS 0;
ALTER TABLE case_members ALTER COLUMN id_enc SET STATISTICS 0,
                         ALTER COLUMN name SET STATISTICS 0;
ALTER TABLE assessed_persons ALTER COLUMN name SET STATISTICS 0;
ALTER TABLE requests ALTER COLUMN body_hash SET STATISTICS 0,
                     ALTER COLUMN result SET STATISTICS 0;
ALTER TABLE decisions ALTER COLUMN reason SET STATISTICS 0,
                      ALTER COLUMN m_code SET STATISTICS 0,
                      ALTER COLUMN m_person SET STATISTICS 0,
                      ALTER COLUMN m_id_masked SET STATISTICS 0,
                      ALTER COLUMN m_amount_fen SET STATISTICS 0,
                      ALTER COLUMN m_period SET STATISTICS 0,
                      ALTER COLUMN m_form SET STATISTICS 0;
ALTER TABLE reviews ALTER COLUMN proposal SET STATISTICS 0,
                    ALTER COLUMN grant_measures SET STATISTICS 0;
ALTER TABLE audit_log ALTER COLUMN detail SET STATISTICS 0;
