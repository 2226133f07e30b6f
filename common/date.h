/* date.h — calendar dates as YYYYMMDD integers (20261129), the form the
 * contract's "YYYY-MM-DD" strings map to. Zero means "no date". Comparing two
 * dates is comparing two integers; arithmetic goes through day numbers. */
#ifndef AID_COMMON_DATE_H
#define AID_COMMON_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int32_t aid_date_t;

/* True when y-m-d is a real Gregorian date (years 1800..9999). */
bool date_valid(int y, int m, int d);
/* Builds a date from parts; 0 when not a real date. */
aid_date_t date_make(int y, int m, int d);
/* Parses exactly "YYYY-MM-DD" (len bytes, no terminator needed); 0 on error. */
aid_date_t date_parse(const char *s, size_t len);
/* Writes "YYYY-MM-DD" and a NUL into out (at least 11 bytes). */
void date_format(aid_date_t d, char out[11]);
/* Today in UTC+8 (the county's calendar day). */
aid_date_t date_today(void);
/* Whole years from birth to on (age on that date). */
int date_years_between(aid_date_t birth, aid_date_t on);
/* Days since 1970-01-01 and back. */
int64_t date_to_days(aid_date_t d);
aid_date_t date_from_days(int64_t days);
/* The date n months later, day clamped to the month's end. */
aid_date_t date_add_months(aid_date_t d, int n);
/* The date n working days (Mon–Fri) after d. */
aid_date_t date_add_working_days(aid_date_t d, int n);

#define DATE_Y(d) ((int)((d) / 10000))
#define DATE_M(d) ((int)((d) / 100 % 100))
#define DATE_D(d) ((int)((d) % 100))

#endif
