/* test_store.c — live tests of common/store.c against a real PostgreSQL 15 named by AID_PG_DSN (libpq conninfo); fails when it is unset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pgarr.h"
#include "store.h"

#define ID_NUMBER "520123195803011235"

/* The DSN of the test database; fails the test when it is not given. */
static const char *need_dsn(void)
{
    const char *v = getenv("AID_PG_DSN");
    if (!v || !*v)
        fail_msg("AID_PG_DSN is not set: this live test needs a real PostgreSQL "
                 "(libpq conninfo, e.g. \"host=127.0.0.1 port=5432 dbname=aid user=aid\")");
    return v;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connected store with the statements of this file registered. */
static store_t *open_store(void)
{
    const char *dsn = need_dsn();
    store_t *s = store_new(dsn);
    assert_non_null(s);
    store_prepare(s, "ut_add", "SELECT $1::int + $2::int AS sum, $3::text IS NULL AS third_is_null");
    store_prepare(s, "ut_echo", "SELECT $1::text AS t, octet_length($1::text) AS n");
    store_prepare(s, "ut_bytea", "SELECT length($1::bytea), encode($1::bytea, 'hex'), $1::bytea");
    store_prepare(s, "ut_div", "SELECT 1 / $1::int");
    store_prepare(s, "ut_i64", "SELECT $1::bigint, 7::int, NULL::bigint");
    store_prepare(s, "ut_unnest",
                  "SELECT x, x IS NULL FROM unnest($1::text[]) WITH ORDINALITY AS t(x, n) ORDER BY n");
    store_prepare(s, "ut_unnest_bytea",
                  "SELECT encode(x, 'hex'), cardinality($1::bytea[])"
                  "  FROM unnest($1::bytea[]) WITH ORDINALITY AS t(x, n) ORDER BY n");
    store_prepare(s, "ut_bytea_card", "SELECT cardinality($1::bytea[])");
    store_prepare(s, "ut_unnest_int", "SELECT sum(x)::text, count(x) FROM unnest($1::bigint[]) AS t(x)");
    if (!store_ready(s)) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", store_errmsg(s));
        store_destroy(&s);
        fail_msg("store_ready failed for AID_PG_DSN: %s", msg);
    }
    return s;
}

/* The single value of a plain query, through the raw connection (free it). */
static char *scalar(store_t *s, const char *sql)
{
    PGconn *c = store_conn(s);
    assert_non_null(c);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
        PQclear(r);
        fail_msg("%s: %s", sql, msg);
    }
    char *v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static int setup_env(void **state)
{
    (void)state;
    setenv("AID_PG_RETRY_MS", "10", 1); /* reconnect quickly in these tests */
    return 0;
}

/* ---- prepared statements ----------------------------------------------------- */

static void exec_runs_prepared_statements_with_text_params(void **state)
{
    (void)state;
    store_t *s = open_store();
    const char *const v[] = {"2", "40", NULL};
    PGresult *r = store_exec(s, "ut_add", 3, v);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), "42");
    assert_string_equal(PQgetvalue(r, 0, 1), "t");
    PQclear(r);
    const char *const u[] = {"张三丰 \"quoted\" 'single' \\ back"};
    r = store_exec(s, "ut_echo", 1, u);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), u[0]);
    assert_int_equal(atoi(PQgetvalue(r, 0, 1)), (int)strlen(u[0]));
    PQclear(r);
    assert_string_equal(store_sqlstate(s), "");
    store_destroy(&s);
    assert_null(s);
}

static void exec_bin_passes_bytea_with_nul_bytes(void **state)
{
    (void)state;
    store_t *s = open_store();
    static const char bytes[] = {0x00, (char)0xff, 0x10, 0x00, 'a'};
    const char *const v[] = {bytes};
    const int lengths[] = {sizeof bytes};
    const int formats[] = {1};
    PGresult *r = store_exec_bin(s, "ut_bytea", 1, v, lengths, formats);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "5");
    assert_string_equal(PQgetvalue(r, 0, 1), "00ff100061");
    assert_string_equal(PQgetvalue(r, 0, 2), "\\x00ff100061");
    PQclear(r);
    /* text format for the same statement */
    const char *const t[] = {"\\x0102"};
    r = store_exec_bin(s, "ut_bytea", 1, t, NULL, NULL);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 1), "0102");
    PQclear(r);
    store_destroy(&s);
}

