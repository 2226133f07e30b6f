/* schema.c — table-driven MessagePack decoding with field paths, and encoding. */
#include "schema.h"

#include <stdio.h>
#include <string.h>

#include "date.h"
#include "idcard.h"
#include "log.h"
#include "mp.h"

bool schema_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t n;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 2, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4, cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n > len)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        /* overlong forms, surrogates and values past U+10FFFF */
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return false;
        i += n;
    }
    return true;
}

/* Where a value sits: the caller's prefix at the top, then map members and
 * array elements. Written out as "household.members[2].id_number" only when
 * an error names it — decoding a valid message builds no path at all (perf,
 * make bench: building them was most of a department's decoding time). */
typedef struct path {
    const struct path *up; /* the enclosing value; NULL at the top */
    const char *text;      /* top: the caller's prefix */
    const char *key;       /* a map member: its key, keylen raw bytes */
    size_t keylen;
    long index;            /* an array element (key NULL, up set): its index */
} path_t;

/* Appends n bytes of s to out[*len] within outsz (truncating as snprintf would). */
static void append(char *out, size_t outsz, size_t *len, const char *s, size_t n)
{
    if (*len + n >= outsz)
        n = outsz - 1 - *len;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

static void path_write(const path_t *p, char *out, size_t outsz, size_t *len)
{
    if (!p->up) {
        append(out, outsz, len, p->text, strlen(p->text));
        return;
    }
    path_write(p->up, out, outsz, len);
    if (!p->key) {
        char num[24];
        int n = snprintf(num, sizeof num, "[%ld]", p->index);
        append(out, outsz, len, num, (size_t)n);
        return;
    }
    if (*len)
        append(out, outsz, len, ".", 1);
    /* at most 63 bytes of a key; never echo raw bytes that are not text;
     * name an empty key visibly (found by fuzzing: an empty key gave an
     * error with no field) */
    size_t kl = p->keylen < 63 ? p->keylen : 63;
    if (!schema_utf8_valid(p->key, kl))
        append(out, outsz, len, "?", 1);
    else if (kl == 0)
        append(out, outsz, len, "\"\"", 2);
    else
        append(out, outsz, len, p->key, kl);
}

static int fail(schema_err_t *err, const path_t *path, const char *fmt, const char *arg)
{
    size_t len = 0;
    char field[sizeof err->field];
    field[0] = '\0';
    path_write(path, field, sizeof field, &len);
    /* a key may be an ID number (a mistake, or a probe): the path names it
     * masked, like every log line (POLICY.md §13) */
    log_scrub(field, err->field, sizeof err->field);
    snprintf(err->message, sizeof err->message, fmt, arg ? arg : "");
    return -1;
}

static int decode_map(const schema_t *s, const msgpack_object *o, void *out, const path_t *at,
                      schema_err_t *err);

static int decode_str(const msgpack_object *v, char *dst, size_t dstsz, int64_t maxb,
                      const path_t *path, schema_err_t *err)
{
    if (v->type != MSGPACK_OBJECT_STR)
        return fail(err, path, "must be a string%s", NULL);
    if ((int64_t)v->via.str.size > maxb || v->via.str.size >= dstsz) {
        char lim[32];
        snprintf(lim, sizeof lim, "%lld", (long long)maxb);
        return fail(err, path, "must be at most %s bytes", lim);
    }
    if (!schema_utf8_valid(v->via.str.ptr, v->via.str.size))
        return fail(err, path, "must be valid UTF-8 text%s", NULL);
    memcpy(dst, v->via.str.ptr, v->via.str.size);
    dst[v->via.str.size] = '\0';
    return 0;
}

static int decode_field(const schema_field_t *f, const msgpack_object *v, char *base,
                        const path_t *path, schema_err_t *err)
{
    void *dst = base + f->off;
    switch (f->type) {
    case FT_BOOL:
        if (v->type != MSGPACK_OBJECT_BOOLEAN)
            return fail(err, path, "must be true or false%s", NULL);
        *(bool *)dst = v->via.boolean;
        return 0;
    case FT_INT: {
        int64_t n;
        if (mp_int(v, &n) != 0)
            return fail(err, path, "must be an integer%s", NULL);
        if (n < f->min || n > f->max) {
            char lim[64];
            snprintf(lim, sizeof lim, "%lld..%lld", (long long)f->min, (long long)f->max);
            return fail(err, path, "must be in the range %s", lim);
        }
        *(int64_t *)dst = n;
        return 0;
    }
    case FT_ENUM:
        if (v->type == MSGPACK_OBJECT_STR)
            for (int i = 0; f->enums[i]; i++)
                if (mp_str_is(v, f->enums[i])) {
                    *(int *)dst = i;
                    return 0;
                }
        {
            char list[200] = "";
            for (int i = 0; f->enums[i]; i++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", i ? "|" : "", f->enums[i]);
            }
            return fail(err, path, "must be one of %s", list);
        }
    case FT_STR:
        return decode_str(v, dst, f->size, f->max, path, err);
    case FT_DIGITS: {
        bool digits = v->type == MSGPACK_OBJECT_STR && (int64_t)v->via.str.size == f->max;
        for (uint32_t i = 0; digits && i < v->via.str.size; i++)
            digits = v->via.str.ptr[i] >= '0' && v->via.str.ptr[i] <= '9';
        if (!digits) {
            char lim[24];
            snprintf(lim, sizeof lim, "%lld", (long long)f->max);
            return fail(err, path, "must be a string of exactly %s digits", lim);
        }
        return decode_str(v, dst, f->size, f->max, path, err);
    }
    case FT_DATE: {
        aid_date_t d = v->type == MSGPACK_OBJECT_STR ? date_parse(v->via.str.ptr, v->via.str.size) : 0;
        if (!d)
            return fail(err, path, "must be a real date written YYYY-MM-DD%s", NULL);
        *(aid_date_t *)dst = d;
        return 0;
    }
    case FT_IDNUM: {
        if (v->type != MSGPACK_OBJECT_STR)
            return fail(err, path, "must be a string%s", NULL);
        idcard_err_t e = idcard_check(v->via.str.ptr, v->via.str.size, 0, dst, NULL);
        if (e != IDCARD_OK)
            return fail(err, path, "%s", idcard_strerror(e));
        return 0;
    }
    case FT_OBJ:
        return decode_map(f->sub, v, dst, path, err);
    case FT_ARR:
    case FT_STRARR: {
        if (v->type != MSGPACK_OBJECT_ARRAY)
            return fail(err, path, "must be an array%s", NULL);
        uint32_t n = v->via.array.size;
        if ((int64_t)n < f->min || (int64_t)n > f->max) {
            char lim[64];
            snprintf(lim, sizeof lim, "%lld to %lld", (long long)f->min, (long long)f->max);
            return fail(err, path, "must have %s elements", lim);
        }
        for (uint32_t i = 0; i < n; i++) {
            path_t sub = {path, NULL, NULL, 0, (long)i};
            char *elem = (char *)dst + (size_t)i * f->size;
            int rc = f->type == FT_ARR
                         ? decode_map(f->sub, &v->via.array.ptr[i], elem, &sub, err)
                         : decode_str(&v->via.array.ptr[i], elem, f->size,
                                      (int64_t)f->size - 1, &sub, err);
            if (rc != 0)
                return -1;
        }
        *(int *)(base + f->count_off) = (int)n;
        return 0;
    }
    }
    return fail(err, path, "unsupported field type%s", NULL);
}

/* The field named by key k, looked for from hint on (fields usually come in
 * their table's order), or -1. */
static int find_field(const schema_t *s, const msgpack_object *k, int hint)
{
    for (int n = 0; n < s->nfields; n++) {
        int j = hint + n < s->nfields ? hint + n : hint + n - s->nfields;
        const schema_field_t *f = &s->fields[j];
        if (f->namelen == k->via.str.size && memcmp(f->name, k->via.str.ptr, f->namelen) == 0)
            return j;
    }
    return -1;
}

/* A failure of the map at itself; the top of a message without a prefix is
 * named by its schema. */
static int fail_map(schema_err_t *err, const schema_t *s, const path_t *at, const char *fmt)
{
    path_t named = {NULL, s->name, NULL, 0, 0};
    return fail(err, at->up || *at->text ? at : &named, fmt, NULL);
}

static int decode_map(const schema_t *s, const msgpack_object *o, void *out, const path_t *at,
                      schema_err_t *err)
{
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return fail_map(err, s, at, "must be a map%s");
    /* zero only at the top: nested structs are zeroed with their parent */
    uint64_t seen = 0;
    int hint = 0;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            return fail_map(err, s, at, "keys must be strings%s");
        path_t member = {at, NULL, k->via.str.ptr, k->via.str.size, 0};
        int idx = find_field(s, k, hint);
        if (idx < 0)
            return fail(err, &member, "unknown field (check the spelling)%s", NULL);
        if (seen & (1ull << idx))
            return fail(err, &member, "appears twice%s", NULL);
        seen |= 1ull << idx;
        hint = idx + 1 < s->nfields ? idx + 1 : 0;
        if (decode_field(&s->fields[idx], &o->via.map.ptr[i].val, out, &member, err) != 0)
            return -1;
    }
    for (int j = 0; j < s->nfields; j++)
        if (s->fields[j].required && !(seen & (1ull << j))) {
            path_t member = {at, NULL, s->fields[j].name, s->fields[j].namelen, 0};
            return fail(err, &member, "is required%s", NULL);
        }
    return 0;
}

