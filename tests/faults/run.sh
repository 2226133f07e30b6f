#!/usr/bin/env bash
# tests/faults/run.sh — `make test-faults`: the fault drills against a fresh private
# stack of their own under $AID_VAR (default var/test-faults), on free loopback ports
# apart from every other stack, with two intake and two civil replicas; the stack is
# stopped whatever happens. Prints "test-faults: N passed, N failed" last; exits
# non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
export AID_VAR=${AID_VAR:-var/test-faults}
export AID_SWEEP_MS=${AID_SWEEP_MS:-300}
export AID_REPLICAS=${AID_FAULTS_REPLICAS:-intake:2,civil:2}
unset AID_INTAKE_API AID_BUS_SUB AID_BUS_PUB AID_PG_DSN AID_REDIS_URL AID_METRICS_PORT

# first free port at or above $1, below the ephemeral range (32768+), not taken yet
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
free_port AID_PG_PORT 25950
free_port AID_REDIS_PORT 26950
free_port AID_INTAKE_PORT 5951
free_port AID_BUS_SUB_PORT 5952
free_port AID_BUS_PUB_PORT 5953
free_port AID_INTAKE_REPLICA_PORT 5961
free_port AID_METRICS_PORT 9951
free_port AID_GATEWAY_PORT 18950
cleanup() { ops/stack.sh down >/dev/null 2>&1 || true; }
trap cleanup EXIT

mkdir -p "$AID_VAR"
if ! ops/stack.sh up >"$AID_VAR/up.log" 2>&1; then
    cat "$AID_VAR/up.log"
    echo "test-faults: the stack did not start"
    echo "test-faults: 0 passed, 1 failed"
    exit 1
fi
eval "$(ops/stack.sh env)"
export AID_ROOT=$PWD
unset AID_METRICS_PORT # the base of the metrics ports, not one of them

report=$(mktemp)
/usr/bin/python3 -m pytest -q -s -p no:cacheprovider --durations=8 tests/faults 2>&1 | tee "$report"
prc=${PIPESTATUS[0]}
p=$(grep -Eo '[0-9]+ passed' "$report" | tail -1 | grep -Eo '[0-9]+' || echo 0)
f=$(grep -Eo '[0-9]+ (failed|error)' "$report" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
rm -f "$report"
[ "$prc" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
if [ "${f:-0}" -ne 0 ]; then
    echo "--- last lines of the service logs ($AID_VAR/log)"
    for l in "$AID_VAR"/log/*.log; do echo "== $l"; tail -n 5 "$l"; done
fi
# sanitizer reports (a SANITIZE=… build) are written to the logs, leaks at exit
ops/stack.sh down >/dev/null 2>&1 || true
ops/sancheck.sh "$AID_VAR/log" || f=$((${f:-0} + 1))
echo "test-faults: ${p:-0} passed, ${f:-0} failed"
[ "${f:-0}" -eq 0 ]
