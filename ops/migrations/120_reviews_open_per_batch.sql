-- 120_reviews_open_per_batch.sql — the reviews of new decisions are opened once per
-- batch (issue 19): aid_apply_decisions stores a reviewed grant as in_review itself and
-- calls aid_reviews_open (ops/sql/55_casework.sql) with the batch's referrals that cite
-- a review or an emergency grant. The BEFORE INSERT trigger on decisions that did it
-- one row at a time (a statement per reviewed decision) and its function go.
DROP TRIGGER IF EXISTS decisions_review_open ON decisions;
DROP FUNCTION IF EXISTS aid_review_open();
