/* config.h — configuration from the environment (12-factor), nothing else.
 * Every service reads its settings once at start through these helpers. */
#ifndef AID_COMMON_CONFIG_H
#define AID_COMMON_CONFIG_H

#include <stdint.h>

/* The value of env var name, or def when unset or empty. Never NULL unless def is. */
const char *config_str(const char *name, const char *def);
/* The integer value of name, or def when unset, empty or not a number in [min, max]. */
int64_t config_int(const char *name, int64_t def, int64_t min, int64_t max);
/* True when name is in the comma-separated list held by env var list_var. */
int config_list_has(const char *list_var, const char *name);

#endif
