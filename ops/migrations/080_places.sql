-- 080_places.sql — the county's place names (issue 16): a township or village
-- code (6, 9 or 12 digits, as the contract writes area codes) with its name and,
-- optionally, the code of the place it belongs to. Loaded by an operator with
-- `aidctl places import FILE.csv` (code,name[,parent]); the web console shows a
-- name where one is known and the bare code otherwise. The repository ships no
-- place names: a county loads its own table.

CREATE TABLE places (
    code        text PRIMARY KEY CHECK (code ~ '^([0-9]{6}|[0-9]{9}|[0-9]{12})$'),
    name        text NOT NULL CHECK (name <> '' AND octet_length(name) <= 256),
    parent      text CHECK (parent IS NULL OR (parent ~ '^([0-9]{6}|[0-9]{9})$'
                                               AND length(parent) < length(code)
                                               AND left(code, length(parent)) = parent)),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT ON places TO aid_gateway;
