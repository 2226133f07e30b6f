/* grant.c — what a confirmed review grants (POLICY.md §16–17): R-DIBAO-GRANT and
 * R-TEKUN-GRANT, from the reviewed report (as amended by the investigation) with the
 * same parameters and helpers as the proposal. */
#include <string.h>

#include "policy_internal.h"

void policy_grant(const report_t *r, const assessment_t *a, const decision_t *proposal,
                  const params_t *p, int64_t min_rate_pct, decision_t *out)
{
    memset(out, 0, sizeof *out);
    out->status = STATUS_PENDING;
    for (int k = 0; k < proposal->n_measures; k++) {
        const measure_t *m = &proposal->measures[k];
        if (strcmp(m->code, "civil.dibao_review") == 0) {
            /* 差额: per member the standard minus the per-capita income, at least
             * min_rate_pct of the standard */
            int64_t per = p->P_DIBAO - a->per_capita_income_fen;
            int64_t floor_ = pct_round(p->P_DIBAO, min_rate_pct);
            if (per < floor_)
                per = floor_;
            decision_add(out, "R-DIBAO-GRANT", "civil.dibao_grant", -1, per * r->n_members,
                         PERIOD_MONTH, FORM_CASH);
        } else if (strcmp(m->code, "civil.tekun_review") == 0 && m->person >= 0 &&
                   m->person < r->n_members) {
            const member_t *who = &r->members[m->person];
            decision_add(out, "R-TEKUN-GRANT", "civil.tekun_grant", m->person,
                         pct_round(p->P_DIBAO, p->P_TEKUN_MULT) + tekun_care_fen(who, p),
                         PERIOD_MONTH, FORM_CASH);
        }
    }
    decision_close(out, "the proposal holds no dibao or tekun review to grant");
}
