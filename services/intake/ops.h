/* ops.h — how an operation of the contract plugs into intake.
 *
 * Each operation lives in its own file (op_<area>.c) and registers itself
 * at start-up with INTAKE_OP(...); intake.c knows none of them by name.
 *
 * Reads run as they are. Writes run inside a transaction that intake opens
 * with the idempotency check (aid_begin_request): the handler does its
 * statements, packs its result map, and intake stores the result with the
 * request id and commits before replying `ok` (`ok` means committed). A
 * retry with the same id and body gets the stored result with
 * "duplicate": true; with another body, `conflict`. */
#ifndef AID_INTAKE_OPS_H
#define AID_INTAKE_OPS_H

#include <msgpack.h>
#include <stdbool.h>

#include "cache.h"
#include "proto.h"
#include "store.h"

typedef struct intake intake_t;

typedef struct {
    const char *name;                 /* as in proto_ops, e.g. "trigger.submit" */
    /* Registers the statements the handler uses (may be NULL). */
    void (*prepare)(store_t *store);
    /* Packs exactly one result map into pk, or fails with err (nothing of a
     * failed write is committed). For writes, a transaction is open. */
    int (*handle)(intake_t *in, const proto_request_t *req, msgpack_packer *pk,
                  proto_error_t *err);
} intake_op_t;

void intake_register(const intake_op_t *op);
const intake_op_t *intake_find(const char *name);

/* For handlers: the process's connections, and a non-blocking publish.
 * Inside a write, intake_publish only queues the event: it is sent after
 * COMMIT and dropped on rollback, so every event is durable before it is
 * sent (a "seq" key of the body is renumbered on the way out). */
store_t *intake_store(intake_t *in);
cache_t *intake_cache(intake_t *in);
void intake_publish(intake_t *in, const char *topic, const void *body, size_t len);
/* The sender of the request being handled: its client key's name (the ZAP
 * User-Id, secure mode), "local" in plaintext mode. */
const char *intake_client(intake_t *in);
/* R-AUDIT: records that the sender read the cases case_ids (a Postgres array
 * literal such as "{12}") with op `action`, request request_id. The rows of
 * all the reads of one loop iteration are written together after them, in
 * one statement and one commit, and each read's answer is held until then;
 * if they cannot be written, the reads are answered unavailable instead. 0,
 * or -1 when the read must fail now. */
int intake_audit_read(intake_t *in, const char *action, const char *case_ids,
                      const char *request_id);
/* May the sender act for department: read its pending referrals (with full
 * ID numbers) and decide them? In plaintext mode every sender may (loopback
 * development only). In secure mode a client whose key is named after the
 * department ("housing", or "housing.<anything>" for one of several keys of
 * it; never a key admitted without a name) may, and so may the names in
 * AID_DEPARTMENT_ANY (the county's own
 * services that check their users' rights themselves, like the web console).
 * 0 when it may; else -1 with err filled (unauthorized, naming field) and a
 * warning logged. */
int intake_acts_for(intake_t *in, const char *department, const char *field,
                    proto_error_t *err);
/* May the sender decide for township (9 digits, or "" for every township)?
 * In plaintext mode every sender may. In secure mode the names in
 * AID_DEPARTMENT_ANY may (the county's services, which keep their users to
 * their townships), and a key named after a township ("520123101" or
 * "520123101.<anything>") for that township only: "" becomes it. Else -1 with
 * err filled (unauthorized, naming field) and a warning logged. */
int intake_acts_for_township(intake_t *in, char township[10], const char *field,
                             proto_error_t *err);
/* True while the bus publisher is connected to the broker. */
bool intake_bus_connected(intake_t *in);

/* Registers op at start-up, from the file that defines it. */
#define INTAKE_OP(var, ...)                                        \
    static const intake_op_t var = __VA_ARGS__;                    \
    __attribute__((constructor)) static void var##_register(void)  \
    {                                                              \
        intake_register(&var);                                     \
    }

/* Common failure for a store error inside a handler. */
int intake_unavailable(proto_error_t *err);
/* The failure of a write whose COMMIT was sent but whose outcome could not
 * be learned (store_outcome): `unavailable` that does not claim nothing was
 * accepted (proto/README.md §5). */
int intake_outcome_unknown(proto_error_t *err);

#endif
