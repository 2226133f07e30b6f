#!/usr/bin/env bash
# run-unit.sh — runs each cmocka test binary given as an argument and prints
# one closing line "N passed, N failed" (tests, summed over every binary).
set -uo pipefail
passed=0 failed=0 broken=()
for t in "$@"; do
    out=$("$t" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -E '^\[  (FAILED|PASSED)  \]|^\[  ERROR   \]' | sed "s|^|$(basename "$t"): |"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    passed=$((passed + p)); failed=$((failed + f))
    if [ $rc -ne 0 ]; then
        [ "$f" -eq 0 ] && failed=$((failed + 1))
        broken+=("$(basename "$t")")
        printf '%s\n' "$out" | tail -n 40
    fi
done
echo "unit: $passed passed, $failed failed"
[ ${#broken[@]} -eq 0 ] || { echo "failing: ${broken[*]}"; exit 1; }
