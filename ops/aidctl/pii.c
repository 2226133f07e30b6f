/* pii.c — `aidctl pii`: the keyed hash and the sealed ID numbers of the
 * personal data at rest (common/pii.h, ops/SECURITY.md), for an operator
 * who must find a person in Postgres by hand, and for the tests.
 *
 *   aidctl pii hash ID_NUMBER...   the hex id_hash of each (for WHERE id_hash =
 *                                  decode('…', 'hex'))
 *   aidctl pii open [HEX...]       the ID number of each hex id_enc (or of each
 *                                  line of standard input; "\x" prefixes allowed)
 *
 * The key comes from AID_PII_KEY_FILE or AID_PII_KEY, as for the services,
 * else from AID_PII_KEY_FILE in $AID_VAR/stack.env or ./var/stack.env.
 * Opened ID numbers are printed whole: run it only where that is allowed. */
#include "pii_cmd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "endpoint.h"
#include "pii.h"

static const char pii_help[] =
    "Usage: aidctl pii hash ID_NUMBER...\n"
    "       aidctl pii open [HEX_ID_ENC...]   (none: one per line on stdin)\n"
    "The key: AID_PII_KEY_FILE or AID_PII_KEY (see ops/SECURITY.md).\n";

static int open_one(const char *hex)
{
    unsigned char raw[18 + PII_SEAL_OVERHEAD + 1];
    char id[19];
    size_t n = 0;
    if (hex[0] == '\\' && hex[1] == 'x')
        hex += 2;
    size_t l = strlen(hex);
    while (l && isspace((unsigned char)hex[l - 1]))
        l--;
    if (l % 2 || l / 2 > sizeof raw)
        goto bad;
    for (size_t i = 0; i < l; i += 2) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[i]) || !isxdigit((unsigned char)hex[i + 1]) ||
            sscanf(hex + i, "%2x", &v) != 1)
            goto bad;
        raw[n++] = (unsigned char)v;
    }
    if (pii_id_open(raw, n, id) != 0)
        goto bad;
    printf("%s\n", id);
    return 0;
bad:
    fprintf(stderr, "aidctl pii: a value does not open with this key\n");
    return 1;
}

int pii_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(pii_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    char err[512], path[4096];
    if (!config_str("AID_PII_KEY", NULL) && !config_str("AID_PII_KEY_FILE", NULL) &&
        stack_env_lookup("AID_PII_KEY_FILE", path, sizeof path) == 0)
        setenv("AID_PII_KEY_FILE", path, 1);
    if (pii_init(err, sizeof err) != 0) {
        fprintf(stderr, "aidctl pii: %s\n", err);
        return 1;
    }
    int rc = 0;
    if (!strcmp(argv[1], "hash")) {
        if (argc < 3) {
            fputs(pii_help, stderr);
            return 2;
        }
        for (int i = 2; i < argc; i++) {
            char h[PII_HASH_HEX];
            pii_hash_hex(argv[i], h);
            printf("%s\n", h);
        }
    } else if (!strcmp(argv[1], "open")) {
        if (argc > 2) {
            for (int i = 2; i < argc; i++)
                rc |= open_one(argv[i]);
        } else {
            char line[512];
            while (fgets(line, sizeof line, stdin))
                if (line[0] != '\n')
                    rc |= open_one(line);
        }
    } else {
        fputs(pii_help, stderr);
        return 2;
    }
    return rc;
}
