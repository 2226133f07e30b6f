/* policy.h — the county plan as pure functions (POLICY.md).
 *
 * Everything here is free of I/O and global state: plain structs in, plain
 * structs out, so each rule can be table-tested by its id. Eligibility calls
 * assess() and route(); each department service calls its decide function
 * with the stored report, the stored assessment and the parameters in force
 * on the report's as_of date.
 */
#ifndef AID_POLICY_H
#define AID_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* ---- departments (§15) ------------------------------------------------ */
typedef enum {
    DEPT_CIVIL, DEPT_TEMPAID, DEPT_MEDICAL, DEPT_EDUCATION, DEPT_HOUSING,
    DEPT_EMPLOYMENT, DEPT_RELIEF, DEPT_SOCIAL, DEPT_CARE, DEPT_COUNT
} dept_t;

/* "civil", "tempaid", ... in dept_t order. */
extern const char *const policy_dept_names[DEPT_COUNT];
/* dept_t for a name, or -1. */
int policy_dept_from_name(const char *name);

/* ---- county policy parameters (P_… in POLICY.md) ---------------------- */
/* Multipliers, rates and targets are stored in percent (P_LOWINC_MULT 1.5 is
 * 150) so that every computation stays in integers. */
#define POLICY_PARAMS(X)                                  \
    X(P_DIBAO,                70500)  /* fen / month */    \
    X(P_LOWINC_MULT,          150)    /* percent */        \
    X(P_TEKUN_MINOR_AGE,      18)     /* years */          \
    X(P_TEKUN_MULT,           160)    /* percent */        \
    X(P_CARE_FULL,            0)      /* fen / month */    \
    X(P_CARE_SEMI,            30000)  /* fen / month */    \
    X(P_CARE_NONE,            60000)  /* fen / month */    \
    X(P_CENTRAL_TARGET,       60)     /* percent */        \
    X(P_TEMP_EMERG_MULT,      300)    /* percent */        \
    X(P_TEMP_EXPEND_MIN_MULT, 600)    /* percent */        \
    X(P_LOCAL_INCOME_AVG,     250000) /* fen / month */    \
    X(P_TEMP_EXPEND_RATE,     50)     /* percent */        \
    X(P_TEMP_CAP_MULT,        1200)   /* percent */        \
    X(P_MED_RETRO_RATE,       70)     /* percent */        \
    X(P_EDU_PRE,              100000) /* fen / year */     \
    X(P_EDU_COMP,             100000) /* fen / year */     \
    X(P_EDU_SENIOR,           200000) /* fen / year */     \
    X(P_EDU_VOC,              200000) /* fen / year */     \
    X(P_EDU_HIGHER,           600000) /* fen / year */     \
    X(P_CAREGIVER_PASS,       60)     /* score */

typedef struct {
#define X(name, def) int64_t name;
    POLICY_PARAMS(X)
#undef X
} params_t;

/* Fills p with the documented defaults. */
void policy_params_default(params_t *p);
/* Sets the parameter called name; -1 when no such parameter. */
int policy_params_set(params_t *p, const char *name, int64_t value);

/* ---- assessment (§0, §1, §3, §4, §12) --------------------------------- */
/* Group bits, one per code of §1. */
enum {
    G_S1 = 1u << 0, G_S2 = 1u << 1, G_S3 = 1u << 2, G_S4 = 1u << 3, G_S5 = 1u << 4,
    G_S6 = 1u << 5, G_S7 = 1u << 6, G_S8 = 1u << 7, G_S9 = 1u << 8, G_S10 = 1u << 9,
    G_M1 = 1u << 10, G_M2 = 1u << 11, G_O1 = 1u << 12,
    G_S_ANY = 0x3FFu, G_M_ANY = G_M1 | G_M2
};
#define POLICY_GROUP_COUNT 13
/* "S1" … "S10", "M1", "M2", "O1" by bit index. */
extern const char *const policy_group_names[POLICY_GROUP_COUNT];

typedef enum { HH_NONE, HH_S, HH_M, HH_O } hh_class_t;
typedef enum { VISIT_NONE, VISIT_MONTH, VISIT_QUARTER } visit_t;
/* Which supplement of §3 a person won ('A'..'D'), or 0. */
/* The household status the case's entitlements give where the report says
 * otherwise (POLICY.md §17, entitled.c): what the county granted, not what the
 * reporter believes. All zero when the report's status stands. */
