/* main.c — aidctl, the command-line client of the intake API: arguments,
 * help and dispatch to the commands (commands.c). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aidctl.h"
#include "endpoint.h"
#include "keygen.h"
#include "pii_cmd.h"
#include "request.h"
#include "show.h"
#include "text.h"
#include "utf8.h"

#define DEFAULT_TIMEOUT_MS 10000
#define MAX_TIMEOUT_MS 3600000

static const char help_text[] =
    "Usage: aidctl [--json] [--lang en|zh] [--endpoint EP] [--timeout MS] COMMAND [ARGS]\n"
    "\n"
    "The command-line client of the intake API (ZeroMQ + MessagePack, PROTOCOL.md).\n"
    "\n"
    "Commands:\n"
    "  submit FILE.json [--id ID]  send a hardship report (op report.submit).\n"
    "                              FILE is the report body, or a whole envelope\n"
    "                              when it has \"op\"; - reads standard input\n"
    "  case CASE_ID|ID_NUMBER      show where a case stands (op case.get); an\n"
    "                              argument starting with \"case-\" is a case id,\n"
    "                              anything else an ID number\n"
    "  health [--quiet]            show the service's status and dependencies (on an\n"
    "                              HA stack also the primary, standbys and lag, Sentinel's\n"
    "                              master, the last backup); --quiet prints nothing\n"
    "                              (see the exit status)\n"
    "  call OP [FILE.json|-] [--id ID]\n"
    "                              send any operation with a JSON body (default\n"
    "                              {}) and print the result as JSON\n"
    "  trigger KIND [FIELD=VALUE ...] [--id ID] | trigger FILE.json\n"
    "                              send another bureau's event (op trigger.submit):\n"
    "                              disaster areas=CODE,CODE hazard=flood, or\n"
    "                              medical_expense|unemployment|disability|death\n"
    "                              id_number=... (see proto/DEPARTMENTS.md)\n"
    "                              without --id, each command is a new event; the\n"
    "                              request id it prints resends it (--id) safely\n"
    "  trigger list [KIND]         recent triggers: households reached, outcomes\n"
    "  trigger show TRIGGER_ID     the households a trigger reached (masked) and\n"
    "                              each referral's status (op trigger.get)\n"
    "  import --source SOURCE FILE.csv [--out VERDICTS.csv]\n"
    "                              match a department's list (SOURCE: medical,\n"
    "                              disability, hr, agriculture) to registered\n"
    "                              households; a verdict per row in --out (default\n"
    "                              FILE.verdicts.csv), progress on stderr\n"
    "  user add NAME ROLE [SCOPE [DISPLAY_NAME]] | passwd NAME | list |\n"
    "  user disable NAME | enable NAME\n"
    "                              web console accounts (Postgres via AID_PG_DSN;\n"
    "                              password on stdin; see README \"Web console\")\n"
    "  audit CASE_ID               the audit trail of a case in time order: reports,\n"
    "                              assessment, referrals, decisions, changes, reads\n"
    "                              (Postgres via AID_OPERATOR_PG_DSN, else AID_PG_DSN;\n"
    "                              ops/SECURITY.md)\n"
    "  visits TOWNSHIP [BEFORE]    visits due before BEFORE (default: up to today)\n"
    "  ledger MONTH [TOWNSHIP] [--csv]\n"
    "                              the monthly ledger (MONTH is YYYY-MM); --csv writes\n"
    "                              the CSV a township sends to the county office\n"
    "  ledger submit MONTH TOWNSHIP|DEPARTMENT BY\n"
    "                              mark a township's or a department's ledger as\n"
    "                              submitted (the county's ledger lists who has not)\n"
    "  entitlements CASE_ID|ID_NUMBER [MONTH]\n"
    "                              a case's monthly benefits over time, or those\n"
    "                              active in MONTH (op entitlements.list)\n"
    "  payee set CASE_ID HOLDER_ID_NUMBER BANK [BY]\n"
    "                              the account a case is paid to, read from standard\n"
    "                              input (op payee.set; shown masked to its last 4)\n"
    "  payroll run MONTH BY [TOWNSHIP] | approve RUN BY | show RUN\n"
    "                              the monthly payroll: run it, a second person\n"
    "                              approves it, its totals, blocked and failed lines\n"
    "  payroll file RUN --out FILE the bank's file of an approved run (CSV, yuan,\n"
    "                              mode 0600), checked against its control totals\n"
    "  payroll reconcile RUN RETURNS.csv BY\n"
    "                              the bank's return: line_id,status[,reason] lines,\n"
    "                              status paid or failed (failed: carried next month)\n"
    "  recheck MONTH [TOWNSHIP]    dibao households and tekun persons whose re-check\n"
    "                              is due by MONTH, overdue ones marked (R-RECHECK)\n"
    "  recheck open CASE BY [ON]   opens a household's re-check as a review (R-RECHECK)\n"
    "  disclosure VILLAGE MONTH [--csv]\n"
    "                              the public list of a village (masked names)\n"
    "  complaint submit CHANNEL TEXT [CASE_ID] | [get] TRACKING_NO |\n"
    "  complaint update TRACKING_NO investigating|resolved BY [NOTE]\n"
    "                              complaints and their steps (proto/CARE.md)\n"
    "  overdue [TOWNSHIP] [AS_OF]  pending referrals past their deadline\n"
    "  move queue [TOWNSHIP] | move decide MOVE_ID confirm|reject BY [NOTE]\n"
    "                              reports filed outside their case's township,\n"
    "                              to confirm (the case moves) or reject (proto/README.md)\n"
    "  review queue [stage=S] [township=T] [department=D] [overdue=true]\n"
    "                              open reviews, oldest due first (POLICY.md §16)\n"
    "  review step REFERRAL_ID ACTION BY [on=DATE] [note=TEXT] [findings=JSON] [amend=JSON]\n"
    "                              a step: investigate, object, confirm, refuse,\n"
    "                              spot_check, signoff (proto/README.md §11.2)\n"
    "  review draw TOWNSHIP YYYY-MM BY\n"
    "                              the month's spot-check draw (at least 30%)\n"
    "  calendar import FILE.csv BY | calendar list FROM TO\n"
    "                              the working-day calendar: day,kind[,note] per line,\n"
    "                              kind holiday, workday (调休) or normal\n"
    "  places import FILE.csv | places list\n"
    "                              the county's place names (code,name[,parent] per\n"
    "                              line), shown by the web console instead of codes\n"
    "                              (Postgres via AID_PG_DSN)\n"
    "  stats                       every service's counters (received, decided,\n"
    "                              errors, queue depth, latency) from the metrics\n"
    "                              ports listed in stack.env (AID_METRICS_*)\n"
    "  pii hash ID_NUMBER... | pii open [HEX...]\n"
    "                              the keyed hash of an ID number / the ID number of\n"
    "                              a stored id_enc (key: AID_PII_KEY_FILE; ops/SECURITY.md)\n"
    "  keygen [--out DIR] [--name NAME] | keygen --public-of FILE.key\n"
    "                              CURVE keys for secure mode (first argument\n"
    "                              only; see aidctl keygen --help, ops/SECURITY.md)\n"
    "\n"
    "Options (anywhere on the line):\n"
    "  --json          print the reply's result (or error object) as JSON on stdout\n"
    "  --endpoint EP   the intake API; default $AID_INTAKE_API, else AID_INTAKE_API\n"
    "                  from $AID_VAR/stack.env, else from ./var/stack.env, else\n"
    "                  " ENDPOINT_DEFAULT "\n"
    "  --timeout MS    how long to wait for the answer (default 10000 ms)\n"
    "  --id ID         the request id, its idempotency key; default \"aidctl-\" and 16\n"
    "                  hex digits of the FNV-1a hash of the body's MessagePack bytes,\n"
    "                  so sending the same file again answers duplicate: true\n"
    "                  (trigger: a new id each time, printed; a trigger is an event)\n"
    "  --csv           ledger and disclosure: write CSV instead of a table\n"
    "  --lang en|zh    the language of tables (default en); zh prints Chinese\n"
    "                  headers, statuses, measure names and yuan (case, ledger)\n"
    "  -h, --help      show this help\n"
    "\n"
    "JSON input may hold objects, arrays, strings, integers, true, false and null; a\n"
    "number with a fraction or exponent is an error (money is integer fen).\n"
    "\n"
    "Exit status:\n"
    "  0  ok (health: the service answers with status ok or degraded)\n"
    "  1  the service answered an error (invalid_field, not_found, conflict, ...)\n"
    "  2  usage error, or the input file is unreadable or invalid\n"
    "  3  no answer within the timeout, or the service is unavailable (error code\n"
    "     unavailable, health status down, a malformed reply)\n";

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "aidctl: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "Try 'aidctl --help'.\n");
    return AIDCTL_EXIT_USAGE;
}

static int parse_timeout(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > MAX_TIMEOUT_MS)
        return -1;
    *out = (int)v;
    return 0;
}

/* Parses argv into *o. Returns -1 to go on, else an exit code (help: 0). */
static int parse_args(int argc, char **argv, aidctl_opts_t *o, const char **endpoint_arg)
{
    int only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || strcmp(a, "-") == 0) {
            if (!o->command)
                o->command = a;
            else if (o->nargs < AIDCTL_MAX_ARGS)
                o->args[o->nargs++] = a;
            else
                return usage_error("too many arguments", NULL);
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help_text, stdout);
            return AIDCTL_EXIT_OK;
        }
        /* --name or --name=value */
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const char *value = eq ? eq + 1 : NULL;
        int takes_value = (nlen == 10 && !strncmp(a, "--endpoint", nlen)) ||
                          (nlen == 9 && !strncmp(a, "--timeout", nlen)) ||
                          (nlen == 4 && !strncmp(a, "--id", nlen)) ||
                          (nlen == 8 && !strncmp(a, "--source", nlen)) ||
                          (nlen == 5 && !strncmp(a, "--out", nlen)) ||
                          (nlen == 6 && !strncmp(a, "--lang", nlen));
        if (takes_value && !value) {
            if (i + 1 >= argc)
                return usage_error("option needs a value", a);
            value = argv[++i];
        } else if (!takes_value && value) {
            return usage_error("option takes no value", a);
        }
        if (nlen == 6 && !strncmp(a, "--json", nlen)) {
            o->json = true;
        } else if (nlen == 7 && !strncmp(a, "--quiet", nlen)) {
            o->quiet = true;
        } else if (nlen == 5 && !strncmp(a, "--csv", nlen)) {
            o->csv = true;
        } else if (nlen == 10 && !strncmp(a, "--endpoint", nlen)) {
            if (!*value)
                return usage_error("--endpoint is empty", NULL);
            *endpoint_arg = value;
        } else if (nlen == 9 && !strncmp(a, "--timeout", nlen)) {
            if (parse_timeout(value, &o->timeout_ms) != 0)
                return usage_error("--timeout must be milliseconds from 1 to 3600000", value);
        } else if (nlen == 4 && !strncmp(a, "--id", nlen)) {
            if (!utf8_printable(value, REQUEST_ID_MAX))
                return usage_error("--id must be 1 to 256 bytes of UTF-8 text", NULL);
            o->id = value;
        } else if (nlen == 6 && !strncmp(a, "--lang", nlen)) {
            if (strcmp(value, "en") != 0 && strcmp(value, "zh") != 0)
                return usage_error("--lang must be en or zh", value);
            o->zh = strcmp(value, "zh") == 0;
        } else if (nlen == 8 && !strncmp(a, "--source", nlen)) {
            o->source = value;
        } else if (nlen == 5 && !strncmp(a, "--out", nlen)) {
            if (!*value)
                return usage_error("--out is empty", NULL);
            o->out = value;
        } else {
            return usage_error("unknown option", a);
        }
    }
    return -1;
}

