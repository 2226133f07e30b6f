/* care.c — the care, ledger and supervision bodies (proto/CARE.md) as schema
 * tables, and the checks a table cannot state: non-empty text, months
 * written YYYY-MM, dates not after today, tracking-number shape, case ids. */
#include "care.h"
#include "rules.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const care_method_names[] = {"home", "phone", "video", NULL};
const char *const care_living_names[] = {"normal", "difficult", "critical", NULL};
const char *const care_channel_names[] = {"hotline", "mailbox", "visit", "online", NULL};
const char *const care_complaint_next_names[] = {"investigating", "resolved", NULL};
const char *const care_move_decision_names[] = {"confirm", "reject", NULL};

static int fail(schema_err_t *err, const char *field, const char *msg)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, "%s", msg);
    return -1;
}

/* Decodes body (required: every operation here has a required field). */
static int decode(const schema_t *s, const msgpack_object *body, void *out, schema_err_t *err)
{
    if (!body)
        return fail(err, "body", "this operation needs a body");
    return schema_decode(s, body, out, "", err);
}

/* The number of a wire id "<prefix><n>" (case-12, move-3): 1 to 18 digits,
 * not 0. 0 when s is not one. */
static long long wire_number(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    const char *p = strncmp(s, prefix, n) == 0 ? s + n : "";
    if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 18)
        return 0;
    return atoll(p);
}

aid_date_t care_month_parse(const char *s)
{
    if (strlen(s) != 7 || s[4] != '-')
        return 0;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (s[i] < '0' || s[i] > '9'))
            return 0;
    int y = atoi(s), m = (s[5] - '0') * 10 + (s[6] - '0');
    return date_make(y, m, 1);
}

bool care_tracking_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 15 || n > 19 || s[0] != 'T' || s[1] != 'S' || s[8] != '-')
        return false;
    for (size_t i = 2; i < n; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9'))
            return false;
    char month[8] = {s[2], s[3], s[4], s[5], '-', s[6], s[7], '\0'};
    return care_month_parse(month) != 0;
}

/* Checks a "month" field already decoded as text; sets *first. */
static int month_check(const char *month, aid_date_t *first, schema_err_t *err)
{
    *first = care_month_parse(month);
    if (!*first)
        return fail(err, "month", "must be a month written YYYY-MM (e.g. 2026-11)");
    return 0;
}

/* ---- visits.due ---------------------------------------------------------- */

static const schema_field_t visits_due_fields[] = {
    SF_DIGITS(care_visits_due_t, township, "township", true, 9),
    SF_DATE(care_visits_due_t, before, "before", false),
};
static SCHEMA(visits_due_schema, "body", visits_due_fields);

int care_visits_due_decode(const msgpack_object *body, aid_date_t today, care_visits_due_t *q,
                           schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (decode(&visits_due_schema, body, q, err) != 0)
        return -1;
    if (!q->before)
        q->before = date_from_days(date_to_days(today) + 1);
    return 0;
}

/* ---- visit.record -------------------------------------------------------- */

static const schema_field_t visit_fields[] = {
    SF_IDNUM(care_visit_t, id_number, "id_number", true),
    SF_DATE(care_visit_t, visited_on, "visited_on", true),
    SF_STR(care_visit_t, visitor, "visitor", true, CARE_STR_MAX),
    SF_ENUM(care_visit_t, method, "method", false, care_method_names),
    SF_ENUM(care_visit_t, living, "living", false, care_living_names),
    SF_STR(care_visit_t, health, "health", false, CARE_STR_MAX),
    SF_STR(care_visit_t, care, "care", false, CARE_STR_MAX),
    SF_STR(care_visit_t, needs, "needs", false, CARE_STR_MAX),
    SF_BOOL(care_visit_t, symptoms, "symptoms", false),
};
static SCHEMA(visit_schema, "body", visit_fields);

int care_visit_decode(const msgpack_object *body, aid_date_t today, care_visit_t *v,
                      schema_err_t *err)
{
    memset(v, 0, sizeof *v);
    if (decode(&visit_schema, body, v, err) != 0)
        return -1;
    if (v->visited_on > today)
        return fail(err, "visited_on", "must not be in the future");
    if (!v->visitor[0])
        return fail(err, "visitor", "must name who visited");
    return 0;
}

