/* report.h — the decoded form of a `report.submit` body (PROTOCOL.md).
 *
 * Plain structs, no pointers: a report_t can be copied, zeroed and handed to
 * the pure policy functions without any ownership questions. Enums keep the
 * order of PROTOCOL.md, so the first value is the default the contract names.
 * Decoding and validation live in schema.c (driven by the tables in report.c).
 */
#ifndef AID_PROTO_REPORT_H
#define AID_PROTO_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "date.h"
#include "names.h"

#define REPORT_MAX_MEMBERS 30
#define REPORT_MAX_CIRCUMSTANCES 20
#define PROTO_STR_MAX 256 /* bytes of UTF-8, PROTOCOL.md limits */
#define REPORT_TRIGGER_MAX 15 /* bytes of report_t.trigger, "medical_expense" */
/* The trigger kinds of trigger.submit (PROTOCOL.md), NULL-terminated. */
extern const char *const report_trigger_kinds[];

typedef enum { URGENCY_NORMAL, URGENCY_URGENT } urgency_t;
typedef enum { DIBAO_NONE, DIBAO_PARTIAL, DIBAO_FULL } dibao_t;
typedef enum {
    HOUSING_OWNED, HOUSING_RENTING, HOUSING_NONE, HOUSING_DANGEROUS, HOUSING_DAMAGED,
    HOUSING_PUBLIC_RENTAL
} housing_t;
typedef enum {
    REL_HEAD, REL_SPOUSE, REL_CHILD, REL_PARENT, REL_GRANDCHILD, REL_SIBLING, REL_OTHER
} relation_t;
typedef enum { TEKUN_NONE, TEKUN_DISPERSED, TEKUN_CENTRALIZED } tekun_t;
typedef enum {
    DISKIND_NONE, DISKIND_PHYSICAL, DISKIND_VISUAL, DISKIND_HEARING, DISKIND_SPEECH,
    DISKIND_INTELLECTUAL, DISKIND_MENTAL, DISKIND_MULTIPLE
} disability_kind_t;
typedef enum { SELFCARE_FULL, SELFCARE_SEMI, SELFCARE_NONE } self_care_t;
typedef enum {
    STAGE_NONE, STAGE_PRESCHOOL, STAGE_COMPULSORY, STAGE_SENIOR, STAGE_VOCATIONAL, STAGE_HIGHER
} school_stage_t;
typedef enum { DEPTREC_NONE, DEPTREC_HARDSHIP_WORKER, DEPTREC_OCCUPATIONAL_DISEASE } dept_recognized_t;
typedef enum {
    CIRC_ILLNESS, CIRC_ACCIDENT, CIRC_DISASTER, CIRC_EPIDEMIC, CIRC_SCHOOLING,
    CIRC_UNEMPLOYMENT, CIRC_HOUSING_LOSS, CIRC_DEATH, CIRC_OTHER
} circumstance_kind_t;

/* One household member (家庭成员). */
typedef struct {
    char id_number[19];          /* 18 chars, validated, upper-case X */
    char name[PROTO_STR_MAX + 1];
    int relation;                /* relation_t */
    bool hukou_local;            /* local household registration (户籍) */
    bool residence_permit;
    int64_t months_working_locally;
    int64_t monthly_income_fen;
    int tekun;                   /* tekun_t (特困) */
    int64_t disability_grade;    /* 0 none, 1..4 */
    int disability_kind;         /* disability_kind_t */
    bool serious_illness;
    int self_care;               /* self_care_t */
    bool labor_capacity;
    bool employed;
    bool wants_work;
    int school_stage;            /* school_stage_t */
    bool orphan;
    bool unsupported_minor;      /* 事实无人抚养未成年人 */
    bool left_behind;            /* 留守 */
    bool minor_in_difficulty;    /* 困境未成年人 */
    bool no_supporter;
    bool three_nos;              /* 三无 */
    bool retired_1960s;          /* 60年代精简退职老职工 */
    int dept_recognized;         /* dept_recognized_t */
} member_t;

typedef struct {
    int kind;                    /* circumstance_kind_t */
    int64_t expense_fen;
    aid_date_t occurred_on;      /* 0 when absent */
    char id_number[19];          /* informational; "" when absent */
    char note[PROTO_STR_MAX + 1];
} circumstance_t;

typedef struct {
    aid_date_t as_of;            /* 0 when absent: intake fills in the day received */
    int source;                  /* source_t (names.h) */
    char reporter[PROTO_STR_MAX + 1];
    char county[7];
    char township[10];
    char village[13];
    bool urban;
    int urgency;                 /* urgency_t */
    /* household: aligned so the wire's "household" object maps onto it */
    _Alignas(8) struct {
        int dibao;               /* dibao_t */
        bool low_income;
        bool single_parent;
        bool one_child;
        bool two_daughter;
        bool relocation_site;
    } status;
    int housing;                 /* housing_t */
    int n_members;
    member_t members[REPORT_MAX_MEMBERS];
    int n_circumstances;
    circumstance_t circumstances[REPORT_MAX_CIRCUMSTANCES];
    /* Set only on a report the system files for a trigger.submit (services/
     * intake/op_trigger.c, services/triggers): the trigger's kind, one of
     * report_trigger_kinds; "" on every other report. Optional on the wire and
     * left out when empty, so every other report encodes as before. */
    char trigger[REPORT_TRIGGER_MAX + 1];
} report_t;

#endif
