/* store.c — libpq connection with prepared statements and reconnects. */
#include "store.h"

#include "pii.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"

#define STORE_MAX_STMTS 160

struct store {
    char *dsn;                         /* connection string, owned */
    PGconn *conn;                      /* NULL until connected */
    bool ready;                        /* connected and every statement prepared */
    int64_t next_try_ms;               /* earliest next reconnect attempt */
    int64_t retry_ms;                  /* reconnect throttle */
    const char *session;               /* run after each connect, or NULL */
    int nstmts;
    const char *names[STORE_MAX_STMTS];
    const char *sqls[STORE_MAX_STMTS];
    char err[512];                     /* last error, scrubbed */
    char sqlstate[6];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

store_t *store_new(const char *dsn)
{
    store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->dsn = strdup(dsn);
    if (!self->dsn) {
        free(self);
        return NULL;
    }
    self->retry_ms = config_int("AID_PG_RETRY_MS", 500, 10, 60000);
    return self;
}

void store_destroy(store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_t *self = *self_p;
    if (self->conn)
        PQfinish(self->conn);
    free(self->dsn);
    free(self);
    *self_p = NULL;
}

void store_session(store_t *self, const char *sql)
{
    self->session = sql;
}

void store_prepare(store_t *self, const char *name, const char *sql)
{
    if (self->nstmts == STORE_MAX_STMTS) {
        log_error("store.too_many_statements", "name", LOG_S(name), NULL);
        abort(); /* a programming error, found by the first test run */
    }
    self->names[self->nstmts] = name;
    self->sqls[self->nstmts] = sql;
    self->nstmts++;
}

static void set_err(store_t *self, const char *msg, const PGresult *res)
{
    char raw[512];
    snprintf(raw, sizeof raw, "%s", msg ? msg : "unknown error");
    size_t n = strlen(raw);
    while (n && (raw[n - 1] == '\n' || raw[n - 1] == ' '))
        raw[--n] = '\0';
    log_scrub(raw, self->err, sizeof self->err);
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(self->sqlstate, sizeof self->sqlstate, "%s", st ? st : "");
    /* 25006: this server (no longer) takes writes — a standby, or a primary that
     * was demoted. Reconnect: with a multi-host DSN and target_session_attrs=
     * read-write, libpq finds the node that is primary now. */
    if (strcmp(self->sqlstate, "25006") == 0 && self->ready) {
        log_warn("store.read_only", "error", LOG_S(self->err), NULL);
        self->ready = false;
    }
}

void store_mark_broken(store_t *self)
{
    self->ready = false;
}

/* A process that holds the PII key checks on every connection that the
 * database's data was sealed with the same key (044_pii_key_check.sql); the
 * first one on a new database records it. With another key it must not read
 * or write anything: it stops (exit 1, pii.key_mismatch), as it does when it
 * has no key at all (svc_require_pii). 0 when it matches or no key is held;
 * -1 when the check could not be made (reconnect later). */
static int pii_key_matches(store_t *self)
{
    if (!pii_ready())
        return 0;
    unsigned char check[PII_HASH_BYTES];
    pii_key_check(check);
    const char *vals[1] = {(const char *)check};
    const int lens[1] = {PII_HASH_BYTES}, fmts[1] = {1};
    PGresult *r = PQexecParams(self->conn, "SELECT aid_pii_key_matches($1::bytea)", 1, NULL,
                               vals, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        set_err(self, PQresultErrorMessage(r), r);
        log_error("store.pii_key_check_failed", "error", LOG_S(self->err), NULL);
        PQclear(r);
        return -1;
    }
    bool same = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!same) {
        log_error("pii.key_mismatch", "error",
                  LOG_S("this process's PII key is not the one the database's ID numbers "
                        "and reports are sealed with (ops/SECURITY.md): stopping"),
                  NULL);
        exit(1);
    }
    return 0;
}

bool store_ready(store_t *self)
{
    if (self->ready && PQstatus(self->conn) == CONNECTION_OK)
        return true;
    int64_t now = now_ms();
    if (now < self->next_try_ms)
        return false;
    self->next_try_ms = now + self->retry_ms;
    if (self->conn)
        PQfinish(self->conn);
    self->conn = PQconnectdb(self->dsn);
    self->ready = false;
    if (PQstatus(self->conn) != CONNECTION_OK) {
        set_err(self, PQerrorMessage(self->conn), NULL);
        return false;
    }
    if (self->session) {
        PGresult *r = PQexec(self->conn, self->session);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            set_err(self, PQresultErrorMessage(r), r);
            log_error("store.session_failed", "error", LOG_S(self->err), NULL);
            PQclear(r);
            return false;
        }
        PQclear(r);
    }
    for (int i = 0; i < self->nstmts; i++) {
        PGresult *r = PQprepare(self->conn, self->names[i], self->sqls[i], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            set_err(self, PQresultErrorMessage(r), r);
            log_error("store.prepare_failed", "statement", LOG_S(self->names[i]), "error",
                      LOG_S(self->err), NULL);
            PQclear(r);
            return false;
        }
        PQclear(r);
    }
    if (pii_key_matches(self) != 0)
        return false;
    self->ready = true;
    self->err[0] = '\0';
    log_info("store.connected", NULL);
    return true;
}

static PGresult *check(store_t *self, PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN)
        return r;
    set_err(self, r ? PQresultErrorMessage(r) : PQerrorMessage(self->conn), r);
    if (PQstatus(self->conn) != CONNECTION_OK)
        self->ready = false;
    PQclear(r);
    return NULL;
}

