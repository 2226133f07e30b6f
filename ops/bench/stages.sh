#!/usr/bin/env bash
# ops/bench/stages.sh — where the time of `make bench` went, per stage.
#
#   stages.sh start                 before the measured runs (bench.c's BENCH_HOOK):
#                                   every instance's counters (aidctl stats), and
#                                   pg_stat_statements emptied
#   stages.sh end                   after them: the counters again and the statements
#   stages.sh table REPORTS BUSY_S  the per-stage table for REPORTS reports decided
#                                   in BUSY_S seconds of pipeline work
#
# A stage is one service (intake, eligibility, each department; replicas are summed).
# Its database time is that of the statements its own role (aid_intake, aid_civil,
# …) sent, as pg_stat_statements counts them (top level only, so a function and
# what runs inside it are counted once). Needs the stack's environment and
# pg_stat_statements loaded (AID_PG_STATEMENTS=1, bench.sh's default); without it
# the table has the counters only. Files under $AID_VAR/stages/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
dir=${AID_VAR:?}/stages
mkdir -p "$dir"
psqlq() { psql "$AID_PG_DSN" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
has_pgss() { [[ $(psqlq "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'") == 1 ]]; }

# the counters of `aidctl stats`: instance received decided errors queue batches …
counters() { bin/aidctl stats 2>/dev/null | awk 'NR > 1 && NF >= 6 && $2 ~ /^[0-9]+$/ { print $1, $3, $6 }'; }

case ${1:-} in
start)
    counters >"$dir/start.txt"
    if has_pgss; then psqlq "SELECT pg_stat_statements_reset()" >/dev/null; fi
    ;;
end)
    counters >"$dir/end.txt"
    : >"$dir/statements.txt"
    if has_pgss; then
        # role|toplevel|calls|ms|rows|statement (one line, no '|' in it)
        psqlq "SELECT r.rolname, s.toplevel, s.calls, round(s.total_exec_time::numeric, 1), s.rows,
                      left(translate(regexp_replace(s.query, '\s+', ' ', 'g'), '|', '/'), 72)
                 FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                WHERE s.calls > 0" >"$dir/statements.txt"
    fi
    ;;
table)
    reports=${2:?reports} busy=${3:?seconds}
    echo "bench: per stage, over the maximum-rate runs ($reports reports fully decided in $busy s of work;"
    echo "       rows = reports for intake and eligibility, referrals for a department;"
    echo "       pg ms = Postgres execution time of the stage's own statements, per decided report)"
    awk -v reports="$reports" -v busy="$busy" -F'|' '
        function stage(inst) { sub(/\.[0-9]+$/, "", inst); return inst }
        FILENAME ~ /start.txt$/ { split($0, f, " "); s = stage(f[1]); d0[s] += f[2]; b0[s] += f[3]; next }
        FILENAME ~ /end.txt$/ {
            split($0, f, " "); s = stage(f[1]); d1[s] += f[2]; b1[s] += f[3]
            if (!(s in seen)) { seen[s] = 1; order[++n] = s }
            next
        }
        $2 == "t" {
            s = $1; sub(/^aid_/, "", s)
            ms[s] += $4; if ($1 ~ /^aid_/) all += $4
            if ($4 > topms[s]) { topms[s] = $4; top[s] = $6; topcalls[s] = $3 }
        }
        END {
            printf "  %-12s %8s %8s %8s %8s %7s  %s\n", "stage", "txns", "txn/s", "rows", "rows/txn",
                   "pg ms", "top statement (pg ms per report, calls)"
            for (i = 1; i <= n; i++) {
                s = order[i]; t = b1[s] - b0[s]; r = d1[s] - d0[s]
                if (t <= 0 && ms[s] == 0) continue
                printf "  %-12s %8d %8.0f %8d %8.1f %7.3f  %s\n", s, t, t / busy, r,
                       (t > 0 ? r / t : 0), ms[s] / reports,
                       ((s in top) ? sprintf("%.3f %d  %s", topms[s] / reports, topcalls[s], top[s]) : "-")
            }
            printf "  %-12s %8s %8s %8s %8s %7.3f\n", "all", "", "", "", "", all / reports
        }' "$dir/start.txt" "$dir/end.txt" "$dir/statements.txt"
    if [[ -s $dir/statements.txt ]]; then
        echo
        echo "bench: top statements (pg_stat_statements, nested ones too: a function's statements"
        echo "       are inside its own time), ms per decided report"
        # awk, not head, takes the first 12: nothing upstream dies of SIGPIPE (pipefail)
        { grep '^aid_' "$dir/statements.txt" || true; } | sort -t'|' -k4,4 -g -r |
            awk -F'|' -v reports="$reports" '
                BEGIN { printf "  %-16s %3s %8s %9s %9s  %s\n", "role", "top", "calls", "rows/call", "ms/report", "statement" }
                NR <= 12 { printf "  %-16s %3s %8d %9.1f %9.3f  %s\n", $1, $2, $3, ($3 ? $5 / $3 : 0), $4 / reports, $6 }'
    fi
    ;;
*)
    echo "usage: stages.sh start|end|table REPORTS BUSY_S" >&2
    exit 2
    ;;
esac
