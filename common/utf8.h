/* utf8.h — decoding UTF-8 one character at a time, and cleaning text that
 * may not be UTF-8 (what a peer sent) before it is shown or passed on. */
#ifndef AID_COMMON_UTF8_H
#define AID_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes one UTF-8 character at s (n bytes left) into *cp. Returns its
 * length, or 0 when the bytes are not well-formed UTF-8 (overlong forms,
 * surrogates and values above U+10FFFF included). */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Is s 1..max bytes of well-formed UTF-8 without control characters (C0 and
 * DEL)? What an operator may type as an id or a name. */
bool utf8_printable(const char *s, size_t max);

/* A NUL-terminated copy of s[0..n) (malloc; NULL when out of memory) in which
 * every byte that is not part of a well-formed character became U+FFFD; its
 * length in bytes goes to *outlen unless NULL. NUL and control characters
 * are kept. */
char *utf8_clean(const char *s, size_t n, size_t *outlen);

#endif
