/* date.c — YYYYMMDD dates: validation, parsing, ages and working days. */
#include "date.h"

#include <time.h>

static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

bool date_valid(int y, int m, int d)
{
    return y >= 1800 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

aid_date_t date_make(int y, int m, int d)
{
    return date_valid(y, m, d) ? (aid_date_t)(y * 10000 + m * 100 + d) : 0;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

aid_date_t date_parse(const char *s, size_t len)
{
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 0 || m < 0 || d < 0)
        return 0;
    return date_make(y, m, d);
}

void date_format(aid_date_t d, char out[11])
{
    unsigned y = (unsigned)DATE_Y(d) % 10000u, m = (unsigned)DATE_M(d) % 100u,
             dd = (unsigned)DATE_D(d) % 100u;
    out[0] = (char)('0' + y / 1000), out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10), out[3] = (char)('0' + y % 10), out[4] = '-';
    out[5] = (char)('0' + m / 10), out[6] = (char)('0' + m % 10), out[7] = '-';
    out[8] = (char)('0' + dd / 10), out[9] = (char)('0' + dd % 10), out[10] = '\0';
}

aid_date_t date_today(void)
{
    time_t now = time(NULL) + 8 * 3600; /* China Standard Time, no DST */
    struct tm tm;
    gmtime_r(&now, &tm);
    return date_make(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int date_years_between(aid_date_t birth, aid_date_t on)
{
    int years = DATE_Y(on) - DATE_Y(birth);
    if (on % 10000 < birth % 10000) /* birthday (MMDD) not reached yet this year */
        years--;
    return years;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t date_to_days(aid_date_t d)
{
    int64_t y = DATE_Y(d), m = DATE_M(d), dd = DATE_D(d);
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

aid_date_t date_from_days(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp + (mp < 10 ? 3 : -9);
    return (aid_date_t)((y + (m <= 2)) * 10000 + m * 100 + d);
}

aid_date_t date_add_months(aid_date_t d, int n)
{
    int total = DATE_Y(d) * 12 + (DATE_M(d) - 1) + n;
    int y = total / 12, m = total % 12 + 1;
    int day = DATE_D(d);
    if (day > days_in_month(y, m))
        day = days_in_month(y, m);
    return (aid_date_t)(y * 10000 + m * 100 + day);
}

aid_date_t date_add_working_days(aid_date_t d, int n)
{
    int64_t days = date_to_days(d);
    while (n > 0) {
        days++;
        int64_t wd = ((days % 7) + 7 + 3) % 7; /* 0 = Monday; 1970-01-01 was a Thursday */
        if (wd < 5)
            n--;
    }
    return date_from_days(days);
}