typedef struct {
    const char *name;
    int (*run)(const aidctl_opts_t *);
    int min_args, max_args;
    bool takes_id, takes_quiet;
} command_t;

static const command_t commands[] = {
    {"submit", cmd_submit, 1, 1, true, false},
    {"case", cmd_case, 1, 1, false, false},
    {"health", cmd_health, 0, 0, false, true},
    {"call", cmd_call, 1, 2, true, false},
    {"trigger", cmd_trigger, 1, AIDCTL_MAX_ARGS, true, false},
    {"import", cmd_import, 1, 1, true, false},
    {"user", cmd_user, 1, 5, false, false},
    {"audit", cmd_audit, 1, 1, false, false},
    {"visits", cmd_visits, 1, 2, false, false},
    {"ledger", cmd_ledger, 1, 4, true, false},
    {"disclosure", cmd_disclosure, 2, 2, false, false},
    {"complaint", cmd_complaint, 1, 5, true, false},
    {"overdue", cmd_overdue, 0, 2, false, false},
    {"move", cmd_move, 1, 5, true, false},
    {"stats", cmd_stats, 0, 0, false, false},
    {"places", cmd_places, 1, 2, false, false},
    {"entitlements", cmd_entitlements, 1, 2, false, false},
    {"payee", cmd_payee, 4, 5, true, false},
    {"payroll", cmd_payroll, 2, 4, true, false},
    {"recheck", cmd_recheck, 1, 4, true, false},
    {"review", cmd_review, 1, AIDCTL_MAX_ARGS, true, false},
    {"calendar", cmd_calendar, 1, 3, true, false},
};

