#!/usr/bin/env bash
# ops/container/migrate.sh — the one-shot `migrate` of docker-compose.yml and the
# Kubernetes Job aid-migrate (ops/k8s/base/migrate-job.yaml). As the schema's owner
# (PGHOST, PGPORT, PGUSER=postgres, PGDATABASE, and PGPASSWORD or PGPASSFILE — libpq's
# own variables), exactly like ops/stack.sh on a workstation:
#   1. applies every $AID_MIGRATIONS/*.sql (name order) not yet in schema_migrations,
#      each file with its row in one transaction; then every $AID_SQL/*.sql (the
#      functions by domain, ops/sql/README.md), each time, in name order;
#   2. gives each service role (ops/migrations/040_roles.sql) LOGIN and its password —
#      kept, never rotated by a re-run — from one of:
#        AID_ROLE_PASSWORDS=DIR   one libpq password file per role, DIR/<role> (compose;
#                                 made here when missing)
#        AID_ROLES_SECRET=NAME    the Kubernetes Secret NAME of this namespace, one key
#                                 per role; missing ones are generated and written to
#                                 it through the API (the pod's ServiceAccount may get,
#                                 create and patch it), before the roles get them
#   3. makes the web console's first account AID_ADMIN_USER (default admin, a county
#      officer) when it does not exist, with the password of AID_ADMIN_PASSWORD_FILE
#      (compose; made when missing) or of the Secret AID_ADMIN_SECRET (Kubernetes,
#      key AID_ADMIN_PASSWORD; generated when missing).
set -euo pipefail
MIGRATIONS=${AID_MIGRATIONS:-/app/migrations}
SQL=${AID_SQL:-/app/sql}
AIDCTL=${AIDCTL:-/app/bin/aidctl}
ROLES=(aid_intake aid_eligibility aid_triggers aid_gateway aid_operator aid_civil aid_tempaid
    aid_medical aid_education aid_housing aid_employment aid_relief aid_social aid_care aid_supervision
    aid_decisions aid_benefits aid_casework aid_departments)
ADMIN_USER=${AID_ADMIN_USER:-admin}
export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5}

