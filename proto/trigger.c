/* trigger.c — trigger.submit bodies as schema tables, their cross-field
 * checks, and the change each trigger makes to a household's report. */
#include "trigger.h"

#include <stdio.h>
#include <string.h>

#include "idcard.h"
#include "mp.h"

#define MONEY_MAX 100000000000LL /* as report.c: far above any real figure */

const char *const trigger_hazards[] = {"flood", "drought", "earthquake", "landslide", "typhoon",
                                       "storm", "hail", "snow", "freeze", "fire", "other", NULL};
/* The certificate's kinds; "none" is no disability and no trigger. */
static const char *const diskind_names[] = {"physical", "visual", "hearing", "speech",
                                            "intellectual", "mental", "multiple", NULL};

/* Every schema has the kind, so a body is one map with no unknown key. */
#define SF_KIND SF_ENUM(proto_trigger_t, kind, "kind", true, report_trigger_kinds)

static const schema_field_t disaster_fields[] = {
    SF_KIND,
    SF_STRARR(proto_trigger_t, areas, "areas", false, n_areas, TRIGGER_MAX_AREAS),
    SF_IDNUM(proto_trigger_t, id_number, "id_number", false),
    SF_ENUM(proto_trigger_t, hazard, "hazard", true, trigger_hazards),
    SF_DATE(proto_trigger_t, occurred_on, "occurred_on", false),
};
static const schema_field_t medical_fields[] = {
    SF_KIND,
    SF_IDNUM(proto_trigger_t, id_number, "id_number", true),
    SF_INT(proto_trigger_t, expense_fen, "expense_fen", true, 1, MONEY_MAX),
    SF_INT(proto_trigger_t, months, "months", true, 1, TRIGGER_MAX_MONTHS),
};
static const schema_field_t unemployment_fields[] = {
    SF_KIND,
    SF_IDNUM(proto_trigger_t, id_number, "id_number", true),
    SF_DATE(proto_trigger_t, occurred_on, "occurred_on", false),
};
static const schema_field_t disability_fields[] = {
    SF_KIND,
    SF_IDNUM(proto_trigger_t, id_number, "id_number", true),
    SF_INT(proto_trigger_t, disability_grade, "disability_grade", true, 1, 4),
    SF_ENUM(proto_trigger_t, disability_kind, "disability_kind", true, diskind_names),
    SF_DATE(proto_trigger_t, occurred_on, "occurred_on", false),
};
static const schema_field_t death_fields[] = {
    SF_KIND,
    SF_IDNUM(proto_trigger_t, id_number, "id_number", true),
    SF_DATE(proto_trigger_t, occurred_on, "occurred_on", false),
};
static SCHEMA(disaster_schema, "body", disaster_fields);
static SCHEMA(medical_schema, "body", medical_fields);
static SCHEMA(unemployment_schema, "body", unemployment_fields);
static SCHEMA(disability_schema, "body", disability_fields);
static SCHEMA(death_schema, "body", death_fields);

/* By trigger_kind_t. */
static const schema_t *const schemas[] = {&disaster_schema, &medical_schema,
                                          &unemployment_schema, &disability_schema,
                                          &death_schema};

static int fail(schema_err_t *err, const char *prefix, const char *field, const char *msg)
{
    if (*prefix)
        snprintf(err->field, sizeof err->field, "%s.%s", prefix, field);
    else
        snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, "%s", msg);
    return -1;
}

bool proto_trigger_is_area(const proto_trigger_t *t)
{
    return t->kind == TRIGGER_DISASTER && t->n_areas > 0;
}

