/* gateway.h — the web console's HTTP/JSON face of the contract (PROTOCOL.md).
 *
 * The gateway is a client of intake like any other: every page action
 * becomes one operation sent over ZeroMQ (intake_client.h) and its reply is
 * turned into JSON with the contract's error object kept whole. What the
 * gateway adds is what a browser needs: staff accounts with roles, sessions
 * in cookies, CSRF tokens, a login rate limit, the audit trail of case reads,
 * Server-Sent Events for live case updates and the static pages in www/.
 *
 * This header is what the request handlers (api_*.c) share with the server
 * (server.c): the request, the reply and the roles. */
#ifndef AID_GATEWAY_H
#define AID_GATEWAY_H

#include <jansson.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "events.h"
#include "intake_client.h"
#include "ready.h"
#include "www.h"

/* HTTP bodies the gateway reads; the contract's 64 KiB limit applies to
 * the MessagePack sent on (JSON is wordier). */
#define GW_MAX_BODY (256 * 1024)

/* Roles as bits, for the route table. */
enum {
    GW_TOWNSHIP = 1 << ROLE_TOWNSHIP,
    GW_COUNTY = 1 << ROLE_COUNTY,
    GW_DEPARTMENT = 1 << ROLE_DEPARTMENT,
    GW_AUDITOR = 1 << ROLE_AUDITOR,
    GW_STAFF = GW_TOWNSHIP | GW_COUNTY | GW_DEPARTMENT | GW_AUDITOR
};

/* The process-wide context, owned by main and handed to every handler. */
typedef struct {
    db_t *db;              /* the gateway's own tables (users, sessions, audit) */
    ic_t *intake;          /* DEALER pool to intake */
    events_t *events;      /* case.updated from the bus, for SSE */
    www_t *www;            /* the static pages */
    ready_t *ready;        /* GET /readyz: its Postgres answers (common/ready.h) */
    bool secure_cookies;   /* add Secure to cookies (behind TLS) */
    int session_hours;     /* absolute session lifetime */
    int idle_minutes;      /* a session unused this long ends */
    sem_t *hashing;        /* bounds concurrent argon2id runs (64 MiB each) */
    char dummy_hash[128];  /* verified against for unknown users (same timing) */
} gw_t;

/* One HTTP request as a handler sees it. */
typedef struct gw_route gw_route_t;

typedef struct {
    gw_t *gw;
    const gw_route_t *route;
    void *conn;            /* struct MHD_Connection * (server.c) */
    const char *method;
    const char *path;
    const char *body;      /* NUL-terminated; "" when none */
    size_t body_len;
    const db_user_t *user; /* the session's user; NULL on public routes */
    const char *session_token; /* the cookie value when a session is open */
    char client[64];       /* the peer address */
    char param[2][96];     /* the path's * segments, URL-decoded */
} gw_req_t;

/* What a handler answers: JSON (most), raw bytes (CSV) or a prepared
 * response (SSE, owned by the server once returned). */
typedef struct {
    unsigned status;
    json_t *json;          /* owned */
    char *raw;             /* owned (malloc) */
    size_t raw_len;
    const char *ctype;     /* for raw */
    void *response;        /* struct MHD_Response * */
    char set_cookie[2][256];
    char disposition[128]; /* Content-Disposition for downloads */
    int retry_after;       /* seconds, for 429 */
} gw_reply_t;

typedef int (*gw_handler_t)(gw_req_t *r, gw_reply_t *out);

/* How a generic operation route (api_op) forms its body and keeps a user to
 * their reach. */
typedef enum {
    REACH_ANY,        /* no scoping beyond the route's roles */
    REACH_TOWNSHIP,   /* a township user: "township" is theirs (filled when absent);
                         a department user: refused */
    REACH_DEPARTMENT, /* a department user: "department" is theirs (filled when absent) */
    REACH_VILLAGE,    /* a township user: "village" lies in their township */
    REACH_PERSON,     /* a township user: "id_number" belongs to a case registered in
                         their township */
    REACH_CASE        /* a township user: "case_id", when given, is a case of theirs
                         (or one their township filed a report in); "township" is
                         theirs (filled when absent) */
} gw_reach_t;

/* One route: method and path ("*" matches one segment), who may call it and
 * what answers it. Every POST needs the session's CSRF token. */
struct gw_route {
    const char *method;
    const char *pattern;
    unsigned roles;         /* GW_* bits; 0 = no session needed */
    gw_handler_t handler;
    /* for api_op: */
    const char *op;         /* the contract operation */
    const char *query;      /* GET: query parameters copied into the body,
                               comma-separated; "#name" is an integer */
    const char *path_key;   /* body field set from the path's first * ("#name":
                               a record number, sent as an integer) */
    gw_reach_t reach;
    const char *audit;      /* the audit action ("" = none): writes after they
                               commit, reads (personal data) before answering */
    bool sets_by;           /* body.by is the signed-in user, never the page's */
};

