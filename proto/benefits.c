/* benefits.c — the benefits bodies (benefits.h) as schema tables, and what a
 * table cannot state: one of case_id and id_number, months written YYYY-MM. */
#include "benefits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care.h"

static int fail(schema_err_t *err, const char *field, const char *msg)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, "%s", msg);
    return -1;
}

/* The number of "case-<n>" (1 to 18 digits, not 0); 0 when s is not one. */
static long long case_number(const char *s)
{
    const char *p = strncmp(s, "case-", 5) == 0 ? s + 5 : "";
    if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 18)
        return 0;
    return atoll(p);
}

static const schema_field_t list_fields[] = {
    SF_STR(benefits_list_t, case_id, "case_id", false, 63),
    SF_IDNUM(benefits_list_t, id_number, "id_number", false),
    SF_STR(benefits_list_t, month, "month", false, 15),
};
static SCHEMA(list_schema, "body", list_fields);

int benefits_list_decode(const msgpack_object *body, benefits_list_t *q, schema_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (!body)
        return fail(err, "body", "this operation needs a body");
    if (schema_decode(&list_schema, body, q, "", err) != 0)
        return -1;
    if (!q->case_id[0] == !q->id_number[0])
        return fail(err, "case_id", "give exactly one of case_id and id_number");
    if (q->case_id[0])
        q->case_num = case_number(q->case_id); /* 0: malformed, answered not_found */
    if (q->month[0] && !(q->month_first = care_month_parse(q->month)))
        return fail(err, "month", "must be a month written YYYY-MM (e.g. 2026-11)");
    return 0;
}
