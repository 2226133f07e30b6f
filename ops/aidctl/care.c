/* care.c — the care and supervision commands of aidctl (proto/CARE.md):
 *
 *   aidctl visits TOWNSHIP [BEFORE]                  visits.due
 *   aidctl ledger MONTH [TOWNSHIP] [--csv]            ledger.monthly
 *   aidctl ledger submit MONTH TOWNSHIP|DEPARTMENT BY ledger.submit
 *   aidctl disclosure VILLAGE MONTH [--csv]           disclosure.list
 *   aidctl complaint submit CHANNEL TEXT [CASE_ID]    complaint.submit
 *   aidctl complaint [get] TRACKING_NO                complaint.get
 *   aidctl complaint update TRACKING_NO STATUS BY [NOTE]   complaint.update
 *   aidctl overdue [TOWNSHIP] [AS_OF]                 referrals.overdue
 *   aidctl move queue [TOWNSHIP]                      move.queue
 *   aidctl move decide MOVE_ID confirm|reject BY [NOTE]   move.decide
 *   aidctl review queue|step|draw ...                 review.queue, review.step, review.draw
 *   aidctl calendar import FILE.csv BY | list FROM TO  calendar.set, calendar.get
 *
 * Readable output is a table; --json prints the result as JSON; --csv (ledger,
 * disclosure) writes the CSV a township sends to the county office: a header
 * line, then one line per row, RFC 4180 quoting. Writes take --id; the
 * default id is the hash of the body, so the same command twice acts once.
 * Everything the server sent is cleaned before it reaches the terminal. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aidctl.h"
#include "client.h"
#include "jsonmp.h"
#include "mp.h"
#include "request.h"
#include "show.h"
#include "zh.h"
#include "table.h"
#include "text.h"

#define CELL 1024 /* bytes of one printed value */

/* ---- the exchange ------------------------------------------------------------- */

/* Sends op with body (consumed) and prints the reply when it is an error or
 * --json was given. Returns -1 with *rep filled when the caller should print
 * the result readably, else the exit code (rep already freed). */
static int call(const aidctl_opts_t *o, const char *op, json_t *body, dealer_reply_t *rep)
{
    request_t req;
    char err[512];
    if (!body) {
        fprintf(stderr, "aidctl: out of memory\n");
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    int rc = request_build(&req, op, o->id, body, err, sizeof err);
    json_decref(body);
    if (rc != 0) {
        fprintf(stderr, "aidctl: %s\n", err);
        return AIDCTL_EXIT_USAGE;
    }
    rc = client_call(o->endpoint, o->timeout_ms, req.bytes.data, req.bytes.size, req.id, rep,
                     err, sizeof err);
    request_free(&req);
    if (rc != 0) {
        fprintf(stderr, "aidctl: %s: %s\n", o->endpoint, err);
        return rc;
    }
    if (rep->ok && !o->json)
        return -1;
    int exit_code = rep->ok ? AIDCTL_EXIT_OK
                    : mp_str_is(mp_get(rep->error, "code"), "unavailable") ? AIDCTL_EXIT_UNAVAILABLE
                                                                          : AIDCTL_EXIT_REFUSED;
    int pr = o->json ? jsonmp_print(stdout, rep->ok ? rep->result : rep->error)
                     : show_error(stderr, rep->error);
    dealer_reply_free(rep);
    if (pr != 0) {
        fprintf(stderr, "aidctl: out of memory\n");
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    return exit_code;
}

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "aidctl: %s%s%s\nTry 'aidctl --help'.\n", msg, arg ? ": " : "",
            arg ? arg : "");
    return AIDCTL_EXIT_USAGE;
}

/* ---- cells -------------------------------------------------------------------- */

/* Display text of o in buf: strings cleaned for the terminal (or, for CSV,
 * only made valid UTF-8), integers in decimal, booleans yes/no, absent "?",
 * nil "-". Never NULL: a failed allocation shows "?". */
