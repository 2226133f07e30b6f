#!/usr/bin/env bash
# ops/stack.sh — the private local stack: a PostgreSQL 15 cluster, a Redis server and
# the services (bin/<name>), all under $AID_VAR (default ./var), on loopback ports that
# are chosen once and kept in $AID_VAR/ports.env. See ops/README.md.
#
#   ops/stack.sh up | down | status | env
#   ops/stack.sh start-service NAME | restart-service NAME | kill-service NAME
#   ops/stack.sh pg-stop | pg-start | redis-stop | redis-start | pg-bin
#
# NAME is a service (all its instances) or one replica such as housing.2.
# Works as root (Postgres then runs as the `postgres` user via runuser) and as a normal
# user (everything runs as that user). Every wait is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

SERVICES=(bus intake eligibility triggers supervision decisions civil tempaid medical education housing employment relief social care departments benefits casework gateway)
# the built-in departments; care also serves operations of its own, and so runs also
# while the departments host decides for it (AID_DEPARTMENTS_HOST=1)
DEPARTMENTS=" civil tempaid medical education housing employment relief social care "
OWNING_DEPARTMENTS=" care "
PORT_KEYS=(PG REDIS INTAKE BUS_SUB BUS_PUB)
declare -A PORT_BASE=([PG]=25432 [REDIS]=26379 [INTAKE]=5601 [BUS_SUB]=5602 [BUS_PUB]=5603)
declare -A PORT=()
PORT_SCAN_LIMIT=200          # how far above a base port we look for a free one
SVC_STOP_TENTHS=50           # SIGTERM grace for services: 5 s
SVC_ALIVE_TENTHS=100         # max wait for started services to come up: 10 s

note() { printf 'stack.sh: %s\n' "$*" >&2; }
die() { printf 'stack.sh: error: %s\n' "$*" >&2; exit 1; }
is_root() { [[ $EUID -eq 0 ]]; }

# ---------------------------------------------------------------- paths and tools
var_raw=${AID_VAR:-var}
[[ $var_raw == /* ]] || var_raw="$ROOT/$var_raw"
VAR=$(realpath -m -- "$var_raw")
RUN=$VAR/run
LOG=$VAR/log
PGDIR=$VAR/pg
PGDATA=$PGDIR/data
PGSOCK=$RUN/pg
PGLOG=$LOG/postgres.log
REDISDIR=$VAR/redis
REDIS_CONF=$REDISDIR/redis.conf
REDIS_PIDF=$RUN/redis.pid
REDIS_LOG=$LOG/redis.log
PORTS_ENV=$VAR/ports.env
STACK_ENV=$VAR/stack.env
MIGRATIONS_DIR=${AID_MIGRATIONS_DIR:-$ROOT/ops/migrations}
SQL_DIR=${AID_SQL_DIR:-$ROOT/ops/sql}
# Postgres passwords, generated once: one libpq password file per role (mode 600), named
# by the DSNs with passfile= (ops/SECURITY.md "Postgres roles and the audit trail").
PGPASS_DIR=$VAR/pgpass
BIN=$ROOT/bin

find_pgbin() {
    if [[ -n ${AID_PG_BIN:-} ]]; then echo "$AID_PG_BIN"; return; fi
    if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then echo /usr/lib/postgresql/15/bin; return; fi
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
    if [[ -n $d && -x $d/initdb ]]; then echo "$d"; return; fi
    d=$(command -v initdb 2>/dev/null || true)
    [[ -n $d ]] && { dirname "$d"; return; }
    echo ""
}
PGBIN=$(find_pgbin)
REDIS_SERVER=${AID_REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
REDIS_CLI=${AID_REDIS_CLI:-$(command -v redis-cli || echo /usr/bin/redis-cli)}

need_pg_tools() {
    [[ -n $PGBIN && -x $PGBIN/initdb && -x $PGBIN/pg_ctl && -x $PGBIN/psql ]] ||
        die "PostgreSQL server binaries not found (apt-get install postgresql, or set AID_PG_BIN)"
}
need_redis_tools() {
    [[ -x $REDIS_SERVER && -x $REDIS_CLI ]] ||
        die "redis-server/redis-cli not found (apt-get install redis-server)"
}

# ---------------------------------------------------------------- processes
# proc_alive PID: the process exists and is not a zombie (zombies are not reaped here).
proc_alive() {
    local pid=$1 stat state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    state=${stat##*) }
    state=${state%% *}
    [[ $state != Z && $state != X && $state != x ]]
}
proc_comm() { cat "/proc/$1/comm" 2>/dev/null || true; }
# proc_has_arg PID PATH: one of the process's arguments is PATH (a script's path is
# argv[1], a binary's argv[0]).
proc_has_arg() {
    local args a
    args=$(tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline") || return 1
    while IFS= read -r a; do [[ $a == "$2" ]] && return 0; done <<<"$args"
    return 1
}
read_pidfile() {
    local p=""
    if [[ -r $1 ]]; then IFS= read -r p <"$1" 2>/dev/null || true; fi
    echo "${p//[^0-9]/}"
}
# wait_dead PID TENTHS: 0 once the process is gone (or a zombie), 1 on time-out.
wait_dead() {
    local i
    for ((i = 0; i < $2; i++)); do
        proc_alive "$1" || return 0
        sleep 0.1
    done
    ! proc_alive "$1"
}

# close_extra_fds: in a subshell about to exec a daemon, close every fd above 2, so
# that no daemon keeps a caller's pipe (make, CI) or our lock open.
close_extra_fds() {
    local fd
    for fd in /proc/"$BASHPID"/fd/*; do
        fd=${fd##*/}
        [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)) || continue
        { exec {fd}>&-; } 2>/dev/null || true # group: the 2> is not made permanent
    done
}

# ---------------------------------------------------------------- locking
# Mutating commands are serialised on $VAR/.lock (fd 9). Every daemon is started with
# fd 9 closed so that it never holds the lock.
LOCKED=0
take_lock() {
    ((LOCKED)) && return 0
    mkdir -p "$VAR"
    exec 9>>"$VAR/.lock"
    flock -w 120 9 || die "another ops/stack.sh holds $VAR/.lock for over 120 s"
    LOCKED=1
}

