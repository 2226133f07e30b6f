/* policy_internal.h — what the files of services/policy share and nobody else
 * sees: the department decide functions, the decision builders, the integer
 * percent math and the small definitions of POLICY.md §0 that several
 * sections reuse. Not part of the policy API (policy.h is).
 */
#ifndef AID_POLICY_INTERNAL_H
#define AID_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h> /* size_t: common/date.h uses it without including it */
#include <stdint.h>
#include <string.h>

#include "policy.h"

/* ---- percent math (§0) ------------------------------------------------- */

/* base × pct / 100 rounded half up to a fen (705 yuan × 15% = 10575 fen).
 * base and pct are non-negative. Splitting base at 100 keeps the product of
 * a large amount and a percent out of int64 overflow. */
static inline int64_t pct_round(int64_t base, int64_t pct)
{
    return base / 100 * pct + (base % 100 * pct + 50) / 100;
}

/* True when value < base × pct / 100 exactly (no rounding: a threshold of
 * 1.5 × 705 yuan is 105750 fen, and "below" must not be blurred by a round).
 * For integers, value·100 < X ⇔ value < ⌈X / 100⌉, which never multiplies
 * the (reporter supplied) value. */
static inline bool below_pct(int64_t value, int64_t base, int64_t pct)
{
    return value < (base * pct + 99) / 100;
}

/* a + b for non-negative amounts, saturating instead of overflowing: a sum
 * of reported incomes or expenses is input, and UB is not a policy. */
static inline int64_t money_add(int64_t a, int64_t b)
{
    return b > 0 && a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* ---- definitions of §0 ------------------------------------------------- */

static inline bool age_elderly(int age) { return age >= 60; }
static inline bool age_minor(int age) { return age < 18; }
static inline bool age_working(int age) { return age >= 16 && age < 60; }

static inline bool member_severely_disabled(const member_t *m)
{
    return m->disability_grade == 1 || m->disability_grade == 2;
}

static inline bool member_generally_disabled(const member_t *m)
{
    return m->disability_grade == 3 || m->disability_grade == 4;
}

static inline bool member_disabled(const member_t *m) { return m->disability_grade > 0; }

static inline bool member_tekun(const member_t *m) { return m->tekun != TEKUN_NONE; }

/* Cannot care for themselves, the tekun and care rules' "disabled or
 * semi-disabled" (self-care none or semi). */
static inline bool member_needs_care(const member_t *m) { return m->self_care != SELFCARE_FULL; }

static inline bool report_dibao(const report_t *r) { return r->status.dibao != DIBAO_NONE; }

/* True when the report was filed by the system for a trigger of this kind
 * ("disaster", "medical_expense", …: report_t.trigger). */
static inline bool report_trigger_is(const report_t *r, const char *kind)
{
    return strcmp(r->trigger, kind) == 0;
}

/* True when the report has a circumstance of this kind. */
bool report_has_circumstance(const report_t *r, int kind);
/* True when any member is a tekun person. */
bool report_has_tekun(const report_t *r);
/* True when any member has local hukou (户籍). */
bool report_has_hukou(const report_t *r);

/* ---- decisions ----------------------------------------------------------- */

/* Cites rule (a static string) once, in order of first citation. */
void decision_cite(decision_t *d, const char *rule);
/* Records a measure and cites the rule that produced it. A rule that yields
 * 0 fen for a cash measure records nothing (§15). */
void decision_add(decision_t *d, const char *rule, const char *code, int person,
                  int64_t amount_fen, int period, int form);
/* Sets the status from the measures: GRANTED with at least one, else DENIED
 * with denied_reason (kept when a reason is already set). */
void decision_close(decision_t *d, const char *denied_reason);

/* ---- departments (one file each) ----------------------------------------- */

typedef void dept_decide_fn(const report_t *r, const assessment_t *a, const params_t *p,
                            decision_t *out);

/* R-TEKUN-CARE's allowance for m's self-care level (civil.c). */
int64_t tekun_care_fen(const member_t *m, const params_t *p);

dept_decide_fn civil_decide;      /* §2–4, civil.c */
dept_decide_fn tempaid_decide;    /* §5, tempaid.c */
dept_decide_fn medical_decide;    /* §6, medical.c */
dept_decide_fn education_decide;  /* §7, education.c */
dept_decide_fn housing_decide;    /* §8, housing.c */
dept_decide_fn employment_decide; /* §9, employment.c */
dept_decide_fn relief_decide;     /* §10, relief.c */
dept_decide_fn social_decide;     /* §11, social.c */
dept_decide_fn care_decide;       /* §12, care.c */

/* True when R-TEMP-EMERG or R-TEMP-EXPEND holds apart from scope: the
 * condition for routing to tempaid (§15), which may then refuse on scope. */
bool tempaid_applies(const report_t *r, const assessment_t *a, const params_t *p);

/* True when some person has a visit plan (an S person or a left-behind
 * elderly person): the condition for routing to care (§15). */
bool care_applies(const assessment_t *a);

#endif
