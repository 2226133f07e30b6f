/* log.h — structured logs: one JSON object per line on stderr.
 *
 *   log_info("report.accepted", "case", LOG_S(case_id), "id_number", LOG_ID(id), NULL);
 *
 * Fields are name/value pairs ending with NULL. Values go through LOG_S (text),
 * LOG_I (integer), LOG_ID (an ID number: always masked, first 6 + last 4) and
 * LOG_NAME (a person's name: masked after the first character). As a second
 * line of defence every text value is scrubbed: any run of 17 digits followed
 * by a digit or X is masked, so a full ID number never reaches a log even when
 * it hides inside an error message from a library. */
#ifndef AID_COMMON_LOG_H
#define AID_COMMON_LOG_H

#include <stdint.h>
#include <stddef.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;
typedef enum { LOGV_STR, LOGV_INT, LOGV_ID, LOGV_NAME } log_vtype_t;

typedef struct {
    log_vtype_t type;
    const char *s;
    int64_t i;
} log_value_t;

#define LOG_S(x) ((log_value_t){LOGV_STR, (x), 0})
#define LOG_I(x) ((log_value_t){LOGV_INT, NULL, (int64_t)(x)})
#define LOG_ID(x) ((log_value_t){LOGV_ID, (x), 0})
#define LOG_NAME(x) ((log_value_t){LOGV_NAME, (x), 0})

/* Sets the service name printed in every line and the minimum level
 * (from AID_LOG_LEVEL: debug|info|warn|error). Call once from main. */
void log_init(const char *service);

void log_at(log_level_t level, const char *event, ...);
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)

/* Copies src into dst (dstsz bytes) with every ID-number-shaped run masked.
 * Exposed for tests and for error texts sent to clients. */
void log_scrub(const char *src, char *dst, size_t dstsz);

#endif
