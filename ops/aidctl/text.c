/* text.c — UTF-8 decoding, cleaning and display width for terminal output. */
#include "text.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static int is_unsafe_for_terminal(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

char *text_clean(const char *s, size_t n, int for_terminal, size_t *outlen)
{
    size_t len;
    char *out = utf8_clean(s, n, &len);
    if (!out || !for_terminal) {
        if (out && outlen)
            *outlen = len;
        return out;
    }
    /* each unsafe character becomes one '?': the text only shrinks */
    unsigned char *p = (unsigned char *)out;
    size_t i = 0, o = 0;
    while (i < len) {
        uint32_t cp;
        size_t cl = utf8_decode(p + i, len - i, &cp); /* clean: never 0 */
        if (is_unsafe_for_terminal(cp))
            p[o++] = '?';
        else
            memmove(p + o, p + i, cl), o += cl;
        i += cl;
    }
    p[o] = '\0';
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
        size_t len = utf8_decode(p + i, n - i, &cp);
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
