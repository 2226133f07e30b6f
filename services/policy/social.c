/* social.c — social forces and services (plan 三(十)), POLICY.md §11. */
#include "policy_internal.h"

/* Left-behind counts for minors and the elderly (留守儿童/老人), as in §12. */
static bool social_left_behind(const member_t *m, int age)
{
    return m->left_behind && (age_minor(age) || age_elderly(age));
}

void social_decide(const report_t *r, const assessment_t *a, const params_t *p,
                   decision_t *out)
{
    (void)p;
    for (int i = 0; i < r->n_members; i++) {
        const member_t *m = &r->members[i];
        int age = a->persons[i].age;
        bool covered = a->persons[i].groups != 0 || (m->left_behind && age_elderly(age));
        bool needs = member_needs_care(m) || social_left_behind(m, age) || m->serious_illness;
        /* R-SOCIAL: care, rehabilitation, psychological support or social
         * integration through social work services and charity */
        if (covered && needs)
            decision_add(out, "R-SOCIAL", "social.care_services", i, 0, PERIOD_ONCE,
                         FORM_SERVICE);
    }
    decision_close(out, "no social-services rule applies: nobody in an S, M or O group needs "
                        "care, rehabilitation or support");
}
