/* db.c — the gateway's tables through one shared libpq connection. */
#include "db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"

const char *const db_role_names[] = {"township", "county", "department", "auditor"};

struct db {
    pthread_mutex_t mu;    /* one statement at a time on the connection */
    store_t *store;
    unsigned counted;      /* login attempts counted (for the counters' clean-up) */
};

int db_role_parse(const char *s)
{
    for (int i = 0; i < ROLE_COUNT; i++)
        if (s && strcmp(s, db_role_names[i]) == 0)
            return i;
    return -1;
}

db_t *db_new(const char *dsn)
{
    db_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store_new(dsn);
    if (!self->store) {
        free(self);
        return NULL;
    }
    pthread_mutex_init(&self->mu, NULL);
    store_t *s = self->store;
    store_prepare(s, "gw_session_get",
                  "UPDATE gateway_sessions s SET last_seen = now()"
                  "  FROM gateway_users u"
                  " WHERE s.token_hash = $1::bytea AND u.username = s.username"
                  "   AND NOT u.disabled AND s.expires_at > now()"
                  "   AND s.last_seen > now() - make_interval(mins => $2::int)"
                  " RETURNING u.username, u.role, u.scope, u.display_name, s.csrf");
    store_prepare(s, "gw_session_add",
                  "INSERT INTO gateway_sessions (token_hash, username, csrf, client, expires_at)"
                  " VALUES ($1::bytea, $2, $3, $4, now() + make_interval(hours => $5::int))");
    store_prepare(s, "gw_session_end",
                  "DELETE FROM gateway_sessions WHERE token_hash = $1::bytea"
                  "   OR ($2::boolean AND username = (SELECT username FROM gateway_sessions"
                  "                                    WHERE token_hash = $1::bytea))");
    store_prepare(s, "gw_session_gc",
                  "DELETE FROM gateway_sessions WHERE expires_at < now() - interval '1 day'");
    store_prepare(s, "gw_user_hash",
                  "SELECT password_hash, role, scope, display_name FROM gateway_users"
                  " WHERE username = $1 AND NOT disabled");
    store_prepare(s, "gw_user_set_hash",
                  "WITH u AS (UPDATE gateway_users SET password_hash = $2, updated_at = now()"
                  "            WHERE username = $1 RETURNING username)"
                  "DELETE FROM gateway_sessions WHERE username IN (SELECT username FROM u)"
                  "   AND created_at < now()");
    /* one statement counts the attempt against both limits (048); rows in
     * key order ('client:' < 'user:'), the order an index scan locks them */
    store_prepare(s, "gw_login_count",
                  "INSERT INTO gateway_login_counts AS c (key, attempts)"
                  " VALUES ('client:' || $2, 1), ('user:' || $1, 1)"
                  " ON CONFLICT (key) DO UPDATE SET"
                  "   attempts = CASE WHEN c.since > now() - make_interval(mins => $3::int)"
                  "                   THEN c.attempts + 1 ELSE 1 END,"
                  "   since = CASE WHEN c.since > now() - make_interval(mins => $3::int)"
                  "                THEN c.since ELSE now() END"
                  " RETURNING key LIKE 'user:%', attempts");
    store_prepare(s, "gw_login_credit",
                  "UPDATE gateway_login_counts"
                  "   SET attempts = greatest(attempts - 1, 0)"
                  " WHERE key IN ('client:' || $2, 'user:' || $1)");
    store_prepare(s, "gw_login_gc",
                  "DELETE FROM gateway_login_counts"
                  " WHERE since < now() - make_interval(mins => $1::int)");
    store_prepare(s, "gw_login_record",
                  "INSERT INTO gateway_logins (username, client, ok) VALUES ($1, $2, $3::boolean)");
    store_prepare(s, "gw_audit_add",
                  "INSERT INTO gateway_audit (username, role, action, case_id, detail, client)"
                  " VALUES ($1, $2, $3, $4, $5, $6)");
    store_prepare(s, "gw_audit_list",
                  "SELECT audit_id, to_char(at AT TIME ZONE 'Asia/Shanghai',"
                  "                         'YYYY-MM-DD HH24:MI:SS \"(UTC+8)\"'),"
                  "       username, role, action, case_id, detail, client"
                  "  FROM gateway_audit"
                  " WHERE ($1 = '' OR case_id = $1) AND ($2 = '' OR username = $2)"
                  " ORDER BY audit_id DESC LIMIT $3::int");
    store_prepare(s, "gw_places", "SELECT code, name FROM places ORDER BY code");
    return self;
}

