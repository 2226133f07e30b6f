#!/usr/bin/env bash
# ops/bench/bench.sh — `make bench` and `make bench-disaster`.
#
#   ops/bench/bench.sh            throughput (median of three runs) and open-loop
#                                 latency at half that rate of the whole pipeline,
#                                 the per-stage table (stages.sh), then the
#                                 raw-insert baseline on the same Postgres
#   ops/bench/bench.sh disaster   100,000 households, one disaster trigger, time
#                                 until every referral it caused is decided
#   ops/bench/bench.sh import     1,000,000 rows of a department comparison file
#                                 through aidctl import, a verdict per row (import.c)
#   ops/bench/bench.sh payroll    200,000 active entitlements, one month's payroll run,
#                                 approved and its bank file written (payroll.sh)
#   ops/bench/bench.sh floor      the rows make bench writes for its reports, written bare
#                                 by pgbench (floor.sh, floor.sql), beside the same
#                                 baseline: the data model's own ceiling
#
# Each run starts its own fresh stack under $AID_BENCH_VAR (default var/bench) on
# free loopback ports, with the stack's ordinary settings (fsync, synchronous_commit
# and full_page_writes on), and stops it at the end (BENCH_KEEP=1 keeps it running).
# AID_REPLICAS is passed to the stack, e.g. AID_REPLICAS=intake:3 make bench; the
# departments run in the departments host, two instances, unless AID_DEPARTMENTS_HOST=0.
# Knobs: BENCH_N (per run) BENCH_RUNS BENCH_CLIENTS BENCH_WINDOW BENCH_LAT_SECONDS BENCH_LAT_RATE
# BENCH_SEED BENCH_BASELINE_SECONDS (default 5) BENCH_DISASTER_N (default 100000)
# BENCH_IMPORT_ROWS BENCH_IMPORT_HOUSEHOLDS BENCH_IMPORT_EVERY (import.c);
# AID_PG_STATEMENTS (default 1 for bench: pg_stat_statements for the per-stage table;
# 0 leaves it out and the table has the services' counters only).
# The last line of `bench` is exactly
#   bench: reports_per_s=… decided_per_s=… p50_ms=… p99_ms=… p99_half_ms=…
#          baseline_inserts_per_s=… ratio=… rss_max_mb=…
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
mode=${1:-bench}
export AID_VAR=${AID_BENCH_VAR:-var/bench}
export AID_SWEEP_MS=${AID_SWEEP_MS:-1000}
[[ $mode == bench ]] && export AID_PG_STATEMENTS=${AID_PG_STATEMENTS:-1}
# a county-wide payroll run or a trigger over 100,000 households runs for seconds in
# one request: with the stack's own settings its owner keeps beating and intake waits
# for it (README "One front door, owners behind it")
unset AID_INTAKE_API AID_BUS_SUB AID_BUS_PUB AID_PG_DSN AID_REDIS_URL

# first port at or above $1 that nothing listens on and we did not take yet (all
# below the kernel's ephemeral range, 32768+, where an outgoing connection could
# hold the port)
TAKEN=" "
free_port() { # VAR BASE: sets VAR (no subshell, so TAKEN accumulates)
    local p=$2 used
    used=" $(ss -ltnH 2>/dev/null | awk '{print $4}' | sed 's/.*://' | tr '\n' ' ') "
    while [[ $used == *" $p "* || $TAKEN == *" $p "* ]]; do p=$((p + 1)); done
    TAKEN+="$p "
    printf -v "$1" '%s' "$p"
    export "${1?}"
}

