/* benefits.h — the bodies of the benefits operations (issue 17, POLICY.md
 * §17; proto/README.md): entitlements.list. */
#ifndef AID_PROTO_BENEFITS_H
#define AID_PROTO_BENEFITS_H

#include <msgpack.h>

#include "date.h"
#include "schema.h"

/* entitlements.list {"case_id"|"id_number", "month"?} */
typedef struct {
    char case_id[64];
    long long case_num;      /* the number of case_id, 0 when absent or malformed */
    char id_number[19];
    char month[16];          /* "" when absent: every month */
    aid_date_t month_first;  /* its first day, 0 when absent */
} benefits_list_t;

/* Exactly one of case_id ("case-<n>") and id_number; month written YYYY-MM. */
int benefits_list_decode(const msgpack_object *body, benefits_list_t *q, schema_err_t *err);

#endif
