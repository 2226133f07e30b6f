/* endpoint.h — where the intake API is: --endpoint, else $AID_INTAKE_API,
 * else AID_INTAKE_API in $AID_VAR/stack.env, else in ./var/stack.env, else
 * the default tcp://127.0.0.1:5601. */
#ifndef AIDCTL_ENDPOINT_H
#define AIDCTL_ENDPOINT_H

#include <stddef.h>

#define ENDPOINT_DEFAULT "tcp://127.0.0.1:5601"

/* Writes the endpoint to out; arg is the --endpoint value or NULL. *source
 * (when not NULL) says where it came from. -1 when it does not fit. */
int endpoint_resolve(const char *arg, char *out, size_t outsz, const char **source);

/* The value of key in $AID_VAR/stack.env, else in ./var/stack.env. 0 when found. */
int stack_env_lookup(const char *key, char *out, size_t outsz);

#endif