static void pgarr_literals_unnest_back_to_the_same_values(void **state)
{
    (void)state;
    store_t *s = open_store();
    static const char *const texts[] = {"plain", "", "say \"hi\"", "C:\\dir\\", "a,b", "{x,y}",
                                        "NULL", "张三丰", "it's", " padded ", NULL, "end"};
    const int n = (int)(sizeof texts / sizeof texts[0]);
    pgarr_t a;
    pgarr_init(&a);
    for (int i = 0; i < n; i++) {
        if (texts[i])
            pgarr_add_text(&a, texts[i]);
        else
            pgarr_add_null(&a);
    }
    const char *const v[] = {pgarr_str(&a)};
    PGresult *r = store_exec(s, "ut_unnest", 1, v);
    if (!r)
        fail_msg("unnest of %s failed: %s", v[0], store_errmsg(s));
    assert_int_equal(PQntuples(r), n);
    for (int i = 0; i < n; i++) {
        if (!texts[i]) {
            assert_true(PQgetisnull(r, i, 0));
            assert_string_equal(PQgetvalue(r, i, 1), "t");
        } else {
            assert_false(PQgetisnull(r, i, 0));
            assert_string_equal(PQgetvalue(r, i, 0), texts[i]);
        }
    }
    PQclear(r);
    pgarr_reset(&a);
    pgarr_add_int(&a, INT64_MAX);
    pgarr_add_int(&a, INT64_MIN);
    pgarr_add_int(&a, 5);
    pgarr_add_null(&a);
    const char *const w[] = {pgarr_str(&a)};
    r = store_exec(s, "ut_unnest_int", 1, w);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "4");
    assert_string_equal(PQgetvalue(r, 0, 1), "3");
    PQclear(r);
    pgarr_reset(&a);
    const char *const e[] = {pgarr_str(&a)};
    r = store_exec(s, "ut_unnest", 1, e);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 0);
    PQclear(r);
    pgarr_free(&a);
    store_destroy(&s);
}

/* ---- errors --------------------------------------------------------------------- */

/* common/pgarr.c's bytea[] in the binary format: the server reads back the
 * same bytes (NUL bytes, empty elements, a large one), and the empty array. */
static void pgbin_arrays_unnest_back_to_the_same_bytes(void **state)
{
    (void)state;
    store_t *s = open_store();
    static char big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    const struct { const char *p; size_t n; } el[] = {{"a\0b", 3}, {"", 0}, {"\xff\x00", 2},
                                                       {big, sizeof big}};
    pgbin_t b;
    pgbin_init(&b);
    for (int round = 0; round < 2; round++) { /* the second time after a reset */
        pgbin_reset(&b);
        for (int i = 0; i < 4; i++)
            pgbin_add(&b, el[i].p, el[i].n);
        int len = 0;
        const char *v[1] = {pgbin_data(&b, &len)};
        int lens[1] = {len}, fmts[1] = {1};
        assert_non_null(v[0]);
        PGresult *r = store_exec_bin(s, "ut_unnest_bytea", 1, v, lens, fmts);
        if (!r)
            fail_msg("unnest of a bytea[] failed: %s", store_errmsg(s));
        assert_int_equal(PQntuples(r), 4);
        for (int i = 0; i < 4; i++) {
            assert_int_equal(PQgetlength(r, i, 0), (int)el[i].n * 2);
            for (size_t k = 0; k < el[i].n; k++) {
                char hex[3];
                snprintf(hex, sizeof hex, "%02x", (unsigned char)el[i].p[k]);
                assert_memory_equal(PQgetvalue(r, i, 0) + 2 * k, hex, 2);
            }
        }
        PQclear(r);
    }
    pgbin_reset(&b);
    int len = 0;
    const char *v[1] = {pgbin_data(&b, &len)};
    int lens[1] = {len}, fmts[1] = {1};
    PGresult *r = store_exec_bin(s, "ut_bytea_card", 1, v, lens, fmts);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    pgbin_free(&b);
    store_destroy(&s);
}

