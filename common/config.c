/* config.c — environment lookups with defaults and bounds. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *config_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

int64_t config_int(const char *name, int64_t def, int64_t min, int64_t max)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || n < min || n > max)
        return def;
    return n;
}

int config_list_has(const char *list_var, const char *name)
{
    const char *list = getenv(list_var);
    size_t n = strlen(name);
    while (list && *list) {
        const char *comma = strchr(list, ',');
        size_t len = comma ? (size_t)(comma - list) : strlen(list);
        while (len && *list == ' ')
            list++, len--;
        while (len && list[len - 1] == ' ')
            len--;
        if (len == n && memcmp(list, name, n) == 0)
            return 1;
        list = comma ? comma + 1 : NULL;
    }
    return 0;
}
