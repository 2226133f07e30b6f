-- 051_complaint_reach.sql — complaints are read and moved on only within
-- reach (issue 14, point 5).
--
-- A complaint belongs to the township it was filed for (complaints.township,
-- given at complaint.submit; the web console gives a caseworker's own) and
-- to the township where its case, if it names one, is registered
-- (cases.township, 050_reach.sql). complaint.get and complaint.update take
-- the reader's township (p_township; NULL: county-wide, as before): a
-- complaint outside it answers exactly as one that does not exist.
--
-- The functions, triggers and policies this file once made are defined in
-- ops/sql/ now, each once, in its current form (ops/sql/README.md).

ALTER TABLE complaints ADD COLUMN township char(9);
