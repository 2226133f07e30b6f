#!/bin/sh
# patroni-entry.sh — the entry point of the Patroni image (docker-compose.yml, profile
# `ha`): reads the passwords `init` made (/pgowner, mode 600, so read as root), hands
# them to Patroni in its environment and runs it as `postgres`.
set -eu
PATRONI_SUPERUSER_PASSWORD=$(cat /pgowner/password)
PATRONI_REPLICATION_PASSWORD=$(cat /pgowner/replication)
export PATRONI_SUPERUSER_PASSWORD PATRONI_REPLICATION_PASSWORD
exec gosu postgres /usr/bin/patroni /etc/patroni/patroni.yml