typedef struct {
    bool changed;              /* the report's status was replaced */
    int reported_dibao;        /* dibao_t, as reported */
    int dibao;                 /* dibao_t the decisions use */
    uint32_t tekun_on;         /* bit i: member i tekun by entitlement, reported none */
    uint32_t tekun_off;        /* bit i: member i reported tekun, no entitlement */
} entitled_t;

typedef struct {
    int age;                   /* whole years on as_of */
    uint32_t groups;           /* G_* bits */
    int64_t supplement_fen;    /* §3, highest only; 0 when none */
    char supplement_rule;      /* 'A'..'D' or 0 */
    bool supplement_max;       /* qualified under two or more (R-DIBAO-SUP-MAX) */
    int visit;                 /* visit_t, §12 */
    int care_category;         /* 0 none, 1..3, §12 */
} person_facts_t;

typedef struct {
    int n;                                   /* == report n_members */
    person_facts_t persons[REPORT_MAX_MEMBERS];
    int hh_class;                            /* hh_class_t */
    int64_t per_capita_income_fen;           /* integer division */
    bool low_income;                         /* §0 low-income household */
    uint32_t routing;                        /* bit (1u << dept_t) per department owed a referral */
    entitled_t entitled;                     /* status from entitlements (entitled.c) */
} assessment_t;

/* Compares report r with its case's entitlements in force (dibao: a dibao
 * allowance or supplement; tekun: bit i for member i with tekun support or a
 * care allowance) and fills out with the status the decisions use: dibao when
 * entitled (the reported level, else full when the per-capita income is 0, else
 * partial), none when not; a member tekun (dispersed unless reported
 * centralized) when entitled, none when not. Then applies it to r. */
void policy_entitled(report_t *r, bool dibao, uint32_t tekun, entitled_t *out);
/* Applies a stored entitled_t to the report it was computed for (no-op unless changed). */
void policy_entitled_apply(report_t *r, const entitled_t *e);
/* Writes e's note ("status from entitlements: dibao full (reported: none)") into
 * buf of size n; "" when unchanged. */
void policy_entitled_note(const entitled_t *e, char *buf, size_t n);

/* Computes the assessment of report r under parameters p (as_of must be set). */
void policy_assess(const report_t *r, const params_t *p, assessment_t *a);

/* ---- decisions -------------------------------------------------------- */
/* status_t, period_t, form_t and their words: proto/names.h */

#define DECISION_MAX_MEASURES 160
#define DECISION_MAX_RULES 48
#define MEASURE_CODE_MAX 48

typedef struct {
    char code[MEASURE_CODE_MAX];  /* e.g. "tempaid.emergency_cash" */
    int person;                   /* index into report members, -1 for the household */
    int64_t amount_fen;           /* cash measures; 0 otherwise */
    int period;                   /* period_t */
    int form;                     /* form_t */
} measure_t;

typedef struct {
    int status;                            /* status_t */
    char reason[PROTO_STR_MAX + 1];
    int n_measures;
    measure_t measures[DECISION_MAX_MEASURES];
    int n_rules;
    const char *rules[DECISION_MAX_RULES]; /* static strings, e.g. "R-TEMP-EMERG" */
} decision_t;

/* Decides what department d owes the household of report r. Fills out (it is
 * reset first). Status is GRANTED with at least one measure, else DENIED with
 * a reason. */
void policy_decide(dept_t d, const report_t *r, const assessment_t *a,
                   const params_t *p, decision_t *out);

/* What the confirmation of a review grants (POLICY.md §17, grant.c): for a
 * civil.dibao_review measure of proposal, R-DIBAO-GRANT's monthly allowance
 * (per member P_DIBAO minus the per-capita income, at least min_rate_pct of
 * P_DIBAO); for each civil.tekun_review, R-TEKUN-GRANT's monthly support
 * (R-TEKUN-STD + R-TEKUN-CARE) of that person. Fills out (reset first). */
void policy_grant(const report_t *r, const assessment_t *a, const decision_t *proposal,
                  const params_t *p, int64_t min_rate_pct, decision_t *out);

#endif
