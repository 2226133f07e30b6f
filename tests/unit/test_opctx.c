/* test_opctx.c — unit tests of common/opctx.c: the authorization checks a
 * handler makes on the caller's name, the same at the front door and in the
 * owner behind it (acts_for, acts_for_township), and the registry of a
 * program's operations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "opctx.h"

static int secure(void **state)
{
    (void)state;
    setenv("AID_SECURE", "1", 1);
    setenv("AID_DEPARTMENT_ANY", "local-service,gateway", 1);
    return 0;
}

static int plaintext(void **state)
{
    (void)state;
    unsetenv("AID_SECURE");
    unsetenv("AID_DEPARTMENT_ANY");
    return 0;
}

static void plaintext_lets_every_caller_act(void **state)
{
    (void)state;
    proto_error_t e;
    char t[10] = "";
    assert_int_equal(acts_for("local", "housing", "department", &e), 0);
    assert_int_equal(acts_for_township("local", t, "township", &e), 0);
    assert_string_equal(t, "");
}

static void a_department_key_acts_for_its_department_only(void **state)
{
    (void)state;
    proto_error_t e;
    assert_int_equal(acts_for("housing", "housing", "department", &e), 0);
    assert_int_equal(acts_for("housing.app2", "housing", "department", &e), 0);
    assert_int_equal(acts_for("gateway", "housing", "department", &e), 0);
    memset(&e, 0, sizeof e);
    assert_int_equal(acts_for("housingx", "housing", "department", &e), -1);
    assert_int_equal(e.code, PROTO_UNAUTHORIZED);
    assert_string_equal(e.field, "department");
    assert_int_equal(acts_for("civil", "housing", "referral_id", &e), -1);
    assert_string_equal(e.field, "referral_id");
    /* "local" is a name like any other in secure mode: no plaintext pass */
    assert_int_equal(acts_for("local", "housing", "department", &e), -1);
    assert_int_equal(acts_for("", "housing", "department", &e), -1);
    assert_int_equal(acts_for(NULL, "housing", "department", &e), -1);
}

static void a_township_key_decides_its_township_only(void **state)
{
    (void)state;
    proto_error_t e;
    char t[10] = "";
    assert_int_equal(acts_for_township("520123101.app", t, "township", &e), 0);
    assert_string_equal(t, "520123101"); /* "" becomes its own */
    strcpy(t, "520123102");
    assert_int_equal(acts_for_township("520123101", t, "township", &e), -1);
    assert_int_equal(e.code, PROTO_UNAUTHORIZED);
    assert_string_equal(e.field, "township");
    strcpy(t, "520123102");
    assert_int_equal(acts_for_township("local-service", t, "township", &e), 0);
    assert_string_equal(t, "520123102");
    assert_int_equal(acts_for_township("housing", t, "township", &e), -1);
}

static int fake(opctx_t *c, const proto_request_t *req, msgpack_packer *pk, proto_error_t *err)
{
    (void)c, (void)req, (void)pk, (void)err;
    return 0;
}
OP_HANDLER(fake_a, {"visits.due", NULL, fake})
OP_HANDLER(fake_b, {"visit.record", NULL, fake})

static void the_registry_holds_what_the_program_links(void **state)
{
    (void)state;
    assert_non_null(op_find("visits.due"));
    assert_non_null(op_find("visit.record"));
    assert_null(op_find("report.submit"));
    char names[64];
    op_names(names, sizeof names);
    assert_true(strstr(names, "visits.due") && strstr(names, "visit.record"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(plaintext_lets_every_caller_act, plaintext),
        cmocka_unit_test_setup_teardown(a_department_key_acts_for_its_department_only, secure,
                                        plaintext),
        cmocka_unit_test_setup_teardown(a_township_key_decides_its_township_only, secure,
                                        plaintext),
        cmocka_unit_test(the_registry_holds_what_the_program_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
