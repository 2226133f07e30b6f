/* api_case.c — filing a report, reading a case and following it live.
 *
 * Reach: a township caseworker sees the whole of the cases registered in
 * their township (case.area's "township"; it changes only when a move is
 * confirmed, migration 050) and, of a case registered elsewhere, only the
 * reports their township filed (case.get with "township"): filing a report
 * naming someone of another township's household gains nothing more. A
 * department officer sees only the cases with a referral to their
 * department; anyone else gets 404 with the very error a missing case gets,
 * so that existence does not leak. Every read of a case
 * is written to the audit trail before the case leaves the gateway; when the
 * audit cannot be written, the case is not shown (503). */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "log.h"
#include "svc.h"

#define SSE_WAIT_MS 15000          /* a keep-alive comment at least this often */
#define SSE_LIFETIME_MS 600000     /* then the stream ends; EventSource reconnects
                                      (and the session is checked again) */

static int not_found(gw_reply_t *out, const json_t *query)
{
    const char *field = json_object_get(query, "id_number") ? "id_number" : "case_id";
    return gw_fail(out, 404, "not_found", field, "no such case");
}

static bool has_string(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    return false;
}

/* True when the case (a case.get result) has a referral to department. */
static bool has_department(const json_t *c, const char *department)
{
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(c, "referrals"), i, ref) {
        const char *d = json_string_value(json_object_get(ref, "department"));
        if (d && strcmp(d, department) == 0)
            return true;
    }
    return false;
}

int api_case_reach(gw_req_t *r, gw_reply_t *out, json_t *query, json_t **area, char *case_id,
                   size_t case_idsz, bool *own_only)
{
    if (own_only)
        *own_only = false;
    *area = NULL;
    if (gw_call(r, out, "case.area", NULL, query, area) != 0) {
        if (out->status == 501) /* an intake without case.area: fail closed */
            gw_fail(out, 503, "unavailable", NULL, "intake does not serve case.area yet");
        return -1;
    }
    const char *cid = json_string_value(json_object_get(*area, "case_id"));
    const char *home = json_string_value(json_object_get(*area, "township"));
    bool other = r->user->role == ROLE_TOWNSHIP && (!home || strcmp(home, r->user->scope) != 0);
    bool filed = has_string(json_object_get(*area, "townships"), r->user->scope);
    if (!cid || (other && (!own_only || !filed))) {
        json_decref(*area);
        *area = NULL;
        not_found(out, query);
        return -1;
    }
    snprintf(case_id, case_idsz, "%s", cid);
    if (own_only)
        *own_only = other;
    return 0;
}

/* What a caseworker who sees only their own reports of a case learns of
 * where it lives: their township and its villages, and that the view is
 * partial — not where the household is registered or its other reports. */
static void own_area(json_t *area, const char *township)
{
    json_t *villages = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(area, "villages"), i, v)
        if (json_is_string(v) && strncmp(json_string_value(v), township, strlen(township)) == 0)
            json_array_append(villages, v);
    json_object_del(area, "township");
    json_object_set_new(area, "townships", json_pack("[s]", township));
    json_object_set_new(area, "villages", villages);
    json_object_set_new(area, "own_reports_only", json_true());
}

/* Reads a case for the user: reach, case.get, audit, answer. */
static int case_read(gw_req_t *r, gw_reply_t *out, json_t *query, const char *how)
{
    json_t *area = NULL, *c = NULL;
    char case_id[64];
    bool own_only;
    if (api_case_reach(r, out, query, &area, case_id, sizeof case_id, &own_only) != 0)
        return 0;
    /* own reports only: by the person asked for, whom one of them must name */
    json_t *id = own_only ? json_object_get(query, "id_number") : NULL;
    json_t *q = id ? json_pack("{s:O}", "id_number", id) : json_pack("{s:s}", "case_id", case_id);
    if (own_only)
        json_object_set_new(q, "township", json_string(r->user->scope));
    if (gw_call(r, out, "case.get", NULL, q, &c) != 0)
        goto done;
    if (r->user->role == ROLE_DEPARTMENT && !has_department(c, r->user->scope)) {
        not_found(out, query);
        goto done;
    }
    if (gw_audit(r, "case.read", case_id, own_only ? "own reports only" : how) != 0) {
        gw_fail(out, 503, "unavailable", NULL, "审计记录无法写入,暂不能查看个案");
        goto done;
    }
    if (own_only)
        own_area(area, r->user->scope);
    json_object_set(c, "area", area);
    gw_ok(out, c);
    c = NULL;
done:
    json_decref(q);
    json_decref(c);
    json_decref(area);
    return 0;
}

int api_case_get(gw_req_t *r, gw_reply_t *out)
{
    json_t *query = json_pack("{s:s}", "case_id", r->param[0]);
    case_read(r, out, query, "");
    json_decref(query);
    return 0;
}

int api_case_lookup(gw_req_t *r, gw_reply_t *out)
{
    json_t *body = gw_body_object(r, out);
    if (!body)
        return 0;
    json_t *id = json_object_get(body, "id_number");
    if (!json_is_string(id) || json_object_size(body) != 1) {
        gw_fail(out, 400, "invalid_field", "id_number", "请输入身份证号码");
    } else {
        json_t *query = json_pack("{s:O}", "id_number", id);
        case_read(r, out, query, "lookup by ID number");
        json_decref(query);
    }
    json_decref(body);
    return 0;
}

