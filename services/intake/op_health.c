/* op_health.c — `health`: per-dependency status and version. */
#include <string.h>

#include "mp.h"
#include "ops.h"

#define VERSION "aid-intake 0.2.0"

static void prepare(store_t *store) { store_prepare(store, "ping", "SELECT 1"); }

static int handle(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk, proto_error_t *err)
{
    if (req->body && req->body->via.map.size > 0)
        return proto_fail(err, PROTO_INVALID_FIELD, "body", "health takes no body fields");
    store_t *store = ctx->store;
    /* A link that died idle (Postgres restarted) is replaced by store_ready;
     * one the ping still finds broken is reconnected once more before the
     * answer says down (a ping is safe to repeat), so probes do not flap. */
    bool db = false;
    for (int attempt = 0; attempt < 2 && !db; attempt++) {
        if (!store_ready(store))
            break;
        PGresult *r = store_exec(store, "ping", 0, NULL);
        db = r != NULL;
        PQclear(r);
    }
    const char *redis = cache_status(ctx->cache);
    bool bus = intake_bus_connected(intake_of(ctx));
    bool redis_ok = strcmp(redis, "ok") == 0;
    msgpack_pack_map(pk, 5);
    /* down: nothing can be accepted; degraded: accepting, without a fast path
     * (Redis) or without the bus (consumers then work from their sweeps) */
    mp_pack_kv_str(pk, "status", !db ? "down" : redis_ok && bus ? "ok" : "degraded");
    mp_pack_kv_str(pk, "database", db ? "ok" : store_errmsg(store));
    mp_pack_kv_str(pk, "redis", redis);
    mp_pack_kv_str(pk, "bus", bus ? "ok" : "not connected to the broker");
    mp_pack_kv_str(pk, "version", VERSION);
    return 0;
}

OP_HANDLER(health_op, {"health", prepare, handle})
