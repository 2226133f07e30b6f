-- 048_login_counts.sql — login attempts counted before the password is checked.
--
-- Until now the gateway read the failures of gateway_logins, checked the
-- password and then wrote the outcome: 60 logins sent at once all read
-- "no failures" and were all checked (issue 14, point 2). Now each attempt
-- first adds one to its user name's and its client address's counters in one
-- statement (INSERT … ON CONFLICT DO UPDATE … RETURNING: concurrent attempts
-- wait on the row, each sees the count the one before it left), and only an
-- attempt within both limits has its password checked. A refused attempt
-- takes itself off both counters again, a success takes itself and the
-- failures its count saw off its user's counter and itself off its
-- address's, so both count failures, as before. A counter starts again once its window
-- (15 minutes from its first attempt) has passed; the gateway deletes
-- counters older than that now and then.
--
-- gateway_logins stays the record of attempts whose password was checked.

CREATE TABLE gateway_login_counts (
    key       text PRIMARY KEY,            -- 'user:' || username, 'client:' || address
    since     timestamptz NOT NULL DEFAULT now(),
    attempts  integer NOT NULL CHECK (attempts >= 0)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON gateway_login_counts TO aid_gateway;