int schema_decode(const schema_t *s, const msgpack_object *o, void *out, const char *prefix,
                  schema_err_t *err)
{
    path_t top = {NULL, prefix, NULL, 0, 0};
    return decode_map(s, o, out, &top, err);
}

static bool is_omitted(const schema_field_t *f, const char *base)
{
    if (f->required)
        return false;
    if (f->type == FT_DATE)
        return *(const aid_date_t *)(base + f->off) == 0;
    if (f->type == FT_STR || f->type == FT_DIGITS || f->type == FT_IDNUM)
        return base[f->off] == '\0';
    return false;
}

void schema_encode(const schema_t *s, const void *in, msgpack_packer *pk)
{
    const char *base = in;
    int n = 0;
    for (int j = 0; j < s->nfields; j++)
        n += !is_omitted(&s->fields[j], base);
    msgpack_pack_map(pk, (size_t)n);
    for (int j = 0; j < s->nfields; j++) {
        const schema_field_t *f = &s->fields[j];
        if (is_omitted(f, base))
            continue;
        mp_pack_str(pk, f->name);
        const void *src = base + f->off;
        switch (f->type) {
        case FT_BOOL:
            if (*(const bool *)src)
                msgpack_pack_true(pk);
            else
                msgpack_pack_false(pk);
            break;
        case FT_INT: msgpack_pack_int64(pk, *(const int64_t *)src); break;
        case FT_ENUM: mp_pack_str(pk, f->enums[*(const int *)src]); break;
        case FT_STR:
        case FT_DIGITS:
        case FT_IDNUM: mp_pack_str(pk, src); break;
        case FT_DATE: {
            char d[11];
            date_format(*(const aid_date_t *)src, d);
            mp_pack_str(pk, d);
            break;
        }
        case FT_OBJ: schema_encode(f->sub, src, pk); break;
        case FT_ARR:
        case FT_STRARR: {
            int cnt = *(const int *)(base + f->count_off);
            msgpack_pack_array(pk, (size_t)cnt);
            for (int i = 0; i < cnt; i++) {
                const char *elem = (const char *)src + (size_t)i * f->size;
                if (f->type == FT_ARR)
                    schema_encode(f->sub, elem, pk);
                else
                    mp_pack_str(pk, elem);
            }
            break;
        }
        }
    }
}
