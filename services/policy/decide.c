/* decide.c — policy_decide: dispatch to the department's rules (one file per
 * department), plus the decision builders and report predicates they share.
 */
#include <stdio.h>
#include <string.h>

#include "policy_internal.h"

/* In dept_t order. */
static dept_decide_fn *const decide_table[DEPT_COUNT] = {
    civil_decide,      tempaid_decide, medical_decide, education_decide, housing_decide,
    employment_decide, relief_decide,  social_decide,  care_decide,
};

void policy_decide(dept_t d, const report_t *r, const assessment_t *a, const params_t *p,
                   decision_t *out)
{
    memset(out, 0, sizeof *out);
    out->status = STATUS_PENDING;
    if ((int)d < 0 || d >= DEPT_COUNT) {
        decision_close(out, "unknown department");
        return;
    }
    decide_table[d](r, a, p, out);
}

/* ---- decision builders --------------------------------------------------- */

void decision_cite(decision_t *d, const char *rule)
{
    for (int i = 0; i < d->n_rules; i++)
        if (strcmp(d->rules[i], rule) == 0)
            return;
    /* A department cites at most a few dozen distinct ids of its section,
     * fewer than DECISION_MAX_RULES; the guard only keeps memory safe. */
    if (d->n_rules < DECISION_MAX_RULES)
        d->rules[d->n_rules++] = rule;
}

void decision_add(decision_t *d, const char *rule, const char *code, int person,
                  int64_t amount_fen, int period, int form)
{
    if (form == FORM_CASH && amount_fen <= 0)
        return; /* §15: a rule that yields 0 fen records no measure */
    /* At most five measures per member for 30 members stays under
     * DECISION_MAX_MEASURES; the guard only keeps memory safe. */
    if (d->n_measures >= DECISION_MAX_MEASURES)
        return;
    measure_t *m = &d->measures[d->n_measures++];
    snprintf(m->code, sizeof m->code, "%s", code);
    m->person = person;
    m->amount_fen = form == FORM_CASH ? amount_fen : 0; /* PROTOCOL: non-cash carries 0 */
    m->period = period;
    m->form = form;
    decision_cite(d, rule);
}

void decision_close(decision_t *d, const char *denied_reason)
{
    if (d->n_measures > 0) {
        d->status = STATUS_GRANTED;
        d->reason[0] = '\0';
        return;
    }
    d->status = STATUS_DENIED;
    if (d->reason[0] == '\0')
        snprintf(d->reason, sizeof d->reason, "%s", denied_reason);
}

/* ---- report predicates --------------------------------------------------- */

bool report_has_circumstance(const report_t *r, int kind)
{
    for (int i = 0; i < r->n_circumstances; i++)
        if (r->circumstances[i].kind == kind)
            return true;
    return false;
}

bool report_has_tekun(const report_t *r)
{
    for (int i = 0; i < r->n_members; i++)
        if (member_tekun(&r->members[i]))
            return true;
    return false;
}

bool report_has_hukou(const report_t *r)
{
    for (int i = 0; i < r->n_members; i++)
        if (r->members[i].hukou_local)
            return true;
    return false;
}
