/* department.c — referrals.pending and decision.submit bodies, the check of
 * an external decision, and the masked report a department handler sees. */
#include "department.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idcard.h"
#include "proto.h"

#define MONEY_MAX 100000000000LL /* as report.c */

/* ---- referrals.pending ---------------------------------------------------- */

static const schema_field_t pending_fields[] = {
    SF_ENUM(proto_pending_t, department, "department", true, rules_departments),
    SF_INT(proto_pending_t, after_seq, "after_seq", false, 0, INT64_MAX),
    SF_INT(proto_pending_t, limit, "limit", false, 1, PROTO_PENDING_MAX_LIMIT),
};
static SCHEMA(pending_schema, "body", pending_fields);

static int fail(schema_err_t *err, const char *field, const char *msg)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, "%s", msg);
    return -1;
}

int proto_pending_decode(const msgpack_object *body, proto_pending_t *q, schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (!body)
        return fail(err, "department", "is required");
    if (schema_decode(&pending_schema, body, q, "", err) != 0)
        return -1;
    if (q->limit == 0)
        q->limit = 100;
    return 0;
}

/* ---- decision.submit --------------------------------------------------------- */

static const schema_field_t measure_fields[] = {
    SF_STR(proto_measure_in_t, code, "code", true, 47),
    SF_INT(proto_measure_in_t, person, "person", false, 0, REPORT_MAX_MEMBERS - 1),
    SF_INT(proto_measure_in_t, amount_fen, "amount_fen", false, 0, MONEY_MAX),
    SF_ENUM(proto_measure_in_t, period, "period", false, proto_periods),
    SF_ENUM(proto_measure_in_t, form, "form", false, proto_forms),
};
static SCHEMA(measure_schema, "measure", measure_fields);

static const schema_field_t decision_fields[] = {
    SF_STR(proto_decision_t, referral_id, "referral_id", true, 63),
    SF_ENUM(proto_decision_t, status, "status", true, proto_decision_statuses),
    SF_STR(proto_decision_t, reason, "reason", false, PROTO_STR_MAX),
    SF_ARR(proto_decision_t, measures, "measures", false, &measure_schema, n_measures, 0,
           PROTO_DECISION_MAX_MEASURES),
    SF_STRARR(proto_decision_t, rules, "rules", false, n_rules, PROTO_DECISION_MAX_RULES),
};
static SCHEMA(decision_schema, "body", decision_fields);

int proto_decision_decode(const msgpack_object *body, proto_decision_t *d, schema_err_t *err)
{
    memset(d, 0, sizeof *d);
    /* absent optional members keep these: "no person", "take the code's" */
    for (int i = 0; i < PROTO_DECISION_MAX_MEASURES; i++) {
        d->measures[i].person = -1;
        d->measures[i].period = -1;
        d->measures[i].form = -1;
    }
    if (!body)
        return fail(err, "referral_id", "is required");
    if (schema_decode(&decision_schema, body, d, "", err) != 0)
        return -1;
    d->status += STATUS_GRANTED; /* decoded as an index into proto_decision_statuses */
    return 0;
}

long long proto_referral_number(const char *wire_id)
{
    const char *p = strncmp(wire_id, "referral-", 9) == 0 ? wire_id + 9 : "";
    size_t n = strlen(p);
    if (n == 0 || n > 18 || strspn(p, "0123456789") != n)
        return -1;
    return atoll(p);
}

static int fail_at(schema_err_t *err, const char *fmt, int i, const char *msg)
{
    char field[64];
    snprintf(field, sizeof field, fmt, i);
    return fail(err, field, msg);
}

