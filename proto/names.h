/* names.h — the words of the contract's small enums, each written once:
 * report sources, decision statuses, measure periods and forms. The enums
 * index the tables; the schema tables, the policy library, the departments,
 * the measure catalogue (rules.c) and the tools name these values through
 * them, in PROTOCOL.md's spelling. Pure data: no I/O. */
#ifndef AID_PROTO_NAMES_H
#define AID_PROTO_NAMES_H

/* report.submit "source" */
typedef enum { SOURCE_VISIT, SOURCE_HOTLINE, SOURCE_WECHAT, SOURCE_DEPARTMENT, SOURCE_SELF } source_t;
/* a decision's "status": pending until a department decides */
typedef enum { STATUS_PENDING, STATUS_GRANTED, STATUS_DENIED, STATUS_REFERRED } status_t;
/* a measure's "period" and "form" */
typedef enum { PERIOD_ONCE, PERIOD_MONTH, PERIOD_QUARTER, PERIOD_YEAR } period_t;
typedef enum { FORM_CASH, FORM_IN_KIND, FORM_SERVICE, FORM_REFERRAL } form_t;

/* "visit", …; "pending", "granted", …; "once", …; "cash", …: indexed by the
 * enums above, NULL-terminated (so the schema tables take them as they are). */
extern const char *const proto_sources[];
extern const char *const proto_statuses[];
extern const char *const proto_periods[];
extern const char *const proto_forms[];

/* The statuses a department may send in decision.submit ("granted",
 * "denied", "referred"): proto_statuses from STATUS_GRANTED on. */
#define proto_decision_statuses (proto_statuses + STATUS_GRANTED)

/* The index of s in the NULL-terminated names, or -1. */
int proto_name_find(const char *const *names, const char *s);

#endif
