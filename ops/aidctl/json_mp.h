/* json_mp.h — JSON ⇄ MessagePack, generically.
 *
 * JSON → MessagePack: objects → maps (keys in byte order, so the same JSON
 * always gives the same bytes), arrays, strings, integers, true/false, null
 * → nil. A real number is refused with its path: money is integer fen.
 * MessagePack → JSON: maps, arrays, strings (invalid UTF-8 → U+FFFD),
 * integers, floats, booleans, nil; bin and ext become base64 strings. */
#ifndef AIDCTL_JSON_MP_H
#define AIDCTL_JSON_MP_H

#include <jansson.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    char path[256];     /* household.members[0].monthly_income_fen; "" for the top */
    char message[200];
} json_mp_err_t;

/* Packs v. -1 with err filled on a real number or when out of memory. */
int json_mp_pack(msgpack_packer *pk, const json_t *v, json_mp_err_t *err);
/* A new JSON value for o; NULL when out of memory. */
json_t *json_mp_to_json(const msgpack_object *o);
/* Prints o as indented JSON and a newline. -1 when out of memory. */
int json_mp_print(FILE *out, const msgpack_object *o);
/* 64-bit FNV-1a of p[0..n). */
uint64_t json_mp_fnv1a(const char *p, size_t n);

#endif
