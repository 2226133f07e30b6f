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

#endif
