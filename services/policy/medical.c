/* medical.c — medical aid (医疗救助), POLICY.md §6. */
#include "policy_internal.h"

void medical_decide(const report_t *r, const assessment_t *a, const params_t *p,
                    decision_t *out)
{
    (void)p; /* no medical parameter applies to a report (P_MED_RETRO_RATE is R-MED-RETRO's) */
    for (int i = 0; i < r->n_members; i++) {
        uint32_t g = a->persons[i].groups;
        /* R-MED-OVERLAY: a dibao member is enrolled in the overlay insurance */
        if (g & G_S1)
            decision_add(out, "R-MED-OVERLAY", "medical.overlay_insurance", i, 0, PERIOD_ONCE,
                         FORM_SERVICE);
        /* R-MED-TRIPLE: seriously ill and themselves in an S or M group →
         * basic insurance, then critical-illness insurance, then medical aid */
        if (r->members[i].serious_illness && (g & (G_S_ANY | G_M_ANY)))
            decision_add(out, "R-MED-TRIPLE", "medical.triple_check", i, 0, PERIOD_ONCE,
                         FORM_SERVICE);
    }
    /* R-MED-RETRO needs a medical_expense trigger; it arrives with triggers. */
    decision_close(out, "no medical-aid rule applies: no dibao member and no seriously ill "
                        "person in an S or M group");
}