static void duplicate_key_gives_sqlstate_23505(void **state)
{
    (void)state;
    store_t *s = open_store();
    assert_int_equal(store_cmd(s, "CREATE TEMP TABLE ut_dup (id text PRIMARY KEY)"), 0);
    assert_int_equal(store_cmd(s, "INSERT INTO ut_dup VALUES ('a')"), 0);
    assert_int_equal(store_cmd(s, "INSERT INTO ut_dup VALUES ('a')"), -1);
    assert_string_equal(store_sqlstate(s), "23505");
    assert_non_null(strstr(store_errmsg(s), "duplicate key"));
    /* the same through a prepared statement and store_exec */
    PGresult *p = PQprepare(store_conn(s), "ut_dup_ins", "INSERT INTO ut_dup VALUES ($1)", 0, NULL);
    assert_int_equal(PQresultStatus(p), PGRES_COMMAND_OK);
    PQclear(p);
    const char *const v[] = {"b"};
    PGresult *r = store_exec(s, "ut_dup_ins", 1, v);
    assert_non_null(r);
    assert_string_equal(PQcmdTuples(r), "1");
    PQclear(r);
    assert_null(store_exec(s, "ut_dup_ins", 1, v));
    assert_string_equal(store_sqlstate(s), "23505");
    /* an error is not a broken connection */
    assert_true(store_ready(s));
    const char *const c[] = {"c"};
    r = store_exec(s, "ut_dup_ins", 1, c);
    assert_non_null(r);
    PQclear(r);
    store_destroy(&s);
}

static void other_errors_give_their_sqlstate(void **state)
{
    (void)state;
    store_t *s = open_store();
    const char *const zero[] = {"0"};
    assert_null(store_exec(s, "ut_div", 1, zero));
    assert_string_equal(store_sqlstate(s), "22012"); /* division_by_zero */
    assert_true(store_errmsg(s)[0] != '\0');
    const char *const bad[] = {"not a number"};
    assert_null(store_exec(s, "ut_div", 1, bad));
    assert_string_equal(store_sqlstate(s), "22P02"); /* invalid_text_representation */
    assert_null(store_exec(s, "no_such_statement", 0, NULL));
    assert_string_equal(store_sqlstate(s), "26000"); /* invalid_sql_statement_name */
    assert_int_equal(store_cmd(s, "SELEC 1"), -1);
    assert_string_equal(store_sqlstate(s), "42601"); /* syntax_error */
    assert_int_equal(store_cmd(s, "SELECT * FROM ut_no_such_table"), -1);
    assert_string_equal(store_sqlstate(s), "42P01"); /* undefined_table */
    /* still usable */
    const char *const one[] = {"1"};
    PGresult *r = store_exec(s, "ut_div", 1, one);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "1");
    PQclear(r);
    store_destroy(&s);
}

static void error_messages_are_scrubbed_of_id_numbers(void **state)
{
    (void)state;
    store_t *s = open_store();
    assert_int_equal(store_cmd(s, "CREATE TEMP TABLE ut_ids (id text PRIMARY KEY)"), 0);
    assert_int_equal(store_cmd(s, "INSERT INTO ut_ids VALUES ('" ID_NUMBER "')"), 0);
    assert_int_equal(store_cmd(s, "INSERT INTO ut_ids VALUES ('" ID_NUMBER "')"), -1);
    assert_string_equal(store_sqlstate(s), "23505");
    assert_null(strstr(store_errmsg(s), ID_NUMBER));
    /* a raise that quotes the ID number in the message itself */
    assert_int_equal(store_cmd(s, "DO $$BEGIN RAISE EXCEPTION 'bad person " ID_NUMBER "'; END$$"), -1);
    assert_string_equal(store_sqlstate(s), "P0001");
    assert_null(strstr(store_errmsg(s), ID_NUMBER));
    assert_non_null(strstr(store_errmsg(s), "520123********1235"));
    store_destroy(&s);
}

