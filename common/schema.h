/* schema.h — messages declared once as tables; decode and encode follow.
 *
 * A schema lists the fields of a C struct: name on the wire, type, offset,
 * limits. schema_decode walks a MessagePack map and fills the struct,
 * rejecting unknown or duplicate keys, wrong types, out-of-range values and
 * invalid UTF-8, and names the failing field by its full path
 * ("household.members[2].id_number"). schema_encode writes the struct back
 * as a map. Adding a field to a message is one line in its table.
 *
 * Fields left out keep their zero value (the first enum value, false, 0,
 * ""): the caller zeroes the struct before decoding into it. */
#ifndef AID_COMMON_SCHEMA_H
#define AID_COMMON_SCHEMA_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    FT_BOOL,   /* bool */
    FT_INT,    /* int64_t in [min, max] */
    FT_ENUM,   /* int: index into enums (NULL-terminated) */
    FT_STR,    /* char[size]: valid UTF-8, at most max bytes (< size) */
    FT_DIGITS, /* char[size]: exactly max ASCII digits (area codes) */
    FT_DATE,   /* aid_date_t from "YYYY-MM-DD" */
    FT_IDNUM,  /* char[19]: a valid ID number, canonical upper-case X */
    FT_OBJ,    /* nested struct described by sub */
    FT_ARR,    /* array of sub structs: elements at off, stride size, count
                  (int) at count_off, between min and max elements */
    FT_STRARR  /* array of strings: char[max][size] at off, count at count_off */
} schema_type_t;

typedef struct schema schema_t;

typedef struct {
    const char *name;
    schema_type_t type;
    size_t off;
    size_t size;
    int64_t min, max;
    const char *const *enums;
    const schema_t *sub;
    size_t count_off;
    bool required;
    size_t namelen; /* strlen(name), set by the SF_ macros */
} schema_field_t;

struct schema {
    const char *name;
    const schema_field_t *fields;
    int nfields;
};

typedef struct {
    char field[160];   /* path of the failing field */
    char message[200]; /* what is wrong, for a person */
} schema_err_t;

/* Decodes map o into out (zeroed by the caller) following s. prefix is the path of
 * o itself ("" at the top, "body" …). Returns 0, or -1 with err filled. */
int schema_decode(const schema_t *s, const msgpack_object *o, void *out, const char *prefix,
                  schema_err_t *err);
/* Writes in as a map following s. Optional dates that are 0 and optional
 * strings that are empty are left out; everything else is written. */
void schema_encode(const schema_t *s, const void *in, msgpack_packer *pk);
/* True when s (len bytes) is valid UTF-8 without NUL bytes. */
bool schema_utf8_valid(const char *s, size_t len);

/* Field-table helpers, one per type: each takes the struct, the member, the
 * wire name, whether it is required, then the type's limits — e.g.
 * SF_INT(report_t, size, "size", true, 1, 20). The name must be a string
 * literal: SF_LEN takes its length at compile time, so decoding compares
 * keys without strlen. */
#define SF_LEN(n) (sizeof("" n "") - 1)
#define SF_BOOL(T, m, n, req) {n, FT_BOOL, offsetof(T, m), 0, 0, 0, NULL, NULL, 0, req, SF_LEN(n)}
#define SF_INT(T, m, n, req, lo, hi) \
    {n, FT_INT, offsetof(T, m), 0, lo, hi, NULL, NULL, 0, req, SF_LEN(n)}
#define SF_ENUM(T, m, n, req, names) \
    {n, FT_ENUM, offsetof(T, m), 0, 0, 0, names, NULL, 0, req, SF_LEN(n)}
#define SF_STR(T, m, n, req, maxb) \
    {n, FT_STR, offsetof(T, m), sizeof(((T *)0)->m), 0, maxb, NULL, NULL, 0, req, SF_LEN(n)}
#define SF_DIGITS(T, m, n, req, len) \
    {n, FT_DIGITS, offsetof(T, m), sizeof(((T *)0)->m), 0, len, NULL, NULL, 0, req, SF_LEN(n)}
#define SF_DATE(T, m, n, req) {n, FT_DATE, offsetof(T, m), 0, 0, 0, NULL, NULL, 0, req, SF_LEN(n)}
#define SF_IDNUM(T, m, n, req) {n, FT_IDNUM, offsetof(T, m), 19, 0, 0, NULL, NULL, 0, req, SF_LEN(n)}
#define SF_OBJ(T, m, n, req, sch) {n, FT_OBJ, offsetof(T, m), 0, 0, 0, NULL, sch, 0, req, SF_LEN(n)}
#define SF_ARR(T, m, n, req, sch, cnt, lo, hi)                                                  \
    {n, FT_ARR, offsetof(T, m), sizeof(((T *)0)->m[0]), lo, hi, NULL, sch, offsetof(T, cnt), req, \
     SF_LEN(n)}
#define SF_STRARR(T, m, n, req, cnt, hi)                                                        \
    {n, FT_STRARR, offsetof(T, m), sizeof(((T *)0)->m[0]), 0, hi, NULL, NULL, offsetof(T, cnt),   \
     req, SF_LEN(n)}
#define SCHEMA(var, label, table) \
    const schema_t var = {label, table, (int)(sizeof table / sizeof table[0])}

#endif
