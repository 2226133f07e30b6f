/* trigger.c — `aidctl trigger`: send an event of another bureau
 * (trigger.submit, PROTOCOL.md; proto/DEPARTMENTS.md) from the command line.
 *
 *   aidctl trigger disaster areas=520123101,520123102001 hazard=flood
 *   aidctl trigger medical_expense id_number=… expense_fen=600000 months=6
 *   aidctl trigger FILE.json            (a body, or a whole envelope)
 *   aidctl trigger list [KIND]          triggers.list: recent triggers, outcomes
 *   aidctl trigger show trigger-12      trigger.get: the households it reached
 *
 * FIELD=VALUE pairs become the body: areas is a comma-separated list,
 * expense_fen, months and disability_grade are integers, everything else is
 * text. A trigger is an event, and two equal bodies can be two events (a
 * second flood over the same townships): idempotency comes from the request
 * id alone, as for every write. So the default id is new for every command
 * (aidctl-trigger-<time>-<random>) and is printed; resend after a time-out
 * with --id and that id to act once. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aidctl.h"
#include "client.h"
#include "jsonmp.h"
#include "mp.h"
#include "report.h"
#include "request.h"
#include "show.h"

static bool is_kind(const char *s)
{
    return proto_name_find(report_trigger_kinds, s) >= 0;
}

/* Parses a strict decimal integer (optional '-'). */
static int parse_int(const char *s, json_int_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

/* The body from KIND and FIELD=VALUE arguments; NULL (message printed) on error. */
static json_t *body_from_args(const aidctl_opts_t *o)
{
    json_t *body = json_pack("{ss}", "kind", o->args[0]);
    for (int i = 1; body && i < o->nargs; i++) {
        const char *a = o->args[i], *eq = strchr(a, '=');
        if (!eq || eq == a) {
            fprintf(stderr, "aidctl: trigger: '%s' is not FIELD=VALUE\n", a);
            goto fail;
        }
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - a), a);
        const char *v = eq + 1;
        json_t *val;
        if (strcmp(key, "areas") == 0) {
            val = json_array();
            for (const char *p = v; val && *p;) {
                size_t n = strcspn(p, ",");
                json_array_append_new(val, json_stringn(p, n));
                p += n + (p[n] == ',');
            }
        } else if (!strcmp(key, "expense_fen") || !strcmp(key, "months") ||
                   !strcmp(key, "disability_grade")) {
            json_int_t n;
            if (parse_int(v, &n) != 0) {
                fprintf(stderr, "aidctl: trigger: %s must be an integer\n", key);
                goto fail;
            }
            val = json_integer(n);
        } else {
            val = json_string(v);
        }
        if (!val || json_object_get(body, key) || json_object_set_new(body, key, val) != 0) {
            fprintf(stderr, "aidctl: trigger: %s given twice or not text\n", key);
            goto fail;
        }
    }
    return body;
fail:
    json_decref(body);
    return NULL;
}

/* Readable result: what the trigger reached, and its request id. */
static void show_accepted(const msgpack_object *res, const char *id)
{
    char tid[64] = "?", cid[64] = "", rid[64] = "";
    int64_t cases = -1;
    mp_str_copy(mp_get(res, "trigger_id"), tid, sizeof tid);
    mp_int(mp_get(res, "cases"), &cases);
    mp_str_copy(mp_get(res, "case_id"), cid, sizeof cid);
    mp_str_copy(mp_get(res, "report_id"), rid, sizeof rid);
    const msgpack_object *dup = mp_get(res, "duplicate");
    printf("%s%s: reached %lld case(s)", dup && dup->type == MSGPACK_OBJECT_BOOLEAN &&
           dup->via.boolean ? "duplicate: " : "", tid, (long long)cases);
    if (*cid)
        printf(" (%s%s%s)", cid, *rid ? ", " : "", rid);
    printf("\nrequest id %s\n", id);
}

/* A new request id for one trigger command: the time and 64 random bits. */
static void fresh_id(char *out, size_t outsz)
{
    unsigned char rnd[8];
    char hex[17];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    snprintf(out, outsz, "aidctl-trigger-%lld-%s", (long long)time(NULL), hex);
}

/* Sends a read (op, body consumed) and prints its result with show, or as
 * JSON with --json; the exit code. */