/* ---- transactions ----------------------------------------------------------------- */

static void begin_commit_and_rollback(void **state)
{
    (void)state;
    store_t *s = open_store();
    assert_int_equal(store_cmd(s, "CREATE TEMP TABLE ut_tx (n int)"), 0);
    assert_int_equal(store_begin(s), 0);
    assert_int_equal(PQtransactionStatus(store_conn(s)), PQTRANS_INTRANS);
    assert_int_equal(store_cmd(s, "INSERT INTO ut_tx VALUES (1)"), 0);
    store_rollback(s);
    assert_int_equal(PQtransactionStatus(store_conn(s)), PQTRANS_IDLE);
    char *v = scalar(s, "SELECT count(*) FROM ut_tx");
    assert_string_equal(v, "0");
    free(v);

    assert_int_equal(store_begin(s), 0);
    assert_int_equal(store_cmd(s, "INSERT INTO ut_tx VALUES (2)"), 0);
    assert_int_equal(store_commit(s), 0);
    v = scalar(s, "SELECT count(*) FROM ut_tx");
    assert_string_equal(v, "1");
    free(v);

    /* an error inside a transaction: rollback clears the failed state */
    assert_int_equal(store_begin(s), 0);
    assert_int_equal(store_cmd(s, "INSERT INTO ut_tx VALUES (3)"), 0);
    assert_int_equal(store_cmd(s, "INSERT INTO ut_tx VALUES ('x')"), -1);
    assert_int_equal(PQtransactionStatus(store_conn(s)), PQTRANS_INERROR);
    assert_int_equal(store_cmd(s, "INSERT INTO ut_tx VALUES (4)"), -1);
    assert_string_equal(store_sqlstate(s), "25P02"); /* in_failed_sql_transaction */
    store_rollback(s);
    assert_int_equal(PQtransactionStatus(store_conn(s)), PQTRANS_IDLE);
    v = scalar(s, "SELECT string_agg(n::text, ',') FROM ut_tx");
    assert_string_equal(v, "2");
    free(v);

    /* rollback with no transaction open does nothing */
    store_rollback(s);
    assert_int_equal(PQtransactionStatus(store_conn(s)), PQTRANS_IDLE);
    store_destroy(&s);
}

/* store_begin_exec / store_exec_commit: the first and last statements of a
 * transaction, each with BEGIN or COMMIT in one pipeline. */