int main(int argc, char **argv)
{
    aidctl_opts_t o = {.timeout_ms = DEFAULT_TIMEOUT_MS};
    const char *endpoint_arg = NULL;
    if (argc > 1 && strcmp(argv[1], "keygen") == 0) /* no endpoint, no request */
        return keygen_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "pii") == 0) /* no endpoint either */
        return pii_main(argc - 1, argv + 1);
    int rc = parse_args(argc, argv, &o, &endpoint_arg);
    if (rc >= 0)
        return rc;
    show_set_lang(o.zh);
    if (!o.command)
        return usage_error("no command (submit, case, health or call)", NULL);
    const command_t *cmd = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, o.command) == 0)
            cmd = &commands[i];
    if (!cmd)
        return usage_error("unknown command", o.command);
    if (o.nargs < cmd->min_args || o.nargs > cmd->max_args)
        return usage_error(o.nargs < cmd->min_args ? "missing argument" : "too many arguments",
                           cmd->name);
    if (o.id && !cmd->takes_id)
        return usage_error("--id is for submit, call, trigger and import only", NULL);
    if (o.quiet && !cmd->takes_quiet)
        return usage_error("--quiet is for health only", NULL);
    if (o.csv && strcmp(cmd->name, "ledger") != 0 && strcmp(cmd->name, "disclosure") != 0)
        return usage_error("--csv is for ledger and disclosure only", NULL);
    if ((o.source || o.out) && strcmp(cmd->name, "import") != 0 &&
        !(o.out && !o.source && strcmp(cmd->name, "payroll") == 0))
        return usage_error("--source and --out are for import (and --out for payroll file) only",
                           NULL);
    if (strcmp(cmd->name, "case") == 0 && o.args[0][0] == '\0')
        return usage_error("case needs a case id or an ID number", NULL);
    if (strcmp(cmd->name, "call") == 0 && o.args[0][0] == '\0')
        return usage_error("call needs an operation name", NULL);
    char endpoint[1024];
    if (endpoint_resolve(endpoint_arg, endpoint, sizeof endpoint, NULL) != 0)
        return usage_error("endpoint is too long", NULL);
    o.endpoint = endpoint;
    rc = cmd->run(&o);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "aidctl: cannot write the output: %s\n", strerror(errno));
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    return rc;
}
