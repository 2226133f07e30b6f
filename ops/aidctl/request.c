/* request.c — JSON input files and the request envelope built from them. */
#include "request.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonmp.h"
#include "mp.h"

/* 64-bit FNV-1a of p[0..n): names a request by its body when no id is given. */
static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* Reads a whole stream of at most REQUEST_INPUT_MAX bytes. */
static char *read_all(FILE *f, size_t *len, char *err, size_t errsz, const char *name)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        snprintf(err, errsz, "%s: out of memory", name);
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= REQUEST_INPUT_MAX) {
                snprintf(err, errsz, "%s: larger than %d MiB", name,
                         REQUEST_INPUT_MAX / (1024 * 1024));
                free(buf);
                return NULL;
            }
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                snprintf(err, errsz, "%s: out of memory", name);
                free(buf);
                return NULL;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errsz, "%s: %s", name, strerror(errno));
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Copies the string member key of envelope e into out; "" when absent. */
static int envelope_str(const json_t *e, const char *key, char *out, size_t outsz, char *err,
                        size_t errsz, const char *name)
{
    const json_t *v = json_object_get(e, key);
    out[0] = '\0';
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= outsz ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, errsz, "%s: envelope %s must be text of 1–%zu bytes", name, key, outsz - 1);
        return -1;
    }
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* Takes an envelope apart: only v (1), op, id and body are allowed. */
static int envelope_split(json_t *root, request_input_t *in, char *err, size_t errsz,
                          const char *name)
{
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "v") && strcmp(key, "op") && strcmp(key, "id") && strcmp(key, "body")) {
            snprintf(err, errsz, "%s: unknown envelope field \"%s\" (allowed: v, op, id, body)",
                     name, key);
            return -1;
        }
    }
    const json_t *v = json_object_get(root, "v");
    if (v && !(json_is_integer(v) && json_integer_value(v) == 1)) {
        snprintf(err, errsz, "%s: envelope v must be 1", name);
        return -1;
    }
    if (envelope_str(root, "op", in->op, sizeof in->op, err, errsz, name) != 0 ||
        envelope_str(root, "id", in->id, sizeof in->id, err, errsz, name) != 0)
        return -1;
    json_t *body = json_object_get(root, "body");
    if (body && !json_is_object(body)) {
        snprintf(err, errsz, "%s: envelope body must be a JSON object", name);
        return -1;
    }
    in->envelope = true;
    in->body = body ? json_incref(body) : json_object();
    if (!in->body) {
        snprintf(err, errsz, "%s: out of memory", name);
        return -1;
    }
    return 0;
}

int request_load(const char *path, request_input_t *in, char *err, size_t errsz)
{
    memset(in, 0, sizeof *in);
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "%s: %s", name, strerror(errno));
        return -1;
    }
    size_t len = 0;
    char *text = read_all(f, &len, err, errsz, name);
    if (!is_stdin)
        fclose(f);
    if (!text)
        return -1;
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!root) {
        snprintf(err, errsz, "%s:%d:%d: %s", name, je.line, je.column, je.text);
        return -1;
    }
    int rc = 0;
    if (!json_is_object(root)) {
        snprintf(err, errsz, "%s: must hold a JSON object (a body or an envelope)", name);
        rc = -1;
    } else if (json_object_get(root, "op")) {
        rc = envelope_split(root, in, err, errsz, name);
    } else {
        in->body = json_incref(root);
    }
    json_decref(root);
    if (rc != 0)
        request_input_free(in);
    return rc;
}

void request_input_free(request_input_t *in)
{
    json_decref(in->body);
    in->body = NULL;
}

/* A packer target that remembers a failed write, so one check at the end
 * covers every pack call. */
typedef struct {
    msgpack_sbuffer *sb;
    int failed;
} sink_t;

static int sink_write(void *data, const char *buf, size_t len)
{
    sink_t *s = data;
    if (s->failed || msgpack_sbuffer_write(s->sb, buf, len) != 0) {
        s->failed = 1;
        return -1;
    }
    return 0;
}

int request_build(request_t *r, const char *op, const char *id, const json_t *body, char *err,
                  size_t errsz)
{
    memset(r, 0, sizeof *r);
    msgpack_sbuffer_init(&r->bytes);
    msgpack_sbuffer body_bytes;
    msgpack_sbuffer_init(&body_bytes);
    sink_t body_sink = {&body_bytes, 0}, env_sink = {&r->bytes, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body_sink, sink_write);
    jsonmp_err_t je;
    int rc = -1;
    if (body && jsonmp_pack(&pk, body, NULL, &je) != 0) {
        snprintf(err, errsz, "%s: %s", je.path[0] ? je.path : "(top level)", je.message);
        goto out;
    }
    if (!body)
        msgpack_pack_map(&pk, 0);
    if (id)
        snprintf(r->id, sizeof r->id, "%s", id);
    else
        snprintf(r->id, sizeof r->id, "aidctl-%016" PRIx64,
                 fnv1a(body_bytes.data, body_bytes.size));
    msgpack_packer_init(&pk, &env_sink, sink_write);
    msgpack_pack_map(&pk, 4);
    mp_pack_kv_int(&pk, "v", 1);
    mp_pack_kv_str(&pk, "op", op);
    mp_pack_kv_str(&pk, "id", r->id);
    mp_pack_str(&pk, "body");
    sink_write(&env_sink, body_bytes.data, body_bytes.size);
    if (body_sink.failed || env_sink.failed) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    rc = 0;
out:
    msgpack_sbuffer_destroy(&body_bytes);
    if (rc != 0)
        request_free(r);
    return rc;
}

void request_free(request_t *r)
{
    msgpack_sbuffer_destroy(&r->bytes);
    msgpack_sbuffer_init(&r->bytes);
}
