/* housing.c — housing aid (住房救助), POLICY.md §8, per household. */
#include "policy_internal.h"

/* §8 housing need: no home, a dangerous or damaged one, renting, or a home
 * lost (circumstance housing_loss). */
static bool housing_need(const report_t *r)
{
    return r->housing == HOUSING_NONE || r->housing == HOUSING_DANGEROUS ||
           r->housing == HOUSING_DAMAGED || r->housing == HOUSING_RENTING ||
           report_has_circumstance(r, CIRC_HOUSING_LOSS);
}

void housing_decide(const report_t *r, const assessment_t *a, const params_t *p,
                    decision_t *out)
{
    (void)p;
    bool need = housing_need(r);
    /* R-HOUSE-S: public rental housing (实物配租) or rental subsidy (租赁补贴) */
    bool house_s = a->hh_class == HH_S && need;
    if (house_s)
        decision_add(out, "R-HOUSE-S", "housing.public_rental_or_subsidy", -1, 0, PERIOD_ONCE,
                     FORM_SERVICE);
    /* R-HOUSE-FREE: full dibao, housed under R-HOUSE-S or already in public
     * rental housing → no rent */
    if (r->status.dibao == DIBAO_FULL && (house_s || r->housing == HOUSING_PUBLIC_RENTAL))
        decision_add(out, "R-HOUSE-FREE", "housing.rent_free", -1, 0, PERIOD_ONCE, FORM_SERVICE);
    /* R-HOUSE-M: priority through directed allocation (定向配租) */
    if (a->hh_class == HH_M && need)
        decision_add(out, "R-HOUSE-M", "housing.directed_allocation", -1, 0, PERIOD_ONCE,
                     FORM_SERVICE);
    decision_close(out, need ? "no housing-aid rule applies: the household is not an S or M "
                               "household"
                             : "no housing-aid rule applies: no housing need");
}