/* ---- caregiver.score ----------------------------------------------------- */

static const schema_field_t score_fields[] = {
    SF_IDNUM(care_score_t, id_number, "id_number", true),
    SF_STR(care_score_t, month, "month", true, 16),
    SF_STR(care_score_t, caregiver, "caregiver", true, CARE_STR_MAX),
    SF_INT(care_score_t, score, "score", true, 0, 100),
};
static SCHEMA(score_schema, "body", score_fields);

int care_score_decode(const msgpack_object *body, aid_date_t today, care_score_t *s,
                      schema_err_t *err)
{
    memset(s, 0, sizeof *s);
    if (decode(&score_schema, body, s, err) != 0 || month_check(s->month, &s->month_first, err) != 0)
        return -1;
    if (s->month_first > today)
        return fail(err, "month", "must not be after the current month");
    if (!s->caregiver[0])
        return fail(err, "caregiver", "must name the caregiver scored");
    return 0;
}

/* ---- ledger.monthly, ledger.submit, disclosure.list ------------------------ */

static const schema_field_t ledger_fields[] = {
    SF_STR(care_month_query_t, month, "month", true, 16),
    SF_DIGITS(care_month_query_t, township, "township", false, 9),
};
static SCHEMA(ledger_schema, "body", ledger_fields);

int care_ledger_decode(const msgpack_object *body, care_month_query_t *q, schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (decode(&ledger_schema, body, q, err) != 0)
        return -1;
    return month_check(q->month, &q->month_first, err);
}

static const schema_field_t ledger_submit_fields[] = {
    SF_STR(care_month_query_t, month, "month", true, 16),
    SF_DIGITS(care_month_query_t, township, "township", false, 9),
    SF_STR(care_month_query_t, department, "department", false, 16),
    SF_STR(care_month_query_t, by, "by", true, CARE_STR_MAX),
};
static SCHEMA(ledger_submit_schema, "body", ledger_submit_fields);

int care_ledger_submit_decode(const msgpack_object *body, aid_date_t today,
                              care_month_query_t *q, schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (decode(&ledger_submit_schema, body, q, err) != 0 ||
        month_check(q->month, &q->month_first, err) != 0)
        return -1;
    if (q->month_first > today)
        return fail(err, "month", "must not be after the current month");
    /* a township's ledger or a department's (R-LEDGER-MONTHLY): one of them */
    if (!q->township[0] == !q->department[0])
        return fail(err, q->township[0] ? "department" : "township",
                    "give the township (9 digits) or the department whose ledger it is, one of them");
    if (q->department[0]) {
        bool known = false;
        for (int i = 0; rules_departments[i]; i++)
            known = known || strcmp(rules_departments[i], q->department) == 0;
        if (!known)
            return fail(err, "department", "must be a department: civil, tempaid, medical, "
                                           "education, housing, employment, relief, social, care");
    }
    if (!q->by[0])
        return fail(err, "by", "must name who submits the ledger");
    return 0;
}

static const schema_field_t disclosure_fields[] = {
    SF_DIGITS(care_month_query_t, village, "village", true, 12),
    SF_STR(care_month_query_t, month, "month", true, 16),
};
static SCHEMA(disclosure_schema, "body", disclosure_fields);

int care_disclosure_decode(const msgpack_object *body, care_month_query_t *q, schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (decode(&disclosure_schema, body, q, err) != 0)
        return -1;
    return month_check(q->month, &q->month_first, err);
}

/* ---- complaints ------------------------------------------------------------- */

static const schema_field_t complaint_fields[] = {
    SF_ENUM(care_complaint_t, channel, "channel", true, care_channel_names),
    SF_STR(care_complaint_t, text, "text", true, CARE_STR_MAX),
    SF_STR(care_complaint_t, case_id, "case_id", false, 63),
    SF_STR(care_complaint_t, by, "by", false, CARE_STR_MAX),
    SF_DIGITS(care_complaint_t, township, "township", false, 9),
};
static SCHEMA(complaint_schema, "body", complaint_fields);

