#!/usr/bin/env bash
# tests/ha/run.sh — `make test-ha`: the HA drills (tests/ha/test_ha.py) against a fresh
# private HA stack of their own (ops/ha.sh) under $AID_VAR (default var/test-ha), on
# loopback ports from AID_HA_PORT_BASE (default 27400, apart from `make up-ha`'s
# 27100). Every process the stack started (etcd, Patroni, Postgres, Redis, Sentinels,
# services, a restored cluster) is stopped whatever happens. Prints
# "test-ha: N passed, N failed" last; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
export AID_VAR=${AID_VAR:-var/test-ha}
export AID_HA_PORT_BASE=${AID_HA_PORT_BASE:-27400}
export AID_SWEEP_MS=${AID_SWEEP_MS:-300}
unset AID_INTAKE_API AID_BUS_SUB AID_BUS_PUB AID_PG_DSN AID_REDIS_URL AID_METRICS_PORT \
    AID_REDIS_SENTINELS AID_PATRONI_URLS AID_GATEWAY_PORT AID_REPLICAS

ops/ha.sh down >/dev/null 2>&1 || true
rm -rf "$AID_VAR"
cleanup() { ops/ha.sh down >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$AID_VAR"
t0=$(date +%s)
if ! ops/ha.sh up >"$AID_VAR/up.log" 2>&1; then
    cat "$AID_VAR/up.log"
    for l in "$AID_VAR"/log/patroni*.log "$AID_VAR"/log/pgbackrest.out; do [ -f "$l" ] && { echo "== $l"; tail -n 20 "$l"; }; done
    echo "test-ha: the HA stack did not start"
    echo "test-ha: 0 passed, 1 failed"
    exit 1
fi
echo "test-ha: HA stack up in $(($(date +%s) - t0)) s"
eval "$(ops/ha.sh env)"
export AID_ROOT=$PWD
unset AID_METRICS_PORT

report=$(mktemp)
# AID_HA_K: only the drills whose names match (pytest -k), e.g. "health or etcd"
/usr/bin/python3 -m pytest -q -s -p no:cacheprovider --durations=8 ${AID_HA_K:+-k "$AID_HA_K"} tests/ha 2>&1 | tee "$report"
prc=${PIPESTATUS[0]}
# the counts from pytest's summary line only (the drills print words like "failed" too)
summary=$(grep -E '^=* ?[0-9]+ (passed|failed|error|errors|deselected|skipped)\b.* in [0-9.]+s' "$report" | tail -1)
p=$(grep -Eo '[0-9]+ passed' <<<"$summary" | grep -Eo '[0-9]+' || echo 0)
f=$(grep -Eo '[0-9]+ (failed|errors?)' <<<"$summary" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
rm -f "$report"
[ "$prc" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
if [ "${f:-0}" -ne 0 ]; then
    echo "--- last lines of the logs ($AID_VAR/log)"
    for l in "$AID_VAR"/log/*.log; do echo "== $l"; tail -n 5 "$l"; done
fi
ops/ha.sh down >/dev/null 2>&1 || true
echo "test-ha: ${p:-0} passed, ${f:-0} failed (total $(($(date +%s) - t0)) s)"
[ "${f:-0}" -eq 0 ]
