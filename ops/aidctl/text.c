/* text.c — UTF-8 decoding, cleaning and display width for terminal output. */
#include "text.h"

#include <stdlib.h>
#include <string.h>

size_t text_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static int is_unsafe_for_terminal(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

char *text_clean(const char *s, size_t n, int for_terminal, size_t *outlen)
{
    /* U+FFFD takes 3 bytes where one bad byte was: at most 3n bytes */
    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = text_utf8_decode(p + i, n - i, &cp);
        if (len == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else if (for_terminal && is_unsafe_for_terminal(cp)) {
            out[o++] = '?';
            i += len;
        } else {
            memcpy(out + o, p + i, len);
            o += len;
            i += len;
        }
    }
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return out;
}

static int is_combining(uint32_t cp)
{
    return (cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x20d0 && cp <= 0x20ff);
}

static int is_wide(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115f) ||   /* Hangul Jamo */
           (cp >= 0x2e80 && cp <= 0x303e) ||   /* CJK radicals, punctuation */
           (cp >= 0x3041 && cp <= 0x33ff) ||   /* kana, CJK compatibility */
           (cp >= 0x3400 && cp <= 0x4dbf) ||   /* CJK extension A */
           (cp >= 0x4e00 && cp <= 0x9fff) ||   /* CJK unified ideographs */
           (cp >= 0xa000 && cp <= 0xa4cf) ||   /* Yi */
           (cp >= 0xac00 && cp <= 0xd7a3) ||   /* Hangul syllables */
           (cp >= 0xf900 && cp <= 0xfaff) ||   /* CJK compatibility ideographs */
           (cp >= 0xfe30 && cp <= 0xfe4f) ||   /* CJK compatibility forms */
           (cp >= 0xff00 && cp <= 0xff60) ||   /* fullwidth forms */
           (cp >= 0xffe0 && cp <= 0xffe6) ||
           (cp >= 0x1f300 && cp <= 0x1f64f) || /* emoji */
           (cp >= 0x1f900 && cp <= 0x1f9ff) ||
           (cp >= 0x20000 && cp <= 0x3fffd);   /* CJK extensions B… */
}

size_t text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, w = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = text_utf8_decode(p + i, n - i, &cp);
        if (len == 0) {
            w++;
            i++;
            continue;
        }
        w += is_combining(cp) ? 0 : is_wide(cp) ? 2 : 1;
        i += len;
    }
    return w;
}
