-- 121_entitlement_deaths_index.sql — the entitlements a death ended, by subject
-- (issue 19): aid_entitlements_start asks, for each person of every granted civil
-- decision, whether a death ended their entitlements; without an index that read
-- every entitlement of the county (22,000 rows in `make bench`, 3 ms a decision,
-- growing with the county). Few rows: a partial index.
CREATE INDEX entitlements_deaths ON entitlements (subject) WHERE end_reason = 'death';
