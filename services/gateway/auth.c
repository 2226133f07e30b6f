/* auth.c — password hashes and tokens (see auth.h). */
#include "auth.h"

#include <string.h>

#include <sodium.h>

void auth_token_new(char *out, size_t outsz)
{
    unsigned char rnd[32];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2base64(out, outsz, rnd, sizeof rnd, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void auth_token_hash(const char *token, unsigned char out[32])
{
    crypto_generichash(out, 32, (const unsigned char *)token, strlen(token), NULL, 0);
}

bool auth_token_equal(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n > 0 && n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

int auth_password_hash(const char *pw, char *out, size_t outsz)
{
    if (outsz < crypto_pwhash_STRBYTES)
        return -1;
    return crypto_pwhash_str_alg(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE,
                                 crypto_pwhash_ALG_ARGON2ID13);
}

bool auth_password_verify(const char *hash, const char *pw)
{
    if (strncmp(hash, "$argon2id$", 10) != 0)
        return false;
    return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

const char *auth_password_weak(const char *pw)
{
    size_t n = strlen(pw);
    if (n < AUTH_PASSWORD_MIN)
        return "密码至少 10 个字符";
    if (n > AUTH_PASSWORD_MAX)
        return "密码最多 128 个字符";
    return NULL;
}
