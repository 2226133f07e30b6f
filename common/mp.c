/* mp.c — allocation-free pre-check of MessagePack bytes, and helpers. */
#include "mp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

mp_err_t mp_check(const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t pos = 0;
    /* remaining[d]: objects still to read in the container open at depth d */
    uint64_t remaining[MP_MAX_DEPTH + 1];
    uint64_t pending = 1; /* the sum of remaining[0..depth] */
    int depth = 0;
    remaining[0] = 1;
    while (depth >= 0) {
        if (remaining[depth] == 0) {
            depth--;
            continue;
        }
        /* every pending object needs at least one byte */
        if (pending > len - pos)
            return MP_TRUNCATED;
        remaining[depth]--;
        pending--;
        unsigned char c = p[pos++];
        uint64_t skip = 0, children = 0;
        int hdr = 0; /* bytes of size field */
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            /* fixint, nil, bool */
        } else if (c >= 0x80 && c <= 0x8f) {
            children = 2ull * (c & 0x0f);
        } else if (c >= 0x90 && c <= 0x9f) {
            children = c & 0x0f;
        } else if (c >= 0xa0 && c <= 0xbf) {
            skip = c & 0x1f;
        } else {
            switch (c) {
            case 0xc4: case 0xd9: hdr = 1; break;           /* bin8, str8 */
            case 0xc5: case 0xda: hdr = 2; break;           /* bin16, str16 */
            case 0xc6: case 0xdb: hdr = 4; break;           /* bin32, str32 */
            case 0xc7: hdr = 1; skip = 1; break;            /* ext8 (+type) */
            case 0xc8: hdr = 2; skip = 1; break;
            case 0xc9: hdr = 4; skip = 1; break;
            case 0xca: skip = 4; break;
            case 0xcb: skip = 8; break;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: case 0xde: hdr = 2; break;           /* array16, map16 */
            case 0xdd: case 0xdf: hdr = 4; break;           /* array32, map32 */
            default: return MP_INVALID;                     /* 0xc1 */
            }
            if (hdr) {
                if ((size_t)hdr > len - pos)
                    return MP_TRUNCATED;
                uint64_t n = be(p + pos, hdr);
                pos += (size_t)hdr;
                if (c == 0xdc || c == 0xdd)
                    children = n;
                else if (c == 0xde || c == 0xdf)
                    children = 2 * n;
                else
                    skip += n;
            }
        }
        if (skip > len - pos)
            return MP_TRUNCATED;
        pos += (size_t)skip;
        if (children) {
            if (children > len - pos)
                return MP_TRUNCATED;
            if (depth == MP_MAX_DEPTH)
                return MP_TOO_DEEP;
            remaining[++depth] = children;
            pending += children;
        }
    }
    return pos == len ? MP_OK : MP_TRAILING;
}

mp_err_t mp_unpack(const char *buf, size_t len, msgpack_unpacked *u)
{
    mp_err_t e = mp_check(buf, len);
    if (e != MP_OK)
        return e;
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(u, buf, len, &off);
    if (r == MSGPACK_UNPACK_NOMEM_ERROR)
        return MP_NOMEM;
    if (r != MSGPACK_UNPACK_SUCCESS)
        return MP_INVALID;
    return off == len ? MP_OK : MP_TRAILING;
}

const char *mp_strerror(mp_err_t e)
{
    switch (e) {
    case MP_OK: return "ok";
    case MP_TRUNCATED: return "MessagePack data is truncated or declares a size larger than the message";
    case MP_INVALID: return "not valid MessagePack";
    case MP_TOO_DEEP: return "MessagePack nesting is too deep";
    case MP_TRAILING: return "bytes after the MessagePack object";
    case MP_NOMEM: return "out of memory";
    }
    return "invalid";
}

const msgpack_object *mp_get(const msgpack_object *o, const char *key)
{
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++)
        if (mp_str_is(&o->via.map.ptr[i].key, key))
            return &o->via.map.ptr[i].val;
    return NULL;
}

bool mp_str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

int mp_str_copy(const msgpack_object *o, char *out, size_t outsz)
{
    if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size >= outsz)
        return -1;
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = '\0';
    return 0;
}

int mp_int(const msgpack_object *o, int64_t *v)
{
    if (!o)
        return -1;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return -1;
        *v = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return 0;
    }
    return -1;
}

/* Orders map entries by key: strings by bytes, then by length; other key
 * types after strings, in their packed order (stable). */
static int key_cmp(const void *a, const void *b)
{
    const msgpack_object_kv *x = a, *y = b;
    int xs = x->key.type == MSGPACK_OBJECT_STR, ys = y->key.type == MSGPACK_OBJECT_STR;
    if (xs != ys)
        return ys - xs;
    if (!xs)
        return 0;
    uint32_t n = x->key.via.str.size < y->key.via.str.size ? x->key.via.str.size : y->key.via.str.size;
    int c = memcmp(x->key.via.str.ptr, y->key.via.str.ptr, n);
    if (c)
        return c;
    return (x->key.via.str.size > y->key.via.str.size) - (x->key.via.str.size < y->key.via.str.size);
}

void mp_pack_sorted(msgpack_packer *pk, const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        msgpack_pack_array(pk, o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size; i++)
            mp_pack_sorted(pk, &o->via.array.ptr[i]);
        return;
    }
    if (o->type != MSGPACK_OBJECT_MAP) {
        msgpack_pack_object(pk, *o);
        return;
    }
    /* sort a copy of the entry array; the object itself stays untouched */
    uint32_t n = o->via.map.size;
    msgpack_object_kv *kv = n ? malloc(n * sizeof *kv) : NULL;
    if (n && !kv) {
        msgpack_pack_object(pk, *o); /* out of memory: unsorted, still valid */
        return;
    }
    if (n)
        memcpy(kv, o->via.map.ptr, n * sizeof *kv);
    if (n > 1)
        qsort(kv, n, sizeof *kv, key_cmp);
    msgpack_pack_map(pk, n);
    for (uint32_t i = 0; i < n; i++) {
        mp_pack_sorted(pk, &kv[i].key);
        mp_pack_sorted(pk, &kv[i].val);
    }
    free(kv);
}

void mp_pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void mp_pack_str(msgpack_packer *pk, const char *s) { mp_pack_strn(pk, s, strlen(s)); }

void mp_pack_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
    mp_pack_str(pk, key);
    mp_pack_str(pk, val);
}

void mp_pack_kv_int(msgpack_packer *pk, const char *key, int64_t val)
{
    mp_pack_str(pk, key);
    msgpack_pack_int64(pk, val);
}

void mp_pack_kv_bool(msgpack_packer *pk, const char *key, bool val)
{
    mp_pack_str(pk, key);
    if (val)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void mp_pack_id_list(msgpack_packer *pk, const char *csv, const char *prefix)
{
    size_t n = *csv ? 1 : 0;
    for (const char *c = csv; *c; c++)
        n += *c == ',';
    msgpack_pack_array(pk, n);
    for (const char *c = csv; n-- > 0;) {
        char buf[64];
        size_t len = strcspn(c, ",");
        snprintf(buf, sizeof buf, "%s%.*s", prefix, (int)len, c);
        mp_pack_str(pk, buf);
        c += len + (c[len] == ',');
    }
}
