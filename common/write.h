/* write.h — a write done exactly once, by its request id: the one helper of
 * intake's writes and of every owner behind it (issue 15).
 *
 * write_once opens a transaction with the idempotency check
 * (aid_begin_request: one requests table, so ids share one namespace across
 * every operation and service), runs the write, stores its result map (sealed:
 * it may name persons) under the request id in the same transaction, and
 * commits. A retry with the same id and body is answered from that record
 * with "duplicate": true, whatever crashed after the COMMIT; with another
 * body, or by another operation, `conflict`. When COMMIT's answer is lost,
 * the truth is learned from the transaction id taken with BEGIN
 * (store_outcome, the request's row checked by its xmin). */
#ifndef AID_COMMON_WRITE_H
#define AID_COMMON_WRITE_H

#include <msgpack.h>
#include <stdbool.h>

#include "proto.h"
#include "store.h"

/* Registers the statements write_once uses. */
void write_prepare(store_t *store);

/* The write itself: packs exactly one result map into pk, or fails with err
 * filled (-1). A transaction is open; nothing of a failed write commits. */
typedef int (*write_fn)(void *arg, msgpack_packer *pk, proto_error_t *err);

/* Runs fn exactly once for request id of op with body (NULL: none). 0 with
 * the result map to answer in *result (the caller's initialised buffer;
 * "duplicate" set) and *fresh true when fn's effect committed now (false for
 * a duplicate); -1 with err filled (conflict, unavailable, outcome unknown,
 * or fn's own), rolled back. */
int write_once(store_t *store, const char *id, const char *op, const msgpack_object *body,
               write_fn fn, void *arg, msgpack_sbuffer *result, bool *fresh,
               proto_error_t *err);

/* `unavailable`: nothing was accepted. Returns -1. */
int write_unavailable(proto_error_t *err);
/* `unavailable` whose message begins "outcome unknown" (proto/README.md §5). */
int write_outcome_unknown(proto_error_t *err);

#endif
