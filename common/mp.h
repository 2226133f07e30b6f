/* mp.h — MessagePack helpers over msgpack-c: a safe reader and small packers.
 *
 * msgpack-c allocates by the size a container *declares*, so five hostile
 * bytes can ask for ~96 GB. mp_unpack first walks the bytes without
 * allocating and rejects any declared array/map/str/bin/ext size larger than
 * the bytes left, nesting deeper than MP_MAX_DEPTH and trailing bytes; only
 * then does msgpack-c unpack. */
#ifndef AID_COMMON_MP_H
#define AID_COMMON_MP_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_MAX_DEPTH 16

typedef enum {
    MP_OK = 0,
    MP_TRUNCATED,   /* ends inside an object, or a size exceeds the bytes left */
    MP_INVALID,     /* a byte that is no MessagePack type (0xc1) */
    MP_TOO_DEEP,    /* nesting deeper than MP_MAX_DEPTH */
    MP_TRAILING,    /* bytes after the first complete object */
    MP_NOMEM
} mp_err_t;

/* Checks that buf[0..len) is exactly one well-formed MessagePack object whose
 * declared sizes all fit. Allocates nothing. */
mp_err_t mp_check(const char *buf, size_t len);
/* mp_check, then unpacks into u (initialised by the caller with
 * msgpack_unpacked_init; destroy it with msgpack_unpacked_destroy). */
mp_err_t mp_unpack(const char *buf, size_t len, msgpack_unpacked *u);
const char *mp_strerror(mp_err_t e);

/* The value for key in map o, or NULL (also when o is not a map). */
const msgpack_object *mp_get(const msgpack_object *o, const char *key);
/* True when o is a string equal to s. */
bool mp_str_is(const msgpack_object *o, const char *s);
/* Copies string o into out (NUL-terminated); -1 when not a string or too long. */
int mp_str_copy(const msgpack_object *o, char *out, size_t outsz);
/* Integer value of o into *v; -1 when o is not an integer that fits int64. */
int mp_int(const msgpack_object *o, int64_t *v);

/* Packs o with every map's keys in byte order (recursively), so two
 * encodings of the same value give the same bytes: the form hashed for
 * idempotency ("same body" means same value, whatever the key order). */
void mp_pack_sorted(msgpack_packer *pk, const msgpack_object *o);

/* Packers: a string, and key/value pairs for building maps. */
void mp_pack_str(msgpack_packer *pk, const char *s);
void mp_pack_strn(msgpack_packer *pk, const char *s, size_t n);
void mp_pack_kv_str(msgpack_packer *pk, const char *key, const char *val);
void mp_pack_kv_int(msgpack_packer *pk, const char *key, int64_t val);
void mp_pack_kv_bool(msgpack_packer *pk, const char *key, bool val);
/* Packs a comma-separated list of numbers ("12,40"; "" is none) as an array of
 * prefixed ids: ["case-12", "case-40"] for prefix "case-". */
void mp_pack_id_list(msgpack_packer *pk, const char *csv, const char *prefix);

#endif
