/* jsonmp.h — JSON (jansson) ⇄ MessagePack for the gateway's translation.
 *
 * JSON → MessagePack: objects → maps, arrays, strings, integers, booleans,
 * null → nil. A number with a fraction is refused with its path (money is
 * integer fen; the contract has no floats). MessagePack → JSON: the same
 * back; invalid UTF-8 becomes U+FFFD, bin/ext become null. */
#ifndef AID_GATEWAY_JSONMP_H
#define AID_GATEWAY_JSONMP_H

#include <jansson.h>
#include <msgpack.h>

typedef struct {
    char path[160];       /* household.members[0].monthly_income_fen; "" for the top */
    char message[200];
} jsonmp_err_t;

/* Packs v; -1 with err filled on a real number. prefix starts the paths. */
int jsonmp_pack(msgpack_packer *pk, const json_t *v, const char *prefix, jsonmp_err_t *err);
/* A new JSON value for o (NULL when out of memory). */
json_t *jsonmp_to_json(const msgpack_object *o);

#endif
