#!/usr/bin/env bash
# run-integration.sh — a fresh private stack under $AID_VAR (default var/test),
# then the live C tests given as arguments and the Python integration and
# interop tests against it; the stack is stopped whatever happens.
# AID_TESTS selects the Python tests (default: tests/integration tests/interop).
# After the run, every service log is searched for sanitizer reports (builds
# with SANITIZE=…): one is a failure, even if every test passed.
# Prints "integration: N passed, N failed" last; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
export AID_VAR=${AID_VAR:-var/test}
export AID_SWEEP_MS=${AID_SWEEP_MS:-300}
ops/stack.sh down >/dev/null 2>&1 || true
rm -rf "$AID_VAR"
cleanup() { ops/stack.sh down >/dev/null 2>&1 || true; }
trap cleanup EXIT
# Ports apart from the default stack's, so `make up` and the tests coexist; below the
# kernel's ephemeral range (32768+), where an outgoing connection could hold one.
export AID_PG_PORT=${AID_PG_PORT:-25532} AID_REDIS_PORT=${AID_REDIS_PORT:-26479}
export AID_INTAKE_PORT=${AID_INTAKE_PORT:-5701} AID_BUS_SUB_PORT=${AID_BUS_SUB_PORT:-5702}
export AID_BUS_PUB_PORT=${AID_BUS_PUB_PORT:-5703}
if ! ops/stack.sh up; then
    echo "integration: the stack did not start"; tail -n 30 "$AID_VAR"/log/*.log 2>/dev/null
    echo "integration: 0 passed, 1 failed"
    exit 1
fi
eval "$(ops/stack.sh env)"
export AID_ROOT=$PWD

passed=0 failed=0
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    echo "$(basename "$t"): $p passed, $f failed"
    if [ $rc -ne 0 ]; then printf '%s\n' "$out" | tail -n 30; [ "$f" -eq 0 ] && f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
done

report=$(mktemp)
# shellcheck disable=SC2086 # AID_TESTS is a list of paths
/usr/bin/python3 -m pytest -q -p no:cacheprovider --durations=8 ${AID_TESTS:-tests/integration tests/interop} 2>&1 | tee "$report"
prc=${PIPESTATUS[0]}
p=$(grep -Eo '[0-9]+ passed' "$report" | tail -1 | grep -Eo '[0-9]+' || echo 0)
f=$(grep -Eo '[0-9]+ (failed|error)' "$report" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
rm -f "$report"
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
[ $prc -ne 0 ] && [ "${f:-0}" -eq 0 ] && failed=$((failed + 1))

# Sanitizer reports land in the services' logs (stderr); stop the services
# first so leak reports at exit are written too.
ops/stack.sh down >/dev/null 2>&1 || true
ops/sancheck.sh "$AID_VAR/log" || failed=$((failed + 1))
echo "integration: $passed passed, $failed failed"
[ $failed -eq 0 ]
