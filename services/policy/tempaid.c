/* tempaid.c — temporary aid (临时救助), POLICY.md §5: scope, the emergency
 * (急难型) and expenditure (支出型) cash. In-kind and referral measures
 * (R-TEMP-FORM) are an operator's or an external handler's, never automatic.
 */
#include "policy_internal.h"

/* R-TEMP-SCOPE: local hukou, a residence permit, or more than 6 months of
 * work in the county (plan 三(四)2) — for any member. */
static bool tempaid_in_scope(const report_t *r)
{
    for (int i = 0; i < r->n_members; i++) {
        const member_t *m = &r->members[i];
        if (m->hukou_local || m->residence_permit || m->months_working_locally > 6)
            return true;
    }
    return false;
}

/* R-TEMP-EMERG's survival crisis: an urgent report with a sudden event, or
 * a disaster trigger (R-TRIGGER-DISASTER: the household is in an area the
 * emergency bureau declared, whatever the report's urgency). */
static bool tempaid_emergency(const report_t *r)
{
    if (report_trigger_is(r, "disaster"))
        return true;
    if (r->urgency != URGENCY_URGENT)
        return false;
    for (int i = 0; i < r->n_circumstances; i++) {
        int k = r->circumstances[i].kind;
        if (k == CIRC_ACCIDENT || k == CIRC_DISASTER || k == CIRC_EPIDEMIC ||
            k == CIRC_ILLNESS || k == CIRC_DEATH)
            return true;
    }
    return false;
}

/* R-TEMP-EXPEND's necessary expense: illness and schooling circumstances. */
static int64_t tempaid_expense(const report_t *r)
{
    int64_t sum = 0;
    for (int i = 0; i < r->n_circumstances; i++) {
        const circumstance_t *c = &r->circumstances[i];
        if ((c->kind == CIRC_ILLNESS || c->kind == CIRC_SCHOOLING) && c->expense_fen > 0)
            sum = money_add(sum, c->expense_fen);
    }
    return sum;
}

/* R-TEMP-EXPEND's condition: expense ≥ P_TEMP_EXPEND_MIN_MULT × P_DIBAO ×
 * household size ("at least": the minimum itself qualifies), and per-capita
 * income below the local average. */
static bool tempaid_expenditure(const report_t *r, const assessment_t *a, const params_t *p)
{
    int64_t dibao_hh = p->P_DIBAO * r->n_members;
    if (below_pct(tempaid_expense(r), dibao_hh, p->P_TEMP_EXPEND_MIN_MULT))
        return false;
    return a->per_capita_income_fen < p->P_LOCAL_INCOME_AVG;
}

bool tempaid_applies(const report_t *r, const assessment_t *a, const params_t *p)
{
    return tempaid_emergency(r) || tempaid_expenditure(r, a, p);
}

/* R-TEMP-EXPEND's cash: P_TEMP_EXPEND_RATE of the expense, capped at
 * P_TEMP_CAP_MULT × P_DIBAO × household size. */
static int64_t tempaid_expenditure_fen(const report_t *r, const params_t *p)
{
    int64_t cash = pct_round(tempaid_expense(r), p->P_TEMP_EXPEND_RATE);
    int64_t cap = pct_round(p->P_DIBAO * r->n_members, p->P_TEMP_CAP_MULT);
    return cash < cap ? cash : cap;
}

void tempaid_decide(const report_t *r, const assessment_t *a, const params_t *p,
                    decision_t *out)
{
    if (!tempaid_applies(r, a, p)) {
        decision_close(out, "no temporary-aid rule applies: no urgent sudden event "
                            "(R-TEMP-EMERG) and no qualifying necessary expense (R-TEMP-EXPEND)");
        return;
    }
    /* R-TEMP-SCOPE: checked first; the decision cites it either way */
    decision_cite(out, "R-TEMP-SCOPE");
    if (!tempaid_in_scope(r)) {
        decision_close(out, "out of scope (R-TEMP-SCOPE): no member has local hukou, a "
                            "residence permit or more than 6 months of work in the county");
        return;
    }
    /* R-TEMP-EMERG: paid at once, before any income check (先行救助) */
    if (tempaid_emergency(r)) {
        decision_add(out, "R-TEMP-EMERG", "tempaid.emergency_cash", -1,
                     pct_round(p->P_DIBAO * r->n_members, p->P_TEMP_EMERG_MULT), PERIOD_ONCE,
                     FORM_CASH);
        /* R-TRIGGER-DISASTER: event-driven, no report filed by anyone */
        if (report_trigger_is(r, "disaster") && out->n_measures > 0)
            decision_cite(out, "R-TRIGGER-DISASTER");
    }
    /* R-TEMP-EXPEND: a separate measure when both types apply */
    if (tempaid_expenditure(r, a, p))
        decision_add(out, "R-TEMP-EXPEND", "tempaid.expenditure_cash", -1,
                     tempaid_expenditure_fen(r, p), PERIOD_ONCE, FORM_CASH);
    decision_close(out, "temporary aid computes to 0 fen under the parameters in force");
}
