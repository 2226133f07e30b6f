/* opctx.c — the registry of a program's operations, and what their handlers
 * use wherever they run (opctx.h). */
#include "opctx.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "curve.h"
#include "log.h"

#define OPS_MAX 64

static const op_handler_t *registry[OPS_MAX];
static int registry_count;

void op_register(const op_handler_t *op)
{
    if (registry_count < OPS_MAX)
        registry[registry_count++] = op;
}

const op_handler_t *op_find(const char *name)
{
    for (int i = 0; i < registry_count; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

void op_prepare_all(store_t *store)
{
    for (int i = 0; i < registry_count; i++)
        if (registry[i]->prepare)
            registry[i]->prepare(store);
}

void op_names(char *buf, size_t size)
{
    size_t n = 0;
    if (size)
        buf[0] = '\0';
    for (int i = 0; i < registry_count && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? " " : "", registry[i]->name);
}

void opctx_prepare_audit(store_t *store)
{
    store_prepare(store, "audit_reads",
                  "INSERT INTO audit_log (who, action, case_id, detail)"
                  " SELECT t.who, t.action, c, t.detail"
                  "   FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])"
                  "        AS t(who, action, cases, detail)"
                  "  CROSS JOIN LATERAL unnest(t.cases::bigint[]) AS c");
}

int opctx_audit_read(opctx_t *c, const char *action, const char *case_ids,
                     const char *request_id)
{
    return c->audit(c, action, case_ids, request_id);
}

void opctx_publish(opctx_t *c, const char *topic, const void *body, size_t len)
{
    c->publish(c, topic, body, len);
}

int acts_for(const char *client, const char *department, const char *field,
             proto_error_t *err)
{
    if (!curve_secure())
        return 0; /* plaintext: no key, no name */
    const char *who = client ? client : "";
    if (curve_user_is_department(who, department) || config_list_has("AID_DEPARTMENT_ANY", who))
        return 0;
    log_warn("intake.unauthorized", "client", LOG_S(who), "department", LOG_S(department), NULL);
    char msg[160];
    snprintf(msg, sizeof msg, "this client may not act for the department %s", department);
    return proto_fail(err, PROTO_UNAUTHORIZED, field, msg);
}

int acts_for_township(const char *client, char township[10], const char *field,
                      proto_error_t *err)
{
    const char *who = client ? client : "";
    char own[10];
    if (!curve_secure() || config_list_has("AID_DEPARTMENT_ANY", who))
        return 0;
    if (curve_user_township(who, own) && (!township[0] || strcmp(township, own) == 0)) {
        memcpy(township, own, sizeof own);
        return 0;
    }
    log_warn("intake.unauthorized", "client", LOG_S(who), "township", LOG_S(township), NULL);
    return proto_fail(err, PROTO_UNAUTHORIZED, field,
                      "this client may not decide for that township: only the township's "
                      "own keys and the county's services may");
}