static void begin_exec_and_exec_commit_open_and_end_a_transaction(void **state)
{
    (void)state;
    store_t *s = open_store();
    assert_int_equal(store_cmd(s, "CREATE TEMP TABLE ut_pipe (n int)"), 0);
    const char *three[3] = {"2", "3", NULL};
    PGresult *r = store_begin_exec(s, "ut_add", 3, three, 0);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "5");
    PQclear(r);
    assert_int_equal(PQtransactionStatus(store_conn(s)), PQTRANS_INTRANS);
    assert_int_equal(store_cmd(s, "INSERT INTO ut_pipe VALUES (1)"), 0);
    const char *echo = "done";
    r = store_exec_commit(s, "ut_echo", 1, &echo);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "done");
    PQclear(r);
    assert_int_equal(PQtransactionStatus(store_conn(s)), PQTRANS_IDLE);
    char *v = scalar(s, "SELECT count(*) FROM ut_pipe");
    assert_string_equal(v, "1"); /* committed */
    free(v);

    /* binary columns on request */
    const char *one[3] = {"40", "2", "x"};
    r = store_begin_exec(s, "ut_add", 3, one, 1);
    assert_non_null(r);
    assert_int_equal(PQfformat(r, 0), 1);
    assert_int_equal(PQgetlength(r, 0, 0), 4);
    PQclear(r);
    store_rollback(s);

    /* the statement fails: NULL with its error, nothing left open */
    const char *zero = "0";
    assert_null(store_begin_exec(s, "ut_div", 1, &zero, 0));
    assert_string_equal(store_sqlstate(s), "22012"); /* division_by_zero */
    assert_int_equal(PQtransactionStatus(store_conn(s)), PQTRANS_IDLE);

    /* fails before COMMIT: the transaction's work is rolled back */
    assert_int_equal(store_begin(s), 0);
    assert_int_equal(store_cmd(s, "INSERT INTO ut_pipe VALUES (2)"), 0);
    assert_null(store_exec_commit(s, "ut_div", 1, &zero));
    assert_string_equal(store_sqlstate(s), "22012");
    assert_int_equal(PQtransactionStatus(store_conn(s)), PQTRANS_IDLE);
    v = scalar(s, "SELECT string_agg(n::text, ',') FROM ut_pipe");
    assert_string_equal(v, "1");
    free(v);

    /* a transaction that had already failed: its COMMIT is a ROLLBACK, so NULL */
    assert_int_equal(store_begin(s), 0);
    assert_int_equal(store_cmd(s, "INSERT INTO ut_pipe VALUES ('x')"), -1);
    assert_null(store_exec_commit(s, "ut_echo", 1, &echo));
    assert_int_equal(PQtransactionStatus(store_conn(s)), PQTRANS_IDLE);

    /* and the store still works in ordinary mode afterwards */
    r = store_exec(s, "ut_echo", 1, &echo);
    assert_non_null(r);
    PQclear(r);
    store_destroy(&s);
}

/* store_i64 reads the int8 columns of a binary result (the workers' claims). */
static void i64_columns_of_binary_results(void **state)
{
    (void)state;
    store_t *s = open_store();
    const char *vals[] = {"-9007199254740993", "1234567890123", "-1", "0"};
    for (size_t k = 0; k < 4; k++) {
        PGresult *r = store_begin_exec(s, "ut_i64", 1, &vals[k], 1);
        assert_non_null(r);
        assert_int_equal(store_i64(r, 0, 0), strtoll(vals[k], NULL, 10));
        assert_int_equal(store_i64(r, 0, 1), 0); /* an int4: not 8 bytes */
        assert_int_equal(store_i64(r, 0, 2), 0); /* NULL */
        PQclear(r);
        store_rollback(s);
    }
    store_destroy(&s);
}

/* store_pipe_next / store_pipe_end over a pipeline built by hand (as intake's
 * batch and case reads do): the results in order, the first error kept, and
 * a failed pipeline ends with its transaction rolled back. */
static void pipe_end_closes_what_a_pipeline_left_open(void **state)
{
    (void)state;
    store_t *s = open_store();
    PGconn *c = store_conn(s);
    const char *zero = "0", *echo = "x";
    assert_int_equal(PQenterPipelineMode(c), 1);
    assert_int_equal(PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0), 1);
    assert_int_equal(PQsendQueryPrepared(c, "ut_echo", 1, &echo, NULL, NULL, 0), 1);
    assert_int_equal(PQsendQueryPrepared(c, "ut_div", 1, &zero, NULL, NULL, 0), 1);
    assert_int_equal(PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0), 1);
    assert_int_equal(PQpipelineSync(c), 1);
    bool ok = true;
    PQclear(store_pipe_next(s, &ok)); /* BEGIN */
    PGresult *r = store_pipe_next(s, &ok);
    assert_non_null(r);
    assert_true(ok);
    PQclear(r);
    assert_null(store_pipe_next(s, &ok)); /* the division fails */
    assert_false(ok);
    assert_null(store_pipe_next(s, &ok)); /* COMMIT skipped */
    assert_string_equal(store_sqlstate(s), "22012"); /* the first error, not the skip */
    assert_false(store_pipe_end(s, true, ok));
    assert_int_equal(PQpipelineStatus(store_conn(s)), PQ_PIPELINE_OFF);
    assert_int_equal(PQtransactionStatus(store_conn(s)), PQTRANS_IDLE); /* rolled back */
    r = store_exec(s, "ut_echo", 1, &echo); /* and usable */
    assert_non_null(r);
    PQclear(r);
    /* a pipeline that went well ends well, its transaction committed */
    c = store_conn(s);
    assert_int_equal(PQenterPipelineMode(c), 1);
    assert_int_equal(PQsendQueryParams(c, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0), 1);
    assert_int_equal(PQpipelineSync(c), 1);
    ok = true;
    PQclear(store_pipe_next(s, &ok));
    assert_true(store_pipe_end(s, true, ok));
    assert_int_equal(PQpipelineStatus(store_conn(s)), PQ_PIPELINE_OFF);
    store_destroy(&s);
}

