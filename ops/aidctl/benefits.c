/* benefits.c — the benefits commands of aidctl (proto/BENEFITS.md, issue 17):
 *
 *   aidctl entitlements CASE_ID|ID_NUMBER [MONTH]     entitlements.list
 *   aidctl payee set CASE_ID HOLDER_ID_NUMBER BANK [BY]   payee.set (account on stdin)
 *   aidctl payroll run MONTH BY [TOWNSHIP]            payroll.run
 *   aidctl payroll approve RUN BY                     payroll.approve (a second person)
 *   aidctl payroll show RUN                           payroll.get
 *   aidctl payroll file RUN --out FILE                payroll.file: the bank's CSV
 *   aidctl payroll reconcile RUN RETURNS.csv BY       payroll.reconcile
 *   aidctl recheck MONTH [TOWNSHIP]                   recheck.due
 *   aidctl recheck open CASE BY [ON]                   recheck.open
 *
 * The account number is read from standard input, never from the command line
 * (where `ps` and the shell's history would keep it). The bank's file is CSV
 * (line_id, case_id, month, bank, account, amount in yuan with two decimals),
 * written to a temporary file of mode 0600 and renamed, and checked against
 * the run's control totals before it is kept. RETURNS.csv has the lines
 * line_id,status[,reason] (status paid or failed; a header line is skipped),
 * sent 1000 lines a request, each request's id the hash of its body, so a
 * reconcile run again acts once. --json prints the results as JSON. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aidctl.h"
#include "mp.h"
#include "text.h"

#define CELL 1024
#define RETURNS_PER_REQUEST 1000

static int usage(const char *msg)
{
    fprintf(stderr, "aidctl: %s\nTry 'aidctl --help'.\n", msg);
    return AIDCTL_EXIT_USAGE;
}

static bool digits(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

/* ---- entitlements ----------------------------------------------------------------- */

