/* pii.h — ID numbers and the blobs that carry them, at rest in Postgres.
 *
 * No ID number is stored in plain text (ops/SECURITY.md, "Personal data at
 * rest"). From one 32-byte master key — AID_PII_KEY (64 hex digits) or the
 * file AID_PII_KEY_FILE holding them, made once by ops/stack.sh under
 * $AID_VAR/keys and never in the repository — two subkeys are derived
 * (crypto_kdf, context "aid_pii_"):
 *
 *   id 1  hash key: id_hash = keyed BLAKE2b-256 of the 18-character ID
 *         number. Deterministic, so it serves every lookup, join and unique
 *         key (case_members.id_hash is the primary key); without the key it
 *         cannot be brute-forced over the small space of ID numbers.
 *   id 2  seal key: XChaCha20-Poly1305 (IETF) with a random nonce, for
 *         id_enc (the ID number itself) and for every MessagePack blob that
 *         carries ID numbers (reports.body, triggers.body, requests.result).
 *         The associated data names the row kind ("reports.body", ...), so a
 *         blob cannot be moved into another kind of row unnoticed.
 *
 * A sealed value is: 1 byte format (PII_FORMAT, = key generation 1),
 * 24 bytes nonce, the ciphertext and its 16-byte tag.
 *
 * The key is process-wide: pii_init() once at start (services refuse to run
 * without it); everything else is thread-safe after that. */
#ifndef AID_COMMON_PII_H
#define AID_COMMON_PII_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define PII_KEY_BYTES 32
#define PII_HASH_BYTES 32
#define PII_HASH_HEX (PII_HASH_BYTES * 2 + 1)     /* with the NUL */
#define PII_FORMAT 1
#define PII_SEAL_OVERHEAD (1 + 24 + 16)            /* format, nonce, tag */
/* id_enc of an 18-character ID number, hex with the NUL */
#define PII_ID_ENC_HEX ((18 + PII_SEAL_OVERHEAD) * 2 + 1)

/* The associated data of each kind of sealed value. */
#define PII_AD_ID "id_enc"
#define PII_AD_REPORT "reports.body"
#define PII_AD_TRIGGER "triggers.body"
#define PII_AD_RESULT "requests.result"

/* Loads the master key from AID_PII_KEY or AID_PII_KEY_FILE (the file must
 * not be readable by group or others) and derives the subkeys. 0, or -1 with
 * a reason in err (never the key). Idempotent. */
int pii_init(char *err, size_t errsz);
/* The same from a key in memory (tests, tools). 0 or -1. */
int pii_init_key(const unsigned char key[PII_KEY_BYTES]);
bool pii_ready(void);
/* Forgets the key (tests). */
void pii_reset(void);

/* The keyed hash of an ID number (len bytes, usually 18). */
void pii_hash(const char *id, size_t len, unsigned char out[PII_HASH_BYTES]);
/* Its lowercase hex (64 digits and a NUL). */
void pii_hash_hex(const char *id, char out[PII_HASH_HEX]);

/* The check value of the key (044_pii_key_check.sql): the keyed hash of a
 * fixed text that is no ID number, so it reveals nothing about the key or
 * any person. Processes compare it with the database's before using it. */
void pii_key_check(unsigned char out[PII_HASH_BYTES]);

/* Seals n bytes with associated data ad into out (room for
 * n + PII_SEAL_OVERHEAD bytes). Returns the sealed size. */
size_t pii_seal(const char *ad, const void *plain, size_t n, unsigned char *out);
/* pii_seal into a new malloc'd buffer (free()); NULL on OOM. *len gets its size. */
unsigned char *pii_seal_alloc(const char *ad, const void *plain, size_t n, size_t *len);
/* Opens a sealed value of n bytes into out (room for n - PII_SEAL_OVERHEAD).
 * Returns the plain size, or -1 when it is too short, of another format,
 * tampered with, sealed under another key or with other associated data. */
long pii_open(const char *ad, const unsigned char *in, size_t n, unsigned char *out);
/* pii_open into a new malloc'd buffer (NUL-terminated for convenience);
 * NULL on failure, *len gets the plain size. */
unsigned char *pii_open_alloc(const char *ad, const void *in, size_t n, size_t *len);

/* id_enc of an ID number as lowercase hex (for text parameters: decode(x, 'hex')). */
void pii_id_enc_hex(const char *id, char out[PII_ID_ENC_HEX]);
/* The ID number of an id_enc (raw bytes, as store_bytea gives them) into
 * out (19 bytes). 0, or -1 when it does not open. */
int pii_id_open(const unsigned char *enc, size_t n, char out[19]);

/* ---- in Postgres (common/pii_pg.c) ------------------------------------- */

/* The sealed bytea at (row, col) of a text-format result, opened with
 * associated data ad into a new buffer (free()), NUL-terminated; NULL when
 * it is NULL, does not unescape or does not open. *len gets its size. */
unsigned char *store_sealed(const PGresult *r, int row, int col, const char *ad, size_t *len);
/* The ID number of the id_enc bytea at (row, col) of a text-format result
 * into out. 0, or -1 (out empty). */
int store_pii_id(const PGresult *r, int row, int col, char out[19]);
/* The connect check (common/store.h, store_check_fn) of a process holding
 * the key: the database's data must be sealed with the same key
 * (044_pii_key_check.sql; the first process on a new database records it).
 * 0 when it matches or no key is held; -1 when the check could not be made;
 * 1 with pii.key_mismatch logged when the key is another. */
int pii_pg_key_check(PGconn *conn, char *why, size_t whysz);

#endif