/* ---- connection state -------------------------------------------------------------- */

static void reconnect_after_mark_broken_reprepares(void **state)
{
    (void)state;
    store_t *s = open_store();
    store_mark_broken(s);
    assert_null(store_conn(s));
    const char *const v[] = {"1", "2", NULL};
    assert_null(store_exec(s, "ut_add", 3, v));
    assert_non_null(strstr(store_errmsg(s), "not connected"));
    bool ready = false;
    for (int i = 0; i < 100 && !ready; i++) {
        ready = store_ready(s);
        if (!ready)
            nanosleep(&(struct timespec){0, 20 * 1000000}, NULL);
    }
    assert_true(ready);
    PGresult *r = store_exec(s, "ut_add", 3, v);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "3");
    PQclear(r);
    store_destroy(&s);
}

/* A server that takes no writes (a standby, a demoted primary) answers 25006:
 * the store reconnects, so that a multi-host read-write DSN finds the primary. */
static void read_only_error_makes_the_store_reconnect(void **state)
{
    (void)state;
    store_t *s = open_store();
    assert_int_equal(store_cmd(s, "SET default_transaction_read_only = on"), 0);
    assert_int_equal(store_cmd(s, "CREATE TABLE aid_ut_read_only (x int)"), -1);
    assert_string_equal(store_sqlstate(s), "25006");
    const char *const v[] = {"1", "2", NULL};
    assert_null(store_exec(s, "ut_add", 3, v));   /* broken: not used again */
    bool ready = false;
    for (int i = 0; i < 100 && !ready; i++) {
        ready = store_ready(s);
        if (!ready)
            nanosleep(&(struct timespec){0, 20 * 1000000}, NULL);
    }
    assert_true(ready);
    char *ro = scalar(s, "SHOW default_transaction_read_only");
    assert_string_equal(ro, "off");               /* a new session */
    free(ro);
    store_destroy(&s);
}

/* The session statement runs on every connection, the first and each reconnect. */
static void session_settings_hold_on_every_connection(void **state)
{
    (void)state;
    store_t *s = store_new(need_dsn());
    assert_non_null(s);
    store_session(s, "SET enable_seqscan = off");
    store_prepare(s, "ut_seqscan", "SELECT current_setting('enable_seqscan')");
    for (int round = 0; round < 2; round++) {
        bool ready = false;
        for (int i = 0; i < 100 && !ready; i++) {
            ready = store_ready(s);
            if (!ready)
                nanosleep(&(struct timespec){0, 20 * 1000000}, NULL);
        }
        assert_true(ready);
        PGresult *r = store_exec(s, "ut_seqscan", 0, NULL);
        assert_non_null(r);
        assert_string_equal(PQgetvalue(r, 0, 0), "off");
        PQclear(r);
        store_mark_broken(s);
    }
    store_destroy(&s);
}

/* A session statement that fails leaves the store not ready, with the error. */
static void a_failing_session_statement_keeps_the_store_not_ready(void **state)
{
    (void)state;
    store_t *s = store_new(need_dsn());
    assert_non_null(s);
    store_session(s, "SET no_such_setting_here = 1");
    assert_false(store_ready(s));
    assert_non_null(strstr(store_errmsg(s), "no_such_setting_here"));
    store_destroy(&s);
}

