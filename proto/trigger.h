/* trigger.h — `trigger.submit` bodies (PROTOCOL.md): events from other
 * bureaus' systems, declared as schema tables, and what each does to a
 * household's report.
 *
 * A trigger never decides anything itself: it changes the household's
 * latest report (a new urgent disaster circumstance, the person's new
 * disability grade, the deceased removed, …) and the system files that
 * report on the existing case, so every rule of POLICY.md applies exactly
 * as for a report a person filed. Pure: no I/O. */
#ifndef AID_PROTO_TRIGGER_H
#define AID_PROTO_TRIGGER_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "date.h"
#include "proto.h"
#include "report.h"
#include "schema.h"

/* In the order of report_trigger_kinds (report.h). */
typedef enum {
    TRIGGER_DISASTER, TRIGGER_MEDICAL_EXPENSE, TRIGGER_UNEMPLOYMENT, TRIGGER_DISABILITY,
    TRIGGER_DEATH
} trigger_kind_t;

#define TRIGGER_MAX_AREAS 1000   /* township or village codes per disaster */
#define TRIGGER_MAX_MONTHS 120   /* medical_expense: the period the expense covers */

/* "flood", "drought", … NULL-terminated (disaster.hazard). */
extern const char *const trigger_hazards[];

typedef struct {
    int kind;                               /* trigger_kind_t */
    /* disaster */
    int n_areas;
    char areas[TRIGGER_MAX_AREAS][13];      /* 9-digit township or 12-digit village codes */
    int hazard;                             /* index into trigger_hazards */
    aid_date_t occurred_on;                 /* 0 when absent: the day received */
    /* every kind but an area disaster: the person (a disaster may name one
     * household by a member's ID number instead of areas) */
    char id_number[19];
    /* medical_expense: out-of-pocket expense settled over months */
    int64_t expense_fen;
    int64_t months;
    /* disability: the grade and kind on the new certificate */
    int64_t disability_grade;
    int disability_kind;                    /* disability_kind_t, never DISKIND_NONE */
} proto_trigger_t;

/* Decodes and validates one trigger body (a map). prefix names it in error
 * paths ("" for trigger.submit, "triggers[3]" in a batch). today bounds
 * occurred_on and birth dates. 0, or -1 with err (invalid_field semantics). */
int proto_trigger_decode(const msgpack_object *body, aid_date_t today, const char *prefix,
                         proto_trigger_t *t, schema_err_t *err);

/* True for a disaster over areas: the batch job of the trigger worker. Every
 * other trigger is about one household and is applied at once. */
bool proto_trigger_is_area(const proto_trigger_t *t);

/* Applies the trigger to r, the household's latest report already reset to
 * a report of the system's (as_of today, source department, urgency normal,
 * no circumstances): sets r->trigger to the kind and r->reporter to
 * trigger_id ("trigger-12"), and makes the change of PROTOCOL.md:
 *   disaster         urgency urgent, a disaster circumstance (hazard and
 *                    trigger id in its note, occurred_on the trigger's)
 *   medical_expense  an illness circumstance of the person with the expense,
 *                    occurred_on = as_of - months (the expense period's start)
 *   unemployment     the person no longer employed, an unemployment circumstance
 *   disability       the person's grade and kind as on the new certificate
 *   death            the person removed from the household, a death circumstance
 * Returns 1 when the report was changed, 0 when nothing changes (already
 * unemployed, the same grade and kind, the death of the household's only
 * member: there is no household left to re-assess), -1 with err not_found
 * (field prefix.id_number) when the person is not in the household. */
int proto_trigger_apply(const proto_trigger_t *t, const char *trigger_id, const char *prefix,
                        report_t *r, proto_error_t *err);

#endif
