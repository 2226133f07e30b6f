/* auth.h — the gateway's secrets: argon2id password hashes (libsodium
 * crypto_pwhash), random session and CSRF tokens, and the token hashes that
 * are stored instead of the tokens. */
#ifndef AID_GATEWAY_AUTH_H
#define AID_GATEWAY_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_TOKEN_LEN 43          /* 32 random bytes, base64url without padding */
#define AUTH_PASSWORD_MIN 10       /* bytes */
#define AUTH_PASSWORD_MAX 128

/* libsodium must be initialised once (sodium_init) before any of these. */

/* A new random token (AUTH_TOKEN_LEN chars + NUL; out needs 64 bytes). */
void auth_token_new(char *out, size_t outsz);
/* The BLAKE2b-256 of a token: what the sessions table keeps. */
void auth_token_hash(const char *token, unsigned char out[32]);
/* True when the two tokens are equal (constant time in their length). */
bool auth_token_equal(const char *a, const char *b);

/* The argon2id string for pw ($argon2id$...); out needs 128 bytes. 0 or -1. */
int auth_password_hash(const char *pw, char *out, size_t outsz);
/* True when pw matches the stored argon2id string. */
bool auth_password_verify(const char *hash, const char *pw);
/* NULL when pw is acceptable as a new password, else why not (Chinese). */
const char *auth_password_weak(const char *pw);

#endif
