/* cluster.c — the HA part of `aidctl health` (ops/ha.sh stacks): the Postgres
 * primary and its standbys with their lag (pg_stat_replication on the primary
 * that AID_PG_DSN's read-write host list leads to), the master the Redis
 * Sentinels name (AID_REDIS_SENTINELS, AID_REDIS_MASTER_NAME), the last
 * pgBackRest backup (pgbackrest info, AID_PGBACKREST_CONFIG and
 * AID_PGBACKREST_STANZA) and the newest restorable moment (the last WAL the
 * primary archived, pg_stat_archiver). */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aidctl.h"

static bool setting(const char *key, char *out, size_t n)
{
    return aidctl_setting(key, out, n) == 0 && out[0];
}

/* The first line of a libpq message (never NULL). */
static const char *first_line(PGconn *c)
{
    static char line[256];
    snprintf(line, sizeof line, "%s", PQerrorMessage(c));
    line[strcspn(line, "\n")] = '\0';
    return line;
}

/* A JSON string member, "?" when absent. */
static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "?";
}

/* The primary, its standbys and their lag, and the last archived WAL. */
static int show_postgres(FILE *out)
{
    char dsn[1024];
    if (!setting("AID_PG_DSN", dsn, sizeof dsn)) {
        fprintf(out, "  primary      ? (no AID_PG_DSN)\n");
        return -1;
    }
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(out, "  primary      none reachable (%s)\n", first_line(c));
        PQfinish(c);
        return -1;
    }
    int rc = 0;
    PGresult *r = PQexec(c, "SELECT pg_is_in_recovery(), coalesce(current_setting('cluster_name', true), ''),"
                            " pg_current_wal_lsn()::text");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        fprintf(out, "  primary      %s:%s%s (WAL at %s)\n", PQhost(c), PQport(c),
                PQgetvalue(r, 0, 0)[0] == 't' ? " READ-ONLY" : "", PQgetvalue(r, 0, 2));
    else
        rc = -1;
    PQclear(r);
    r = PQexec(c, "SELECT coalesce(application_name, '?'), coalesce(host(client_addr), 'local'),"
                  " coalesce(state, '?'), coalesce(sync_state, '?'),"
                  " coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint::text, '?'),"
                  " coalesce(round(extract(epoch FROM replay_lag)::numeric, 3)::text, '0')"
                  " FROM pg_stat_replication ORDER BY 1");
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        if (PQntuples(r) == 0)
            fprintf(out, "  standby      none streaming\n");
        for (int i = 0; i < PQntuples(r); i++)
            fprintf(out, "  standby      %s %s %s %s, lag %s bytes (replay %s s)\n",
                    PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 3),
                    PQgetvalue(r, i, 2), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
    } else {
        fprintf(out, "  standby      ? (%s)\n", first_line(c));
        rc = -1;
    }
    PQclear(r);
    r = PQexec(c, "SELECT coalesce(last_archived_wal, '-'),"
                  " coalesce(to_char(last_archived_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), '-'),"
                  " failed_count, current_setting('archive_mode') FROM pg_stat_archiver");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        if (strcmp(PQgetvalue(r, 0, 3), "off") == 0)
            fprintf(out, "  restorable   WAL is not archived (archive_mode off)\n");
        else
            fprintf(out, "  restorable   up to %s UTC (last archived WAL %s; %s archive attempts failed)\n",
                    PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 2));
    } else {
        rc = -1;
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* Sentinel's master: the first Sentinel that answers. */
static int show_sentinel(FILE *out)
{
    char list[512], name[64];
    if (!setting("AID_REDIS_SENTINELS", list, sizeof list))
        return 0;
    if (!setting("AID_REDIS_MASTER_NAME", name, sizeof name))
        snprintf(name, sizeof name, "aid");
    for (char *save = NULL, *hp = strtok_r(list, ",", &save); hp; hp = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(hp, ':');
        if (!colon)
            continue;
        *colon = '\0';
        struct timeval tv = {1, 0};
        redisContext *rc = redisConnectWithTimeout(hp, atoi(colon + 1), tv);
        if (!rc || rc->err) {
            if (rc)
                redisFree(rc);
            continue;
        }
        redisSetTimeout(rc, tv);
        redisReply *r = redisCommand(rc, "SENTINEL get-master-addr-by-name %s", name);
        bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2;
        if (ok)
            fprintf(out, "  redis        master %s:%s (Sentinel %s:%s, name %s)\n",
                    r->element[0]->str, r->element[1]->str, hp, colon + 1, name);
        if (r)
            freeReplyObject(r);
        redisFree(rc);
        if (ok)
            return 0;
    }
    fprintf(out, "  redis        no Sentinel answers for %s\n", name);
    return -1;
}

/* The last backup in the pgBackRest repository (pgbackrest info --output=json). */
static int show_backup(FILE *out)
{
    char conf[512], stanza[64], cmd[1024];
    if (!setting("AID_PGBACKREST_CONFIG", conf, sizeof conf))
        return 0;
    if (!setting("AID_PGBACKREST_STANZA", stanza, sizeof stanza))
        snprintf(stanza, sizeof stanza, "aid");
    if (strpbrk(conf, "'\\") || strpbrk(stanza, "'\\")) {
        fprintf(out, "  backup       ? (AID_PGBACKREST_CONFIG holds a quote)\n");
        return -1;
    }
    snprintf(cmd, sizeof cmd,
             "pgbackrest --config='%s' --stanza='%s' --log-level-file=off --output=json info 2>/dev/null",
             conf, stanza);
    FILE *p = popen(cmd, "r");
    json_t *info = p ? json_loadf(p, 0, NULL) : NULL;
    if (p)
        pclose(p);
    json_t *st = json_is_array(info) ? json_array_get(info, 0) : NULL;
    json_t *backups = json_object_get(st, "backup");
    size_t n = json_array_size(backups);
    if (!n) {
        fprintf(out, "  backup       none (pgbackrest info: %s)\n",
                st ? jstr(json_object_get(st, "status"), "message") : "no answer");
        json_decref(info);
        return -1;
    }
    json_t *last = json_array_get(backups, n - 1);
    time_t stop = (time_t)json_integer_value(json_object_get(json_object_get(last, "timestamp"), "stop"));
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime(&stop));
    fprintf(out, "  backup       %s %s, ended %s UTC (%zu in the repository)\n",
            jstr(last, "type"), jstr(last, "label"), when, n);
    json_decref(info);
    return 0;
}

int show_cluster(FILE *out)
{
    char v[64];
    bool ha = setting("AID_HA", v, sizeof v) && strcmp(v, "1") == 0;
    if (!ha && !setting("AID_REDIS_SENTINELS", v, sizeof v) &&
        !setting("AID_PGBACKREST_CONFIG", v, sizeof v))
        return 0;
    fprintf(out, "\ncluster\n");
    int rc = show_postgres(out);
    rc |= show_sentinel(out);
    rc |= show_backup(out);
    return rc;
}
