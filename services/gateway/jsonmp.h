/* jsonmp.h — JSON (jansson) ⇄ MessagePack for the gateway's translation.
 *
 * JSON → MessagePack: objects → maps, arrays, strings, integers, booleans,
 * null → nil. A number with a fraction is refused with its path (money is
 * integer fen; the contract has no floats), and so is nesting deeper than
 * JSONMP_MAX_DEPTH (intake reads no MessagePack deeper than MP_MAX_DEPTH, and
 * the request envelope is one level of it). MessagePack → JSON: the same
 * back; invalid UTF-8 becomes U+FFFD, bin/ext become null. */
#ifndef AID_GATEWAY_JSONMP_H
#define AID_GATEWAY_JSONMP_H

#include <jansson.h>
#include <msgpack.h>

#include "mp.h"

/* Objects and arrays nested in a body sent to intake, the body itself one. */
#define JSONMP_MAX_DEPTH (MP_MAX_DEPTH - 1)

typedef struct {
    char path[160];       /* household.members[0].monthly_income_fen; "" for the top */
    char message[200];
} jsonmp_err_t;

/* Packs v (as the body of a request envelope); -1 with err filled on a
 * real number or nesting too deep. prefix starts the paths. */
int jsonmp_pack(msgpack_packer *pk, const json_t *v, const char *prefix, jsonmp_err_t *err);
/* A new JSON value for o (NULL when out of memory). */
json_t *jsonmp_to_json(const msgpack_object *o);

#endif
