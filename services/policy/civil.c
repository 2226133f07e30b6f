/* civil.c — civil affairs (民政): the decisions of POLICY.md §2 (new
 * entitlements to review, 四个不摘), §3 (dibao classified supplements) and §4
 * (tekun support). The supplement itself is chosen in assess.c, because the
 * case view shows it per person; here it becomes a measure.
 */
#include "policy_internal.h"

/* §0 "no labor capacity" for the tekun rules: the national definition, not
 * the labor_capacity flag (that one is employment's). */
static bool tekun_no_labor_capacity(const member_t *m, int age, const params_t *p)
{
    bool grade3_mind = m->disability_grade == 3 &&
                       (m->disability_kind == DISKIND_INTELLECTUAL ||
                        m->disability_kind == DISKIND_MENTAL);
    return age_elderly(age) || age < p->P_TEKUN_MINOR_AGE || member_severely_disabled(m) ||
           grade3_mind;
}

/* R-TEKUN-REVIEW: who is referred for tekun review (特困人员认定). Local hukou
 * only; an orphan or de facto unsupported minor (S4/S5) keeps that status. */
static bool tekun_review_due(const member_t *m, const person_facts_t *f, const params_t *p)
{
    if (!m->hukou_local || member_tekun(m) || (f->groups & (G_S4 | G_S5)))
        return false;
    if (!tekun_no_labor_capacity(m, f->age, p))
        return false;
    return m->monthly_income_fen < p->P_DIBAO && (m->no_supporter || m->three_nos);
}

/* How many members R-TEKUN-REVIEW refers (R-DIBAO-REVIEW steps aside when
 * that is everyone). */
static int count_tekun_reviews(const report_t *r, const assessment_t *a, const params_t *p)
{
    int n = 0;
    for (int i = 0; i < r->n_members; i++)
        n += tekun_review_due(&r->members[i], &a->persons[i], p);
    return n;
}

/* R-TEKUN-REVIEW: a referral for tekun review per person due one. */
static void civil_tekun_reviews(const report_t *r, const assessment_t *a, const params_t *p,
                                decision_t *out)
{
    for (int i = 0; i < r->n_members; i++)
        if (tekun_review_due(&r->members[i], &a->persons[i], p))
            decision_add(out, "R-TEKUN-REVIEW", "civil.tekun_review", i, 0, PERIOD_ONCE,
                         FORM_SERVICE);
}

/* R-DIBAO-REVIEW: a household that may be owed dibao (应保尽保). Not issued
 * when every member is referred for tekun review instead. */
static void civil_dibao_review(const report_t *r, const assessment_t *a, const params_t *p,
                               decision_t *out)
{
    if (report_dibao(r) || report_has_tekun(r) || !report_has_hukou(r))
        return;
    if (a->per_capita_income_fen >= p->P_DIBAO || count_tekun_reviews(r, a, p) == r->n_members)
        return;
    decision_add(out, "R-DIBAO-REVIEW", "civil.dibao_review", -1, 0, PERIOD_ONCE, FORM_SERVICE);
}

/* R-DIBAO-KEEP (四个不摘): a relocation-site dibao household whose income has
 * reached the standard keeps its dibao through the consolidation period. */
static void civil_dibao_keep(const report_t *r, const assessment_t *a, const params_t *p,
                             decision_t *out)
{
    if (report_dibao(r) && r->status.relocation_site && a->per_capita_income_fen >= p->P_DIBAO)
        decision_add(out, "R-DIBAO-KEEP", "civil.dibao_keep", -1, 0, PERIOD_ONCE, FORM_SERVICE);
}

/* R-DIBAO-SUP-A..D, highest only; R-DIBAO-SUP-MAX when two or more applied. */
static void civil_supplements(const report_t *r, const assessment_t *a, decision_t *out)
{
    static const char *const rule[4] = {
        "R-DIBAO-SUP-A", "R-DIBAO-SUP-B", "R-DIBAO-SUP-C", "R-DIBAO-SUP-D",
    };
    for (int i = 0; i < r->n_members; i++) {
        const person_facts_t *f = &a->persons[i];
        if (f->supplement_rule < 'A' || f->supplement_rule > 'D' || f->supplement_fen <= 0)
            continue;
        decision_add(out, rule[f->supplement_rule - 'A'], "civil.dibao_supplement", i,
                     f->supplement_fen, PERIOD_MONTH, FORM_CASH);
        if (f->supplement_max)
            decision_cite(out, "R-DIBAO-SUP-MAX");
    }
}

/* R-TEKUN-CARE: the care allowance for a self-care level (also grant.c's). */
int64_t tekun_care_fen(const member_t *m, const params_t *p)
{
    switch (m->self_care) {
    case SELFCARE_SEMI: return p->P_CARE_SEMI;
    case SELFCARE_NONE: return p->P_CARE_NONE;
    default: return p->P_CARE_FULL;
    }
}

/* §4 for each tekun person (特困供养). */
static void civil_tekun_support(const report_t *r, const params_t *p, decision_t *out)
{
    for (int i = 0; i < r->n_members; i++) {
        const member_t *m = &r->members[i];
        if (!member_tekun(m))
            continue;
        /* R-TEKUN-STD: P_TEKUN_MULT × P_DIBAO, dispersed or centralized */
        decision_add(out, "R-TEKUN-STD", "civil.tekun_support", i,
                     pct_round(p->P_DIBAO, p->P_TEKUN_MULT), PERIOD_MONTH, FORM_CASH);
        /* R-TEKUN-CARE: by self-care ability; 0 fen (full self-care) is no measure */
        decision_add(out, "R-TEKUN-CARE", "civil.tekun_care", i, tekun_care_fen(m, p),
                     PERIOD_MONTH, FORM_CASH);
        /* R-TEKUN-CENTRAL: dispersed and cannot care for themselves */
        if (m->tekun == TEKUN_DISPERSED && member_needs_care(m))
            decision_add(out, "R-TEKUN-CENTRAL", "civil.central_care_offer", i, 0, PERIOD_ONCE,
                         FORM_SERVICE);
    }
}

void civil_decide(const report_t *r, const assessment_t *a, const params_t *p, decision_t *out)
{
    civil_dibao_review(r, a, p, out);
    civil_tekun_reviews(r, a, p, out);
    civil_dibao_keep(r, a, p, out);
    civil_supplements(r, a, out);
    civil_tekun_support(r, p, out);
    decision_close(out, "no civil-affairs rule applies: no dibao or tekun review is due, "
                        "no dibao supplement, tekun support or dibao keep");
}
