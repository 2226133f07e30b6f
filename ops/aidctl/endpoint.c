/* endpoint.c — finds the intake API endpoint (flag, environment, stack.env). */
#include "endpoint.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

/* Looks for KEY=VALUE in a stack.env file (the format ops/stack.sh writes;
 * "export " and surrounding quotes are tolerated). 0 when found. */
static int env_file_find(const char *path, const char *key, char *out, size_t outsz)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024];
    size_t klen = strlen(key);
    int found = -1;
    while (found != 0 && fgets(line, sizeof line, f)) {
        if (!strchr(line, '\n') && !feof(f)) {
            /* a line too long to be ours: skip the rest of it */
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
            continue;
        }
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "export ", 7) == 0)
            p += 7;
        if (strncmp(p, key, klen) != 0 || p[klen] != '=')
            continue;
        char *v = p + klen + 1;
        size_t n = strcspn(v, "\r\n");
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v++;
            n -= 2;
        }
        if (n > 0 && n < outsz) {
            memcpy(out, v, n);
            out[n] = '\0';
            found = 0;
        }
    }
    fclose(f);
    return found;
}

static int copy_out(const char *s, char *out, size_t outsz)
{
    if (strlen(s) >= outsz)
        return -1;
    strcpy(out, s);
    return 0;
}

int endpoint_resolve(const char *arg, char *out, size_t outsz, const char **source)
{
    const char *dummy;
    if (!source)
        source = &dummy;
    if (arg) {
        *source = "--endpoint";
        return copy_out(arg, out, outsz);
    }
    const char *env = config_str("AID_INTAKE_API", NULL);
    if (env) {
        *source = "AID_INTAKE_API";
        return copy_out(env, out, outsz);
    }
    const char *var = config_str("AID_VAR", NULL);
    if (var) {
        char path[4096];
        snprintf(path, sizeof path, "%s/stack.env", var);
        if (env_file_find(path, "AID_INTAKE_API", out, outsz) == 0) {
            *source = "$AID_VAR/stack.env";
            return 0;
        }
    }
    if (env_file_find("var/stack.env", "AID_INTAKE_API", out, outsz) == 0) {
        *source = "./var/stack.env";
        return 0;
    }
    *source = "default";
    return copy_out(ENDPOINT_DEFAULT, out, outsz);
}

int stack_env_lookup(const char *key, char *out, size_t outsz)
{
    const char *var = config_str("AID_VAR", NULL);
    if (var) {
        char path[4096];
        snprintf(path, sizeof path, "%s/stack.env", var);
        if (env_file_find(path, key, out, outsz) == 0)
            return 0;
    }
    return env_file_find("var/stack.env", key, out, outsz);
}
