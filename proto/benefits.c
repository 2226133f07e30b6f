/* benefits.c — the benefits bodies (benefits.h) as schema tables, and what a
 * table cannot state: one of case_id and id_number, months written YYYY-MM. */
#include "benefits.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care.h"

static int fail(schema_err_t *err, const char *field, const char *msg)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, "%s", msg);
    return -1;
}

/* The number of "case-<n>" (1 to 18 digits, not 0); 0 when s is not one. */
static long long case_number(const char *s)
{
    const char *p = strncmp(s, "case-", 5) == 0 ? s + 5 : "";
    if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 18)
        return 0;
    return atoll(p);
}

static const schema_field_t list_fields[] = {
    SF_STR(benefits_list_t, case_id, "case_id", false, 63),
    SF_IDNUM(benefits_list_t, id_number, "id_number", false),
    SF_STR(benefits_list_t, month, "month", false, 15),
};
static SCHEMA(list_schema, "body", list_fields);

int benefits_list_decode(const msgpack_object *body, benefits_list_t *q, schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (!body)
        return fail(err, "body", "this operation needs a body");
    if (schema_decode(&list_schema, body, q, "", err) != 0)
        return -1;
    if (!q->case_id[0] == !q->id_number[0])
        return fail(err, "case_id", "give exactly one of case_id and id_number");
    if (q->case_id[0])
        q->case_num = case_number(q->case_id); /* 0: malformed, answered not_found */
    if (q->month[0] && !(q->month_first = care_month_parse(q->month)))
        return fail(err, "month", "must be a month written YYYY-MM (e.g. 2026-11)");
    return 0;
}

/* ---- payee.set ----------------------------------------------------------- */
static const schema_field_t payee_fields[] = {
    SF_STR(benefits_payee_t, case_id, "case_id", true, 63),
    SF_IDNUM(benefits_payee_t, holder_id_number, "holder_id_number", true),
    SF_STR(benefits_payee_t, bank, "bank", true, BENEFITS_TEXT_MAX),
    SF_STR(benefits_payee_t, account, "account", true, 39),
    SF_STR(benefits_payee_t, by, "by", false, BENEFITS_TEXT_MAX),
};
static SCHEMA(payee_schema, "body", payee_fields);

int benefits_payee_decode(const msgpack_object *body, benefits_payee_t *p, schema_err_t *err)
{
    memset(p, 0, sizeof *p);
    if (!body)
        return fail(err, "body", "this operation needs a body");
    if (schema_decode(&payee_schema, body, p, "", err) != 0)
        return -1;
    size_t n = strlen(p->account);
    if (n < 6 || n > 32 || strspn(p->account, "0123456789") != n)
        return fail(err, "account", "must be the bank account number: 6 to 32 digits");
    if (!p->bank[0])
        return fail(err, "bank", "must name the bank");
    p->case_num = case_number(p->case_id); /* 0: malformed, answered not_found */
    return 0;
}

/* ---- payroll.run ----------------------------------------------------------- */
static const schema_field_t run_fields[] = {
    SF_STR(benefits_run_t, month, "month", true, 15),
    SF_DIGITS(benefits_run_t, township, "township", false, 9),
    SF_STR(benefits_run_t, by, "by", true, BENEFITS_TEXT_MAX),
};
static SCHEMA(run_schema, "body", run_fields);

int benefits_run_decode(const msgpack_object *body, benefits_run_t *r, schema_err_t *err)
{
    memset(r, 0, sizeof *r);
    if (!body)
        return fail(err, "body", "this operation needs a body");
    if (schema_decode(&run_schema, body, r, "", err) != 0)
        return -1;
    if (!(r->month_first = care_month_parse(r->month)))
        return fail(err, "month", "must be a month written YYYY-MM (e.g. 2026-11)");
    if (!r->by[0])
        return fail(err, "by", "must name who runs the payroll");
    return 0;
}

