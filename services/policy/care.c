/* care.c — care and visits (关爱服务), POLICY.md §12: per person with a visit
 * plan, the plan and the care category. Both are computed in assess.c (the
 * case view shows them); this file turns them into the care decision.
 * R-CAREGIVER and R-VISIT-SYMPTOM act on scores and visits, not reports.
 */
#include "policy_internal.h"

bool care_applies(const assessment_t *a)
{
    for (int i = 0; i < a->n; i++)
        if (a->persons[i].visit != VISIT_NONE)
            return true;
    return false;
}

static void care_visit(const person_facts_t *f, int i, decision_t *out)
{
    /* R-VISIT-MONTHLY: orphans, unsupported minors, tekun persons */
    if (f->visit == VISIT_MONTH)
        decision_add(out, "R-VISIT-MONTHLY", "care.visit_monthly", i, 0, PERIOD_MONTH,
                     FORM_SERVICE);
    /* R-VISIT-QUARTERLY: every other S person and left-behind elderly */
    else if (f->visit == VISIT_QUARTER)
        decision_add(out, "R-VISIT-QUARTERLY", "care.visit_quarterly", i, 0, PERIOD_QUARTER,
                     FORM_SERVICE);
}

/* R-CARE-CAT1..3: the lowest category that applies. */
static void care_category(const person_facts_t *f, int i, decision_t *out)
{
    static const char *const rule[3] = {"R-CARE-CAT1", "R-CARE-CAT2", "R-CARE-CAT3"};
    static const char *const code[3] = {"care.category_1", "care.category_2",
                                        "care.category_3"};
    if (f->care_category >= 1 && f->care_category <= 3)
        decision_add(out, rule[f->care_category - 1], code[f->care_category - 1], i, 0,
                     PERIOD_ONCE, FORM_SERVICE);
}

void care_decide(const report_t *r, const assessment_t *a, const params_t *p, decision_t *out)
{
    (void)r;
    (void)p;
    for (int i = 0; i < a->n; i++) {
        if (a->persons[i].visit == VISIT_NONE)
            continue;
        care_visit(&a->persons[i], i, out);
        care_category(&a->persons[i], i, out);
    }
    decision_close(out, "no visit plan: nobody in an S group and no left-behind elderly person");
}
