#!/usr/bin/env bash
# ops/ha.sh — the local high-availability stack (make up-ha, AID_HA=1 make up, make
# test-ha): three etcd members, two Postgres 15 nodes under Patroni (synchronous_mode:
# a commit is acknowledged only once the standby has it; pg_rewind on rejoin), WAL
# archived by pgBackRest to a local repository (a full backup on the first up),
# Redis with one replica and three Sentinels, and the services — the same binaries,
# migrations, roles and passwords as ops/stack.sh, whose functions it sources.
# Everything lives under $AID_VAR (default var/ha), on loopback ports chosen once from
# AID_HA_PORT_BASE (default 27100) and kept in $AID_VAR/ports.env. See README.md "HA".
#
#   ops/ha.sh up | down | status | env | cluster
#   ops/ha.sh backup [full|diff|incr] | info | restore TIME DIR PORT | restore-stop DIR
#   ops/ha.sh pg-kill N | node-stop N | node-start N | leader
#   ops/ha.sh redis-master | redis-kill-master | redis-start
#   ops/ha.sh etcd-stop N | etcd-start N
#   ops/ha.sh start-service NAME | kill-service NAME
#
# N is a node number (1, 2) or `leader` for the current primary.
set -euo pipefail
HA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
export AID_VAR=${AID_VAR:-var/ha}
# shellcheck source=ops/stack.sh
source "$HA_ROOT/ops/stack.sh"

