/* pgarr.h — builds PostgreSQL array literals ('{"a","b"}', '{1,2}') for
 * passing many values as one statement parameter (unnest on the server).
 *
 * Every text element is quoted and escaped, so any UTF-8 text is safe. The
 * buffer grows as needed; pgarr_str() is valid until the next append. */
#ifndef AID_COMMON_PGARR_H
#define AID_COMMON_PGARR_H

#include <stdint.h>
#include <stddef.h>

typedef struct {
    char *buf;
    size_t len, cap;
    int count;
    int failed;   /* set when an allocation failed; pgarr_str returns NULL */
} pgarr_t;

void pgarr_init(pgarr_t *a);
void pgarr_reset(pgarr_t *a);
void pgarr_free(pgarr_t *a);
void pgarr_add_text(pgarr_t *a, const char *s);
void pgarr_add_int(pgarr_t *a, int64_t v);
void pgarr_add_null(pgarr_t *a);
/* The literal "{…}", or NULL after an allocation failure. */
const char *pgarr_str(pgarr_t *a);

/* A one-dimensional bytea[] in PostgreSQL's binary array format, for a
 * parameter sent with format 1 (binary): any bytes, no escaping. The buffer
 * grows as needed and is reused after pgbin_reset. */
typedef struct {
    char *buf;
    size_t len, cap;
    int count;
    int failed;   /* set when an allocation failed; pgbin_data returns NULL */
} pgbin_t;

void pgbin_init(pgbin_t *b);
void pgbin_reset(pgbin_t *b);
void pgbin_free(pgbin_t *b);
void pgbin_add(pgbin_t *b, const void *p, size_t n);
/* The array (header with the element count, then the elements) and its
 * size in *len; NULL after an allocation failure. Valid until the next add. */
const char *pgbin_data(pgbin_t *b, int *len);

#endif
