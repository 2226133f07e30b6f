/* rules.c — the rule ids of POLICY.md and the measure codes of PROTOCOL.md
 * as tables (see rules.h). A new rule or code is one line here. */
#include "rules.h"

#include <string.h>

const char *const rules_departments[] = {
    "civil", "tempaid", "medical", "education", "housing",
    "employment", "relief", "social", "care", NULL,
};
const int rules_department_count =
    (int)(sizeof rules_departments / sizeof rules_departments[0]) - 1;

/* POLICY.md, section by section. */
const char *const rules_ids[] = {
    /* §1 who is covered */
    "R-SCOPE-S1", "R-SCOPE-S2", "R-SCOPE-S3", "R-SCOPE-S4", "R-SCOPE-S5", "R-SCOPE-S6",
    "R-SCOPE-S7", "R-SCOPE-S8", "R-SCOPE-S9", "R-SCOPE-S10", "R-SCOPE-M1", "R-SCOPE-M2",
    "R-SCOPE-O1",
    /* §2 reviews, §3 supplements, §4 tekun support */
    "R-DIBAO-REVIEW", "R-TEKUN-REVIEW", "R-DIBAO-KEEP",
    "R-DIBAO-SUP-A", "R-DIBAO-SUP-B", "R-DIBAO-SUP-C", "R-DIBAO-SUP-D", "R-DIBAO-SUP-MAX",
    "R-TEKUN-STD", "R-TEKUN-CARE", "R-TEKUN-CENTRAL",
    /* §5 temporary aid, §6 medical, §7 education, §8 housing, §9 employment */
    "R-TEMP-SCOPE", "R-TEMP-EMERG", "R-TEMP-EXPEND", "R-TEMP-FORM",
    "R-MED-OVERLAY", "R-MED-RETRO", "R-MED-TRIPLE",
    "R-EDU-S", "R-EDU-EXEMPT", "R-EDU-GRADE",
    "R-HOUSE-S", "R-HOUSE-FREE", "R-HOUSE-M",
    "R-EMP-S", "R-EMP-MO", "R-EMP-ZERO",
    /* §10 relief and triggers, §11 social, §12 care */
    "R-RELIEF", "R-TRIGGER-DISASTER", "R-SOCIAL",
    "R-CARE-CAT1", "R-CARE-CAT2", "R-CARE-CAT3", "R-VISIT-MONTHLY", "R-VISIT-QUARTERLY",
    "R-CAREGIVER", "R-VISIT-SYMPTOM", "R-LEDGER-MONTHLY",
    /* §13 supervision, §14 procedure */
    "R-DISCLOSE", "R-COMPLAINT", "R-AUDIT", "R-PROC-DIBAO", "R-PROC-TEKUN", "R-PROC-NOTICE",
    /* §16 the review procedure, §17 grants */
    "R-PROC-INVESTIGATE", "R-PROC-CONFIRM", "R-PROC-SPOTCHECK", "R-DIBAO-GRANT", "R-TEKUN-GRANT",
};
const int rules_id_count = (int)(sizeof rules_ids / sizeof rules_ids[0]);

#define P RULES_PER_PERSON
#define H RULES_PER_HOUSEHOLD

/* PROTOCOL.md "Measure codes": supplements, tekun support and care allowance
 * are monthly cash; education aid is yearly cash; temporary aid and medical
 * retroactive aid are one-off cash; relief measures are one-off in kind;
 * visit plans are month or quarter services; reviews, gradings and
 * registrations (and every other code) are one-off services; *.referral
 * measures have form referral. Per person or per household as the rule that
 * produces the code is (POLICY.md). */