static const char *cell(const msgpack_object *o, char *buf, size_t bufsz, int for_terminal)
{
    if (!o) {
        snprintf(buf, bufsz, "?");
    } else if (o->type == MSGPACK_OBJECT_STR) {
        size_t len;
        char *clean = text_clean(o->via.str.ptr, o->via.str.size, for_terminal, &len);
        if (!clean) {
            snprintf(buf, bufsz, "?");
            return buf;
        }
        size_t cut = len < bufsz ? len : bufsz - 1;
        while (cut < len && cut > 0 && ((unsigned char)clean[cut] & 0xc0) == 0x80)
            cut--; /* never cut a character in half */
        memcpy(buf, clean, cut);
        buf[cut] = '\0';
        free(clean);
    } else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        snprintf(buf, bufsz, "%" PRIu64, o->via.u64);
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        snprintf(buf, bufsz, "%" PRId64, o->via.i64);
    } else if (o->type == MSGPACK_OBJECT_BOOLEAN) {
        snprintf(buf, bufsz, "%s", o->via.boolean ? "yes" : "no");
    } else if (o->type == MSGPACK_OBJECT_NIL) {
        snprintf(buf, bufsz, "-");
    } else {
        snprintf(buf, bufsz, "?");
    }
    return buf;
}

static const char *field(const msgpack_object *map, const char *key, char *buf, size_t bufsz)
{
    return cell(mp_get(map, key), buf, bufsz, 1);
}

/* Fen as yuan with two decimals; "?" when not an integer. */
static const char *yuan(const msgpack_object *o, char *buf, size_t bufsz)
{
    int64_t v;
    if (mp_int(o, &v) != 0)
        snprintf(buf, bufsz, "?");
    else
        snprintf(buf, bufsz, "%s%" PRId64 ".%02d", v < 0 ? "-" : "", (v < 0 ? -(v / 100) : v / 100),
                 (int)(v < 0 ? -(v % 100) : v % 100));
    return buf;
}

/* The array at key, or NULL (message printed) when the reply has none. */
static const msgpack_object *array_at(const msgpack_object *res, const char *key)
{
    const msgpack_object *a = mp_get(res, key);
    if (!a || a->type != MSGPACK_OBJECT_ARRAY) {
        fprintf(stderr, "aidctl: the reply has no %s list\n", key);
        return NULL;
    }
    return a;
}

/* Prints the rows of array a as a table: one column per key, headed by
 * heads; a column whose key starts with '$' prints fen as yuan, with '~'
 * the same but "-" for 0. */
static int print_table(const msgpack_object *a, const char *align, const char *const *keys,
                       const char *const *heads)
{
    int ncol = (int)strlen(align);
    table_t *t = table_new(align);
    if (!t)
        return -1;
    int rc = table_add_row(t, heads);
    for (uint32_t i = 0; rc == 0 && i < a->via.array.size; i++) {
        char bufs[16][CELL];
        const char *row[16];
        for (int c = 0; c < ncol; c++) {
            const msgpack_object *m = &a->via.array.ptr[i];
            int64_t v;
            if (keys[c][0] == '~' && mp_int(mp_get(m, keys[c] + 1), &v) == 0 && v == 0)
                row[c] = "-";
            else if (keys[c][0] == '$' || keys[c][0] == '~')
                row[c] = yuan(mp_get(m, keys[c] + 1), bufs[c], CELL);
            else if (strcmp(keys[c], "%section") == 0)   /* a ledger row, in Chinese */
                row[c] = zh_ledger_section(field(m, "section", bufs[c], CELL));
            else if (strcmp(keys[c], "%item") == 0) {
                char sec[CELL], item[CELL];
                field(m, "section", sec, sizeof sec);
                row[c] = zh_ledger_item(sec, field(m, "item", item, sizeof item), bufs[c], CELL);
                if (row[c] == item) {
                    snprintf(bufs[c], CELL, "%s", item);
                    row[c] = bufs[c];
                }
            }
            else
                row[c] = field(m, keys[c], bufs[c], CELL);
        }
        rc = table_add_row(t, row);
    }
    if (rc == 0)
        table_print(t, stdout, 2);
    table_free(t);
    return rc;
}

/* One CSV field: quoted when it holds a comma, quote, CR or LF. */
static void csv_field(FILE *out, const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
    fputc(last ? '\n' : ',', out);
}

/* Writes header and one line per element of a (keys as columns); a key
 * "=name" writes the top-level value res.name in every line. */
static void print_csv(const msgpack_object *res, const msgpack_object *a,
                      const char *const *keys, int ncol)
{
    for (int c = 0; c < ncol; c++)
        csv_field(stdout, keys[c][0] == '=' ? keys[c] + 1 : keys[c], c == ncol - 1);
    for (uint32_t i = 0; i < a->via.array.size; i++)
        for (int c = 0; c < ncol; c++) {
            char buf[CELL];
            const msgpack_object *o = keys[c][0] == '=' ? mp_get(res, keys[c] + 1)
                                                         : mp_get(&a->via.array.ptr[i], keys[c]);
            csv_field(stdout, cell(o, buf, sizeof buf, 0), c == ncol - 1);
        }
}