/* Connect checks of these tests: each counts its calls; "refuse" refuses the
 * database, "later" cannot decide on its first call, then accepts. */
static int check_calls;

static int check_refuse(PGconn *conn, char *why, size_t whysz)
{
    (void)conn;
    check_calls++;
    snprintf(why, whysz, "test: this database must not be used");
    return 1;
}

static int check_later(PGconn *conn, char *why, size_t whysz)
{
    check_calls++;
    PGresult *r = PQexec(conn, "SELECT 1"); /* the connection is there and usable */
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (!ok || check_calls == 1) {
        snprintf(why, whysz, "test: not now");
        return -1;
    }
    return 0;
}

/* A refused database (e.g. one sealed with another PII key, common/pii_pg.c)
 * is an error the store returns, never an exit: store_ready stays false,
 * store_refused says why, nothing runs and the store never reconnects. */
static void a_refusing_connect_check_is_an_error_not_an_exit(void **state)
{
    (void)state;
    check_calls = 0;
    store_check_all(check_refuse);
    store_t *s = store_new(need_dsn());
    assert_non_null(s);
    store_prepare(s, "ut_add", "SELECT 1");
    assert_false(store_ready(s)); /* still running: it returned */
    assert_true(store_refused(s));
    assert_int_equal(check_calls, 1);
    assert_non_null(strstr(store_errmsg(s), "must not be used"));
    assert_null(store_conn(s));
    assert_null(store_exec(s, "ut_add", 0, NULL));
    struct timespec pause = {0, 50 * 1000000}; /* beyond AID_PG_RETRY_MS */
    nanosleep(&pause, NULL);
    assert_false(store_ready(s));
    assert_int_equal(check_calls, 1); /* refused for good: no reconnect */
    store_check_all(NULL);
    store_destroy(&s);
    /* without the check, the same database is fine */
    s = open_store();
    assert_false(store_refused(s));
    store_destroy(&s);
}

/* A check that cannot decide keeps the store not ready, and the next
 * connect asks again. */
static void a_check_that_cannot_decide_is_asked_again(void **state)
{
    (void)state;
    check_calls = 0;
    store_check_all(check_later);
    store_t *s = store_new(need_dsn());
    assert_non_null(s);
    assert_false(store_ready(s));
    assert_false(store_refused(s));
    assert_non_null(strstr(store_errmsg(s), "not now"));
    bool ready = false;
    for (int i = 0; i < 100 && !ready; i++) { /* at most ~1 s */
        struct timespec pause = {0, 10 * 1000000};
        nanosleep(&pause, NULL);
        ready = store_ready(s);
    }
    store_check_all(NULL);
    assert_true(ready);
    assert_int_equal(check_calls, 2);
    store_destroy(&s);
}

static void bad_dsn_leaves_the_store_not_ready(void **state)
{
    (void)state;
    static const char *const dsns[] = {
        "host=127.0.0.1 port=1 dbname=nope user=nope connect_timeout=2",
        "this is not a conninfo string",
        "postgresql://127.0.0.1:1/nope?connect_timeout=2",
    };
    for (size_t i = 0; i < sizeof dsns / sizeof dsns[0]; i++) {
        store_t *s = store_new(dsns[i]);
        assert_non_null(s);
        store_prepare(s, "ut_add", "SELECT 1");
        assert_false(store_ready(s));
        if (!store_errmsg(s)[0])
            fail_msg("no error message for DSN \"%s\"", dsns[i]);
        assert_null(store_conn(s));
        assert_null(store_exec(s, "ut_add", 0, NULL));
        assert_non_null(strstr(store_errmsg(s), "not connected"));
        assert_null(store_exec_bin(s, "ut_add", 0, NULL, NULL, NULL));
        assert_int_equal(store_cmd(s, "SELECT 1"), -1);
        assert_int_equal(store_begin(s), -1);
        assert_int_equal(store_commit(s), -1);
        store_rollback(s); /* no crash */
        store_mark_broken(s);
        /* reconnects are throttled: an immediate retry does not block */
        int64_t t0 = mono_ms();
        assert_false(store_ready(s));
        assert_true(mono_ms() - t0 < 1000);
        store_destroy(&s);
        assert_null(s);
    }
    store_destroy(NULL);
}