# ---------------------------------------------------------------- ports
listening_ports() {
    if command -v ss >/dev/null 2>&1; then
        ss -ltnH 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -un
    else
        local f _ local_addr st
        for f in /proc/net/tcp /proc/net/tcp6; do
            [[ -r $f ]] || continue
            while read -r _ local_addr _ st _; do
                [[ $st == 0A ]] && echo $((16#${local_addr##*:}))
            done < <(tail -n +2 "$f")
        done | sort -un
    fi
}
port_in_use() { grep -qx "$1" <<<"$(listening_ports)"; }

load_ports() {
    [[ -f $PORTS_ENV ]] || return 1
    local line k v
    while IFS= read -r line; do
        [[ $line =~ ^AID_([A-Z0-9_]+)_PORT=([0-9]+)$ ]] || continue
        k=${BASH_REMATCH[1]} v=${BASH_REMATCH[2]}
        PORT[$k]=$v
    done <"$PORTS_ENV"
    for k in "${PORT_KEYS[@]}"; do
        [[ -n ${PORT[$k]:-} ]] || die "$PORTS_ENV lacks AID_${k}_PORT; stop the stack and delete it to re-choose"
    done
}

# choose_ports: on first up, pick each port (env override or first free from the base)
# and persist them; afterwards always reuse the persisted ones.
choose_ports() {
    local k v used
    if load_ports; then
        for k in "${PORT_KEYS[@]}"; do
            v=$(printenv "AID_${k}_PORT" || true)
            if [[ -n $v && $v != "${PORT[$k]}" ]]; then
                note "ignoring AID_${k}_PORT=$v: ports are fixed in $PORTS_ENV (AID_${k}_PORT=${PORT[$k]}); run 'down' and delete that file to choose again"
            fi
        done
        return 0
    fi
    if pg_pid >/dev/null || redis_pid >/dev/null; then
        die "$PORTS_ENV is missing but Postgres or Redis of this stack runs; run 'ops/stack.sh down' first"
    fi
    used=" $(listening_ports | tr '\n' ' ') "
    for k in "${PORT_KEYS[@]}"; do
        v=$(printenv "AID_${k}_PORT" || true)
        if [[ -n $v ]]; then
            [[ $v =~ ^[0-9]+$ ]] && ((v >= 1024 && v <= 65535)) || die "AID_${k}_PORT=$v is not a port in 1024..65535"
            [[ $used == *" $v "* ]] && die "AID_${k}_PORT=$v is already in use (or chosen twice)"
        else
            local p=${PORT_BASE[$k]} limit=$((PORT_BASE[$k] + PORT_SCAN_LIMIT))
            while [[ $used == *" $p "* ]]; do
                p=$((p + 1))
                ((p < limit && p <= 65535)) || die "no free port in ${PORT_BASE[$k]}..$limit for $k"
            done
            v=$p
        fi
        PORT[$k]=$v
        used+="$v "
    done
    {
        echo "# chosen by ops/stack.sh on first up; reused forever. Delete (with the stack down) to re-choose."
        for k in "${PORT_KEYS[@]}"; do echo "AID_${k}_PORT=${PORT[$k]}"; done
    } >"$PORTS_ENV.tmp"
    mv -f "$PORTS_ENV.tmp" "$PORTS_ENV"
    note "ports chosen (kept in $PORTS_ENV): $(grep -v '^#' "$PORTS_ENV" | tr '\n' ' ')"
}

# ---------------------------------------------------------------- Postgres
# The cluster runs as the owner of $PGDATA; as root a new cluster belongs to `postgres`.
pg_user() {
    if [[ -d $PGDATA ]]; then
        stat -c %U "$PGDATA"
    elif is_root; then
        echo postgres
    else
        id -un
    fi
}
as_pg() {
    local u
    u=$(pg_user)
    if is_root; then
        [[ $u != root ]] || die "$PGDATA is owned by root; Postgres cannot run as root"
        (close_extra_fds && cd "$VAR" && exec runuser -u "$u" -- "$@")
    else
        [[ $u == "$(id -un)" ]] || die "$PGDATA belongs to $u: run this as root or as $u"
        (close_extra_fds && cd "$VAR" && exec "$@")
    fi
}

# ensure_reachable DIR: as root, make sure the Postgres user can traverse every
# component of DIR (the repo may sit under e.g. /root, mode 700): missing search
# bits for others are added (chmod o+x: enter only, not list) and reported.
ensure_reachable() {
    is_root || return 0
    local u dir=$1 p="" part
    u=$(pg_user)
    runuser -u "$u" -- test -x "$dir" 2>/dev/null && return 0
    IFS=/ read -ra parts <<<"${dir#/}"
    for part in "${parts[@]}"; do
        p="$p/$part"
        [[ -d $p ]] || break
        if ! runuser -u "$u" -- test -x "$p" 2>/dev/null; then
            chmod o+x "$p"
            note "chmod o+x $p (so that $u can reach $dir)"
        fi
    done
    runuser -u "$u" -- test -x "$dir" 2>/dev/null || die "user $u cannot reach $dir"
}

# pg_pid: print the postmaster pid if this cluster's postmaster is alive.
pg_pid() {
    local pid cwd
    pid=$(read_pidfile "$PGDATA/postmaster.pid")
    [[ -n $pid ]] && proc_alive "$pid" && [[ $(proc_comm "$pid") == postgres* ]] || return 1
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
    [[ -z $cwd || $cwd == "$(realpath -m "$PGDATA")" ]] || return 1
    echo "$pid"
}

# A killed postmaster (possibly a zombie) leaves postmaster.pid and socket lock files
# behind, which Postgres would take as a live server; remove them when it is dead.
pg_clean_stale() {
    pg_pid >/dev/null && return 0
    if [[ -e $PGDATA/postmaster.pid ]]; then
        note "removing stale $PGDATA/postmaster.pid"
        rm -f "$PGDATA/postmaster.pid"
    fi
    rm -f "$PGSOCK"/.s.PGSQL.* 2>/dev/null || true
}

pg_prepare_dirs() {
    local u
    u=$(pg_user)
    mkdir -p "$RUN" "$LOG" "$PGDIR" "$PGSOCK"
    touch "$PGLOG"
    if is_root; then
        id -u "$u" >/dev/null 2>&1 || die "system user $u does not exist (apt-get install postgresql creates it)"
        chown "$u:" "$PGDIR" "$PGSOCK" "$PGLOG"
    fi
    chmod 700 "$PGDIR" "$PGSOCK"
    ensure_reachable "$PGDIR"
    ensure_reachable "$PGSOCK"
    ensure_reachable "$LOG"
}

pg_init() {
    [[ -f $PGDATA/PG_VERSION ]] && return 0
    [[ -e $PGDATA ]] && die "$PGDATA exists but is not a cluster; move it away"
    note "initdb $PGDATA (log: $LOG/initdb.log)"
    rm -rf "$PGDIR/data.init"
    # initdb into a side directory and rename, so a half-made cluster is never used.
    as_pg "$PGBIN/initdb" -D "$PGDIR/data.init" -U postgres -A trust -E UTF8 --no-locale \
        --data-checksums >>"$LOG/initdb.log" 2>&1 9>&- ||
        die "initdb failed, see $LOG/initdb.log"
    mv "$PGDIR/data.init" "$PGDATA"
    rm -f "$PGPASS_DIR/postgres" # a new cluster: its owner gets a new password
}

# ---------------------------------------------------------------- Postgres roles
# The service roles of 040_roles.sql. Each gets LOGIN and a password generated once
# into $PGPASS_DIR/<role> (a libpq password file, mode 600, never in the repo); the
# owner `postgres` too, for the tests and ops scripts (stack.env's AID_PG_DSN).
PG_ROLES=(aid_intake aid_eligibility aid_triggers aid_gateway aid_operator aid_civil aid_tempaid
    aid_medical aid_education aid_housing aid_employment aid_relief aid_social aid_care
    aid_supervision aid_decisions aid_benefits aid_casework aid_departments)
# pg_role_of SERVICE: the role a service connects as ("" for the bus: no database).
pg_role_of() {
    case $1 in
    bus) echo "" ;;
    *) echo "aid_$1" ;;
    esac
}
# role_dsn ROLE: the libpq connection string of ROLE on this stack.
role_dsn() {
    echo "host=127.0.0.1 port=${PORT[PG]} dbname=aid user=$1 passfile=$PGPASS_DIR/$1 connect_timeout=3"
}
# pw_ensure ROLE: $PGPASS_DIR/ROLE holds "*:*:*:ROLE:<password>"; 0 if it was made now.
pw_ensure() {
    local f=$PGPASS_DIR/$1
    [[ -s $f ]] && return 1
    (umask 077 && mkdir -p "$PGPASS_DIR" &&
        printf '*:*:*:%s:%s\n' "$1" "$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')" >"$f.tmp")
    mv -f "$f.tmp" "$f"
    return 0
}
pw_of() { local l; l=$(<"$PGPASS_DIR/$1"); echo "${l##*:}"; }
# pg_owner_password: on a cluster whose owner has no password yet (new, or made before
# roles existed), set one while TCP still trusts the owner, then require it.
pg_owner_password() {
    [[ -s $PGPASS_DIR/postgres ]] && return 0
    pw_ensure postgres || true
    printf "ALTER ROLE postgres PASSWORD '%s';\n" "$(pw_of postgres)" |
        psql_db postgres -v ON_ERROR_STOP=1 -f - >/dev/null ||
        { rm -f "$PGPASS_DIR/postgres"; die "cannot set the password of the Postgres owner"; }
    pg_configure
    psql_db postgres -tAc 'SELECT pg_reload_conf()' >/dev/null || die "cannot reload pg_hba.conf"
    note "Postgres owner password set (in $PGPASS_DIR/postgres); TCP logins need passwords now"
}
# pg_roles_login: every service role can log in with its own password (after migrate).
pg_roles_login() {
    local r sql=""
    for r in "${PG_ROLES[@]}"; do
        pw_ensure "$r" || true
        sql+="ALTER ROLE $r LOGIN PASSWORD '$(pw_of "$r")';"$'\n'
    done
    printf '%s' "$sql" | psql_db aid -v ON_ERROR_STOP=1 -f - >/dev/null ||
        die "cannot give the service roles their passwords (migration 040_roles.sql applied?)"
}

