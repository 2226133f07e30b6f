/* table.h — aligned text columns for readable output; widths are display
 * columns (text_width), so Chinese names line up. */
#ifndef AIDCTL_TABLE_H
#define AIDCTL_TABLE_H

#include <stdio.h>

typedef struct table table_t;

/* A table of strlen(align) columns (1–16); align[i] is 'l' or 'r'. NULL on
 * out of memory. */
table_t *table_new(const char *align);
/* Appends a row of as many cells as columns (NULL cells print empty). The
 * cells are copied and cleaned for the terminal. -1 on out of memory. */
int table_add_row(table_t *t, const char *const *cells);
/* Prints every row, each line starting with indent spaces, columns two
 * spaces apart, no trailing blanks. */
void table_print(const table_t *t, FILE *out, int indent);
void table_free(table_t *t);

#endif