/* ---- payroll.approve, payroll.get, payroll.file ---------------------------- */
static const schema_field_t approve_fields[] = {
    SF_INT(benefits_run_ref_t, run_id, "run_id", true, 1, INT64_MAX),
    SF_STR(benefits_run_ref_t, by, "by", true, BENEFITS_TEXT_MAX),
};
static SCHEMA(approve_schema, "body", approve_fields);
static const schema_field_t run_ref_fields[] = {
    SF_INT(benefits_run_ref_t, run_id, "run_id", true, 1, INT64_MAX),
};
static SCHEMA(run_ref_schema, "body", run_ref_fields);

int benefits_approve_decode(const msgpack_object *body, benefits_run_ref_t *r, schema_err_t *err)
{
    memset(r, 0, sizeof *r);
    if (!body)
        return fail(err, "body", "this operation needs a body");
    if (schema_decode(&approve_schema, body, r, "", err) != 0)
        return -1;
    if (!r->by[0])
        return fail(err, "by", "must name who approves");
    return 0;
}

int benefits_run_ref_decode(const msgpack_object *body, benefits_run_ref_t *r, schema_err_t *err)
{
    memset(r, 0, sizeof *r);
    if (!body)
        return fail(err, "body", "this operation needs a body");
    return schema_decode(&run_ref_schema, body, r, "", err);
}

/* ---- payroll.reconcile ------------------------------------------------------ */
const char *const benefits_return_names[] = {"paid", "failed", NULL};

static const schema_field_t return_fields[] = {
    SF_INT(benefits_return_t, line_id, "line_id", true, 1, INT64_MAX),
    SF_ENUM(benefits_return_t, status, "status", true, benefits_return_names),
    SF_STR(benefits_return_t, reason, "reason", false, BENEFITS_TEXT_MAX),
};
static SCHEMA(return_schema, "returns[]", return_fields);
static const schema_field_t reconcile_fields[] = {
    SF_INT(benefits_reconcile_t, run_id, "run_id", true, 1, INT64_MAX),
    SF_STR(benefits_reconcile_t, by, "by", true, BENEFITS_TEXT_MAX),
    SF_ARR(benefits_reconcile_t, returns, "returns", true, &return_schema, n_returns, 1,
           BENEFITS_RETURNS_MAX),
};
static SCHEMA(reconcile_schema, "body", reconcile_fields);

int benefits_reconcile_decode(const msgpack_object *body, benefits_reconcile_t *r,
                              schema_err_t *err)
{
    memset(r, 0, sizeof *r);
    if (!body)
        return fail(err, "body", "this operation needs a body");
    if (schema_decode(&reconcile_schema, body, r, "", err) != 0)
        return -1;
    if (!r->by[0])
        return fail(err, "by", "must name who reconciles");
    for (int i = 0; i < r->n_returns; i++)
        if (r->returns[i].status == 1 && !r->returns[i].reason[0]) {
            char field[40];
            snprintf(field, sizeof field, "returns[%d].reason", i);
            return fail(err, field, "a failed line needs the bank's reason");
        }
    return 0;
}

/* ---- entitlement.exit -------------------------------------------------------- */
const char *const benefits_exit_names[] = {"death", "income", "moved", "other", NULL};

static const schema_field_t exit_fields[] = {
    SF_STR(benefits_exit_t, case_id, "case_id", true, 63),
    SF_IDNUM(benefits_exit_t, id_number, "id_number", false),
    SF_ENUM(benefits_exit_t, reason, "reason", true, benefits_exit_names),
    SF_STR(benefits_exit_t, month, "month", true, 15),
    SF_STR(benefits_exit_t, by, "by", true, BENEFITS_TEXT_MAX),
};
static SCHEMA(exit_schema, "body", exit_fields);

int benefits_exit_decode(const msgpack_object *body, benefits_exit_t *x, schema_err_t *err)
{
    memset(x, 0, sizeof *x);
    if (!body)
        return fail(err, "body", "this operation needs a body");
    if (schema_decode(&exit_schema, body, x, "", err) != 0)
        return -1;
    if (!(x->month_first = care_month_parse(x->month)))
        return fail(err, "month", "must be a month written YYYY-MM (e.g. 2026-11)");
    if (!x->by[0])
        return fail(err, "by", "must name who records the exit");
    if ((x->reason == 0 || x->reason == 2) && !x->id_number[0])
        return fail(err, "id_number", "a death or a move ends one person's entitlements: "
                                      "give their ID number");
    x->case_num = case_number(x->case_id); /* 0: malformed, answered not_found */
    return 0;
}