sql_quote() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }

pg_configure() {
    local sockdirs conf
    sockdirs=$PGSOCK
    # sun_path holds 107 bytes; a deep repo path would make Postgres refuse to start.
    if (($(printf '%s/.s.PGSQL.%s' "$PGSOCK" "${PORT[PG]}" | wc -c) > 100)); then
        note "$PGSOCK is too long for a Unix socket path; Postgres listens on TCP only"
        sockdirs=""
    fi
    conf=$(
        cat <<EOF
# Generated by ops/stack.sh on every up/pg-start: edit the script, not this file.
# A private dev/test cluster. Durability stays on: fsync, synchronous_commit, full pages.
listen_addresses = '127.0.0.1'
password_encryption = 'scram-sha-256'
port = ${PORT[PG]}
unix_socket_directories = $(sql_quote "$sockdirs")
unix_socket_permissions = 0700
max_connections = 200
fsync = on
synchronous_commit = on
full_page_writes = on
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] %q%u@%d '
# the work queues (022_queues.sql) churn: vacuum and analyze come round often
autovacuum_naptime = 5s
# short keyed statements: compiling them (JIT) costs more than it saves
jit = off
# Memory for the working set (a make bench database is ~250 MB): with the
# default 128 MB, backends evict dirty pages themselves on the hot path.
# Checkpoints by time, not forced every 1 GB of WAL in the middle of a burst.
shared_buffers = ${AID_PG_SHARED_BUFFERS:-512MB}
max_wal_size = 4GB
EOF
        # AID_PG_STATEMENTS=1: per-statement counters (pg_stat_statements), for profiling
        if [[ ${AID_PG_STATEMENTS:-0} == 1 ]]; then
            echo "shared_preload_libraries = 'pg_stat_statements'"
            echo "pg_stat_statements.track = all"
        fi
    )
    printf '%s\n' "$conf" >"$PGDATA/aid.conf"
    # Every role logs in with its password (scram-sha-256) over TCP; only the owner is
    # trusted, and only on the private Unix socket directory (mode 0700). The owner's
    # TCP login is trusted just until its generated password is set (pg_owner_password).
    local owner_tcp=scram-sha-256
    [[ -s $PGPASS_DIR/postgres ]] || owner_tcp=trust
    cat >"$PGDATA/pg_hba.conf" <<EOF
# Generated by ops/stack.sh. Passwords (scram-sha-256) for every role over TCP;
# the owner is trusted on the private Unix socket directory (mode 0700) only.
# TYPE  DATABASE  USER      ADDRESS       METHOD
local   all       postgres                trust
local   all       all                     scram-sha-256
host    all       postgres  127.0.0.1/32  $owner_tcp
host    all       all       127.0.0.1/32  scram-sha-256
EOF
    grep -qxF "include_if_exists = 'aid.conf'" "$PGDATA/postgresql.conf" ||
        printf "\n# ops/stack.sh settings (last, so they win)\ninclude_if_exists = 'aid.conf'\n" >>"$PGDATA/postgresql.conf"
    if is_root; then chown "$(pg_user):" "$PGDATA/aid.conf" "$PGDATA/pg_hba.conf" "$PGDATA/postgresql.conf"; fi
    chmod 600 "$PGDATA/aid.conf" "$PGDATA/pg_hba.conf"
}

psql_db() { # DB ARGS...: psql over TCP as postgres, no psqlrc
    local db=$1
    shift
    PGPASSFILE=$PGPASS_DIR/postgres PGCONNECT_TIMEOUT=5 "$PGBIN/psql" -X -q -h 127.0.0.1 -p "${PORT[PG]}" -U postgres -d "$db" "$@"
}

