/* idcard.h — resident ID numbers (居民身份证号码, GB 11643-1999) and masking.
 *
 * Pure functions over bytes; nothing here allocates. */
#ifndef AID_COMMON_IDCARD_H
#define AID_COMMON_IDCARD_H

#include <stdbool.h>
#include <stddef.h>

#include "date.h"

typedef enum {
    IDCARD_OK = 0,
    IDCARD_LENGTH,      /* not 18 characters */
    IDCARD_CHARS,       /* not 17 digits then a digit or X */
    IDCARD_BIRTH_DATE,  /* characters 7–14 are not a real date */
    IDCARD_FUTURE,      /* born after the reference date */
    IDCARD_CHECKSUM     /* check character does not match */
} idcard_err_t;

/* Validates s (len bytes) against POLICY.md §0. On success writes the
 * canonical form (upper-case X) to out (19 bytes) and the birth date to
 * *birth. not_after is the latest allowed birth date (the report's as_of);
 * 0 disables that check. */
idcard_err_t idcard_check(const char *s, size_t len, aid_date_t not_after, char out[19],
                          aid_date_t *birth);
/* A human sentence for an error code. */
const char *idcard_strerror(idcard_err_t e);
/* The birth date of an already validated canonical ID number. */
aid_date_t idcard_birth(const char id[19]);
/* Masks an ID number for display: first 6 and last 4 kept, the middle as '*'.
 * Input of another length is masked whole. out needs len+1 bytes (≥ 19). */
void idcard_mask(const char *id, size_t len, char *out, size_t outsz);
/* Masks a name after its first UTF-8 character ("张三丰" → "张**"). */
void name_mask(const char *name, char *out, size_t outsz);

#endif
