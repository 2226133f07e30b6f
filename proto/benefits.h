/* benefits.h — the bodies of the benefits operations (issue 17, POLICY.md
 * §17; proto/BENEFITS.md): entitlements.list, payee.set and the payroll. */
#ifndef AID_PROTO_BENEFITS_H
#define AID_PROTO_BENEFITS_H

#include <msgpack.h>
#include <stdbool.h>

#include "date.h"
#include "schema.h"

/* entitlements.list {"case_id"|"id_number", "month"?} */
typedef struct {
    char case_id[64];
    long long case_num;      /* the number of case_id, 0 when absent or malformed */
    char id_number[19];
    char month[16];          /* "" when absent: every month */
    aid_date_t month_first;  /* its first day, 0 when absent */
} benefits_list_t;

/* Exactly one of case_id ("case-<n>") and id_number; month written YYYY-MM. */
int benefits_list_decode(const msgpack_object *body, benefits_list_t *q, schema_err_t *err);

#define BENEFITS_TEXT_MAX 64         /* bank, reason, by: bytes of UTF-8 */
#define BENEFITS_RETURNS_MAX 1000    /* lines per payroll.reconcile request */

/* payee.set {"case_id", "holder_id_number", "bank", "account", "by"?} */
typedef struct {
    char case_id[64];
    long long case_num;
    char holder_id_number[19];
    char bank[BENEFITS_TEXT_MAX + 1];
    char account[40];        /* 6–32 digits */
    char by[BENEFITS_TEXT_MAX + 1];
} benefits_payee_t;
int benefits_payee_decode(const msgpack_object *body, benefits_payee_t *p, schema_err_t *err);

/* payroll.run {"month", "township"?, "by"} */
typedef struct {
    char month[16];
    aid_date_t month_first;
    char township[10];
    char by[BENEFITS_TEXT_MAX + 1];
} benefits_run_t;
int benefits_run_decode(const msgpack_object *body, benefits_run_t *r, schema_err_t *err);

/* payroll.approve {"run_id", "by"}, payroll.get / payroll.file {"run_id"} */
typedef struct {
    int64_t run_id;
    char by[BENEFITS_TEXT_MAX + 1];
} benefits_run_ref_t;
int benefits_approve_decode(const msgpack_object *body, benefits_run_ref_t *r, schema_err_t *err);
int benefits_run_ref_decode(const msgpack_object *body, benefits_run_ref_t *r, schema_err_t *err);

/* payroll.reconcile {"run_id", "by", "returns": [{"line_id", "status", "reason"?}]} */
extern const char *const benefits_return_names[]; /* "paid", "failed" */
typedef struct {
    int64_t line_id;
    int status;              /* index in benefits_return_names */
    char reason[BENEFITS_TEXT_MAX + 1];
} benefits_return_t;
typedef struct {
    int64_t run_id;
    char by[BENEFITS_TEXT_MAX + 1];
    int n_returns;
    benefits_return_t returns[BENEFITS_RETURNS_MAX];
} benefits_reconcile_t;
/* A failed line needs its reason (returns[i].reason). */
int benefits_reconcile_decode(const msgpack_object *body, benefits_reconcile_t *r,
                              schema_err_t *err);

/* entitlement.exit {"case_id", "id_number"?, "reason", "month", "by"} */
extern const char *const benefits_exit_names[]; /* "death", "income", "moved", "other" */
typedef struct {
    char case_id[64];
    long long case_num;
    char id_number[19];
    int reason;              /* index in benefits_exit_names */
    char month[16];
    aid_date_t month_first;
    char by[BENEFITS_TEXT_MAX + 1];
} benefits_exit_t;
/* death and moved need id_number (the person). */
int benefits_exit_decode(const msgpack_object *body, benefits_exit_t *x, schema_err_t *err);

/* entitlement.suspend {"entitlement_id", "from_month", "reason", "by"},
 * entitlement.resume {"entitlement_id", "month", "by", "back_pay"?}: back_pay true
 * when the resumption says the paused months are owed (paid as adjustment
 * lines of the next payroll run); else they are owed nothing. */
typedef struct {
    int64_t entitlement_id;
    char month[16];          /* from_month (suspend), month (resume) */
    aid_date_t month_first;
    char reason[BENEFITS_TEXT_MAX + 1];
    char by[BENEFITS_TEXT_MAX + 1];
    bool back_pay;           /* resume: the paused months are owed */
} benefits_pause_t;
int benefits_suspend_decode(const msgpack_object *body, benefits_pause_t *p, schema_err_t *err);
int benefits_resume_decode(const msgpack_object *body, benefits_pause_t *p, schema_err_t *err);

/* recheck.due {"month", "township"?} */
typedef struct {
    char month[16];
    aid_date_t month_first;
    char township[10];
} benefits_recheck_t;
int benefits_recheck_decode(const msgpack_object *body, benefits_recheck_t *q, schema_err_t *err);

/* case.merge {"into", "from", "by", "reason"} */
typedef struct {
    char into[64], from[64];
    long long into_num, from_num;   /* 0: malformed, answered not_found */
    char by[BENEFITS_TEXT_MAX + 1];
    char reason[BENEFITS_TEXT_MAX * 2 + 1];
} benefits_merge_t;
int benefits_merge_decode(const msgpack_object *body, benefits_merge_t *m, schema_err_t *err);

#endif
