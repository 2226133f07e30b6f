/* user.c — `aidctl user`: the web console's staff accounts (gateway_users,
 * ops/migrations/030_gateway.sql).
 *
 *   aidctl user add NAME ROLE [SCOPE [DISPLAY_NAME]]
 *   aidctl user passwd NAME
 *   aidctl user list
 *   aidctl user disable NAME | enable NAME
 *
 * An operator's tool: it talks to Postgres directly (AID_PG_DSN, else from
 * $AID_VAR/stack.env, else ./var/stack.env), not through the intake API,
 * because accounts are the gateway's own data and the contract has no
 * operation for them. The password is read from standard input (one line;
 * on a terminal it is asked twice without echo); an empty line makes aidctl
 * generate one and print it on standard error. It is stored only as an argon2id string
 * (libsodium crypto_pwhash_str), as the gateway checks it. Changing a
 * password or disabling an account ends that user's sessions. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "aidctl.h"
#include "config.h"

#define PW_MIN 10
#define PW_MAX 128

static const char *const roles[] = {"township", "county", "department", "auditor", NULL};
static const char *const departments[] = {"civil",   "tempaid",    "medical", "education", "housing",
                                          "employment", "relief", "social",  "care",      NULL};

static int usage(const char *msg)
{
    fprintf(stderr,
            "aidctl: %s\n"
            "Usage: aidctl user add NAME ROLE [SCOPE [DISPLAY_NAME]]   (password on stdin)\n"
            "       aidctl user passwd NAME                          (password on stdin)\n"
            "       aidctl user list | disable NAME | enable NAME\n"
            "ROLE: township (SCOPE = 9-digit township code), county, department (SCOPE =\n"
            "civil, tempaid, medical, education, housing, employment, relief, social or\n"
            "care), auditor.\n",
            msg);
    return AIDCTL_EXIT_USAGE;
}

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static bool username_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (i > 0 && (c == '.' || c == '_' || c == '-'))))
            return false;
    }
    return true;
}

/* KEY=VALUE from a stack.env file (the format ops/stack.sh writes). */
static int env_file_value(const char *path, const char *key, char *out, size_t outsz)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[2048];
    size_t klen = strlen(key);
    int rc = -1;
    while (rc != 0 && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) != 0 || line[klen] != '=')
            continue;
        line[strcspn(line, "\r\n")] = '\0';
        if (strlen(line + klen + 1) < outsz) {
            strcpy(out, line + klen + 1);
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

/* key from the environment, else from $AID_VAR/stack.env, else ./var/stack.env. */
static int find_dsn(const char *key, char *dsn, size_t dsnsz)
{
    const char *env = config_str(key, NULL);
    if (env) {
        snprintf(dsn, dsnsz, "%s", env);
        return 0;
    }
    char path[4096];
    const char *var = config_str("AID_VAR", NULL);
    if (var) {
        snprintf(path, sizeof path, "%s/stack.env", var);
        if (env_file_value(path, key, dsn, dsnsz) == 0)
            return 0;
    }
    return env_file_value("var/stack.env", key, dsn, dsnsz);
}

int aidctl_setting(const char *key, char *out, size_t outsz)
{
    return find_dsn(key, out, outsz);
}

PGconn *aidctl_pg_connect(const char *key)
{
    char dsn[1024];
    if ((!key || find_dsn(key, dsn, sizeof dsn) != 0) &&
        find_dsn("AID_PG_DSN", dsn, sizeof dsn) != 0)
        snprintf(dsn, sizeof dsn, "host=127.0.0.1 dbname=aid");
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "aidctl: cannot connect to Postgres: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

PGresult *aidctl_pg_run(PGconn *c, const char *sql, int n, const char *const *vals,
                        const char *missing)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state && strcmp(state, "42P01") == 0 && missing)
        fprintf(stderr, "aidctl: %s\n", missing);
    else
        fprintf(stderr, "aidctl: %s", PQerrorMessage(c));
    PQclear(r);
    return NULL;
}

/* The accounts' statements, with what a missing table means. */
static PGresult *run(PGconn *c, const char *sql, int n, const char *const *vals)
{
    return aidctl_pg_run(c, sql, n, vals,
                         "the accounts table is missing: run `make up` (migration 030)");
}

