/* test_pii.c — unit tests of common/pii.c: key loading from the environment
 * and a file, keyed hash determinism, sealed round trips, tamper, wrong key
 * and wrong associated data refused, the key's check value, id_enc hex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pii.h"

#define ID "11010519491231002X"
#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static int with_key_a(void **state)
{
    (void)state;
    pii_reset();
    unsetenv("AID_PII_KEY_FILE");
    setenv("AID_PII_KEY", KEY_A, 1);
    char err[256];
    return pii_init(err, sizeof err);
}

static int clear(void **state)
{
    (void)state;
    pii_reset();
    unsetenv("AID_PII_KEY");
    unsetenv("AID_PII_KEY_FILE");
    return 0;
}

static void no_key_refused(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(pii_init(err, sizeof err), -1);
    assert_false(pii_ready());
    assert_non_null(strstr(err, "AID_PII_KEY"));
    setenv("AID_PII_KEY", "abcd", 1);
    assert_int_equal(pii_init(err, sizeof err), -1);
    assert_non_null(strstr(err, "64 hex"));
    setenv("AID_PII_KEY", KEY_A "00", 1);
    assert_int_equal(pii_init(err, sizeof err), -1);
    setenv("AID_PII_KEY", "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 1);
    assert_int_equal(pii_init(err, sizeof err), -1);
    assert_false(pii_ready());
}

static void key_file_loaded_and_mode_checked(void **state)
{
    (void)state;
    char path[] = "/tmp/test_pii_keyXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, KEY_A "\n", 65), 65);
    close(fd);
    setenv("AID_PII_KEY_FILE", path, 1);
    char err[256] = "";
    chmod(path, 0644);
    assert_int_equal(pii_init(err, sizeof err), -1);
    assert_non_null(strstr(err, "chmod 600"));
    assert_null(strstr(err, KEY_A)); /* never the key */
    chmod(path, 0600);
    assert_int_equal(pii_init(err, sizeof err), 0);
    assert_true(pii_ready());
    char h_file[PII_HASH_HEX], h_env[PII_HASH_HEX];
    pii_hash_hex(ID, h_file);
    pii_reset();
    unsetenv("AID_PII_KEY_FILE");
    setenv("AID_PII_KEY", KEY_A, 1);
    assert_int_equal(pii_init(err, sizeof err), 0);
    pii_hash_hex(ID, h_env);
    assert_string_equal(h_file, h_env);
    unlink(path);
    setenv("AID_PII_KEY_FILE", "/nonexistent/pii.key", 1);
    unsetenv("AID_PII_KEY");
    pii_reset();
    assert_int_equal(pii_init(err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/pii.key"));
}

static void hash_is_deterministic_and_keyed(void **state)
{
    (void)state;
    char a1[PII_HASH_HEX], a2[PII_HASH_HEX], other[PII_HASH_HEX], b[PII_HASH_HEX];
    pii_hash_hex(ID, a1);
    pii_hash_hex(ID, a2);
    pii_hash_hex("110105194912310021", other);
    assert_int_equal(strlen(a1), 64);
    assert_string_equal(a1, a2);
    assert_string_not_equal(a1, other);
    assert_null(strstr(a1, ID));
    unsigned char raw[PII_HASH_BYTES];
    pii_hash(ID, 18, raw);
    char hex[PII_HASH_HEX];
    for (int i = 0; i < PII_HASH_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    assert_string_equal(hex, a1);
    /* another key, another hash: the table of all ID numbers needs the key */
    pii_reset();
    setenv("AID_PII_KEY", KEY_B, 1);
    char err[256];
    assert_int_equal(pii_init(err, sizeof err), 0);
    pii_hash_hex(ID, b);
    assert_string_not_equal(a1, b);
}

static void seal_round_trip(void **state)
{
    (void)state;
    const char *msg = "{\"members\":[{\"id_number\":\"" ID "\"}]}";
    size_t n = strlen(msg);
    unsigned char sealed[256], plain[256];
    size_t s = pii_seal(PII_AD_REPORT, msg, n, sealed);
    assert_int_equal(s, n + PII_SEAL_OVERHEAD);
    assert_int_equal(sealed[0], PII_FORMAT);
    assert_null(memmem(sealed, s, ID, 18));
    assert_int_equal(pii_open(PII_AD_REPORT, sealed, s, plain), (long)n);
    assert_memory_equal(plain, msg, n);
    /* random nonces: two seals of one value differ */
    unsigned char again[256];
    assert_int_equal(pii_seal(PII_AD_REPORT, msg, n, again), s);
    assert_memory_not_equal(again, sealed, s);
    /* the empty value */
    assert_int_equal(pii_seal(PII_AD_RESULT, "", 0, again), PII_SEAL_OVERHEAD);
    assert_int_equal(pii_open(PII_AD_RESULT, again, PII_SEAL_OVERHEAD, plain), 0);
    size_t l = 99;
    unsigned char *p = pii_open_alloc(PII_AD_REPORT, sealed, s, &l);
    assert_non_null(p);
    assert_int_equal(l, n);
    assert_string_equal((char *)p, msg);
    free(p);
}

static void tamper_and_wrong_context_refused(void **state)
{
    (void)state;
    unsigned char sealed[128], plain[128];
    size_t s = pii_seal(PII_AD_TRIGGER, ID, 18, sealed);
    for (size_t i = 0; i < s; i++) {
        sealed[i] ^= 0x01;
        assert_int_equal(pii_open(PII_AD_TRIGGER, sealed, s, plain), -1);
        sealed[i] ^= 0x01;
    }
    assert_int_equal(pii_open(PII_AD_TRIGGER, sealed, s, plain), 18);
    assert_int_equal(pii_open(PII_AD_REPORT, sealed, s, plain), -1);  /* another row kind */
    assert_int_equal(pii_open(PII_AD_TRIGGER, sealed, s - 1, plain), -1);
    assert_int_equal(pii_open(PII_AD_TRIGGER, sealed, PII_SEAL_OVERHEAD - 1, plain), -1);
    assert_null(pii_open_alloc(PII_AD_TRIGGER, sealed, 3, NULL));
    /* a plain MessagePack blob (never sealed) does not open */
    unsigned char mp[64] = {0x81, 0xa2, 'i', 'd'};
    assert_int_equal(pii_open(PII_AD_TRIGGER, mp, sizeof mp, plain), -1);
}

static void wrong_key_refused(void **state)
{
    (void)state;
    unsigned char sealed[128], plain[128];
    size_t s = pii_seal(PII_AD_REPORT, ID, 18, sealed);
    pii_reset();
    assert_int_equal(pii_open(PII_AD_REPORT, sealed, s, plain), -1); /* no key at all */
    setenv("AID_PII_KEY", KEY_B, 1);
    char err[256];
    assert_int_equal(pii_init(err, sizeof err), 0);
    assert_int_equal(pii_open(PII_AD_REPORT, sealed, s, plain), -1);
}

static void key_check_tells_keys_apart(void **state)
{
    (void)state;
    unsigned char a1[PII_HASH_BYTES], a2[PII_HASH_BYTES], b[PII_HASH_BYTES], id[PII_HASH_BYTES];
    pii_key_check(a1);
    pii_key_check(a2);
    assert_memory_equal(a1, a2, sizeof a1); /* the same key: the same check */
    pii_hash(ID, 18, id);
    assert_memory_not_equal(a1, id, sizeof a1);
    pii_reset();
    setenv("AID_PII_KEY", KEY_B, 1);
    char err[256];
    assert_int_equal(pii_init(err, sizeof err), 0);
    pii_key_check(b);
    assert_memory_not_equal(a1, b, sizeof a1); /* another key: another check */
}

static void id_enc_round_trip(void **state)
{
    (void)state;
    char hex[PII_ID_ENC_HEX], out[19];
    pii_id_enc_hex(ID, hex);
    assert_int_equal(strlen(hex), PII_ID_ENC_HEX - 1);
    unsigned char raw[64];
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        raw[i] = (unsigned char)v;
    }
    assert_int_equal(pii_id_open(raw, n, out), 0);
    assert_string_equal(out, ID);
    raw[n - 1] ^= 0x80;
    assert_int_equal(pii_id_open(raw, n, out), -1);
    assert_string_equal(out, "");
    /* a report body is not an id_enc, even under the same key */
    unsigned char sealed[64];
    size_t s = pii_seal(PII_AD_REPORT, ID, 18, sealed);
    assert_int_equal(pii_id_open(sealed, s, out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(no_key_refused, clear, clear),
        cmocka_unit_test_setup_teardown(key_file_loaded_and_mode_checked, clear, clear),
        cmocka_unit_test_setup_teardown(hash_is_deterministic_and_keyed, with_key_a, clear),
        cmocka_unit_test_setup_teardown(seal_round_trip, with_key_a, clear),
        cmocka_unit_test_setup_teardown(tamper_and_wrong_context_refused, with_key_a, clear),
        cmocka_unit_test_setup_teardown(wrong_key_refused, with_key_a, clear),
        cmocka_unit_test_setup_teardown(key_check_tells_keys_apart, with_key_a, clear),
        cmocka_unit_test_setup_teardown(id_enc_round_trip, with_key_a, clear),
    };
    return cmocka_run_group_tests_name("pii", tests, NULL, NULL);
}
