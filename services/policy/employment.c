/* employment.c — employment aid (就业救助), POLICY.md §9: registrations per
 * job seeker by household class, and the zero-employment household. */
#include "policy_internal.h"

/* Working age with labor capacity (the flag, not the tekun definition). */
static bool emp_able(const member_t *m, int age)
{
    return age_working(age) && m->labor_capacity;
}

/* R-EMP-S / R-EMP-MO's job seeker: able, wants work, not employed. */
static bool emp_seeker(const member_t *m, int age)
{
    return emp_able(m, age) && m->wants_work && !m->employed;
}

/* R-EMP-ZERO's zero-employment household (零就业家庭): urban, a member with
 * local hukou, at least one able member and none of them at work. */
static bool emp_zero_household(const report_t *r, const assessment_t *a)
{
    if (!r->urban || !report_has_hukou(r))
        return false;
    int able = 0;
    for (int i = 0; i < r->n_members; i++) {
        if (!emp_able(&r->members[i], a->persons[i].age))
            continue;
        if (r->members[i].employed)
            return false;
        able++;
    }
    return able > 0;
}

void employment_decide(const report_t *r, const assessment_t *a, const params_t *p,
                       decision_t *out)
{
    (void)p;
    bool mo = a->hh_class == HH_M || a->hh_class == HH_O;
    for (int i = 0; i < r->n_members; i++) {
        if (!emp_seeker(&r->members[i], a->persons[i].age))
            continue;
        /* R-EMP-S: employment-difficulty person (就业困难人员) */
        if (a->hh_class == HH_S)
            decision_add(out, "R-EMP-S", "employment.difficulty_registration", i, 0,
                         PERIOD_ONCE, FORM_SERVICE);
        /* R-EMP-MO: registered unemployed (登记失业人员) */
        else if (mo)
            decision_add(out, "R-EMP-MO", "employment.unemployed_registration", i, 0,
                         PERIOD_ONCE, FORM_SERVICE);
    }
    /* R-EMP-ZERO: whatever the household's group */
    if (emp_zero_household(r, a))
        decision_add(out, "R-EMP-ZERO", "employment.zero_employment_assistance", -1, 0,
                     PERIOD_ONCE, FORM_SERVICE);
    decision_close(out, "no employment-aid rule applies: no job seeker of working age with "
                        "labor capacity in an S, M or O household, and not a zero-employment "
                        "household");
}
