/* test_write.c — live tests of common/write.c (the one exactly-once write of
 * intake and every owner) against the stack's PostgreSQL named by AID_PG_DSN
 * (its requests table and aid_begin_request): a fresh write runs once and is
 * recorded with its result; a retry is answered from the record without
 * running it; another body under the id is a conflict; a failed write leaves
 * nothing, so its retry runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mp.h"
#include "pii.h"
#include "write.h"

typedef struct {
    int calls;
    bool fail;
} counter_t;

/* The write: counts its runs, touches the database, packs {"n": runs}. */
static int count_write(void *arg, msgpack_packer *pk, proto_error_t *err)
{
    counter_t *c = arg;
    c->calls++;
    if (c->fail)
        return proto_fail(err, PROTO_INVALID_FIELD, "x", "refused by the write");
    msgpack_pack_map(pk, 1);
    mp_pack_kv_int(pk, "n", c->calls);
    return 0;
}

static void body_of(msgpack_sbuffer *sb, msgpack_unpacked *u, int x)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    mp_pack_kv_int(&pk, "x", x);
    assert_int_equal(mp_unpack(sb->data, sb->size, u), MP_OK);
}

static bool has(const msgpack_sbuffer *sb, const char *s)
{
    return memmem(sb->data, sb->size, s, strlen(s)) != NULL;
}

static void exactly_once_by_request_id(void **state)
{
    (void)state;
    const char *dsn = getenv("AID_PG_DSN");
    if (!dsn || !*dsn)
        fail_msg("AID_PG_DSN is not set: this live test needs the stack's PostgreSQL");
    char perr[200];
    if (pii_init(perr, sizeof perr) != 0) /* results are stored sealed */
        fail_msg("the PII key of the stack (AID_PII_KEY_FILE): %s", perr);
    store_t *s = store_new(dsn);
    assert_non_null(s);
    write_prepare(s);
    char id[64];
    snprintf(id, sizeof id, "live-write-%ld-%d", (long)time(NULL), (int)(clock() & 0xffff));
    msgpack_sbuffer b1, b2;
    msgpack_sbuffer_init(&b1);
    msgpack_sbuffer_init(&b2);
    msgpack_unpacked u1, u2;
    msgpack_unpacked_init(&u1);
    msgpack_unpacked_init(&u2);
    body_of(&b1, &u1, 1);
    body_of(&b2, &u2, 2);
    counter_t c = {0, true};
    proto_error_t e;
    bool fresh = true;
    msgpack_sbuffer res;
    msgpack_sbuffer_init(&res);
    /* a failed write records nothing */
    assert_int_equal(write_once(s, id, "visit.record", &u1.data, count_write, &c, &res, &fresh, &e), -1);
    assert_int_equal(e.code, PROTO_INVALID_FIELD);
    assert_false(fresh);
    /* so its retry runs, and commits */
    c.fail = false;
    assert_int_equal(write_once(s, id, "visit.record", &u1.data, count_write, &c, &res, &fresh, &e), 0);
    assert_true(fresh);
    assert_int_equal(c.calls, 2);
    assert_true(has(&res, "\xa9" "duplicate" "\xc2")); /* false */
    /* a retry is answered from the record, not run again */
    msgpack_sbuffer_clear(&res);
    assert_int_equal(write_once(s, id, "visit.record", &u1.data, count_write, &c, &res, &fresh, &e), 0);
    assert_false(fresh);
    assert_int_equal(c.calls, 2);
    assert_true(has(&res, "\xa9" "duplicate" "\xc3")); /* true */
    assert_true(has(&res, "\xa1n\x02"));               /* the first answer */
    /* another body, or another operation, under the id: conflict */
    assert_int_equal(write_once(s, id, "visit.record", &u2.data, count_write, &c, &res, &fresh, &e), -1);
    assert_int_equal(e.code, PROTO_CONFLICT);
    assert_string_equal(e.field, "id");
    assert_int_equal(write_once(s, id, "ledger.submit", &u1.data, count_write, &c, &res, &fresh, &e), -1);
    assert_int_equal(e.code, PROTO_CONFLICT);
    assert_int_equal(c.calls, 2);
    msgpack_sbuffer_destroy(&res);
    msgpack_unpacked_destroy(&u1);
    msgpack_unpacked_destroy(&u2);
    msgpack_sbuffer_destroy(&b1);
    msgpack_sbuffer_destroy(&b2);
    store_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exactly_once_by_request_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
