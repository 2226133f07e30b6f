#!/usr/bin/env bash
# ops/sancheck.sh LOGDIR — after a test run on a stack built with SANITIZE=…: exits 1,
# showing the reports, when any log under LOGDIR holds an AddressSanitizer,
# LeakSanitizer or UBSan report (services write them to stderr, which is their log).
# Stop the stack first, so that leak reports written at exit are there too. A run
# without sanitizers has no such lines, so it passes whatever the build.
set -uo pipefail
pattern='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:'
if grep -lE "$pattern" "$1"/*.log 2>/dev/null; then
    echo "sanitizer reports in the logs above:"
    grep -hE -A12 "$pattern" "$1"/*.log | head -n 80
    exit 1
fi
exit 0