/* routes.c: the route for method and path (params filled), NULL when none;
 * *path_known tells whether the path exists for another method. */
const gw_route_t *routes_match(const char *method, const char *path, char param[2][96],
                               bool *path_known);

/* ---- replies (server.c) --------------------------------------------- */
/* {"ok": true, "result": result} (result is stolen). Returns 0. */
int gw_ok(gw_reply_t *out, json_t *result);
/* {"ok": false, "error": {"code", "field"?, "message"}} with status. Returns 0. */
int gw_fail(gw_reply_t *out, unsigned status, const char *code, const char *field,
            const char *message);
/* The HTTP status of a contract error code (invalid_field 400, not_found
 * 404, conflict 409, too_large 413, rate_limited 429, unavailable 503,
 * unknown_op 501, unauthorized 403, bad_request 400). */
unsigned gw_status_of(const char *code);
/* gw_fail from an intake error. */
int gw_fail_ic(gw_reply_t *out, const ic_err_t *e);

/* ---- request helpers (server.c) --------------------------------------- */
const char *gw_header(gw_req_t *r, const char *name);
const char *gw_query(gw_req_t *r, const char *name);
const char *gw_cookie(gw_req_t *r, const char *name);
/* The path's first * as a record number (1 or more, digits only) into *v;
 * -1 with 400 invalid_field `field` answered when it is not one. */
int gw_param_id(gw_req_t *r, gw_reply_t *out, const char *field, long long *v);
/* Parses the body as a JSON object; on failure answers 400 and returns NULL. */
json_t *gw_body_object(gw_req_t *r, gw_reply_t *out);
/* The request id of a write: "gw-<username>-<Idempotency-Key>" when the
 * page sent a form key (so a double click is one request), else a fresh
 * random one. -1 (400 answered) when the key is malformed. */
int gw_request_id(gw_req_t *r, gw_reply_t *out, char *id, size_t idsz);
/* Sends op with body (borrowed) and answers the result, or the mapped error;
 * *result_out (when not NULL) gets a new reference to the result on ok. */
int gw_call(gw_req_t *r, gw_reply_t *out, const char *op, const char *id, json_t *body,
            json_t **result_out);
/* "display name(username)", or the username alone, into buf: who did it,
 * as the contract's "by" fields record it. Returns buf. */
const char *gw_user_label(const db_user_t *u, char *buf, size_t bufsz);
/* Appends to the audit trail; -1 when it could not be written. */
int gw_audit(gw_req_t *r, const char *action, const char *case_id, const char *detail);

/* ---- handlers ---------------------------------------------------------- */
/* api_auth.c */
int api_session(gw_req_t *r, gw_reply_t *out);
int api_login(gw_req_t *r, gw_reply_t *out);
int api_logout(gw_req_t *r, gw_reply_t *out);
int api_password(gw_req_t *r, gw_reply_t *out);
/* api_case.c */
int api_report_submit(gw_req_t *r, gw_reply_t *out);
int api_case_get(gw_req_t *r, gw_reply_t *out);
int api_case_lookup(gw_req_t *r, gw_reply_t *out);
int api_case_events(gw_req_t *r, gw_reply_t *out);
/* Whether the user may see the case (query is {"case_id"} or
 * {"id_number"}): 0 with *area (new reference, may be NULL when intake has no
 * case.area) and the case id, or -1 with the reply answered (404 when the
 * case is outside the user's reach, exactly as when it does not exist).
 * A township caseworker reaches the cases registered in their township; with
 * own_only not NULL also a case registered elsewhere that their township
 * filed a report in, and then *own_only is true: they may see those reports
 * only. */
int api_case_reach(gw_req_t *r, gw_reply_t *out, json_t *query, json_t **area, char *case_id,
                   size_t case_idsz, bool *own_only);
/* api_ops.c: the other operations, table-driven */
int api_op(gw_req_t *r, gw_reply_t *out);
int api_ledger_csv(gw_req_t *r, gw_reply_t *out);
int api_decision_submit(gw_req_t *r, gw_reply_t *out);
/* api_payroll.c: the bank's file of a payroll run, the bank's returns */
int api_payroll_file(gw_req_t *r, gw_reply_t *out);
int api_payroll_returns(gw_req_t *r, gw_reply_t *out);
/* api_audit.c */
int api_places(gw_req_t *r, gw_reply_t *out);
int api_audit_list(gw_req_t *r, gw_reply_t *out);

#endif