note() { printf 'ha.sh: %s\n' "$*" >&2; }
die() { printf 'ha.sh: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- layout and ports
NODES=(1 2)
ETCDS=(1 2 3)
SENTINELS=(1 2 3)
SCOPE=aid
REDIS_MASTER_NAME=aid
HA_BASE=${AID_HA_PORT_BASE:-27100}
[[ $HA_BASE =~ ^[0-9]+$ ]] && ((HA_BASE >= 1024 && HA_BASE <= 65000)) ||
    die "AID_HA_PORT_BASE=$HA_BASE is not a port base in 1024..65000"
# PG/REDIS/INTAKE/BUS_* keep stack.sh's names (PG = node 1, REDIS = the first master)
PORT_KEYS=(PG PG2 REST1 REST2 ETCD1 ETCD2 ETCD3 ETCDP1 ETCDP2 ETCDP3 REDIS REDIS2
    SENT1 SENT2 SENT3 INTAKE BUS_SUB BUS_PUB)
PORT_BASE=([PG]=$((HA_BASE + 1)) [PG2]=$((HA_BASE + 2)) [REST1]=$((HA_BASE + 11))
    [REST2]=$((HA_BASE + 12)) [ETCD1]=$((HA_BASE + 21)) [ETCD2]=$((HA_BASE + 22))
    [ETCD3]=$((HA_BASE + 23)) [ETCDP1]=$((HA_BASE + 31)) [ETCDP2]=$((HA_BASE + 32))
    [ETCDP3]=$((HA_BASE + 33)) [REDIS]=$((HA_BASE + 41)) [REDIS2]=$((HA_BASE + 42))
    [SENT1]=$((HA_BASE + 51)) [SENT2]=$((HA_BASE + 52)) [SENT3]=$((HA_BASE + 53))
    [INTAKE]=$((HA_BASE + 61)) [BUS_SUB]=$((HA_BASE + 62)) [BUS_PUB]=$((HA_BASE + 63)))
PORT_SCAN_LIMIT=9              # every key has its own slot of ten ports
INTAKE_REPLICA_BASE=$((HA_BASE + 80))
METRICS_BASE=$((HA_BASE + 100))
# the ports of the single-node stack are not ours to take from the environment
unset AID_PG_PORT AID_REDIS_PORT AID_INTAKE_PORT AID_BUS_SUB_PORT AID_BUS_PUB_PORT \
    AID_INTAKE_REPLICA_PORT AID_METRICS_PORT

PATRONI=${AID_PATRONI:-$(command -v patroni || echo /usr/bin/patroni)}
ETCD=${AID_ETCD:-$(command -v etcd || echo /usr/bin/etcd)}
PGBACKREST=${AID_PGBACKREST:-$(command -v pgbackrest || echo /usr/bin/pgbackrest)}
REDIS_SENTINEL=${AID_REDIS_SENTINEL:-$(command -v redis-sentinel || echo /usr/bin/redis-sentinel)}
# Patroni's timing for local drills (its rule: loop_wait + 2 * retry_timeout <= ttl)
HA_TTL=${AID_HA_TTL:-10}
HA_LOOP_WAIT=${AID_HA_LOOP_WAIT:-2}
HA_RETRY_TIMEOUT=${AID_HA_RETRY_TIMEOUT:-4}

PGHA=$VAR/pg
BACKUP=$VAR/backup
BR_CONF=$BACKUP/pgbackrest.conf
STANZA=aid
node_dir() { echo "$PGHA/node$1"; }
node_data() { echo "$PGHA/node$1/data"; }
node_sock() { echo "$RUN/pg$1"; }
node_port() { if [[ $1 == 1 ]]; then echo "${PORT[PG]}"; else echo "${PORT[PG$1]}"; fi; }
redis_port_of() { if [[ $1 == 1 ]]; then echo "${PORT[REDIS]}"; else echo "${PORT[REDIS$1]}"; fi; }
# stack.sh's single-node paths, pointed at node 1 (pg_user, as_pg use them)
PGDATA=$(node_data 1)
PGDIR=$PGHA

need_ha_tools() {
    local t
    for t in "$PATRONI" "$ETCD" "$PGBACKREST" "$REDIS_SENTINEL"; do
        [[ -x $t ]] || die "$t not found: run 'ops/deps.sh ha' (patroni, etcd-server, pgbackrest, redis-sentinel)"
    done
    need_pg_tools
    need_redis_tools
}

# ---------------------------------------------------------------- DSNs
# Every client names both nodes; libpq tries them in turn and keeps the one that
# accepts writes (target_session_attrs=read-write), so after a failover a reconnect
# lands on the new primary without a proxy.
pg_hosts() { local n h="" p=""; for n in "${NODES[@]}"; do h+="${h:+,}127.0.0.1"; p+="${p:+,}$(node_port "$n")"; done; echo "host=$h port=$p"; }
role_dsn() {
    echo "$(pg_hosts) dbname=aid user=$1 passfile=$PGPASS_DIR/$1 connect_timeout=3 target_session_attrs=read-write"
}
psql_db() { # DB ARGS...: psql on the primary as postgres, no psqlrc
    local db=$1
    shift
    PGCONNECT_TIMEOUT=5 "$PGBIN/psql" -X -q "$(pg_hosts) dbname=$db user=postgres passfile=$PGPASS_DIR/postgres target_session_attrs=read-write" "$@"
}
psql_node() { # N SQL: one value from node N, over its own socket
    PGCONNECT_TIMEOUT=3 "$PGBIN/psql" -X -q -tA -h "$(node_sock "$1")" -p "$(node_port "$1")" -U postgres -d postgres -c "$2"
}

# ---------------------------------------------------------------- daemons
# start_daemon NAME USER CMD...: detached, its pid (after exec) in $RUN/NAME.pid,
# output appended to $LOG/NAME.log; USER "" = as this user.
start_daemon() {
    local name=$1 user=$2 pidf=$RUN/$1.pid logf=$LOG/$1.log
    shift 2
    rm -f "$pidf"
    local -a as=()
    if [[ -n $user ]] && is_root; then as=(setpriv --reuid="$user" --regid="$user" --init-groups); fi
    printf '%s === start %s ===\n' "$(date '+%F %T')" "$name" >>"$logf"
    (
        close_extra_fds
        cd "$VAR"
        exec setsid bash -c 'echo $$ >"$1.tmp" && mv -f "$1.tmp" "$1" && shift && exec "$@"' \
            ha-launch "$pidf" "${as[@]}" "$@"
    ) </dev/null >>"$logf" 2>&1 9>&- &
    local i
    for ((i = 0; i < 50; i++)); do [[ -s $pidf ]] && break; sleep 0.1; done
}
daemon_pid() { # NAME COMM: pid when alive and its command name starts with COMM
    local pid
    pid=$(read_pidfile "$RUN/$1.pid")
    [[ -n $pid ]] && proc_alive "$pid" && [[ $(proc_comm "$pid") == "$2"* ]] || return 1
    echo "$pid"
}
stop_pid() { # PID LABEL TENTHS: TERM, wait, KILL
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_dead "$pid" "$3"; then
        note "$2 ($pid) ignored SIGTERM; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_dead "$pid" 30 || note "$2 ($pid) still alive after SIGKILL"
    fi
    printf '%-14s %-8s %s\n' "$2" "$pid" stopped
}

# ---------------------------------------------------------------- etcd
etcd_cluster() { local n c=""; for n in "${ETCDS[@]}"; do c+="${c:+,}e$n=http://127.0.0.1:${PORT[ETCDP$n]}"; done; echo "$c"; }
etcd_healthy() { curl -s -m 2 "http://127.0.0.1:${PORT[ETCD$1]}/health" 2>/dev/null | grep -q '"health":"true"'; }
etcd_start() { # N
    local n=$1 state=running
    if ! daemon_pid "etcd$n" etcd >/dev/null; then
        mkdir -p "$VAR/etcd"
        start_daemon "etcd$n" "" "$ETCD" --name "e$n" --data-dir "$VAR/etcd/e$n" \
            --listen-client-urls "http://127.0.0.1:${PORT[ETCD$n]}" \
            --advertise-client-urls "http://127.0.0.1:${PORT[ETCD$n]}" \
            --listen-peer-urls "http://127.0.0.1:${PORT[ETCDP$n]}" \
            --initial-advertise-peer-urls "http://127.0.0.1:${PORT[ETCDP$n]}" \
            --initial-cluster "$(etcd_cluster)" --initial-cluster-state new \
            --initial-cluster-token "aid-ha-$SCOPE" \
            --heartbeat-interval 100 --election-timeout 1000
        state=started
    fi
    printf '%-14s %-8s %-8s 127.0.0.1:%s\n' "etcd$n" "$(daemon_pid "etcd$n" etcd || echo '?')" "$state" "${PORT[ETCD$n]}"
}
etcd_stop() { local pid; pid=$(daemon_pid "etcd$1" etcd) && stop_pid "$pid" "etcd$1" 50; return 0; }
etcd_wait() {
    local i n ok
    for ((i = 0; i < 300; i++)); do
        ok=0
        for n in "${ETCDS[@]}"; do etcd_healthy "$n" && ok=$((ok + 1)); done
        ((ok >= 2)) && return 0
        sleep 0.1
    done
    die "etcd has no quorum after 30 s; see $LOG/etcd*.log"
}

# ---------------------------------------------------------------- Postgres under Patroni
yq() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; } # a YAML double-quoted string
br_args() { # N [archive]: the pgBackRest options naming node N as the database
    if [[ ${2:-} == archive ]]; then
        echo "--config=$BR_CONF --stanza=$STANZA --pg1-path=$(node_data "$1")"
    else
        echo "--config=$BR_CONF --stanza=$STANZA --pg1-path=$(node_data "$1") --pg1-port=$(node_port "$1") --pg1-socket-path=$(node_sock "$1")"
    fi
}
patroni_conf() { # N
    local n=$1 d etcd_hosts="" e
    d=$(node_dir "$n")
    for e in "${ETCDS[@]}"; do etcd_hosts+="${etcd_hosts:+, }127.0.0.1:${PORT[ETCD$e]}"; done
    cat >"$d/patroni.yml.tmp" <<EOF
# Generated by ops/ha.sh on every up: edit the script, not this file.
scope: $SCOPE
namespace: /aid-ha/
name: node$n
log:
  level: INFO
  format: '%(asctime)s node$n %(levelname)s: %(message)s'
restapi:
  listen: 127.0.0.1:${PORT[REST$n]}
  connect_address: 127.0.0.1:${PORT[REST$n]}
etcd3:
  hosts: [$etcd_hosts]
bootstrap:
  dcs:
    ttl: $HA_TTL
    loop_wait: $HA_LOOP_WAIT
    retry_timeout: $HA_RETRY_TIMEOUT
    maximum_lag_on_failover: 1048576
    # a crashed primary fails over to the sync standby at once instead of
    # being restarted in place (Patroni 3.0: master_start_timeout)
    master_start_timeout: 0
    # a commit is acknowledged only once the standby has it; only that standby
    # may be promoted
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
        archive_mode: 'on'
        archive_timeout: 60s
        max_connections: 200
        synchronous_commit: 'on'
        fsync: 'on'
        full_page_writes: 'on'
        jit: 'off'
        autovacuum_naptime: 5s
        shared_buffers: ${AID_PG_SHARED_BUFFERS:-128MB}
        password_encryption: scram-sha-256
  initdb:
    - encoding: UTF8
    - locale: C
    - data-checksums
postgresql:
  listen: 127.0.0.1:$(node_port "$n")
  connect_address: 127.0.0.1:$(node_port "$n")
  data_dir: $(yq "$(node_data "$n")")
  bin_dir: $(yq "$PGBIN")
  pgpass: $(yq "$d/pgpass")
  authentication:
    superuser:
      username: postgres
      password: $(yq "$(pw_of postgres)")
    replication:
      username: replicator
      password: $(yq "$(pw_of replicator)")
  parameters:
    unix_socket_directories: $(yq "$(node_sock "$n")")
    unix_socket_permissions: '0700'
    archive_command: $(yq "$PGBACKREST $(br_args "$n" archive) archive-push %p")
    log_line_prefix: '%m [%p] %q%u@%d '
  recovery_conf:
    restore_command: $(yq "$PGBACKREST $(br_args "$n" archive) archive-get %f \"%p\"")
  pg_hba:
    - local all postgres trust
    - local all all scram-sha-256
    - local replication postgres trust
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
EOF
    mv -f "$d/patroni.yml.tmp" "$d/patroni.yml"
    chmod 600 "$d/patroni.yml"
    if is_root; then chown postgres: "$d/patroni.yml"; fi
}
node_prepare() { # N
    local n=$1 u
    u=$(pg_user)
    mkdir -p "$(node_dir "$n")" "$(node_sock "$n")" "$LOG"
    touch "$LOG/patroni$n.log"
    if is_root; then
        id -u "$u" >/dev/null 2>&1 || die "system user $u does not exist (apt-get install postgresql creates it)"
        chown "$u:" "$(node_dir "$n")" "$(node_sock "$n")" "$PGHA" "$LOG/patroni$n.log"
    fi
    chmod 700 "$(node_dir "$n")" "$(node_sock "$n")" "$PGHA"
    ensure_reachable "$(node_dir "$n")"
    ensure_reachable "$(node_sock "$n")"
    patroni_conf "$n"
}
patroni_pid() { daemon_pid "patroni$1" patroni || daemon_pid "patroni$1" python; }
# postmaster_pid N: the node's postmaster when alive (from its postmaster.pid)
postmaster_pid() {
    local pid
    pid=$(read_pidfile "$(node_data "$1")/postmaster.pid" 2>/dev/null)
    [[ -n $pid ]] && proc_alive "$pid" && [[ $(proc_comm "$pid") == postgres* ]] || return 1
    echo "$pid"
}
node_start() { # N
    local n=$1 state=running
    if ! patroni_pid "$n" >/dev/null; then
        node_prepare "$n"
        start_daemon "patroni$n" "$(pg_user)" env HOME="$(node_dir "$n")" "$PATRONI" "$(node_dir "$n")/patroni.yml"
        state=started
    fi
    printf '%-14s %-8s %-8s 127.0.0.1:%s (REST %s)\n' "node$n" "$(patroni_pid "$n" || echo '?')" "$state" \
        "$(node_port "$n")" "${PORT[REST$n]}"
}
# node_stop N: Patroni stops its Postgres (fast) and leaves the leader key; any
# postmaster left behind is stopped by its pid.
node_stop() {
    local n=$1 pid
    if pid=$(patroni_pid "$n"); then stop_pid "$pid" "patroni$n" 400; fi
    if pid=$(postmaster_pid "$n"); then stop_pid "$pid" "postgres$n" 200; fi
    return 0
}
rest() { curl -s -m 3 "http://127.0.0.1:${PORT[REST$1]}$2" 2>/dev/null; }
# cluster_json: Patroni's view of the cluster from the first node that answers
cluster_json() { local n j; for n in "${NODES[@]}"; do j=$(rest "$n" /cluster) && [[ -n $j ]] && { echo "$j"; return 0; }; done; return 1; }
# leader: the node number of the primary (Patroni's leader that runs), or fail
leader() {
    local n
    for n in "${NODES[@]}"; do
        [[ $(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[REST$n]}/primary" 2>/dev/null) == 200 ]] &&
            { echo "$n"; return 0; }
    done
    return 1
}
node_arg() { # N or "leader" -> a node number
    local n=$1
    if [[ $n == leader ]]; then n=$(leader) || die "no primary now"; fi
    [[ " ${NODES[*]} " == *" $n "* ]] || die "no node '$1' (nodes: ${NODES[*]}, or leader)"
    echo "$n"
}
# sync_ready: a leader and a synchronous standby are in the cluster
sync_ready() { cluster_json | grep -q '"role": *"sync_standby"' && leader >/dev/null; }
pg_cluster_start() {
    local n i
    pw_ensure postgres || true
    pw_ensure replicator || true
    for n in "${NODES[@]}"; do node_start "$n"; done
    for ((i = 0; i < 1200; i++)); do
        sync_ready && break
        sleep 0.1
    done
    sync_ready || die "no primary with a synchronous standby after 120 s; see $LOG/patroni*.log"
    pg_wait_ready || die "the primary does not accept connections; see $LOG/patroni*.log"
    if [[ $(psql_db postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'aid'") != 1 ]]; then
        psql_db postgres -v ON_ERROR_STOP=1 -c 'CREATE DATABASE aid' >/dev/null
        note "created database aid"
    fi
    # Every connection string lists both nodes (target_session_attrs=read-write), and
    # libpq tries no further host once one has refused the start-up itself: a standby
    # that has not replayed CREATE DATABASE yet ("database aid does not exist") would
    # fail the connection when it comes first (node2 won the first election).
    for ((i = 0; i < 300; i++)); do
        aid_everywhere && return 0
        sleep 0.1
    done
    die "database aid is not on every node after 30 s; see $LOG/patroni*.log"
}
# aid_everywhere: every node answers and has the database aid
aid_everywhere() {
    local n
    for n in "${NODES[@]}"; do
        [[ $(psql_node "$n" "SELECT 1 FROM pg_database WHERE datname = 'aid'" 2>/dev/null) == 1 ]] || return 1
    done
}
pg_wait_ready() {
    local i
    for ((i = 0; i < 300; i++)); do
        psql_db postgres -tAc 'SELECT 1' >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- pgBackRest
backup_conf() {
    local u
    u=$(pg_user)
    mkdir -p "$BACKUP/repo" "$LOG/pgbackrest" "$RUN/pgbackrest"
    cat >"$BR_CONF.tmp" <<EOF
# Generated by ops/ha.sh: the local backup repository (production: ops/k8s/HA.md).
[global]
repo1-path=$BACKUP/repo
repo1-retention-full=2
log-path=$LOG/pgbackrest
lock-path=$RUN/pgbackrest
log-level-console=warn
log-level-file=info
start-fast=y
compress-type=lz4
archive-async=n

[$STANZA]
pg1-user=postgres
EOF
    mv -f "$BR_CONF.tmp" "$BR_CONF"
    if is_root; then chown -R "$u:" "$BACKUP" "$LOG/pgbackrest" "$RUN/pgbackrest"; fi
    chmod 700 "$BACKUP/repo"
    ensure_reachable "$BACKUP"
}
as_pgu() { # CMD...: as the Postgres user (pgBackRest writes the repository as it)
    if is_root; then (close_extra_fds && cd "$VAR" && exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"); else (close_extra_fds && "$@"); fi
}
# shellcheck disable=SC2046 # br_args is a word list of options without spaces
br() { local n; n=$(leader) || die "no primary to back up"; as_pgu "$PGBACKREST" $(br_args "$n") "$@" 9>&-; }
# br_repo ARGS: a command on the repository alone (info takes no pg options)
br_repo() { as_pgu "$PGBACKREST" --config="$BR_CONF" --stanza="$STANZA" "$@" 9>&-; }
backup_ensure() {
    backup_conf
    br stanza-create >>"$LOG/pgbackrest.out" 2>&1 || die "pgbackrest stanza-create failed; see $LOG/pgbackrest.out"
    local info
    info=$(br_repo --output=json info 2>/dev/null || true)
    if [[ $info != *'"label"'* ]]; then
        # WAL could not be archived before the stanza existed: those failures are
        # over (the segments are still in pg_wal and go now), so count afresh
        psql_db postgres -tAc "SELECT pg_stat_reset_shared('archiver')" >/dev/null || true
        note "full backup (pgBackRest, $BACKUP/repo)"
        br --type=full backup >>"$LOG/pgbackrest.out" 2>&1 || die "the full backup failed; see $LOG/pgbackrest.out"
    fi
}
cmd_backup() { backup_conf; br --type="${1:-full}" backup >>"$LOG/pgbackrest.out" 2>&1 || die "backup failed; see $LOG/pgbackrest.out"; echo "backup ${1:-full} done"; }
cmd_info() { backup_conf >/dev/null; br_repo --output=json info; }
# restore TIME DIR PORT: point-in-time restore of the repository into DIR (a new
# data directory, not a node's), recovering up to just before TIME, then started
# alone on 127.0.0.1:PORT (no archiving, no replication) for inspection.
cmd_restore() {
    local target=$1 dir=$2 port=$3 u
    [[ -n $target && -n $dir && $port =~ ^[0-9]+$ ]] || die "usage: restore TIME DIR PORT"
    [[ $dir == /* ]] || dir=$ROOT/$dir
    [[ ! -e $dir ]] || die "$dir exists; restore into a new directory"
    u=$(pg_user)
    backup_conf
    mkdir -p "$dir" "$dir.sock"
    if is_root; then chown "$u:" "$dir" "$dir.sock"; fi
    chmod 700 "$dir" "$dir.sock"
    ensure_reachable "$dir"
    as_pgu "$PGBACKREST" --config="$BR_CONF" --stanza="$STANZA" --pg1-path="$dir" \
        --type=time "--target=$target" --target-exclusive --target-action=promote restore \
        >>"$LOG/pgbackrest.out" 2>&1 9>&- || die "pgbackrest restore failed; see $LOG/pgbackrest.out"
    # alone, on its own port and socket: no archiving into the repository, no sync standby
    cat >>"$dir/postgresql.auto.conf" <<EOF
# ops/ha.sh restore: a stand-alone copy for inspection
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir.sock'
archive_mode = off
synchronous_standby_names = ''
hot_standby = on
EOF
    rm -f "$dir/standby.signal" "$dir/postmaster.pid"
    touch "$dir.log"
    if is_root; then chown "$u:" "$dir.log"; fi
    as_pgu "$PGBIN/pg_ctl" -D "$dir" -l "$dir.log" -w -t 120 -s start </dev/null >/dev/null 9>&- ||
        die "the restored cluster did not start; see $dir.log"
    local i
    for ((i = 0; i < 600; i++)); do
        [[ $(PGCONNECT_TIMEOUT=3 "$PGBIN/psql" -X -tA -h "$dir.sock" -p "$port" -U postgres -d postgres \
            -c 'SELECT pg_is_in_recovery()' 2>/dev/null) == f ]] && break
        sleep 0.1
    done
    echo "restored to before $target into $dir, running on 127.0.0.1:$port (socket $dir.sock)"
}
cmd_restore_stop() {
    local dir=$1 pid
    [[ $dir == /* ]] || dir=$ROOT/$dir
    pid=$(read_pidfile "$dir/postmaster.pid" 2>/dev/null)
    if [[ -n $pid ]] && proc_alive "$pid"; then
        as_pgu "$PGBIN/pg_ctl" -D "$dir" -m fast -w -t 30 -s stop </dev/null >/dev/null 9>&- || kill -KILL "$pid" 2>/dev/null || true
        wait_dead "$pid" 50 || true
    fi
}

# ---------------------------------------------------------------- Redis and Sentinel
redis_node_conf() { # N: written once; afterwards the Sentinels own the roles
    local n=$1 d=$VAR/redis$n
    mkdir -p "$d" "$RUN" "$LOG"
    [[ -s $d/redis.conf ]] && return 0
    cat >"$d/redis.conf" <<EOF
# Generated by ops/ha.sh on the first up; the Sentinels rewrite roles (replicaof) here.
bind 127.0.0.1
protected-mode yes
port $(redis_port_of "$n")
daemonize yes
supervised no
pidfile $(rconf_quote "$RUN/redis$n.pid")
logfile $(rconf_quote "$LOG/redis$n.log")
dir $(rconf_quote "$d")
appendonly yes
appendfsync everysec
always-show-logo no
replica-announce-ip 127.0.0.1
EOF
    [[ $n == 1 ]] || echo "replicaof 127.0.0.1 $(redis_port_of 1)" >>"$d/redis.conf"
}
sentinel_conf() { # N: written once; Sentinel rewrites it with what it learns
    local n=$1 d=$VAR/sentinel$n
    mkdir -p "$d"
    [[ -s $d/sentinel.conf ]] && return 0
    cat >"$d/sentinel.conf" <<EOF
# Generated by ops/ha.sh on the first up; Sentinel rewrites it with what it learns.
bind 127.0.0.1
port ${PORT[SENT$n]}
daemonize yes
pidfile $(rconf_quote "$RUN/sentinel$n.pid")
logfile $(rconf_quote "$LOG/sentinel$n.log")
dir $(rconf_quote "$d")
sentinel announce-ip 127.0.0.1
sentinel monitor $REDIS_MASTER_NAME 127.0.0.1 $(redis_port_of 1) 2
sentinel down-after-milliseconds $REDIS_MASTER_NAME 1000
sentinel failover-timeout $REDIS_MASTER_NAME 5000
sentinel parallel-syncs $REDIS_MASTER_NAME 1
EOF
}
redis_node_start() { # N
    local n=$1 state=running i
    redis_node_conf "$n"
    if ! daemon_pid "redis$n" redis-server >/dev/null; then
        (close_extra_fds && exec "$REDIS_SERVER" "$VAR/redis$n/redis.conf") </dev/null >>"$LOG/redis$n.log" 2>&1 9>&- ||
            die "redis-server $n failed; see $LOG/redis$n.log"
        state=started
    fi
    for ((i = 0; i < 100; i++)); do
        [[ $("$REDIS_CLI" -h 127.0.0.1 -p "$(redis_port_of "$n")" ping 2>/dev/null) == PONG ]] && break
        sleep 0.1
    done
    printf '%-14s %-8s %-8s 127.0.0.1:%s\n' "redis$n" "$(daemon_pid "redis$n" redis-server || echo '?')" "$state" "$(redis_port_of "$n")"
}
sentinel_start() { # N
    local n=$1 state=running
    sentinel_conf "$n"
    if ! daemon_pid "sentinel$n" redis-s >/dev/null; then
        (close_extra_fds && exec "$REDIS_SENTINEL" "$VAR/sentinel$n/sentinel.conf") </dev/null >>"$LOG/sentinel$n.log" 2>&1 9>&- ||
            die "redis-sentinel $n failed; see $LOG/sentinel$n.log"
        state=started
    fi
    sleep 0.1
    printf '%-14s %-8s %-8s 127.0.0.1:%s\n' "sentinel$n" "$(daemon_pid "sentinel$n" redis-s || echo '?')" "$state" "${PORT[SENT$n]}"
}
sentinels_list() { local n s=""; for n in "${SENTINELS[@]}"; do s+="${s:+,}127.0.0.1:${PORT[SENT$n]}"; done; echo "$s"; }
# redis_master: "host port" of the master as the first answering Sentinel sees it
redis_master() {
    local n out
    for n in "${SENTINELS[@]}"; do
        out=$("$REDIS_CLI" -h 127.0.0.1 -p "${PORT[SENT$n]}" --raw sentinel get-master-addr-by-name "$REDIS_MASTER_NAME" 2>/dev/null | tr '\n' ' ') || continue
        [[ $out =~ ^[0-9.]+\ [0-9]+\ $ ]] && { echo "${out% }"; return 0; }
    done
    return 1
}
redis_ha_start() {
    local n
    for n in 1 2; do redis_node_start "$n"; done
    for n in "${SENTINELS[@]}"; do sentinel_start "$n"; done
}
redis_ha_stop() {
    local n pid
    for n in "${SENTINELS[@]}"; do pid=$(daemon_pid "sentinel$n" redis-s) && stop_pid "$pid" "sentinel$n" 50; done
    for n in 1 2; do pid=$(daemon_pid "redis$n" redis-server) && stop_pid "$pid" "redis$n" 50; done
    return 0
}
cmd_redis_kill_master() {
    local m port n pid
    m=$(redis_master) || die "no Sentinel knows the master"
    port=${m#* }
    for n in 1 2; do
        if [[ $(redis_port_of "$n") == "$port" ]] && pid=$(daemon_pid "redis$n" redis-server); then
            kill -KILL "$pid"
            wait_dead "$pid" 30 || true
            printf '%-14s %-8s killed (was master on %s)\n' "redis$n" "$pid" "$port"
            return 0
        fi
    done
    die "the master $m is not one of this stack's Redis servers"
}

# ---------------------------------------------------------------- stack.env
ha_stack_env() {
    write_stack_env
    {
        echo "AID_REDIS_SENTINELS=$(sentinels_list)"
        echo "AID_REDIS_MASTER_NAME=$REDIS_MASTER_NAME"
        local n rest=""
        for n in "${NODES[@]}"; do rest+="${rest:+,}http://127.0.0.1:${PORT[REST$n]}"; done
        echo "AID_PATRONI_URLS=$rest"
        echo "AID_PGBACKREST_CONFIG=$BR_CONF"
        echo "AID_PGBACKREST_STANZA=$STANZA"
        echo "AID_HA=1"
    } >>"$STACK_ENV"
}

# ---------------------------------------------------------------- commands
ha_gateway_port() {
    if [[ -z ${AID_GATEWAY_PORT:-} ]] && ! grep -q '^AID_GATEWAY_PORT=' "$PORTS_ENV" 2>/dev/null; then
        local p=$((HA_BASE + 70)) used
        used=" $(listening_ports | tr '\n' ' ') ${PORT[*]} "
        while [[ $used == *" $p "* ]]; do p=$((p + 1)); ((p < HA_BASE + 80)) || die "no free gateway port"; done
        export AID_GATEWAY_PORT=$p
    fi
    gateway_port
}
ha_up() {
    need_ha_tools
    parse_service_env
    take_lock
    mkdir -p "$RUN" "$LOG"
    export AID_INTAKE_REPLICA_PORT=$INTAKE_REPLICA_BASE AID_METRICS_PORT=$METRICS_BASE
    choose_ports
    ha_gateway_port
    local n
    for n in "${ETCDS[@]}"; do etcd_start "$n"; done
    etcd_wait
    pg_cluster_start
    migrate
    pg_roles_login
    backup_ensure
    gateway_admin
    redis_ha_start
    alloc_ports
    keys_ensure
    pii_key_ensure
    ha_stack_env
    services_up
}
ha_down() {
    if [[ ! -d $VAR ]]; then
        echo "nothing to stop ($VAR does not exist)"
        return 0
    fi
    take_lock
    load_ports || true
    local s i n pid
    local -a all=()
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        s=${SERVICES[$i]}
        mapfile -t -O "${#all[@]}" all < <(existing_instances "$s")
    done
    ((${#all[@]} == 0)) || stop_instances "${all[@]}"
    redis_ha_stop
    # the standbys first, so that the primary does not wait on a sync standby going away
    local lead
    lead=$(leader 2>/dev/null || echo "")
    for n in "${NODES[@]}"; do [[ $n == "$lead" ]] || node_stop "$n"; done
    [[ -z $lead ]] || node_stop "$lead"
    for d in "$VAR"/restore*; do [[ -d $d && -f $d/PG_VERSION ]] && cmd_restore_stop "$d"; done
    for n in "${ETCDS[@]}"; do etcd_stop "$n"; done
    return 0
}
ha_status() {
    load_ports 2>/dev/null || true
    local n pid
    for n in "${ETCDS[@]}"; do
        if pid=$(daemon_pid "etcd$n" etcd); then printf '%-14s %-8s running\n' "etcd$n" "$pid"; else printf '%-14s %-8s stopped\n' "etcd$n" -; fi
    done
    for n in "${NODES[@]}"; do
        if pid=$(patroni_pid "$n"); then printf '%-14s %-8s running (postgres %s)\n' "node$n" "$pid" "$(postmaster_pid "$n" || echo -)"; else printf '%-14s %-8s stopped\n' "node$n" -; fi
    done
    for n in 1 2; do
        if pid=$(daemon_pid "redis$n" redis-server); then printf '%-14s %-8s running\n' "redis$n" "$pid"; else printf '%-14s %-8s stopped\n' "redis$n" -; fi
    done
    for n in "${SENTINELS[@]}"; do
        if pid=$(daemon_pid "sentinel$n" redis-s); then printf '%-14s %-8s running\n' "sentinel$n" "$pid"; else printf '%-14s %-8s stopped\n' "sentinel$n" -; fi
    done
    local s inst
    for s in "${SERVICES[@]}"; do
        for inst in $(existing_instances "$s"); do
            if pid=$(inst_pid "$inst"); then printf '%-14s %-8s %s\n' "$inst" "$pid" running; else printf '%-14s %-8s %s\n' "$inst" - stopped; fi
        done
    done
}

ha_usage() {
    sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
}

ha_main() {
    local cmd=${1:-} n pid
    (($#)) && shift
    case $cmd in
    up) ha_up ;;
    down) ha_down ;;
    status) ha_status ;;
    env) cmd_env ;;
    cluster) load_ports && cluster_json ;;
    leader) load_ports && leader ;;
    backup) take_lock; load_ports; cmd_backup "${1:-full}" ;;
    info) load_ports; cmd_info ;;
    restore) (($# == 3)) || ha_usage; load_ports; cmd_restore "$@" ;;
    restore-stop) (($# == 1)) || ha_usage; cmd_restore_stop "$1" ;;
    pg-kill) # kill -9 the node's postmaster (Patroni keeps running)
        (($# == 1)) || ha_usage
        load_ports
        n=$(node_arg "$1")
        pid=$(postmaster_pid "$n") || die "postgres of node$n does not run"
        kill -KILL "$pid"
        printf '%-14s %-8s killed\n' "postgres$n" "$pid"
        ;;
    node-stop) (($# == 1)) || ha_usage; take_lock; load_ports; n=$(node_arg "$1"); node_stop "$n" ;;
    node-start) (($# == 1)) || ha_usage; take_lock; load_ports; n=$(node_arg "$1"); node_start "$n" ;;
    redis-master) load_ports; redis_master ;;
    redis-kill-master) load_ports; cmd_redis_kill_master ;;
    redis-start) take_lock; load_ports; redis_ha_start ;;
    etcd-stop) (($# == 1)) || ha_usage; take_lock; load_ports; etcd_stop "$1" ;;
    etcd-start) (($# == 1)) || ha_usage; take_lock; load_ports; etcd_start "$1" ;;
    start-service) (($# == 1)) || ha_usage; check_name "$1"; cmd_start_service "$1" ;;
    kill-service) (($# == 1)) || ha_usage; check_name "$1"; cmd_kill_service "$1" ;;
    *) ha_usage ;;
    esac
}

ha_main "$@"