int cmd_entitlements(const aidctl_opts_t *o)
{
    const char *who = o->args[0];
    json_t *body = json_object();
    if (body)
        json_object_set_new(body, strncmp(who, "case-", 5) == 0 ? "case_id" : "id_number",
                            json_string(who));
    if (body && o->nargs > 1)
        json_object_set_new(body, "month", json_string(o->args[1]));
    dealer_reply_t rep;
    int rc = aidctl_call(o, "entitlements.list", body, &rep);
    if (rc >= 0)
        return rc;
    const msgpack_object *e = mp_get(rep.result, "entitlements");
    if (!e || e->type != MSGPACK_OBJECT_ARRAY) {
        dealer_reply_free(&rep);
        fprintf(stderr, "aidctl: the reply has no entitlements list\n");
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    char c[CELL];
    printf("%s: %u entitlement(s)%s%s\n", aidctl_field(rep.result, "case_id", c, sizeof c),
           e->via.array.size, o->nargs > 1 ? " active in " : "", o->nargs > 1 ? o->args[1] : "");
    if (e->via.array.size == 0)
        return aidctl_done(&rep, 0);
    static const char *const keys[] = {"entitlement_id", "kind", "id_masked", "$amount_fen",
                                       "first_month", "last_month", "end_reason"};
    static const char *const heads[] = {"ID", "KIND", "PERSON", "YUAN/MONTH", "FROM", "TO",
                                        "ENDED"};
    return aidctl_done(&rep, aidctl_print_table(e, "rllrlll", keys, heads));
}

/* ---- payee ---------------------------------------------------------------------------- */

int cmd_payee(const aidctl_opts_t *o)
{
    if (strcmp(o->args[0], "set") != 0 || o->nargs < 4 || o->nargs > 5)
        return usage("usage: aidctl payee set CASE_ID HOLDER_ID_NUMBER BANK [BY] "
                     "(the account number on standard input)");
    char account[64] = "";
    if (!fgets(account, sizeof account, stdin))
        return usage("payee set reads the account number from standard input");
    account[strcspn(account, "\r\n")] = '\0';
    json_t *body = json_pack("{ssssssss}", "case_id", o->args[1], "holder_id_number", o->args[2],
                             "bank", o->args[3], "account", account);
    memset(account, 0, sizeof account);
    if (body && o->nargs == 5)
        json_object_set_new(body, "by", json_string(o->args[4]));
    dealer_reply_t rep;
    int rc = aidctl_call(o, "payee.set", body, &rep);
    if (rc >= 0)
        return rc;
    char c[CELL], h[CELL], b[CELL], a[CELL];
    printf("payee of %s: %s, %s %s\n", aidctl_field(rep.result, "case_id", c, sizeof c),
           aidctl_field(rep.result, "holder_masked", h, sizeof h),
           aidctl_field(rep.result, "bank", b, sizeof b),
           aidctl_field(rep.result, "account_masked", a, sizeof a));
    return aidctl_done(&rep, 0);
}

/* ---- payroll --------------------------------------------------------------------------- */

static void print_yuan(FILE *f, int64_t fen)
{
    fprintf(f, "%s%" PRId64 ".%02d", fen < 0 ? "-" : "", (fen < 0 ? -fen : fen) / 100,
            (int)((fen < 0 ? -fen : fen) % 100));
}

static int64_t int_of(const msgpack_object *map, const char *key)
{
    int64_t v = 0;
    mp_int(mp_get(map, key), &v);
    return v;
}

static int payroll_show(const aidctl_opts_t *o, const char *run)
{
    json_t *body = json_pack("{sI}", "run_id", (json_int_t)strtoll(run, NULL, 10));
    dealer_reply_t rep;
    int rc = aidctl_call(o, "payroll.get", body, &rep);
    if (rc >= 0)
        return rc;
    char m[CELL], t[CELL], by[CELL], ap[CELL];
    const msgpack_object *r = rep.result, *s = mp_get(r, "settled");
    printf("run %s  %s  %s  by %s  approved by %s%s\n", run, aidctl_field(r, "month", m, sizeof m),
           mp_get(r, "township") ? aidctl_field(r, "township", t, sizeof t) : "county",
           aidctl_field(r, "by", by, sizeof by),
           mp_get(r, "approved_by") ? aidctl_field(r, "approved_by", ap, sizeof ap) : "-",
           mp_get(r, "filed") && mp_get(r, "filed")->type == MSGPACK_OBJECT_BOOLEAN &&
                   mp_get(r, "filed")->via.boolean
               ? "  filed"
               : "");
    printf("lines %" PRId64 "  total ", int_of(r, "lines"));
    print_yuan(stdout, int_of(r, "total_fen"));
    printf(" yuan  blocked %" PRId64 "  paid %" PRId64 " (", int_of(r, "blocked"), int_of(s, "paid"));
    print_yuan(stdout, int_of(s, "paid_fen"));
    printf(")  failed %" PRId64 " (", int_of(s, "failed"));
    print_yuan(stdout, int_of(s, "failed_fen"));
    printf(")\n");
    const msgpack_object *p = mp_get(r, "problems"), *a = mp_get(r, "adjustments");
    int out = 0;
    if (p && p->type == MSGPACK_OBJECT_ARRAY && p->via.array.size > 0) {
        static const char *const keys[] = {"line_id", "case_id", "month", "$amount_fen", "kind",
                                           "status", "reason"};
        static const char *const heads[] = {"LINE", "CASE", "MONTH", "YUAN", "KIND", "STATUS",
                                            "REASON"};
        out = aidctl_print_table(p, "rllrlll", keys, heads);
    }
    /* the corrections of months run before (their rules: --json) */
    if (out == 0 && a && a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size > 0) {
        static const char *const keys[] = {"line_id", "case_id", "month", "$amount_fen",
                                           "status", "reason"};
        static const char *const heads[] = {"ADJUSTMENT", "CASE", "MONTH", "YUAN", "STATUS",
                                            "REASON"};
        out = aidctl_print_table(a, "rllrll", keys, heads);
    }
    return aidctl_done(&rep, out);
}

/* One CSV field: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const msgpack_object *o)
{
    char buf[CELL] = "";
    if (o && o->type == MSGPACK_OBJECT_STR) {
        size_t len;
        char *clean = text_clean(o->via.str.ptr, o->via.str.size, 0, &len);
        if (clean) {
            snprintf(buf, sizeof buf, "%s", clean);
            free(clean);
        }
    }
    if (strpbrk(buf, ",\"\r\n")) {
        fputc('"', f);
        for (const char *c = buf; *c; c++) {
            if (*c == '"')
                fputc('"', f);
            fputc(*c, f);
        }
        fputc('"', f);
    } else {
        fputs(buf, f);
    }
}

/* The run's control totals (payroll.get): 0, or an exit code. */
static int run_totals(const aidctl_opts_t *o, json_int_t run, int64_t *lines, int64_t *total)
{
    aidctl_opts_t quiet = *o;
    quiet.json = false;
    dealer_reply_t rep;
    int rc = aidctl_call(&quiet, "payroll.get", json_pack("{sI}", "run_id", run), &rep);
    if (rc >= 0)
        return rc ? rc : AIDCTL_EXIT_UNAVAILABLE;
    *lines = int_of(rep.result, "lines");
    *total = int_of(rep.result, "total_fen");
    dealer_reply_free(&rep);
    return 0;
}

static int payroll_file(const aidctl_opts_t *o, const char *run_s)
{
    if (!o->out)
        return usage("usage: aidctl payroll file RUN --out FILE");
    json_int_t run = strtoll(run_s, NULL, 10);
    int64_t want_lines = 0, want_total = 0;
    int rc = run_totals(o, run, &want_lines, &want_total);
    if (rc != 0)
        return rc;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", o->out);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0) {
        fprintf(stderr, "aidctl: cannot write %s: %s\n", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return AIDCTL_EXIT_USAGE;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    fprintf(f, "line_id,case_id,month,bank,account,amount_yuan\n");
    int64_t after = 0, n = 0, households = 0, total = 0;
    aidctl_opts_t quiet = *o;
    quiet.json = false;
    for (;;) {
        dealer_reply_t rep;
        rc = aidctl_call(&quiet, "payroll.file",
                         json_pack("{sIsI}", "run_id", run, "after_line", (json_int_t)after), &rep);
        if (rc >= 0)
            break;
        const msgpack_object *ls = mp_get(rep.result, "lines");
        for (uint32_t i = 0; ls && ls->type == MSGPACK_OBJECT_ARRAY && i < ls->via.array.size; i++) {
            const msgpack_object *l = &ls->via.array.ptr[i];
            int64_t amount = int_of(l, "amount_fen");
            fprintf(f, "%" PRId64 ",", int_of(l, "line_id"));
            csv_field(f, mp_get(l, "case_id"));
            fputc(',', f);
            csv_field(f, mp_get(l, "month"));
            fputc(',', f);
            csv_field(f, mp_get(l, "bank"));
            fputc(',', f);
            csv_field(f, mp_get(l, "account"));
            fputc(',', f);
            print_yuan(f, amount);
            fputc('\n', f);
            /* one line per household: its lines of the run summed (the control
             * totals count lines) */
            int64_t k = int_of(l, "lines");
            n += k > 0 ? k : 1;
            households++;
            total += amount;
        }
        const msgpack_object *next = mp_get(rep.result, "next_after");
        bool more = next && mp_int(next, &after) == 0;
        dealer_reply_free(&rep);
        if (!more) {
            rc = 0;
            break;
        }
    }
    if (fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "aidctl: cannot write %s: %s\n", tmp, strerror(errno));
        rc = AIDCTL_EXIT_UNAVAILABLE;
    }
    if (rc == 0 && (n != want_lines || total != want_total)) {
        fprintf(stderr, "aidctl: the file does not match the run's control totals (%" PRId64
                        " lines, %" PRId64 " fen; the run says %" PRId64 ", %" PRId64
                        "): not written\n", n, total, want_lines, want_total);
        rc = AIDCTL_EXIT_REFUSED;
    }
    if (rc == 0 && rename(tmp, o->out) != 0) {
        fprintf(stderr, "aidctl: cannot write %s: %s\n", o->out, strerror(errno));
        rc = AIDCTL_EXIT_UNAVAILABLE;
    }
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    if (o->json) {
        printf("{\"run_id\": %lld, \"lines\": %" PRId64 ", \"households\": %" PRId64
               ", \"total_fen\": %" PRId64 ", \"file\": ",
               (long long)run, n, households, total);
        aidctl_json_str(o->out);
        printf("}\n");
    } else {
        printf("run %lld: %" PRId64 " lines (%" PRId64 " households), ", (long long)run, n,
               households);
        print_yuan(stdout, total);
        printf(" yuan written to %s (mode 0600)\n", o->out);
    }
    return 0;
}

/* Sends the returns gathered in arr (consumed) for run; adds the counts. */
static int reconcile_send(const aidctl_opts_t *o, json_int_t run, const char *by, json_t *arr,
                          int64_t *paid, int64_t *failed)
{
    aidctl_opts_t quiet = *o;
    quiet.json = false;
    json_t *body = json_pack("{sIssso}", "run_id", run, "by", by, "returns", arr);
    dealer_reply_t rep;
    int rc = aidctl_call(&quiet, "payroll.reconcile", body, &rep);
    if (rc >= 0)
        return rc ? rc : AIDCTL_EXIT_UNAVAILABLE;
    *paid += int_of(rep.result, "paid");
    *failed += int_of(rep.result, "failed");
    dealer_reply_free(&rep);
    return 0;
}

static int payroll_reconcile(const aidctl_opts_t *o, const char *run_s, const char *path,
                             const char *by)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "aidctl: cannot read %s: %s\n", path, strerror(errno));
        return AIDCTL_EXIT_USAGE;
    }
    json_int_t run = strtoll(run_s, NULL, 10);
    json_t *arr = json_array();
    char line[2048];
    int64_t paid = 0, failed = 0, lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || (lineno == 1 && !(line[0] >= '0' && line[0] <= '9')))
            continue; /* a blank line, the header */
        char *id = line, *status = strchr(line, ',');
        char *reason = status ? strchr(status + 1, ',') : NULL;
        if (status)
            *status++ = '\0';
        if (reason)
            *reason++ = '\0';
        if (!status || !digits(id)) {
            fprintf(stderr, "aidctl: %s line %" PRId64 ": expected line_id,status[,reason]\n",
                    path, lineno);
            rc = AIDCTL_EXIT_USAGE;
            break;
        }
        json_t *x = json_pack("{sIss}", "line_id", (json_int_t)strtoll(id, NULL, 10), "status",
                              status);
        if (x && reason && *reason)
            json_object_set_new(x, "reason", json_string(reason));
        json_array_append_new(arr, x);
        if (json_array_size(arr) == RETURNS_PER_REQUEST) {
            rc = reconcile_send(o, run, by, arr, &paid, &failed);
            arr = json_array();
        }
    }
    fclose(f);
    if (rc == 0 && json_array_size(arr) > 0)
        rc = reconcile_send(o, run, by, arr, &paid, &failed);
    else
        json_decref(arr);
    if (rc != 0)
        return rc;
    if (o->json)
        printf("{\"run_id\": %lld, \"paid\": %" PRId64 ", \"failed\": %" PRId64 "}\n",
               (long long)run, paid, failed);
    else
        printf("run %lld: %" PRId64 " paid, %" PRId64 " failed (carried into the next run)\n",
               (long long)run, paid, failed);
    return 0;
}

