#!/usr/bin/env bash
# tests/gateway/run.sh — `make test-gateway`: a fresh private stack under $AID_VAR
# (default var/gwtest) with the web console, the housing department external (its
# referrals wait for a person's decision), then the gateway's pytest suite and the
# end-to-end test in headless Chromium (tests/gateway/e2e). The stack is stopped
# whatever happens. Where Chromium cannot be installed the e2e test is skipped with
# a message saying so. Prints "gateway: N passed, N failed" last.
set -uo pipefail
cd "$(dirname "$0")/../.."
export AID_VAR=${AID_VAR:-var/gwtest}
export AID_SWEEP_MS=${AID_SWEEP_MS:-300}
export AID_EXTERNAL_DEPARTMENTS=housing
# ports apart from the default, integration and secure-mode stacks, so all four coexist
# (make test runs the three test stacks side by side)
export AID_PG_PORT=${GW_PG_PORT:-25632} AID_REDIS_PORT=${GW_REDIS_PORT:-26579}
export AID_INTAKE_PORT=${GW_INTAKE_PORT:-5801} AID_BUS_SUB_PORT=${GW_BUS_SUB_PORT:-5802}
export AID_BUS_PUB_PORT=${GW_BUS_PUB_PORT:-5803} AID_GATEWAY_PORT=${GW_GATEWAY_PORT:-18180}
export AID_INTAKE_REPLICA_PORT=${GW_INTAKE_REPLICA_PORT:-5831} AID_METRICS_PORT=${GW_METRICS_PORT:-9801}
ops/stack.sh down >/dev/null 2>&1 || true
rm -rf "$AID_VAR"
cleanup() { ops/stack.sh down >/dev/null 2>&1 || true; }
trap cleanup EXIT
if ! ops/stack.sh up; then
    echo "gateway: the stack did not start"; tail -n 30 "$AID_VAR"/log/*.log 2>/dev/null
    echo "gateway: 0 passed, 1 failed"
    exit 1
fi
eval "$(ops/stack.sh env)"
passed=0 failed=0

report=$(mktemp)
/usr/bin/python3 -m pytest -q -p no:cacheprovider --durations=8 tests/gateway 2>&1 | tee "$report"
prc=${PIPESTATUS[0]}
p=$(grep -Eo '[0-9]+ passed' "$report" | tail -1 | grep -Eo '[0-9]+' || echo 0)
f=$(grep -Eo '[0-9]+ (failed|error)' "$report" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
rm -f "$report"
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
[ $prc -ne 0 ] && [ "${f:-0}" -eq 0 ] && failed=$((failed + 1))

if tests/gateway/e2e/deps.sh; then
    out=$(mktemp)
    node tests/gateway/e2e/console.test.js 2>&1 | tee "$out"
    erc=${PIPESTATUS[0]}
    p=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$out" | tail -1)
    f=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$out" | tail -1)
    rm -f "$out"
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ $erc -ne 0 ]; then
        [ "${f:-0}" -eq 0 ] && failed=$((failed + 1))
        echo "e2e: FAILED (screenshots in $AID_VAR/e2e/, gateway log $AID_VAR/log/gateway.log)"
        tail -n 20 "$AID_VAR/log/gateway.log"
    fi
else
    echo "e2e: SKIPPED — Chromium (Debian package chromium) or the npm package playwright-core" \
         "could not be installed on this machine; the browser test did not run"
fi
# sanitizer reports (a SANITIZE=… build) are written to the logs, leaks at exit
ops/stack.sh down >/dev/null 2>&1 || true
ops/sancheck.sh "$AID_VAR/log" || failed=$((failed + 1))
echo "gateway: $passed passed, $failed failed"
[ $failed -eq 0 ]
