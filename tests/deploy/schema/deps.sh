#!/usr/bin/env bash
# tests/deploy/schema/deps.sh — Node.js, npm and kubernetes-models from
# package-lock.json (npm ci; node_modules is never committed), installed when missing.
# Exit 0 when there, 1 when they could not be installed (tests/deploy then skips the
# schema check and says why).
set -uo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends nodejs npm; } ||
        { echo "schema deps: apt-get could not install nodejs npm"; exit 1; }
fi
if [ ! -f node_modules/kubernetes-models/package.json ]; then
    echo "schema deps: npm ci (kubernetes-models)"
    npm ci --no-audit --no-fund --loglevel=error || { echo "schema deps: npm ci failed"; exit 1; }
fi
exit 0
