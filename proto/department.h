/* department.h — what a department's own system speaks (PROTOCOL.md
 * "Department handlers", proto/DEPARTMENTS.md): `referrals.pending` and
 * `decision.submit` bodies as schema tables, the strict check of an external
 * decision against POLICY.md and PROTOCOL.md (rules.h), and what a
 * department may see of a household. Pure: no I/O. */
#ifndef AID_PROTO_DEPARTMENT_H
#define AID_PROTO_DEPARTMENT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "names.h"
#include "report.h"
#include "rules.h"
#include "schema.h"

#define PROTO_PENDING_MAX_LIMIT 200     /* referrals per referrals.pending page */
#define PROTO_DECISION_MAX_MEASURES 160 /* as the built-in decisions */
#define PROTO_DECISION_MAX_RULES 48

/* referrals.pending {"department", "after_seq", "limit"}. */
typedef struct {
    int department;      /* index into rules_departments */
    int64_t after_seq;   /* default 0: from the start of the stream */
    int64_t limit;       /* default 100, at most PROTO_PENDING_MAX_LIMIT */
} proto_pending_t;

int proto_pending_decode(const msgpack_object *body, proto_pending_t *q, schema_err_t *err);

/* One measure of decision.submit. person is an index into the report's
 * household.members (as referrals.pending shows them), -1 for the household;
 * period and form are filled in from the code when left out. */
typedef struct {
    char code[48];
    int64_t person;
    int64_t amount_fen;
    int period;          /* period_t; -1 until checked */
    int form;            /* form_t; -1 until checked */
} proto_measure_in_t;

typedef struct {
    char referral_id[64];                 /* "referral-12" */
    int status;                           /* status_t: granted, denied or referred */
    char reason[PROTO_STR_MAX + 1];
    int n_measures;
    proto_measure_in_t measures[PROTO_DECISION_MAX_MEASURES];
    int n_rules;
    char rules[PROTO_DECISION_MAX_RULES][32];
} proto_decision_t;

/* Decodes decision.submit's body (shape and ranges only). */
int proto_decision_decode(const msgpack_object *body, proto_decision_t *d, schema_err_t *err);

/* Checks d against the referral it decides: department owns every measure
 * code, each code exists with its period and form, cash is at least 1 fen
 * and everything else 0, per-person codes name a member (< n_members) and
 * household codes nobody, every rule id exists (docs/policy.md), nothing
 * appears twice; granted has a measure and a rule, denied no measure and a
 * reason, referred a reason. `rules` may be left out (it is []) on a denial
 * or a referral, as the built-in departments deny when no rule applies;
 * the checks run in that order, so each error names the field at fault (a
 * denial with measures is a `measures` error, whatever its rules).
 * Fills in period and form. 0, or -1 with err naming the field. */
int proto_decision_check(proto_decision_t *d, const char *department, int n_members,
                         schema_err_t *err);

/* The referral number of "referral-12", or -1 when the text is not one. */
long long proto_referral_number(const char *wire_id);

/* True when department registers its measures in a person's name in its own
 * system (dibao and tekun registers, medical insurance, school aid,
 * employment registration, visit plans) and so gets full ID numbers; the
 * others act for the household through the case and see masked ones only. */
bool proto_department_sees_ids(const char *department);

/* Writes r as referrals.pending shows it: the canonical report with every
 * member's and circumstance's id_number masked (first 6 and last 4) and
 * every name masked after its first character. */
void proto_department_pack_report(const report_t *r, msgpack_packer *pk);

#endif
