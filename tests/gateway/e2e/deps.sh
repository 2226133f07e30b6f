#!/usr/bin/env bash
# tests/gateway/e2e/deps.sh — what the browser test needs, installed when missing:
# Debian's chromium and chromium-driver, a CJK font (the pages are Chinese),
# Node.js with npm, and playwright-core from package-lock.json (npm ci; node_modules
# is never committed). Exit 0 when everything is there, 1 when something could not be
# installed (the caller then skips the e2e test and says why).
set -uo pipefail
cd "$(dirname "$0")"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in chromium chromium-driver fonts-wqy-microhei; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    echo "e2e deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } ||
        { echo "e2e deps: apt-get could not install ${missing[*]}"; exit 1; }
fi
[ -x /usr/bin/chromium ] || { echo "e2e deps: /usr/bin/chromium is missing"; exit 1; }
if [ ! -f node_modules/playwright-core/package.json ]; then
    echo "e2e deps: npm ci (playwright-core)"
    npm ci --no-audit --no-fund --loglevel=error || { echo "e2e deps: npm ci failed"; exit 1; }
fi
exit 0