const rules_measure_t rules_measures[] = {
    {"civil.dibao_review", "civil", PERIOD_ONCE, FORM_SERVICE, H},
    {"civil.tekun_review", "civil", PERIOD_ONCE, FORM_SERVICE, P},
    {"civil.dibao_supplement", "civil", PERIOD_MONTH, FORM_CASH, P},
    {"civil.dibao_keep", "civil", PERIOD_ONCE, FORM_SERVICE, H},
    {"civil.tekun_support", "civil", PERIOD_MONTH, FORM_CASH, P},
    {"civil.tekun_care", "civil", PERIOD_MONTH, FORM_CASH, P},
    {"civil.central_care_offer", "civil", PERIOD_ONCE, FORM_SERVICE, P},
    {"civil.dibao_grant", "civil", PERIOD_MONTH, FORM_CASH, H},
    {"civil.tekun_grant", "civil", PERIOD_MONTH, FORM_CASH, P},
    {"tempaid.emergency_cash", "tempaid", PERIOD_ONCE, FORM_CASH, H},
    {"tempaid.expenditure_cash", "tempaid", PERIOD_ONCE, FORM_CASH, H},
    {"tempaid.in_kind", "tempaid", PERIOD_ONCE, FORM_IN_KIND, H},
    {"tempaid.referral", "tempaid", PERIOD_ONCE, FORM_REFERRAL, H},
    {"medical.overlay_insurance", "medical", PERIOD_ONCE, FORM_SERVICE, P},
    {"medical.retro_aid", "medical", PERIOD_ONCE, FORM_CASH, H},
    {"medical.triple_check", "medical", PERIOD_ONCE, FORM_SERVICE, P},
    {"medical.symptom_referral", "medical", PERIOD_ONCE, FORM_REFERRAL, H},
    {"education.preschool", "education", PERIOD_YEAR, FORM_CASH, P},
    {"education.compulsory", "education", PERIOD_YEAR, FORM_CASH, P},
    {"education.senior", "education", PERIOD_YEAR, FORM_CASH, P},
    {"education.vocational", "education", PERIOD_YEAR, FORM_CASH, P},
    {"education.higher", "education", PERIOD_YEAR, FORM_CASH, P},
    {"education.exemption", "education", PERIOD_ONCE, FORM_SERVICE, P},
    {"education.hardship_grading", "education", PERIOD_ONCE, FORM_SERVICE, P},
    {"housing.public_rental_or_subsidy", "housing", PERIOD_ONCE, FORM_SERVICE, H},
    {"housing.rent_free", "housing", PERIOD_ONCE, FORM_SERVICE, H},
    {"housing.directed_allocation", "housing", PERIOD_ONCE, FORM_SERVICE, H},
    {"employment.difficulty_registration", "employment", PERIOD_ONCE, FORM_SERVICE, P},
    {"employment.unemployed_registration", "employment", PERIOD_ONCE, FORM_SERVICE, P},
    {"employment.zero_employment_assistance", "employment", PERIOD_ONCE, FORM_SERVICE, H},
    {"relief.food", "relief", PERIOD_ONCE, FORM_IN_KIND, H},
    {"relief.clothing", "relief", PERIOD_ONCE, FORM_IN_KIND, H},
    {"relief.water", "relief", PERIOD_ONCE, FORM_IN_KIND, H},
    {"relief.shelter", "relief", PERIOD_ONCE, FORM_IN_KIND, H},
    {"social.care_services", "social", PERIOD_ONCE, FORM_SERVICE, P},
    {"care.visit_monthly", "care", PERIOD_MONTH, FORM_SERVICE, P},
    {"care.visit_quarterly", "care", PERIOD_QUARTER, FORM_SERVICE, P},
    {"care.category_1", "care", PERIOD_ONCE, FORM_SERVICE, P},
    {"care.category_2", "care", PERIOD_ONCE, FORM_SERVICE, P},
    {"care.category_3", "care", PERIOD_ONCE, FORM_SERVICE, P},
    {"care.caregiver_revoked", "care", PERIOD_ONCE, FORM_SERVICE, P},
};
const int rules_measure_count = (int)(sizeof rules_measures / sizeof rules_measures[0]);

#undef P
#undef H

bool rules_id_known(const char *id)
{
    for (int i = 0; id && i < rules_id_count; i++)
        if (strcmp(rules_ids[i], id) == 0)
            return true;
    return false;
}

const rules_measure_t *rules_measure_find(const char *code)
{
    for (int i = 0; code && i < rules_measure_count; i++)
        if (strcmp(rules_measures[i].code, code) == 0)
            return &rules_measures[i];
    return NULL;
}

bool rules_department_known(const char *name)
{
    for (int i = 0; name && i < rules_department_count; i++)
        if (strcmp(rules_departments[i], name) == 0)
            return true;
    return false;
}
