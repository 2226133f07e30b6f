/* caseview.h — case.get's view of a case (caseview.c): persons, referrals
 * with their decisions, measures; ID numbers and names masked. */
#ifndef AID_REPORT_CASEVIEW_H
#define AID_REPORT_CASEVIEW_H

#include <msgpack.h>
#include <stddef.h>

#include "proto.h"
#include "store.h"

/* Registers the statements of case.get. */
void caseview_prepare(store_t *store);
/* Writes the result map for the case and gives its id (decimal) in
 * case_out, or fails with not_found / unavailable. */
int caseview_write_case(store_t *store, const proto_case_get_t *q, msgpack_packer *pk,
                        proto_error_t *err, char *case_out, size_t case_outsz);

#endif
