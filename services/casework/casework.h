/* casework.h — the casework service (POLICY.md §16, proto/README.md §11.2): the
 * review procedure and the working-day calendar, served behind the front door
 * (common/owner.h). */
#ifndef AID_CASEWORK_H
#define AID_CASEWORK_H

#include <msgpack.h>

#include "owner.h"
#include "params_store.h"
#include "proto.h"
#include "store.h"

typedef struct {
    store_t *store;
    param_cache_t params;
} casework_t;

/* The operations of review.c and calendar.c, for owner_new. */
#define CASEWORK_OPS                                                                     \
    "review.queue review.step review.draw calendar.set calendar.get case.search recheck.open"

void review_prepare(store_t *store);
void calendar_prepare(store_t *store);
void search_prepare(store_t *store);
void recheck_prepare(store_t *store);

/* owner_handler_fn, arg a casework_t. */
int review_queue(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                 proto_error_t *err);
int review_step(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                proto_error_t *err);
int review_draw(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                proto_error_t *err);
int calendar_set(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                 proto_error_t *err);
int case_search(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                proto_error_t *err);
/* recheck.open (recheck.c, R-RECHECK): a write. */
int recheck_open(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                 proto_error_t *err);
int calendar_get(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                 proto_error_t *err);

/* Shared helpers (review.c). */
/* `unavailable`: nothing was done. Returns -1. */
int casework_unavailable(proto_error_t *err);
/* Turns the error of a casework SQL function (SQLSTATE CW404/CW409/CW401/CW422,
 * message "field|text" for CW422, CW404 and CW401) into err; any other as
 * unavailable. Returns -1. */
int casework_sql_error(store_t *store, proto_error_t *err);
/* 0 when client may name staff account by: plaintext ("local"), the key's own
 * name or "<key name>.<anything>", or a key of AID_DEPARTMENT_ANY (the county's
 * services, such as the web console, which sets by to the signed-in user);
 * else unauthorized on field "by". */
int casework_acts_for(const char *client, const char *by, proto_error_t *err);
/* A township's key ("520123101", "520123101.<anything>") reads only its own
 * township: an empty township becomes it, another is `unauthorized` (field
 * "township", logged). Every other caller reads what it asks. 0 or -1. */
int casework_township_reach(const char *client, char township[10], proto_error_t *err);
/* Records a read of personal data by client (R-AUDIT), committed before the
 * answer. 0 or -1 (unavailable). */
int casework_audit(store_t *store, const char *client, const char *action, const char *case_id,
                   const char *detail, proto_error_t *err);

#endif
