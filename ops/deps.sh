#!/usr/bin/env bash
# deps.sh — installs the Debian packages the project needs, only those missing.
# `ops/deps.sh ha` adds those of the HA stack (ops/ha.sh, make up-ha / test-ha):
# Patroni, etcd, pgBackRest, Redis Sentinel — plain `make test` does not need them.
set -euo pipefail
pkgs=(build-essential pkg-config libzmq3-dev libhiredis-dev libpq-dev libmsgpack-dev
      libcmocka-dev libjansson-dev libmicrohttpd-dev libsodium-dev postgresql redis-server python3-zmq python3-msgpack
      python3-pytest python3-requests python3-yaml docker-compose iproute2 procps)
[[ ${1:-} != ha ]] || pkgs+=(patroni python3-etcd etcd-server pgbackrest redis-sentinel)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
