/* record.c — the one decision recorder: decisions as the arrays of
 * aid_apply_decisions (record.h). */
#include "record.h"

#include <stdio.h>

#include "idcard.h"
#include "proto.h"

void record_init(record_batch_t *b)
{
    for (int k = 0; k < RECORD_ARRAYS; k++)
        pgarr_init(&b->arr[k]);
}

void record_reset(record_batch_t *b)
{
    for (int k = 0; k < RECORD_ARRAYS; k++)
        pgarr_reset(&b->arr[k]);
}

void record_free(record_batch_t *b)
{
    for (int k = 0; k < RECORD_ARRAYS; k++)
        pgarr_free(&b->arr[k]);
}

void record_add(record_batch_t *b, const record_entry_t *e)
{
    const decision_t *d = e->decision;
    pgarr_t *a = b->arr;
    pgarr_add_int(&a[RECORD_REFS], e->referral_id);
    pgarr_add_text(&a[RECORD_STATUS], proto_statuses[d->status]);
    pgarr_add_text(&a[RECORD_REASON], d->reason);
    size_t len = 0;
    b->rules[0] = '\0';
    for (int k = 0; k < d->n_rules; k++)
        len += (size_t)snprintf(b->rules + len, len < sizeof b->rules ? sizeof b->rules - len : 0,
                                "%s%s", k ? "," : "", d->rules[k]);
    pgarr_add_text(&a[RECORD_RULES], b->rules);
    for (int k = 0; k < d->n_measures; k++) {
        const measure_t *m = &d->measures[k];
        pgarr_add_int(&a[RECORD_MREF], e->referral_id);
        pgarr_add_int(&a[RECORD_MORD], k + 1);
        pgarr_add_text(&a[RECORD_CODES], m->code);
        if (m->person >= 0 && m->person < e->report->n_members) {
            char masked[20];
            idcard_mask(e->report->members[m->person].id_number, 18, masked, sizeof masked);
            pgarr_add_int(&a[RECORD_PERSONS], m->person);
            pgarr_add_text(&a[RECORD_MASKS], masked);
        } else {
            pgarr_add_null(&a[RECORD_PERSONS]);
            pgarr_add_null(&a[RECORD_MASKS]);
        }
        pgarr_add_int(&a[RECORD_AMOUNTS], m->amount_fen);
        pgarr_add_text(&a[RECORD_PERIODS], proto_periods[m->period]);
        pgarr_add_text(&a[RECORD_FORMS], proto_forms[m->form]);
    }
}

int record_params(record_batch_t *b, const char *decided_by, const char *vals[RECORD_PARAMS])
{
    for (int k = 0; k < RECORD_ARRAYS; k++)
        if (!(vals[k] = pgarr_str(&b->arr[k])))
            return -1;
    vals[RECORD_ARRAYS] = decided_by;
    return 0;
}