pg_wait_ready() {
    local i
    for ((i = 0; i < 300; i++)); do
        psql_db postgres -tAc 'SELECT 1' >/dev/null 2>&1 && return 0
        pg_pid >/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# pg_start: init if needed, (re)write the config, start if not running. Prints state.
pg_start() {
    need_pg_tools
    local state=running pid
    pg_prepare_dirs
    pg_init
    pg_configure
    if ! pg_pid >/dev/null; then
        pg_clean_stale
        port_in_use "${PORT[PG]}" &&
            die "Postgres port ${PORT[PG]} (from $PORTS_ENV) is used by another process"
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 -s start </dev/null >/dev/null 9>&- ||
            die "Postgres did not start; see $PGLOG"
        state=started
    fi
    pg_wait_ready || die "Postgres is not accepting connections on 127.0.0.1:${PORT[PG]}; see $PGLOG"
    pg_owner_password
    if [[ $(psql_db postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'aid'") != 1 ]]; then
        psql_db postgres -v ON_ERROR_STOP=1 -c 'CREATE DATABASE aid' >/dev/null
        note "created database aid"
    fi
    pid=$(pg_pid || echo '?')
    printf '%-14s %-8s %-8s 127.0.0.1:%s\n' postgres "$pid" "$state" "${PORT[PG]}"
}

pg_stop() {
    need_pg_tools
    local pid
    if ! pid=$(pg_pid); then
        [[ -d $PGDATA ]] && pg_clean_stale
        return 0
    fi
    if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 30 -s stop </dev/null >/dev/null 9>&-; then
        note "fast shutdown timed out; using immediate shutdown (WAL recovery on next start)"
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 15 -s stop </dev/null >/dev/null 9>&- || true
    fi
    if ! wait_dead "$pid" 50; then
        kill -KILL "$pid" 2>/dev/null || true
        wait_dead "$pid" 20 || die "postgres $pid does not stop"
    fi
    pg_clean_stale
    printf '%-14s %-8s %s\n' postgres "$pid" stopped
}

# migrate: apply every $MIGRATIONS_DIR/*.sql (name order) not yet in schema_migrations,
# each file and its schema_migrations row in one transaction; then the functions by
# domain (sql_apply).
migrate() {
    local f name applied n=0
    psql_db aid -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning;
        CREATE TABLE IF NOT EXISTS schema_migrations (
            name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())" >/dev/null ||
        die "cannot create schema_migrations"
    applied=$(psql_db aid -tA -c 'SELECT name FROM schema_migrations')
    [[ -d $MIGRATIONS_DIR ]] || { note "no migrations directory $MIGRATIONS_DIR"; return 0; }
    while IFS= read -r -d '' f; do
        name=$(basename "$f")
        grep -qxF -- "$name" <<<"$applied" && continue
        note "applying migration $name"
        printf '%s\n' "INSERT INTO schema_migrations (name) VALUES (:'aid_migration');" |
            psql_db aid -v ON_ERROR_STOP=1 -v aid_migration="$name" -1 -f "$f" -f - >/dev/null ||
            die "migration $name failed and was rolled back"
        n=$((n + 1))
    done < <(find "$MIGRATIONS_DIR" -maxdepth 1 -type f -name '*.sql' -print0 | LC_ALL=C sort -z)
    ((n == 0)) || note "applied $n migration(s)"
    sql_apply $((n > 0))
}

# sql_apply FORCE: the functions by domain, $SQL_DIR/*.sql (ops/sql/README.md), in
# name order, each file with its row in schema_functions (its sha256) in one
# transaction — only the files that changed since they were last applied, or all of
# them when FORCE (a migration ran now). Re-creating a trigger or a policy takes a
# lock on its table, so an unchanged file is not applied while the services run
# (`up` after a crash), and a deadlock or lock timeout with them is tried again.
sql_apply() {
    local force=$1 f name sum known out try n=0 total=0
    [[ -d $SQL_DIR ]] || die "no functions directory $SQL_DIR"
    psql_db aid -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning;
        CREATE TABLE IF NOT EXISTS schema_functions (
            name text PRIMARY KEY, sha256 text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())" >/dev/null ||
        die "cannot create schema_functions"
    known=$(psql_db aid -tA -F ' ' -c 'SELECT name, sha256 FROM schema_functions')
    while IFS= read -r -d '' f; do
        name=$(basename "$f")
        sum=$(sha256sum "$f" | cut -d' ' -f1)
        total=$((total + 1))
        ((force)) || ! grep -qxF -- "$name $sum" <<<"$known" || continue
        for try in 1 2 3 4 5; do
            if out=$(printf '%s\n' "INSERT INTO schema_functions (name, sha256) VALUES (:'f', :'h')
                        ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now();" |
                psql_db aid -v ON_ERROR_STOP=1 -v f="$name" -v h="$sum" -q -1 \
                    -c "SET client_min_messages = warning; SET lock_timeout = '5s'" -f "$f" -f - 2>&1); then
                break
            fi
            grep -qE 'deadlock detected|lock timeout' <<<"$out" && ((try < 5)) || {
                printf '%s\n' "$out" >&2
                die "functions $name failed and were rolled back"
            }
            note "functions $name: $(grep -oE 'deadlock detected|lock timeout' <<<"$out" | head -1) with the running services; again ($try)"
            sleep 1
        done
        n=$((n + 1))
    done < <(find "$SQL_DIR" -maxdepth 1 -type f -name '*.sql' -print0 | LC_ALL=C sort -z)
    ((n == 0)) || note "functions: $n of $total files applied (the others unchanged)"
}

# ---------------------------------------------------------------- Redis
redis_pid() {
    local pid
    pid=$(read_pidfile "$REDIS_PIDF")
    [[ -n $pid ]] && proc_alive "$pid" && [[ $(proc_comm "$pid") == redis-server* ]] || return 1
    echo "$pid"
}
rconf_quote() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
redis_configure() {
    mkdir -p "$REDISDIR" "$RUN" "$LOG"
    cat >"$REDIS_CONF.tmp" <<EOF
# Generated by ops/stack.sh on every up/redis-start: edit the script, not this file.
bind 127.0.0.1
protected-mode yes
port ${PORT[REDIS]}
daemonize yes
supervised no
pidfile $(rconf_quote "$REDIS_PIDF")
logfile $(rconf_quote "$REDIS_LOG")
dir $(rconf_quote "$REDISDIR")
appendonly yes
appendfsync everysec
always-show-logo no
EOF
    mv -f "$REDIS_CONF.tmp" "$REDIS_CONF"
}
redis_ping() { [[ $("$REDIS_CLI" -h 127.0.0.1 -p "${PORT[REDIS]}" ping 2>/dev/null) == PONG ]]; }

redis_start() {
    need_redis_tools
    local state=running pid i
    redis_configure
    if ! redis_pid >/dev/null; then
        rm -f "$REDIS_PIDF"
        port_in_use "${PORT[REDIS]}" &&
            die "Redis port ${PORT[REDIS]} (from $PORTS_ENV) is used by another process"
        (close_extra_fds && exec "$REDIS_SERVER" "$REDIS_CONF") </dev/null >>"$REDIS_LOG" 2>&1 9>&- ||
            die "redis-server failed; see $REDIS_LOG"
        state=started
    fi
    for ((i = 0; i < 100; i++)); do
        redis_ping && break
        sleep 0.1
    done
    redis_ping || die "Redis does not answer on 127.0.0.1:${PORT[REDIS]}; see $REDIS_LOG"
    pid=$(redis_pid || echo '?')
    printf '%-14s %-8s %-8s 127.0.0.1:%s\n' redis "$pid" "$state" "${PORT[REDIS]}"
}

redis_stop() {
    local pid
    if ! pid=$(redis_pid); then
        rm -f "$REDIS_PIDF"
        return 0
    fi
    if [[ -n ${PORT[REDIS]:-} && -x $REDIS_CLI ]]; then
        timeout 10 "$REDIS_CLI" -h 127.0.0.1 -p "${PORT[REDIS]}" shutdown >/dev/null 2>&1 || true
    fi
    if ! wait_dead "$pid" 100; then
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_dead "$pid" 50; then
            kill -KILL "$pid" 2>/dev/null || true
            wait_dead "$pid" 20 || die "redis $pid does not stop"
        fi
    fi
    rm -f "$REDIS_PIDF"
    printf '%-14s %-8s %s\n' redis "$pid" stopped
}

# ---------------------------------------------------------------- web console
# The gateway's HTTP port is kept in ports.env like the others (AID_GATEWAY_PORT,
# 18080+ or the env override on its first up), added to an older ports.env when
# missing. One county-officer account, ADMIN_USER, is created on the first up with a
# random password generated once and kept in $ADMIN_PWFILE (mode 600); stack.env
# carries AID_GATEWAY_URL, AID_ADMIN_USER and AID_ADMIN_PASSWORD.
GATEWAY_PORT=""
ADMIN_USER=admin
ADMIN_PWFILE=$VAR/admin.password
gateway_port() {
    local v used p
    v=$(sed -n 's/^AID_GATEWAY_PORT=\([0-9][0-9]*\)$/\1/p' "$PORTS_ENV" 2>/dev/null | tail -n1)
    if [[ -n $v ]]; then
        GATEWAY_PORT=$v
        return 0
    fi
    used=" $(listening_ports | tr '\n' ' ') ${PORT[*]} "
    v=${AID_GATEWAY_PORT:-}
    if [[ -n $v ]]; then
        [[ $v =~ ^[0-9]+$ ]] && ((v >= 1024 && v <= 65535)) || die "AID_GATEWAY_PORT=$v is not a port in 1024..65535"
        [[ $used == *" $v "* ]] && die "AID_GATEWAY_PORT=$v is already in use"
    else
        p=18080
        while [[ $used == *" $p "* ]]; do
            p=$((p + 1))
            ((p < 18080 + PORT_SCAN_LIMIT)) || die "no free port in 18080..$((18080 + PORT_SCAN_LIMIT)) for the gateway"
        done
        v=$p
    fi
    echo "AID_GATEWAY_PORT=$v" >>"$PORTS_ENV"
    GATEWAY_PORT=$v
}
gateway_admin() {
    local fresh=0 dsn
    if [[ ! -s $ADMIN_PWFILE ]]; then
        (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$ADMIN_PWFILE.tmp")
        mv -f "$ADMIN_PWFILE.tmp" "$ADMIN_PWFILE"
        fresh=1
    fi
    if [[ ! -x $BIN/aidctl ]]; then
        note "bin/aidctl is not built: the web console account $ADMIN_USER is not created"
        return 0
    fi
    dsn=$(role_dsn postgres)
    if [[ -z $(psql_db aid -tAc "SELECT 1 FROM gateway_users WHERE username = '$ADMIN_USER'") ]]; then
        AID_PG_DSN=$dsn "$BIN/aidctl" user add "$ADMIN_USER" county "" "县民政局管理员" \
            <"$ADMIN_PWFILE" >/dev/null || die "cannot create the web console account $ADMIN_USER"
        note "web console account $ADMIN_USER (county officer) created; password in $ADMIN_PWFILE"
    elif ((fresh)); then
        AID_PG_DSN=$dsn "$BIN/aidctl" user passwd "$ADMIN_USER" <"$ADMIN_PWFILE" >/dev/null ||
            die "cannot set the password of $ADMIN_USER"
        note "$ADMIN_PWFILE was missing: new password set for $ADMIN_USER"
    fi
}

# ---------------------------------------------------------------- instance ports
# Ports that belong to one instance — intake replicas 2..N (intake.1 keeps
# AID_INTAKE_PORT) and the metrics port of every instance that serves one —
# are chosen the first time the instance needs them (first free port from
# AID_INTAKE_REPLICA_PORT, default 5631, or AID_METRICS_PORT, default 9601)
# and kept in ports.env as AID_PORT_OF_<key>=<port>, so a restarted instance
# gets its old port back.
INTAKE_REPLICA_BASE=5631
METRICS_BASE=9601
NO_METRICS=" bus gateway "     # services without a metrics port
declare -A XPORT=()
load_xports() {
    local line
    [[ -n ${PORT[INTAKE]:-} ]] || load_ports || true
    XPORT=()
    [[ -f $PORTS_ENV ]] || return 0
    while IFS= read -r line; do
        [[ $line =~ ^AID_PORT_OF_([a-z0-9._]+)=([0-9]+)$ ]] && XPORT[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    done <"$PORTS_ENV"
    return 0
}
# xport_alloc KEY BASE: makes sure XPORT[KEY] holds a port (persisted).
xport_alloc() {
    local key=$1 p=$2 used
    [[ -z ${XPORT[$key]:-} ]] || return 0
    used=" $(listening_ports | tr '\n' ' ') ${PORT[*]} ${XPORT[*]} ${GATEWAY_PORT:-} "
    while [[ $used == *" $p "* ]]; do
        p=$((p + 1))
        ((p < $2 + 1000 && p <= 65535)) || die "no free port in $2..$((p - 1)) for $key"
    done
    echo "AID_PORT_OF_$key=$p" >>"$PORTS_ENV"
    XPORT[$key]=$p
}
# inst_ports INST: allocates the instance's own ports (no-op when it has none).
inst_ports() {
    local inst=$1 s
    s=$(inst_service "$inst")
    if [[ $s == intake && $inst == *.* && ${inst##*.} != 1 ]]; then
        xport_alloc "$inst" "${AID_INTAKE_REPLICA_PORT:-$INTAKE_REPLICA_BASE}"
    fi
    [[ $NO_METRICS == *" $s "* ]] || xport_alloc "metrics.$inst" "${AID_METRICS_PORT:-$METRICS_BASE}"
}
# intake_port INST: the API port of an intake instance.
intake_port() {
    if [[ $1 == intake || $1 == intake.1 ]]; then echo "${PORT[INTAKE]}"; else echo "${XPORT[$1]}"; fi
}
# alloc_ports: the ports of every instance `up` wants, before stack.env is written.
alloc_ports() {
    local s inst
    load_xports
    for s in "${SERVICES[@]}"; do
        [[ -z $(not_started "$s") ]] || continue
        for inst in $(desired_instances "$s"); do inst_ports "$inst"; done
    done
}
# The endpoints (comma-separated) of intake, and the metrics addresses of service S.
intake_api_list() {
    local inst out=""
    for inst in $(desired_instances intake); do
        out+="${out:+,}tcp://127.0.0.1:$(intake_port "$inst")"
    done
    echo "$out"
}
metrics_list() {
    local inst out=""
    for inst in $(desired_instances "$1"); do
        [[ -n ${XPORT[metrics.$inst]:-} ]] && out+="${out:+,}127.0.0.1:${XPORT[metrics.$inst]}"
    done
    echo "$out"
}

# ---------------------------------------------------------------- secure mode
# AID_SECURE=1 on the first `up` (ops/SECURITY.md): key pairs made once with
# `aidctl keygen` under $KEYS — intake and bus (servers), service (the services as
# clients of the bus and intake), client (aidctl, tests) — and two allow-lists,
# made once and then the operator's: allowed_keys (intake: client + service) and
# bus_allowed_keys (bus: service only). The mark $KEYS/secure keeps the mode on for
# later `up`s; remove $KEYS to go back to plaintext.
KEYS=$VAR/keys
secure_mode() { [[ ${AID_SECURE:-0} == 1 || -e $KEYS/secure ]]; }
keys_ensure() {
    secure_mode || return 0
    [[ -x $BIN/aidctl ]] || die "secure mode needs bin/aidctl to make its keys (run make)"
    (umask 077 && mkdir -p "$KEYS")
    local n
    for n in intake bus service client; do
        if [[ ! -s $KEYS/$n.key ]]; then
            rm -f "$KEYS/$n.pub"
            "$BIN/aidctl" keygen --out "$KEYS" --name "$n" >/dev/null 2>&1 ||
                die "cannot make the $n key pair in $KEYS"
            note "secure mode: made the $n key pair in $KEYS"
        elif [[ ! -s $KEYS/$n.pub ]]; then
            "$BIN/aidctl" keygen --public-of "$KEYS/$n.key" >"$KEYS/$n.pub" ||
                die "$KEYS/$n.key is not a CURVE secret key"
        fi
    done
    if [[ ! -e $KEYS/allowed_keys ]]; then
        {
            echo "# intake: client keys admitted — KEY NAME per line (ops/SECURITY.md)"
            echo "$(<"$KEYS/client.pub") local-client"
            echo "$(<"$KEYS/service.pub") local-service"
        } >"$KEYS/allowed_keys.tmp"
        mv -f "$KEYS/allowed_keys.tmp" "$KEYS/allowed_keys"
    fi
    if [[ ! -e $KEYS/bus_allowed_keys ]]; then
        {
            echo "# bus: service keys admitted — it carries every referral, services only"
            echo "$(<"$KEYS/service.pub") local-service"
        } >"$KEYS/bus_allowed_keys.tmp"
        mv -f "$KEYS/bus_allowed_keys.tmp" "$KEYS/bus_allowed_keys"
    fi
    touch "$KEYS/secure"
}

# ---------------------------------------------------------------- PII key
# The master key of the personal data at rest (common/pii.h, ops/SECURITY.md):
# 32 random bytes as 64 hex digits in $PII_KEY (mode 0600), made once on the first
# `up` and then the operator's. Never in the repository; losing it loses every ID
# number and report body in Postgres, so back it up apart from the database.
PII_KEY=${AID_PII_KEY_FILE:-$KEYS/pii.key}
pii_key_ensure() {
    [[ -z ${AID_PII_KEY:-} ]] || return 0
    [[ -s $PII_KEY ]] && return 0
    (umask 077 && mkdir -p "$(dirname "$PII_KEY")" &&
        od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$PII_KEY.tmp" &&
        echo >>"$PII_KEY.tmp" && mv -f "$PII_KEY.tmp" "$PII_KEY") ||
        die "cannot make the PII key $PII_KEY"
    [[ $(tr -d '\n' <"$PII_KEY" | wc -c) == 64 ]] || die "bad PII key written to $PII_KEY"
    note "made the PII key $PII_KEY (back it up; see ops/SECURITY.md)"
}

# ---------------------------------------------------------------- stack.env
write_stack_env() {
    {
        echo "AID_INTAKE_API=$(intake_api_list)"
        echo "AID_BUS_SUB=tcp://127.0.0.1:${PORT[BUS_SUB]}"
        echo "AID_BUS_PUB=tcp://127.0.0.1:${PORT[BUS_PUB]}"
        # the owner, for tests and ops scripts; each service gets its own role's DSN at launch
        echo "AID_PG_DSN=$(role_dsn postgres)"
        echo "AID_OPERATOR_PG_DSN=$(role_dsn aid_operator)"
        echo "AID_REDIS_URL=redis://127.0.0.1:${PORT[REDIS]}"
        echo "AID_VAR=$VAR"
        [[ -n ${AID_PII_KEY:-} ]] || echo "AID_PII_KEY_FILE=$PII_KEY"
        [[ -z ${AID_SWEEP_MS+x} ]] || echo "AID_SWEEP_MS=$AID_SWEEP_MS"
        [[ -z ${AID_LOG_LEVEL+x} ]] || echo "AID_LOG_LEVEL=$AID_LOG_LEVEL"
        local s m
        for s in "${SERVICES[@]}"; do
            [[ -z $(not_started "$s") ]] || continue # ports an earlier layout kept
            m=$(metrics_list "$s")
            [[ -z $m ]] || echo "AID_METRICS_${s^^}=$m"
        done
        echo "AID_GATEWAY_URL=http://127.0.0.1:$GATEWAY_PORT"
        echo "AID_ADMIN_USER=$ADMIN_USER"
        echo "AID_ADMIN_PASSWORD=$(cat "$ADMIN_PWFILE")"
        if secure_mode; then
            echo "AID_SECURE=1"
            echo "AID_INTAKE_PUBKEY=$(<"$KEYS/intake.pub")"
            echo "AID_INTAKE_SECRETKEY_FILE=$KEYS/intake.key"
            echo "AID_BUS_PUBKEY=$(<"$KEYS/bus.pub")"
            echo "AID_BUS_SECRETKEY_FILE=$KEYS/bus.key"
            echo "AID_SERVICE_PUBKEY=$(<"$KEYS/service.pub")"
            echo "AID_SERVICE_SECRETKEY_FILE=$KEYS/service.key"
            echo "AID_CLIENT_PUBKEY=$(<"$KEYS/client.pub")"
            echo "AID_CLIENT_SECRETKEY=$(<"$KEYS/client.key")"
            echo "AID_ALLOWED_KEYS=$KEYS/allowed_keys"
            echo "AID_BUS_ALLOWED_KEYS=$KEYS/bus_allowed_keys"
            echo "AID_RATE_EXEMPT=${AID_RATE_EXEMPT:-local-service}"
            echo "AID_DEPARTMENT_ANY=${AID_DEPARTMENT_ANY:-local-service}"
            # the owners behind intake (common/serve.h, benefits, casework) register with the service key
            echo "AID_OWNER_ANY=${AID_OWNER_ANY:-local-service}"
        fi
    } >"$STACK_ENV.tmp"
    mv -f "$STACK_ENV.tmp" "$STACK_ENV"
}
STACK_KV=()
load_stack_env() {
    [[ -f $STACK_ENV ]] || die "$STACK_ENV missing: run 'ops/stack.sh up' first"
    local line
    STACK_KV=()
    while IFS= read -r line; do
        [[ $line =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && STACK_KV+=("$line")
    done <"$STACK_ENV"
}

# ---------------------------------------------------------------- services
declare -A REPLICAS=()
declare -A EXTERNAL=()
is_service() { local s; for s in "${SERVICES[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }

# ---------------------------------------------------------------- remembered settings
# `up` keeps the service layout it was started with in $SETTINGS_ENV (AID_REPLICAS,
# AID_EXTERNAL_DEPARTMENTS, AID_DEPARTMENTS_HOST), as the ports are kept in ports.env and secure mode in
# $KEYS/secure: a later `up` (crash recovery, `make up` after a reboot) without them
# starts the same layout again and says so. Giving one (even empty: `AID_REPLICAS=`)
# changes it, printed as a change, and the new value is kept.
SETTINGS_ENV=$VAR/settings.env
SETTING_KEYS=(AID_REPLICAS AID_EXTERNAL_DEPARTMENTS AID_DEPARTMENTS_HOST)
declare -A SETTING_KEPT=()
HOST_CHANGED=0 # AID_DEPARTMENTS_HOST given and not the kept value: departments start anew
load_settings() {
    local line
    SETTING_KEPT=()
    [[ -f $SETTINGS_ENV ]] || return 0
    while IFS= read -r line; do
        [[ $line =~ ^(AID_REPLICAS|AID_EXTERNAL_DEPARTMENTS|AID_DEPARTMENTS_HOST)=(.*)$ ]] &&
            SETTING_KEPT[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    done <"$SETTINGS_ENV"
    return 0
}
# apply_settings [save]: each setting from the environment when given there, else the
# kept value; with save (up), notes what is reused or changed and keeps the result.
apply_settings() {
    local k v used=() changed=()
    load_settings
    for k in "${SETTING_KEYS[@]}"; do
        if [[ -n ${!k+x} ]]; then
            v=${!k}
            if [[ -f $SETTINGS_ENV && $v != "${SETTING_KEPT[$k]:-}" ]]; then
                changed+=("$k: '${SETTING_KEPT[$k]:-}' -> '$v'")
                [[ $k != AID_DEPARTMENTS_HOST ]] || HOST_CHANGED=1
            fi
        else
            v=${SETTING_KEPT[$k]:-}
            [[ -z $v ]] || used+=("$k=$v")
            export "$k=$v"
        fi
        SETTING_KEPT[$k]=$v
    done
    [[ ${1:-} == save ]] || return 0
    if [[ ! -f $SETTINGS_ENV ]]; then
        for k in "${SETTING_KEYS[@]}"; do
            [[ -z ${SETTING_KEPT[$k]} ]] || note "keeping $k=${SETTING_KEPT[$k]} in $SETTINGS_ENV for later ups"
        done
    fi
    ((${#used[@]} == 0)) || note "using the settings of the last up ($SETTINGS_ENV): ${used[*]} (give e.g. AID_REPLICAS= to change)"
    local c
    for c in "${changed[@]}"; do note "changing $c (kept in $SETTINGS_ENV)"; done
    if secure_mode; then
        if [[ -e $KEYS/secure ]]; then
            note "secure mode on (remembered: $KEYS/secure; remove $KEYS to go back to plaintext)"
            [[ ${AID_SECURE:-1} == 1 ]] || note "ignoring AID_SECURE=${AID_SECURE}: secure mode is kept in $KEYS"
        fi
    fi
    [[ ! -f $PORTS_ENV ]] || note "ports from $PORTS_ENV"
    mkdir -p "$VAR"
    {
        echo "# the settings of the last ops/stack.sh up, reused by every later up; change one"
        echo "# by giving it (e.g. make up AID_REPLICAS=intake:3), empty to clear it"
        for k in "${SETTING_KEYS[@]}"; do echo "$k=${SETTING_KEPT[$k]}"; done
    } >"$SETTINGS_ENV.tmp"
    mv -f "$SETTINGS_ENV.tmp" "$SETTINGS_ENV"
}

parse_service_env() {
    local item name n
    apply_settings "${1:-}"
    REPLICAS=()
    EXTERNAL=()
    IFS=, read -ra items <<<"${AID_REPLICAS:-}"
    for item in "${items[@]}"; do
        item=${item//[[:space:]]/}
        [[ -n $item ]] || continue
        [[ $item =~ ^([a-z]+):([0-9]+)$ ]] || die "AID_REPLICAS: '$item' is not name:count"
        name=${BASH_REMATCH[1]} n=$((10#${BASH_REMATCH[2]}))
        is_service "$name" || die "AID_REPLICAS: unknown service '$name'"
        ((n >= 1 && n <= 32)) || die "AID_REPLICAS: count for $name must be 1..32"
        REPLICAS[$name]=$n
    done
    IFS=, read -ra items <<<"${AID_EXTERNAL_DEPARTMENTS:-}"
    for item in "${items[@]}"; do
        item=${item//[[:space:]]/}
        [[ -n $item ]] || continue
        is_service "$item" || note "AID_EXTERNAL_DEPARTMENTS: unknown name '$item' (ignored)"
        EXTERNAL[$item]=1
    done
    [[ ${AID_DEPARTMENTS_HOST:-} == @(|0|1) ]] || die "AID_DEPARTMENTS_HOST: '$AID_DEPARTMENTS_HOST' is not 0 or 1"
}
# not_started S: why `up` does not start service S (nothing when it does): a department
# run by an external handler; the departments host unless AID_DEPARTMENTS_HOST=1; with
# it, the departments it decides for that own no operations (care still serves its own).
not_started() {
    if [[ -n ${EXTERNAL[$1]:-} ]]; then
        echo "external (AID_EXTERNAL_DEPARTMENTS), not started"
    elif [[ ${AID_DEPARTMENTS_HOST:-} != 1 ]]; then
        [[ $1 != departments ]] || echo "not started (AID_DEPARTMENTS_HOST is not 1)"
    elif [[ $DEPARTMENTS == *" $1 "* && $OWNING_DEPARTMENTS != *" $1 "* ]]; then
        echo "decided by the departments host (AID_DEPARTMENTS_HOST=1), not started"
    fi
}

# Instance names: "housing" (single) or "housing.1" .. "housing.N" (AID_REPLICAS N >= 2).
inst_service() { echo "${1%%.*}"; }
inst_pidfile() { echo "$RUN/$1.pid"; }
inst_logfile() { echo "$LOG/$1.log"; }
desired_instances() {
    local s=$1 n=${REPLICAS[$1]:-1} i
    if ((n <= 1)); then echo "$s"; else for ((i = 1; i <= n; i++)); do echo "$s.$i"; done; fi
}
existing_instances() { # instances that have a pid file
    local s=$1 f
    [[ -e $RUN/$s.pid ]] && echo "$s"
    for f in "$RUN/$s".*.pid; do
        [[ -e $f ]] || continue
        f=${f##*/}
        f=${f%.pid}
        [[ $f =~ ^$s\.[0-9]+$ ]] && echo "$f"
    done
    return 0
}
# inst_pid INST: print the pid if that instance runs (alive, not zombie, right binary).
inst_pid() {
    local pid s
    s=$(inst_service "$1")
    pid=$(read_pidfile "$(inst_pidfile "$1")")
    [[ -n $pid ]] && proc_alive "$pid" && proc_has_arg "$pid" "$BIN/$s" || return 1
    echo "$pid"
}

# launch INST: start one instance detached; its pid file is written by the process
# itself just before it execs the service, so the pid is right even if setsid forks.
launch() {
    local inst=$1 s pidf logf replica_env
    s=$(inst_service "$inst")
    pidf=$(inst_pidfile "$inst")
    logf=$(inst_logfile "$inst")
    rm -f "$pidf"
    if [[ $inst == *.* ]]; then replica_env=(AID_REPLICA="${inst##*.}"); else replica_env=(-u AID_REPLICA); fi
    # the instance's own ports: env's -u options first, then assignments
    local -a port_env=(PGAPPNAME="$inst") # names its database sessions (pg_stat_activity)
    load_xports
    inst_ports "$inst"
    if [[ -n ${XPORT[metrics.$inst]:-} ]]; then
        port_env+=(AID_METRICS_PORT="${XPORT[metrics.$inst]}")
    else
        replica_env=(-u AID_METRICS_PORT "${replica_env[@]}")
    fi
    if [[ $s == intake && $inst == *.* ]]; then
        port_env+=(AID_INTAKE_BIND="tcp://127.0.0.1:$(intake_port "$inst")")
    fi
    # its own Postgres role, never the owner (after stack.env's owner DSN, so it wins)
    local role
    role=$(pg_role_of "$s")
    local -a dsn_env=(AID_PG_DSN="")
    [[ -z $role ]] || dsn_env=(AID_PG_DSN="$(role_dsn "$role")")
    printf '%s === start %s (%s) ===\n' "$(date '+%F %T')" "$inst" "$BIN/$s" >>"$logf"
    (
        close_extra_fds
        cd "$ROOT"
        exec env "${replica_env[@]}" "${port_env[@]}" "${STACK_KV[@]}" "${dsn_env[@]}" setsid bash -c \
            'echo $$ >"$1.tmp" && mv -f "$1.tmp" "$1" && shift && exec "$@"' aid-launch "$pidf" "$BIN/$s"
    ) </dev/null >>"$logf" 2>&1 9>&- &
}

# stop_instances INST...: SIGTERM all, wait up to 5 s together, then SIGKILL.
stop_instances() {
    local inst pid i left
    declare -A pids=()
    for inst in "$@"; do
        if pid=$(inst_pid "$inst"); then
            kill -TERM "$pid" 2>/dev/null || true
            pids[$inst]=$pid
        else
            rm -f "$(inst_pidfile "$inst")"
        fi
    done
    for ((i = 0; i < SVC_STOP_TENTHS; i++)); do
        left=0
        for inst in "${!pids[@]}"; do proc_alive "${pids[$inst]}" && left=1; done
        ((left)) || break
        sleep 0.1
    done
    for inst in "$@"; do
        [[ -n ${pids[$inst]:-} ]] || continue
        if proc_alive "${pids[$inst]}"; then
            note "$inst (${pids[$inst]}) ignored SIGTERM for 5 s; SIGKILL"
            kill -KILL "${pids[$inst]}" 2>/dev/null || true
            wait_dead "${pids[$inst]}" 20 || note "$inst (${pids[$inst]}) still alive after SIGKILL"
        fi
        rm -f "$(inst_pidfile "$inst")"
        printf '%-14s %-8s %s\n' "$inst" "${pids[$inst]}" stopped
    done
}

# start_instances INST...: start those not running, wait until each has stayed alive
# 0.3 s (bounded); RESULT[inst] gets "pid state"; return 1 if any failed.
declare -A RESULT=()
start_instances() {
    local inst pid i pending rc=0
    local -a started=()
    for inst in "$@"; do
        if pid=$(inst_pid "$inst"); then
            RESULT[$inst]="$pid running"
        else
            launch "$inst"
            started+=("$inst")
        fi
    done
    ((${#started[@]})) || return 0
    # wait for every pid file (bounded), then check each is still alive 0.3 s later
    for ((i = 0; i < SVC_ALIVE_TENTHS; i++)); do
        pending=0
        for inst in "${started[@]}"; do [[ -s $(inst_pidfile "$inst") ]] || pending=1; done
        ((pending)) || break
        sleep 0.1
    done
    sleep 0.3
    for inst in "${started[@]}"; do
        if pid=$(inst_pid "$inst"); then
            RESULT[$inst]="$pid started"
        else
            pid=$(read_pidfile "$(inst_pidfile "$inst")")
            RESULT[$inst]="${pid:--} FAILED (see $(inst_logfile "$inst"))"
            rc=1
        fi
    done
    return $rc
}
print_results() { # INST...
    local inst
    for inst in "$@"; do
        printf '%-14s %-8s %s\n' "$inst" "${RESULT[$inst]%% *}" "${RESULT[$inst]#* }"
    done
}

services_up() {
    local s inst rc=0
    local -a want=() stale=() order=()
    load_stack_env
    local why
    for s in "${SERVICES[@]}"; do
        why=$(not_started "$s")
        if [[ -n $why ]]; then
            mapfile -t stale < <(existing_instances "$s")
            ((${#stale[@]} == 0)) || stop_instances "${stale[@]}" >&2
            RESULT[$s]="- $why"
            order+=("$s")
            continue
        fi
        if [[ ! -x $BIN/$s ]]; then
            RESULT[$s]="- skipped (bin/$s not built)"
            order+=("$s")
            continue
        fi
        # a department that keeps running in either layout (care: its operations)
        # learns the new one by starting again
        if ((HOST_CHANGED)) && [[ $DEPARTMENTS == *" $s "* ]]; then
            mapfile -t stale < <(existing_instances "$s")
            ((${#stale[@]} == 0)) || stop_instances "${stale[@]}" >&2
        fi
        local -a desired=()
        mapfile -t desired < <(desired_instances "$s")
        # instances from an earlier replica layout that is no longer wanted
        stale=()
        for inst in $(existing_instances "$s"); do
            [[ " ${desired[*]} " == *" $inst "* ]] || stale+=("$inst")
        done
        ((${#stale[@]} == 0)) || { note "stopping $s instances no longer wanted: ${stale[*]}"; stop_instances "${stale[@]}" >&2; }
        want+=("${desired[@]}")
        order+=("${desired[@]}")
    done
    ((${#want[@]} == 0)) || start_instances "${want[@]}" || rc=1
    print_results "${order[@]}"
    return $rc
}

# check_name NAME: die unless NAME is a service or a replica name like housing.2.
check_name() {
    is_service "${1%%.*}" || die "unknown service '$1' (services: ${SERVICES[*]})"
    [[ $1 != *.* || $1 =~ ^[a-z]+\.[1-9][0-9]*$ ]] || die "bad instance name '$1' (want e.g. housing.2)"
}

# resolve NAME: a service (all its current or wanted instances) or one replica.
resolve_instances() {
    local name=$1 s
    s=$(inst_service "$name")
    is_service "$s" || die "unknown service '$name' (services: ${SERVICES[*]})"
    if [[ $name == *.* ]]; then
        [[ $name =~ ^[a-z]+\.[0-9]+$ ]] || die "bad instance name '$name' (want e.g. housing.2)"
        echo "$name"
    else
        existing_instances "$s"
    fi
}

# ---------------------------------------------------------------- commands
cmd_up() {
    take_lock
    parse_service_env save
    mkdir -p "$RUN" "$LOG"
    choose_ports
    gateway_port
    pg_start
    migrate
    pg_roles_login
    gateway_admin
    redis_start
    alloc_ports
    keys_ensure
    pii_key_ensure
    write_stack_env
    services_up
}

cmd_down() {
    if [[ ! -d $VAR ]]; then
        echo "nothing to stop ($VAR does not exist)"
        return 0
    fi
    take_lock
    load_ports || true
    local s
    local -a all=()
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        s=${SERVICES[$i]}
        mapfile -t -O "${#all[@]}" all < <(existing_instances "$s")
    done
    ((${#all[@]} == 0)) || stop_instances "${all[@]}"
    redis_stop
    if [[ -d $PGDATA ]]; then pg_stop; fi
    return 0
}

cmd_status() {
    local pid s inst any why
    load_ports 2>/dev/null || true
    parse_service_env # the kept layout: what up does not start, and why
    if pid=$(pg_pid 2>/dev/null); then
        printf '%-14s %-8s %-8s 127.0.0.1:%s\n' postgres "$pid" running "${PORT[PG]:-?}"
    else
        printf '%-14s %-8s %s\n' postgres - stopped
    fi
    if pid=$(redis_pid 2>/dev/null); then
        printf '%-14s %-8s %-8s 127.0.0.1:%s\n' redis "$pid" running "${PORT[REDIS]:-?}"
    else
        printf '%-14s %-8s %s\n' redis - stopped
    fi
    for s in "${SERVICES[@]}"; do
        any=0
        for inst in $(existing_instances "$s"); do
            any=1
            if pid=$(inst_pid "$inst"); then
                printf '%-14s %-8s %s\n' "$inst" "$pid" running
            else
                printf '%-14s %-8s %s\n' "$inst" - stopped
            fi
        done
        ((any)) && continue
        why=$(not_started "$s")
        if [[ -n $why ]]; then
            printf '%-14s %-8s %s\n' "$s" - "$why"
        elif [[ -x $BIN/$s ]]; then
            printf '%-14s %-8s %s\n' "$s" - stopped
        else
            printf '%-14s %-8s %s\n' "$s" - "stopped (not built)"
        fi
    done
}

cmd_env() { # shell-quoted exports of stack.env, for eval "$(ops/stack.sh env)"
    load_stack_env
    local kv
    for kv in "${STACK_KV[@]}"; do printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"; done
}

# service_instances NAME: the instances NAME stands for — one replica, or the instances
# of a service that have pid files (e.g. after kill-service), or else those AID_REPLICAS wants.
service_instances() {
    local name=$1 s
    local -a insts=()
    s=$(inst_service "$name")
    is_service "$s" || die "unknown service '$name' (services: ${SERVICES[*]})"
    [[ -x $BIN/$s ]] || die "bin/$s is not built"
    mapfile -t insts < <(resolve_instances "$name")
    ((${#insts[@]})) || mapfile -t insts < <(desired_instances "$s")
    printf '%s\n' "${insts[@]}"
}

cmd_start_service() { # NAME [restart]
    local -a insts=()
    take_lock
    parse_service_env
    load_stack_env
    mapfile -t insts < <(service_instances "$1")
    ((${#insts[@]})) || exit 1
    [[ ${2:-} != restart ]] || stop_instances "${insts[@]}"
    local rc=0
    start_instances "${insts[@]}" || rc=1
    print_results "${insts[@]}"
    return $rc
}

cmd_kill_service() {
    local inst pid
    local -a insts=()
    take_lock
    mapfile -t insts < <(resolve_instances "$1")
    for inst in "${insts[@]}"; do
        if pid=$(inst_pid "$inst"); then
            kill -KILL "$pid" 2>/dev/null || true
            wait_dead "$pid" 20 || note "$inst ($pid) still alive after SIGKILL"
            printf '%-14s %-8s %s\n' "$inst" "$pid" killed
        else
            printf '%-14s %-8s %s\n' "$inst" - "not running"
        fi
    done
    ((${#insts[@]})) || printf '%-14s %-8s %s\n' "$1" - "not running"
}

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
}

main() {
    local cmd=${1:-}
    (($#)) && shift
    case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    pg-bin) # the directory of the server's programs (initdb, pg_ctl, pgbench), as found above
        need_pg_tools
        echo "$PGBIN"
        ;;
    start-service)
        (($# == 1)) || usage
        check_name "$1"
        cmd_start_service "$1"
        ;;
    restart-service)
        (($# == 1)) || usage
        check_name "$1"
        cmd_start_service "$1" restart
        ;;
    kill-service)
        (($# == 1)) || usage
        check_name "$1"
        cmd_kill_service "$1"
        ;;
    pg-stop)
        take_lock
        pg_stop
        ;;
    pg-start)
        take_lock
        load_ports || die "$PORTS_ENV missing: run 'ops/stack.sh up' first"
        pg_start
        ;;
    redis-stop)
        take_lock
        load_ports || die "$PORTS_ENV missing: run 'ops/stack.sh up' first"
        redis_stop
        ;;
    redis-start)
        take_lock
        load_ports || die "$PORTS_ENV missing: run 'ops/stack.sh up' first"
        redis_start
        ;;
    -h | --help | help) usage ;;
    *) usage ;;
    esac
}

# Sourced (ops/ha.sh reuses these functions): define only; run when executed.
[[ ${BASH_SOURCE[0]} != "$0" ]] || main "$@"
