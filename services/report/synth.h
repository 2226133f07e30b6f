/* synth.h — reports the system files by itself.
 *
 * A trigger from another bureau, a visit that finds a crisis, an imported
 * row: each becomes a report on the household's existing case, built from
 * the case's latest report with the change applied, and then goes through
 * the normal pipeline (eligibility → every responsible department), so every
 * rule applies exactly as for a report a person filed. */
#ifndef AID_REPORT_SYNTH_H
#define AID_REPORT_SYNTH_H

#include "opctx.h"
#include "write.h"

/* Applies a change to the household's latest report (already reset to:
 * as_of today, source department, urgency normal, no circumstances, no
 * trigger); it may set another source, e.g. visit. */
typedef int (*synth_modify_fn)(report_t *r, void *arg, proto_error_t *err);

/* The case of a registered person; not_found (field names field) otherwise. */
int synth_case_of_person(opctx_t *ctx, const char *id_number, const char *field,
                         long long *case_id, proto_error_t *err);

/* Files the modified report on case_id inside the caller's transaction,
 * under request_id (its own idempotency key: a retry files nothing new).
 * Sets *report_id. Eligibility picks it up after the caller commits. */
int synth_file_report(opctx_t *ctx, long long case_id, const char *request_id,
                      synth_modify_fn modify, void *arg, long long *report_id,
                      proto_error_t *err);

/* Registers its statements and the filer's (report_store_prepare) on store:
 * from the prepare of every operation that files reports this way. */
void synth_prepare(store_t *store);

#endif
