/* server.c — the HTTP side: libmicrohttpd, event-driven (epoll, a few
 * threads serve every connection, so an idle or slow one costs a descriptor,
 * not a thread), request bodies, the session and CSRF checks every API route
 * passes, and the replies.
 *
 * The event threads never block: static files are answered there, every API
 * request is handed to a worker (workers.h) with its connection suspended,
 * and resumed with the reply; a live stream parks its connection between
 * events (api_case.c). A request's header must arrive whole within
 * AID_GATEWAY_HEADER_MS of its connection (or of the previous reply on it),
 * however slowly it trickles: a sweeper shuts the socket of one that is late
 * (slowloris). Connections are limited in total and per address.
 *
 * Order of checks for /api/...: route (404/405) → body size (413) → for a
 * POST: JSON content type (415) and same-origin (403) → session (401) → role
 * (403) → CSRF token of the session (403) → the handler. Static files are
 * public: they hold no data. */
#include "server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "svc.h"
#include "zh.h"
#include "workers.h"

/* One connection, for the header deadline. */
typedef struct conn {
    int fd;
    int64_t since;         /* accepted, or its last reply done */
    bool busy;             /* a request's header arrived, its reply is not done */
    bool shut;             /* shut by the sweeper */
    struct conn *prev, *next;
} conn_t;

struct server {
    gw_t *gw;
    struct MHD_Daemon *daemon;
    workers_t *workers;
    int header_ms;         /* a request's header must be whole within this */
    pthread_mutex_t mu;    /* the connection list */
    conn_t *conns;
    pthread_t sweeper;
    bool sweeping;
    pthread_cond_t cv;     /* stop the sweeper */
    bool stopping;
};

/* One request as it arrives (the body), then waits for a worker, then is
 * answered. */
enum { REQ_RECEIVING, REQ_QUEUED, REQ_ANSWERED };

typedef struct {
    server_t *srv;
    struct MHD_Connection *conn;
    const char *method, *url; /* MHD's, valid while the connection lives */
    char *body;
    size_t len;
    bool too_large;
    int state;
    gw_reply_t out;        /* the reply a worker made */
} req_t;

/* ---- replies ---------------------------------------------------------- */

int gw_ok(gw_reply_t *out, json_t *result)
{
    out->status = 200;
    out->json = json_pack("{s:b,s:o}", "ok", 1, "result", result ? result : json_null());
    return 0;
}

int gw_fail(gw_reply_t *out, unsigned status, const char *code, const char *field,
            const char *message)
{
    /* no error reply carries a full ID number (a JSON key may be one): masked
     * as in the logs, POLICY.md §13 — the gateway's own errors and intake's */
    char f[256], m[512], zh[768];
    log_scrub(field ? field : "", f, sizeof f);
    log_scrub(message ? message : "", m, sizeof m);
    /* a person reads it: in Chinese (proto/zh.c, by code, field and message),
     * the field path kept; intake's English stays beside it as message_en */
    zh_error(code, f, m, zh, sizeof zh);
    json_t *err = json_pack("{s:s,s:s}", "code", code, "message", zh);
    if (err && *f)
        json_object_set_new(err, "field", json_string(f));
    if (err && strcmp(zh, m) != 0 && *m)
        json_object_set_new(err, "message_en", json_string(m));
    json_decref(out->json);
    out->status = status;
    out->json = json_pack("{s:b,s:o}", "ok", 0, "error", err ? err : json_object());
    return 0;
}

unsigned gw_status_of(const char *code)
{
    static const struct {
        const char *code;
        unsigned status;
    } map[] = {
        {"bad_request", 400}, {"invalid_field", 400}, {"unauthorized", 403},
        {"not_found", 404},   {"conflict", 409},      {"too_large", 413},
        {"rate_limited", 429}, {"unknown_op", 501},   {"unavailable", 503},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(code, map[i].code) == 0)
            return map[i].status;
    return 502; /* a code the contract does not have: intake misbehaves */
}

int gw_fail_ic(gw_reply_t *out, const ic_err_t *e)
{
    gw_fail(out, gw_status_of(e->code), e->code, e->field, e->message);
    if (out->status == 429)
        out->retry_after = 1;
    return 0;
}

/* ---- request helpers -------------------------------------------------- */

