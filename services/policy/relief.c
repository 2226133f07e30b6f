/* relief.c — disaster relief (应急救助), POLICY.md §10: basic living supplies
 * in kind for a household hit by a natural disaster. */
#include "policy_internal.h"

void relief_decide(const report_t *r, const assessment_t *a, const params_t *p,
                   decision_t *out)
{
    static const char *const supplies[] = {
        "relief.food", "relief.clothing", "relief.water", "relief.shelter",
    };
    (void)a;
    (void)p;
    /* R-RELIEF: a disaster circumstance or a disaster trigger → food,
     * clothing, clean water and shelter */
    bool trigger = report_trigger_is(r, "disaster");
    if (trigger || report_has_circumstance(r, CIRC_DISASTER))
        for (int k = 0; k < (int)(sizeof supplies / sizeof supplies[0]); k++)
            decision_add(out, "R-RELIEF", supplies[k], -1, 0, PERIOD_ONCE, FORM_IN_KIND);
    /* R-TRIGGER-DISASTER: event-driven, no report filed by anyone */
    if (trigger)
        decision_cite(out, "R-TRIGGER-DISASTER");
    decision_close(out, "no relief rule applies: no natural disaster reported");
}
