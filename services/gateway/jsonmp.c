/* jsonmp.c — JSON ⇄ MessagePack (see jsonmp.h). */
#include "jsonmp.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "schema.h"

/* ---- JSON → MessagePack ------------------------------------------------ */

/* v sits depth containers deep (the top value: 1). */
static int pack_at(msgpack_packer *pk, const json_t *v, char *path, size_t len, size_t cap,
                   int depth, jsonmp_err_t *err)
{
    if ((json_is_object(v) || json_is_array(v)) && depth > JSONMP_MAX_DEPTH) {
        /* intake could not even read the envelope: refused here, naming where */
        snprintf(err->path, sizeof err->path, "%s", path);
        snprintf(err->message, sizeof err->message,
                 "nested too deep: at most %d levels of objects and arrays", JSONMP_MAX_DEPTH);
        return -1;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        msgpack_pack_map(pk, json_object_size(v));
        json_object_foreach((json_t *)v, key, val) {
            size_t klen = strlen(key);
            msgpack_pack_str(pk, klen);
            msgpack_pack_str_body(pk, key, klen);
            int n = snprintf(path + len, cap - len, "%s%s", len ? "." : "", key);
            size_t sub = n < 0 || len + (size_t)n >= cap ? cap - 1 : len + (size_t)n;
            if (pack_at(pk, val, path, sub, cap, depth + 1, err) != 0)
                return -1;
            path[len] = '\0';
        }
        return 0;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        msgpack_pack_array(pk, n);
        for (size_t i = 0; i < n; i++) {
            int w = snprintf(path + len, cap - len, "[%zu]", i);
            size_t sub = w < 0 || len + (size_t)w >= cap ? cap - 1 : len + (size_t)w;
            if (pack_at(pk, json_array_get(v, i), path, sub, cap, depth + 1, err) != 0)
                return -1;
            path[len] = '\0';
        }
        return 0;
    }
    case JSON_STRING: {
        size_t n = json_string_length(v);
        msgpack_pack_str(pk, n);
        msgpack_pack_str_body(pk, json_string_value(v), n);
        return 0;
    }
    case JSON_INTEGER:
        msgpack_pack_int64(pk, (int64_t)json_integer_value(v));
        return 0;
    case JSON_REAL:
        snprintf(err->path, sizeof err->path, "%s", path);
        snprintf(err->message, sizeof err->message,
                 "must be a whole number (money is integer fen)");
        return -1;
    case JSON_TRUE:
        msgpack_pack_true(pk);
        return 0;
    case JSON_FALSE:
        msgpack_pack_false(pk);
        return 0;
    case JSON_NULL:
        msgpack_pack_nil(pk);
        return 0;
    }
    return 0;
}

int jsonmp_pack(msgpack_packer *pk, const json_t *v, const char *prefix, jsonmp_err_t *err)
{
    char path[sizeof err->path];
    snprintf(path, sizeof path, "%s", prefix ? prefix : "");
    return pack_at(pk, v, path, strlen(path), sizeof path, 1, err);
}

/* ---- MessagePack → JSON ------------------------------------------------ */

static json_t *string_of(const char *s, size_t n)
{
    if (!schema_utf8_valid(s, n))
        return json_string("\xEF\xBF\xBD");
    return json_stringn(s, n);
}

json_t *jsonmp_to_json(const msgpack_object *o)
{
    char num[32];
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 <= (uint64_t)INT64_MAX)
            return json_integer((json_int_t)o->via.u64);
        snprintf(num, sizeof num, "%" PRIu64, o->via.u64);
        return json_string(num);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return isfinite(o->via.f64) ? json_real(o->via.f64) : json_null();
    case MSGPACK_OBJECT_STR:
        return string_of(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
    case MSGPACK_OBJECT_EXT:
        return json_null();
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            json_t *item = jsonmp_to_json(&o->via.array.ptr[i]);
            if (json_array_append_new(a, item) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type != MSGPACK_OBJECT_STR || !schema_utf8_valid(k->via.str.ptr, k->via.str.size))
                continue; /* the contract's keys are strings */
            json_t *val = jsonmp_to_json(&o->via.map.ptr[i].val);
            if (json_object_setn_new(m, k->via.str.ptr, k->via.str.size, val) != 0) {
                json_decref(m);
                m = NULL;
            }
        }
        return m;
    }
    }
    return json_null();
}
