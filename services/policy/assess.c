/* assess.c — policy_assess: the facts eligibility derives once from a report
 * (POLICY.md §0 ages and household facts, §1 groups, §3 supplements, §12
 * visits and care categories) and, last, the routing of §15.
 *
 * The order matters: groups need the low-income household (§0), which needs
 * the per-capita income; the visit and care facts need the groups; the
 * routing asks each department's decide function, which reads all of those,
 * so it is computed only when every person fact is in place.
 */
#include <string.h>

#include "idcard.h"
#include "policy_internal.h"

/* The fixed amount of R-DIBAO-SUP-D: the plan gives a number, not a rate. */
#define SUP_D_FEN 7000

/* ---- §0 household facts -------------------------------------------------- */

static int64_t assess_per_capita(const report_t *r)
{
    int64_t sum = 0;
    for (int i = 0; i < r->n_members; i++)
        sum = money_add(sum, r->members[i].monthly_income_fen);
    return r->n_members > 0 ? sum / r->n_members : 0;
}

/* §0 low-income household (低收入家庭): not on dibao, no tekun member, and
 * flagged by the register or below P_LOWINC_MULT × P_DIBAO per capita. */
static bool assess_low_income(const report_t *r, int64_t per_capita, const params_t *p)
{
    if (report_dibao(r) || report_has_tekun(r))
        return false;
    return r->status.low_income || below_pct(per_capita, p->P_DIBAO, p->P_LOWINC_MULT);
}

/* ---- §1 groups ---------------------------------------------------------- */

/* R-SCOPE-S1 … S10. The orphan, unsupported and left-behind/difficulty flags
 * count only for minors: an adult so flagged is in none of S4–S6. */
static uint32_t assess_s_groups(const report_t *r, const member_t *m, int age, bool low_income)
{
    uint32_t g = 0;
    bool minor = age_minor(age);
    if (report_dibao(r)) g |= G_S1;
    if (member_tekun(m)) g |= G_S2;
    if (m->retired_1960s) g |= G_S3;
    if (minor && m->orphan) g |= G_S4;
    if (minor && m->unsupported_minor) g |= G_S5;
    if (minor && (m->left_behind || m->minor_in_difficulty)) g |= G_S6;
    if (low_income && age_elderly(age)) g |= G_S7;
    if (low_income && minor) g |= G_S8;
    if (low_income && m->serious_illness) g |= G_S9;
    if (low_income && member_severely_disabled(m)) g |= G_S10;
    return g;
}

/* R-SCOPE-M1: hardship from illness, schooling, epidemic or disaster. */
static bool report_m1_hardship(const report_t *r)
{
    for (int i = 0; i < r->n_circumstances; i++) {
        const circumstance_t *c = &r->circumstances[i];
        if (c->kind == CIRC_DISASTER || c->kind == CIRC_EPIDEMIC)
            return true;
        if ((c->kind == CIRC_ILLNESS || c->kind == CIRC_SCHOOLING) && c->expense_fen > 0)
            return true;
    }
    return false;
}

/* R-SCOPE-O1: a major sudden emergency (accident, death, or any circumstance
 * in an urgent report). */
static bool report_o1_emergency(const report_t *r)
{
    if (r->urgency == URGENCY_URGENT && r->n_circumstances > 0)
        return true;
    return report_has_circumstance(r, CIRC_ACCIDENT) || report_has_circumstance(r, CIRC_DEATH);
}

/* All groups of one member: S first; M only without S; O only without both. */
static uint32_t assess_groups(const report_t *r, const member_t *m, int age, bool low_income)
{
    uint32_t g = assess_s_groups(r, m, age, low_income);
    if (g)
        return g;
    if (report_m1_hardship(r)) g |= G_M1;
    if (m->dept_recognized != DEPTREC_NONE) g |= G_M2;
    if (g)
        return g;
    if ((m->hukou_local || m->residence_permit) && report_o1_emergency(r))
        g |= G_O1;
    return g;
}

static int assess_hh_class(const assessment_t *a)
{
    uint32_t all = 0;
    for (int i = 0; i < a->n; i++)
        all |= a->persons[i].groups;
    if (all & G_S_ANY) return HH_S;
    if (all & G_M_ANY) return HH_M;
    if (all & G_O1) return HH_O;
    return HH_NONE;
}

/* ---- §3 dibao supplement ------------------------------------------------- */

/* R-DIBAO-SUP-A..D for one member of a dibao household, highest only
 * (R-DIBAO-SUP-MAX). Amounts are compared, not letters, because an operator
 * can lower P_DIBAO until the fixed D outranks C. */
static void assess_supplement(const report_t *r, const member_t *m, int age,
                              const params_t *p, person_facts_t *f)
{
    bool qualifies[4] = {
        m->three_nos || m->serious_illness || member_severely_disabled(m) ||
            r->status.single_parent || (age_elderly(age) && member_disabled(m)),
        age_elderly(age) || m->school_stage != STAGE_NONE,
        r->status.one_child || r->status.two_daughter,
        member_generally_disabled(m),
    };
    const int64_t amount[4] = {
        pct_round(p->P_DIBAO, 30), pct_round(p->P_DIBAO, 20), pct_round(p->P_DIBAO, 15),
        SUP_D_FEN,
    };
    int n_qualified = 0;
    for (int k = 0; k < 4; k++) {
        if (!qualifies[k])
            continue;
        n_qualified++;
        if (amount[k] > f->supplement_fen) {
            f->supplement_fen = amount[k];
            f->supplement_rule = (char)('A' + k);
        }
    }
    f->supplement_max = f->supplement_rule != 0 && n_qualified >= 2;
}

