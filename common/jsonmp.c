/* jsonmp.c — JSON ⇄ MessagePack (see jsonmp.h for every conversion). */
#include "jsonmp.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "utf8.h"

/* ---- JSON → MessagePack ------------------------------------------------ */

/* The path being packed; appended to on the way down, cut back on the way up. */
typedef struct {
    char buf[sizeof ((jsonmp_err_t *)0)->path];
    size_t len;
} path_t;

static size_t path_push(path_t *p, int n)
{
    size_t old = p->len, cap = sizeof p->buf;
    p->len = n < 0 ? old : old + (size_t)n >= cap ? cap - 1 : old + (size_t)n;
    return old;
}

static size_t path_push_key(path_t *p, const char *key)
{
    size_t old = p->len;
    return path_push(p, snprintf(p->buf + old, sizeof p->buf - old, "%s%s", old ? "." : "", key));
}

static size_t path_push_index(path_t *p, size_t i)
{
    size_t old = p->len;
    return path_push(p, snprintf(p->buf + old, sizeof p->buf - old, "[%zu]", i));
}

static void path_pop(path_t *p, size_t old)
{
    p->len = old;
    p->buf[old] = '\0';
}

static int fail(jsonmp_err_t *err, const path_t *p, const char *message)
{
    log_scrub(p->buf, err->path, sizeof err->path); /* an ID number as a key: masked */
    snprintf(err->message, sizeof err->message, "%s", message);
    return -1;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* v sits depth containers deep (the top value: 1). */
static int pack_value(msgpack_packer *pk, const json_t *v, path_t *p, int depth,
                      jsonmp_err_t *err);

static int pack_object(msgpack_packer *pk, const json_t *v, path_t *p, int depth,
                       jsonmp_err_t *err)
{
    size_t n = json_object_size(v), i = 0;
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys)
        return fail(err, p, "out of memory");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val)
        keys[i++] = key;
    qsort(keys, n, sizeof *keys, compare_keys);
    int rc = msgpack_pack_map(pk, n) == 0 ? 0 : fail(err, p, "out of memory");
    for (i = 0; rc == 0 && i < n; i++) {
        size_t old = path_push_key(p, keys[i]);
        size_t klen = strlen(keys[i]);
        if (msgpack_pack_str(pk, klen) != 0 || msgpack_pack_str_body(pk, keys[i], klen) != 0)
            rc = fail(err, p, "out of memory");
        else
            rc = pack_value(pk, json_object_get(v, keys[i]), p, depth + 1, err);
        if (rc == 0)
            path_pop(p, old);
    }
    free(keys);
    return rc;
}

static int pack_value(msgpack_packer *pk, const json_t *v, path_t *p, int depth,
                      jsonmp_err_t *err)
{
    int r = 0;
    if ((json_is_object(v) || json_is_array(v)) && depth > JSONMP_MAX_DEPTH) {
        /* intake could not even read the envelope: refused here, naming where */
        char msg[96];
        snprintf(msg, sizeof msg, "nested too deep: at most %d levels of objects and arrays",
                 JSONMP_MAX_DEPTH);
        return fail(err, p, msg);
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return pack_object(pk, v, p, depth, err);
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (msgpack_pack_array(pk, n) != 0)
            return fail(err, p, "out of memory");
        for (size_t i = 0; i < n; i++) {
            size_t old = path_push_index(p, i);
            if (pack_value(pk, json_array_get(v, i), p, depth + 1, err) != 0)
                return -1;
            path_pop(p, old);
        }
        return 0;
    }
    case JSON_STRING: {
        size_t n = json_string_length(v);
        r = msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, json_string_value(v), n);
        break;
    }
    case JSON_INTEGER:
        r = msgpack_pack_int64(pk, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL: {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "%.17g is not an integer: numbers must be whole (money is integer fen)",
                 json_real_value(v));
        return fail(err, p, msg);
    }
    case JSON_TRUE:
        r = msgpack_pack_true(pk);
        break;
    case JSON_FALSE:
        r = msgpack_pack_false(pk);
        break;
    case JSON_NULL:
        r = msgpack_pack_nil(pk);
        break;
    }
    return r == 0 ? 0 : fail(err, p, "out of memory");
}

int jsonmp_pack(msgpack_packer *pk, const json_t *v, const char *prefix, jsonmp_err_t *err)
{
    path_t p;
    snprintf(p.buf, sizeof p.buf, "%s", prefix ? prefix : "");
    p.len = strlen(p.buf);
    return pack_value(pk, v, &p, 1, err);
}

/* ---- MessagePack → JSON ------------------------------------------------ */

static json_t *string_from(const char *s, size_t n)
{
    size_t len;
    char *clean = utf8_clean(s, n, &len);
    if (!clean)
        return NULL;
    json_t *j = json_stringn(clean, len); /* NUL bytes included: JSON escapes them */
    free(clean);
    return j;
}

static json_t *base64_from(const char *s, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)s;
    if (n > (SIZE_MAX - 3) / 4 * 3)
        return NULL;
    size_t outlen = (n + 2) / 3 * 4;
    char *out = malloc(outlen + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    json_t *j = json_stringn(out, o);
    free(out);
    return j;
}

/* The text a map key becomes (length in *len; malloc): a string cleaned,
 * anything else as compact JSON. */
static char *key_text(const msgpack_object *k, size_t *len)
{
    if (k->type == MSGPACK_OBJECT_STR)
        return utf8_clean(k->via.str.ptr, k->via.str.size, len);
    json_t *j = jsonmp_to_json(k);
    if (!j)
        return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (s)
        *len = strlen(s);
    return s;
}

/* An integer as a number when a JSON reader keeps it exactly, else as text. */
static json_t *integer_from(const msgpack_object *o)
{
    char num[32];
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 <= (uint64_t)JSONMP_MAX_SAFE_INT)
            return json_integer((json_int_t)o->via.u64);
        snprintf(num, sizeof num, "%" PRIu64, o->via.u64);
    } else {
        if (o->via.i64 >= -JSONMP_MAX_SAFE_INT)
            return json_integer((json_int_t)o->via.i64);
        snprintf(num, sizeof num, "%" PRId64, o->via.i64);
    }
    return json_string(num);
}

json_t *jsonmp_to_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return integer_from(o);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return isfinite(o->via.f64) ? json_real(o->via.f64) : json_null();
    case MSGPACK_OBJECT_STR:
        return string_from(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return base64_from(o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return base64_from(o->via.ext.ptr, o->via.ext.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            json_t *item = jsonmp_to_json(&o->via.array.ptr[i]);
            if (!item || json_array_append_new(a, item) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            size_t klen = 0;
            char *key = key_text(&o->via.map.ptr[i].key, &klen);
            json_t *val = key ? jsonmp_to_json(&o->via.map.ptr[i].val) : NULL;
            if (!val || json_object_setn_new(m, key, klen, val) != 0) {
                json_decref(m);
                m = NULL;
            }
            free(key);
        }
        return m;
    }
    }
    return json_null();
}

int jsonmp_print(FILE *out, const msgpack_object *o)
{
    json_t *j = jsonmp_to_json(o);
    if (!j)
        return -1;
    int rc = json_dumpf(j, out, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    json_decref(j);
    if (rc != 0)
        return -1;
    fputc('\n', out);
    return 0;
}
