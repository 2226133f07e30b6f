/* test_policy.c — table tests of the pure policy library (services/policy)
 * against POLICY.md.
 *
 * Each row builds one report in C, assesses it under the default parameters
 * (or tuned ones) and checks one fact: a measure with its exact amount,
 * period and form and the rule it cites; the absence of a measure (the
 * boundary cases); a group of §1; a denial; the routing of §15. Rows are
 * named by the rule id they test, so a failure names the rule. After the
 * rows, a sweep checks the invariants every decision of every row's report
 * must keep (routing agrees with the decisions, status with the measures).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "assessment_codec.h"
#include "idcard.h"
#include "policy.h"

/* Every report is seen on this day; ages below are whole years on it. */
#define AS_OF 20250615
/* Each member earns this by default, so a household is ordinary (neither
 * poor nor low-income) unless a row lowers it. */
#define ORDINARY_INCOME 200000

/* ---- building reports ------------------------------------------------------ */

/* A valid ID number for birth: area 520123, a sequence number, and the check
 * character computed per POLICY.md §0 (independently of common/idcard.c). */
static void id_make(aid_date_t birth, int seq, char out[19])
{
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    char buf[32];
    snprintf(buf, sizeof buf, "520123%08d%03d", (int)birth, seq % 1000);
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (buf[i] - '0') * weights[i];
    memcpy(out, buf, 17);
    out[17] = check[sum % 11];
    out[18] = '\0';
}

static void report_base(report_t *r)
{
    memset(r, 0, sizeof *r);
    r->as_of = AS_OF;
    snprintf(r->county, sizeof r->county, "520123");
    snprintf(r->township, sizeof r->township, "520123100");
    snprintf(r->village, sizeof r->village, "520123100001");
}

/* A member born on birth: local hukou, ordinary income, full self-care. */
static member_t *add_born(report_t *r, aid_date_t birth)
{
    int i = r->n_members++;
    member_t *m = &r->members[i];
    memset(m, 0, sizeof *m);
    id_make(birth, i + 1, m->id_number);
    snprintf(m->name, sizeof m->name, "member %d", i);
    m->relation = i == 0 ? REL_HEAD : REL_OTHER;
    m->hukou_local = true;
    m->monthly_income_fen = ORDINARY_INCOME;
    return m;
}

/* A member whose birthday is AS_OF: exactly age years old that day. */
static member_t *add(report_t *r, int age)
{
    return add_born(r, date_make(DATE_Y(AS_OF) - age, DATE_M(AS_OF), DATE_D(AS_OF)));
}