/* ---- §12 visits and care categories ---------------------------------------- */

static bool member_left_behind_elderly(const member_t *m, int age)
{
    return m->left_behind && age_elderly(age);
}

/* R-VISIT-MONTHLY / R-VISIT-QUARTERLY. */
static int assess_visit(const member_t *m, const person_facts_t *f, int age)
{
    if (f->groups & (G_S2 | G_S4 | G_S5))
        return VISIT_MONTH;
    if ((f->groups & G_S_ANY) || member_left_behind_elderly(m, age))
        return VISIT_QUARTER;
    return VISIT_NONE;
}

/* R-CARE-CAT2's "2+ members severely disabled or seriously ill". */
static int count_severe(const report_t *r)
{
    int n = 0;
    for (int i = 0; i < r->n_members; i++)
        if (member_severely_disabled(&r->members[i]) || r->members[i].serious_illness)
            n++;
    return n;
}

/* R-CARE-CAT3's "care cannot be arranged": no other member aged 18–69 with
 * full self-care. */
static bool care_unarranged(const report_t *r, const assessment_t *a, int self)
{
    for (int i = 0; i < r->n_members; i++) {
        int age = a->persons[i].age;
        if (i != self && age >= 18 && age <= 69 && r->members[i].self_care == SELFCARE_FULL)
            return false;
    }
    return true;
}

/* The lowest category of R-CARE-CAT1..3 that applies, or 0. */
static int assess_category(const report_t *r, const assessment_t *a, int i)
{
    const member_t *m = &r->members[i];
    const person_facts_t *f = &a->persons[i];
    bool severe = m->serious_illness || member_severely_disabled(m);
    if ((m->tekun == TEKUN_DISPERSED && member_needs_care(m)) ||
        ((f->groups & (G_S4 | G_S5)) && severe))
        return 1;
    if (report_dibao(r) && (report_has_circumstance(r, CIRC_ACCIDENT) ||
                            report_has_circumstance(r, CIRC_DEATH) || count_severe(r) >= 2))
        return 2;
    bool left_behind = m->left_behind && (age_minor(f->age) || age_elderly(f->age));
    if (left_behind && care_unarranged(r, a, i))
        return 3;
    return 0;
}

/* ---- §15 routing ---------------------------------------------------------- */

/* Routing is the decisions' own answer, so it can never disagree with them:
 * a department is routed when its decision records a measure; tempaid and
 * care have their own conditions (§15). a->routing is not read by any
 * decide function, so deciding on this not-yet-finished assessment is safe. */
static uint32_t assess_routing(const report_t *r, const assessment_t *a, const params_t *p)
{
    uint32_t routing = 0;
    decision_t d;
    for (int k = 0; k < DEPT_COUNT; k++) {
        bool routed;
        if (k == DEPT_TEMPAID) {
            routed = tempaid_applies(r, a, p);
        } else if (k == DEPT_CARE) {
            routed = care_applies(a);
        } else {
            policy_decide((dept_t)k, r, a, p, &d);
            routed = d.n_measures > 0;
        }
        if (routed)
            routing |= 1u << k;
    }
    /* R-TRIGGER-DISASTER: a disaster trigger is an emergency check, not a
     * report: it reaches temporary aid (R-TEMP-EMERG) and relief (R-RELIEF)
     * only; the household's other entitlements stand as last decided. */
    if (report_trigger_is(r, "disaster"))
        routing &= 1u << DEPT_TEMPAID | 1u << DEPT_RELIEF;
    return routing;
}

/* ---- policy_assess --------------------------------------------------------- */

static int assess_age(const member_t *m, aid_date_t as_of)
{
    return date_years_between(idcard_birth(m->id_number), as_of);
}

void policy_assess(const report_t *r, const params_t *p, assessment_t *a)
{
    memset(a, 0, sizeof *a);
    a->n = r->n_members;
    a->per_capita_income_fen = assess_per_capita(r);
    a->low_income = assess_low_income(r, a->per_capita_income_fen, p);
    for (int i = 0; i < a->n; i++) {
        const member_t *m = &r->members[i];
        person_facts_t *f = &a->persons[i];
        f->age = assess_age(m, r->as_of);
        f->groups = assess_groups(r, m, f->age, a->low_income);
        if (report_dibao(r))
            assess_supplement(r, m, f->age, p, f);
        f->visit = assess_visit(m, f, f->age);
    }
    a->hh_class = assess_hh_class(a);
    /* Categories need every member's age (CAT3 looks at the others). */
    for (int i = 0; i < a->n; i++)
        if (a->persons[i].visit != VISIT_NONE)
            a->persons[i].care_category = assess_category(r, a, i);
    a->routing = assess_routing(r, a, p);
}
