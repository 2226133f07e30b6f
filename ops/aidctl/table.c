/* table.c — aligned text columns for readable output. */
#include "table.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

#define TABLE_MAX_COLS 16

struct table {
    size_t ncols;
    char align[TABLE_MAX_COLS + 1];
    char **cells;   /* nrows * ncols, row-major */
    size_t nrows, cap;
};

table_t *table_new(const char *align)
{
    size_t n = strlen(align);
    if (n == 0 || n > TABLE_MAX_COLS)
        return NULL;
    table_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = n;
    memcpy(t->align, align, n + 1);
    return t;
}

int table_add_row(table_t *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        char **grown = realloc(t->cells, cap * t->ncols * sizeof *grown);
        if (!grown)
            return -1;
        t->cells = grown;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
        const char *s = cells[c] ? cells[c] : "";
        row[c] = text_clean(s, strlen(s), 1, NULL);
        if (!row[c]) {
            while (c-- > 0)
                free(row[c]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

static void print_spaces(FILE *out, size_t n)
{
    while (n--)
        fputc(' ', out);
}

void table_print(const table_t *t, FILE *out, int indent)
{
    size_t width[TABLE_MAX_COLS] = {0};
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        char *const *row = t->cells + r * t->ncols;
        /* the last column that is not empty: nothing is padded after it */
        size_t last = t->ncols;
        while (last > 1 && row[last - 1][0] == '\0')
            last--;
        print_spaces(out, (size_t)(indent > 0 ? indent : 0));
        for (size_t c = 0; c < last; c++) {
            size_t pad = width[c] - text_width(row[c]);
            if (c > 0)
                fputs("  ", out);
            if (t->align[c] == 'r')
                print_spaces(out, pad);
            fputs(row[c], out);
            if (t->align[c] != 'r' && c + 1 < last)
                print_spaces(out, pad);
        }
        fputc('\n', out);
    }
}

void table_free(table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}