int cmd_payroll(const aidctl_opts_t *o)
{
    const char *verb = o->args[0];
    if (o->out && strcmp(verb, "file") != 0)
        return usage("--out is for payroll file");
    if (o->nargs >= 2 && strcmp(verb, "run") != 0 && !digits(o->args[1]))
        return usage("RUN is the run's number (payroll run prints it)");
    if (strcmp(verb, "run") == 0 && (o->nargs == 3 || o->nargs == 4)) {
        json_t *body = json_pack("{ssss}", "month", o->args[1], "by", o->args[2]);
        if (body && o->nargs == 4)
            json_object_set_new(body, "township", json_string(o->args[3]));
        dealer_reply_t rep;
        int rc = aidctl_call(o, "payroll.run", body, &rep);
        if (rc >= 0)
            return rc;
        printf("run %" PRId64 ": %" PRId64 " lines, ", int_of(rep.result, "run_id"),
               int_of(rep.result, "lines"));
        print_yuan(stdout, int_of(rep.result, "total_fen"));
        printf(" yuan, %" PRId64 " blocked (no payee); a second person approves it\n",
               int_of(rep.result, "blocked"));
        return aidctl_done(&rep, 0);
    }
    if (strcmp(verb, "approve") == 0 && o->nargs == 3) {
        json_t *body = json_pack("{sIss}", "run_id", (json_int_t)strtoll(o->args[1], NULL, 10),
                                 "by", o->args[2]);
        dealer_reply_t rep;
        int rc = aidctl_call(o, "payroll.approve", body, &rep);
        if (rc >= 0)
            return rc;
        char by[CELL];
        printf("run %" PRId64 " approved by %s: %" PRId64 " lines, ", int_of(rep.result, "run_id"),
               aidctl_field(rep.result, "approved_by", by, sizeof by), int_of(rep.result, "lines"));
        print_yuan(stdout, int_of(rep.result, "total_fen"));
        printf(" yuan\n");
        return aidctl_done(&rep, 0);
    }
    if (strcmp(verb, "show") == 0 && o->nargs == 2)
        return payroll_show(o, o->args[1]);
    if (strcmp(verb, "file") == 0 && o->nargs == 2)
        return payroll_file(o, o->args[1]);
    if (strcmp(verb, "reconcile") == 0 && o->nargs == 4)
        return payroll_reconcile(o, o->args[1], o->args[2], o->args[3]);
    return usage("usage: aidctl payroll run MONTH BY [TOWNSHIP] | approve RUN BY | show RUN | "
                 "file RUN --out FILE | reconcile RUN RETURNS.csv BY");
}

