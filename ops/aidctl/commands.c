/* commands.c — submit, case, health and call: build the request, exchange
 * it, and print the reply readably or as JSON; each returns the exit code. */
#include <stdio.h>
#include <string.h>

#include "aidctl.h"
#include "client.h"
#include "jsonmp.h"
#include "mp.h"
#include "request.h"
#include "show.h"

/* Sends op with body (NULL: {}) read from source (a file name, or NULL) and
 * waits for the checked reply. Returns 0 with *rep filled, else the exit
 * code (the reason printed unless quiet). */
static int exchange(const aidctl_opts_t *o, const char *op, const char *id, const json_t *body,
                    const char *source, dealer_reply_t *rep)
{
    request_t req;
    char err[512];
    if (request_build(&req, op, id, body, err, sizeof err) != 0) {
        if (!o->quiet)
            fprintf(stderr, "aidctl: %s%s%s\n", source ? source : "", source ? ": " : "", err);
        return AIDCTL_EXIT_USAGE;
    }
    int rc = client_call(o->endpoint, o->timeout_ms, req.bytes.data, req.bytes.size, req.id, rep,
                         err, sizeof err);
    request_free(&req);
    if (rc != 0 && !o->quiet)
        fprintf(stderr, "aidctl: %s: %s\n", o->endpoint, err);
    return rc;
}

/* The exit code for an error reply: unavailable means retry later (3). */
static int error_exit(const msgpack_object *error)
{
    return mp_str_is(mp_get(error, "code"), "unavailable") ? AIDCTL_EXIT_UNAVAILABLE
                                                            : AIDCTL_EXIT_REFUSED;
}

static int out_of_memory(void)
{
    fprintf(stderr, "aidctl: out of memory\n");
    return AIDCTL_EXIT_UNAVAILABLE;
}

/* Prints the reply: --json the result or error object on stdout; readable
 * the result through show (NULL: as JSON) and an error on stderr. */
static int finish(const aidctl_opts_t *o, dealer_reply_t *rep,
                  int (*show)(FILE *, const msgpack_object *))
{
    int rc = rep->ok ? AIDCTL_EXIT_OK : error_exit(rep->error);
    int pr;
    if (o->json)
        pr = jsonmp_print(stdout, rep->ok ? rep->result : rep->error);
    else if (!rep->ok)
        pr = show_error(stderr, rep->error);
    else
        pr = show ? show(stdout, rep->result) : jsonmp_print(stdout, rep->result);
    dealer_reply_free(rep);
    return pr != 0 ? out_of_memory() : rc;
}

/* Loads FILE for op: a body, or an envelope whose op must be op. */
static int load_input(const char *path, const char *op, request_input_t *in)
{
    char err[512];
    if (request_load(path, in, err, sizeof err) != 0) {
        fprintf(stderr, "aidctl: %s\n", err);
        return AIDCTL_EXIT_USAGE;
    }
    if (in->envelope && in->op[0] && strcmp(in->op, op) != 0) {
        fprintf(stderr, "aidctl: %s: the envelope's op is \"%s\", not %s (use: aidctl call %s %s)\n",
                path, in->op, op, in->op, path);
        request_input_free(in);
        return AIDCTL_EXIT_USAGE;
    }
    return 0;
}

/* How an input path is named in messages. */
static const char *in_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

/* The id: --id, else the envelope's, else NULL (the default from the body). */
static const char *pick_id(const aidctl_opts_t *o, const request_input_t *in)
{
    if (o->id)
        return o->id;
    return in && in->envelope && in->id[0] ? in->id : NULL;
}

int cmd_submit(const aidctl_opts_t *o)
{
    request_input_t in;
    int rc = load_input(o->args[0], "report.submit", &in);
    if (rc != 0)
        return rc;
    dealer_reply_t rep;
    rc = exchange(o, "report.submit", pick_id(o, &in), in.body, in_name(o->args[0]), &rep);
    request_input_free(&in);
    return rc != 0 ? rc : finish(o, &rep, show_submit);
}

int cmd_case(const aidctl_opts_t *o)
{
    const char *arg = o->args[0];
    json_t *body = json_pack("{ss}", strncmp(arg, "case-", 5) == 0 ? "case_id" : "id_number",
                             arg);
    if (!body)
        return out_of_memory();
    dealer_reply_t rep;
    int rc = exchange(o, "case.get", NULL, body, NULL, &rep);
    json_decref(body);
    return rc != 0 ? rc : finish(o, &rep, show_case);
}

/* The owners behind the front door (issue 15): whether each answers its reads.
 * casework (the review procedure) is asked calendar.get for one day. */
static void show_owners(const aidctl_opts_t *o)
{
    json_t *body = json_pack("{ssss}", "from", "2000-01-01", "to", "2000-01-01");
    dealer_reply_t rep;
    if (!body || exchange(o, "calendar.get", NULL, body, NULL, &rep) != 0) {
        json_decref(body);
        return;
    }
    json_decref(body);
    printf("casework  %s\n", rep.ok ? "ok"
                                    : "not connected: review.* and calendar.* are unavailable");
    dealer_reply_free(&rep);
}

int cmd_health(const aidctl_opts_t *o)
{
    dealer_reply_t rep;
    int rc = exchange(o, "health", NULL, NULL, NULL, &rep);
    if (rc != 0)
        return rc;
    /* only a service that answers ok or degraded is up */
    const msgpack_object *status = rep.ok ? mp_get(rep.result, "status") : NULL;
    bool up = mp_str_is(status, "ok") || mp_str_is(status, "degraded");
    if (o->quiet) {
        dealer_reply_free(&rep);
        return up ? AIDCTL_EXIT_OK : AIDCTL_EXIT_UNAVAILABLE;
    }
    rc = finish(o, &rep, show_health);
    if (!o->json) {
        show_owners(o);
        show_cluster(stdout); /* an HA stack's replicas, Sentinel and backups */
    }
    return rc == AIDCTL_EXIT_OK && up ? AIDCTL_EXIT_OK : AIDCTL_EXIT_UNAVAILABLE;
}

int cmd_call(const aidctl_opts_t *o)
{
    const char *op = o->args[0];
    request_input_t in = {0};
    if (o->nargs > 1) {
        int rc = load_input(o->args[1], op, &in);
        if (rc != 0)
            return rc;
    }
    dealer_reply_t rep;
    int rc = exchange(o, op, pick_id(o, &in), in.body, o->nargs > 1 ? in_name(o->args[1]) : NULL,
                      &rep);
    request_input_free(&in);
    return rc != 0 ? rc : finish(o, &rep, NULL);
}
