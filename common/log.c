/* log.c — JSON-lines logger with ID-number and name masking (POLICY.md §13). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "config.h"
#include "idcard.h"

/* Set once by log_init before any thread starts; read-only afterwards. */
static const char *log_service = "aid";
static log_level_t log_min = LOG_INFO;

void log_init(const char *service)
{
    log_service = service;
    const char *lv = config_str("AID_LOG_LEVEL", "info");
    log_min = !strcmp(lv, "debug") ? LOG_DEBUG
              : !strcmp(lv, "warn") ? LOG_WARN
              : !strcmp(lv, "error") ? LOG_ERROR
                                     : LOG_INFO;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

void log_scrub(const char *src, char *dst, size_t dstsz)
{
    size_t o = 0, n = strlen(src);
    if (dstsz == 0)
        return;
    for (size_t i = 0; i < n && o + 1 < dstsz;) {
        /* a run of 17 digits then a digit or X/x, not part of a longer digit run */
        size_t run = 0;
        while (i + run < n && run < 17 && is_digit(src[i + run]))
            run++;
        int at_start = i == 0 || !is_digit(src[i - 1]);
        if (run == 17 && at_start && i + 17 < n &&
            (is_digit(src[i + 17]) || src[i + 17] == 'X' || src[i + 17] == 'x') &&
            /* a digit after an 18th digit makes a longer number; after an X it
             * cannot, so an X-ending ID is masked whatever follows */
            (i + 18 >= n || !is_digit(src[i + 18]) || !is_digit(src[i + 17]))) {
            char masked[19];
            idcard_mask(src + i, 18, masked, sizeof masked);
            for (size_t k = 0; k < 18 && o + 1 < dstsz; k++)
                dst[o++] = masked[k];
            i += 18;
            continue;
        }
        if (run > 0) { /* copy the digit run as is */
            for (size_t k = 0; k < run && o + 1 < dstsz; k++)
                dst[o++] = src[i + k];
            i += run;
            continue;
        }
        dst[o++] = src[i++];
    }
    dst[o] = '\0';
}

/* Appends s as a JSON string body (escaped) to buf, stopping — at a
 * character boundary, never inside a UTF-8 sequence or an escape — when
 * fewer than `reserve` bytes would be left for what must follow. */
static size_t put_json(char *buf, size_t o, size_t cap, const char *s, size_t reserve)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        size_t need = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2; /* bytes in */
        size_t out = c == '"' || c == '\\' ? 2 : c < 0x20 ? 6 : need;      /* bytes out */
        for (size_t k = 1; k < need; k++)
            if (p[k] == 0)
                return o; /* a truncated sequence: stop before it */
        if (o + out + reserve > cap)
            return o;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", c);
        } else {
            memcpy(buf + o, p, need);
            o += need;
        }
        p += need;
    }
    return o;
}

void log_at(log_level_t level, const char *event, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (level < log_min)
        return;
    char line[4096], tmp[1024];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    size_t o = (size_t)snprintf(line, sizeof line,
                                "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"level\":\"%s\","
                                "\"service\":\"%s\",\"event\":\"",
                                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000), names[level],
                                log_service);
    /* room kept at the end for the closing quote, brace and newline */
    o = put_json(line, o, sizeof line, event, 4);
    line[o++] = '"';
    va_list ap;
    va_start(ap, event);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL && o + 128 < sizeof line) {
        log_value_t v = va_arg(ap, log_value_t);
        line[o++] = ',';
        line[o++] = '"';
        o = put_json(line, o, sizeof line, key, 64);
        line[o++] = '"';
        line[o++] = ':';
        if (v.type == LOGV_INT) {
            o += (size_t)snprintf(line + o, sizeof line - o, "%lld", (long long)v.i);
            continue;
        }
        const char *s = v.s ? v.s : "";
        if (v.type == LOGV_ID)
            idcard_mask(s, strlen(s), tmp, sizeof tmp);
        else if (v.type == LOGV_NAME)
            name_mask(s, tmp, sizeof tmp);
        else
            log_scrub(s, tmp, sizeof tmp);
        line[o++] = '"';
        o = put_json(line, o, sizeof line, tmp, 4);
        line[o++] = '"';
    }
    va_end(ap);
    line[o++] = '}';
    line[o++] = '\n';
    fwrite(line, 1, o, stderr);
    fflush(stderr);
}
