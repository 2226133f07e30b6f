/* report.c — the `report.submit` body declared as schema tables, and the
 * checks that span fields (birth dates against as_of, duplicate members,
 * area codes nested in each other). */
#include "proto.h"

#include <stdio.h>
#include <string.h>

#include "idcard.h"

static const char *const urgency_names[] = {"normal", "urgent", NULL};
static const char *const dibao_names[] = {"none", "partial", "full", NULL};
static const char *const housing_names[] = {"owned", "renting", "none", "dangerous",
                                            "damaged", "public_rental", NULL};
static const char *const relation_names[] = {"head", "spouse", "child", "parent",
                                             "grandchild", "sibling", "other", NULL};
static const char *const tekun_names[] = {"none", "dispersed", "centralized", NULL};
static const char *const diskind_names[] = {"none", "physical", "visual", "hearing", "speech",
                                            "intellectual", "mental", "multiple", NULL};
static const char *const self_care_names[] = {"full", "semi", "none", NULL};
static const char *const stage_names[] = {"none", "preschool", "compulsory", "senior",
                                          "vocational", "higher", NULL};
static const char *const deptrec_names[] = {"none", "hardship_worker", "occupational_disease", NULL};
const char *const report_trigger_kinds[] = {"disaster", "medical_expense", "unemployment",
                                           "disability", "death", NULL};
static const char *const circ_names[] = {"illness", "accident", "disaster", "epidemic", "schooling",
                                         "unemployment", "housing_loss", "death", "other", NULL};

#define MONEY_MAX 100000000000LL /* 1 billion yuan: far above any real figure */

static const schema_field_t member_fields[] = {
    SF_IDNUM(member_t, id_number, "id_number", true),
    SF_STR(member_t, name, "name", true, PROTO_STR_MAX),
    SF_ENUM(member_t, relation, "relation", false, relation_names),
    SF_BOOL(member_t, hukou_local, "hukou_local", true),
    SF_BOOL(member_t, residence_permit, "residence_permit", false),
    SF_INT(member_t, months_working_locally, "months_working_locally", false, 0, 1200),
    SF_INT(member_t, monthly_income_fen, "monthly_income_fen", false, 0, MONEY_MAX),
    SF_ENUM(member_t, tekun, "tekun", false, tekun_names),
    SF_INT(member_t, disability_grade, "disability_grade", false, 0, 4),
    SF_ENUM(member_t, disability_kind, "disability_kind", false, diskind_names),
    SF_BOOL(member_t, serious_illness, "serious_illness", false),
    SF_ENUM(member_t, self_care, "self_care", false, self_care_names),
    SF_BOOL(member_t, labor_capacity, "labor_capacity", false),
    SF_BOOL(member_t, employed, "employed", false),
    SF_BOOL(member_t, wants_work, "wants_work", false),
    SF_ENUM(member_t, school_stage, "school_stage", false, stage_names),
    SF_BOOL(member_t, orphan, "orphan", false),
    SF_BOOL(member_t, unsupported_minor, "unsupported_minor", false),
    SF_BOOL(member_t, left_behind, "left_behind", false),
    SF_BOOL(member_t, minor_in_difficulty, "minor_in_difficulty", false),
    SF_BOOL(member_t, no_supporter, "no_supporter", false),
    SF_BOOL(member_t, three_nos, "three_nos", false),
    SF_BOOL(member_t, retired_1960s, "retired_1960s", false),
    SF_ENUM(member_t, dept_recognized, "dept_recognized", false, deptrec_names),
};
static SCHEMA(member_schema, "member", member_fields);

typedef struct {
    int dibao;
    bool low_income, single_parent, one_child, two_daughter, relocation_site;
} status_view_t; /* same layout as report_t.status */

static const schema_field_t status_fields[] = {
    SF_ENUM(status_view_t, dibao, "dibao", false, dibao_names),
    SF_BOOL(status_view_t, low_income, "low_income", false),
    SF_BOOL(status_view_t, single_parent, "single_parent", false),
    SF_BOOL(status_view_t, one_child, "one_child", false),
    SF_BOOL(status_view_t, two_daughter, "two_daughter", false),
    SF_BOOL(status_view_t, relocation_site, "relocation_site", false),
};
static SCHEMA(status_schema, "status", status_fields);

/* report_t keeps household fields at the top level; this view maps the wire's
 * "household" object onto them. It is the part of report_t from status on. */
typedef struct {
    _Alignas(8) status_view_t status;
    int housing;
    int n_members;
    member_t members[REPORT_MAX_MEMBERS];
} household_view_t;

static const schema_field_t household_fields[] = {
    SF_OBJ(household_view_t, status, "status", false, &status_schema),
    SF_ENUM(household_view_t, housing, "housing", false, housing_names),
    SF_ARR(household_view_t, members, "members", true, &member_schema, n_members, 1,
           REPORT_MAX_MEMBERS),
};
static SCHEMA(household_schema, "household", household_fields);

typedef struct {
    char county[7], township[10], village[13];
} area_view_t;

static const schema_field_t area_fields[] = {
    SF_DIGITS(area_view_t, county, "county", true, 6),
    SF_DIGITS(area_view_t, township, "township", true, 9),
    SF_DIGITS(area_view_t, village, "village", true, 12),
};
static SCHEMA(area_schema, "area", area_fields);

