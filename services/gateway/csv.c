/* csv.c — CSV text in memory (see csv.h). */
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void csv_put(csv_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
        char *nb = realloc(b->buf, cap);
        if (!nb) {
            b->failed = true;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void put_quoted(csv_t *b, const char *s, bool formula)
{
    csv_put(b, "\"", 1);
    if (formula)
        csv_put(b, "'", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            csv_put(b, "\"\"", 2);
        else
            csv_put(b, p, 1);
    }
    csv_put(b, "\"", 1);
}

void csv_put_field(csv_t *b, const json_t *v)
{
    char num[32];
    const char *s = "";
    char *dumped = NULL;
    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        s = num;
    }
    else if (json_is_true(v))
        s = "true";
    else if (json_is_false(v))
        s = "false";
    else if (v && !json_is_null(v))
        s = dumped = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        s = "";
    /* a leading = + - @ would be a formula to a spreadsheet: neutralise it */
    bool formula = strchr("=+-@", s[0]) && s[0] && !json_is_integer(v);
    if (strpbrk(s, ",\"\r\n") || formula)
        put_quoted(b, s, formula);
    else
        csv_put(b, s, strlen(s));
    free(dumped);
}

void csv_put_text(csv_t *b, const char *s)
{
    json_t *v = json_string(s ? s : "");
    csv_put_field(b, v);
    json_decref(v);
}

void csv_put_plain(csv_t *b, const char *s)
{
    s = s ? s : "";
    if (strpbrk(s, ",\"\r\n"))
        put_quoted(b, s, false);
    else
        csv_put(b, s, strlen(s));
}
