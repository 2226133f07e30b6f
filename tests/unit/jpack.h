/* jpack.h — test helper shared by the unit tests: writes MessagePack from a
 * JSON-like text, so test messages read like the contract's examples.
 * Static functions only; include it once per test program. */
#ifndef AID_TESTS_JPACK_H
#define AID_TESTS_JPACK_H

#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"

/* ---- jpack: JSON-like text → MessagePack, for writing test messages -------
 * Strings in '…' or "…" (escapes \\ \' \" \n \xNN for raw bytes), b'…' for
 * bin, integers (negative → int64, else uint64), numbers with . or e →
 * float64, true, false, null, [ … ] and { key: value, … } (keys may be any
 * value, to test non-string keys); any other bare word is a string. */
typedef struct {
    const char *p;
    int err;
} jp_t;

static void jp_value(jp_t *j, msgpack_packer *pk);

static void jp_ws(jp_t *j)
{
    while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t')
        j->p++;
}

static int jp_hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void jp_string(jp_t *j, msgpack_packer *pk, int bin)
{
    char q = *j->p++;
    size_t cap = strlen(j->p) + 1, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    while (*j->p && *j->p != q) {
        char c = *j->p++;
        if (c == '\\') {
            c = *j->p++;
            if (c == 'n')
                c = '\n';
            else if (c == 'x' && jp_hex(j->p[0]) >= 0 && jp_hex(j->p[1]) >= 0) {
                c = (char)(jp_hex(j->p[0]) * 16 + jp_hex(j->p[1]));
                j->p += 2;
            } else if (c != '\\' && c != '\'' && c != '"') {
                j->err = 1;
            }
        }
        buf[n++] = c;
    }
    if (*j->p == q)
        j->p++;
    else
        j->err = 1;
    if (bin)
        msgpack_pack_bin_with_body(pk, buf, n);
    else
        mp_pack_strn(pk, buf, n);
    free(buf);
}

static void jp_container(jp_t *j, msgpack_packer *pk, int map)
{
    char close = map ? '}' : ']';
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer sub;
    msgpack_packer_init(&sub, &sb, msgpack_sbuffer_write);
    size_t n = 0;
    j->p++;
    jp_ws(j);
    while (!j->err && *j->p && *j->p != close) {
        jp_value(j, &sub);
        if (map) {
            jp_ws(j);
            if (*j->p != ':') {
                j->err = 1;
                break;
            }
            j->p++;
            jp_value(j, &sub);
        }
        n++;
        jp_ws(j);
        if (*j->p == ',') {
            j->p++;
            jp_ws(j);
        } else if (*j->p != close) {
            j->err = 1;
        }
    }
    if (*j->p == close)
        j->p++;
    else
        j->err = 1;
    if (map)
        msgpack_pack_map(pk, n);
    else
        msgpack_pack_array(pk, n);
    if (sb.size)
        pk->callback(pk->data, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

static void jp_value(jp_t *j, msgpack_packer *pk)
{
    jp_ws(j);
    const char *p = j->p;
    if (*p == '{' || *p == '[')
        jp_container(j, pk, *p == '{');
    else if (*p == '\'' || *p == '"')
        jp_string(j, pk, 0);
    else if (*p == 'b' && (p[1] == '\'' || p[1] == '"')) {
        j->p++;
        jp_string(j, pk, 1);
    } else if (!strncmp(p, "true", 4)) {
        msgpack_pack_true(pk);
        j->p += 4;
    } else if (!strncmp(p, "false", 5)) {
        msgpack_pack_false(pk);
        j->p += 5;
    } else if (!strncmp(p, "null", 4)) {
        msgpack_pack_nil(pk);
        j->p += 4;
    } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
        size_t len = strspn(p, "-+0123456789.eE");
        if (memchr(p, '.', len) || memchr(p, 'e', len) || memchr(p, 'E', len))
            msgpack_pack_double(pk, strtod(p, NULL));
        else if (*p == '-')
            msgpack_pack_int64(pk, strtoll(p, NULL, 10));
        else
            msgpack_pack_uint64(pk, strtoull(p, NULL, 10));
        j->p += len;
    } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_') {
        size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");
        mp_pack_strn(pk, p, len); /* a bare word is a string (for keys) */
        j->p += len;
    } else {
        j->err = 1;
    }
}

/* Packs text into sb (initialised here); fails the test on a syntax error. */
static void jpack(msgpack_sbuffer *sb, const char *text)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    jp_t j = {text, 0};
    jp_value(&j, &pk);
    jp_ws(&j);
    if (j.err || *j.p)
        fail_msg("jpack: syntax error near \"%.30s\" in %.200s", j.p, text);
}

/* A message built from text and unpacked: m->u.data is the object. */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_unpacked u;
} msg_t;

static const msgpack_object *msg_make(msg_t *m, const char *text)
{
    jpack(&m->sb, text);
    msgpack_unpacked_init(&m->u);
    mp_err_t e = mp_unpack(m->sb.data, m->sb.size, &m->u);
    if (e != MP_OK)
        fail_msg("jpack produced bad MessagePack (%s) for %.200s", mp_strerror(e), text);
    return &m->u.data;
}

static void msg_free(msg_t *m)
{
    msgpack_unpacked_destroy(&m->u);
    msgpack_sbuffer_destroy(&m->sb);
}

#endif
