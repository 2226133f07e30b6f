-- 045_report_hold.sql — a report eligibility cannot read is held, not lost.
--
-- Every report was validated at intake, so a stored body that no longer opens
-- or decodes is damage (a restored backup page, a hand edit) — rare, but until
-- now eligibility recorded an empty assessment for it: no referral, the case
-- complete, the household never helped, and only a log line saying so.
--
-- Now eligibility marks its queue row held (held = why) in the transaction of
-- the batch it came in, records nothing for it, and goes on with the others.
-- The report stays in report_queue, so its case is not complete (case.get),
-- and claims skip it. An operator repairs the report and releases it:
--     UPDATE report_queue SET held = NULL WHERE report_id = …;
-- the next sweep of eligibility assesses it. See README, "Operating".

ALTER TABLE report_queue ADD COLUMN held text;

GRANT UPDATE (held) ON report_queue TO aid_eligibility;
