#!/usr/bin/env bash
# timed.sh NAME CMD… — runs CMD and prints "timing: NAME S s" after it, pass or fail,
# so a CI log shows where its minutes went. Exits with CMD's status.
name=$1; shift
start=$(date +%s)
"$@"; rc=$?
echo "timing: $name $(( $(date +%s) - start )) s$([ $rc -ne 0 ] && echo " (exit $rc)")"
exit $rc
