/* aidctl.h — what main.c (arguments) hands to commands.c (the commands):
 * the parsed options and the exit codes. */
#ifndef AIDCTL_AIDCTL_H
#define AIDCTL_AIDCTL_H

#include <stdbool.h>
#include <stdio.h>

enum {
    AIDCTL_EXIT_OK = 0,          /* done; health: the service answers ok or degraded */
    AIDCTL_EXIT_REFUSED = 1,     /* the service answered an error */
    AIDCTL_EXIT_USAGE = 2,       /* bad arguments, unreadable or invalid input file */
    AIDCTL_EXIT_UNAVAILABLE = 3  /* no (usable) answer, error unavailable, health down */
};

#define AIDCTL_MAX_ARGS 8

typedef struct {
    bool json;                   /* --json */
    bool quiet;                  /* --quiet (health) */
    bool csv;                    /* --csv (ledger, disclosure) */
    bool zh;                     /* --lang zh: headers, statuses, measure names in Chinese */
    const char *endpoint;        /* resolved */
    int timeout_ms;              /* --timeout, default 10000 */
    const char *id;              /* --id, or NULL */
    const char *source;          /* --source (import) */
    const char *out;             /* --out (import: the verdict file) */
    const char *command;
    const char *args[AIDCTL_MAX_ARGS];
    int nargs;
} aidctl_opts_t;

int cmd_submit(const aidctl_opts_t *o);
int cmd_case(const aidctl_opts_t *o);
int cmd_health(const aidctl_opts_t *o);
int cmd_call(const aidctl_opts_t *o);
int cmd_trigger(const aidctl_opts_t *o);  /* trigger.c */
int cmd_import(const aidctl_opts_t *o);   /* import.c */
int cmd_user(const aidctl_opts_t *o); /* user.c: web console accounts */
int cmd_audit(const aidctl_opts_t *o); /* audit.c: the audit trail of a case */
/* user.c: a Postgres connection for the operator commands: the DSN in env var
 * key (NULL: none) or in stack.env, else AID_PG_DSN likewise; prints why on
 * failure and returns NULL. */
struct pg_conn;
struct pg_conn *aidctl_pg_connect(const char *key);
/* user.c: runs sql with text parameters; the result, or NULL after printing
 * the error (`missing`, e.g. "the audit view is missing: run `make up`", when
 * a table or view does not exist). */
struct pg_result;
struct pg_result *aidctl_pg_run(struct pg_conn *c, const char *sql, int n,
                                const char *const *vals, const char *missing);
/* user.c: a setting (e.g. AID_REDIS_SENTINELS) from the environment, else from
 * stack.env like the DSNs; 0 when found. */
#include <stddef.h>
int aidctl_setting(const char *key, char *out, size_t outsz);
/* cluster.c: the HA part of `aidctl health` (ops/ha.sh): the primary, the
 * standbys and their lag, Sentinel's master, the last backup and the newest
 * restorable moment. Printed only when the stack is an HA one (AID_HA=1, or
 * Sentinels or pgBackRest configured); 0 when all of it could be read. */
int show_cluster(FILE *out);
/* user.c: prints s to stdout as a JSON string (s is UTF-8 text). */
void aidctl_json_str(const char *s);
/* care.c: visits, ledgers, the public list, complaints, overdue referrals */
int cmd_visits(const aidctl_opts_t *o);
int cmd_ledger(const aidctl_opts_t *o);
int cmd_disclosure(const aidctl_opts_t *o);
int cmd_complaint(const aidctl_opts_t *o);
int cmd_move(const aidctl_opts_t *o);
int cmd_overdue(const aidctl_opts_t *o);
int cmd_review(const aidctl_opts_t *o);   /* care.c: the review procedure */
int cmd_calendar(const aidctl_opts_t *o); /* care.c: the working-day calendar */
int cmd_stats(const aidctl_opts_t *o);
int cmd_places(const aidctl_opts_t *o);
/* benefits.c: entitlements, payees and the monthly payroll (proto/BENEFITS.md) */
int cmd_entitlements(const aidctl_opts_t *o);
int cmd_payee(const aidctl_opts_t *o);
int cmd_payroll(const aidctl_opts_t *o);
int cmd_recheck(const aidctl_opts_t *o);
/* care.c's exchange and output, for the other command files: aidctl_call sends
 * op with body (consumed) and returns -1 with *rep to print, else the exit code
 * (errors and --json printed); aidctl_print_table prints array a (keys starting
 * '$' as yuan); aidctl_field is a value cleaned for the terminal; aidctl_done
 * frees rep and turns rc into the exit code. */
#include <jansson.h>
#include <msgpack.h>
#include "dealer.h"
int aidctl_call(const aidctl_opts_t *o, const char *op, json_t *body, dealer_reply_t *rep);
int aidctl_print_table(const msgpack_object *a, const char *align, const char *const *keys,
                       const char *const *heads);
const char *aidctl_field(const msgpack_object *map, const char *key, char *buf, size_t bufsz);
int aidctl_done(dealer_reply_t *rep, int rc);   /* places.c: the county's place names */    /* stats.c: the metrics of the whole stack */

#endif