int care_complaint_decode(const msgpack_object *body, care_complaint_t *c, schema_err_t *err)
{
    memset(c, 0, sizeof *c);
    if (decode(&complaint_schema, body, c, err) != 0)
        return -1;
    if (!c->text[0])
        return fail(err, "text", "must say what the complaint is about");
    if (c->case_id[0] && !(c->case_num = wire_number(c->case_id, "case-")))
        return fail(err, "case_id", "must be a case id like case-12");
    return 0;
}

static const schema_field_t complaint_get_fields[] = {
    SF_STR(care_complaint_step_t, tracking_no, "tracking_no", true, CARE_TRACKING_MAX),
    SF_DIGITS(care_complaint_step_t, township, "township", false, 9),
};
static SCHEMA(complaint_get_schema, "body", complaint_get_fields);

static int tracking_check(const char *no, schema_err_t *err)
{
    if (!care_tracking_valid(no))
        return fail(err, "tracking_no", "must be a tracking number like TS202611-000123");
    return 0;
}

int care_complaint_get_decode(const msgpack_object *body, care_complaint_step_t *q,
                              schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (decode(&complaint_get_schema, body, q, err) != 0)
        return -1;
    return tracking_check(q->tracking_no, err);
}

static const schema_field_t complaint_update_fields[] = {
    SF_STR(care_complaint_step_t, tracking_no, "tracking_no", true, CARE_TRACKING_MAX),
    SF_ENUM(care_complaint_step_t, status, "status", true, care_complaint_next_names),
    SF_STR(care_complaint_step_t, by, "by", true, CARE_STR_MAX),
    SF_STR(care_complaint_step_t, note, "note", false, CARE_STR_MAX),
    SF_DIGITS(care_complaint_step_t, township, "township", false, 9),
};
static SCHEMA(complaint_update_schema, "body", complaint_update_fields);

int care_complaint_update_decode(const msgpack_object *body, care_complaint_step_t *q,
                                 schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (decode(&complaint_update_schema, body, q, err) != 0 ||
        tracking_check(q->tracking_no, err) != 0)
        return -1;
    if (!q->by[0])
        return fail(err, "by", "must name who takes this step");
    return 0;
}

/* ---- moves (住址变更) ------------------------------------------------------- */

static const schema_field_t move_queue_fields[] = {
    SF_DIGITS(care_move_t, township, "township", false, 9),
};
static SCHEMA(move_queue_schema, "body", move_queue_fields);

int care_move_queue_decode(const msgpack_object *body, care_move_t *q, schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    return body ? schema_decode(&move_queue_schema, body, q, "", err) : 0;
}

static const schema_field_t move_decide_fields[] = {
    SF_STR(care_move_t, move_id, "move_id", true, 31),
    SF_ENUM(care_move_t, decision, "decision", true, care_move_decision_names),
    SF_STR(care_move_t, by, "by", true, CARE_STR_MAX),
    SF_STR(care_move_t, note, "note", false, CARE_STR_MAX),
    SF_DIGITS(care_move_t, township, "township", false, 9),
};
static SCHEMA(move_decide_schema, "body", move_decide_fields);

int care_move_decide_decode(const msgpack_object *body, care_move_t *q, schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (decode(&move_decide_schema, body, q, err) != 0)
        return -1;
    if (!(q->move_num = wire_number(q->move_id, "move-")))
        return fail(err, "move_id", "must be a move id like move-12");
    if (!q->by[0])
        return fail(err, "by", "must name who decides the move");
    return 0;
}

/* ---- referrals.overdue ------------------------------------------------------- */

static const schema_field_t overdue_fields[] = {
    SF_DIGITS(care_overdue_t, township, "township", false, 9),
    SF_DATE(care_overdue_t, as_of, "as_of", false),
};
static SCHEMA(overdue_schema, "body", overdue_fields);

int care_overdue_decode(const msgpack_object *body, aid_date_t today, care_overdue_t *q,
                        schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    /* every field is optional: no body is the whole county today */
    if (body && schema_decode(&overdue_schema, body, q, "", err) != 0)
        return -1;
    if (!q->as_of)
        q->as_of = today;
    return 0;
}