void db_destroy(db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    db_t *self = *self_p;
    store_destroy(&self->store);
    pthread_mutex_destroy(&self->mu);
    free(self);
    *self_p = NULL;
}

/* Runs one prepared statement under the lock; the caller PQclear()s. */
static PGresult *run(db_t *self, const char *stmt, int n, const char *const *vals,
                     const int *lens, const int *fmts)
{
    pthread_mutex_lock(&self->mu);
    PGresult *r = NULL;
    if (store_ready(self->store)) {
        r = store_exec_bin(self->store, stmt, n, vals, lens, fmts);
        if (!r)
            log_warn("gateway.db_failed", "statement", LOG_S(stmt), "error",
                     LOG_S(store_errmsg(self->store)), NULL);
    }
    pthread_mutex_unlock(&self->mu);
    return r;
}

static void copy(char *dst, size_t dstsz, const char *src) { snprintf(dst, dstsz, "%s", src); }

static void fill_user(PGresult *r, int row, int first, db_user_t *user)
{
    copy(user->username, sizeof user->username, PQgetvalue(r, row, first));
    int role = db_role_parse(PQgetvalue(r, row, first + 1));
    user->role = role < 0 ? ROLE_AUDITOR : (role_t)role; /* the table's CHECK makes it known */
    copy(user->scope, sizeof user->scope, PQgetvalue(r, row, first + 2));
    copy(user->display, sizeof user->display, PQgetvalue(r, row, first + 3));
}

int db_session_get(db_t *self, const unsigned char hash[32], int idle_minutes, db_user_t *user)
{
    char mins[16];
    snprintf(mins, sizeof mins, "%d", idle_minutes);
    const char *vals[2] = {(const char *)hash, mins};
    const int lens[2] = {32, 0}, fmts[2] = {1, 0};
    PGresult *r = run(self, "gw_session_get", 2, vals, lens, fmts);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        memset(user, 0, sizeof *user);
        fill_user(r, 0, 0, user);
        copy(user->csrf, sizeof user->csrf, PQgetvalue(r, 0, 4));
    }
    PQclear(r);
    return found;
}

int db_session_add(db_t *self, const unsigned char hash[32], const char *username,
                   const char *csrf, const char *client, int hours)
{
    char h[16];
    snprintf(h, sizeof h, "%d", hours);
    const char *vals[5] = {(const char *)hash, username, csrf, client, h};
    const int lens[5] = {32, 0, 0, 0, 0}, fmts[5] = {1, 0, 0, 0, 0};
    PGresult *r = run(self, "gw_session_add", 5, vals, lens, fmts);
    if (!r)
        return -1;
    PQclear(r);
    /* now and then, forget sessions long expired */
    r = run(self, "gw_session_gc", 0, NULL, NULL, NULL);
    PQclear(r);
    return 0;
}