/* ---- filing -------------------------------------------------------------- */

/* A township caseworker files for their own township only. */
static int check_area(gw_req_t *r, gw_reply_t *out, const json_t *body)
{
    if (r->user->role != ROLE_TOWNSHIP)
        return 0;
    const json_t *area = json_object_get(body, "area");
    const char *t = json_string_value(json_object_get(area, "township"));
    const char *v = json_string_value(json_object_get(area, "village"));
    char msg[160];
    snprintf(msg, sizeof msg, "只能为本乡镇(%s)填报", r->user->scope);
    const char *field = t && strcmp(t, r->user->scope) != 0 ? "area.township"
                      : v && strncmp(v, r->user->scope, strlen(r->user->scope)) != 0
                          ? "area.village"
                          : NULL;
    if (!field)
        return 0;
    gw_fail(out, 403, "unauthorized", field, msg);
    return -1;
}

int api_report_submit(gw_req_t *r, gw_reply_t *out)
{
    char id[160];
    json_t *body = gw_body_object(r, out), *res = NULL;
    if (!body || check_area(r, out, body) != 0 || gw_request_id(r, out, id, sizeof id) != 0)
        goto done;
    if (gw_call(r, out, "report.submit", id, body, &res) != 0)
        goto done;
    const char *case_id = json_string_value(json_object_get(res, "case_id"));
    char detail[200];
    snprintf(detail, sizeof detail, "%s%s", id,
             json_is_true(json_object_get(res, "duplicate")) ? " (duplicate)" : "");
    gw_audit(r, "report.submit", case_id ? case_id : "", detail); /* committed either way */
    if (case_id)
        events_notify(r->gw->events, case_id); /* a new report on an open case */
    json_object_set_new(res, "request_id", json_string(id));
    gw_ok(out, res);
done:
    json_decref(body);
    return 0;
}

/* ---- live updates (Server-Sent Events) ---------------------------------- */

typedef struct {
    events_t *events;
    struct MHD_Connection *conn;
    char case_id[64];
    uint64_t gen;
    int64_t ends_at;
    int64_t keepalive_at;
    bool greeted;
} stream_t;

static void stream_sleep(void *conn) { MHD_suspend_connection(conn); }
static void stream_wake(void *conn) { MHD_resume_connection(conn); }

/* Called by the server's event loop whenever the connection can take more:
 * it never blocks. With nothing to send it parks the connection (suspended)
 * until an event or the next look, and returns 0 (MHD calls again when it
 * is resumed). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_t *s = cls;
    int n;
    if (!s->greeted) {
        s->greeted = true;
        n = snprintf(buf, max, "retry: 3000\nevent: hello\ndata: {\"case_id\":\"%s\"}\n\n",
                     s->case_id);
        return n < 0 || (size_t)n >= max ? MHD_CONTENT_READER_END_WITH_ERROR : n;
    }
    for (;;) {
        int64_t now = svc_now_ms();
        if (now >= s->ends_at)
            return MHD_CONTENT_READER_END_OF_STREAM;
        int rc = events_wait(s->events, s->case_id, &s->gen, 0);
        if (rc < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (rc > 0) {
            n = snprintf(buf, max, "event: update\ndata: {\"case_id\":\"%s\"}\n\n",
                         s->case_id);
            return n < 0 || (size_t)n >= max ? MHD_CONTENT_READER_END_WITH_ERROR : n;
        }
        if (now >= s->keepalive_at) {
            s->keepalive_at = now + SSE_WAIT_MS;
            n = snprintf(buf, max, ": keep-alive\n\n");
            return n < 0 || (size_t)n >= max ? MHD_CONTENT_READER_END_WITH_ERROR : n;
        }
        rc = events_park(s->events, s->gen, stream_sleep, stream_wake, s->conn);
        if (rc < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (rc == 0)
            return 0; /* parked */
    }
}

int api_case_events(gw_req_t *r, gw_reply_t *out)
{
    json_t *area = NULL, *c = NULL;
    json_t *query = json_pack("{s:s}", "case_id", r->param[0]);
    stream_t *s = calloc(1, sizeof *s);
    bool own_only;
    if (!s ||
        api_case_reach(r, out, query, &area, s->case_id, sizeof s->case_id, &own_only) != 0)
        goto done;
    if (r->user->role == ROLE_DEPARTMENT) {
        /* the events say only "changed"; the reach is checked all the same */
        json_t *q = json_pack("{s:s}", "case_id", s->case_id);
        int rc = gw_call(r, out, "case.get", NULL, q, &c);
        json_decref(q);
        if (rc != 0)
            goto done;
        if (!has_department(c, r->user->scope)) {
            not_found(out, query);
            goto done;
        }
    }
    s->events = r->gw->events;
    s->gen = events_generation(s->events);
    s->conn = r->conn;
    s->ends_at = svc_now_ms() + SSE_LIFETIME_MS;
    s->keepalive_at = svc_now_ms() + SSE_WAIT_MS;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, stream_read, s, free);
    if (!resp) {
        gw_fail(out, 503, "unavailable", NULL, "out of memory");
        goto done;
    }
    s = NULL; /* the response owns it */
    MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    out->status = 200;
    out->response = resp;
done:
    free(s);
    json_decref(c);
    json_decref(area);
    json_decref(query);
    return 0;
}
