-- 022_queues.sql — the pipeline's write path made cheaper (issue 6, measured by make bench).
--
-- Before this migration a report cost ~150 WAL records. Most of them were not
-- the rows themselves but their side effects:
--
--  * Work was found through partial indexes on the rows' own state
--    (reports WHERE assessed_at IS NULL, referrals WHERE status = 'pending').
--    A column in an index predicate makes every change of it a non-HOT
--    update: marking a report assessed or a referral decided wrote a new
--    entry into every index of the row (7 on reports, 5 on referrals).
--    Work is now found through two small queue tables, filled in the
--    transaction that creates the work and emptied in the one that does it;
--    the state columns are in no index any more, so their updates are HOT
--    (room left on each page by the fillfactor below).
--
--  * Foreign keys on the hot tables took a row lock on the parent for every
--    child row (a WAL record each, and multixacts on the shared parents:
--    every referral locked its department's dept_streams row). The rows
--    these keys guarded are only ever written by the functions of 001, 002,
--    021 and this file, which take the parent from the same statement or a
--    row they hold locked (a report claimed from report_queue, a referral
--    claimed from referral_queue), and nothing deletes these rows (R-AUDIT:
--    the trail is append-only). The keys are dropped on the hot path; the
--    unique keys — one case per person, one referral per report and
--    department, one decision per referral — stay, and they are what the
--    exactly-once guarantees rest on.
--
--  * Two indexes nobody needed: reports (case_id) is served by
--    reports_case_latest (case_id, report_id DESC), and case_members'
--    expression index on id_number::text only existed because
--    aid_submit_report compared the char(18) key with text (fixed below).
--
-- The functions, triggers and policies this file once made are defined in
-- ops/sql/ now, each once, in its current form (ops/sql/README.md).

-- ---------------------------------------------------------------- queues
-- report_queue: reports not yet assessed. aid_submit_report(s) add the row;
-- eligibility claims rows (FOR UPDATE SKIP LOCKED) and deletes them in the
-- transaction that records the assessment (aid_record_assessment(s)).
CREATE TABLE report_queue (
    report_id bigint PRIMARY KEY
);
INSERT INTO report_queue (report_id) SELECT report_id FROM reports WHERE assessed_at IS NULL;

-- referral_queue: referrals not yet decided, in each department's stream
-- order. aid_record_assessment(s) add the rows; a department claims its
-- rows (FOR UPDATE SKIP LOCKED) and aid_record_decision(s) delete them with
-- the decision.
CREATE TABLE referral_queue (
    department  text NOT NULL,
    seq         bigint NOT NULL,
    referral_id bigint NOT NULL,
    PRIMARY KEY (department, seq)
);
INSERT INTO referral_queue (department, seq, referral_id)
SELECT department, seq, referral_id FROM referrals WHERE status = 'pending';

-- Queues churn: vacuum them after a few thousand dead rows, not after a
-- fifth of the table (the default), so claims do not walk dead entries.
ALTER TABLE report_queue SET (autovacuum_vacuum_scale_factor = 0,
                              autovacuum_vacuum_threshold = 2000);
ALTER TABLE referral_queue SET (autovacuum_vacuum_scale_factor = 0,
                                autovacuum_vacuum_threshold = 2000);

DROP INDEX reports_unassessed;
DROP INDEX referrals_pending;
-- Room on each page for the HOT updates that decide its referrals: a page's
-- referrals are decided within seconds of each other, before pruning can
-- reclaim the old versions, so about as much room as the rows themselves.
ALTER TABLE referrals SET (fillfactor = 50);

-- ---------------------------------------------------------------- keys and indexes
ALTER TABLE case_members DROP CONSTRAINT case_members_case_id_fkey;
ALTER TABLE reports DROP CONSTRAINT reports_case_id_fkey;
ALTER TABLE assessments DROP CONSTRAINT assessments_report_id_fkey;
ALTER TABLE assessed_persons DROP CONSTRAINT assessed_persons_report_id_fkey;
ALTER TABLE referrals DROP CONSTRAINT referrals_report_id_fkey;
ALTER TABLE referrals DROP CONSTRAINT referrals_case_id_fkey;
ALTER TABLE referrals DROP CONSTRAINT referrals_department_fkey;
ALTER TABLE decisions DROP CONSTRAINT decisions_referral_id_fkey;
ALTER TABLE measures DROP CONSTRAINT measures_referral_id_fkey;

DROP INDEX reports_case;
DROP INDEX case_members_id_text;
