#!/usr/bin/env bash
# ops/bench/stages.sh — where the time of `make bench` went, per stage.
#
#   stages.sh start                 before the measured runs (bench.c's BENCH_HOOK):
#                                   every instance's counters (aidctl stats)
#   stages.sh open | close          around each measured run: open before its first
#                                   send, close once its every report is decided
#                                   (before the bench confirms them with case.get):
#                                   CPU times and pg_stat_statements at both ends
#   stages.sh end                   after them: the counters again
#   stages.sh table REPORTS BUSY_S  the per-stage table for REPORTS reports decided
#                                   in BUSY_S seconds of pipeline work
#
# A stage is one service (intake, eligibility, each department; replicas are summed).
# Its database time is that of the statements its own role (aid_intake, aid_civil,
# …) sent, as pg_stat_statements counts them (top level only, so a function and
# what runs inside it are counted once). Needs the stack's environment and
# pg_stat_statements loaded (AID_PG_STATEMENTS=1, bench.sh's default); without it
# the table has the counters only. Files under $AID_VAR/stages/.
#
# CPU time and statements are summed over the runs' windows only: what the
# pipeline does while reports flow through it, not the bench's own confirmations
# afterwards nor the idle seconds between runs. What a run leaves behind (the
# benefits sweep starting the entitlements of its last decisions) falls partly
# outside its window.
#
# Its CPU time ("cpu ms", from /proc: user + system time of the service's
# processes and of the Postgres backends of its role, per decided report) is the
# figure the neighbours on a shared machine disturb least: pg_stat_statements
# counts wall-clock time, waiting for a CPU included. The last lines add what no
# stage owns: the bus, Redis, the gateway, Postgres's own processes (WAL writer,
# checkpointer, autovacuum, the backends that ended meanwhile) and the bench
# client itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
dir=${AID_VAR:?}/stages
mkdir -p "$dir"
psqlq() { psql "$AID_PG_DSN" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
has_pgss() { [[ $(psqlq "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'") == 1 ]]; }

# CPU ticks (user + system, /proc/PID/stat) per process, one "group ticks pid"
# line each: our services by their pid files, Postgres backends by role
# (aid_civil -> pg:civil), Postgres's other processes (the postmaster with the
# children it reaped) as pg:other, and the bench client (the hook's parent) as
# bench; the groups are summed by the table.
ticks_of() { # PID [1: with the children it reaped]
    local f reaped=${2:-0}
    f=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    set -- ${f##*) } # $1 is field 3 (state): utime is field 14, so ${12}
    if [[ $reaped == 1 ]]; then echo $((${12} + ${13} + ${14} + ${15})); else echo $((${12} + ${13})); fi
}
cpu_snapshot() {
    local f name pm pid args
    for f in "$AID_VAR"/run/*.pid; do
        name=$(basename "$f" .pid)
        [[ $name == redis ]] || name=${name%%.*}
        pid=$(cat "$f" 2>/dev/null) && echo "$name $(ticks_of "$pid") $pid"
    done
    pm=$(head -n1 "$AID_VAR/pg/data/postmaster.pid" 2>/dev/null) || pm=
    if [[ -n $pm ]]; then
        echo "pg:other $(ticks_of "$pm" 1) $pm"
        for pid in $(pgrep -P "$pm"); do
            args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
            if [[ $args =~ ^postgres:\ aid_([a-z_]+)\  ]]; then
                echo "pg:${BASH_REMATCH[1]} $(ticks_of "$pid") $pid"
            else
                echo "pg:other $(ticks_of "$pid") $pid"
            fi
        done
    fi
    # the hook runs under system(): sh -c, or exec'd by it
    pid=$PPID
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == bench ]] ||
        pid=$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == bench ]] && echo "bench $(ticks_of "$pid") $pid"
    echo "wall_ms $(date +%s%3N) 0"
}

# the counters of `aidctl stats`: instance received decided errors queue batches …
counters() { bin/aidctl stats 2>/dev/null | awk 'NR > 1 && NF >= 6 && $2 ~ /^[0-9]+$/ { print $1, $3, $6 }'; }

# role|toplevel|queryid|calls|ms|rows|statement (one line, no '|' in it)
statements() {
    psqlq "SELECT r.rolname, s.toplevel, s.queryid, s.calls, round(s.total_exec_time::numeric, 3),
                  s.rows, left(translate(regexp_replace(s.query, '\s+', ' ', 'g'), '|', '/'), 72)
             FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
            WHERE s.calls > 0"
}

case ${1:-} in
start)
    rm -f "$dir"/cpu_open.* "$dir"/cpu_close.* "$dir"/st_open.* "$dir"/st_close.*
    counters >"$dir/start.txt"
    ;;
open | close)
    n=$(find "$dir" -name "cpu_$1.*" | wc -l)
    n=$((n + 1))
    cpu_snapshot >"$dir/cpu_$1.$n"
    if has_pgss; then statements >"$dir/st_$1.$n"; else : >"$dir/st_$1.$n"; fi
    ;;
end)
    counters >"$dir/end.txt"
    # the statements of the windows: close minus open, summed
    awk -F'|' 'FNR == 1 { sign = (FILENAME ~ /st_close/ ? 1 : -1) }
        { k = $1 "|" $2 "|" $3; calls[k] += sign * $4; ms[k] += sign * $5; rows[k] += sign * $6
          if (!(k in q)) q[k] = $7 }
        END { for (k in q) if (calls[k] > 0) { split(k, f, "|")
                  printf "%s|%s|%d|%.1f|%d|%s\n", f[1], f[2], calls[k], ms[k], rows[k], q[k] } }' \
        "$dir"/st_open.* "$dir"/st_close.* >"$dir/statements.txt" 2>/dev/null || : >"$dir/statements.txt"
    ;;
table)
    reports=${2:?reports} busy=${3:?seconds}
    hz=$(getconf CLK_TCK)
    # "group ms" of CPU inside the windows: per process, close minus open (a process
    # started inside a window counts from zero; one ended inside it is lost, except
    # Postgres backends, which the postmaster reaps: pg:other)
    awk -v hz="$hz" '{ n = FILENAME; sub(/.*\./, "", n); k = n " " $1 " " $3 }
        FILENAME ~ /cpu_open/ { a[k] = $2; next }
        { d = $2 - (k in a ? a[k] : ($1 == "wall_ms" ? $2 : 0)); b[$1] += d }
        END { for (g in b) printf "%s %.1f\n", g, b[g] * (g == "wall_ms" ? 1 : 1000 / hz) }' \
        "$dir"/cpu_open.* "$dir"/cpu_close.* >"$dir/cpu.txt" 2>/dev/null || : >"$dir/cpu.txt"
    echo "bench: per stage, over the maximum-rate runs ($reports reports fully decided in $busy s of work;"
    echo "       rows = reports for intake and eligibility, referrals for a department;"
    echo "       cpu ms = CPU time of the stage's processes and its Postgres backends, per decided report;"
    echo "       pg ms = Postgres execution time of the stage's own statements, per decided report)"
    awk -v reports="$reports" -v busy="$busy" -F'|' '
        function stage(inst) { sub(/\.[0-9]+$/, "", inst); return inst }
        FILENAME ~ /cpu.txt$/ {
            split($0, f, " "); g = f[1]
            if (g == "wall_ms") { wall_ms = f[2]; next }
            cpu_all += f[2]
            if (g ~ /^pg:/) { sub(/^pg:/, "", g); if (g == "other") other["postgres (own processes)"] += f[2]; else pgcpu[g] += f[2] }
            else svccpu[g] += f[2]
            next
        }
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
            printf "  %-12s %8s %8s %8s %8s %7s %7s %7s  %s\n", "stage", "txns", "txn/s", "rows", "rows/txn",
                   "cpu ms", "(in pg)", "pg ms", "top statement (pg ms per report, calls)"
            for (i = 1; i <= n; i++) {
                s = order[i]; t = b1[s] - b0[s]; r = d1[s] - d0[s]
                if (t <= 0 && ms[s] == 0) continue
                c = svccpu[s] + pgcpu[s]; cpu_stages += c; pg_stages += pgcpu[s]; seen_cpu[s] = 1
                printf "  %-12s %8d %8.0f %8d %8.1f %7.3f %7.3f %7.3f  %s\n", s, t, t / busy, r,
                       (t > 0 ? r / t : 0), c / reports, pgcpu[s] / reports, ms[s] / reports,
                       ((s in top) ? sprintf("%.3f %d  %s", topms[s] / reports, topcalls[s], top[s]) : "-")
            }
            printf "  %-12s %8s %8s %8s %8s %7.3f %7.3f %7.3f\n", "all", "", "", "", "", cpu_stages / reports,
                   pg_stages / reports, all / reports
            if (cpu_all > 0) {
                line = ""
                for (g in svccpu) if (!(g in seen_cpu)) other[g] += svccpu[g]
                for (g in pgcpu) if (!(g in seen_cpu)) other["postgres " g] += pgcpu[g]
                for (g in other) line = line sprintf("%s%s %.3f", line == "" ? "" : ", ", g, other[g] / reports)
                printf "  cpu ms per decided report outside the stages: %s\n", line
                printf "  cpu ms per decided report, every process: %.3f (%.2f of the machine'"'"'s cores busy with them over %.1f s)\n",
                       cpu_all / reports, (wall_ms > 0 ? cpu_all / wall_ms : 0), wall_ms / 1000
            }
        }' "$dir/cpu.txt" "$dir/start.txt" "$dir/end.txt" "$dir/statements.txt"
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