const char *gw_header(gw_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *gw_query(gw_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *gw_cookie(gw_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

int gw_param_id(gw_req_t *r, gw_reply_t *out, const char *field, long long *v)
{
    const char *s = r->param[0];
    size_t n = strlen(s);
    if (n == 0 || n > 15 || strspn(s, "0123456789") != n || (*v = atoll(s)) < 1) {
        gw_fail(out, 400, "invalid_field", field, "须为编号(正整数)");
        return -1;
    }
    return 0;
}

json_t *gw_body_object(gw_req_t *r, gw_reply_t *out)
{
    json_error_t je;
    json_t *o = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        gw_fail(out, 400, "bad_request", NULL, "请求体必须是 JSON 对象");
        return NULL;
    }
    return o;
}

int gw_request_id(gw_req_t *r, gw_reply_t *out, char *id, size_t idsz)
{
    const char *key = gw_header(r, "Idempotency-Key");
    if (!key) {
        unsigned char rnd[16];
        char hex[33];
        randombytes_buf(rnd, sizeof rnd);
        sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
        snprintf(id, idsz, "gw-%s-%s", r->user->username, hex);
        return 0;
    }
    size_t n = strlen(key);
    bool ok = n >= 8 && n <= 64;
    for (size_t i = 0; ok && i < n; i++) {
        char c = key[i];
        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             c == '-' || c == '_';
    }
    if (!ok) {
        gw_fail(out, 400, "invalid_field", "Idempotency-Key",
                "表单标识须为 8–64 个字母、数字、- 或 _");
        return -1;
    }
    /* the user is part of the id: one person's form key never meets another's */
    snprintf(id, idsz, "gw-%s-%s", r->user->username, key);
    return 0;
}

int gw_call(gw_req_t *r, gw_reply_t *out, const char *op, const char *id, json_t *body,
            json_t **result_out)
{
    json_t *result = NULL;
    ic_err_t e;
    if (ic_call(r->gw->intake, op, id, body, &result, &e) != 0) {
        gw_fail_ic(out, &e);
        return -1;
    }
    if (result_out) {
        *result_out = result;
        return 0;
    }
    return gw_ok(out, result);
}

const char *gw_user_label(const db_user_t *u, char *buf, size_t bufsz)
{
    if (u->display[0])
        snprintf(buf, bufsz, "%s(%s)", u->display, u->username);
    else
        snprintf(buf, bufsz, "%s", u->username);
    return buf;
}

int gw_audit(gw_req_t *r, const char *action, const char *case_id, const char *detail)
{
    if (db_audit_add(r->gw->db, r->user, action, case_id, detail, r->client) != 0) {
        log_error("gateway.audit_failed", "action", LOG_S(action), "case", LOG_S(case_id ? case_id : ""),
                  NULL);
        return -1;
    }
    return 0;
}

/* ---- HTTP plumbing ---------------------------------------------------- */

static void client_address(struct MHD_Connection *c, char *out, size_t outsz)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, outsz, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)outsz);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)outsz);
}

