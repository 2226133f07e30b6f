-- 122_assessed_by_assessment.sql — a report is assessed when its assessment exists.
--
-- Eligibility set reports.assessed_at in the transaction that inserted the
-- report's assessment and its assessed persons: the same fact written twice,
-- the second time as an update of the report row (a new row version, often on
-- another page and into every index of reports) and an AFTER UPDATE statement
-- trigger that bumped the visit schedules. The readers now ask for the
-- assessment's persons instead (every assessment has its report's members, at
-- least one: a report without a member is refused at the door, and one that
-- cannot be read is held, not assessed); aid_record_assessments bumps the
-- schedules itself (ops/sql/40_eligibility.sql). The time stays where it was
-- written in the same transaction: assessments.created_at.
--
-- With no update left, a report row is written once: its pages are filled
-- (the fillfactor of 042 kept room for the update's new versions).
DROP TRIGGER IF EXISTS reports_assessed_bump_schedules ON reports;
DROP FUNCTION IF EXISTS aid_reports_assessed();
REVOKE UPDATE (assessed_at) ON reports FROM aid_eligibility;
ALTER TABLE reports DROP COLUMN assessed_at;
ALTER TABLE reports SET (fillfactor = 100);
