-- 030_gateway.sql — the web console's own tables (services/gateway): staff
-- accounts, sessions, login attempts and the audit trail of what staff did.
--
-- Passwords are argon2id strings from libsodium (crypto_pwhash_str), never
-- the password. A session row holds a hash of the cookie token, never the
-- token. The audit trail is append-only (R-AUDIT): a trigger refuses UPDATE,
-- DELETE and TRUNCATE; grant-level hardening (a role per service) comes later.
--
-- The functions, triggers and policies this file once made are defined in
-- ops/sql/ now, each once, in its current form (ops/sql/README.md).

-- Staff accounts. role and scope go together:
--   township    scope = the 9-digit township code they file and read for
--   county      scope = '' (every township, ledgers, triggers)
--   department  scope = the department name (civil, housing, ...)
--   auditor     scope = '' (read-only, the audit trail)
CREATE TABLE gateway_users (
    username      text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,31}$'),
    role          text NOT NULL CHECK (role IN ('township', 'county', 'department', 'auditor')),
    scope         text NOT NULL DEFAULT '',
    display_name  text NOT NULL DEFAULT '',
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (CASE role
             WHEN 'township' THEN scope ~ '^[0-9]{9}$'
             WHEN 'department' THEN scope IN ('civil', 'tempaid', 'medical', 'education',
                     'housing', 'employment', 'relief', 'social', 'care')
             ELSE scope = '' END)
);

-- Sessions: the cookie carries a random token; only its BLAKE2b hash is here.
CREATE TABLE gateway_sessions (
    token_hash  bytea PRIMARY KEY,
    username    text NOT NULL REFERENCES gateway_users ON DELETE CASCADE,
    csrf        text NOT NULL,
    client      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX gateway_sessions_user ON gateway_sessions (username);

-- Every login attempt, for the rate limit (failures per user and per client
-- address in a window) and for the auditor.
CREATE TABLE gateway_logins (
    at        timestamptz NOT NULL DEFAULT now(),
    username  text NOT NULL,
    client    text NOT NULL,
    ok        boolean NOT NULL
);
CREATE INDEX gateway_logins_user ON gateway_logins (username, at);
CREATE INDEX gateway_logins_client ON gateway_logins (client, at);

-- The audit trail: who (username, role), when, what (action, the case it
-- touched, a detail such as the request id), from where.
-- action: case.read, report.submit, decision.submit, login, logout, ...
CREATE TABLE gateway_audit (
    audit_id  bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    username  text NOT NULL,
    role      text NOT NULL,
    action    text NOT NULL,
    case_id   text NOT NULL DEFAULT '',
    detail    text NOT NULL DEFAULT '',
    client    text NOT NULL DEFAULT ''
);
CREATE INDEX gateway_audit_case ON gateway_audit (case_id, at) WHERE case_id <> '';
CREATE INDEX gateway_audit_user ON gateway_audit (username, at);