ops/stack.sh down >/dev/null 2>&1 || true
rm -rf "$AID_VAR"
free_port AID_PG_PORT 25850
free_port AID_REDIS_PORT 26850
free_port AID_INTAKE_PORT 5851
free_port AID_BUS_SUB_PORT 5852
free_port AID_BUS_PUB_PORT 5853
free_port AID_INTAKE_REPLICA_PORT 5861
free_port AID_METRICS_PORT 9851
free_port AID_GATEWAY_PORT 18850
cleanup() {
    [[ ${BENCH_KEEP:-0} == 1 ]] && { echo "bench: stack kept running under $AID_VAR"; return; }
    ops/stack.sh down >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The built-in departments as deployed for throughput (README, "The departments
# host"): two processes deciding for all nine, each step one transaction for all of
# them. AID_DEPARTMENTS_HOST=0 measures one process per department instead.
export AID_DEPARTMENTS_HOST=${AID_DEPARTMENTS_HOST:-1}
if [[ $AID_DEPARTMENTS_HOST == 1 && ${AID_REPLICAS:-} != *departments:* ]]; then
    export AID_REPLICAS=${AID_REPLICAS:+$AID_REPLICAS,}departments:2
fi

mkdir -p "$AID_VAR"
echo "bench: starting a fresh stack under $AID_VAR${AID_REPLICAS:+ (AID_REPLICAS=$AID_REPLICAS)}" \
    "$([[ $AID_DEPARTMENTS_HOST == 1 ]] && echo "departments: the host" || echo "departments: one process each")"
if ! ops/stack.sh up >"$AID_VAR/up.log" 2>&1; then
    cat "$AID_VAR/up.log"
    echo "bench: the stack did not start" >&2
    exit 1
fi
eval "$(ops/stack.sh env)"
psqlq() { psql "$AID_PG_DSN" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
# the yardstick: 8 connections inserting one row of $1 bytes per transaction, each its
# own durable COMMIT (baseline.c); prints its line, sets base (inserts/s)
baseline() {
    echo "bench: baseline: 8 connections, single-row INSERT of a $1-byte row, each its own COMMIT"
    local line
    line=$(bin/bench-baseline --threads 8 --seconds "${BENCH_BASELINE_SECONDS:-5}" --bytes "$1")
    echo "  $line"
    base=$(sed -n 's/.*inserts_per_s=\([0-9]*\).*/\1/p' <<<"$line")
}
ratio_of() { awk -v d="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? d / b : 0) }'; }
echo "bench: postgres $(psqlq 'SHOW server_version'): fsync=$(psqlq 'SHOW fsync')" \
    "synchronous_commit=$(psqlq 'SHOW synchronous_commit')" \
    "full_page_writes=$(psqlq 'SHOW full_page_writes') shared_buffers=$(psqlq 'SHOW shared_buffers')"

# AID_PG_STATEMENTS=1: the stack loads pg_stat_statements (track = all); stages.sh
# reads it around the measured runs
if [[ ${AID_PG_STATEMENTS:-0} == 1 ]]; then
    psqlq "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
fi

# checks in SQL after a run: one referral per (report, department), one decision
# per referral, nothing pending, every report assessed
check_sql() {
    psqlq "SELECT format('check: reports=%s assessed=%s referrals=%s decisions=%s pending=%s dup_referrals=%s dup_decisions=%s',
        (SELECT count(*) FROM reports), (SELECT count(*) FROM assessments),
        (SELECT count(*) FROM referrals), (SELECT count(*) FROM decisions),
        (SELECT count(*) FROM referrals WHERE status = 'pending'),
        (SELECT count(*) FROM (SELECT 1 FROM referrals GROUP BY report_id, department HAVING count(*) > 1) x),
        (SELECT count(*) FROM (SELECT 1 FROM decisions GROUP BY referral_id HAVING count(*) > 1) x))"
}

if [[ $mode == disaster ]]; then
    bin/bench-disaster
    check_sql
    exit 0
fi
if [[ $mode == floor ]]; then
    out=$AID_VAR/floor.out
    ops/bench/floor.sh | tee "$out"
    floor=$(grep '^floor-result:' "$out" | tail -n1)
    [[ -n $floor ]] || { echo "bench-floor: no result line" >&2; exit 1; }
    per_s=$(sed -n 's/.* reports_per_s=\([0-9]*\).*/\1/p' <<<"$floor")
    baseline "$(sed -n 's/.* bytes=\([0-9]*\).*/\1/p' <<<"$floor")"
    echo "bench-floor: reports_per_s=$per_s baseline_inserts_per_s=$base ratio=$(ratio_of "$per_s" "$base")"
    exit 0
fi
if [[ $mode == import ]]; then
    bin/bench-import
    exit 0
fi
if [[ $mode == payroll ]]; then
    ops/bench/payroll.sh
    exit 0
fi

out=$AID_VAR/bench.out
if ! BENCH_HOOK=ops/bench/stages.sh bin/bench | tee "$out"; then
    echo "bench: the pipeline run failed (logs in $AID_VAR/log)" >&2
    exit 1
fi
check_sql
result=$(grep '^bench-result:' "$out" | tail -n1)
[[ -n $result ]] || { echo "bench: no result line" >&2; exit 1; }
bytes=$(psqlq "SELECT coalesce(round(avg(length(body))), 1000) FROM reports")
echo
baseline "$bytes"
kv() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" ${result#bench-result:}"; }
decided=$(kv decided_per_s)
echo
ops/bench/stages.sh table "$(kv measured)" "$(kv busy_s)"
ratio=$(ratio_of "$decided" "$base")
echo
echo "bench: reports_per_s=$(kv reports_per_s) decided_per_s=$decided p50_ms=$(kv p50_ms)" \
    "p99_ms=$(kv p99_ms) p99_half_ms=$(kv p99_half_ms) baseline_inserts_per_s=$base" \
    "ratio=$ratio rss_max_mb=$(kv rss_max_mb)"
