/* csv.h — CSV text built in memory for the console's downloads: the
 * township ledger (api_ops.c) and the bank's payroll file (api_payroll.c). */
#ifndef AID_GATEWAY_CSV_H
#define AID_GATEWAY_CSV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *buf;      /* malloc, NUL-terminated; handed to the reply when done */
    size_t len, cap;
    bool failed;    /* out of memory: the text is incomplete */
} csv_t;

/* Appends n bytes. */
void csv_put(csv_t *b, const char *s, size_t n);
/* Appends one field for a spreadsheet (RFC 4180): quoted when it holds a
 * comma, quote or line break; a text beginning with = + - @ quoted with a '
 * in front, so a spreadsheet never reads it as a formula. */
void csv_put_field(csv_t *b, const json_t *v);
void csv_put_text(csv_t *b, const char *s);
/* Appends one field exactly as `aidctl payroll file` writes it (the bank's
 * file): quoted only when it holds a comma, quote or line break. */
void csv_put_plain(csv_t *b, const char *s);

#endif
