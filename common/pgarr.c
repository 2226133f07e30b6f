/* pgarr.c — PostgreSQL array literal builder, and bytea[] in the binary format. */
#include "pgarr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pgarr_init(pgarr_t *a) { memset(a, 0, sizeof *a); }

void pgarr_reset(pgarr_t *a)
{
    a->len = 0;
    a->count = 0;
    a->failed = 0;
}

void pgarr_free(pgarr_t *a)
{
    free(a->buf);
    pgarr_init(a);
}

static int reserve(pgarr_t *a, size_t more)
{
    if (a->failed)
        return -1;
    if (a->len + more + 2 <= a->cap) /* room for '}' and NUL */
        return 0;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + more + 2)
        cap *= 2;
    char *b = realloc(a->buf, cap);
    if (!b) {
        a->failed = 1;
        return -1;
    }
    a->buf = b;
    a->cap = cap;
    return 0;
}

static int sep(pgarr_t *a, size_t more)
{
    if (reserve(a, more + 2) != 0)
        return -1;
    a->buf[a->len++] = a->count++ ? ',' : '{';
    return 0;
}

void pgarr_add_text(pgarr_t *a, const char *s)
{
    size_t n = strlen(s);
    if (sep(a, 2 * n + 2) != 0)
        return;
    a->buf[a->len++] = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            a->buf[a->len++] = '\\';
        a->buf[a->len++] = *s;
    }
    a->buf[a->len++] = '"';
}

void pgarr_add_int(pgarr_t *a, int64_t v)
{
    if (sep(a, 24) != 0)
        return;
    /* by hand, not snprintf: the workers add several per row */
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

void pgarr_add_null(pgarr_t *a)
{
    if (sep(a, 4) != 0)
        return;
    memcpy(a->buf + a->len, "NULL", 4);
    a->len += 4;
}

const char *pgarr_str(pgarr_t *a)
{
    if (a->failed || reserve(a, 2) != 0)
        return NULL;
    if (a->count == 0)
        a->buf[a->len++] = '{';
    a->buf[a->len] = '}';
    a->buf[a->len + 1] = '\0';
    if (a->count == 0)
        a->len--; /* keep the builder appendable */
    return a->buf;
}

/* ---- bytea[] in the binary array format ---------------------------------
 * Header: ndim, has-nulls flag, element type oid (17, bytea), then per
 * dimension its size and lower bound; each element: its length, its bytes.
 * All integers 32-bit big-endian. The size is written by pgbin_data. */
#define PGBIN_HEADER 20

void pgbin_init(pgbin_t *b) { memset(b, 0, sizeof *b); }

void pgbin_reset(pgbin_t *b)
{
    b->len = 0;
    b->count = 0;
    b->failed = 0;
}

void pgbin_free(pgbin_t *b)
{
    free(b->buf);
    pgbin_init(b);
}

static int bin_reserve(pgbin_t *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    char *p = realloc(b->buf, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->buf = p;
    b->cap = cap;
    return 0;
}

static void bin_i32(char *at, int32_t v)
{
    uint32_t be = htonl((uint32_t)v);
    memcpy(at, &be, 4);
}

void pgbin_add(pgbin_t *b, const void *p, size_t n)
{
    if (b->len == 0)
        b->len = PGBIN_HEADER; /* written by pgbin_data */
    if (n > INT32_MAX || bin_reserve(b, 4 + n) != 0) {
        b->failed = 1;
        return;
    }
    bin_i32(b->buf + b->len, (int32_t)n);
    memcpy(b->buf + b->len + 4, p, n);
    b->len += 4 + n;
    b->count++;
}

const char *pgbin_data(pgbin_t *b, int *len)
{
    *len = 0;
    if (b->failed || bin_reserve(b, PGBIN_HEADER) != 0 || b->len > INT32_MAX)
        return NULL;
    if (b->count == 0) {
        /* the empty array: no dimensions */
        bin_i32(b->buf, 0);
        bin_i32(b->buf + 4, 0);
        bin_i32(b->buf + 8, 17);
        b->len = 0;
        *len = 12;
        return b->buf;
    }
    bin_i32(b->buf, 1);
    bin_i32(b->buf + 4, 0);
    bin_i32(b->buf + 8, 17 /* bytea */);
    bin_i32(b->buf + 12, b->count);
    bin_i32(b->buf + 16, 1);
    *len = (int)b->len;
    return b->buf;
}
