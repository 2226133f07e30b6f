/* pii.c — keyed hashes and sealed values for personal data (see pii.h). */
#include "pii.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define KDF_CONTEXT "aid_pii_"   /* crypto_kdf_CONTEXTBYTES = 8 */
#define SUB_HASH 1
#define SUB_SEAL 2
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES

_Static_assert(PII_SEAL_OVERHEAD == 1 + NONCE_BYTES + TAG_BYTES, "sealed layout");
_Static_assert(crypto_kdf_KEYBYTES == PII_KEY_BYTES, "master key size");

static bool ready;
static unsigned char hash_key[crypto_generichash_KEYBYTES];
static unsigned char seal_key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];

static void fail(char *err, size_t errsz, const char *msg)
{
    if (err && errsz)
        snprintf(err, errsz, "%s", msg);
}

int pii_init_key(const unsigned char key[PII_KEY_BYTES])
{
    if (sodium_init() < 0)
        return -1;
    if (crypto_kdf_derive_from_key(hash_key, sizeof hash_key, SUB_HASH, KDF_CONTEXT, key) != 0 ||
        crypto_kdf_derive_from_key(seal_key, sizeof seal_key, SUB_SEAL, KDF_CONTEXT, key) != 0)
        return -1;
    ready = true;
    return 0;
}

bool pii_ready(void) { return ready; }

void pii_reset(void)
{
    sodium_memzero(hash_key, sizeof hash_key);
    sodium_memzero(seal_key, sizeof seal_key);
    ready = false;
}

/* The key from 64 hex digits (surrounding whitespace allowed). */
static int key_from_hex(const char *hex, unsigned char key[PII_KEY_BYTES])
{
    size_t n = strlen(hex), used = 0;
    while (n && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' '))
        n--;
    while (n && (*hex == ' ' || *hex == '\n')) {
        hex++;
        n--;
    }
    if (n != PII_KEY_BYTES * 2 ||
        sodium_hex2bin(key, PII_KEY_BYTES, hex, n, NULL, &used, NULL) != 0 ||
        used != PII_KEY_BYTES)
        return -1;
    return 0;
}

int pii_init(char *err, size_t errsz)
{
    if (ready)
        return 0;
    unsigned char key[PII_KEY_BYTES];
    char buf[256];
    const char *hex = config_str("AID_PII_KEY", NULL);
    const char *path = config_str("AID_PII_KEY_FILE", NULL);
    if (!hex && !path) {
        fail(err, errsz, "no PII key: set AID_PII_KEY_FILE (or AID_PII_KEY), see ops/SECURITY.md");
        return -1;
    }
    if (!hex) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0) {
            snprintf(buf, sizeof buf, "AID_PII_KEY_FILE %s: %s", path, strerror(errno));
            fail(err, errsz, buf);
            return -1;
        }
        if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
            close(fd);
            snprintf(buf, sizeof buf, "AID_PII_KEY_FILE %s: readable by others (chmod 600)", path);
            fail(err, errsz, buf);
            return -1;
        }
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[r > 0 ? r : 0] = '\0';
        hex = buf;
    }
    int rc = key_from_hex(hex, key);
    sodium_memzero(buf, sizeof buf);
    if (rc != 0) {
        fail(err, errsz, "the PII key is not 64 hex digits (32 bytes)");
        return -1;
    }
    rc = pii_init_key(key);
    sodium_memzero(key, sizeof key);
    if (rc != 0)
        fail(err, errsz, "libsodium failed to initialise");
    return rc;
}

void pii_hash(const char *id, size_t len, unsigned char out[PII_HASH_BYTES])
{
    crypto_generichash(out, PII_HASH_BYTES, (const unsigned char *)id, len, hash_key,
                       sizeof hash_key);
}

void pii_key_check(unsigned char out[PII_HASH_BYTES])
{
    static const char text[] = "aid:pii-key-check:1";
    pii_hash(text, sizeof text - 1, out);
}

void pii_hash_hex(const char *id, char out[PII_HASH_HEX])
{
    unsigned char h[PII_HASH_BYTES];
    pii_hash(id, strlen(id), h);
    sodium_bin2hex(out, PII_HASH_HEX, h, sizeof h);
}

size_t pii_seal(const char *ad, const void *plain, size_t n, unsigned char *out)
{
    unsigned long long clen = 0;
    out[0] = PII_FORMAT;
    randombytes_buf(out + 1, NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + NONCE_BYTES, &clen, plain, n,
                                               (const unsigned char *)ad, strlen(ad), NULL,
                                               out + 1, seal_key);
    return 1 + NONCE_BYTES + (size_t)clen;
}

unsigned char *pii_seal_alloc(const char *ad, const void *plain, size_t n, size_t *len)
{
    unsigned char *out = malloc(n + PII_SEAL_OVERHEAD);
    if (!out)
        return NULL;
    *len = pii_seal(ad, plain, n, out);
    return out;
}

long pii_open(const char *ad, const unsigned char *in, size_t n, unsigned char *out)
{
    unsigned long long plen = 0;
    if (!ready || n < PII_SEAL_OVERHEAD || in[0] != PII_FORMAT)
        return -1;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plen, NULL, in + 1 + NONCE_BYTES,
                                                   n - 1 - NONCE_BYTES,
                                                   (const unsigned char *)ad, strlen(ad),
                                                   in + 1, seal_key) != 0)
        return -1;
    return (long)plen;
}

unsigned char *pii_open_alloc(const char *ad, const void *in, size_t n, size_t *len)
{
    if (n < PII_SEAL_OVERHEAD)
        return NULL;
    unsigned char *out = malloc(n - PII_SEAL_OVERHEAD + 1);
    if (!out)
        return NULL;
    long l = pii_open(ad, in, n, out);
    if (l < 0) {
        free(out);
        return NULL;
    }
    out[l] = '\0';
    if (len)
        *len = (size_t)l;
    return out;
}

void pii_id_enc_hex(const char *id, char out[PII_ID_ENC_HEX])
{
    unsigned char sealed[18 + PII_SEAL_OVERHEAD];
    size_t n = strlen(id);
    if (n > 18)
        n = 18;
    size_t s = pii_seal(PII_AD_ID, id, n, sealed);
    sodium_bin2hex(out, PII_ID_ENC_HEX, sealed, s);
}

int pii_id_open(const unsigned char *enc, size_t n, char out[19])
{
    unsigned char plain[18];
    if (n > 18 + PII_SEAL_OVERHEAD || pii_open(PII_AD_ID, enc, n, plain) != 18) {
        out[0] = '\0';
        return -1;
    }
    memcpy(out, plain, 18);
    out[18] = '\0';
    return 0;
}