static int read_op(const aidctl_opts_t *o, const char *op, json_t *body,
                   int (*show)(FILE *, const msgpack_object *))
{
    request_t req;
    char err[512];
    int rc = body ? request_build(&req, op, o->id, body, err, sizeof err) : -1;
    if (!body)
        snprintf(err, sizeof err, "out of memory");
    json_decref(body);
    if (rc != 0) {
        fprintf(stderr, "aidctl: trigger: %s\n", err);
        return AIDCTL_EXIT_USAGE;
    }
    dealer_reply_t rep;
    rc = client_call(o->endpoint, o->timeout_ms, req.bytes.data, req.bytes.size, req.id, &rep,
                     err, sizeof err);
    request_free(&req);
    if (rc != 0) {
        fprintf(stderr, "aidctl: %s: %s\n", o->endpoint, err);
        return rc;
    }
    int exit_code = rep.ok ? AIDCTL_EXIT_OK
                    : mp_str_is(mp_get(rep.error, "code"), "unavailable") ? AIDCTL_EXIT_UNAVAILABLE
                                                                          : AIDCTL_EXIT_REFUSED;
    int pr = o->json ? jsonmp_print(stdout, rep.ok ? rep.result : rep.error)
             : rep.ok ? show(stdout, rep.result)
                      : show_error(stderr, rep.error);
    dealer_reply_free(&rep);
    if (pr != 0) {
        fprintf(stderr, "aidctl: out of memory\n");
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    return exit_code;
}

int cmd_trigger(const aidctl_opts_t *o)
{
    request_input_t in = {0};
    json_t *body = NULL;
    const char *id = o->id;
    char err[512], own_id[64];
    if (strcmp(o->args[0], "list") == 0) {
        if (o->nargs > 2 || o->id) {
            fprintf(stderr, "aidctl: trigger list [KIND] takes no more (and no --id)\n");
            return AIDCTL_EXIT_USAGE;
        }
        return read_op(o, "triggers.list",
                       o->nargs == 2 ? json_pack("{ss}", "kind", o->args[1]) : json_object(),
                       show_triggers);
    }
    if (strcmp(o->args[0], "show") == 0) {
        if (o->nargs != 2 || o->id) {
            fprintf(stderr, "aidctl: trigger show TRIGGER_ID (e.g. trigger-12), no --id\n");
            return AIDCTL_EXIT_USAGE;
        }
        return read_op(o, "trigger.get", json_pack("{ss}", "trigger_id", o->args[1]),
                       show_trigger);
    }
    if (is_kind(o->args[0])) {
        if (!(body = body_from_args(o)))
            return AIDCTL_EXIT_USAGE;
    } else {
        if (o->nargs > 1) {
            fprintf(stderr, "aidctl: trigger: '%s' is no kind (", o->args[0]);
            for (int i = 0; report_trigger_kinds[i]; i++)
                fprintf(stderr, "%s%s", i ? "|" : "", report_trigger_kinds[i]);
            fprintf(stderr, ") and a file takes no FIELD=VALUE\n");
            return AIDCTL_EXIT_USAGE;
        }
        if (request_load(o->args[0], &in, err, sizeof err) != 0) {
            fprintf(stderr, "aidctl: %s\n", err);
            return AIDCTL_EXIT_USAGE;
        }
        if (in.envelope && in.op[0] && strcmp(in.op, "trigger.submit") != 0) {
            fprintf(stderr, "aidctl: %s: the envelope's op is \"%s\", not trigger.submit\n",
                    o->args[0], in.op);
            request_input_free(&in);
            return AIDCTL_EXIT_USAGE;
        }
        if (!id && in.envelope && in.id[0])
            id = in.id;
    }
    if (!id) {
        fresh_id(own_id, sizeof own_id);
        id = own_id;
    }
    request_t req;
    int rc = request_build(&req, "trigger.submit", id, body ? body : in.body, err, sizeof err);
    json_decref(body);
    if (rc != 0) {
        fprintf(stderr, "aidctl: trigger: %s\n", err);
        request_input_free(&in);
        return AIDCTL_EXIT_USAGE;
    }
    dealer_reply_t rep;
    rc = client_call(o->endpoint, o->timeout_ms, req.bytes.data, req.bytes.size, req.id, &rep,
                     err, sizeof err);
    request_free(&req);
    request_input_free(&in);
    if (rc != 0) {
        fprintf(stderr, "aidctl: %s: %s\naidctl: to resend this trigger without acting twice: "
                        "--id %s\n", o->endpoint, err, id);
        return rc;
    }
    int exit_code = rep.ok ? AIDCTL_EXIT_OK
                    : mp_str_is(mp_get(rep.error, "code"), "unavailable") ? AIDCTL_EXIT_UNAVAILABLE
                                                                          : AIDCTL_EXIT_REFUSED;
    if (!rep.ok && exit_code == AIDCTL_EXIT_UNAVAILABLE)
        fprintf(stderr, "aidctl: nothing was accepted; resend with --id %s\n", id);
    int pr = 0;
    if (o->json)
        pr = jsonmp_print(stdout, rep.ok ? rep.result : rep.error);
    else if (!rep.ok)
        pr = show_error(stderr, rep.error);
    else
        show_accepted(rep.result, id);
    dealer_reply_free(&rep);
    if (pr != 0) {
        fprintf(stderr, "aidctl: out of memory\n");
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    return exit_code;
}
