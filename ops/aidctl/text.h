/* text.h — UTF-8 text for a terminal: decoding, cleaning what a server sent
 * before it reaches the terminal, and display width (CJK counts 2 columns). */
#ifndef AIDCTL_TEXT_H
#define AIDCTL_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "utf8.h" /* utf8_decode */

/* A NUL-terminated copy of s[0..n) (malloc; NULL on out of memory); its
 * length in bytes goes to *outlen unless NULL. Invalid UTF-8 becomes U+FFFD. With for_terminal, control characters (C0,
 * DEL, C1) and bidirectional overrides become '?' so a reply cannot drive
 * the terminal; otherwise they are kept (JSON output escapes them itself). */
char *text_clean(const char *s, size_t n, int for_terminal, size_t *outlen);

/* Terminal columns that the (clean) UTF-8 string s takes: wide East Asian
 * characters count 2, combining marks 0, everything else 1. */
size_t text_width(const char *s);

#endif