static void add_security_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result send_reply(struct MHD_Connection *c, gw_reply_t *out, bool api)
{
    struct MHD_Response *resp = out->response;
    out->response = NULL; /* destroyed below, or kept by MHD while it is queued */
    if (!resp && out->json) {
        char *s = json_dumps(out->json, JSON_COMPACT);
        if (!s)
            s = strdup("{\"ok\":false,\"error\":{\"code\":\"unavailable\",\"message\":\"out of memory\"}}");
        resp = s ? MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE) : NULL;
        if (resp)
            MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    } else if (!resp && out->raw) {
        resp = MHD_create_response_from_buffer(out->raw_len, out->raw, MHD_RESPMEM_MUST_FREE);
        out->raw = NULL; /* owned by the response now */
        if (resp)
            MHD_add_response_header(resp, "Content-Type", out->ctype);
    }
    if (!resp)
        return MHD_NO;
    add_security_headers(resp);
    if (api)
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    for (int i = 0; i < 2; i++)
        if (out->set_cookie[i][0])
            MHD_add_response_header(resp, "Set-Cookie", out->set_cookie[i]);
    if (out->disposition[0])
        MHD_add_response_header(resp, "Content-Disposition", out->disposition);
    if (out->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", out->retry_after);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    enum MHD_Result rc = MHD_queue_response(c, out->status ? out->status : 500, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void reply_free(gw_reply_t *out)
{
    json_decref(out->json);
    free(out->raw);
    if (out->response) /* made, never sent: the connection went first */
        MHD_destroy_response(out->response);
    memset(out, 0, sizeof *out);
}

/* The probes, public and without data: /healthz (liveness: the server
 * answers) and /readyz (503 while the gateway's Postgres does not answer).
 * Run in a worker like the API: the readiness check may wait on Postgres. */
static bool is_probe(const char *url) { return !strcmp(url, "/healthz") || !strcmp(url, "/readyz"); }

static void serve_probe(gw_t *gw, const char *url, gw_reply_t *out)
{
    char why[200] = "", text[256];
    out->status = 200;
    if (!strcmp(url, "/healthz"))
        snprintf(text, sizeof text, "ok\n");
    else if (ready_check(gw->ready, why, sizeof why))
        snprintf(text, sizeof text, "ready\n");
    else {
        out->status = 503;
        snprintf(text, sizeof text, "unready: %s\n", why);
    }
    out->raw = strdup(text);
    out->raw_len = out->raw ? strlen(out->raw) : 0;
    out->ctype = "text/plain; charset=utf-8";
}

/* A static file, with ETag revalidation. */
static enum MHD_Result serve_static(gw_t *gw, struct MHD_Connection *c, const char *method,
                                    const char *url)
{
    gw_reply_t out = {0};
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        gw_fail(&out, 405, "bad_request", NULL, "method not allowed");
        enum MHD_Result rc = send_reply(c, &out, true);
        reply_free(&out);
        return rc;
    }
    const www_file_t *f = www_find(gw->www, url);
    if (!f) {
        static const char page[] = "<!doctype html><meta charset=utf-8><title>404</title>"
                                   "<p>页面不存在。<a href=\"/\">返回首页</a></p>";
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            sizeof page - 1, (void *)page, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
        add_security_headers(resp);
        enum MHD_Result rc = MHD_queue_response(c, 404, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    bool fresh = inm && strcmp(inm, f->etag) == 0;
    struct MHD_Response *resp =
        fresh ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
              : MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", f->ctype);
    MHD_add_response_header(resp, "ETag", f->etag);
    /* small files: always revalidate, so a new version shows at once */
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    add_security_headers(resp);
    enum MHD_Result rc = MHD_queue_response(c, fresh ? 304 : 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Same origin: an Origin header, when sent, names this host. */
static bool same_origin(struct MHD_Connection *c)
{
    const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
        return false;
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (!origin)
        return true;
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (!host)
        return false;
    const char *p = strstr(origin, "://");
    return p && strcmp(p + 3, host) == 0;
}

static void log_request(const gw_req_t *r, unsigned status, int64_t started)
{
    log_info("gateway.request", "method", LOG_S(r->method), "path", LOG_S(r->path), "status",
             LOG_I(status), "user", LOG_S(r->user ? r->user->username : ""), "ms",
             LOG_I(svc_now_ms() - started), NULL);
}

/* Runs in a worker: the checks and the handler, the reply into q->out. */
static void serve_api(req_t *q)
{
    int64_t started = svc_now_ms();
    gw_t *gw = q->srv->gw;
    struct MHD_Connection *c = q->conn;
    const char *method = q->method, *url = q->url;
    gw_req_t r = {.gw = gw, .conn = c, .method = method, .path = url};
    gw_reply_t out = {0};
    db_user_t user;
    if (is_probe(url)) {
        serve_probe(gw, url, &out);
        q->out = out;
        return;
    }
    client_address(c, r.client, sizeof r.client);
    bool known;
    r.route = routes_match(method, url, r.param, &known);
    bool post = strcmp(method, "POST") == 0;
    if (!r.route) {
        gw_fail(&out, known ? 405 : 404, known ? "bad_request" : "not_found", NULL,
                known ? "method not allowed" : "no such API path");
        goto reply;
    }
    if (q->too_large) {
        gw_fail(&out, 413, "too_large", NULL, "请求体过大");
        goto reply;
    }
    if (post) {
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        if (q->len > 0 && (!ct || strncasecmp(ct, "application/json", 16) != 0)) {
            gw_fail(&out, 415, "bad_request", NULL, "Content-Type must be application/json");
            goto reply;
        }
        if (!same_origin(c)) {
            gw_fail(&out, 403, "unauthorized", NULL, "cross-site request refused");
            goto reply;
        }
    }
    const char *token = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "aid_session");
    if (token && strlen(token) == AUTH_TOKEN_LEN) {
        unsigned char hash[32];
        auth_token_hash(token, hash);
        int found = db_session_get(gw->db, hash, gw->idle_minutes, &user);
        if (found < 0) {
            gw_fail(&out, 503, "unavailable", NULL, "数据库暂不可用,请稍后重试");
            goto reply;
        }
        if (found) {
            r.user = &user;
            r.session_token = token;
        }
    }
    if (r.route->roles) {
        if (!r.user) {
            gw_fail(&out, 401, "unauthorized", NULL, "请先登录");
            goto reply;
        }
        if (!(r.route->roles & (1u << r.user->role))) {
            gw_fail(&out, 403, "unauthorized", NULL, "您的角色无权进行此操作");
            goto reply;
        }
        const char *csrf = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token");
        if (post && (!csrf || !auth_token_equal(csrf, r.user->csrf))) {
            gw_fail(&out, 403, "unauthorized", "csrf", "CSRF 令牌无效,请刷新页面后重试");
            goto reply;
        }
    }
    r.body = q->body ? q->body : "";
    r.body_len = q->len;
    r.route->handler(&r, &out);
    if (!out.status && !out.response)
        gw_fail(&out, 500, "unavailable", NULL, "internal error");
reply:
    log_request(&r, out.status ? out.status : 200, started);
    q->out = out;
}

/* A worker's job: answers q, then hands its connection back to MHD, which
 * calls on_request again to send the reply. */
static void run_api(void *job)
{
    req_t *q = job;
    serve_api(q);
    q->state = REQ_ANSWERED;
    MHD_resume_connection(q->conn);
}

/* The connection's own record (MHD_OPTION_NOTIFY_CONNECTION). */
static conn_t *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void conn_busy(server_t *srv, struct MHD_Connection *c, bool busy)
{
    conn_t *k = conn_of(c);
    if (!k)
        return;
    pthread_mutex_lock(&srv->mu);
    k->busy = busy;
    k->since = svc_now_ms();
    pthread_mutex_unlock(&srv->mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    server_t *srv = cls;
    req_t *q = *con_cls;
    if (!q) {
        /* the header is whole: the deadline is met */
        conn_busy(srv, c, true);
        q = calloc(1, sizeof *q);
        if (!q)
            return MHD_NO;
        q->srv = srv;
        *con_cls = q;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > GW_MAX_BODY)
            q->too_large = true;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!q->too_large) {
            if (q->len + *upload_size > GW_MAX_BODY) {
                q->too_large = true;
                free(q->body);
                q->body = NULL;
                q->len = 0;
            } else {
                char *nb = realloc(q->body, q->len + *upload_size + 1);
                if (!nb)
                    return MHD_NO;
                memcpy(nb + q->len, upload_data, *upload_size);
                q->len += *upload_size;
                nb[q->len] = '\0';
                q->body = nb;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (strncmp(url, "/api/", 5) != 0 && !is_probe(url))
        return serve_static(srv->gw, c, method, url);
    switch (q->state) {
    case REQ_ANSWERED:
        return send_reply(c, &q->out, true);
    case REQ_QUEUED:
        return MHD_YES; /* still with its worker */
    default:
        break;
    }
    q->state = REQ_QUEUED;
    q->conn = c;
    q->method = method;
    q->url = url;
    /* suspended before the worker may resume it */
    MHD_suspend_connection(c);
    if (workers_push(srv->workers, q) != 0) {
        gw_fail(&q->out, 503, "unavailable", NULL, "the console is stopping");
        q->state = REQ_ANSWERED;
        MHD_resume_connection(c);
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    server_t *srv = cls;
    req_t *q = *con_cls;
    if (q) {
        reply_free(&q->out);
        free(q->body);
        free(q);
        *con_cls = NULL;
    }
    /* the next request on this connection has the deadline from now */
    conn_busy(srv, c, false);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    server_t *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn_t *k = calloc(1, sizeof *k);
        if (!k || !ci) {
            free(k);
            return; /* no deadline for it: MHD's idle timeout still holds */
        }
        k->fd = ci->connect_fd;
        k->since = svc_now_ms();
        pthread_mutex_lock(&srv->mu);
        k->next = srv->conns;
        if (k->next)
            k->next->prev = k;
        srv->conns = k;
        pthread_mutex_unlock(&srv->mu);
        *socket_context = k;
        return;
    }
    /* closed: MHD closes the socket only after this, so the sweeper (under
     * the same lock) never shuts a descriptor that was reused */
    conn_t *k = *socket_context;
    if (!k)
        return;
    pthread_mutex_lock(&srv->mu);
    if (k->prev)
        k->prev->next = k->next;
    else
        srv->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    pthread_mutex_unlock(&srv->mu);
    free(k);
    *socket_context = NULL;
}

/* Shuts the sockets of connections whose request header is late; MHD sees
 * the end of the stream and closes them. */
static void *sweep(void *arg)
{
    server_t *srv = arg;
    pthread_mutex_lock(&srv->mu);
    while (!srv->stopping) {
        int64_t now = svc_now_ms();
        int shut = 0;
        for (conn_t *k = srv->conns; k; k = k->next)
            if (!k->busy && !k->shut && now - k->since > srv->header_ms) {
                shutdown(k->fd, SHUT_RDWR);
                k->shut = true;
                shut++;
            }
        if (shut)
            log_warn("gateway.header_late", "closed", LOG_I(shut), "ms", LOG_I(srv->header_ms),
                     NULL);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->cv, &srv->mu, &until);
    }
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

/* Descriptors, not threads, bound the connections: the soft limit raised to
 * the hard one, some kept for intake, Postgres and the logs. */
static unsigned connection_limit(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want < 256 ? want : 256;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t spare = rl.rlim_cur > 512 ? rl.rlim_cur - 256 : rl.rlim_cur / 2;
    return spare < want ? (unsigned)spare : want;
}

server_t *server_new(gw_t *gw, const char *host, int port)
{
    server_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->gw = gw;
    self->header_ms = (int)config_int("AID_GATEWAY_HEADER_MS", 10000, 500, 600000);
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->cv, NULL);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        log_error("gateway.bad_address", "host", LOG_S(host), NULL);
        server_destroy(&self);
        return NULL;
    }
    self->workers =
        workers_new((int)config_int("AID_GATEWAY_WORKERS", 32, 1, 256), run_api);
    if (!self->workers || pthread_create(&self->sweeper, NULL, sweep, self) != 0) {
        server_destroy(&self);
        return NULL;
    }
    self->sweeping = true;
    unsigned limit = connection_limit(
        (unsigned)config_int("AID_GATEWAY_MAX_CONNECTIONS", 4096, 16, 1000000));
    unsigned per_address =
        (unsigned)config_int("AID_GATEWAY_MAX_PER_ADDRESS", 256, 1, 1000000);
    self->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, on_request, self, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)2, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        self, MHD_OPTION_NOTIFY_CONNECTION, on_connection, self, MHD_OPTION_CONNECTION_LIMIT,
        limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address < limit ? per_address : limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
    if (!self->daemon) {
        log_error("gateway.listen_failed", "host", LOG_S(host), "port", LOG_I(port), NULL);
        server_destroy(&self);
        return NULL;
    }
    log_info("gateway.listening", "connections", LOG_I(limit), "per_address",
             LOG_I(per_address), "header_ms", LOG_I(self->header_ms), NULL);
    return self;
}

void server_destroy(server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    server_t *self = *self_p;
    /* the workers finish what they hold and resume its connections; the live
     * streams were woken for good by events_stop: none stays suspended, as
     * MHD_stop_daemon needs */
    if (self->workers)
        workers_stop(self->workers); /* requests arriving now are answered 503 */
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    workers_destroy(&self->workers);
    if (self->sweeping) {
        pthread_mutex_lock(&self->mu);
        self->stopping = true;
        pthread_cond_signal(&self->cv);
        pthread_mutex_unlock(&self->mu);
        pthread_join(self->sweeper, NULL);
    }
    pthread_cond_destroy(&self->cv);
    pthread_mutex_destroy(&self->mu);
    free(self);
    *self_p = NULL;
}
