#!/usr/bin/env bash
# ops/bench/floor.sh — `make bench-floor` (run by `ops/bench/bench.sh floor` on its fresh
# stack, its environment exported): the data model's own ceiling. The rows `make bench`
# writes for a report (floor.sql: the request, case, members, report, assessment,
# assessed persons, 4.3 referrals, their queue rows, decisions, reviews) are written
# bare by pgbench — 250 reports a batch in the pipeline's three transactions, no
# service, no function, no check — into copies of the real tables (schema floor: same
# columns, keys, indexes and fill factors); bench.sh then runs make bench's raw-insert
# baseline on the same Postgres beside it. What the pipeline cannot pass whatever its
# code does. Knobs: BENCH_FLOOR_CLIENTS (default 4), BENCH_FLOOR_SECONDS (default 10).
# Last line, exactly (the report body's size, for the baseline's row):
#   floor-result: reports_per_s=… bytes=…
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
clients=${BENCH_FLOOR_CLIENTS:-4}
seconds=${BENCH_FLOOR_SECONDS:-10}
psqlq() { psql "$AID_PG_DSN" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
# pgbench comes with the server (Debian: postgresql-15), where the stack finds initdb
pgbench=$(ops/stack.sh pg-bin)/pgbench
[[ -x $pgbench ]] || { echo "bench-floor: $pgbench not found (Debian: postgresql-15)" >&2; exit 1; }

tables=(requests cases case_members reports report_queue assessments assessed_persons
        referrals referral_queue decisions reviews)
setup="DROP SCHEMA IF EXISTS floor CASCADE; CREATE SCHEMA floor; CREATE SEQUENCE floor.seq;"
for t in "${tables[@]}"; do
    setup+=" CREATE TABLE floor.$t (LIKE public.$t INCLUDING ALL);"
    opts=$(psqlq "SELECT coalesce(array_to_string(reloptions, ', '), '') FROM pg_class
                   WHERE oid = 'public.$t'::regclass")
    [[ -n $opts ]] && setup+=" ALTER TABLE floor.$t SET ($opts);"
done
psqlq "SET client_min_messages = warning; $setup"

echo "bench-floor: the rows of 250 reports a batch, three transactions, $clients clients, ${seconds} s"
# planned as the pipeline's functions are (enable_seqscan off): without it the decisions'
# update joined the referrals by hashing the whole table, a batch cost that grew with
# the table (the slow group of the first measurements)
out=$(PGOPTIONS='-c enable_seqscan=off' "$pgbench" -n -r -c "$clients" -j "$clients" \
      -T "$seconds" -f ops/bench/floor.sql "$AID_PG_DSN" 2>&1) || { echo "$out" >&2; exit 1; }
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -n1)
reports=$(psqlq "SELECT count(*) FROM floor.reports")
decided=$(psqlq "SELECT count(*) FROM floor.decisions")
referrals=$(psqlq "SELECT count(*) FROM floor.referrals")
echo "  batches/s=$tps reports=$reports referrals=$referrals decided_referrals=$decided"
grep -E '^ +[0-9.]+ +[0-9]+ +(BEGIN|WITH|INSERT|COMMIT)' <<<"$out" |
    awk '{printf "  %8.2f ms  %s\n", $1, substr($0, index($0, $3))}' | head -n 12 || true
per_s=$(awk -v t="$tps" 'BEGIN { printf "%d", t * 250 }')
bytes=$(psqlq "SELECT coalesce(round(avg(length(body))), 1000) FROM floor.reports")
psqlq "SET client_min_messages = warning; DROP SCHEMA floor CASCADE"
echo "floor-result: reports_per_s=$per_s bytes=$bytes"
