#!/usr/bin/env bash
# ops/k8s/make-secrets.sh OVERLAY — makes, once, the secrets an overlay's
# secretGenerator reads, into OVERLAY/secrets/ (mode 600; git-ignored, never commit
# them): the CURVE key pairs and allow-lists (keys/), the PII key (pii.key) and the
# Postgres owner's password (pgowner/: put the real one of your Patroni cluster into
# pgowner/password and run this again, it rewrites owner.env from it). The service
# roles' passwords are not made here: the migrate Job makes them into Secret
# aid-db-roles. Existing files are kept. Needs bin/aidctl (make), or run the image's
# ops/container/init-secrets.sh with the same variables (README "Kubernetes").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
[[ $# == 1 && -f $1/kustomization.yaml ]] || { echo "usage: $0 ops/k8s/overlays/NAME" >&2; exit 2; }
dir=$(cd "$1" && pwd -P)/secrets
if [[ -s $dir/pgowner/password ]]; then
    (umask 077 && printf 'PGPASSWORD=%s\n' "$(<"$dir/pgowner/password")" >"$dir/pgowner/owner.env")
fi
AID_SECRETS=$dir AID_PGOWNER=$dir/pgowner AID_ROLES=0 AIDCTL=${AIDCTL:-$ROOT/bin/aidctl} \
    "$ROOT/ops/container/init-secrets.sh"
echo "make-secrets: $dir ready; back up pii.key apart from the database (ops/SECURITY.md)"
