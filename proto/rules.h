/* rules.h — the vocabulary of decisions: every rule id of POLICY.md and every
 * measure code of PROTOCOL.md with its department, period, form and whether
 * it names a person.
 *
 * The built-in departments produce only these by construction; a decision
 * an external department system sends (decision.submit) is checked against
 * them, so an outside handler can never record a rule that does not exist, a
 * measure of another department, or a one-off cash code as a monthly
 * service. Pure data and lookups: no I/O. */
#ifndef AID_PROTO_RULES_H
#define AID_PROTO_RULES_H

#include <stdbool.h>

#include "names.h"

/* Who a measure is about (PROTOCOL.md: "A measure names a person when the
 * rule is per person and no one when it is per household"). */
typedef enum { RULES_PER_HOUSEHOLD, RULES_PER_PERSON } rules_subject_t;

typedef struct {
    const char *code;        /* "tempaid.emergency_cash" */
    const char *department;  /* "tempaid": the part before the dot */
    period_t period;
    form_t form;
    rules_subject_t subject;
} rules_measure_t;

/* The nine departments of POLICY.md §15, in the order of the policy library,
 * NULL-terminated (an enum list for the schema tables). */
extern const char *const rules_departments[];
extern const int rules_department_count;

/* Every rule id of POLICY.md ("R-SCOPE-S1" … "R-VISIT-SYMPTOM"). */
extern const char *const rules_ids[];
extern const int rules_id_count;

/* Every measure code of PROTOCOL.md. */
extern const rules_measure_t rules_measures[];
extern const int rules_measure_count;

/* True when id is a rule of POLICY.md. */
bool rules_id_known(const char *id);
/* The measure code's entry, or NULL when PROTOCOL.md has no such code. */
const rules_measure_t *rules_measure_find(const char *code);
/* True when name is one of the nine departments. */
bool rules_department_known(const char *name);

#endif
