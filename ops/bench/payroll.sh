#!/usr/bin/env bash
# ops/bench/payroll.sh — `make bench-payroll` (run by `ops/bench/bench.sh payroll` on its
# fresh stack, its environment exported): BENCH_PAYROLL_N (default 200000) active
# entitlements in one township — three households in four with a dibao allowance, every
# third also a supplement — each household with a payee (one account sealed by the
# service through `aidctl payee set`, its sealed row copied to the others), then the
# month's payroll through aidctl as a county office runs it: `payroll run`, `payroll
# approve` (a second person), `payroll file --out` (the bank's CSV, checked against the
# control totals). Timed: the run plus the file. Last line, exactly:
#   payroll: entitlements=N lines=N seconds=S
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
N=${BENCH_PAYROLL_N:-200000}
TOWN=520123777
psqlq() { psql "$AID_PG_DSN" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
households=$(((N * 3 + 3) / 4))
echo "bench-payroll: seeding $N entitlements of $households households"
psqlq "BEGIN;
CREATE TEMP TABLE bc AS WITH c AS (INSERT INTO cases (township)
  SELECT '$TOWN' FROM generate_series(1, $households) RETURNING case_id) SELECT case_id FROM c;
INSERT INTO entitlements (case_id, subject, kind, amount_fen, first_month, referral_id,
                          report_id, rules)
  SELECT case_id, int8send(case_id), 'dibao_allowance', 10000 + case_id % 60000, '2026-01-01',
         0, 0, '{R-DIBAO-GRANT}' FROM bc;
INSERT INTO entitlements (case_id, subject, kind, amount_fen, first_month, referral_id,
                          report_id, rules)
  SELECT case_id, int8send(-case_id), 'dibao_supplement', 14100, '2026-01-01', 0, 0,
         '{R-DIBAO-SUP-B}' FROM (SELECT case_id FROM bc ORDER BY case_id LIMIT $N - $households) s;
COMMIT;
ANALYZE cases; ANALYZE entitlements;" >/dev/null
first=$(psqlq "SELECT min(case_id) FROM cases WHERE township = '$TOWN'")
ctl() { bin/aidctl --timeout 600000 "$@"; }
echo 6222000011112222 | ctl payee set "case-$first" 520123195803140029 农村信用社 bench >/dev/null
psqlq "INSERT INTO payees (case_id, holder_hash, holder_enc, bank, account_enc, account_last4,
                           set_by, request_id)
       SELECT c.case_id, p.holder_hash, p.holder_enc, p.bank, p.account_enc, p.account_last4,
              p.set_by, p.request_id
         FROM cases c CROSS JOIN (SELECT * FROM payees WHERE case_id = $first) p
        WHERE c.township = '$TOWN' AND c.case_id <> $first; ANALYZE payees;" >/dev/null
ents=$(psqlq "SELECT count(*) FROM entitlements e JOIN cases c USING (case_id)
              WHERE c.township = '$TOWN'")
start=$(date +%s.%N)
out=$(ctl payroll run 2026-12 bench-maker "$TOWN")
echo "  $out"
run=$(sed -n 's/^run \([0-9]*\):.*/\1/p' <<<"$out")
[[ -n $run ]] || { echo "bench-payroll: no run" >&2; exit 1; }
mid=$(date +%s.%N)
echo "  $(ctl payroll approve "$run" bench-checker)"
file=$AID_VAR/bank-$run.csv
echo "  $(ctl payroll file "$run" --out "$file")"
end=$(date +%s.%N)
lines=$(($(wc -l <"$file") - 1))
awk -v a="$start" -v b="$mid" -v c="$end" 'BEGIN { printf "  run %.1f s, approve and file %.1f s\n", b - a, c - b }'
secs=$(awk -v a="$start" -v c="$end" 'BEGIN { printf "%.1f", c - a }')
echo "payroll: entitlements=$ents lines=$lines seconds=$secs"
