#!/usr/bin/env bash
# ops/container/init-secrets.sh — docker-compose's one-shot `init`: makes, once, every
# secret a single-host deployment needs into its volumes (mode 600/700, owned by the
# image's user), and never replaces one that exists (they are the operator's then):
#
#   $AID_SECRETS/keys/{intake,bus,service,client}.key/.pub   CURVE key pairs (aidctl keygen)
#   $AID_SECRETS/keys/allowed_keys      intake's allow-list: client.pub (local-client),
#                                       service.pub (county-services)
#   $AID_SECRETS/keys/bus_allowed_keys  the bus's: service.pub only
#   $AID_SECRETS/pii.key                the key of the personal data at rest (64 hex)
#   $AID_SECRETS/pgpass/<role>          each service role's password (libpq password file)
#   $AID_PGOWNER/password               the owner `postgres`'s password (postgres reads it
#                                       as POSTGRES_PASSWORD_FILE), as a libpq password
#                                       file (pgpass) and as PGPASSWORD=… (owner.env)
#
# The same layout as ops/stack.sh's var/keys and var/pgpass; ops/SECURITY.md says what
# each is for and what to back up (pii.key above all: without it no ID number is readable).
set -euo pipefail
umask 077
S=${AID_SECRETS:-/secrets}
O=${AID_PGOWNER:-/pgowner}
AIDCTL=${AIDCTL:-/app/bin/aidctl}
ROLES=(aid_intake aid_eligibility aid_triggers aid_gateway aid_operator aid_civil aid_tempaid
    aid_medical aid_education aid_housing aid_employment aid_relief aid_social aid_care aid_supervision
    aid_decisions aid_benefits aid_casework aid_departments)

note() { printf 'init: %s\n' "$*"; }
password() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }

mkdir -p "$S/keys" "$O"
[[ ${AID_ROLES:-1} != 1 ]] || mkdir -p "$S/pgpass"
for n in intake bus service client; do
    if [[ ! -s $S/keys/$n.key ]]; then
        rm -f "$S/keys/$n.pub"
        "$AIDCTL" keygen --out "$S/keys" --name "$n" >/dev/null
        note "made the CURVE key pair $n"
    fi
    [[ -s $S/keys/$n.pub ]] || "$AIDCTL" keygen --public-of "$S/keys/$n.key" >"$S/keys/$n.pub"
done
if [[ ! -e $S/keys/allowed_keys ]]; then
    {
        echo "# intake: client keys admitted, KEY NAME a line (ops/SECURITY.md); add each"
        echo "# department's and township app's key here, named after it"
        echo "$(<"$S/keys/client.pub") local-client"
        echo "$(<"$S/keys/service.pub") county-services"
    } >"$S/keys/allowed_keys"
    note "made keys/allowed_keys"
fi
if [[ ! -e $S/keys/bus_allowed_keys ]]; then
    {
        echo "# bus: the county's own services only"
        echo "$(<"$S/keys/service.pub") county-services"
    } >"$S/keys/bus_allowed_keys"
    note "made keys/bus_allowed_keys"
fi
if [[ ! -s $S/pii.key ]]; then
    od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$S/pii.key.tmp"
    echo >>"$S/pii.key.tmp"
    mv -f "$S/pii.key.tmp" "$S/pii.key"
    note "made pii.key: back it up apart from the database (ops/SECURITY.md)"
fi
# (Kubernetes: the migrate Job makes the roles' passwords into a Secret, AID_ROLES=0)
[[ ${AID_ROLES:-1} == 1 ]] || ROLES=()
for r in "${ROLES[@]}"; do
    [[ -s $S/pgpass/$r ]] || printf '*:*:*:%s:%s\n' "$r" "$(password)" >"$S/pgpass/$r"
done
if [[ ! -s $O/password ]]; then
    password >"$O/password"
    note "made the Postgres owner's password"
fi
# the replication user's password, for the Patroni nodes of the `ha` profile
[[ -s $O/replication ]] || password >"$O/replication"
printf '*:*:*:postgres:%s\n' "$(<"$O/password")" >"$O/pgpass"
printf 'PGPASSWORD=%s\n' "$(<"$O/password")" >"$O/owner.env"
note "secrets ready"
