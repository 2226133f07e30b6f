#!/usr/bin/env bash
# ops/container/healthcheck.sh — the image's HEALTHCHECK (and a probe for anything
# that can run a command): GET /healthz (liveness; `healthcheck.sh ready`: /readyz,
# 503 while Postgres is unreachable) on the process's own HTTP port, found from its
# environment: AID_HEALTH_PORT, else AID_METRICS_PORT (every service but the bus),
# else the port of AID_GATEWAY_URL (the web console). The bus serves no HTTP: its
# subscriber port (AID_BUS_SUB_BIND) must accept a connection. No curl needed: bash's
# /dev/tcp, every wait bounded (3 s). Exit 0 healthy, 1 not.
set -u
path=/healthz
[[ ${1:-} == ready ]] && path=/readyz
port=${AID_HEALTH_PORT:-${AID_METRICS_PORT:-}}
[[ $port != 0 ]] || port=""   # AID_METRICS_PORT=0: no metrics port
if [[ -z $port && ${AID_GATEWAY_URL:-} =~ :([0-9]+)/?$ ]]; then port=${BASH_REMATCH[1]}; fi
if [[ -z $port ]]; then
    [[ ${AID_BUS_SUB_BIND:-} =~ :([0-9]+)$ ]] || { echo "healthcheck: no port to probe" >&2; exit 1; }
    exec timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "${BASH_REMATCH[1]}"
fi
exec timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" "$2" >&3
    IFS= read -r status <&3 || exit 1
    [[ $status == "HTTP/1."[01]" 200 "* ]]' _ "$port" "$path"