int proto_trigger_decode(const msgpack_object *body, aid_date_t today, const char *prefix,
                         proto_trigger_t *t, schema_err_t *err)
{
    memset(t, 0, sizeof *t);
    if (!body || body->type != MSGPACK_OBJECT_MAP)
        return fail(err, "", *prefix ? prefix : "body", "a trigger is a map with a kind");
    /* the kind chooses the schema; an unknown one is named before anything else */
    const msgpack_object *kind = mp_get(body, "kind");
    int k = -1;
    for (int i = 0; kind && report_trigger_kinds[i]; i++)
        if (mp_str_is(kind, report_trigger_kinds[i]))
            k = i;
    if (!kind)
        return fail(err, prefix, "kind", "is required");
    if (k < 0)
        return fail(err, prefix, "kind",
                    "must be one of disaster|medical_expense|unemployment|disability|death");
    if (schema_decode(schemas[k], body, t, prefix, err) != 0)
        return -1;
    if (t->occurred_on > today)
        return fail(err, prefix, "occurred_on", "must not be in the future");
    if (t->id_number[0] && idcard_birth(t->id_number) > today)
        return fail(err, prefix, "id_number", idcard_strerror(IDCARD_FUTURE));
    if (k == TRIGGER_DISASTER) {
        if (!t->n_areas == !t->id_number[0])
            return fail(err, prefix, "areas",
                        "a disaster needs areas (township or village codes) or the id_number "
                        "of one household, not both");
        for (int i = 0; i < t->n_areas; i++) {
            size_t n = strlen(t->areas[i]);
            if ((n != 9 && n != 12) || strspn(t->areas[i], "0123456789") != n) {
                char field[48];
                snprintf(field, sizeof field, "areas[%d]", i);
                return fail(err, prefix, field,
                            "must be a 9-digit township or a 12-digit village code");
            }
        }
    } else if (k == TRIGGER_DISABILITY) {
        t->disability_kind += 1; /* the wire list leaves out "none" */
    }
    return 0;
}

/* Appends a circumstance; there is always room: synth starts with none. */
static circumstance_t *add_circumstance(report_t *r, int kind, aid_date_t on)
{
    if (r->n_circumstances >= REPORT_MAX_CIRCUMSTANCES)
        r->n_circumstances = REPORT_MAX_CIRCUMSTANCES - 1;
    circumstance_t *c = &r->circumstances[r->n_circumstances++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->occurred_on = on ? on : r->as_of;
    return c;
}

static int find_member(const report_t *r, const char *id_number)
{
    for (int i = 0; i < r->n_members; i++)
        if (strcmp(r->members[i].id_number, id_number) == 0)
            return i;
    return -1;
}

int proto_trigger_apply(const proto_trigger_t *t, const char *trigger_id, const char *prefix,
                        report_t *r, proto_error_t *err)
{
    snprintf(r->trigger, sizeof r->trigger, "%s", report_trigger_kinds[t->kind]);
    snprintf(r->reporter, sizeof r->reporter, "%s", trigger_id);
    r->source = SOURCE_DEPARTMENT;
    if (t->kind == TRIGGER_DISASTER) {
        r->urgency = URGENCY_URGENT;
        circumstance_t *c = add_circumstance(r, CIRC_DISASTER, t->occurred_on);
        snprintf(c->note, sizeof c->note, "%s (%s)", trigger_hazards[t->hazard], trigger_id);
        return 1;
    }
    int i = find_member(r, t->id_number);
    if (i < 0) {
        char field[200];
        snprintf(field, sizeof field, "%s%sid_number", prefix, *prefix ? "." : "");
        return proto_fail(err, PROTO_NOT_FOUND, field,
                          "this person is no longer a member of the registered household");
    }
    member_t *m = &r->members[i];
    circumstance_t *c;
    switch (t->kind) {
    case TRIGGER_MEDICAL_EXPENSE:
        c = add_circumstance(r, CIRC_ILLNESS, date_add_months(r->as_of, -(int)t->months));
        c->expense_fen = t->expense_fen;
        memcpy(c->id_number, m->id_number, sizeof c->id_number);
        snprintf(c->note, sizeof c->note, "out-of-pocket medical expenses of %lld month(s) (%s)",
                 (long long)t->months, trigger_id);
        return 1;
    case TRIGGER_UNEMPLOYMENT:
        if (!m->employed)
            return 0;
        m->employed = false;
        c = add_circumstance(r, CIRC_UNEMPLOYMENT, t->occurred_on);
        memcpy(c->id_number, m->id_number, sizeof c->id_number);
        snprintf(c->note, sizeof c->note, "unemployment (%s)", trigger_id);
        return 1;
    case TRIGGER_DISABILITY:
        if (m->disability_grade == t->disability_grade && m->disability_kind == t->disability_kind)
            return 0;
        m->disability_grade = t->disability_grade;
        m->disability_kind = t->disability_kind;
        return 1;
    case TRIGGER_DEATH: {
        if (r->n_members <= 1)
            return 0;
        char deceased[19];
        memcpy(deceased, m->id_number, sizeof deceased);
        memmove(&r->members[i], &r->members[i + 1],
                (size_t)(r->n_members - i - 1) * sizeof r->members[0]);
        r->n_members--;
        c = add_circumstance(r, CIRC_DEATH, t->occurred_on);
        memcpy(c->id_number, deceased, sizeof c->id_number);
        snprintf(c->note, sizeof c->note, "death of a member (%s)", trigger_id);
        return 1;
    }
    }
    return 0;
}
