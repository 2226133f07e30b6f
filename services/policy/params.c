/* params.c — the county policy parameters (P_… of POLICY.md) and the name
 * names of departments and groups (statuses, periods and forms: proto/names.h).
 *
 * The defaults come from the POLICY_PARAMS X-macro in policy.h, so a new
 * parameter is one line there and nothing here.
 */
#include <string.h>

#include "policy.h"

const char *const policy_dept_names[DEPT_COUNT] = {
    "civil", "tempaid", "medical", "education", "housing",
    "employment", "relief", "social", "care",
};

const char *const policy_group_names[POLICY_GROUP_COUNT] = {
    "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "M1", "M2", "O1",
};

int policy_dept_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int d = 0; d < DEPT_COUNT; d++)
        if (strcmp(policy_dept_names[d], name) == 0)
            return d;
    return -1;
}

void policy_params_default(params_t *p)
{
#define X(name, def) p->name = (def);
    POLICY_PARAMS(X)
#undef X
}

int policy_params_set(params_t *p, const char *name, int64_t value)
{
    if (!name)
        return -1;
#define X(pname, def)                   \
    if (strcmp(name, #pname) == 0) {    \
        p->pname = value;               \
        return 0;                       \
    }
    POLICY_PARAMS(X)
#undef X
    return -1;
}