/* Reads one line of stdin into pw; on a terminal without echo, twice. */
static int read_password(char *pw, size_t pwsz)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    char again[PW_MAX + 8];
    for (int round = 0; round < (tty ? 2 : 1); round++) {
        char *dst = round == 0 ? pw : again;
        size_t dstsz = round == 0 ? pwsz : sizeof again;
        if (tty) {
            fprintf(stderr, round == 0 ? "Password (empty: generate one): " : "Again: ");
            tcgetattr(STDIN_FILENO, &old);
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
        }
        char *got = fgets(dst, (int)dstsz, stdin);
        if (tty) {
            tcsetattr(STDIN_FILENO, TCSANOW, &old);
            fputc('\n', stderr);
        }
        if (!got)
            dst[0] = '\0';
        dst[strcspn(dst, "\r\n")] = '\0';
    }
    if (tty && strcmp(pw, again) != 0) {
        fprintf(stderr, "aidctl: the passwords differ\n");
        return -1;
    }
    return 0;
}

/* The password to set: read, or generated (and printed) when empty. */
static int new_password(char *hash, size_t hashsz)
{
    char pw[PW_MAX + 8];
    if (read_password(pw, sizeof pw) != 0)
        return -1;
    if (!pw[0]) {
        unsigned char rnd[12];
        randombytes_buf(rnd, sizeof rnd);
        sodium_bin2base64(pw, sizeof pw, rnd, sizeof rnd, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        fprintf(stderr, "generated password: %s\n", pw);
    }
    size_t n = strlen(pw);
    if (n < PW_MIN || n > PW_MAX) {
        fprintf(stderr, "aidctl: a password has %d to %d characters\n", PW_MIN, PW_MAX);
        return -1;
    }
    int rc = crypto_pwhash_str_alg(hash, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                   crypto_pwhash_MEMLIMIT_INTERACTIVE,
                                   crypto_pwhash_ALG_ARGON2ID13);
    sodium_memzero(pw, sizeof pw);
    (void)hashsz;
    if (rc != 0)
        fprintf(stderr, "aidctl: out of memory hashing the password\n");
    return rc;
}

static int user_add(PGconn *c, const aidctl_opts_t *o)
{
    if (o->nargs < 3 || o->nargs > 5)
        return usage("user add needs NAME ROLE [SCOPE [DISPLAY_NAME]]");
    const char *name = o->args[1], *role = o->args[2];
    const char *scope = o->nargs > 3 ? o->args[3] : "";
    const char *display = o->nargs > 4 ? o->args[4] : "";
    if (!username_valid(name))
        return usage("NAME: 2-32 of a-z 0-9 . _ - (starting with a letter or digit)");
    if (!in_list(roles, role))
        return usage("unknown ROLE");
    bool scoped = strcmp(role, "township") == 0 || strcmp(role, "department") == 0;
    if (scoped && !*scope)
        return usage("this ROLE needs a SCOPE");
    if (!scoped && *scope)
        return usage("this ROLE takes no SCOPE (give \"\" before a DISPLAY_NAME)");
    if (strcmp(role, "township") == 0 && (strlen(scope) != 9 || strspn(scope, "0123456789") != 9))
        return usage("a township SCOPE is a 9-digit township code");
    if (strcmp(role, "department") == 0 && !in_list(departments, scope))
        return usage("unknown department");
    char hash[crypto_pwhash_STRBYTES];
    if (new_password(hash, sizeof hash) != 0)
        return AIDCTL_EXIT_USAGE;
    const char *vals[5] = {name, role, scope, display, hash};
    PGresult *r = run(c,
                      "INSERT INTO gateway_users (username, role, scope, display_name, password_hash)"
                      " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING",
                      5, vals);
    if (!r)
        return AIDCTL_EXIT_UNAVAILABLE;
    bool added = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    if (!added) {
        fprintf(stderr, "aidctl: user %s exists (use `aidctl user passwd %s`)\n", name, name);
        return AIDCTL_EXIT_REFUSED;
    }
    if (!o->json)
        printf("added %s (%s%s%s)\n", name, role, *scope ? " " : "", scope);
    else
        printf("{\"username\": \"%s\", \"role\": \"%s\", \"scope\": \"%s\"}\n", name, role, scope);
    return AIDCTL_EXIT_OK;
}

static int user_passwd(PGconn *c, const aidctl_opts_t *o)
{
    if (o->nargs != 2)
        return usage("user passwd needs NAME");
    char hash[crypto_pwhash_STRBYTES];
    if (new_password(hash, sizeof hash) != 0)
        return AIDCTL_EXIT_USAGE;
    const char *vals[2] = {o->args[1], hash};
    PGresult *r = run(c,
                      "WITH u AS (UPDATE gateway_users SET password_hash = $2, updated_at = now()"
                      "           WHERE username = $1 RETURNING username),"
                      "     s AS (DELETE FROM gateway_sessions"
                      "           WHERE username IN (SELECT username FROM u))"
                      "SELECT count(*) FROM u",
                      2, vals);
    if (!r)
        return AIDCTL_EXIT_UNAVAILABLE;
    bool found = strcmp(PQgetvalue(r, 0, 0), "1") == 0;
    PQclear(r);
    if (!found) {
        fprintf(stderr, "aidctl: no user %s\n", o->args[1]);
        return AIDCTL_EXIT_REFUSED;
    }
    if (!o->json)
        printf("password of %s changed; their sessions ended\n", o->args[1]);
    return AIDCTL_EXIT_OK;
}

static int user_enable(PGconn *c, const aidctl_opts_t *o, bool enable)
{
    if (o->nargs != 2)
        return usage("user disable|enable needs NAME");
    const char *vals[2] = {o->args[1], enable ? "false" : "true"};
    PGresult *r = run(c,
                      "WITH u AS (UPDATE gateway_users SET disabled = $2::boolean,"
                      "           updated_at = now() WHERE username = $1 RETURNING username),"
                      "     s AS (DELETE FROM gateway_sessions"
                      "           WHERE username IN (SELECT username FROM u))"
                      "SELECT count(*) FROM u",
                      2, vals);
    if (!r)
        return AIDCTL_EXIT_UNAVAILABLE;
    bool found = strcmp(PQgetvalue(r, 0, 0), "1") == 0;
    PQclear(r);
    if (!found) {
        fprintf(stderr, "aidctl: no user %s\n", o->args[1]);
        return AIDCTL_EXIT_REFUSED;
    }
    if (!o->json)
        printf("%s %s\n", o->args[1], enable ? "enabled" : "disabled; their sessions ended");
    return AIDCTL_EXIT_OK;
}

void aidctl_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static int user_list(PGconn *c, const aidctl_opts_t *o)
{
    if (o->nargs != 1)
        return usage("user list takes no argument");
    PGresult *r = run(c,
                      "SELECT username, role, scope, display_name, disabled,"
                      "       to_char(created_at, 'YYYY-MM-DD')"
                      "  FROM gateway_users ORDER BY username",
                      0, NULL);
    if (!r)
        return AIDCTL_EXIT_UNAVAILABLE;
    int n = PQntuples(r);
    if (o->json) {
        printf("[");
        for (int i = 0; i < n; i++) {
            printf("%s\n  {\"username\": ", i ? "," : "");
            aidctl_json_str(PQgetvalue(r, i, 0));
            printf(", \"role\": ");
            aidctl_json_str(PQgetvalue(r, i, 1));
            printf(", \"scope\": ");
            aidctl_json_str(PQgetvalue(r, i, 2));
            printf(", \"display_name\": ");
            aidctl_json_str(PQgetvalue(r, i, 3));
            printf(", \"disabled\": %s}", PQgetvalue(r, i, 4)[0] == 't' ? "true" : "false");
        }
        printf("%s]\n", n ? "\n" : "");
    } else {
        printf("%-20s %-11s %-10s %-9s %-10s %s\n", "USER", "ROLE", "SCOPE", "STATE", "CREATED",
               "NAME");
        for (int i = 0; i < n; i++)
            printf("%-20s %-11s %-10s %-9s %-10s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                   PQgetvalue(r, i, 2), PQgetvalue(r, i, 4)[0] == 't' ? "disabled" : "active",
                   PQgetvalue(r, i, 5), PQgetvalue(r, i, 3));
    }
    PQclear(r);
    return AIDCTL_EXIT_OK;
}

int cmd_user(const aidctl_opts_t *o)
{
    if (o->nargs < 1)
        return usage("user needs add, passwd, list, disable or enable");
    if (sodium_init() < 0) {
        fprintf(stderr, "aidctl: libsodium cannot start\n");
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    const char *sub = o->args[0];
    if (strcmp(sub, "add") && strcmp(sub, "passwd") && strcmp(sub, "list") &&
        strcmp(sub, "disable") && strcmp(sub, "enable"))
        return usage("unknown user command");
    PGconn *c = aidctl_pg_connect(NULL);
    if (!c)
        return AIDCTL_EXIT_UNAVAILABLE;
    int rc = strcmp(sub, "add") == 0      ? user_add(c, o)
             : strcmp(sub, "passwd") == 0 ? user_passwd(c, o)
             : strcmp(sub, "list") == 0   ? user_list(c, o)
                                          : user_enable(c, o, strcmp(sub, "enable") == 0);
    PQfinish(c);
    return rc;
}
