/* education.c — education aid (教育救助), POLICY.md §7, per student: stage aid
 * for S households, and exemption or hardship grading for orphans, de facto
 * unsupported minors and students of M or O households. */
#include "policy_internal.h"

/* R-EDU-S's measure code and yearly amount for a stage (one of five). */
static const char *edu_stage_code(int stage)
{
    switch (stage) {
    case STAGE_PRESCHOOL: return "education.preschool";
    case STAGE_COMPULSORY: return "education.compulsory";
    case STAGE_SENIOR: return "education.senior";
    case STAGE_VOCATIONAL: return "education.vocational";
    default: return "education.higher";
    }
}

static int64_t edu_stage_fen(int stage, const params_t *p)
{
    switch (stage) {
    case STAGE_PRESCHOOL: return p->P_EDU_PRE;
    case STAGE_COMPULSORY: return p->P_EDU_COMP;
    case STAGE_SENIOR: return p->P_EDU_SENIOR;
    case STAGE_VOCATIONAL: return p->P_EDU_VOC;
    default: return p->P_EDU_HIGHER;
    }
}

/* The kinds of student R-EDU-EXEMPT and R-EDU-GRADE cover: an orphan or de
 * facto unsupported minor (S4/S5: the flags count only for minors), in any
 * household, or any student of an M or O household. */
static bool edu_hardship_kind(const assessment_t *a, int i)
{
    return (a->persons[i].groups & (G_S4 | G_S5)) || a->hh_class == HH_M ||
           a->hh_class == HH_O;
}

void education_decide(const report_t *r, const assessment_t *a, const params_t *p,
                      decision_t *out)
{
    for (int i = 0; i < r->n_members; i++) {
        int stage = r->members[i].school_stage;
        if (stage == STAGE_NONE)
            continue;
        /* R-EDU-S: a student of an S household gets their stage's aid */
        if (a->hh_class == HH_S)
            decision_add(out, "R-EDU-S", edu_stage_code(stage), i, edu_stage_fen(stage, p),
                         PERIOD_YEAR, FORM_CASH);
        if (!edu_hardship_kind(a, i))
            continue;
        /* R-EDU-EXEMPT: compulsory stage → tuition and textbook exemption */
        if (stage == STAGE_COMPULSORY)
            decision_add(out, "R-EDU-EXEMPT", "education.exemption", i, 0, PERIOD_ONCE,
                         FORM_SERVICE);
        /* R-EDU-GRADE: any other stage → the school grades the student */
        else
            decision_add(out, "R-EDU-GRADE", "education.hardship_grading", i, 0, PERIOD_ONCE,
                         FORM_SERVICE);
    }
    decision_close(out, "no education-aid rule applies: no student of an S household, "
                        "no orphan or unsupported minor and no student of an M or O household");
}