/* ---- entitlement.suspend, entitlement.resume ---------------------------------- */
static const schema_field_t suspend_fields[] = {
    SF_INT(benefits_pause_t, entitlement_id, "entitlement_id", true, 1, INT64_MAX),
    SF_STR(benefits_pause_t, month, "from_month", true, 15),
    SF_STR(benefits_pause_t, reason, "reason", true, BENEFITS_TEXT_MAX),
    SF_STR(benefits_pause_t, by, "by", true, BENEFITS_TEXT_MAX),
};
static SCHEMA(suspend_schema, "body", suspend_fields);
static const schema_field_t resume_fields[] = {
    SF_INT(benefits_pause_t, entitlement_id, "entitlement_id", true, 1, INT64_MAX),
    SF_STR(benefits_pause_t, month, "month", true, 15),
    SF_STR(benefits_pause_t, by, "by", true, BENEFITS_TEXT_MAX),
    SF_BOOL(benefits_pause_t, back_pay, "back_pay", false),
};
static SCHEMA(resume_schema, "body", resume_fields);

static int pause_decode(const schema_t *sch, const char *month_field,
                        const msgpack_object *body, benefits_pause_t *p, schema_err_t *err)
{
    memset(p, 0, sizeof *p);
    if (!body)
        return fail(err, "body", "this operation needs a body");
    if (schema_decode(sch, body, p, "", err) != 0)
        return -1;
    if (!(p->month_first = care_month_parse(p->month)))
        return fail(err, month_field, "must be a month written YYYY-MM (e.g. 2026-11)");
    if (!p->by[0])
        return fail(err, "by", "must name who records it");
    return 0;
}

int benefits_suspend_decode(const msgpack_object *body, benefits_pause_t *p, schema_err_t *err)
{
    if (pause_decode(&suspend_schema, "from_month", body, p, err) != 0)
        return -1;
    if (!p->reason[0])
        return fail(err, "reason", "must say why (whereabouts unknown, in hospital, in custody, ...)");
    return 0;
}

int benefits_resume_decode(const msgpack_object *body, benefits_pause_t *p, schema_err_t *err)
{
    return pause_decode(&resume_schema, "month", body, p, err);
}

/* ---- recheck.due ------------------------------------------------------------------- */
static const schema_field_t recheck_fields[] = {
    SF_STR(benefits_recheck_t, month, "month", true, 15),
    SF_DIGITS(benefits_recheck_t, township, "township", false, 9),
};
static SCHEMA(recheck_schema, "body", recheck_fields);

int benefits_recheck_decode(const msgpack_object *body, benefits_recheck_t *q, schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (!body)
        return fail(err, "body", "this operation needs a body");
    if (schema_decode(&recheck_schema, body, q, "", err) != 0)
        return -1;
    if (!(q->month_first = care_month_parse(q->month)))
        return fail(err, "month", "must be a month written YYYY-MM (e.g. 2026-11)");
    return 0;
}

/* ---- case.merge ----------------------------------------------------------------------- */
static const schema_field_t merge_fields[] = {
    SF_STR(benefits_merge_t, into, "into", true, 63),
    SF_STR(benefits_merge_t, from, "from", true, 63),
    SF_STR(benefits_merge_t, by, "by", true, BENEFITS_TEXT_MAX),
    SF_STR(benefits_merge_t, reason, "reason", true, BENEFITS_TEXT_MAX * 2),
};
static SCHEMA(merge_schema, "body", merge_fields);

int benefits_merge_decode(const msgpack_object *body, benefits_merge_t *m, schema_err_t *err)
{
    memset(m, 0, sizeof *m);
    if (!body)
        return fail(err, "body", "this operation needs a body");
    if (schema_decode(&merge_schema, body, m, "", err) != 0)
        return -1;
    if (!m->by[0])
        return fail(err, "by", "must name who merges the cases");
    if (!m->reason[0])
        return fail(err, "reason", "must say why the two cases are one household");
    m->into_num = case_number(m->into);
    m->from_num = case_number(m->from);
    return 0;
}
