/* opctx.h — what an operation's handler uses, wherever it runs (issue 15).
 *
 * A handler serves one operation of the contract: at the front door
 * (services/intake/) or in the service that owns its domain, behind it
 * (common/serve.h). It sees neither: only an opctx_t — its store, its cache,
 * the caller's name, R-AUDIT read recording and a publish that waits for
 * COMMIT — and the authorization checks, which are functions of the caller's
 * name (acts_for, acts_for_township).
 *
 * Each operation registers itself at start-up from the file that defines it
 * (OP_HANDLER); a program serves the operations of the files it links. Reads
 * run as they are. Writes run inside the transaction that records their
 * request id (common/write.h): the handler does its statements and packs its
 * result map; the host stores the result with the id and commits before
 * replying `ok` (`ok` means committed). */
#ifndef AID_COMMON_OPCTX_H
#define AID_COMMON_OPCTX_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "proto.h"
#include "store.h"

typedef struct opctx opctx_t;

struct opctx {
    store_t *store;     /* the host's connection (its own Postgres role) */
    cache_t *cache;     /* Redis; may be NULL */
    const char *client; /* the caller: its key's name (secure mode), or "local" */
    /* the host's R-AUDIT recording and publish (opctx_audit_read, opctx_publish) */
    int (*audit)(opctx_t *c, const char *action, const char *case_ids, const char *request_id);
    void (*publish)(opctx_t *c, const char *topic, const void *body, size_t len);
    void *host;         /* the host's own state */
};

typedef struct {
    const char *name;                 /* as in proto_ops, e.g. "visit.record" */
    /* Registers the statements the handler uses (may be NULL). */
    void (*prepare)(store_t *store);
    /* Packs exactly one result map into pk, or fails with err (nothing of a
     * failed write is committed). For writes, a transaction is open. */
    int (*handle)(opctx_t *c, const proto_request_t *req, msgpack_packer *pk,
                  proto_error_t *err);
} op_handler_t;

/* The registry of this program's operations. */
void op_register(const op_handler_t *op);
const op_handler_t *op_find(const char *name);
/* Calls every registered prepare on store. */
void op_prepare_all(store_t *store);
/* The registered names, space-separated, into buf (what an owner serves). */
void op_names(char *buf, size_t size);

/* Registers op at start-up, from the file that defines it. */
#define OP_HANDLER(var, ...)                                       \
    static const op_handler_t var = __VA_ARGS__;                   \
    __attribute__((constructor)) static void var##_register(void)  \
    {                                                              \
        op_register(&var);                                         \
    }

/* Registers "audit_reads" ($1..$4: who, action, cases, detail as text[],
 * each read's cases an array literal): the one statement of the read rows
 * of R-AUDIT, one row per read case (040_roles.sql). */
void opctx_prepare_audit(store_t *store);
/* R-AUDIT: records that the caller read the cases case_ids (a Postgres array
 * literal such as "{12}", "{NULL}" for none) with op `action`, request
 * request_id. The row is committed before the answer is sent; if it cannot
 * be, the read is answered unavailable instead. 0, or -1 when the read must
 * fail now. */
int opctx_audit_read(opctx_t *c, const char *action, const char *case_ids,
                     const char *request_id);
/* Publishes an event (a MessagePack map; a "seq" key is renumbered in the
 * host's stream). Inside a write it is only queued: sent after COMMIT,
 * dropped on rollback. Never blocks; a dropped event only delays. */
void opctx_publish(opctx_t *c, const char *topic, const void *body, size_t len);

/* May the caller named client act for department: read its pending
 * referrals (with full ID numbers) and decide them? In plaintext mode every
 * caller may (loopback development only). In secure mode a client whose key
 * is named after the department ("housing", or "housing.<anything>"; never a
 * key admitted without a name) may, and so may the names in
 * AID_DEPARTMENT_ANY (the county's own services that check their users'
 * rights themselves, like the web console). 0 when it may; else -1 with err
 * filled (unauthorized, naming field) and a warning logged. */
int acts_for(const char *client, const char *department, const char *field,
             proto_error_t *err);
/* May the caller named client decide for township (9 digits, or "" for
 * every township)? In plaintext mode every caller may. In secure mode the
 * names in AID_DEPARTMENT_ANY may (the county's services, which keep their
 * users to their townships), and a key named after a township ("520123101"
 * or "520123101.<anything>") for that township only: "" becomes it. Else -1
 * with err filled (unauthorized, naming field) and a warning logged. */
int acts_for_township(const char *client, char township[10], const char *field,
                      proto_error_t *err);

#endif
