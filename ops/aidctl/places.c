/* places.c — `aidctl places`: the county's place names (ops/migrations/080_places.sql),
 * which the web console shows instead of bare township and village codes.
 *
 *   aidctl places import FILE.csv   code,name[,parent] per line ("-": stdin)
 *   aidctl places list [--json]
 *
 * An operator's tool talking to Postgres directly, like `aidctl user`. The
 * file is checked whole before anything is written (a first line
 * "code,name[,parent]" is a header and skipped): a code is 6, 9 or 12 digits,
 * a name 1–256 bytes of UTF-8 text, a parent (optional) a shorter code the code
 * begins with. A bad line is named with its field and nothing changes; else
 * every line is written in one transaction (a known code gets its new name). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aidctl.h"
#include "utf8.h"

#define PLACES_MAX 10000

typedef struct {
    char code[13], parent[13];
    char *name;
} place_t;

static bool digits_of(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool area_code(const char *s)
{
    return digits_of(s, 6) || digits_of(s, 9) || digits_of(s, 12);
}

/* Splits line (changed in place) into up to 4 CSV fields (RFC 4180 quotes). */
static int split(char *line, char *f[4])
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == 4)
            return 5;
        char *out = p;
        f[n++] = p;
        if (*p == '"') {
            char *q = p + 1;
            for (;;) {
                if (!*q)
                    return -1; /* unterminated quote */
                if (*q == '"' && q[1] == '"') {
                    *out++ = '"';
                    q += 2;
                } else if (*q == '"') {
                    q++;
                    break;
                } else {
                    *out++ = *q++;
                }
            }
            if (*q && *q != ',')
                return -1;
            *out = '\0';
            p = *q ? q + 1 : q;
            if (!*q)
                return n;
            continue;
        }
        char *c = strchr(p, ',');
        if (!c)
            return n;
        *c = '\0';
        p = c + 1;
    }
}

static int bad(const char *file, int line, const char *field, const char *why)
{
    fprintf(stderr, "aidctl: %s:%d: %s: %s (nothing imported)\n", file, line, field, why);
    return AIDCTL_EXIT_USAGE;
}