static void circ(report_t *r, int kind, int64_t expense_fen)
{
    circumstance_t *c = &r->circumstances[r->n_circumstances++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->expense_fen = expense_fen;
}

static void dibao(report_t *r, int level)
{
    report_base(r);
    r->status.dibao = level;
}

/* ---- §0 / §1 reports ---------------------------------------------------------- */

static void b_ordinary(report_t *r) { report_base(r); add(r, 40); }
static void b_dibao_adult(report_t *r) { dibao(r, DIBAO_PARTIAL); add(r, 40); }
static void b_tekun_and_relative(report_t *r)
{
    report_base(r);
    add(r, 70)->tekun = TEKUN_DISPERSED;
    add(r, 45);
}
static void b_retired_1960s(report_t *r) { report_base(r); add(r, 85)->retired_1960s = true; }
static void b_orphan_17(report_t *r) { report_base(r); add(r, 17)->orphan = true; }
static void b_orphan_18(report_t *r) { report_base(r); add(r, 18)->orphan = true; }
static void b_unsupported_10(report_t *r) { report_base(r); add(r, 10)->unsupported_minor = true; }
static void b_unsupported_30(report_t *r) { report_base(r); add(r, 30)->unsupported_minor = true; }
static void b_left_behind_minor(report_t *r)
{
    report_base(r);
    add(r, 12)->left_behind = true;
    add(r, 40);
}
static void b_difficulty_minor(report_t *r)
{
    report_base(r);
    add(r, 12)->minor_in_difficulty = true;
}
static void b_left_behind_elderly(report_t *r) { report_base(r); add(r, 72)->left_behind = true; }
static void b_left_behind_adult(report_t *r) { report_base(r); add(r, 40)->left_behind = true; }
static void b_lowinc_elderly_60(report_t *r) { report_base(r); add(r, 60)->monthly_income_fen = 0; }
static void b_lowinc_elderly_59(report_t *r)
{
    report_base(r);
    add_born(r, 19650616)->monthly_income_fen = 0; /* 60 tomorrow */
}
static void b_lowinc_minor(report_t *r)
{
    report_base(r);
    add(r, 40)->monthly_income_fen = 0;
    add(r, 10)->monthly_income_fen = 0;
}
static void b_lowinc_ill(report_t *r)
{
    report_base(r);
    member_t *m = add(r, 40);
    m->monthly_income_fen = 0;
    m->serious_illness = true;
}
static void b_lowinc_grade(report_t *r, int grade)
{
    report_base(r);
    member_t *m = add(r, 40);
    m->monthly_income_fen = 0;
    m->disability_grade = grade;
    m->disability_kind = DISKIND_PHYSICAL;
}
static void b_lowinc_grade2(report_t *r) { b_lowinc_grade(r, 2); }
static void b_lowinc_grade3(report_t *r) { b_lowinc_grade(r, 3); }
/* Per capita (211500 + 0) / 2 = 105750 = 1.5 × P_DIBAO: not below. */
static void b_percap_at_lowinc(report_t *r)
{
    report_base(r);
    add(r, 65)->monthly_income_fen = 211500;
    add(r, 40)->monthly_income_fen = 0;
}
/* Per capita 211499 / 2 = 105749 (integer division): below. */
static void b_percap_below_lowinc(report_t *r)
{
    report_base(r);
    add(r, 65)->monthly_income_fen = 211499;
    add(r, 40)->monthly_income_fen = 0;
}
static void b_lowinc_flag(report_t *r)
{
    report_base(r);
    r->status.low_income = true;
    add(r, 65)->monthly_income_fen = 300000;
}
static void b_dibao_elderly_poor(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    add(r, 65)->monthly_income_fen = 0;
}
static void b_m1_disaster(report_t *r) { report_base(r); add(r, 40); circ(r, CIRC_DISASTER, 0); }
static void b_m1_illness(report_t *r)
{
    report_base(r);
    add(r, 40);
    add(r, 12);
    circ(r, CIRC_ILLNESS, 50000);
}
static void b_illness_no_expense(report_t *r)
{
    report_base(r);
    add(r, 40);
    circ(r, CIRC_ILLNESS, 0);
}
static void b_dibao_disaster(report_t *r) { b_dibao_adult(r); circ(r, CIRC_DISASTER, 0); }
static void b_m2_worker(report_t *r)
{
    report_base(r);
    add(r, 40)->dept_recognized = DEPTREC_HARDSHIP_WORKER;
    add(r, 38);
}
static void b_o1_accident(report_t *r) { report_base(r); add(r, 40); circ(r, CIRC_ACCIDENT, 0); }
static void b_o1_one_outsider(report_t *r)
{
    report_base(r);
    add(r, 40);
    add(r, 38)->hukou_local = false;
    circ(r, CIRC_ACCIDENT, 0);
}
static void b_o1_permit(report_t *r)
{
    report_base(r);
    member_t *m = add(r, 40);
    m->hukou_local = false;
    m->residence_permit = true;
    circ(r, CIRC_DEATH, 0);
}
static void b_urgent_other(report_t *r)
{
    b_ordinary(r);
    r->urgency = URGENCY_URGENT;
    circ(r, CIRC_OTHER, 0);
}
static void b_normal_other(report_t *r) { b_ordinary(r); circ(r, CIRC_OTHER, 0); }

/* ---- §2 reports ------------------------------------------------------------- */

static void b_poor_pair(report_t *r)
{
    report_base(r);
    add(r, 40)->monthly_income_fen = 30000;
    add(r, 38)->monthly_income_fen = 40000; /* per capita 35000 */
}
static void b_poor_at_standard(report_t *r)
{
    report_base(r);
    add(r, 40)->monthly_income_fen = 70500;
    add(r, 38)->monthly_income_fen = 70500;
}
static void b_poor_permit_only(report_t *r)
{
    b_poor_pair(r);
    for (int i = 0; i < r->n_members; i++) {
        r->members[i].hukou_local = false;
        r->members[i].residence_permit = true;
    }
}
static void b_dibao_poor(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    add(r, 40)->monthly_income_fen = 0;
}
static void b_poor_with_tekun(report_t *r)
{
    report_base(r);
    member_t *m = add(r, 70);
    m->tekun = TEKUN_DISPERSED;
    m->monthly_income_fen = 0;
    add(r, 65)->monthly_income_fen = 0; /* poor and elderly, yet not S7 */
}
static member_t *add_unsupported(report_t *r, int age, int64_t income)
{
    member_t *m = add(r, age);
    m->monthly_income_fen = income;
    m->no_supporter = true;
    return m;
}
static void b_elderly_alone(report_t *r) { report_base(r); add_unsupported(r, 70, 0); }
static void b_elderly_with_son(report_t *r)
{
    report_base(r);
    add_unsupported(r, 70, 0);
    add(r, 40)->monthly_income_fen = 30000; /* per capita 15000 */
}
static void b_grade1_three_nos(report_t *r)
{
    report_base(r);
    member_t *m = add(r, 40);
    m->monthly_income_fen = 0;
    m->disability_grade = 1;
    m->disability_kind = DISKIND_PHYSICAL;
    m->three_nos = true;
}
static void b_grade3_kind(report_t *r, int kind)
{
    report_base(r);
    member_t *m = add_unsupported(r, 40, 0);
    m->disability_grade = 3;
    m->disability_kind = kind;
}
static void b_grade3_intellectual(report_t *r) { b_grade3_kind(r, DISKIND_INTELLECTUAL); }
static void b_grade3_mental(report_t *r) { b_grade3_kind(r, DISKIND_MENTAL); }
static void b_grade3_physical(report_t *r) { b_grade3_kind(r, DISKIND_PHYSICAL); }
static void b_minor17_unsupported(report_t *r) { report_base(r); add_unsupported(r, 17, 0); }
static void b_orphan_unsupported(report_t *r)
{
    report_base(r);
    add_unsupported(r, 10, 0)->orphan = true;
}
static void b_elderly_permit_alone(report_t *r)
{
    report_base(r);
    member_t *m = add_unsupported(r, 70, 0);
    m->hukou_local = false;
    m->residence_permit = true;
}
static void b_elderly_income_at_dibao(report_t *r)
{
    report_base(r);
    add_unsupported(r, 70, 70500);
}
static void b_elderly_income_below_dibao(report_t *r)
{
    report_base(r);
    add_unsupported(r, 70, 70499);
}
static void b_adult_unsupported(report_t *r) { report_base(r); add_unsupported(r, 40, 0); }
static void b_dibao_elderly_alone(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    add_unsupported(r, 70, 0);
}
static void b_tekun_elderly_alone(report_t *r)
{
    report_base(r);
    add_unsupported(r, 70, 0)->tekun = TEKUN_DISPERSED;
}
static void b_relocation(report_t *r, bool site, int64_t income)
{
    dibao(r, DIBAO_PARTIAL);
    r->status.relocation_site = site;
    add(r, 40)->monthly_income_fen = income;
}
static void b_relocation_reached(report_t *r) { b_relocation(r, true, 70500); }
static void b_relocation_below(report_t *r) { b_relocation(r, true, 70499); }
static void b_no_relocation_reached(report_t *r) { b_relocation(r, false, 70500); }

/* ---- §3 and §4 reports ------------------------------------------------------- */

static void b_sup_three_nos(report_t *r) { dibao(r, DIBAO_PARTIAL); add(r, 40)->three_nos = true; }
static void b_sup_single_parent(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    r->status.single_parent = true;
    add(r, 35);
    add(r, 4);
}
static void b_sup_disabled_elderly(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    add(r, 70)->disability_grade = 4; /* A (disabled elderly), B (elderly), D */
}
static void b_sup_elderly(report_t *r) { dibao(r, DIBAO_PARTIAL); add(r, 65); }
static void b_sup_student(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    add(r, 40);
    add(r, 10)->school_stage = STAGE_COMPULSORY;
}
static void b_sup_one_child(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    r->status.one_child = true;
    add(r, 40);
}
static void b_sup_two_daughter(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    r->status.two_daughter = true;
    add(r, 40);
}
static void b_sup_grade3(report_t *r) { dibao(r, DIBAO_PARTIAL); add(r, 40)->disability_grade = 3; }
static void b_sup_elderly_one_child(report_t *r) { b_sup_one_child(r); add(r, 65); }
static void b_sup_student_single_parent(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    r->status.single_parent = true;
    add(r, 10)->school_stage = STAGE_COMPULSORY;
}
static void b_sup_one_child_grade3(report_t *r)
{
    b_sup_one_child(r);
    r->members[0].disability_grade = 3;
}

static void b_tekun(report_t *r, int tekun, int self_care)
{
    report_base(r);
    member_t *m = add(r, 70);
    m->tekun = tekun;
    m->self_care = self_care;
}
static void b_tekun_dispersed_full(report_t *r) { b_tekun(r, TEKUN_DISPERSED, SELFCARE_FULL); }
static void b_tekun_dispersed_semi(report_t *r) { b_tekun(r, TEKUN_DISPERSED, SELFCARE_SEMI); }
static void b_tekun_dispersed_none(report_t *r) { b_tekun(r, TEKUN_DISPERSED, SELFCARE_NONE); }
static void b_tekun_central_none(report_t *r) { b_tekun(r, TEKUN_CENTRALIZED, SELFCARE_NONE); }
static void b_tekun_central_semi(report_t *r) { b_tekun(r, TEKUN_CENTRALIZED, SELFCARE_SEMI); }

/* ---- §5 reports -------------------------------------------------------------- */

static void b_emerg_3(report_t *r)
{
    report_base(r);
    r->urgency = URGENCY_URGENT;
    add(r, 40);
    add(r, 38);
    add(r, 10);
    circ(r, CIRC_ACCIDENT, 0);
}
static void b_emerg_1(report_t *r)
{
    b_ordinary(r);
    r->urgency = URGENCY_URGENT;
    circ(r, CIRC_ILLNESS, 0);
}
static void b_accident_normal(report_t *r) { b_ordinary(r); circ(r, CIRC_ACCIDENT, 0); }
static void b_urgent_unemployment(report_t *r)
{
    b_ordinary(r);
    r->urgency = URGENCY_URGENT;
    circ(r, CIRC_UNEMPLOYMENT, 0);
}
/* An outsider: no hukou, no permit, months_working_locally as given. */
static void b_emerg_outsider(report_t *r, int64_t months, bool permit)
{
    report_base(r);
    r->urgency = URGENCY_URGENT;
    member_t *m = add(r, 40);
    m->hukou_local = false;
    m->residence_permit = permit;
    m->months_working_locally = months;
    circ(r, CIRC_ACCIDENT, 0);
}
static void b_emerg_months_6(report_t *r) { b_emerg_outsider(r, 6, false); }
static void b_emerg_months_7(report_t *r) { b_emerg_outsider(r, 7, false); }
static void b_emerg_permit(report_t *r) { b_emerg_outsider(r, 0, true); }
static void b_expend(report_t *r, int n, int64_t income, int64_t illness)
{
    report_base(r);
    for (int i = 0; i < n; i++)
        add(r, 40 - i)->monthly_income_fen = income;
    circ(r, CIRC_ILLNESS, illness);
}
/* 6 × 70500 × 2 = 846000 exactly: at least the minimum. */
static void b_expend_at_min(report_t *r) { b_expend(r, 2, 0, 846000); }
static void b_expend_below_min(report_t *r) { b_expend(r, 2, 0, 845999); }
static void b_expend_cap(report_t *r) { b_expend(r, 1, 0, 2000000); }
static void b_expend_income_at_avg(report_t *r) { b_expend(r, 1, 250000, 1000000); }
static void b_expend_income_below_avg(report_t *r) { b_expend(r, 1, 249999, 1000000); }
static void b_expend_half_fen(report_t *r) { b_expend(r, 1, 0, 423001); }
static void b_expend_sum(report_t *r)
{
    b_expend(r, 1, 0, 300000);
    circ(r, CIRC_SCHOOLING, 123000); /* 423000 in all = 6 × 70500 */
}
static void b_expend_accident(report_t *r)
{
    b_expend(r, 1, 0, 0);
    circ(r, CIRC_ACCIDENT, 1000000);
}
static void b_emerg_and_expend(report_t *r)
{
    b_expend(r, 1, 0, 1000000);
    r->urgency = URGENCY_URGENT;
}

/* ---- §6–§11 reports ------------------------------------------------------------ */

static void b_dibao_pair(report_t *r) { dibao(r, DIBAO_PARTIAL); add(r, 40); add(r, 38); }
static void b_m1_ill(report_t *r)
{
    report_base(r);
    add(r, 40)->serious_illness = true;
    circ(r, CIRC_ILLNESS, 50000);
}
static void b_o1_ill(report_t *r) { b_o1_accident(r); r->members[0].serious_illness = true; }
static void b_ill_no_group(report_t *r) { b_ordinary(r); r->members[0].serious_illness = true; }
/* R-VISIT-SYMPTOM: a visit finds suspected epidemic symptoms (visit.record
 * files this report); the same report from the hotline is no visit. */
static void b_visit_epidemic(report_t *r)
{
    b_tekun_and_relative(r);
    r->source = SOURCE_VISIT;
    circ(r, CIRC_EPIDEMIC, 0);
}
static void b_hotline_epidemic(report_t *r) { b_visit_epidemic(r); r->source = SOURCE_HOTLINE; }

static void b_dibao_student(report_t *r, int age, int stage)
{
    dibao(r, DIBAO_PARTIAL);
    add(r, 45);
    add(r, age)->school_stage = stage;
}
static void b_edu_pre(report_t *r) { b_dibao_student(r, 5, STAGE_PRESCHOOL); }
static void b_edu_comp(report_t *r) { b_dibao_student(r, 10, STAGE_COMPULSORY); }
static void b_edu_senior(report_t *r) { b_dibao_student(r, 16, STAGE_SENIOR); }
static void b_edu_voc(report_t *r) { b_dibao_student(r, 17, STAGE_VOCATIONAL); }
static void b_edu_higher(report_t *r) { b_dibao_student(r, 20, STAGE_HIGHER); }
static void b_orphan_student(report_t *r, int age, int stage)
{
    report_base(r);
    add(r, 66); /* a grandparent of ordinary income */
    member_t *m = add(r, age);
    m->orphan = true;
    m->school_stage = stage;
}
static void b_orphan_comp(report_t *r) { b_orphan_student(r, 10, STAGE_COMPULSORY); }
static void b_orphan_senior(report_t *r) { b_orphan_student(r, 16, STAGE_SENIOR); }
static void b_orphan_adult_higher(report_t *r) { b_orphan_student(r, 19, STAGE_HIGHER); }
static void b_event_student(report_t *r, int kind, int age, int stage)
{
    report_base(r);
    add(r, 40);
    add(r, age)->school_stage = stage;
    circ(r, kind, 0);
}
static void b_m_comp(report_t *r) { b_event_student(r, CIRC_DISASTER, 10, STAGE_COMPULSORY); }
static void b_o_comp(report_t *r) { b_event_student(r, CIRC_ACCIDENT, 10, STAGE_COMPULSORY); }
static void b_m_senior(report_t *r) { b_event_student(r, CIRC_DISASTER, 16, STAGE_SENIOR); }

static void b_housed(report_t *r, int level, int housing)
{
    dibao(r, level);
    r->housing = housing;
    add(r, 40);
}
static void b_dibao_renting(report_t *r) { b_housed(r, DIBAO_PARTIAL, HOUSING_RENTING); }
static void b_dibao_owned(report_t *r) { b_housed(r, DIBAO_PARTIAL, HOUSING_OWNED); }
static void b_dibao_housing_loss(report_t *r) { b_dibao_owned(r); circ(r, CIRC_HOUSING_LOSS, 0); }
static void b_fulldibao_renting(report_t *r) { b_housed(r, DIBAO_FULL, HOUSING_RENTING); }
static void b_fulldibao_public(report_t *r) { b_housed(r, DIBAO_FULL, HOUSING_PUBLIC_RENTAL); }
static void b_partial_public(report_t *r) { b_housed(r, DIBAO_PARTIAL, HOUSING_PUBLIC_RENTAL); }
static void b_m_damaged(report_t *r) { b_m1_disaster(r); r->housing = HOUSING_DAMAGED; }
static void b_o_dangerous(report_t *r) { b_o1_accident(r); r->housing = HOUSING_DANGEROUS; }

static member_t *add_seeker(report_t *r, int age)
{
    member_t *m = add(r, age);
    m->labor_capacity = true;
    m->wants_work = true;
    return m;
}
static void b_dibao_seeker(report_t *r, int age) { dibao(r, DIBAO_PARTIAL); add_seeker(r, age); }
static void b_dibao_seeker_30(report_t *r) { b_dibao_seeker(r, 30); }
static void b_dibao_seeker_59(report_t *r) { b_dibao_seeker(r, 59); }
static void b_dibao_seeker_60(report_t *r) { b_dibao_seeker(r, 60); }
static void b_dibao_seeker_employed(report_t *r)
{
    b_dibao_seeker(r, 30);
    r->members[0].employed = true;
}
static void b_dibao_seeker_no_capacity(report_t *r)
{
    b_dibao_seeker(r, 30);
    r->members[0].labor_capacity = false;
}
static void b_m_seeker(report_t *r)
{
    report_base(r);
    add_seeker(r, 30);
    circ(r, CIRC_DISASTER, 0);
}
static void b_o_seeker(report_t *r)
{
    report_base(r);
    add_seeker(r, 30);
    circ(r, CIRC_ACCIDENT, 0);
}
static void b_zero(report_t *r, bool urban)
{
    report_base(r);
    r->urban = urban;
    add(r, 30)->labor_capacity = true;
    add(r, 28)->labor_capacity = true;
}
static void b_zero_urban(report_t *r) { b_zero(r, true); }
static void b_zero_rural(report_t *r) { b_zero(r, false); }
static void b_zero_one_employed(report_t *r) { b_zero(r, true); r->members[1].employed = true; }
static void b_zero_no_hukou(report_t *r)
{
    b_zero(r, true);
    for (int i = 0; i < r->n_members; i++) {
        r->members[i].hukou_local = false;
        r->members[i].residence_permit = true;
    }
}
static void b_zero_elderly_only(report_t *r)
{
    report_base(r);
    r->urban = true;
    add(r, 70);
    add(r, 68);
}

static void b_dibao_semi(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    add(r, 70)->self_care = SELFCARE_SEMI;
}
static void b_semi_no_group(report_t *r) { report_base(r); add(r, 70)->self_care = SELFCARE_SEMI; }

/* ---- §12 reports ------------------------------------------------------------- */

static void b_orphan_ill(report_t *r)
{
    report_base(r);
    member_t *m = add(r, 10);
    m->orphan = true;
    m->serious_illness = true;
    add(r, 65);
}
static void b_dibao_death(report_t *r) { b_dibao_adult(r); circ(r, CIRC_DEATH, 0); }
static void b_dibao_two_severe(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    add(r, 40)->disability_grade = 1;
    add(r, 38)->serious_illness = true;
    add(r, 12);
}
static void b_dibao_one_severe(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    add(r, 40)->disability_grade = 1;
    add(r, 38);
}
static void b_left_behind_with(report_t *r, int age, int self_care)
{
    report_base(r);
    add(r, 10)->left_behind = true;
    add(r, age)->self_care = self_care;
}
static void b_lb_minor_grandparent_70(report_t *r) { b_left_behind_with(r, 70, SELFCARE_FULL); }
static void b_lb_minor_grandparent_69(report_t *r) { b_left_behind_with(r, 69, SELFCARE_FULL); }
static void b_lb_minor_parent_semi(report_t *r) { b_left_behind_with(r, 40, SELFCARE_SEMI); }
static void b_tekun_semi_dibao_death(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    member_t *m = add(r, 70);
    m->tekun = TEKUN_DISPERSED;
    m->self_care = SELFCARE_SEMI;
    circ(r, CIRC_DEATH, 0);
}
static void b_poor_single(report_t *r) { report_base(r); add(r, 40)->monthly_income_fen = 30000; }

/* ---- parameter tunings --------------------------------------------------------- */

static void t_dibao_70510(params_t *p) { p->P_DIBAO = 70510; }
static void t_dibao_70501(params_t *p) { p->P_DIBAO = 70501; }
static void t_dibao_40000(params_t *p) { p->P_DIBAO = 40000; }
static void t_tekun_minor_16(params_t *p) { p->P_TEKUN_MINOR_AGE = 16; }
static void t_care_full_10000(params_t *p) { p->P_CARE_FULL = 10000; }
static void t_med_retro_50(params_t *p) { p->P_MED_RETRO_RATE = 50; }

/* ---- triggers (PROTOCOL.md trigger.submit; the reports the system files) ------------- */

static void trigger(report_t *r, const char *kind)
{
    r->source = SOURCE_DEPARTMENT;
    snprintf(r->trigger, sizeof r->trigger, "%s", kind);
}
/* A dibao household (S1) in a declared area: no urgency, no circumstance. */
static void b_trigger_disaster(report_t *r)
{
    dibao(r, DIBAO_PARTIAL);
    add(r, 40);
    add(r, 12);
    trigger(r, "disaster");
}
/* The report the trigger worker files: urgent, a disaster circumstance. */
static void b_trigger_disaster_filed(report_t *r)
{
    b_trigger_disaster(r);
    r->urgency = URGENCY_URGENT;
    circ(r, CIRC_DISASTER, 0);
}
/* The same household filed as an urgent disaster report by a person. */
static void b_disaster_report_no_trigger(report_t *r)
{
    b_trigger_disaster_filed(r);
    r->trigger[0] = '\0';
}
/* Two working-age adults on income each (a low-income but not S household):
 * the medical insurance bureau settled expense over months. */
static void b_med_retro_base(report_t *r, int64_t income, int64_t expense, int months)
{
    report_base(r);
    add(r, 40)->monthly_income_fen = income;
    add(r, 38)->monthly_income_fen = income;
    circ(r, CIRC_ILLNESS, expense);
    r->circumstances[0].occurred_on = date_add_months(AS_OF, -months);
    trigger(r, "medical_expense");
}
/* 600000 over 6 months: 100000 a month; (160000 - 100000) / 2 < P_DIBAO. */
static void b_med_retro(report_t *r) { b_med_retro_base(r, 80000, 600000, 6); }
/* 12 months: only the last 6 count, 600000 of 1200000. */
static void b_med_retro_12_months(report_t *r) { b_med_retro_base(r, 80000, 1200000, 12); }
/* 700001 over 7 months: 6/7 of it is 600000.86 → 600001; 70% → 420000.7 → 420001. */
static void b_med_retro_rounding(report_t *r) { b_med_retro_base(r, 80000, 700001, 7); }
/* (400000 - 100000) / 2 = 150000: not below the dibao line after the expense. */
static void b_med_retro_income_high(report_t *r) { b_med_retro_base(r, 200000, 600000, 6); }
/* Already on dibao: not newly recognized, and an S household. */
static void b_med_retro_dibao(report_t *r)
{
    b_med_retro(r);
    r->status.dibao = DIBAO_PARTIAL;
}
/* The same illness reported by a person: no settled expenses, no R-MED-RETRO. */
static void b_med_retro_no_trigger(report_t *r)
{
    b_med_retro(r);
    r->trigger[0] = '\0';
    r->source = SOURCE_VISIT;
}

/* ---- the table ------------------------------------------------------------------ */

typedef enum {
    K_MEASURE,    /* exactly one measure (code, person) with amount, period, form; rule cited */
    K_NO_MEASURE, /* no measure code for person (ANY: anyone); rule (if any) not cited */
    K_DENIED,     /* status denied, reason contains code, rule (if any) cited */
    K_GROUP,      /* persons[person].groups has every bit */
    K_NO_GROUP,   /* persons[person].groups has none of the bits */
    K_CLASS,      /* hh_class == bits */
    K_ROUTED,     /* routing has every bit */
    K_NOT_ROUTED, /* routing has none of the bits */
    K_ROUTING,    /* routing == bits */
} kind_t;

#define ANY (-2)
#define HH (-1)

typedef struct {
    const char *name;
    void (*build)(report_t *r);
    void (*tune)(params_t *p); /* NULL: defaults */
    kind_t kind;
    int dept;
    const char *code;
    int person;
    int64_t amount;
    int period, form;
    const char *rule;
    uint32_t bits;
} row_t;

#define MEASURE_T(n, b, t, d, c, who, amt, per, frm, rl)                                   \
    {.name = #n, .build = b, .tune = t, .kind = K_MEASURE, .dept = d, .code = c,          \
     .person = who, .amount = amt, .period = per, .form = frm, .rule = rl}
#define MEASURE(n, b, d, c, who, amt, per, frm, rl) \
    MEASURE_T(n, b, NULL, d, c, who, amt, per, frm, rl)
#define NO_MEASURE_T(n, b, t, d, c, who, rl)                                                \
    {.name = #n, .build = b, .tune = t, .kind = K_NO_MEASURE, .dept = d, .code = c,       \
     .person = who, .rule = rl}
#define NO_MEASURE(n, b, d, c, who, rl) NO_MEASURE_T(n, b, NULL, d, c, who, rl)
#define DENIED(n, b, d, why, rl) \
    {.name = #n, .build = b, .kind = K_DENIED, .dept = d, .code = why, .rule = rl}
#define GROUP(n, b, who, g) {.name = #n, .build = b, .kind = K_GROUP, .person = who, .bits = g}
#define NO_GROUP(n, b, who, g) \
    {.name = #n, .build = b, .kind = K_NO_GROUP, .person = who, .bits = g}
#define CLASS(n, b, c) {.name = #n, .build = b, .kind = K_CLASS, .bits = c}
#define ROUTED(n, b, m) {.name = #n, .build = b, .kind = K_ROUTED, .bits = m}
#define NOT_ROUTED(n, b, m) {.name = #n, .build = b, .kind = K_NOT_ROUTED, .bits = m}
#define ROUTING(n, b, m) {.name = #n, .build = b, .kind = K_ROUTING, .bits = m}

#define BIT(d) (1u << (d))
#define ONCE PERIOD_ONCE
#define MONTH PERIOD_MONTH
#define QUARTER PERIOD_QUARTER
#define YEAR PERIOD_YEAR
#define CASH FORM_CASH
#define KIND FORM_IN_KIND
#define SERVICE FORM_SERVICE

static const row_t rows[] = {
    /* §0 / §1 who is covered */
    GROUP(R_SCOPE_S1_dibao_member, b_dibao_adult, 0, G_S1),
    GROUP(R_SCOPE_S2_tekun_person, b_tekun_and_relative, 0, G_S2),
    NO_GROUP(R_SCOPE_S2_per_person_not_household, b_tekun_and_relative, 1, G_S_ANY),
    GROUP(R_SCOPE_S3_retired_1960s, b_retired_1960s, 0, G_S3),
    GROUP(R_SCOPE_S4_orphan_aged_17, b_orphan_17, 0, G_S4),
    NO_GROUP(R_SCOPE_S4_orphan_flag_on_adult_18_not_counted, b_orphan_18, 0, G_S_ANY),
    GROUP(R_SCOPE_S5_unsupported_minor, b_unsupported_10, 0, G_S5),
    NO_GROUP(R_SCOPE_S5_unsupported_flag_on_adult_not_counted, b_unsupported_30, 0, G_S_ANY),
    GROUP(R_SCOPE_S6_left_behind_minor, b_left_behind_minor, 0, G_S6),
    GROUP(R_SCOPE_S6_minor_in_difficulty, b_difficulty_minor, 0, G_S6),
    NO_GROUP(R_SCOPE_S6_left_behind_elderly_in_no_S_group, b_left_behind_elderly, 0, G_S_ANY),
    NO_GROUP(R_SCOPE_S6_left_behind_adult_not_counted, b_left_behind_adult, 0, G_S_ANY),
    GROUP(R_SCOPE_S7_elderly_aged_60_low_income, b_lowinc_elderly_60, 0, G_S7),
    NO_GROUP(R_SCOPE_S7_aged_59_on_as_of_not_elderly, b_lowinc_elderly_59, 0, G_S7),
    NO_GROUP(R_SCOPE_S7_per_capita_at_lowinc_threshold_not_low, b_percap_at_lowinc, 0, G_S7),
    GROUP(R_SCOPE_S7_per_capita_one_fen_below_threshold, b_percap_below_lowinc, 0, G_S7),
    GROUP(R_SCOPE_S7_low_income_flag_whatever_income, b_lowinc_flag, 0, G_S7),
    NO_GROUP(R_SCOPE_S7_dibao_household_is_not_low_income, b_dibao_elderly_poor, 0, G_S7),
    NO_GROUP(R_SCOPE_S7_tekun_household_is_not_low_income, b_poor_with_tekun, 1, G_S_ANY),
    GROUP(R_SCOPE_S8_minor_low_income, b_lowinc_minor, 1, G_S8),
    NO_GROUP(R_SCOPE_S8_adult_low_income_not_S8, b_lowinc_minor, 0, G_S_ANY),
    GROUP(R_SCOPE_S9_seriously_ill_low_income, b_lowinc_ill, 0, G_S9),
    GROUP(R_SCOPE_S10_grade_2_low_income, b_lowinc_grade2, 0, G_S10),
    NO_GROUP(R_SCOPE_S10_grade_3_not_severe, b_lowinc_grade3, 0, G_S_ANY),
    GROUP(R_SCOPE_M1_disaster, b_m1_disaster, 0, G_M1),
    GROUP(R_SCOPE_M1_illness_expense_every_member, b_m1_illness, 1, G_M1),
    NO_GROUP(R_SCOPE_M1_illness_without_expense, b_illness_no_expense, 0, G_M1),
    NO_GROUP(R_SCOPE_M1_not_for_S_person, b_dibao_disaster, 0, G_M_ANY),
    GROUP(R_SCOPE_M2_hardship_worker, b_m2_worker, 0, G_M2),
    NO_GROUP(R_SCOPE_M2_only_the_recognized_person, b_m2_worker, 1, G_M2),
    CLASS(R_SCOPE_M2_household_is_M, b_m2_worker, HH_M),
    GROUP(R_SCOPE_O1_accident_local_hukou, b_o1_accident, 0, G_O1),
    NO_GROUP(R_SCOPE_O1_member_without_hukou_or_permit, b_o1_one_outsider, 1, G_O1),
    GROUP(R_SCOPE_O1_residence_permit_death, b_o1_permit, 0, G_O1),
    GROUP(R_SCOPE_O1_any_circumstance_when_urgent, b_urgent_other, 0, G_O1),
    NO_GROUP(R_SCOPE_O1_other_circumstance_not_urgent, b_normal_other, 0, G_O1),
    NO_GROUP(R_SCOPE_O1_not_for_M_person, b_m1_disaster, 0, G_O1),
    CLASS(R_SCOPE_household_class_S, b_tekun_and_relative, HH_S),
    CLASS(R_SCOPE_household_class_O, b_o1_accident, HH_O),
    CLASS(R_SCOPE_household_class_none, b_ordinary, HH_NONE),

    /* §2 reviews */
    MEASURE(R_DIBAO_REVIEW_per_capita_below_standard, b_poor_pair, DEPT_CIVIL,
            "civil.dibao_review", HH, 0, ONCE, SERVICE, "R-DIBAO-REVIEW"),
    NO_MEASURE(R_DIBAO_REVIEW_per_capita_at_standard, b_poor_at_standard, DEPT_CIVIL,
               "civil.dibao_review", ANY, "R-DIBAO-REVIEW"),
    NO_MEASURE(R_DIBAO_REVIEW_residence_permit_not_enough, b_poor_permit_only, DEPT_CIVIL,
               "civil.dibao_review", ANY, "R-DIBAO-REVIEW"),
    NO_MEASURE(R_DIBAO_REVIEW_not_for_dibao_household, b_dibao_poor, DEPT_CIVIL,
               "civil.dibao_review", ANY, "R-DIBAO-REVIEW"),
    NO_MEASURE(R_DIBAO_REVIEW_not_with_tekun_member, b_poor_with_tekun, DEPT_CIVIL,
               "civil.dibao_review", ANY, "R-DIBAO-REVIEW"),
    NO_MEASURE(R_DIBAO_REVIEW_not_when_everyone_goes_to_tekun_review, b_elderly_alone,
               DEPT_CIVIL, "civil.dibao_review", ANY, "R-DIBAO-REVIEW"),
    MEASURE(R_DIBAO_REVIEW_beside_a_tekun_referral, b_elderly_with_son, DEPT_CIVIL,
            "civil.dibao_review", HH, 0, ONCE, SERVICE, "R-DIBAO-REVIEW"),
    MEASURE(R_TEKUN_REVIEW_elderly_no_supporter, b_elderly_alone, DEPT_CIVIL,
            "civil.tekun_review", 0, 0, ONCE, SERVICE, "R-TEKUN-REVIEW"),
    MEASURE(R_TEKUN_REVIEW_in_a_mixed_household, b_elderly_with_son, DEPT_CIVIL,
            "civil.tekun_review", 0, 0, ONCE, SERVICE, "R-TEKUN-REVIEW"),
    NO_MEASURE(R_TEKUN_REVIEW_not_the_working_son, b_elderly_with_son, DEPT_CIVIL,
               "civil.tekun_review", 1, NULL),
    MEASURE(R_TEKUN_REVIEW_three_nos_grade_1, b_grade1_three_nos, DEPT_CIVIL,
            "civil.tekun_review", 0, 0, ONCE, SERVICE, "R-TEKUN-REVIEW"),
    MEASURE(R_TEKUN_REVIEW_grade_3_intellectual, b_grade3_intellectual, DEPT_CIVIL,
            "civil.tekun_review", 0, 0, ONCE, SERVICE, "R-TEKUN-REVIEW"),
    MEASURE(R_TEKUN_REVIEW_grade_3_mental, b_grade3_mental, DEPT_CIVIL, "civil.tekun_review",
            0, 0, ONCE, SERVICE, "R-TEKUN-REVIEW"),
    NO_MEASURE(R_TEKUN_REVIEW_grade_3_physical_has_capacity, b_grade3_physical, DEPT_CIVIL,
               "civil.tekun_review", ANY, "R-TEKUN-REVIEW"),
    MEASURE(R_TEKUN_REVIEW_minor_17_below_minor_age, b_minor17_unsupported, DEPT_CIVIL,
            "civil.tekun_review", 0, 0, ONCE, SERVICE, "R-TEKUN-REVIEW"),
    NO_MEASURE_T(R_TEKUN_REVIEW_minor_17_with_minor_age_16, b_minor17_unsupported,
                 t_tekun_minor_16, DEPT_CIVIL, "civil.tekun_review", ANY, "R-TEKUN-REVIEW"),
    NO_MEASURE(R_TEKUN_REVIEW_orphan_stays_orphan, b_orphan_unsupported, DEPT_CIVIL,
               "civil.tekun_review", ANY, "R-TEKUN-REVIEW"),
    NO_MEASURE(R_TEKUN_REVIEW_residence_permit_not_enough, b_elderly_permit_alone, DEPT_CIVIL,
               "civil.tekun_review", ANY, "R-TEKUN-REVIEW"),
    NO_MEASURE(R_TEKUN_REVIEW_own_income_at_standard, b_elderly_income_at_dibao, DEPT_CIVIL,
               "civil.tekun_review", ANY, "R-TEKUN-REVIEW"),
    MEASURE(R_TEKUN_REVIEW_own_income_one_fen_below, b_elderly_income_below_dibao, DEPT_CIVIL,
            "civil.tekun_review", 0, 0, ONCE, SERVICE, "R-TEKUN-REVIEW"),
    NO_MEASURE(R_TEKUN_REVIEW_working_age_has_capacity, b_adult_unsupported, DEPT_CIVIL,
               "civil.tekun_review", ANY, "R-TEKUN-REVIEW"),
    MEASURE(R_TEKUN_REVIEW_dibao_member_can_be_referred, b_dibao_elderly_alone, DEPT_CIVIL,
            "civil.tekun_review", 0, 0, ONCE, SERVICE, "R-TEKUN-REVIEW"),
    NO_MEASURE(R_TEKUN_REVIEW_not_already_tekun, b_tekun_elderly_alone, DEPT_CIVIL,
               "civil.tekun_review", ANY, "R-TEKUN-REVIEW"),
    MEASURE(R_DIBAO_KEEP_relocation_site_income_reached, b_relocation_reached, DEPT_CIVIL,
            "civil.dibao_keep", HH, 0, ONCE, SERVICE, "R-DIBAO-KEEP"),
    NO_MEASURE(R_DIBAO_KEEP_income_below_standard, b_relocation_below, DEPT_CIVIL,
               "civil.dibao_keep", ANY, "R-DIBAO-KEEP"),
    NO_MEASURE(R_DIBAO_KEEP_not_at_relocation_site, b_no_relocation_reached, DEPT_CIVIL,
               "civil.dibao_keep", ANY, "R-DIBAO-KEEP"),

    /* §3 dibao supplements */
    MEASURE(R_DIBAO_SUP_A_three_nos, b_sup_three_nos, DEPT_CIVIL, "civil.dibao_supplement", 0,
            21150, MONTH, CASH, "R-DIBAO-SUP-A"),
    NO_MEASURE(R_DIBAO_SUP_MAX_not_cited_for_one_rule, b_sup_three_nos, DEPT_CIVIL, NULL, ANY,
               "R-DIBAO-SUP-MAX"),
    MEASURE(R_DIBAO_SUP_A_single_parent_family, b_sup_single_parent, DEPT_CIVIL,
            "civil.dibao_supplement", 1, 21150, MONTH, CASH, "R-DIBAO-SUP-A"),
    MEASURE(R_DIBAO_SUP_A_disabled_elderly, b_sup_disabled_elderly, DEPT_CIVIL,
            "civil.dibao_supplement", 0, 21150, MONTH, CASH, "R-DIBAO-SUP-A"),
    MEASURE(R_DIBAO_SUP_B_elderly, b_sup_elderly, DEPT_CIVIL, "civil.dibao_supplement", 0,
            14100, MONTH, CASH, "R-DIBAO-SUP-B"),
    MEASURE(R_DIBAO_SUP_B_student, b_sup_student, DEPT_CIVIL, "civil.dibao_supplement", 1,
            14100, MONTH, CASH, "R-DIBAO-SUP-B"),
    NO_MEASURE(R_DIBAO_SUP_none_for_plain_adult, b_sup_student, DEPT_CIVIL,
               "civil.dibao_supplement", 0, NULL),
    MEASURE(R_DIBAO_SUP_C_one_child, b_sup_one_child, DEPT_CIVIL, "civil.dibao_supplement", 0,
            10575, MONTH, CASH, "R-DIBAO-SUP-C"),
    MEASURE(R_DIBAO_SUP_C_two_daughter, b_sup_two_daughter, DEPT_CIVIL,
            "civil.dibao_supplement", 0, 10575, MONTH, CASH, "R-DIBAO-SUP-C"),
    MEASURE_T(R_DIBAO_SUP_C_rounds_half_up, b_sup_one_child, t_dibao_70510, DEPT_CIVIL,
              "civil.dibao_supplement", 0, 10577, MONTH, CASH, "R-DIBAO-SUP-C"),
    MEASURE_T(R_DIBAO_SUP_C_rounds_below_half_down, b_sup_one_child, t_dibao_70501, DEPT_CIVIL,
              "civil.dibao_supplement", 0, 10575, MONTH, CASH, "R-DIBAO-SUP-C"),
    MEASURE(R_DIBAO_SUP_D_generally_disabled, b_sup_grade3, DEPT_CIVIL,
            "civil.dibao_supplement", 0, 7000, MONTH, CASH, "R-DIBAO-SUP-D"),
    MEASURE(R_DIBAO_SUP_MAX_disabled_elderly_cites_max, b_sup_disabled_elderly, DEPT_CIVIL,
            "civil.dibao_supplement", 0, 21150, MONTH, CASH, "R-DIBAO-SUP-MAX"),
    NO_MEASURE(R_DIBAO_SUP_MAX_disabled_elderly_not_B_or_D, b_sup_disabled_elderly, DEPT_CIVIL,
               NULL, ANY, "R-DIBAO-SUP-B"),
    MEASURE(R_DIBAO_SUP_MAX_elderly_one_child_gets_B, b_sup_elderly_one_child, DEPT_CIVIL,
            "civil.dibao_supplement", 1, 14100, MONTH, CASH, "R-DIBAO-SUP-MAX"),
    MEASURE(R_DIBAO_SUP_MAX_student_single_parent_highest_only, b_sup_student_single_parent,
            DEPT_CIVIL, "civil.dibao_supplement", 0, 21150, MONTH, CASH, "R-DIBAO-SUP-MAX"),
    MEASURE(R_DIBAO_SUP_MAX_one_child_grade_3_gets_C, b_sup_one_child_grade3, DEPT_CIVIL,
            "civil.dibao_supplement", 0, 10575, MONTH, CASH, "R-DIBAO-SUP-C"),
    MEASURE_T(R_DIBAO_SUP_MAX_fixed_D_outranks_C_when_standard_low, b_sup_one_child_grade3,
              t_dibao_40000, DEPT_CIVIL, "civil.dibao_supplement", 0, 7000, MONTH, CASH,
              "R-DIBAO-SUP-D"),
    NO_MEASURE(R_DIBAO_SUP_only_dibao_members, b_lowinc_elderly_60, DEPT_CIVIL,
               "civil.dibao_supplement", ANY, NULL),

    /* §4 tekun support */
    MEASURE(R_TEKUN_STD_dispersed, b_tekun_dispersed_full, DEPT_CIVIL, "civil.tekun_support",
            0, 112800, MONTH, CASH, "R-TEKUN-STD"),
    MEASURE(R_TEKUN_STD_centralized, b_tekun_central_none, DEPT_CIVIL, "civil.tekun_support",
            0, 112800, MONTH, CASH, "R-TEKUN-STD"),
    NO_MEASURE(R_TEKUN_STD_not_for_the_relative, b_tekun_and_relative, DEPT_CIVIL,
               "civil.tekun_support", 1, NULL),
    MEASURE(R_TEKUN_CARE_semi, b_tekun_dispersed_semi, DEPT_CIVIL, "civil.tekun_care", 0,
            30000, MONTH, CASH, "R-TEKUN-CARE"),
    MEASURE(R_TEKUN_CARE_none, b_tekun_central_none, DEPT_CIVIL, "civil.tekun_care", 0, 60000,
            MONTH, CASH, "R-TEKUN-CARE"),
    NO_MEASURE(R_TEKUN_CARE_full_self_care_is_0_fen, b_tekun_dispersed_full, DEPT_CIVIL,
               "civil.tekun_care", ANY, "R-TEKUN-CARE"),
    MEASURE_T(R_TEKUN_CARE_full_when_county_pays_it, b_tekun_dispersed_full, t_care_full_10000,
              DEPT_CIVIL, "civil.tekun_care", 0, 10000, MONTH, CASH, "R-TEKUN-CARE"),
    MEASURE(R_TEKUN_CENTRAL_dispersed_semi, b_tekun_dispersed_semi, DEPT_CIVIL,
            "civil.central_care_offer", 0, 0, ONCE, SERVICE, "R-TEKUN-CENTRAL"),
    MEASURE(R_TEKUN_CENTRAL_dispersed_none, b_tekun_dispersed_none, DEPT_CIVIL,
            "civil.central_care_offer", 0, 0, ONCE, SERVICE, "R-TEKUN-CENTRAL"),
    NO_MEASURE(R_TEKUN_CENTRAL_not_when_already_centralized, b_tekun_central_none, DEPT_CIVIL,
               "civil.central_care_offer", ANY, "R-TEKUN-CENTRAL"),
    NO_MEASURE(R_TEKUN_CENTRAL_not_with_full_self_care, b_tekun_dispersed_full, DEPT_CIVIL,
               "civil.central_care_offer", ANY, "R-TEKUN-CENTRAL"),
    DENIED(R_CIVIL_nothing_to_do_denied, b_ordinary, DEPT_CIVIL, "no civil-affairs rule", NULL),

    /* §5 temporary aid */
    MEASURE(R_TEMP_EMERG_urgent_accident_household_of_3, b_emerg_3, DEPT_TEMPAID,
            "tempaid.emergency_cash", HH, 634500, ONCE, CASH, "R-TEMP-EMERG"),
    MEASURE(R_TEMP_EMERG_urgent_illness_household_of_1, b_emerg_1, DEPT_TEMPAID,
            "tempaid.emergency_cash", HH, 211500, ONCE, CASH, "R-TEMP-EMERG"),
    MEASURE(R_TEMP_SCOPE_cited_with_the_grant, b_emerg_1, DEPT_TEMPAID,
            "tempaid.emergency_cash", HH, 211500, ONCE, CASH, "R-TEMP-SCOPE"),
    NO_MEASURE(R_TEMP_EMERG_accident_not_urgent, b_accident_normal, DEPT_TEMPAID,
               "tempaid.emergency_cash", ANY, "R-TEMP-EMERG"),
    NO_MEASURE(R_TEMP_EMERG_urgent_unemployment_not_sudden_event, b_urgent_unemployment,
               DEPT_TEMPAID, "tempaid.emergency_cash", ANY, "R-TEMP-EMERG"),
    DENIED(R_TEMP_SCOPE_worked_6_months_out_of_scope, b_emerg_months_6, DEPT_TEMPAID,
           "R-TEMP-SCOPE", "R-TEMP-SCOPE"),
    MEASURE(R_TEMP_SCOPE_worked_7_months_in_scope, b_emerg_months_7, DEPT_TEMPAID,
            "tempaid.emergency_cash", HH, 211500, ONCE, CASH, "R-TEMP-EMERG"),
    MEASURE(R_TEMP_SCOPE_residence_permit_in_scope, b_emerg_permit, DEPT_TEMPAID,
            "tempaid.emergency_cash", HH, 211500, ONCE, CASH, "R-TEMP-EMERG"),
    MEASURE(R_TEMP_EXPEND_expense_exactly_at_minimum, b_expend_at_min, DEPT_TEMPAID,
            "tempaid.expenditure_cash", HH, 423000, ONCE, CASH, "R-TEMP-EXPEND"),
    NO_MEASURE(R_TEMP_EXPEND_expense_one_fen_below_minimum, b_expend_below_min, DEPT_TEMPAID,
               "tempaid.expenditure_cash", ANY, "R-TEMP-EXPEND"),
    MEASURE(R_TEMP_EXPEND_cap_applied, b_expend_cap, DEPT_TEMPAID, "tempaid.expenditure_cash",
            HH, 846000, ONCE, CASH, "R-TEMP-EXPEND"),
    NO_MEASURE(R_TEMP_EXPEND_income_at_local_average, b_expend_income_at_avg, DEPT_TEMPAID,
               "tempaid.expenditure_cash", ANY, "R-TEMP-EXPEND"),
    MEASURE(R_TEMP_EXPEND_income_one_fen_below_average, b_expend_income_below_avg,
            DEPT_TEMPAID, "tempaid.expenditure_cash", HH, 500000, ONCE, CASH, "R-TEMP-EXPEND"),
    MEASURE(R_TEMP_EXPEND_rounds_half_up, b_expend_half_fen, DEPT_TEMPAID,
            "tempaid.expenditure_cash", HH, 211501, ONCE, CASH, "R-TEMP-EXPEND"),
    MEASURE(R_TEMP_EXPEND_illness_and_schooling_add_up, b_expend_sum, DEPT_TEMPAID,
            "tempaid.expenditure_cash", HH, 211500, ONCE, CASH, "R-TEMP-EXPEND"),
    NO_MEASURE(R_TEMP_EXPEND_accident_expense_not_counted, b_expend_accident, DEPT_TEMPAID,
               "tempaid.expenditure_cash", ANY, "R-TEMP-EXPEND"),
    MEASURE(R_TEMP_EMERG_and_expend_both_emergency, b_emerg_and_expend, DEPT_TEMPAID,
            "tempaid.emergency_cash", HH, 211500, ONCE, CASH, "R-TEMP-EMERG"),
    MEASURE(R_TEMP_EXPEND_and_emerg_both_expenditure, b_emerg_and_expend, DEPT_TEMPAID,
            "tempaid.expenditure_cash", HH, 500000, ONCE, CASH, "R-TEMP-EXPEND"),
    DENIED(R_TEMP_nothing_to_do_denied, b_accident_normal, DEPT_TEMPAID,
           "no temporary-aid rule", NULL),
    NO_MEASURE(R_TEMP_FORM_no_automatic_in_kind, b_emerg_and_expend, DEPT_TEMPAID,
               "tempaid.in_kind", ANY, "R-TEMP-FORM"),
    NO_MEASURE(R_TEMP_FORM_no_automatic_referral, b_emerg_and_expend, DEPT_TEMPAID,
               "tempaid.referral", ANY, "R-TEMP-FORM"),

    /* §6 medical aid */
    MEASURE(R_MED_OVERLAY_dibao_member, b_dibao_pair, DEPT_MEDICAL,
            "medical.overlay_insurance", 1, 0, ONCE, SERVICE, "R-MED-OVERLAY"),
    NO_MEASURE(R_MED_OVERLAY_not_low_income_member, b_lowinc_elderly_60, DEPT_MEDICAL,
               "medical.overlay_insurance", ANY, "R-MED-OVERLAY"),
    MEASURE(R_MED_TRIPLE_seriously_ill_S9, b_lowinc_ill, DEPT_MEDICAL, "medical.triple_check",
            0, 0, ONCE, SERVICE, "R-MED-TRIPLE"),
    MEASURE(R_MED_TRIPLE_seriously_ill_M1, b_m1_ill, DEPT_MEDICAL, "medical.triple_check", 0,
            0, ONCE, SERVICE, "R-MED-TRIPLE"),
    NO_MEASURE(R_MED_TRIPLE_not_for_O1_person, b_o1_ill, DEPT_MEDICAL, "medical.triple_check",
               ANY, "R-MED-TRIPLE"),
    NO_MEASURE(R_MED_TRIPLE_not_outside_any_group, b_ill_no_group, DEPT_MEDICAL,
               "medical.triple_check", ANY, "R-MED-TRIPLE"),
    MEASURE(R_VISIT_SYMPTOM_visit_finds_epidemic_symptoms, b_visit_epidemic, DEPT_MEDICAL,
            "medical.symptom_referral", HH, 0, ONCE, FORM_REFERRAL, "R-VISIT-SYMPTOM"),
    ROUTED(R_VISIT_SYMPTOM_routes_to_medical, b_visit_epidemic, BIT(DEPT_MEDICAL)),
    NO_MEASURE(R_VISIT_SYMPTOM_not_from_the_hotline, b_hotline_epidemic, DEPT_MEDICAL,
               "medical.symptom_referral", ANY, "R-VISIT-SYMPTOM"),
    NO_MEASURE(R_VISIT_SYMPTOM_not_without_symptoms, b_tekun_and_relative, DEPT_MEDICAL,
               "medical.symptom_referral", ANY, "R-VISIT-SYMPTOM"),

    /* §7 education aid */
    MEASURE(R_EDU_S_preschool, b_edu_pre, DEPT_EDUCATION, "education.preschool", 1, 100000,
            YEAR, CASH, "R-EDU-S"),
    MEASURE(R_EDU_S_compulsory, b_edu_comp, DEPT_EDUCATION, "education.compulsory", 1, 100000,
            YEAR, CASH, "R-EDU-S"),
    MEASURE(R_EDU_S_senior, b_edu_senior, DEPT_EDUCATION, "education.senior", 1, 200000, YEAR,
            CASH, "R-EDU-S"),
    MEASURE(R_EDU_S_vocational, b_edu_voc, DEPT_EDUCATION, "education.vocational", 1, 200000,
            YEAR, CASH, "R-EDU-S"),
    MEASURE(R_EDU_S_higher, b_edu_higher, DEPT_EDUCATION, "education.higher", 1, 600000, YEAR,
            CASH, "R-EDU-S"),
    NO_MEASURE(R_EDU_S_not_for_M_household, b_m_comp, DEPT_EDUCATION, "education.compulsory",
               ANY, "R-EDU-S"),
    NO_MEASURE(R_EDU_EXEMPT_not_for_plain_S_student, b_edu_comp, DEPT_EDUCATION,
               "education.exemption", ANY, "R-EDU-EXEMPT"),
    MEASURE(R_EDU_EXEMPT_orphan_compulsory, b_orphan_comp, DEPT_EDUCATION,
            "education.exemption", 1, 0, ONCE, SERVICE, "R-EDU-EXEMPT"),
    MEASURE(R_EDU_EXEMPT_orphan_also_gets_R_EDU_S, b_orphan_comp, DEPT_EDUCATION,
            "education.compulsory", 1, 100000, YEAR, CASH, "R-EDU-S"),
    MEASURE(R_EDU_EXEMPT_M_household, b_m_comp, DEPT_EDUCATION, "education.exemption", 1, 0,
            ONCE, SERVICE, "R-EDU-EXEMPT"),
    MEASURE(R_EDU_EXEMPT_O_household, b_o_comp, DEPT_EDUCATION, "education.exemption", 1, 0,
            ONCE, SERVICE, "R-EDU-EXEMPT"),
    MEASURE(R_EDU_GRADE_M_household_senior, b_m_senior, DEPT_EDUCATION,
            "education.hardship_grading", 1, 0, ONCE, SERVICE, "R-EDU-GRADE"),
    MEASURE(R_EDU_GRADE_orphan_senior, b_orphan_senior, DEPT_EDUCATION,
            "education.hardship_grading", 1, 0, ONCE, SERVICE, "R-EDU-GRADE"),
    NO_MEASURE(R_EDU_GRADE_not_for_compulsory, b_m_comp, DEPT_EDUCATION,
               "education.hardship_grading", ANY, "R-EDU-GRADE"),
    NO_MEASURE(R_EDU_GRADE_orphan_flag_on_adult_not_counted, b_orphan_adult_higher,
               DEPT_EDUCATION, "education.hardship_grading", ANY, "R-EDU-GRADE"),

    /* §8 housing aid */
    MEASURE(R_HOUSE_S_dibao_renting, b_dibao_renting, DEPT_HOUSING,
            "housing.public_rental_or_subsidy", HH, 0, ONCE, SERVICE, "R-HOUSE-S"),
    MEASURE(R_HOUSE_S_housing_loss, b_dibao_housing_loss, DEPT_HOUSING,
            "housing.public_rental_or_subsidy", HH, 0, ONCE, SERVICE, "R-HOUSE-S"),
    NO_MEASURE(R_HOUSE_S_no_need_when_owned, b_dibao_owned, DEPT_HOUSING,
               "housing.public_rental_or_subsidy", ANY, "R-HOUSE-S"),
    NO_MEASURE(R_HOUSE_FREE_not_for_partial_dibao, b_dibao_renting, DEPT_HOUSING,
               "housing.rent_free", ANY, "R-HOUSE-FREE"),
    MEASURE(R_HOUSE_FREE_full_dibao_renting, b_fulldibao_renting, DEPT_HOUSING,
            "housing.rent_free", HH, 0, ONCE, SERVICE, "R-HOUSE-FREE"),
    MEASURE(R_HOUSE_FREE_full_dibao_in_public_rental, b_fulldibao_public, DEPT_HOUSING,
            "housing.rent_free", HH, 0, ONCE, SERVICE, "R-HOUSE-FREE"),
    NO_MEASURE(R_HOUSE_FREE_partial_dibao_in_public_rental, b_partial_public, DEPT_HOUSING,
               "housing.rent_free", ANY, "R-HOUSE-FREE"),
    MEASURE(R_HOUSE_M_disaster_damaged, b_m_damaged, DEPT_HOUSING,
            "housing.directed_allocation", HH, 0, ONCE, SERVICE, "R-HOUSE-M"),
    NO_MEASURE(R_HOUSE_M_no_need_when_owned, b_m1_disaster, DEPT_HOUSING,
               "housing.directed_allocation", ANY, "R-HOUSE-M"),
    DENIED(R_HOUSE_O_household_gets_nothing, b_o_dangerous, DEPT_HOUSING,
           "not an S or M household", NULL),

    /* §9 employment aid */
    MEASURE(R_EMP_S_dibao_job_seeker, b_dibao_seeker_30, DEPT_EMPLOYMENT,
            "employment.difficulty_registration", 0, 0, ONCE, SERVICE, "R-EMP-S"),
    MEASURE(R_EMP_S_aged_59, b_dibao_seeker_59, DEPT_EMPLOYMENT,
            "employment.difficulty_registration", 0, 0, ONCE, SERVICE, "R-EMP-S"),
    NO_MEASURE(R_EMP_S_aged_60_not_working_age, b_dibao_seeker_60, DEPT_EMPLOYMENT,
               "employment.difficulty_registration", ANY, "R-EMP-S"),
    NO_MEASURE(R_EMP_S_already_employed, b_dibao_seeker_employed, DEPT_EMPLOYMENT,
               "employment.difficulty_registration", ANY, "R-EMP-S"),
    NO_MEASURE(R_EMP_S_no_labor_capacity_flag, b_dibao_seeker_no_capacity, DEPT_EMPLOYMENT,
               "employment.difficulty_registration", ANY, "R-EMP-S"),
    MEASURE(R_EMP_MO_M_household, b_m_seeker, DEPT_EMPLOYMENT,
            "employment.unemployed_registration", 0, 0, ONCE, SERVICE, "R-EMP-MO"),
    MEASURE(R_EMP_MO_O_household, b_o_seeker, DEPT_EMPLOYMENT,
            "employment.unemployed_registration", 0, 0, ONCE, SERVICE, "R-EMP-MO"),
    NO_MEASURE(R_EMP_MO_not_for_S_household, b_dibao_seeker_30, DEPT_EMPLOYMENT,
               "employment.unemployed_registration", ANY, "R-EMP-MO"),
    MEASURE(R_EMP_ZERO_urban_nobody_working, b_zero_urban, DEPT_EMPLOYMENT,
            "employment.zero_employment_assistance", HH, 0, ONCE, SERVICE, "R-EMP-ZERO"),
    NO_MEASURE(R_EMP_ZERO_not_rural, b_zero_rural, DEPT_EMPLOYMENT,
               "employment.zero_employment_assistance", ANY, "R-EMP-ZERO"),
    NO_MEASURE(R_EMP_ZERO_one_member_working, b_zero_one_employed, DEPT_EMPLOYMENT,
               "employment.zero_employment_assistance", ANY, "R-EMP-ZERO"),
    NO_MEASURE(R_EMP_ZERO_needs_local_hukou, b_zero_no_hukou, DEPT_EMPLOYMENT,
               "employment.zero_employment_assistance", ANY, "R-EMP-ZERO"),
    NO_MEASURE(R_EMP_ZERO_needs_an_able_member, b_zero_elderly_only, DEPT_EMPLOYMENT,
               "employment.zero_employment_assistance", ANY, "R-EMP-ZERO"),

    /* §10 relief */
    MEASURE(R_RELIEF_disaster_food, b_m1_disaster, DEPT_RELIEF, "relief.food", HH, 0, ONCE,
            KIND, "R-RELIEF"),
    MEASURE(R_RELIEF_disaster_clothing, b_m1_disaster, DEPT_RELIEF, "relief.clothing", HH, 0,
            ONCE, KIND, "R-RELIEF"),
    MEASURE(R_RELIEF_disaster_water, b_m1_disaster, DEPT_RELIEF, "relief.water", HH, 0, ONCE,
            KIND, "R-RELIEF"),
    MEASURE(R_RELIEF_disaster_shelter, b_m1_disaster, DEPT_RELIEF, "relief.shelter", HH, 0,
            ONCE, KIND, "R-RELIEF"),
    NO_MEASURE(R_RELIEF_not_for_accident, b_accident_normal, DEPT_RELIEF, NULL, ANY,
               "R-RELIEF"),

    /* §11 social services */
    MEASURE(R_SOCIAL_S_person_semi_self_care, b_dibao_semi, DEPT_SOCIAL,
            "social.care_services", 0, 0, ONCE, SERVICE, "R-SOCIAL"),
    MEASURE(R_SOCIAL_left_behind_elderly, b_left_behind_elderly, DEPT_SOCIAL,
            "social.care_services", 0, 0, ONCE, SERVICE, "R-SOCIAL"),
    MEASURE(R_SOCIAL_seriously_ill_M1, b_m1_ill, DEPT_SOCIAL, "social.care_services", 0, 0,
            ONCE, SERVICE, "R-SOCIAL"),
    NO_MEASURE(R_SOCIAL_not_outside_any_group, b_semi_no_group, DEPT_SOCIAL,
               "social.care_services", ANY, "R-SOCIAL"),
    NO_MEASURE(R_SOCIAL_S_person_without_need, b_dibao_adult, DEPT_SOCIAL,
               "social.care_services", ANY, "R-SOCIAL"),

    /* §12 care and visits */
    MEASURE(R_VISIT_MONTHLY_tekun, b_tekun_dispersed_full, DEPT_CARE, "care.visit_monthly", 0,
            0, MONTH, SERVICE, "R-VISIT-MONTHLY"),
    MEASURE(R_VISIT_MONTHLY_centralized_tekun, b_tekun_central_none, DEPT_CARE,
            "care.visit_monthly", 0, 0, MONTH, SERVICE, "R-VISIT-MONTHLY"),
    MEASURE(R_VISIT_MONTHLY_orphan, b_orphan_17, DEPT_CARE, "care.visit_monthly", 0, 0, MONTH,
            SERVICE, "R-VISIT-MONTHLY"),
    MEASURE(R_VISIT_MONTHLY_unsupported_minor, b_unsupported_10, DEPT_CARE,
            "care.visit_monthly", 0, 0, MONTH, SERVICE, "R-VISIT-MONTHLY"),
    NO_MEASURE(R_VISIT_MONTHLY_not_quarterly_too, b_tekun_dispersed_full, DEPT_CARE,
               "care.visit_quarterly", ANY, "R-VISIT-QUARTERLY"),
    MEASURE(R_VISIT_QUARTERLY_dibao_member, b_dibao_adult, DEPT_CARE, "care.visit_quarterly",
            0, 0, QUARTER, SERVICE, "R-VISIT-QUARTERLY"),
    MEASURE(R_VISIT_QUARTERLY_left_behind_elderly, b_left_behind_elderly, DEPT_CARE,
            "care.visit_quarterly", 0, 0, QUARTER, SERVICE, "R-VISIT-QUARTERLY"),
    NO_MEASURE(R_VISIT_QUARTERLY_not_the_tekun_relative, b_tekun_and_relative, DEPT_CARE,
               "care.visit_quarterly", 1, "R-VISIT-QUARTERLY"),
    NO_MEASURE(R_VISIT_QUARTERLY_not_for_M_person, b_m1_disaster, DEPT_CARE, NULL, ANY,
               "R-VISIT-QUARTERLY"),
    NO_MEASURE(R_VISIT_QUARTERLY_not_for_left_behind_adult, b_left_behind_adult, DEPT_CARE,
               NULL, ANY, "R-VISIT-QUARTERLY"),
    MEASURE(R_CARE_CAT1_dispersed_tekun_semi, b_tekun_dispersed_semi, DEPT_CARE,
            "care.category_1", 0, 0, ONCE, SERVICE, "R-CARE-CAT1"),
    MEASURE(R_CARE_CAT1_orphan_seriously_ill, b_orphan_ill, DEPT_CARE, "care.category_1", 0,
            0, ONCE, SERVICE, "R-CARE-CAT1"),
    NO_MEASURE(R_CARE_CAT1_not_centralized_tekun, b_tekun_central_semi, DEPT_CARE,
               "care.category_1", ANY, "R-CARE-CAT1"),
    NO_MEASURE(R_CARE_CAT1_not_dispersed_full_self_care, b_tekun_dispersed_full, DEPT_CARE,
               "care.category_1", ANY, "R-CARE-CAT1"),
    MEASURE(R_CARE_CAT2_dibao_household_death, b_dibao_death, DEPT_CARE, "care.category_2", 0,
            0, ONCE, SERVICE, "R-CARE-CAT2"),
    MEASURE(R_CARE_CAT2_two_severe_members, b_dibao_two_severe, DEPT_CARE, "care.category_2",
            2, 0, ONCE, SERVICE, "R-CARE-CAT2"),
    NO_MEASURE(R_CARE_CAT2_one_severe_member, b_dibao_one_severe, DEPT_CARE,
               "care.category_2", ANY, "R-CARE-CAT2"),
    NO_MEASURE(R_CARE_CAT2_lowest_category_only, b_tekun_semi_dibao_death, DEPT_CARE,
               "care.category_2", 0, "R-CARE-CAT2"),
    MEASURE(R_CARE_CAT1_lowest_category_wins, b_tekun_semi_dibao_death, DEPT_CARE,
            "care.category_1", 0, 0, ONCE, SERVICE, "R-CARE-CAT1"),
    MEASURE(R_CARE_CAT3_left_behind_elderly_alone, b_left_behind_elderly, DEPT_CARE,
            "care.category_3", 0, 0, ONCE, SERVICE, "R-CARE-CAT3"),
    MEASURE(R_CARE_CAT3_minor_with_grandparent_aged_70, b_lb_minor_grandparent_70, DEPT_CARE,
            "care.category_3", 0, 0, ONCE, SERVICE, "R-CARE-CAT3"),
    NO_MEASURE(R_CARE_CAT3_minor_with_grandparent_aged_69, b_lb_minor_grandparent_69,
               DEPT_CARE, "care.category_3", ANY, "R-CARE-CAT3"),
    MEASURE(R_CARE_CAT3_minor_with_parent_semi_self_care, b_lb_minor_parent_semi, DEPT_CARE,
            "care.category_3", 0, 0, ONCE, SERVICE, "R-CARE-CAT3"),
    DENIED(R_CARE_no_visit_plan_denied, b_m1_disaster, DEPT_CARE, "no visit plan", NULL),

    /* §15 routing */
    ROUTING(R_ROUTING_ordinary_household_nowhere, b_ordinary, 0),
    ROUTING(R_ROUTING_civil_only_poor_household, b_poor_single, BIT(DEPT_CIVIL)),
    ROUTING(R_ROUTING_tempaid_out_of_scope_still_routed, b_emerg_months_6, BIT(DEPT_TEMPAID)),
    ROUTED(R_ROUTING_tempaid_emergency, b_emerg_3, BIT(DEPT_TEMPAID)),
    ROUTED(R_ROUTING_tempaid_expenditure, b_expend_at_min, BIT(DEPT_TEMPAID)),
    NOT_ROUTED(R_ROUTING_tempaid_not_without_emergency, b_accident_normal, BIT(DEPT_TEMPAID)),
    NOT_ROUTED(R_ROUTING_tempaid_not_below_minimum, b_expend_below_min, BIT(DEPT_TEMPAID)),
    ROUTED(R_ROUTING_medical, b_lowinc_ill, BIT(DEPT_MEDICAL)),
    ROUTED(R_ROUTING_education, b_m_comp, BIT(DEPT_EDUCATION)),
    ROUTED(R_ROUTING_housing, b_dibao_renting, BIT(DEPT_HOUSING)),
    ROUTING(R_ROUTING_employment_only_zero_employment, b_zero_urban, BIT(DEPT_EMPLOYMENT)),
    ROUTED(R_ROUTING_relief, b_m1_disaster, BIT(DEPT_RELIEF)),
    ROUTED(R_ROUTING_social, b_dibao_semi, BIT(DEPT_SOCIAL)),
    ROUTING(R_ROUTING_left_behind_elderly_care_and_social, b_left_behind_elderly,
            BIT(DEPT_CARE) | BIT(DEPT_SOCIAL)),
    ROUTED(R_ROUTING_civil_supplement, b_sup_elderly, BIT(DEPT_CIVIL) | BIT(DEPT_CARE)),
    NOT_ROUTED(R_ROUTING_care_not_for_M_household, b_m1_disaster, BIT(DEPT_CARE)),
    NOT_ROUTED(R_ROUTING_civil_not_for_M_household, b_m1_disaster, BIT(DEPT_CIVIL)),

    /* triggers: R-TRIGGER-DISASTER, R-TEMP-EMERG by trigger, R-MED-RETRO */
    MEASURE(R_TRIGGER_DISASTER_tempaid_emergency_cash, b_trigger_disaster_filed, DEPT_TEMPAID,
            "tempaid.emergency_cash", HH, 423000, ONCE, CASH, "R-TRIGGER-DISASTER"),
    MEASURE(R_TRIGGER_DISASTER_relief_food, b_trigger_disaster_filed, DEPT_RELIEF,
            "relief.food", HH, 0, ONCE, KIND, "R-TRIGGER-DISASTER"),
    MEASURE(R_TRIGGER_DISASTER_relief_shelter, b_trigger_disaster_filed, DEPT_RELIEF,
            "relief.shelter", HH, 0, ONCE, KIND, "R-RELIEF"),
    MEASURE(R_TRIGGER_DISASTER_relief_without_circumstance, b_trigger_disaster, DEPT_RELIEF,
            "relief.water", HH, 0, ONCE, KIND, "R-TRIGGER-DISASTER"),
    ROUTING(R_TRIGGER_DISASTER_routes_tempaid_and_relief_only, b_trigger_disaster_filed,
            BIT(DEPT_TEMPAID) | BIT(DEPT_RELIEF)),
    ROUTED(R_TRIGGER_DISASTER_a_report_still_reaches_every_department,
           b_disaster_report_no_trigger,
           BIT(DEPT_TEMPAID) | BIT(DEPT_RELIEF) | BIT(DEPT_MEDICAL) | BIT(DEPT_CARE)),
    NO_MEASURE(R_TRIGGER_DISASTER_not_cited_without_trigger, b_disaster_report_no_trigger,
               DEPT_RELIEF, NULL, ANY, "R-TRIGGER-DISASTER"),
    MEASURE(R_TEMP_EMERG_by_disaster_trigger_without_urgency, b_trigger_disaster, DEPT_TEMPAID,
            "tempaid.emergency_cash", HH, 423000, ONCE, CASH, "R-TEMP-EMERG"),
    MEASURE(R_TEMP_EMERG_by_trigger_still_checks_scope, b_trigger_disaster, DEPT_TEMPAID,
            "tempaid.emergency_cash", HH, 423000, ONCE, CASH, "R-TEMP-SCOPE"),
    MEASURE(R_MED_RETRO_marginal_household_newly_below_dibao, b_med_retro, DEPT_MEDICAL,
            "medical.retro_aid", HH, 420000, ONCE, CASH, "R-MED-RETRO"),
    MEASURE(R_MED_RETRO_only_the_previous_6_months, b_med_retro_12_months, DEPT_MEDICAL,
            "medical.retro_aid", HH, 420000, ONCE, CASH, "R-MED-RETRO"),
    MEASURE(R_MED_RETRO_rounds_half_up, b_med_retro_rounding, DEPT_MEDICAL,
            "medical.retro_aid", HH, 420001, ONCE, CASH, "R-MED-RETRO"),
    MEASURE_T(R_MED_RETRO_rate_is_a_parameter, b_med_retro, t_med_retro_50, DEPT_MEDICAL,
              "medical.retro_aid", HH, 300000, ONCE, CASH, "R-MED-RETRO"),
    NO_MEASURE(R_MED_RETRO_not_above_dibao_after_the_expense, b_med_retro_income_high,
               DEPT_MEDICAL, "medical.retro_aid", ANY, "R-MED-RETRO"),
    NO_MEASURE(R_MED_RETRO_not_for_a_dibao_household, b_med_retro_dibao, DEPT_MEDICAL,
               "medical.retro_aid", ANY, "R-MED-RETRO"),
    NO_MEASURE(R_MED_RETRO_needs_a_medical_expense_trigger, b_med_retro_no_trigger,
               DEPT_MEDICAL, "medical.retro_aid", ANY, "R-MED-RETRO"),
    ROUTED(R_ROUTING_medical_retro, b_med_retro, BIT(DEPT_MEDICAL)),
    CLASS(R_MED_RETRO_household_is_marginal_M, b_med_retro, HH_M),
};

#define N_ROWS ((int)(sizeof rows / sizeof rows[0]))

/* ---- running a row -------------------------------------------------------------- */

/* Builds a row's report and assessment under its parameters. */
static void row_setup(const row_t *row, report_t *r, params_t *p, assessment_t *a)
{
    policy_params_default(p);
    if (row->tune)
        row->tune(p);
    row->build(r);
    policy_assess(r, p, a);
}

static bool cites(const decision_t *d, const char *rule)
{
    for (int i = 0; i < d->n_rules; i++)
        if (strcmp(d->rules[i], rule) == 0)
            return true;
    return false;
}

/* Prints a decision so a failing row shows what was decided instead. */
static void decision_dump(const decision_t *d)
{
    print_message("  status %s, reason \"%s\"\n", proto_statuses[d->status], d->reason);
    for (int i = 0; i < d->n_measures; i++) {
        const measure_t *m = &d->measures[i];
        print_message("  measure %s person %d amount %lld %s %s\n", m->code, m->person,
                      (long long)m->amount_fen, proto_periods[m->period],
                      proto_forms[m->form]);
    }
    for (int i = 0; i < d->n_rules; i++)
        print_message("  rule %s\n", d->rules[i]);
}

static void check_measure(const row_t *row, const decision_t *d)
{
    const measure_t *found = NULL;
    int count = 0;
    for (int i = 0; i < d->n_measures; i++)
        if (strcmp(d->measures[i].code, row->code) == 0 && d->measures[i].person == row->person) {
            found = &d->measures[i];
            count++;
        }
    if (count != 1 || !cites(d, row->rule))
        decision_dump(d);
    assert_int_equal(count, 1);
    assert_int_equal(d->status, STATUS_GRANTED);
    assert_int_equal(found->amount_fen, row->amount);
    assert_int_equal(found->period, row->period);
    assert_int_equal(found->form, row->form);
    assert_true(cites(d, row->rule));
}

static void check_no_measure(const row_t *row, const decision_t *d)
{
    for (int i = 0; row->code && i < d->n_measures; i++) {
        const measure_t *m = &d->measures[i];
        bool same = strcmp(m->code, row->code) == 0 &&
                    (row->person == ANY || m->person == row->person);
        if (same)
            decision_dump(d);
        assert_false(same);
    }
    if (row->rule && cites(d, row->rule))
        decision_dump(d);
    assert_false(row->rule && cites(d, row->rule));
}

static void check_denied(const row_t *row, const decision_t *d)
{
    if (d->status != STATUS_DENIED || !strstr(d->reason, row->code))
        decision_dump(d);
    assert_int_equal(d->status, STATUS_DENIED);
    assert_int_equal(d->n_measures, 0);
    assert_non_null(strstr(d->reason, row->code));
    if (row->rule)
        assert_true(cites(d, row->rule));
}

static void row_run(void **state)
{
    const row_t *row = *state;
    report_t r;
    params_t p;
    assessment_t a;
    decision_t d;
    row_setup(row, &r, &p, &a);
    uint32_t groups = row->person >= 0 ? a.persons[row->person].groups : 0;
    switch (row->kind) {
    case K_MEASURE:
    case K_NO_MEASURE:
    case K_DENIED:
        policy_decide((dept_t)row->dept, &r, &a, &p, &d);
        if (row->kind == K_MEASURE) check_measure(row, &d);
        else if (row->kind == K_NO_MEASURE) check_no_measure(row, &d);
        else check_denied(row, &d);
        break;
    case K_GROUP: assert_int_equal(groups & row->bits, row->bits); break;
    case K_NO_GROUP: assert_int_equal(groups & row->bits, 0); break;
    case K_CLASS: assert_int_equal(a.hh_class, row->bits); break;
    case K_ROUTED: assert_int_equal(a.routing & row->bits, row->bits); break;
    case K_NOT_ROUTED: assert_int_equal(a.routing & row->bits, 0); break;
    case K_ROUTING: assert_int_equal(a.routing, row->bits); break;
    }
}

/* ---- invariants over every row's report -------------------------------------- */

static void check_decision_shape(dept_t dept, const decision_t *d)
{
    char prefix[MEASURE_CODE_MAX];
    snprintf(prefix, sizeof prefix, "%s.", policy_dept_names[dept]);
    assert_int_equal(d->status, d->n_measures > 0 ? STATUS_GRANTED : STATUS_DENIED);
    if (d->status == STATUS_DENIED)
        assert_true(d->reason[0] != '\0');
    for (int i = 0; i < d->n_measures; i++) {
        const measure_t *m = &d->measures[i];
        assert_int_equal(strncmp(m->code, prefix, strlen(prefix)), 0);
        assert_true(m->form == FORM_CASH ? m->amount_fen > 0 : m->amount_fen == 0);
        assert_true(m->person >= HH && m->person < REPORT_MAX_MEMBERS);
    }
    for (int i = 0; i < d->n_rules; i++) {
        assert_int_equal(strncmp(d->rules[i], "R-", 2), 0);
        for (int j = i + 1; j < d->n_rules; j++)
            assert_string_not_equal(d->rules[i], d->rules[j]);
    }
}

/* §15: routed exactly when the decision records a measure; tempaid may be
 * routed and refuse on scope; care is routed exactly with a visit plan. */
static void check_routing_agrees(dept_t dept, const report_t *r, const assessment_t *a,
                                 const decision_t *d)
{
    bool routed = a->routing & BIT(dept);
    /* R-TRIGGER-DISASTER: a disaster trigger reaches tempaid and relief only */
    if (strcmp(r->trigger, "disaster") == 0 && dept != DEPT_TEMPAID && dept != DEPT_RELIEF)
        assert_false(routed);
    else if (dept == DEPT_TEMPAID)
        assert_true(routed || d->n_measures == 0);
    else
        assert_int_equal(routed, d->n_measures > 0);
}

static void test_invariants_every_row_report(void **state)
{
    (void)state;
    for (int k = 0; k < N_ROWS; k++) {
        report_t r;
        params_t p;
        assessment_t a;
        decision_t d;
        row_setup(&rows[k], &r, &p, &a);
        assert_int_equal(a.n, r.n_members);
        for (int dept = 0; dept < DEPT_COUNT; dept++) {
            policy_decide((dept_t)dept, &r, &a, &p, &d);
            check_decision_shape((dept_t)dept, &d);
            check_routing_agrees((dept_t)dept, &r, &a, &d);
        }
    }
}

/* ---- parameters, names, helpers ------------------------------------------------ */

static void test_params_defaults_and_set(void **state)
{
    (void)state;
    params_t p;
    policy_params_default(&p);
    assert_int_equal(p.P_DIBAO, 70500);
    assert_int_equal(p.P_LOWINC_MULT, 150);
    assert_int_equal(p.P_TEKUN_MULT, 160);
    assert_int_equal(p.P_CARE_SEMI, 30000);
    assert_int_equal(p.P_EDU_HIGHER, 600000);
    assert_int_equal(p.P_CAREGIVER_PASS, 60);
    assert_int_equal(policy_params_set(&p, "P_DIBAO", 80000), 0);
    assert_int_equal(p.P_DIBAO, 80000);
    assert_int_equal(policy_params_set(&p, "P_CAREGIVER_PASS", 70), 0);
    assert_int_equal(p.P_CAREGIVER_PASS, 70);
    assert_int_equal(policy_params_set(&p, "P_NO_SUCH", 1), -1);
    assert_int_equal(policy_params_set(&p, "p_dibao", 1), -1);
    assert_int_equal(p.P_DIBAO, 80000);
}

static void test_name_tables(void **state)
{
    (void)state;
    for (int d = 0; d < DEPT_COUNT; d++)
        assert_int_equal(policy_dept_from_name(policy_dept_names[d]), d);
    assert_int_equal(policy_dept_from_name("tempaid"), DEPT_TEMPAID);
    assert_int_equal(policy_dept_from_name("care"), DEPT_CARE);
    assert_int_equal(policy_dept_from_name("police"), -1);
    assert_int_equal(policy_dept_from_name(NULL), -1);
    assert_string_equal(policy_group_names[0], "S1");
    assert_string_equal(policy_group_names[9], "S10");
    assert_string_equal(policy_group_names[12], "O1");
}

/* The test's ID numbers pass the real validator and carry the birth date. */
static void test_id_helper_makes_valid_ids(void **state)
{
    (void)state;
    static const aid_date_t births[] = {19650615, 19650616, 20080229, 20150615, 19550101};
    for (size_t i = 0; i < sizeof births / sizeof births[0]; i++) {
        for (int seq = 0; seq < 12; seq++) {
            char id[19], canon[19];
            aid_date_t birth = 0;
            id_make(births[i], seq, id);
            assert_int_equal(idcard_check(id, 18, AS_OF, canon, &birth), IDCARD_OK);
            assert_int_equal(birth, births[i]);
        }
    }
}

/* Ages are whole years on as_of: 60 on the birthday, 59 the day before. */
static void test_age_on_as_of(void **state)
{
    (void)state;
    report_t r;
    params_t p;
    assessment_t a;
    policy_params_default(&p);
    report_base(&r);
    add_born(&r, 19650615);
    add_born(&r, 19650616);
    add_born(&r, 20080229); /* leap-day birth */
    policy_assess(&r, &p, &a);
    assert_int_equal(a.persons[0].age, 60);
    assert_int_equal(a.persons[1].age, 59);
    assert_int_equal(a.persons[2].age, 17);
}

static void test_unknown_department_denied(void **state)
{
    (void)state;
    report_t r;
    params_t p;
    assessment_t a;
    decision_t d;
    policy_params_default(&p);
    b_ordinary(&r);
    policy_assess(&r, &p, &a);
    policy_decide((dept_t)DEPT_COUNT, &r, &a, &p, &d);
    assert_int_equal(d.status, STATUS_DENIED);
    assert_int_equal(d.n_measures, 0);
}

/* A full household of 30 tekun dibao members stays within the decision's
 * capacity and every member gets their measures. */
static void test_largest_household_fits(void **state)
{
    (void)state;
    report_t r;
    params_t p;
    assessment_t a;
    decision_t d;
    policy_params_default(&p);
    dibao(&r, DIBAO_FULL);
    r.status.single_parent = true;
    for (int i = 0; i < REPORT_MAX_MEMBERS; i++) {
        member_t *m = add(&r, 70);
        m->tekun = TEKUN_DISPERSED;
        m->self_care = SELFCARE_NONE;
    }
    policy_assess(&r, &p, &a);
    policy_decide(DEPT_CIVIL, &r, &a, &p, &d);
    /* supplement, support, care allowance and central-care offer each */
    assert_int_equal(d.n_measures, 4 * REPORT_MAX_MEMBERS);
    policy_decide(DEPT_CARE, &r, &a, &p, &d);
    assert_int_equal(d.n_measures, 2 * REPORT_MAX_MEMBERS);
}

/* R-DIBAO-GRANT, R-TEKUN-GRANT (grant.c): what a confirmed review grants, from the
 * proposal's review measures. */
static void test_grants_of_confirmed_reviews(void **state)
{
    (void)state;
    static report_t r;
    static assessment_t a;
    static decision_t d, g;
    params_t p;
    policy_params_default(&p);
    /* dibao: two members, 30000 fen together: per capita 15000, per member
     * P_DIBAO - 15000, for the household */
    report_base(&r);
    add(&r, 40)->monthly_income_fen = 30000;
    add(&r, 38)->monthly_income_fen = 0;
    policy_assess(&r, &p, &a);
    policy_decide(DEPT_CIVIL, &r, &a, &p, &d);
    assert_int_equal(d.n_measures, 1);
    assert_string_equal(d.measures[0].code, "civil.dibao_review");
    policy_grant(&r, &a, &d, &p, 10, &g);
    assert_int_equal(g.status, STATUS_GRANTED);
    assert_int_equal(g.n_measures, 1);
    assert_string_equal(g.measures[0].code, "civil.dibao_grant");
    assert_int_equal(g.measures[0].person, -1);
    assert_int_equal(g.measures[0].amount_fen, 2 * (p.P_DIBAO - 15000));
    assert_int_equal(g.measures[0].period, PERIOD_MONTH);
    assert_int_equal(g.measures[0].form, FORM_CASH);
    assert_string_equal(g.rules[0], "R-DIBAO-GRANT");
    /* just under the standard: at least P_DIBAO_MIN_RATE of it per member */
    r.members[0].monthly_income_fen = 2 * (p.P_DIBAO - 100);
    policy_assess(&r, &p, &a);
    policy_grant(&r, &a, &d, &p, 10, &g);
    assert_int_equal(g.measures[0].amount_fen, 2 * (p.P_DIBAO / 10));
    /* tekun: an elderly person without supporter, who cannot care for themselves:
     * R-TEKUN-STD + R-TEKUN-CARE, monthly, per person */
    report_base(&r);
    member_t *m = add(&r, 75);
    m->monthly_income_fen = 0;
    m->no_supporter = true;
    m->self_care = SELFCARE_NONE;
    policy_assess(&r, &p, &a);
    policy_decide(DEPT_CIVIL, &r, &a, &p, &d);
    assert_string_equal(d.measures[0].code, "civil.tekun_review");
    policy_grant(&r, &a, &d, &p, 10, &g);
    assert_int_equal(g.n_measures, 1);
    assert_string_equal(g.measures[0].code, "civil.tekun_grant");
    assert_int_equal(g.measures[0].person, 0);
    assert_int_equal(g.measures[0].amount_fen, 112800 + p.P_CARE_NONE);
    /* a proposal without a review grants nothing */
    d.n_measures = 0;
    policy_grant(&r, &a, &d, &p, 10, &g);
    assert_int_equal(g.status, STATUS_DENIED);
    assert_int_equal(g.n_measures, 0);
}

/* POLICY.md §17: the status the entitlements give replaces the reported one,
 * survives the stored assessment and says which in its note. */
static void test_status_from_entitlements(void **state)
{
    (void)state;
    report_t r;
    entitled_t e;
    char note[PROTO_STR_MAX + 1];
    report_base(&r);
    add(&r, 70)->monthly_income_fen = 0;
    member_t *k = add(&r, 40);
    k->monthly_income_fen = 0;
    k->tekun = TEKUN_DISPERSED;
    /* as reported: nothing to say */
    policy_entitled(&r, false, 2u, &e);
    assert_false(e.changed);
    policy_entitled_note(&e, note, sizeof note);
    assert_string_equal(note, "");
    /* dibao by entitlement, income 0: full; member 2 no longer tekun */
    policy_entitled(&r, true, 0, &e);
    assert_true(e.changed);
    assert_int_equal(r.status.dibao, DIBAO_FULL);
    assert_int_equal(r.members[1].tekun, TEKUN_NONE);
    policy_entitled_note(&e, note, sizeof note);
    assert_string_equal(note, "status from entitlements: dibao full (reported: none); "
                              "member 2 no tekun (reported: tekun)");
    /* the stored assessment carries it to the departments */
    assessment_t a, b;
    memset(&a, 0, sizeof a);
    a.n = r.n_members;
    a.entitled = e;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assessment_encode(&a, &pk);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(assessment_decode(&u.data, r.n_members, &b), 0);
    assert_true(b.entitled.changed);
    assert_int_equal(b.entitled.dibao, DIBAO_FULL);
    assert_int_equal(b.entitled.reported_dibao, DIBAO_NONE);
    assert_int_equal(b.entitled.tekun_off, 2u);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    report_t again;
    report_base(&again);
    add(&again, 70);
    add(&again, 40)->tekun = TEKUN_DISPERSED;
    policy_entitled_apply(&again, &b.entitled);
    assert_int_equal(again.status.dibao, DIBAO_FULL);
    assert_int_equal(again.members[1].tekun, TEKUN_NONE);
    /* an income: partial; a reported dibao with no entitlement: none */
    report_base(&r);
    add(&r, 50)->monthly_income_fen = 10000;
    policy_entitled(&r, true, 1u, &e);
    assert_int_equal(r.status.dibao, DIBAO_PARTIAL);
    assert_int_equal(r.members[0].tekun, TEKUN_DISPERSED);
    report_base(&r);
    r.status.dibao = DIBAO_PARTIAL;
    add(&r, 50);
    policy_entitled(&r, false, 0, &e);
    assert_int_equal(r.status.dibao, DIBAO_NONE);
    policy_entitled_note(&e, note, sizeof note);
    assert_string_equal(note, "status from entitlements: none (reported: dibao partial)");
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_params_defaults_and_set),
        cmocka_unit_test(test_name_tables),
        cmocka_unit_test(test_id_helper_makes_valid_ids),
        cmocka_unit_test(test_age_on_as_of),
        cmocka_unit_test(test_unknown_department_denied),
        cmocka_unit_test(test_largest_household_fits),
        cmocka_unit_test(test_invariants_every_row_report),
        cmocka_unit_test(test_grants_of_confirmed_reviews),
        cmocka_unit_test(test_status_from_entitlements),
    };
    enum { N_FIXED = sizeof fixed / sizeof fixed[0] };
    struct CMUnitTest tests[N_ROWS + N_FIXED];
    for (int k = 0; k < N_ROWS; k++)
        tests[k] = (struct CMUnitTest){rows[k].name, row_run, NULL, NULL, (void *)&rows[k]};
    for (int k = 0; k < N_FIXED; k++)
        tests[N_ROWS + k] = fixed[k];
    return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
