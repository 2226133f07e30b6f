/* names.c — the words of the contract's small enums (see names.h). */
#include "names.h"

#include <string.h>

const char *const proto_sources[] = {"visit", "hotline", "wechat", "department", "self", NULL};
const char *const proto_statuses[] = {"pending", "granted", "denied", "referred", NULL};
const char *const proto_periods[] = {"once", "month", "quarter", "year", NULL};
const char *const proto_forms[] = {"cash", "in_kind", "service", "referral", NULL};

int proto_name_find(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}
