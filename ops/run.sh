#!/usr/bin/env bash
# run.sh — `make run`: start the local stack, feed the sample reports through
# the public contract, show what every department decided, then keep serving
# until Ctrl-C, which stops everything that was started (data is kept).
# AID_SAMPLES: the directory of sample reports to feed (default ops/samples).
set -euo pipefail
cd "$(dirname "$0")/.."
export AID_VAR=${AID_VAR:-var}

ops/stack.sh up
eval "$(ops/stack.sh env)"
# Ctrl-C (or SIGTERM): stop the stack and whatever this script still waits on. A
# background child of a script ignores SIGINT, so the idle `sleep` below would
# outlive us: it is killed by its pid.
idle=""
stop() {
    trap '' INT TERM
    echo; echo "stopping…"
    [[ -z $idle ]] || kill "$idle" 2>/dev/null || true
    ops/stack.sh down
    exit 0
}
trap stop INT TERM

echo
samples=${AID_SAMPLES:-ops/samples}
echo "== feeding $samples through the intake API ($AID_INTAKE_API)"
cases=()
for f in "$samples"/*.json; do
    [[ -e $f ]] || continue
    printf '%-40s ' "$(basename "$f")"
    out=$(bin/aidctl --json submit "$f") || { echo "rejected: $out"; continue; }
    case_id=$(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["case_id"])')
    dup=$(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); print("duplicate (already filed)" if r["duplicate"] else "accepted")')
    echo "$dup → $case_id"
    cases+=("$case_id")
done

echo
echo "== waiting for every department to decide"
for c in "${cases[@]}"; do
    for _ in $(seq 1 100); do
        bin/aidctl --json case "$c" | grep -q '"complete": true' && break
        sleep 0.1
    done
    echo
    bin/aidctl case "$c"
done

echo
echo "The system is running. Intake API: $AID_INTAKE_API"
echo "Try: bin/aidctl health · bin/aidctl case <case_id> · bin/aidctl submit FILE.json"
if [ -n "${AID_GATEWAY_URL:-}" ]; then
    echo "Web console: $AID_GATEWAY_URL/ · login: ${AID_ADMIN_USER:-admin} / ${AID_ADMIN_PASSWORD:-(see $AID_VAR/admin.password)}"
fi
echo "Logs: $AID_VAR/log/ · Press Ctrl-C to stop."
while true; do
    sleep 3600 &
    idle=$!
    wait "$idle" || true
done
