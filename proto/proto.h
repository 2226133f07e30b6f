/* proto.h — the public contract of PROTOCOL.md: envelope, operations, error
 * codes and message bodies, declared once as schema tables.
 *
 * A request is one MessagePack map {"v":1,"op":…,"id":…,"body":{…}}; a reply
 * is {"v":1,"id":…,"ok":true,"result":{…}} or {…,"ok":false,"error":{code,
 * field,message}}. Everything a client may get wrong is answered with the
 * code and the path of the field (household.members[2].id_number). */
#ifndef AID_PROTO_H
#define AID_PROTO_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "date.h"
#include "report.h"
#include "schema.h"

#define PROTO_VERSION 1
#define PROTO_MAX_REQUEST (64 * 1024) /* bytes, PROTOCOL.md limits */

typedef enum {
    PROTO_OK = 0,
    PROTO_BAD_REQUEST,   /* not MessagePack, not a map, no op */
    PROTO_UNKNOWN_OP,
    PROTO_INVALID_FIELD, /* field names the path */
    PROTO_TOO_LARGE,
    PROTO_UNAUTHORIZED,
    PROTO_NOT_FOUND,
    PROTO_CONFLICT,
    PROTO_RATE_LIMITED,
    PROTO_UNAVAILABLE    /* a store is down: nothing was accepted */
} proto_code_t;

/* "bad_request", … by proto_code_t. */
extern const char *const proto_code_names[];

/* The operations of the contract. The first ones have fixed indexes; every
 * other operation is one line in the proto_ops table (envelope.c) and is
 * found by name. */
typedef enum {
    OP_REPORT_SUBMIT,
    OP_CASE_GET,
    OP_HEALTH
} proto_op_t;

typedef struct {
    const char *name;   /* "report.submit" */
    bool writes;        /* needs an id: the idempotency key */
} proto_op_info_t;

extern const proto_op_info_t proto_ops[];
extern const int proto_op_count;

typedef struct {
    proto_code_t code;
    char field[160];
    char message[200];
} proto_error_t;

typedef struct {
    int op;                        /* proto_op_t */
    char id[PROTO_STR_MAX + 1];    /* "" when absent */
    const msgpack_object *body;    /* points into the unpacked message; NULL when absent */
} proto_request_t;

/* Parses an envelope. u must be initialised (msgpack_unpacked_init); the
 * request's body points into it. On failure fills err (and req->id when it
 * could be read, so the reply can echo it) and returns -1. */
int proto_request_parse(const char *buf, size_t len, msgpack_unpacked *u, proto_request_t *req,
                        proto_error_t *err);

/* Writes {"v":1,"id":id,"ok":true,"result": — the caller then packs exactly
 * one object (the result map). */
void proto_reply_ok_begin(msgpack_packer *pk, const char *id);
/* Writes a whole error reply. */
void proto_reply_error(msgpack_packer *pk, const char *id, const proto_error_t *e);
/* Fills e; field may be NULL. Returns -1 for convenient `return proto_fail(…)`. */
int proto_fail(proto_error_t *e, proto_code_t code, const char *field, const char *message);

/* ---- report.submit ---------------------------------------------------- */
extern const schema_t proto_report_schema;
/* Decodes and validates a report body. today fills a missing as_of and bounds
 * a given one. Errors carry invalid_field semantics. */
int proto_report_decode(const msgpack_object *body, aid_date_t today, report_t *r,
                        schema_err_t *err);
/* Writes the canonical form of r (as stored and replayed). */
void proto_report_encode(const report_t *r, msgpack_packer *pk);

/* ---- case.get --------------------------------------------------------- */
typedef struct {
    char case_id[64];
    char id_number[19];
    char township[10];  /* "" when absent: the whole case; else only the
                           reports filed in this township (case.get only) */
} proto_case_get_t;
/* Exactly one of case_id and id_number; township optional (9 digits). */
int proto_case_get_decode(const msgpack_object *body, proto_case_get_t *q, schema_err_t *err);

#endif