int db_session_end(db_t *self, const unsigned char hash[32], bool all_of_user)
{
    const char *vals[2] = {(const char *)hash, all_of_user ? "true" : "false"};
    const int lens[2] = {32, 0}, fmts[2] = {1, 0};
    PGresult *r = run(self, "gw_session_end", 2, vals, lens, fmts);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int db_user_hash(db_t *self, const char *username, char *hash, size_t hashsz, db_user_t *user)
{
    PGresult *r = run(self, "gw_user_hash", 1, &username, NULL, NULL);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        copy(hash, hashsz, PQgetvalue(r, 0, 0));
        memset(user, 0, sizeof *user);
        copy(user->username, sizeof user->username, username);
        int role = db_role_parse(PQgetvalue(r, 0, 1));
        user->role = role < 0 ? ROLE_AUDITOR : (role_t)role;
        copy(user->scope, sizeof user->scope, PQgetvalue(r, 0, 2));
        copy(user->display, sizeof user->display, PQgetvalue(r, 0, 3));
    }
    PQclear(r);
    return found;
}

int db_user_set_hash(db_t *self, const char *username, const char *hash)
{
    const char *vals[2] = {username, hash};
    PGresult *r = run(self, "gw_user_set_hash", 2, vals, NULL, NULL);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int db_login_count(db_t *self, const char *username, const char *client, int window_minutes,
                   int *by_user, int *by_client)
{
    char mins[16];
    snprintf(mins, sizeof mins, "%d", window_minutes);
    const char *vals[3] = {username, client, mins};
    PGresult *r = run(self, "gw_login_count", 3, vals, NULL, NULL);
    if (!r)
        return -1;
    *by_user = *by_client = 0;
    for (int i = 0; i < PQntuples(r); i++)
        *(strcmp(PQgetvalue(r, i, 0), "t") == 0 ? by_user : by_client) =
            atoi(PQgetvalue(r, i, 1));
    PQclear(r);
    /* now and then, forget counters whose window has passed */
    pthread_mutex_lock(&self->mu);
    bool gc = ++self->counted % 256 == 0;
    pthread_mutex_unlock(&self->mu);
    if (gc)
        PQclear(run(self, "gw_login_gc", 1, (const char *const[]){mins}, NULL, NULL));
    return 0;
}

int db_login_credit(db_t *self, const char *username, const char *client)
{
    const char *vals[2] = {username, client};
    PGresult *r = run(self, "gw_login_credit", 2, vals, NULL, NULL);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int db_login_record(db_t *self, const char *username, const char *client, bool ok)
{
    const char *vals[3] = {username, client, ok ? "true" : "false"};
    PGresult *r = run(self, "gw_login_record", 3, vals, NULL, NULL);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int db_audit_add(db_t *self, const db_user_t *user, const char *action, const char *case_id,
                 const char *detail, const char *client)
{
    const char *vals[6] = {user->username, db_role_names[user->role], action,
                           case_id ? case_id : "", detail ? detail : "", client ? client : ""};
    PGresult *r = run(self, "gw_audit_add", 6, vals, NULL, NULL);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

json_t *db_audit_list(db_t *self, const char *case_id, const char *username, int limit)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *vals[3] = {case_id ? case_id : "", username ? username : "", lim};
    PGresult *r = run(self, "gw_audit_list", 3, vals, NULL, NULL);
    if (!r)
        return NULL;
    static const char *const cols[] = {"audit_id", "at", "username", "role",
                                       "action", "case_id", "detail", "client"};
    json_t *rows = json_array();
    for (int i = 0; rows && i < PQntuples(r); i++) {
        json_t *row = json_object();
        if (!row || json_array_append_new(rows, row) != 0) {
            json_decref(rows);
            rows = NULL;
            break;
        }
        json_object_set_new(row, cols[0], json_integer(atoll(PQgetvalue(r, i, 0))));
        for (int c = 1; c < 8; c++)
            json_object_set_new(row, cols[c], json_string(PQgetvalue(r, i, c)));
    }
    PQclear(r);
    return rows;
}

json_t *db_places(db_t *self)
{
    PGresult *r = run(self, "gw_places", 0, NULL, NULL, NULL);
    if (!r)
        return NULL;
    json_t *names = json_object();
    for (int i = 0; names && i < PQntuples(r); i++)
        json_object_set_new(names, PQgetvalue(r, i, 0), json_string(PQgetvalue(r, i, 1)));
    PQclear(r);
    return names;
}