int proto_decision_check(proto_decision_t *d, const char *department, int n_members,
                         schema_err_t *err)
{
    if (d->status == STATUS_GRANTED && d->n_measures == 0)
        return fail(err, "measures", "a granted decision records at least one measure");
    if (d->status == STATUS_DENIED && d->n_measures > 0)
        return fail(err, "measures", "a denied decision records no measure");
    if (d->status != STATUS_GRANTED && d->reason[0] == '\0')
        return fail(err, "reason", "a denied or referred decision gives its reason");
    if (d->n_rules == 0 && d->status == STATUS_GRANTED)
        return fail(err, "rules", "a grant cites the rule ids (docs/policy.md) that produced it");
    for (int i = 0; i < d->n_measures; i++) {
        proto_measure_in_t *m = &d->measures[i];
        const rules_measure_t *rm = rules_measure_find(m->code);
        char msg[200];
        if (!rm)
            return fail_at(err, "measures[%d].code", i, "no such measure code (PROTOCOL.md)");
        if (strcmp(rm->department, department) != 0) {
            snprintf(msg, sizeof msg, "is a measure of %s, not of %s", rm->department, department);
            return fail_at(err, "measures[%d].code", i, msg);
        }
        if (m->period >= 0 && m->period != (int)rm->period) {
            snprintf(msg, sizeof msg, "%s has period %s", m->code, proto_periods[rm->period]);
            return fail_at(err, "measures[%d].period", i, msg);
        }
        if (m->form >= 0 && m->form != (int)rm->form) {
            snprintf(msg, sizeof msg, "%s has form %s", m->code, proto_forms[rm->form]);
            return fail_at(err, "measures[%d].form", i, msg);
        }
        m->period = (int)rm->period;
        m->form = (int)rm->form;
        if (rm->form == FORM_CASH && m->amount_fen < 1)
            return fail_at(err, "measures[%d].amount_fen", i,
                           "a cash measure is at least 1 fen (0 fen is no measure, POLICY.md §15)");
        if (rm->form != FORM_CASH && m->amount_fen != 0)
            return fail_at(err, "measures[%d].amount_fen", i, "a measure that is not cash carries 0");
        if (rm->subject == RULES_PER_PERSON && m->person < 0)
            return fail_at(err, "measures[%d].person", i,
                           "this measure is per person: give the member's index");
        if (rm->subject == RULES_PER_HOUSEHOLD && m->person >= 0)
            return fail_at(err, "measures[%d].person", i,
                           "this measure is for the household: give no person");
        if (m->person >= n_members)
            return fail_at(err, "measures[%d].person", i, "no such member in the report");
        for (int j = 0; j < i; j++)
            if (strcmp(d->measures[j].code, m->code) == 0 && d->measures[j].person == m->person)
                return fail_at(err, "measures[%d]", i, "the same measure appears twice");
    }
    for (int i = 0; i < d->n_rules; i++) {
        if (!rules_id_known(d->rules[i]))
            return fail_at(err, "rules[%d]", i, "no such rule id (docs/policy.md)");
        for (int j = 0; j < i; j++)
            if (strcmp(d->rules[j], d->rules[i]) == 0)
                return fail_at(err, "rules[%d]", i, "appears twice");
    }
    return 0;
}

/* ---- what a department sees --------------------------------------------------- */

bool proto_department_sees_ids(const char *department)
{
    static const char *const with_ids[] = {"civil", "medical", "education", "employment",
                                           "care", NULL};
    return proto_name_find(with_ids, department) >= 0;
}

void proto_department_pack_report(const report_t *r, msgpack_packer *pk)
{
    report_t *v = malloc(sizeof *v);
    if (!v) {
        msgpack_pack_nil(pk);
        return;
    }
    memcpy(v, r, sizeof *v);
    for (int i = 0; i < v->n_members; i++) {
        char masked[20], name[PROTO_STR_MAX + 1];
        idcard_mask(r->members[i].id_number, strlen(r->members[i].id_number), masked, sizeof masked);
        name_mask(r->members[i].name, name, sizeof name);
        snprintf(v->members[i].id_number, sizeof v->members[i].id_number, "%s", masked);
        snprintf(v->members[i].name, sizeof v->members[i].name, "%s", name);
    }
    for (int i = 0; i < v->n_circumstances; i++)
        if (r->circumstances[i].id_number[0]) {
            char masked[20];
            idcard_mask(r->circumstances[i].id_number, 18, masked, sizeof masked);
            snprintf(v->circumstances[i].id_number, sizeof v->circumstances[i].id_number, "%s",
                     masked);
        }
    proto_report_encode(v, pk);
    free(v);
}