static int import(const char *file)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) {
        perror(file);
        return AIDCTL_EXIT_USAGE;
    }
    place_t *pl = NULL;
    int n = 0, cap = 0, lineno = 0, rc = AIDCTL_EXIT_OK;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while (rc == AIDCTL_EXIT_OK && (len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *s = line;
        if (lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3; /* a spreadsheet's BOM */
        if (!*s)
            continue;
        char *fl[4];
        int nf = split(s, fl);
        if (nf < 0)
            rc = bad(file, lineno, "line", "a quoted field is not closed");
        else if (nf < 2 || nf > 3)
            rc = bad(file, lineno, "line", "expected code,name or code,name,parent");
        else if (lineno == 1 && strcmp(fl[0], "code") == 0)
            continue; /* the header */
        else if (!area_code(fl[0]))
            rc = bad(file, lineno, "code", "must be 6, 9 or 12 digits");
        else if (!utf8_printable(fl[1], 256))
            rc = bad(file, lineno, "name", "must be 1 to 256 bytes of UTF-8 text");
        else if (nf == 3 && *fl[2] &&
                 (!(digits_of(fl[2], 6) || digits_of(fl[2], 9)) ||
                  strlen(fl[2]) >= strlen(fl[0]) || strncmp(fl[0], fl[2], strlen(fl[2])) != 0))
            rc = bad(file, lineno, "parent",
                     "must be a shorter code (6 or 9 digits) that the code begins with");
        else if (n == PLACES_MAX)
            rc = bad(file, lineno, "line", "more than 10000 places");
        else {
            bool twice = false;
            for (int i = 0; i < n && !twice; i++)
                twice = strcmp(pl[i].code, fl[0]) == 0;
            if (twice) {
                rc = bad(file, lineno, "code", "appears twice in the file");
                break;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                place_t *np = realloc(pl, (size_t)cap * sizeof *pl);
                if (!np) {
                    rc = bad(file, lineno, "line", "out of memory");
                    break;
                }
                pl = np;
            }
            snprintf(pl[n].code, sizeof pl[n].code, "%s", fl[0]);
            snprintf(pl[n].parent, sizeof pl[n].parent, "%s", nf == 3 ? fl[2] : "");
            pl[n].name = strdup(fl[1]);
            n++;
        }
    }
    free(line);
    if (f != stdin)
        fclose(f);
    PGconn *c = NULL;
    if (rc == AIDCTL_EXIT_OK && !(c = (PGconn *)aidctl_pg_connect(NULL)))
        rc = AIDCTL_EXIT_UNAVAILABLE;
    const char *missing = "the places table is missing: run `make up` (migration 080)";
    if (rc == AIDCTL_EXIT_OK) {
        PGresult *r = (PGresult *)aidctl_pg_run((struct pg_conn *)c, "BEGIN", 0, NULL, NULL);
        rc = r ? AIDCTL_EXIT_OK : AIDCTL_EXIT_UNAVAILABLE;
        PQclear(r);
        for (int i = 0; rc == AIDCTL_EXIT_OK && i < n; i++) {
            const char *vals[3] = {pl[i].code, pl[i].name, *pl[i].parent ? pl[i].parent : NULL};
            r = (PGresult *)aidctl_pg_run(
                (struct pg_conn *)c,
                "INSERT INTO places (code, name, parent) VALUES ($1, $2, $3)"
                " ON CONFLICT (code) DO UPDATE SET name = excluded.name,"
                " parent = excluded.parent, updated_at = now()",
                3, vals, missing);
            if (!r)
                rc = AIDCTL_EXIT_UNAVAILABLE;
            PQclear(r);
        }
        r = (PGresult *)aidctl_pg_run((struct pg_conn *)c,
                                      rc == AIDCTL_EXIT_OK ? "COMMIT" : "ROLLBACK", 0, NULL,
                                      NULL);
        if (!r)
            rc = AIDCTL_EXIT_UNAVAILABLE;
        PQclear(r);
        if (rc == AIDCTL_EXIT_OK)
            printf("imported %d place%s\n", n, n == 1 ? "" : "s");
    }
    if (c)
        PQfinish(c);
    for (int i = 0; i < n; i++)
        free(pl[i].name);
    free(pl);
    return rc;
}

static int list(const aidctl_opts_t *o)
{
    PGconn *c = (PGconn *)aidctl_pg_connect(NULL);
    if (!c)
        return AIDCTL_EXIT_UNAVAILABLE;
    PGresult *r = (PGresult *)aidctl_pg_run(
        (struct pg_conn *)c, "SELECT code, name, coalesce(parent, '') FROM places ORDER BY code",
        0, NULL, "the places table is missing: run `make up` (migration 080)");
    if (!r) {
        PQfinish(c);
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    if (o->json)
        fputs("{\"places\": [", stdout);
    else
        printf("%-13s %-13s %s\n", o->zh ? "代码" : "code", o->zh ? "上级" : "parent",
               o->zh ? "名称" : "name");
    for (int i = 0; i < PQntuples(r); i++) {
        if (o->json) {
            fputs(i ? ", {\"code\": " : "{\"code\": ", stdout);
            aidctl_json_str(PQgetvalue(r, i, 0));
            fputs(", \"name\": ", stdout);
            aidctl_json_str(PQgetvalue(r, i, 1));
            fputs(", \"parent\": ", stdout);
            aidctl_json_str(PQgetvalue(r, i, 2));
            fputs("}", stdout);
        } else {
            printf("%-13s %-13s %s\n", PQgetvalue(r, i, 0),
                   *PQgetvalue(r, i, 2) ? PQgetvalue(r, i, 2) : "-", PQgetvalue(r, i, 1));
        }
    }
    if (o->json)
        fputs("]}\n", stdout);
    PQclear(r);
    PQfinish(c);
    return AIDCTL_EXIT_OK;
}

int cmd_places(const aidctl_opts_t *o)
{
    if (strcmp(o->args[0], "import") == 0 && o->nargs == 2)
        return import(o->args[1]);
    if (strcmp(o->args[0], "list") == 0 && o->nargs == 1)
        return list(o);
    fprintf(stderr, "aidctl: usage: aidctl places import FILE.csv | aidctl places list\n");
    return AIDCTL_EXIT_USAGE;
}
