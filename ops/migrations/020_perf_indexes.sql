-- 020_perf_indexes.sql — indexes the hot paths need (issue 6, measured by make bench).
--
-- aid_submit_report looks a household up with
--   case_members.id_number = ANY (p_ids)        -- char(18) column, text[] parameter
-- which PostgreSQL evaluates as id_number::text = ANY (...): the primary key on
-- the char(18) value cannot serve it, so every report scanned the whole
-- case_members table (throughput fell as the table grew). An index on the
-- text form serves that comparison as it is written, without changing the
-- function.
CREATE INDEX case_members_id_text ON case_members ((id_number::text));