note() { printf 'migrate: %s\n' "$*"; }
die() { printf 'migrate: error: %s\n' "$*" >&2; exit 1; }
password() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# ---------------------------------------------------------------- Kubernetes Secrets
# (AID_K8S_API and AID_K8S_SA point elsewhere only in tests: a fake API server)
SA=${AID_K8S_SA:-/var/run/secrets/kubernetes.io/serviceaccount}
API=${AID_K8S_API:-https://kubernetes.default.svc}
k8s_curl() { # METHOD PATH [BODY CONTENT-TYPE] -> body in $K8S_OUT, HTTP status echoed
    local -a args=(-sS -o "$K8S_OUT" -w '%{http_code}' -X "$1" --max-time 20
        -H "Authorization: Bearer $(<"$SA/token")")
    [[ ! -e $SA/ca.crt ]] || args+=(--cacert "$SA/ca.crt")
    [[ -z ${3:-} ]] || args+=(-H "Content-Type: $4" --data-binary "$3")
    curl "${args[@]}" "$API/api/v1/namespaces/$(<"$SA/namespace")/secrets$2"
}
# secret_read NAME: the Secret's data as KEY=VALUE lines (decoded); none if absent.
secret_read() {
    local code
    code=$(k8s_curl GET "/$1?pretty=true") || die "cannot reach the Kubernetes API at $API"
    [[ $code == 404 ]] && return 0
    [[ $code == 200 ]] || die "reading Secret $1: HTTP $code $(head -c 300 "$K8S_OUT")"
    awk '/^  "data": \{/ {d=1; next} d && /^  \}/ {d=0} d' "$K8S_OUT" |
        sed -n 's/^ *"\([A-Za-z0-9_.-]*\)": "\([A-Za-z0-9+\/=]*\)",\{0,1\}$/\1 \2/p' |
        while read -r k v; do printf '%s=%s\n' "$k" "$(printf '%s' "$v" | base64 -d)"; done
}
# secret_write NAME K=V...: creates the Secret or merges the keys into it (values are
# our own passwords: [A-Za-z0-9_-] only, nothing to escape in JSON).
secret_write() {
    local name=$1 kv json="" code
    shift
    for kv in "$@"; do json+="${json:+,}\"${kv%%=*}\":\"${kv#*=}\""; done
    code=$(k8s_curl PATCH "/$name" "{\"stringData\":{$json}}" application/merge-patch+json) ||
        die "cannot reach the Kubernetes API at $API"
    if [[ $code == 404 ]]; then
        code=$(k8s_curl POST "" "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"type\":\"Opaque\",\"metadata\":{\"name\":\"$name\",\"labels\":{\"app.kubernetes.io/part-of\":\"aid\",\"app.kubernetes.io/managed-by\":\"aid-migrate\"}},\"stringData\":{$json}}" application/json) ||
            die "cannot reach the Kubernetes API at $API"
    fi
    [[ $code == 200 || $code == 201 ]] || die "writing Secret $name: HTTP $code $(head -c 300 "$K8S_OUT")"
    note "Secret $name holds ${#@} key(s)"
}

# ---------------------------------------------------------------- 1. migrations
psql_q -c "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
n=0
for f in "$MIGRATIONS"/*.sql; do
    [[ -e $f ]] || continue
    name=$(basename "$f")
    seen=$(echo "SELECT 1 FROM schema_migrations WHERE name = :'n';" | psql -X -tA -v n="$name" -f -)
    [[ $seen == 1 ]] && continue
    note "applying $name"
    echo "INSERT INTO schema_migrations (name) VALUES (:'n');" |
        psql_q -1 -v n="$name" -f "$f" -f - || die "migration $name failed and was rolled back"
    n=$((n + 1))
done
note "migrations up to date ($n applied now)"
# The functions by domain: only the files that changed since they were last applied
# (their sha256 in schema_functions), or all of them when a migration ran now; each
# with its row in one transaction. Re-creating a trigger or a policy locks its table:
# a deadlock or lock timeout with the running services is tried again.
force=$((n > 0))
psql_q -c "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS schema_functions (name text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
known=$(psql -X -tA -F ' ' -c 'SELECT name, sha256 FROM schema_functions')
n=0 total=0
for f in "$SQL"/*.sql; do
    [[ -e $f ]] || die "no functions in $SQL"
    name=$(basename "$f")
    sum=$(sha256sum "$f" | cut -d' ' -f1)
    total=$((total + 1))
    ((force)) || ! grep -qxF -- "$name $sum" <<<"$known" || continue
    for try in 1 2 3 4 5; do
        if out=$(echo "INSERT INTO schema_functions (name, sha256) VALUES (:'f', :'h') ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now();" |
            psql_q -1 -v f="$name" -v h="$sum" -c "SET client_min_messages = warning; SET lock_timeout = '5s'" -f "$f" -f - 2>&1); then
            break
        fi
        grep -qE 'deadlock detected|lock timeout' <<<"$out" && ((try < 5)) || {
            printf '%s\n' "$out" >&2
            die "functions $name failed and were rolled back"
        }
        note "functions $name: a lock conflict with the running services; again ($try)"
        sleep 1
    done
    n=$((n + 1))
done
note "functions: $n of $total files applied (the others unchanged)"

# ---------------------------------------------------------------- 2. role passwords
declare -A PW=()
if [[ -n ${AID_ROLES_SECRET:-} || -n ${AID_ADMIN_SECRET:-} ]]; then
    K8S_OUT=$(mktemp)
    trap 'rm -f "$K8S_OUT"' EXIT
fi
if [[ -n ${AID_ROLES_SECRET:-} ]]; then
    while IFS='=' read -r k v; do [[ -z $k ]] || PW[$k]=$v; done < <(secret_read "$AID_ROLES_SECRET")
    missing=()
    for r in "${ROLES[@]}"; do
        [[ -n ${PW[$r]:-} ]] && continue
        PW[$r]=$(password)
        missing+=("$r=${PW[$r]}")
    done
    ((${#missing[@]} == 0)) || secret_write "$AID_ROLES_SECRET" "${missing[@]}"
elif [[ -n ${AID_ROLE_PASSWORDS:-} ]]; then
    (umask 077 && mkdir -p "$AID_ROLE_PASSWORDS")
    for r in "${ROLES[@]}"; do
        f=$AID_ROLE_PASSWORDS/$r
        [[ -s $f ]] || (umask 077 && printf '*:*:*:%s:%s\n' "$r" "$(password)" >"$f")
        l=$(<"$f")
        PW[$r]=${l##*:}
    done
else
    die "set AID_ROLES_SECRET (Kubernetes) or AID_ROLE_PASSWORDS (a directory)"
fi
for r in "${ROLES[@]}"; do
    echo "ALTER ROLE $r LOGIN PASSWORD :'pw';" | psql_q -v pw="${PW[$r]}" -f - ||
        die "cannot give role $r its password (040_roles.sql applied?)"
done
note "service roles ready (${#ROLES[@]})"

# ---------------------------------------------------------------- 3. the console's first account
exists=$(echo "SELECT 1 FROM gateway_users WHERE username = :'u';" | psql -X -tA -v u="$ADMIN_USER" -f -)
if [[ $exists != 1 ]]; then
    if [[ -n ${AID_ADMIN_SECRET:-} ]]; then
        admin_pw=$(secret_read "$AID_ADMIN_SECRET" | sed -n 's/^AID_ADMIN_PASSWORD=//p')
        if [[ -z $admin_pw ]]; then
            admin_pw=$(password)
            secret_write "$AID_ADMIN_SECRET" "AID_ADMIN_PASSWORD=$admin_pw"
        fi
    else
        pwfile=${AID_ADMIN_PASSWORD_FILE:-/secrets/admin.password}
        [[ -s $pwfile ]] || (umask 077 && password >"$pwfile")
        admin_pw=$(<"$pwfile")
    fi
    printf '%s\n' "$admin_pw" |
        AID_PG_DSN="host=${PGHOST:-127.0.0.1} port=${PGPORT:-5432} dbname=${PGDATABASE:-aid} user=${PGUSER:-postgres}" \
            "$AIDCTL" user add "$ADMIN_USER" county "" "县民政局管理员" >/dev/null ||
        die "cannot create the web console account $ADMIN_USER"
    note "web console account $ADMIN_USER (county officer) created"
fi
note "done"
