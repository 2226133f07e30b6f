-- 002_fanout.sql — the two writes of the fan-out, each one round trip: the
-- assessment with its referrals, and a decision (both functions; the first is
-- gone since 069, nothing called it).
--
-- The functions, triggers and policies this file once made are defined in
-- ops/sql/ now, each once, in its current form (ops/sql/README.md).