PGresult *store_exec_bin(store_t *self, const char *name, int n, const char *const *values,
                         const int *lengths, const int *formats)
{
    if (!self->ready) {
        set_err(self, "database not connected", NULL);
        return NULL;
    }
    return check(self, PQexecPrepared(self->conn, name, n, values, lengths, formats, 0));
}

PGresult *store_exec(store_t *self, const char *name, int n, const char *const *values)
{
    return store_exec_bin(self, name, n, values, NULL, NULL);
}

int store_cmd(store_t *self, const char *sql)
{
    if (!self->ready) {
        set_err(self, "database not connected", NULL);
        return -1;
    }
    PGresult *r = check(self, PQexec(self->conn, sql));
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int store_begin(store_t *self) { return store_cmd(self, "BEGIN"); }
int store_commit(store_t *self) { return store_cmd(self, "COMMIT"); }

void store_rollback(store_t *self)
{
    if (self->ready && PQtransactionStatus(self->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(self->conn, "ROLLBACK");
        PQclear(r);
    }
}

PGresult *store_pipe_next(store_t *self, bool *ok)
{
    PGresult *r = PQgetResult(self->conn);
    ExecStatusType st = PQresultStatus(r);
    if (!r || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
        if (*ok)
            set_err(self,
                    !r ? PQerrorMessage(self->conn)
                    : st == PGRES_PIPELINE_ABORTED ? "pipeline aborted"
                                                   : PQresultErrorMessage(r),
                    r);
        *ok = false;
        PQclear(r);
        r = NULL;
    }
    for (PGresult *more; (more = PQgetResult(self->conn)) != NULL;)
        PQclear(more);
    return r;
}

bool store_pipe_end(store_t *self, bool synced, bool ok)
{
    PGconn *c = self->conn;
    if (synced) {
        PGresult *sync = PQgetResult(c);
        if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
            if (ok)
                set_err(self, PQerrorMessage(c), NULL);
            ok = false;
        }
        PQclear(sync);
    }
    /* fails while results are still unread: the connection is then unusable */
    if (PQexitPipelineMode(c) != 1 || PQstatus(c) != CONNECTION_OK) {
        if (ok)
            set_err(self, PQerrorMessage(c), NULL);
        ok = false;
        store_mark_broken(self);
    }
    if (!ok)
        store_rollback(self); /* a failed statement leaves its transaction open */
    return ok;
}

/* [pre] name [post] as one pipeline with one sync; name's result or NULL. */
static PGresult *exec_piped(store_t *self, const char *pre, const char *name, int n,
                            const char *const *values, int result_format, const char *post)
{
    if (!self->ready) {
        set_err(self, "database not connected", NULL);
        return NULL;
    }
    PGconn *c = self->conn;
    bool sent = PQenterPipelineMode(c) == 1 &&
                (!pre || PQsendQueryParams(c, pre, 0, NULL, NULL, NULL, NULL, 0) == 1) &&
                PQsendQueryPrepared(c, name, n, values, NULL, NULL, result_format) == 1 &&
                (!post || PQsendQueryParams(c, post, 0, NULL, NULL, NULL, NULL, 0) == 1) &&
                PQpipelineSync(c) == 1;
    bool ok = sent;
    PGresult *out = NULL;
    if (!sent) {
        set_err(self, PQerrorMessage(c), NULL);
    } else {
        if (pre)
            PQclear(store_pipe_next(self, &ok));
        out = store_pipe_next(self, &ok);
        if (post) {
            /* a COMMIT of a transaction that had failed answers ROLLBACK */
            PGresult *r = store_pipe_next(self, &ok);
            if (r && strcmp(PQcmdStatus(r), post) != 0) {
                if (ok)
                    set_err(self, "the transaction was rolled back", NULL);
                ok = false;
            }
            PQclear(r);
        }
    }
    if (!store_pipe_end(self, sent, ok)) {
        PQclear(out);
        return NULL;
    }
    return out;
}

PGresult *store_begin_exec(store_t *self, const char *name, int n, const char *const *values,
                           int result_format)
{
    return exec_piped(self, "BEGIN", name, n, values, result_format, NULL);
}

PGresult *store_exec_commit(store_t *self, const char *name, int n, const char *const *values)
{
    return exec_piped(self, NULL, name, n, values, 0, "COMMIT");
}

const char *store_errmsg(const store_t *self) { return self->err; }
const char *store_sqlstate(const store_t *self) { return self->sqlstate; }
PGconn *store_conn(store_t *self) { return self->ready ? self->conn : NULL; }

int64_t store_i64(const PGresult *r, int row, int col)
{
    if (PQgetlength(r, row, col) != 8)
        return 0;
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = v << 8 | p[k];
    return (int64_t)v;
}

unsigned char *store_bytea(const PGresult *r, int row, int col, size_t *len)
{
    *len = 0;
    return PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), len);
}

unsigned char *store_sealed(const PGresult *r, int row, int col, const char *ad, size_t *len)
{
    size_t n = 0;
    *len = 0;
    if (PQgetisnull(r, row, col))
        return NULL;
    unsigned char *raw = store_bytea(r, row, col, &n);
    unsigned char *plain = raw ? pii_open_alloc(ad, raw, n, len) : NULL;
    PQfreemem(raw);
    return plain;
}

int store_pii_id(const PGresult *r, int row, int col, char out[19])
{
    size_t n = 0;
    out[0] = '\0';
    if (PQgetisnull(r, row, col))
        return -1;
    unsigned char *raw = store_bytea(r, row, col, &n);
    int rc = raw ? pii_id_open(raw, n, out) : -1;
    PQfreemem(raw);
    return rc;
}
