/* medical.c — medical aid (医疗救助), POLICY.md §6. */
#include "policy_internal.h"

/* R-MED-RETRO's look-back window, in months ("the previous 6 months"). */
#define MED_RETRO_MONTHS 6

/* Whole months from from to to, at least 1 (an expense period of less than
 * a month counts as one month). */
static int64_t months_between(aid_date_t from, aid_date_t to)
{
    if (!from || from >= to)
        return 1;
    int64_t m = (int64_t)(DATE_Y(to) * 12 + DATE_M(to)) - (DATE_Y(from) * 12 + DATE_M(from)) -
                (DATE_D(to) < DATE_D(from) ? 1 : 0);
    return m < 1 ? 1 : m;
}

/* R-MED-RETRO, as read here (POLICY.md §6 states it in one sentence):
 * - Only a medical_expense trigger carries the out-of-pocket expenses the
 *   medical insurance bureau settled: the report's illness circumstances,
 *   each expense_fen spent over the months from its occurred_on (the
 *   trigger's `months` before as_of) to as_of.
 * - "A marginal household" is an M household: §1 names the M groups the
 *   marginal group (边缘困难群体), and the expense itself makes every member
 *   outside S an M1 member. An S household is not marginal: a dibao household
 *   is not *newly* recognized, and the other S households have their S rules.
 * - "Newly recognized as dibao because of large medical expenses": with the
 *   monthly expense (each expense ÷ its months) deducted from the household's
 *   income, the per-capita income is below P_DIBAO — the means test of
 *   expenditure-type dibao (支出型低保), which deducts necessary medical
 *   expenses. (An M household is never on dibao and has no tekun member.)
 * - The aid is P_MED_RETRO_RATE of the expenses of the previous 6 months:
 *   all of an expense spent over 6 months or less, else its share of the
 *   last 6 months spread evenly (expense × 6 ÷ months), rounded half up; one
 *   household measure, once, in cash. The retroactive aid goes with the dibao
 *   recognition, so it is decided with the trigger, not afterwards. */
static void medical_retro(const report_t *r, const assessment_t *a, const params_t *p,
                          decision_t *out)
{
    if (!report_trigger_is(r, "medical_expense") || a->hh_class != HH_M || r->n_members <= 0)
        return;
    int64_t monthly = 0, window = 0;
    for (int i = 0; i < r->n_circumstances; i++) {
        const circumstance_t *c = &r->circumstances[i];
        if (c->kind != CIRC_ILLNESS || c->expense_fen <= 0)
            continue;
        int64_t months = months_between(c->occurred_on, r->as_of);
        monthly = money_add(monthly, c->expense_fen / months);
        window = money_add(window, months <= MED_RETRO_MONTHS
                                       ? c->expense_fen
                                       : (c->expense_fen * MED_RETRO_MONTHS * 2 + months) /
                                             (2 * months));
    }
    if (window <= 0)
        return;
    int64_t income = 0;
    for (int i = 0; i < r->n_members; i++)
        income = money_add(income, r->members[i].monthly_income_fen);
    int64_t net = income > monthly ? income - monthly : 0;
    if (net / r->n_members >= p->P_DIBAO)
        return; /* not below the dibao line even with the expense deducted */
    decision_add(out, "R-MED-RETRO", "medical.retro_aid", -1, pct_round(window, p->P_MED_RETRO_RATE),
                 PERIOD_ONCE, FORM_CASH);
}

void medical_decide(const report_t *r, const assessment_t *a, const params_t *p,
                    decision_t *out)
{
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
    /* R-VISIT-SYMPTOM (§12): a visit (source visit) that finds suspected
     * epidemic symptoms (an epidemic circumstance) → referral of the
     * household to the designated medical institution. visit.record files
     * such a report (services/intake/op_visits.c, proto/CARE.md). */
    if (r->source == SOURCE_VISIT && report_has_circumstance(r, CIRC_EPIDEMIC))
        decision_add(out, "R-VISIT-SYMPTOM", "medical.symptom_referral", -1, 0, PERIOD_ONCE,
                     FORM_REFERRAL);
    /* R-MED-RETRO: only with a medical_expense trigger */
    medical_retro(r, a, p, out);
    decision_close(out, "no medical-aid rule applies: no dibao member, no seriously ill "
                        "person in an S or M group and no retroactive aid due");
}
