/* case_entitlements.h — the "entitlements" of case.get (issue 17): a case's
 * monthly benefits over time, as entitlements.list shows them
 * (proto/BENEFITS.md). Kept apart from caseview.c so that the case view
 * gains one key and one call. */
#ifndef AID_INTAKE_CASE_ENTITLEMENTS_H
#define AID_INTAKE_CASE_ENTITLEMENTS_H

#include <msgpack.h>
#include <stddef.h>

#include "store.h"

/* Registers the statement. */
void case_entitlements_prepare(store_t *store);
/* Packs the array of case_id's entitlements (every one that ran, oldest
 * first; none when township is given and the case is registered elsewhere).
 * 0, or -1 when they cannot be read (nothing packed). */
int case_entitlements_pack(store_t *store, const char *case_id, const char *township,
                           msgpack_packer *pk);

/* case.merge (issue 17): the case case_id (digits, NUL-terminated, in a buffer of
 * size bytes) goes on as — replaced by the case it was merged into, if any. 0, or
 * -1 when it cannot be read. */
int case_entitlements_resolve(store_t *store, char *case_id, size_t size);

/* The cases merged into case_id (digits), as a comma-separated list of numbers
 * in csv (of size bytes; "" when none): their history is case_id's. 0 or -1. */
int case_entitlements_merged(store_t *store, const char *case_id, char *csv, size_t size);

#endif
