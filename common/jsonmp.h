/* jsonmp.h — the one JSON (jansson) ⇄ MessagePack conversion, for the web
 * console's gateway and for aidctl (jansson is linked only by those two:
 * a program that calls none of this needs no jansson).
 *
 * JSON → MessagePack (a request body):
 *   objects → maps, keys in byte order (the same JSON always gives the same
 *   bytes); arrays; strings; integers (all that jansson reads, i.e. int64,
 *   packed exactly); true/false; null → nil. Refused, with the path of the
 *   value (an ID-number-shaped key in it masked, like every log line):
 *   a number with a fraction or exponent (the contract has no floats; money
 *   is integer fen), and objects/arrays nested deeper than JSONMP_MAX_DEPTH
 *   (intake reads no MessagePack deeper than MP_MAX_DEPTH, and the request
 *   envelope is one level of it).
 * MessagePack → JSON (a reply):
 *   nil → null; booleans; integers within ±(2^53 − 1) → numbers, integers
 *   beyond → their decimal text as a string (a JavaScript reader would
 *   silently round them); finite floats → numbers, NaN and ±inf → null;
 *   strings → strings, each byte that is not well-formed UTF-8 → U+FFFD
 *   (NUL and control characters are kept: JSON escapes them); bin → its
 *   bytes in base64 (RFC 4648, padded) as a string; ext → its data in base64
 *   likewise (the type byte is dropped); arrays; maps → objects, a key that
 *   is not a string written as its compact JSON text (1 → "1", nil →
 *   "null"); when two keys give the same text the later one wins. */
#ifndef AID_COMMON_JSONMP_H
#define AID_COMMON_JSONMP_H

#include <jansson.h>
#include <msgpack.h>
#include <stdio.h>

#include "mp.h"

/* Objects and arrays nested in a request body, the body itself one. */
#define JSONMP_MAX_DEPTH (MP_MAX_DEPTH - 1)
/* The largest integer a JSON reader keeps exactly (2^53 − 1). */
#define JSONMP_MAX_SAFE_INT 9007199254740991LL

typedef struct {
    char path[256];       /* household.members[0].monthly_income_fen; "" for the top */
    char message[200];
} jsonmp_err_t;

/* Packs v; prefix (may be NULL) starts the paths. -1 with err filled on a
 * real number, nesting too deep or out of memory. */
int jsonmp_pack(msgpack_packer *pk, const json_t *v, const char *prefix, jsonmp_err_t *err);
/* A new JSON value for o; NULL when out of memory. */
json_t *jsonmp_to_json(const msgpack_object *o);
/* Prints o as JSON indented by two and a newline; -1 when out of memory. */
int jsonmp_print(FILE *out, const msgpack_object *o);

#endif
