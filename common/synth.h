/* synth.h — reports the system files by itself.
 *
 * A trigger from another bureau, a visit that finds a crisis, an imported
 * row: each becomes a report on the household's existing case, built from
 * the case's latest report with the change applied, and then goes through
 * the normal pipeline (eligibility → every responsible department), so every
 * rule applies exactly as for a report a person filed. */
#ifndef AID_COMMON_SYNTH_H
#define AID_COMMON_SYNTH_H

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

/* The one statement that files a report (aid_submit_report, ops/sql/30_report.sql):
 * $1 request id, $2 body, $3 id hashes, $4 names, $5 source, $6 as_of, $7
 * township, $8 village, $9 urgent, $10 sealed body, $11 encrypted ids. */
#define SYNTH_SUBMIT_REPORT_SQL                                                        \
    "SELECT report_id, case_id, outcome FROM aid_submit_report("                       \
    "$1, $2::bytea, $3::text[], $4::text[], $5, $6::date, $7, $8, $9::boolean,"        \
    " $10::bytea, $11::text[])"

/* Registers the statements: from the prepare of the one operation of a
 * program that files reports this way (a store gets each name once). */
void synth_prepare(store_t *store);

#endif
