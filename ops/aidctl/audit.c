/* audit.c — `aidctl audit CASE_ID`: the audit trail of a case (R-AUDIT,
 * ops/migrations/040_roles.sql, ops/SECURITY.md "Postgres roles and the
 * audit trail"), in time order: the reports received, the assessment, each
 * referral and its decision (who, when, rules), changes (visits, scores,
 * complaints, triggers) and every read (intake's case.get and
 * referrals.pending by a client key, staff reads in the web console).
 *
 * An operator's tool, like `aidctl user`: it reads the view aid_audit from
 * Postgres directly as the read-only role aid_operator (AID_OPERATOR_PG_DSN,
 * from the environment or stack.env), else with AID_PG_DSN. Reading the
 * trail is itself recorded (action audit.read, who = the operating system
 * user), in the same transaction. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>

#include "aidctl.h"
#include "table.h"

/* "case-12" or "12" → "12"; NULL when it is not a case id. */
static const char *case_number(const char *arg)
{
    const char *p = strncmp(arg, "case-", 5) == 0 ? arg + 5 : arg;
    if (!*p || strlen(p) > 18 || strspn(p, "0123456789") != strlen(p))
        return NULL;
    return p;
}

static PGresult *run(PGconn *c, const char *sql, int n, const char *const *vals)
{
    return aidctl_pg_run(c, sql, n, vals,
                         "the audit view is missing: run `make up` (migration 040)");
}

int cmd_audit(const aidctl_opts_t *o)
{
    const char *cid = case_number(o->args[0]);
    if (!cid) {
        fprintf(stderr, "aidctl: case_id: want case-<number> or a number, got \"%s\"\n",
                o->args[0]);
        return AIDCTL_EXIT_USAGE;
    }
    PGconn *c = aidctl_pg_connect("AID_OPERATOR_PG_DSN");
    if (!c)
        return AIDCTL_EXIT_UNAVAILABLE;
    char who[96];
    const struct passwd *pw = getpwuid(getuid());
    snprintf(who, sizeof who, "aidctl:%s", pw && pw->pw_name ? pw->pw_name : "?");
    const char *vals[2] = {cid, who};
    PGresult *b = run(c, "BEGIN", 0, NULL), *rec = NULL, *r = NULL;
    int rc = AIDCTL_EXIT_UNAVAILABLE;
    if (!b)
        goto out;
    PQclear(b);
    r = run(c,
            "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
            "       action, who, detail"
            "  FROM aid_audit WHERE case_id = $1::bigint ORDER BY at, action, detail",
            1, vals);
    if (!r)
        goto out;
    int n = PQntuples(r);
    if (n == 0) {
        fprintf(stderr, "aidctl: case_id: no such case (case-%s)\n", cid);
        rc = AIDCTL_EXIT_REFUSED;
        goto out;
    }
    /* R-AUDIT: reading the trail is a read of the case */
    rec = run(c,
              "INSERT INTO audit_log (who, action, case_id, detail)"
              " VALUES ($2, 'audit.read', $1::bigint, 'aidctl audit')",
              2, vals);
    if (!rec)
        goto out;
    PGresult *cm = run(c, "COMMIT", 0, NULL);
    if (!cm)
        goto out;
    PQclear(cm);
    if (o->json) {
        printf("{\"case_id\": \"case-%s\", \"events\": [", cid);
        for (int i = 0; i < n; i++) {
            printf("%s\n  {\"at\": ", i ? "," : "");
            aidctl_json_str(PQgetvalue(r, i, 0));
            printf(", \"action\": ");
            aidctl_json_str(PQgetvalue(r, i, 1));
            printf(", \"who\": ");
            aidctl_json_str(PQgetvalue(r, i, 2));
            printf(", \"detail\": ");
            aidctl_json_str(PQgetvalue(r, i, 3));
            printf("}");
        }
        printf("\n]}\n");
    } else {
        table_t *t = table_new("llll");
        if (!t)
            goto out;
        const char *head[4] = {"AT", "ACTION", "WHO", "DETAIL"};
        table_add_row(t, head);
        for (int i = 0; i < n; i++) {
            const char *cells[4] = {PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                                    PQgetvalue(r, i, 2), PQgetvalue(r, i, 3)};
            table_add_row(t, cells);
        }
        printf("case-%s: %d event%s\n", cid, n, n == 1 ? "" : "s");
        table_print(t, stdout, 0);
        table_free(t);
    }
    rc = AIDCTL_EXIT_OK;
out:
    PQclear(r);
    PQclear(rec);
    PQfinish(c);
    return rc;
}