/* ---- re-checks ------------------------------------------------------------------------ */

int cmd_recheck(const aidctl_opts_t *o)
{
    if (strcmp(o->args[0], "open") == 0) {
        if (o->nargs < 3)
            return usage("usage: aidctl recheck open CASE BY [ON]");
        json_t *b = json_pack("{ssss}", "case_id", o->args[1], "by", o->args[2]);
        if (b && o->nargs > 3)
            json_object_set_new(b, "on", json_string(o->args[3]));
        dealer_reply_t rep;
        int rc = aidctl_call(o, "recheck.open", b, &rep);
        if (rc >= 0)
            return rc;
        char ref[CELL], kind[CELL], due[CELL], stage[CELL], on[CELL];
        printf("re-check of %s (%s, due %s) opened as %s: %s until %s\n", o->args[1],
               aidctl_field(rep.result, "kind", kind, sizeof kind),
               aidctl_field(rep.result, "due_month", due, sizeof due),
               aidctl_field(rep.result, "referral_id", ref, sizeof ref),
               aidctl_field(rep.result, "stage", stage, sizeof stage),
               aidctl_field(rep.result, "due_on", on, sizeof on));
        return aidctl_done(&rep, 0);
    }
    if (o->nargs > 2)
        return usage("usage: aidctl recheck MONTH [TOWNSHIP] | open CASE BY [ON]");
    json_t *body = json_pack("{ss}", "month", o->args[0]);
    if (body && o->nargs > 1)
        json_object_set_new(body, "township", json_string(o->args[1]));
    dealer_reply_t rep;
    int rc = aidctl_call(o, "recheck.due", body, &rep);
    if (rc >= 0)
        return rc;
    const msgpack_object *d = mp_get(rep.result, "due");
    if (!d || d->type != MSGPACK_OBJECT_ARRAY) {
        dealer_reply_free(&rep);
        fprintf(stderr, "aidctl: the reply has no due list\n");
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    printf("re-checks due by %s: %u\n", o->args[0], d->via.array.size);
    if (d->via.array.size == 0)
        return aidctl_done(&rep, 0);
    static const char *const keys[] = {"due_month", "overdue", "case_id", "kind", "id_masked",
                                       "township"};
    static const char *const heads[] = {"DUE", "OVERDUE", "CASE", "KIND", "PERSON", "TOWNSHIP"};
    return aidctl_done(&rep, aidctl_print_table(d, "llllll", keys, heads));
}