static const schema_field_t circumstance_fields[] = {
    SF_ENUM(circumstance_t, kind, "kind", true, circ_names),
    SF_INT(circumstance_t, expense_fen, "expense_fen", false, 0, MONEY_MAX),
    SF_DATE(circumstance_t, occurred_on, "occurred_on", false),
    SF_IDNUM(circumstance_t, id_number, "id_number", false),
    SF_STR(circumstance_t, note, "note", false, PROTO_STR_MAX),
};
static SCHEMA(circumstance_schema, "circumstance", circumstance_fields);

/* The layouts must line up with report_t for the views above to be valid. */
_Static_assert(offsetof(report_t, township) == offsetof(report_t, county) + 7, "area layout");
_Static_assert(offsetof(report_t, village) == offsetof(report_t, county) + 17, "area layout");
_Static_assert(sizeof(((report_t *)0)->status) == sizeof(status_view_t), "status layout");
_Static_assert(offsetof(report_t, housing) - offsetof(report_t, status) ==
                   offsetof(household_view_t, housing), "household layout");
_Static_assert(offsetof(report_t, members) - offsetof(report_t, status) ==
                   offsetof(household_view_t, members), "household layout");
_Static_assert(offsetof(report_t, n_members) - offsetof(report_t, status) ==
                   offsetof(household_view_t, n_members), "household layout");

static const schema_field_t report_fields[] = {
    SF_DATE(report_t, as_of, "as_of", false),
    SF_ENUM(report_t, source, "source", false, proto_sources),
    SF_STR(report_t, reporter, "reporter", false, PROTO_STR_MAX),
    {"area", FT_OBJ, offsetof(report_t, county), 0, 0, 0, NULL, &area_schema, 0, true, SF_LEN("area")},
    SF_BOOL(report_t, urban, "urban", false),
    SF_ENUM(report_t, urgency, "urgency", false, urgency_names),
    {"household", FT_OBJ, offsetof(report_t, status), 0, 0, 0, NULL, &household_schema, 0, true,
     SF_LEN("household")},
    SF_ARR(report_t, circumstances, "circumstances", false, &circumstance_schema,
           n_circumstances, 0, REPORT_MAX_CIRCUMSTANCES),
    SF_STR(report_t, trigger, "trigger", false, REPORT_TRIGGER_MAX),
};
SCHEMA(proto_report_schema, "body", report_fields);

static int fail(schema_err_t *err, const char *field, const char *msg)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, "%s", msg);
    return -1;
}

int proto_report_decode(const msgpack_object *body, aid_date_t today, report_t *r,
                        schema_err_t *err)
{
    memset(r, 0, sizeof *r);
    if (schema_decode(&proto_report_schema, body, r, "", err) != 0)
        return -1;
    if (r->as_of == 0)
        r->as_of = today;
    else if (r->as_of > today)
        return fail(err, "as_of", "must not be in the future");
    if (strncmp(r->township, r->county, 6) != 0)
        return fail(err, "area.township", "must begin with the county code");
    if (strncmp(r->village, r->township, 9) != 0)
        return fail(err, "area.village", "must begin with the township code");
    if (r->trigger[0]) {
        int k = 0;
        while (report_trigger_kinds[k] && strcmp(report_trigger_kinds[k], r->trigger) != 0)
            k++;
        if (!report_trigger_kinds[k])
            return fail(err, "trigger",
                        "must be one of disaster|medical_expense|unemployment|disability|death");
        if (r->source != SOURCE_DEPARTMENT)
            return fail(err, "trigger", "only a report with source department carries a trigger");
    }
    for (int i = 0; i < r->n_members; i++) {
        char path[96];
        snprintf(path, sizeof path, "household.members[%d].id_number", i);
        if (idcard_birth(r->members[i].id_number) > r->as_of)
            return fail(err, path, idcard_strerror(IDCARD_FUTURE));
        for (int j = 0; j < i; j++)
            if (strcmp(r->members[i].id_number, r->members[j].id_number) == 0) {
                char msg[96];
                snprintf(msg, sizeof msg, "same ID number as members[%d]", j);
                return fail(err, path, msg);
            }
    }
    for (int i = 0; i < r->n_circumstances; i++) {
        const circumstance_t *c = &r->circumstances[i];
        const char *id = c->id_number;
        char path[64];
        snprintf(path, sizeof path, "circumstances[%d].id_number", i);
        if (id[0] && idcard_birth(id) > r->as_of)
            return fail(err, path, idcard_strerror(IDCARD_FUTURE));
        if (c->kind != CIRC_DEATH || !id[0])
            continue;
        /* a death naming the person ends their entitlements (POLICY.md §17, R-EXIT):
         * its day is needed, and the household is listed as it is now */
        for (int j = 0; j < r->n_members; j++)
            if (strcmp(id, r->members[j].id_number) == 0) {
                char msg[96];
                snprintf(msg, sizeof msg,
                         "the person who died is listed in household.members[%d]; list the living", j);
                return fail(err, path, msg);
            }
        for (int j = 0; j < i; j++)
            if (r->circumstances[j].kind == CIRC_DEATH &&
                strcmp(id, r->circumstances[j].id_number) == 0) {
                char msg[64];
                snprintf(msg, sizeof msg, "same death as circumstances[%d]", j);
                return fail(err, path, msg);
            }
        snprintf(path, sizeof path, "circumstances[%d].occurred_on", i);
        if (c->occurred_on == 0)
            return fail(err, path, "a death naming a person needs the day it occurred");
        if (c->occurred_on > r->as_of)
            return fail(err, path, "a death must not be after as_of");
        if (c->occurred_on < idcard_birth(id))
            return fail(err, path, "a death must not be before the person's birth");
    }
    return 0;
}

void proto_report_encode(const report_t *r, msgpack_packer *pk)
{
    schema_encode(&proto_report_schema, r, pk);
}
