/* care.h — the bodies of the care, ledger and supervision operations
 * (proto/CARE.md, POLICY.md §12–14), declared as schema tables like the
 * report in report.c, with the checks that span fields or need today's date.
 *
 * Every decode function zeroes its output, fills it from body and returns 0,
 * or -1 with err naming the field path and what is wrong ("month": "must be
 * a month written YYYY-MM"). today is the county's calendar day (UTC+8):
 * dates and months after it are refused where the contract says so. */
#ifndef AID_PROTO_CARE_H
#define AID_PROTO_CARE_H

#include <stdbool.h>
#include <stdint.h>

#include "date.h"
#include "report.h"
#include "schema.h"

#define CARE_STR_MAX PROTO_STR_MAX /* bytes of UTF-8, like every contract string */
#define CARE_TRACKING_MAX 31       /* "TS202611-000123" and longer counters */

typedef enum { VISIT_METHOD_HOME, VISIT_METHOD_PHONE, VISIT_METHOD_VIDEO } visit_method_t;
typedef enum { LIVING_NORMAL, LIVING_DIFFICULT, LIVING_CRITICAL } living_t;
typedef enum {
    CHANNEL_HOTLINE, CHANNEL_MAILBOX, CHANNEL_VISIT, CHANNEL_ONLINE
} complaint_channel_t;
typedef enum { COMPLAINT_INVESTIGATING, COMPLAINT_RESOLVED } complaint_next_t;

/* "home", "phone", "video" … in enum order (NULL-terminated). */
extern const char *const care_method_names[];
extern const char *const care_living_names[];
extern const char *const care_channel_names[];
extern const char *const care_complaint_next_names[];

/* visits.due {"township", "before"?}: before defaults to tomorrow (every
 * visit due up to and including today). */
typedef struct {
    char township[10];
    aid_date_t before;
} care_visits_due_t;

/* visit.record: visited_on not after today. */
typedef struct {
    char id_number[19];
    aid_date_t visited_on;
    char visitor[CARE_STR_MAX + 1];   /* not empty */
    int method;                       /* visit_method_t */
    int living;                       /* living_t */
    char health[CARE_STR_MAX + 1];
    char care[CARE_STR_MAX + 1];
    char needs[CARE_STR_MAX + 1];
    bool symptoms;
} care_visit_t;

/* caregiver.score: month not after today's month, score 0..100. */
typedef struct {
    char id_number[19];
    char month[17];                   /* "YYYY-MM" as sent */
    aid_date_t month_first;           /* its first day */
    char caregiver[CARE_STR_MAX + 1]; /* not empty */
    int64_t score;
} care_score_t;

/* ledger.monthly {"month", "township"?} and disclosure.list {"village",
 * "month"} and ledger.submit {"month", "township" | "department", "by"}. */
typedef struct {
    char month[17];
    aid_date_t month_first;
    char township[10];                /* "" when absent (ledger.monthly) */
    char village[13];                 /* disclosure.list */
    char by[CARE_STR_MAX + 1];        /* ledger.submit, not empty */
    char department[17];              /* ledger.submit: a department's ledger, or "" */
} care_month_query_t;

/* complaint.submit {"channel", "text", "case_id"?, "by"?}. */
typedef struct {
    int channel;                      /* complaint_channel_t */
    char text[CARE_STR_MAX + 1];      /* not empty */
    char case_id[64];                 /* "case-<n>" or "" */
    long long case_num;               /* its number, 0 when absent */
    char by[CARE_STR_MAX + 1];
    char township[10];                /* filed for this township, "" when absent */
} care_complaint_t;

/* complaint.get {"tracking_no", "township"?} and complaint.update
 * {"tracking_no", "status": "investigating|resolved", "by", "note"?,
 * "township"?}: township is the caller's reach ("" = county-wide). */
typedef struct {
    char tracking_no[CARE_TRACKING_MAX + 1];
    int status;                       /* complaint_next_t (update only) */
    char by[CARE_STR_MAX + 1];        /* not empty (update only) */
    char note[CARE_STR_MAX + 1];
    char township[10];
} care_complaint_step_t;

/* move.queue {"township"?} and move.decide {"move_id": "move-<n>",
 * "decision": "confirm|reject", "by", "note"?, "township"?}: township is the
 * caller's reach ("" = county-wide). */
typedef enum { MOVE_CONFIRM, MOVE_REJECT } move_decision_t;
extern const char *const care_move_decision_names[];
typedef struct {
    char township[10];
    char move_id[32];                 /* as sent (decide only) */
    long long move_num;               /* its number */
    int decision;                     /* move_decision_t */
    char by[CARE_STR_MAX + 1];        /* not empty (decide only) */
    char note[CARE_STR_MAX + 1];
} care_move_t;

/* referrals.overdue {"township"?, "as_of"?}: as_of defaults to today. */
typedef struct {
    char township[10];
    aid_date_t as_of;
} care_overdue_t;

int care_visits_due_decode(const msgpack_object *body, aid_date_t today, care_visits_due_t *q,
                           schema_err_t *err);
int care_visit_decode(const msgpack_object *body, aid_date_t today, care_visit_t *v,
                      schema_err_t *err);
int care_score_decode(const msgpack_object *body, aid_date_t today, care_score_t *s,
                      schema_err_t *err);
int care_ledger_decode(const msgpack_object *body, care_month_query_t *q, schema_err_t *err);
int care_ledger_submit_decode(const msgpack_object *body, aid_date_t today,
                              care_month_query_t *q, schema_err_t *err);
int care_disclosure_decode(const msgpack_object *body, care_month_query_t *q, schema_err_t *err);
int care_complaint_decode(const msgpack_object *body, care_complaint_t *c, schema_err_t *err);
int care_complaint_get_decode(const msgpack_object *body, care_complaint_step_t *q,
                              schema_err_t *err);
int care_complaint_update_decode(const msgpack_object *body, care_complaint_step_t *q,
                                 schema_err_t *err);
int care_move_queue_decode(const msgpack_object *body, care_move_t *q, schema_err_t *err);
int care_move_decide_decode(const msgpack_object *body, care_move_t *q, schema_err_t *err);
int care_overdue_decode(const msgpack_object *body, aid_date_t today, care_overdue_t *q,
                        schema_err_t *err);

/* The first day of "YYYY-MM" (exactly 7 bytes, a real month, 1800–9999),
 * or 0. */
aid_date_t care_month_parse(const char *s);
/* True when s looks like a tracking number: "TS", 6 digits of a year and
 * month, '-', then 6 to 10 digits. */
bool care_tracking_valid(const char *s);

#endif