static int done(dealer_reply_t *rep, int rc)
{
    dealer_reply_free(rep);
    if (rc != 0) {
        fprintf(stderr, "aidctl: out of memory\n");
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    return AIDCTL_EXIT_OK;
}

/* ---- visits ------------------------------------------------------------------------ */

int cmd_visits(const aidctl_opts_t *o)
{
    json_t *body = json_pack("{ss}", "township", o->args[0]);
    if (body && o->nargs > 1)
        json_object_set_new(body, "before", json_string(o->args[1]));
    dealer_reply_t rep;
    int rc = call(o, "visits.due", body, &rep);
    if (rc >= 0)
        return rc;
    const msgpack_object *v = array_at(rep.result, "visits");
    if (!v) {
        dealer_reply_free(&rep);
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    uint32_t overdue = 0;
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        const msgpack_object *b = mp_get(&v->via.array.ptr[i], "overdue");
        overdue += b && b->type == MSGPACK_OBJECT_BOOLEAN && b->via.boolean;
    }
    char t[CELL], before[CELL];
    printf("visits due in %s before %s: %u (%u overdue)\n",
           field(rep.result, "township", t, sizeof t), field(rep.result, "before", before, sizeof before),
           v->via.array.size, overdue);
    if (v->via.array.size == 0)
        return done(&rep, 0);
    static const char *const keys[] = {"due_on", "overdue", "every", "village", "id_masked",
                                       "name_masked"};
    static const char *const heads[] = {"DUE", "OVERDUE", "EVERY", "VILLAGE", "ID", "NAME"};
    return done(&rep, print_table(v, "llllll", keys, heads));
}

/* ---- ledgers and the public list -------------------------------------------------------- */

static int ledger_submit(const aidctl_opts_t *o)
{
    if (o->nargs != 4)
        return usage("usage: aidctl ledger submit MONTH TOWNSHIP|DEPARTMENT BY", NULL);
    /* a township is 9 digits; anything else is a department's name (civil, ...) */
    const char *who = o->args[2];
    bool town = strspn(who, "0123456789") == strlen(who) && *who;
    json_t *body = json_pack("{ssssss}", "month", o->args[1], town ? "township" : "department",
                             who, "by", o->args[3]);
    dealer_reply_t rep;
    int rc = call(o, "ledger.submit", body, &rep);
    if (rc >= 0)
        return rc;
    char m[CELL], t[CELL], on[CELL], due[CELL], late[CELL];
    const msgpack_object *dup = mp_get(rep.result, "duplicate");
    printf("%sledger %s of %s submitted on %s (due %s%s)\n",
           dup && dup->type == MSGPACK_OBJECT_BOOLEAN && dup->via.boolean ? "duplicate: " : "",
           field(rep.result, "month", m, sizeof m),
           field(rep.result, town ? "township" : "department", t, sizeof t),
           field(rep.result, "submitted_on", on, sizeof on),
           field(rep.result, "due_on", due, sizeof due),
           strcmp(field(rep.result, "late", late, sizeof late), "yes") == 0 ? ", late" : "");
    return done(&rep, 0);
}

int cmd_ledger(const aidctl_opts_t *o)
{
    if (strcmp(o->args[0], "submit") == 0)
        return o->csv ? usage("--csv is for the ledger itself", NULL) : ledger_submit(o);
    if (o->nargs > 2)
        return usage("usage: aidctl ledger MONTH [TOWNSHIP] [--csv]", NULL);
    json_t *body = json_pack("{ss}", "month", o->args[0]);
    if (body && o->nargs > 1)
        json_object_set_new(body, "township", json_string(o->args[1]));
    dealer_reply_t rep;
    int rc = call(o, "ledger.monthly", body, &rep);
    if (rc >= 0)
        return rc;
    const msgpack_object *rows = array_at(rep.result, "rows");
    if (!rows) {
        dealer_reply_free(&rep);
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    if (o->csv) {
        static const char *const keys[] = {"township", "=month", "section", "item", "count",
                                           "amount_fen"};
        print_csv(rep.result, rows, keys, 6);
        return done(&rep, 0);
    }
    char m[CELL], t[CELL], due[CELL], sub[CELL];
    const msgpack_object *town = mp_get(rep.result, "township");
    if (o->zh) {
        const msgpack_object *s = mp_get(rep.result, "submitted");
        printf("%s 台账 %s:报送截止 %s,%s\n", field(rep.result, "month", m, sizeof m),
               town ? field(rep.result, "township", t, sizeof t) : "全部乡镇",
               field(rep.result, "due_on", due, sizeof due),
               s && s->type == MSGPACK_OBJECT_BOOLEAN && s->via.boolean ? "已报送" : "尚未报送");
    } else {
        printf("ledger %s, %s: due %s, submitted %s\n", field(rep.result, "month", m, sizeof m),
               town ? field(rep.result, "township", t, sizeof t) : "every township",
               field(rep.result, "due_on", due, sizeof due),
               field(rep.result, "submitted", sub, sizeof sub));
    }
    /* the county's view: who has not submitted (R-LEDGER-MONTHLY) */
    const msgpack_object *miss = mp_get(rep.result, "missing");
    static const char *const miss_keys[] = {"townships", "departments"};
    for (int k = 0; miss && k < 2; k++) {
        const msgpack_object *a = mp_get(miss, miss_keys[k]);
        if (!a || a->type != MSGPACK_OBJECT_ARRAY)
            continue;
        printf(o->zh ? (k ? "  未报送的部门(%u):" : "  未报送的乡镇(%u):")
                     : (k ? "  departments not submitted (%u):" : "  townships not submitted (%u):"),
               a->via.array.size);
        for (uint32_t i = 0; i < a->via.array.size; i++) {
            char c[CELL];
            const char *code = cell(&a->via.array.ptr[i], c, sizeof c, 1);
            const char *zh = o->zh && k ? zh_department(code) : NULL;
            printf(" %s", zh ? zh : code);
        }
        printf("\n");
    }
    if (rows->via.array.size == 0) {
        printf(o->zh ? "  本月没有台账数据\n" : "  no figures for this month\n");
        return done(&rep, 0);
    }
    static const char *const keys[] = {"township", "section", "item", "count", "~amount_fen"};
    static const char *const heads[] = {"TOWNSHIP", "SECTION", "ITEM", "COUNT", "AMOUNT"};
    static const char *const keys_zh[] = {"township", "%section", "%item", "count",
                                          "~amount_fen"};
    static const char *const heads_zh[] = {"乡镇", "栏目", "项目", "数量", "金额(元)"};
    return done(&rep, o->zh ? print_table(rows, "lllrr", keys_zh, heads_zh)
                            : print_table(rows, "lllrr", keys, heads));
}

int cmd_disclosure(const aidctl_opts_t *o)
{
    json_t *body = json_pack("{ssss}", "village", o->args[0], "month", o->args[1]);
    dealer_reply_t rep;
    int rc = call(o, "disclosure.list", body, &rep);
    if (rc >= 0)
        return rc;
    const msgpack_object *rows = array_at(rep.result, "rows");
    if (!rows) {
        dealer_reply_free(&rep);
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    if (o->csv) {
        static const char *const keys[] = {"village", "=month", "name_masked", "household_size",
                                           "measure", "amount_fen"};
        print_csv(rep.result, rows, keys, 6);
        return done(&rep, 0);
    }
    char v[CELL], m[CELL];
    printf("public list of %s, %s: %u row(s)\n", field(rep.result, "village", v, sizeof v),
           field(rep.result, "month", m, sizeof m), rows->via.array.size);
    static const char *const keys[] = {"name_masked", "household_size", "measure", "$amount_fen"};
    static const char *const heads[] = {"NAME", "HOUSEHOLD", "MEASURE", "AMOUNT"};
    int pr = rows->via.array.size ? print_table(rows, "lrlr", keys, heads) : 0;
    /* 公示: proposals under notice (R-PROC-NOTICE), apart from the recipients */
    const msgpack_object *notices = mp_get(rep.result, "notices");
    if (pr == 0 && notices && notices->type == MSGPACK_OBJECT_ARRAY && notices->via.array.size) {
        static const char *const nkeys[] = {"name_masked", "household_size", "measure",
                                            "$amount_fen", "notice_ends_on"};
        static const char *const nheads[] = {"NAME", "HOUSEHOLD", "PROPOSED", "AMOUNT",
                                             "NOTICE_UNTIL"};
        printf("under public notice (公示): %u\n", notices->via.array.size);
        pr = print_table(notices, "lrlrl", nkeys, nheads);
    }
    return done(&rep, pr);
}

/* ---- complaints -------------------------------------------------------------------------- */

static int complaint_show(dealer_reply_t *rep)
{
    const msgpack_object *res = rep->result;
    char no[CELL], st[CELL], ch[CELL], cid[CELL], at[CELL], text[CELL];
    const msgpack_object *dup = mp_get(res, "duplicate");
    printf("%scomplaint %s: %s", dup && dup->type == MSGPACK_OBJECT_BOOLEAN && dup->via.boolean
                                    ? "duplicate: " : "",
           field(res, "tracking_no", no, sizeof no), field(res, "status", st, sizeof st));
    const msgpack_object *steps = mp_get(res, "steps");
    if (!steps || steps->type != MSGPACK_OBJECT_ARRAY) {
        printf("\n"); /* submit and update answer with the status only */
        return done(rep, 0);
    }
    printf(" (%s, submitted %s", field(res, "channel", ch, sizeof ch),
           field(res, "submitted_at", at, sizeof at));
    if (mp_get(res, "case_id"))
        printf(", about %s", field(res, "case_id", cid, sizeof cid));
    printf(")\n  %s\n", field(res, "text", text, sizeof text));
    static const char *const keys[] = {"step", "status", "by", "at", "note"};
    static const char *const heads[] = {"STEP", "STATUS", "BY", "AT", "NOTE"};
    return done(rep, print_table(steps, "rllll", keys, heads));
}

int cmd_complaint(const aidctl_opts_t *o)
{
    const char *verb = o->args[0];
    json_t *body;
    const char *op;
    if (strcmp(verb, "submit") == 0) {
        if (o->nargs < 3 || o->nargs > 4)
            return usage("usage: aidctl complaint submit CHANNEL TEXT [CASE_ID]", NULL);
        op = "complaint.submit";
        body = json_pack("{ssss}", "channel", o->args[1], "text", o->args[2]);
        if (body && o->nargs == 4)
            json_object_set_new(body, "case_id", json_string(o->args[3]));
    } else if (strcmp(verb, "update") == 0) {
        if (o->nargs < 4 || o->nargs > 5)
            return usage("usage: aidctl complaint update TRACKING_NO STATUS BY [NOTE]", NULL);
        op = "complaint.update";
        body = json_pack("{ssssss}", "tracking_no", o->args[1], "status", o->args[2], "by",
                         o->args[3]);
        if (body && o->nargs == 5)
            json_object_set_new(body, "note", json_string(o->args[4]));
    } else {
        int get = strcmp(verb, "get") == 0;
        if (o->nargs != 1 + get)
            return usage("usage: aidctl complaint [get] TRACKING_NO", NULL);
        if (o->id)
            return usage("--id is for complaint submit and update", NULL);
        op = "complaint.get";
        body = json_pack("{ss}", "tracking_no", o->args[get]);
    }
    dealer_reply_t rep;
    int rc = call(o, op, body, &rep);
    return rc >= 0 ? rc : complaint_show(&rep);
}

/* ---- possible moves (住址变更) ------------------------------------------------------------ */

int cmd_move(const aidctl_opts_t *o)
{
    const char *verb = o->args[0];
    json_t *body;
    const char *op;
    if (strcmp(verb, "decide") == 0) {
        if (o->nargs < 4 || o->nargs > 5)
            return usage("usage: aidctl move decide MOVE_ID confirm|reject BY [NOTE]", NULL);
        op = "move.decide";
        body = json_pack("{ssssss}", "move_id", o->args[1], "decision", o->args[2], "by",
                         o->args[3]);
        if (body && o->nargs == 5)
            json_object_set_new(body, "note", json_string(o->args[4]));
    } else if (strcmp(verb, "queue") == 0 && o->nargs <= 2) {
        if (o->id)
            return usage("--id is for move decide", NULL);
        op = "move.queue";
        body = json_object();
        if (body && o->nargs == 2)
            json_object_set_new(body, "township", json_string(o->args[1]));
    } else {
        return usage("usage: aidctl move queue [TOWNSHIP] | "
                     "move decide MOVE_ID confirm|reject BY [NOTE]", NULL);
    }
    dealer_reply_t rep;
    int rc = call(o, op, body, &rep);
    if (rc >= 0)
        return rc;
    char a[CELL], b[CELL], c[CELL], d[CELL];
    if (strcmp(op, "move.decide") == 0) {
        const msgpack_object *dup = mp_get(rep.result, "duplicate");
        printf("%s%s %s: %s registered in %s\n",
               dup && dup->type == MSGPACK_OBJECT_BOOLEAN && dup->via.boolean ? "duplicate: " : "",
               field(rep.result, "move_id", a, sizeof a), field(rep.result, "decision", b, sizeof b),
               field(rep.result, "case_id", c, sizeof c),
               field(rep.result, "township", d, sizeof d));
        return done(&rep, 0);
    }
    const msgpack_object *rows = array_at(rep.result, "moves");
    if (!rows) {
        dealer_reply_free(&rep);
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    printf("%u possible move(s) to confirm or reject\n", rows->via.array.size);
    if (rows->via.array.size == 0)
        return done(&rep, 0);
    static const char *const keys[] = {"move_id", "case_id", "report_id", "township",
                                       "to_township", "to_village", "reported_at"};
    static const char *const heads[] = {"MOVE", "CASE", "REPORT", "REGISTERED", "REPORTED_IN",
                                        "VILLAGE", "AT"};
    return done(&rep, print_table(rows, "lllllll", keys, heads));
}

/* ---- overdue referrals ----------------------------------------------------------------------- */

int cmd_overdue(const aidctl_opts_t *o)
{
    json_t *body = json_object();
    if (body && o->nargs > 0 && o->args[0][0])
        json_object_set_new(body, "township", json_string(o->args[0]));
    if (body && o->nargs > 1)
        json_object_set_new(body, "as_of", json_string(o->args[1]));
    dealer_reply_t rep;
    int rc = call(o, "referrals.overdue", body, &rep);
    if (rc >= 0)
        return rc;
    const msgpack_object *rows = array_at(rep.result, "referrals");
    if (!rows) {
        dealer_reply_free(&rep);
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    char d[CELL];
    printf("referrals overdue on %s: %u\n", field(rep.result, "as_of", d, sizeof d),
           rows->via.array.size);
    int prc = 0;
    if (rows->via.array.size > 0) {
        static const char *const keys[] = {"urgent", "referral_id", "case_id", "department",
                                           "village", "created_on", "deadline",
                                           "working_days_overdue"};
        static const char *const heads[] = {"URGENT", "REFERRAL", "CASE", "DEPARTMENT",
                                            "VILLAGE", "CREATED", "DEADLINE", "DAYS OVER"};
        prc = print_table(rows, "lllllllr", keys, heads);
    }
    /* re-checks past their month (R-RECHECK) */
    const msgpack_object *rc_rows = array_at(rep.result, "rechecks");
    if (prc == 0 && rc_rows && rc_rows->via.array.size > 0) {
        printf("re-checks overdue: %u\n", rc_rows->via.array.size);
        static const char *const keys[] = {"due_month", "case_id", "kind", "id_masked",
                                           "township", "referral_id"};
        static const char *const heads[] = {"DUE", "CASE", "KIND", "PERSON", "TOWNSHIP",
                                            "REVIEW"};
        prc = print_table(rc_rows, "llllll", keys, heads);
    }
    return done(&rep, prc);
}

/* ---- for the other command files (benefits.c) ------------------------------------ */

int aidctl_call(const aidctl_opts_t *o, const char *op, json_t *body, dealer_reply_t *rep)
{
    return call(o, op, body, rep);
}

int aidctl_print_table(const msgpack_object *a, const char *align, const char *const *keys,
                       const char *const *heads)
{
    return print_table(a, align, keys, heads);
}

const char *aidctl_field(const msgpack_object *map, const char *key, char *buf, size_t bufsz)
{
    return field(map, key, buf, bufsz);
}

int aidctl_done(dealer_reply_t *rep, int rc)
{
    return done(rep, rc);
}

/* ---- the review procedure (proto/README.md §11.2) ---------------------------------------- */

/* Adds the FIELD=VALUE arguments args[from..] to body: names in allowed (a
 * space-separated list); "json:" names take a JSON value. 0, or a usage error. */
static int add_fields(json_t *body, const aidctl_opts_t *o, int from, const char *allowed,
                      const char *json_fields)
{
    for (int i = from; i < o->nargs; i++) {
        const char *eq = strchr(o->args[i], '=');
        char name[32];
        size_t n = eq ? (size_t)(eq - o->args[i]) : 0;
        if (!eq || n == 0 || n >= sizeof name)
            return usage("expected FIELD=VALUE", o->args[i]);
        memcpy(name, o->args[i], n);
        name[n] = '\0';
        char pad[40];
        snprintf(pad, sizeof pad, " %s ", name);
        char list[200], jlist[100];
        snprintf(list, sizeof list, " %s ", allowed);
        snprintf(jlist, sizeof jlist, " %s ", json_fields);
        if (!strstr(list, pad))
            return usage("unknown field", name);
        json_t *v;
        if (strstr(jlist, pad)) {
            json_error_t je;
            if (!(v = json_loads(eq + 1, JSON_DECODE_ANY, &je)))
                return usage("not JSON", o->args[i]);
        } else if (strcmp(name, "overdue") == 0) {
            v = json_boolean(strcmp(eq + 1, "true") == 0 || strcmp(eq + 1, "yes") == 0);
        } else {
            v = json_string(eq + 1);
        }
        json_object_set_new(body, name, v);
    }
    return 0;
}

int cmd_review(const aidctl_opts_t *o)
{
    const char *verb = o->args[0], *op;
    json_t *body = json_object();
    int rc = 0;
    if (!body)
        return call(o, "review.queue", NULL, NULL);
    if (strcmp(verb, "queue") == 0) {
        if (o->id)
            rc = usage("--id is for review step and review draw", NULL);
        else
            rc = add_fields(body, o, 1, "stage township department overdue", "");
        op = "review.queue";
    } else if (strcmp(verb, "step") == 0 && o->nargs >= 4) {
        json_object_set_new(body, "referral_id", json_string(o->args[1]));
        json_object_set_new(body, "action", json_string(o->args[2]));
        json_object_set_new(body, "by", json_string(o->args[3]));
        rc = add_fields(body, o, 4, "on note findings amend", "findings amend");
        op = "review.step";
    } else if (strcmp(verb, "draw") == 0 && o->nargs == 4) {
        json_object_set_new(body, "township", json_string(o->args[1]));
        json_object_set_new(body, "month", json_string(o->args[2]));
        json_object_set_new(body, "by", json_string(o->args[3]));
        op = "review.draw";
    } else {
        rc = usage("usage: aidctl review queue [stage=S] [township=T] [department=D] "
                   "[overdue=true] | review step REFERRAL_ID ACTION BY [on=YYYY-MM-DD] "
                   "[note=TEXT] [findings=JSON] [amend=JSON] | review draw TOWNSHIP YYYY-MM BY",
                   NULL);
        op = NULL;
    }
    if (rc != 0) {
        json_decref(body);
        return rc;
    }
    dealer_reply_t rep;
    rc = call(o, op, body, &rep);
    if (rc >= 0)
        return rc;
    char a[CELL], b[CELL], c[CELL], d[CELL];
    if (strcmp(op, "review.step") == 0) {
        const msgpack_object *dup = mp_get(rep.result, "duplicate");
        printf("%s%s %s: stage %s, status %s",
               dup && dup->type == MSGPACK_OBJECT_BOOLEAN && dup->via.boolean ? "duplicate: " : "",
               field(rep.result, "referral_id", a, sizeof a),
               field(rep.result, "action", b, sizeof b), field(rep.result, "stage", c, sizeof c),
               field(rep.result, "status", d, sizeof d));
        if (mp_get(rep.result, "due_on"))
            printf(", due %s", field(rep.result, "due_on", a, sizeof a));
        if (mp_get(rep.result, "notice_ends_on"))
            printf(", notice until %s", field(rep.result, "notice_ends_on", a, sizeof a));
        printf("\n");
        return done(&rep, 0);
    }
    if (strcmp(op, "review.draw") == 0) {
        const msgpack_object *drawn = array_at(rep.result, "drawn");
        printf("%s %s: %u of %s drawn (at least %s%%), seed %s, by %s\n",
               field(rep.result, "township", a, sizeof a), field(rep.result, "month", b, sizeof b),
               drawn ? drawn->via.array.size : 0, field(rep.result, "awaiting", c, sizeof c),
               field(rep.result, "rate_percent", d, sizeof d),
               field(rep.result, "seed", a, sizeof a), field(rep.result, "by", b, sizeof b));
        for (uint32_t i = 0; drawn && i < drawn->via.array.size; i++)
            printf("  %s\n", cell(&drawn->via.array.ptr[i], a, sizeof a, 1));
        return done(&rep, 0);
    }
    const msgpack_object *rows = array_at(rep.result, "items");
    if (!rows) {
        dealer_reply_free(&rep);
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    printf("%u review(s), oldest due first\n", rows->via.array.size);
    if (rows->via.array.size == 0)
        return done(&rep, 0);
    static const char *const keys[] = {"referral_id", "case_id", "kind", "stage", "due_on",
                                       "overdue", "village", "name_masked"};
    static const char *const heads[] = {"REFERRAL", "CASE", "KIND", "STAGE", "DUE", "OVERDUE",
                                        "VILLAGE", "NAME"};
    return done(&rep, print_table(rows, "llllllll", keys, heads));
}

/* Splits a calendar line "day,kind[,note]" (changed in place); the field count. */
static int cal_split(char *line, char *f[3])
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < 3; n++) {
        f[n] = p;
        char *comma = n < 2 ? strchr(p, ',') : NULL;
        if (!comma)
            return n + 1;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

int cmd_calendar(const aidctl_opts_t *o)
{
    const char *verb = o->args[0];
    if (strcmp(verb, "list") == 0 && o->nargs == 3) {
        dealer_reply_t rep;
        int rc = call(o, "calendar.get", json_pack("{ssss}", "from", o->args[1], "to", o->args[2]),
                      &rep);
        if (rc >= 0)
            return rc;
        const msgpack_object *rows = array_at(rep.result, "days");
        if (!rows) {
            dealer_reply_free(&rep);
            return AIDCTL_EXIT_UNAVAILABLE;
        }
        static const char *const keys[] = {"day", "kind", "note"};
        static const char *const heads[] = {"DAY", "KIND", "NOTE"};
        return done(&rep, print_table(rows, "lll", keys, heads));
    }
    if (strcmp(verb, "import") != 0 || o->nargs != 3)
        return usage("usage: aidctl calendar import FILE.csv BY | calendar list FROM TO "
                     "(FILE: day,kind[,note] per line, kind holiday|workday|normal)", NULL);
    FILE *in = strcmp(o->args[1], "-") == 0 ? stdin : fopen(o->args[1], "r");
    if (!in) {
        fprintf(stderr, "aidctl: %s: cannot open\n", o->args[1]);
        return AIDCTL_EXIT_USAGE;
    }
    /* the file is read whole first; the server checks every day (bad ones named) */
    json_t *days = json_array();
    char line[512];
    int lineno = 0, rc = 0;
    while (days && rc == 0 && fgets(line, sizeof line, in)) {
        char *f[3] = {NULL, NULL, NULL};
        lineno++;
        int n = cal_split(line, f);
        if (n == 1 && !f[0][0])
            continue;
        if (lineno == 1 && strcmp(f[0], "day") == 0)
            continue; /* a header */
        if (n < 2) {
            fprintf(stderr, "aidctl: %s:%d: expected day,kind[,note]\n", o->args[1], lineno);
            rc = AIDCTL_EXIT_USAGE;
            break;
        }
        json_t *d = json_pack("{ssss}", "day", f[0], "kind", f[1]);
        if (d && n == 3 && f[2][0])
            json_object_set_new(d, "note", json_string(f[2]));
        json_array_append_new(days, d);
    }
    if (in != stdin)
        fclose(in);
    if (rc != 0 || !days || json_array_size(days) == 0) {
        json_decref(days);
        if (rc == 0)
            fprintf(stderr, "aidctl: %s: no days\n", o->args[1]);
        return rc ? rc : AIDCTL_EXIT_USAGE;
    }
    if (json_array_size(days) > 400) {
        json_decref(days);
        fprintf(stderr, "aidctl: %s: at most 400 days per import\n", o->args[1]);
        return AIDCTL_EXIT_USAGE;
    }
    json_t *body = json_pack("{soss}", "days", days, "by", o->args[2]);
    dealer_reply_t rep;
    rc = call(o, "calendar.set", body, &rep);
    if (rc >= 0)
        return rc;
    char a[CELL];
    printf("%s day(s) set\n", field(rep.result, "set", a, sizeof a));
    return done(&rep, 0);
}
