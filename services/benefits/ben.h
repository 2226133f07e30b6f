/* ben.h — what the benefits owner's operations share (services/benefits/op_*.c):
 * each file registers its operations (OP_HANDLER, common/opctx.h) with the
 * statements it uses; main.c answers them behind the front door and sweeps.
 * The shape every handler repeats — decode the body, run a statement, turn
 * the SQL function's outcome into a precise error or pack the result — uses
 * these helpers. */
#ifndef AID_BENEFITS_BEN_H
#define AID_BENEFITS_BEN_H

#include <libpq-fe.h>
#include <stddef.h>

#include "opctx.h"
#include "proto.h"
#include "store.h"

#define BEN_AD_ACCOUNT "payees.account" /* the associated data of a sealed account number */

/* One outcome of a SQL function and the error it answers. */
typedef struct {
    const char *outcome; /* as the function returns it, e.g. "not_found" */
    int code;            /* PROTO_NOT_FOUND, PROTO_CONFLICT, ... */
    const char *field;   /* the field the error names */
    const char *message;
} ben_outcome_t;

/* Registers the statements every operation shares (ben_audit). */
void ben_prepare(store_t *store);
/* A read that could not reach the database: -1 with err filled. */
int ben_unavailable(proto_error_t *err);
/* R-AUDIT: records that the caller read (case case_num, or NULL for a list)
 * with action; committed before the answer. 0, or -1 with err filled. */
int ben_audit(opctx_t *c, const char *action, const char *case_num, const char *request_id,
              proto_error_t *err);
/* The error of outcome in table (ended by a NULL outcome): -1 with err filled
 * when it is one, 0 when outcome is not in the table (a success). */
int ben_outcome(const char *outcome, const ben_outcome_t *table, proto_error_t *err);
/* A read statement: NULL with err filled (unavailable) when the database does
 * not answer. */
PGresult *ben_read(opctx_t *c, const char *stmt, int n, const char *const *args,
                   proto_error_t *err);
/* The bytes b[0..n) as lowercase hex into a new buffer (free()), or NULL. */
char *ben_hex(const unsigned char *b, size_t n);

#endif