/* A COMMIT whose answer was lost, and a server that cannot be reached at all:
 * store_outcome stops asking after AID_PG_OUTCOME_DOWN_MS, not the whole
 * AID_PG_OUTCOME_MS, and says it does not know (its caller's process serves
 * nobody while it asks: intake would answer no one for the whole outage). */
static void an_unreachable_server_leaves_the_outcome_unknown_sooner(void **state)
{
    (void)state;
    setenv("AID_PG_OUTCOME_MS", "4000", 1);
    setenv("AID_PG_OUTCOME_DOWN_MS", "300", 1);
    store_t *s = store_new("host=127.0.0.1 port=1 dbname=nope user=nope connect_timeout=2");
    unsetenv("AID_PG_OUTCOME_MS");
    unsetenv("AID_PG_OUTCOME_DOWN_MS");
    assert_non_null(s);
    int64_t t0 = mono_ms();
    assert_int_equal(store_outcome(s, 12345, true, NULL, NULL), STORE_UNKNOWN);
    int64_t took = mono_ms() - t0;
    if (took >= 2000)
        fail_msg("store_outcome asked an unreachable server for %lld ms", (long long)took);
    /* COMMIT never sent: nothing can have committed, whatever the server */
    assert_int_equal(store_outcome(s, 12345, false, NULL, NULL), STORE_ABORTED);
    store_destroy(&s);
}

static void a_statement_that_fails_to_prepare_keeps_the_store_not_ready(void **state)
{
    (void)state;
    store_t *s = store_new(need_dsn());
    assert_non_null(s);
    store_prepare(s, "ut_ok", "SELECT 1");
    store_prepare(s, "ut_bad", "SELECT * FROM ut_table_that_does_not_exist");
    assert_false(store_ready(s));
    assert_string_equal(store_sqlstate(s), "42P01");
    assert_non_null(strstr(store_errmsg(s), "ut_table_that_does_not_exist"));
    assert_null(store_conn(s));
    store_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exec_runs_prepared_statements_with_text_params),
        cmocka_unit_test(exec_bin_passes_bytea_with_nul_bytes),
        cmocka_unit_test(pgarr_literals_unnest_back_to_the_same_values),
        cmocka_unit_test(pgbin_arrays_unnest_back_to_the_same_bytes),
        cmocka_unit_test(duplicate_key_gives_sqlstate_23505),
        cmocka_unit_test(other_errors_give_their_sqlstate),
        cmocka_unit_test(error_messages_are_scrubbed_of_id_numbers),
        cmocka_unit_test(begin_commit_and_rollback),
        cmocka_unit_test(begin_exec_and_exec_commit_open_and_end_a_transaction),
        cmocka_unit_test(pipe_end_closes_what_a_pipeline_left_open),
        cmocka_unit_test(i64_columns_of_binary_results),
        cmocka_unit_test(reconnect_after_mark_broken_reprepares),
        cmocka_unit_test(read_only_error_makes_the_store_reconnect),
        cmocka_unit_test(session_settings_hold_on_every_connection),
        cmocka_unit_test(a_failing_session_statement_keeps_the_store_not_ready),
        cmocka_unit_test(bad_dsn_leaves_the_store_not_ready),
        cmocka_unit_test(a_refusing_connect_check_is_an_error_not_an_exit),
        cmocka_unit_test(a_check_that_cannot_decide_is_asked_again),
        cmocka_unit_test(a_statement_that_fails_to_prepare_keeps_the_store_not_ready),
        cmocka_unit_test(an_unreachable_server_leaves_the_outcome_unknown_sooner),
    };
    return cmocka_run_group_tests_name("store (live)", tests, setup_env, NULL);
}
