/* pgarr.c — PostgreSQL array literal builder. */
#include "pgarr.h"

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
