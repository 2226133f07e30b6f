/* store.c — libpq connection with prepared statements and reconnects. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define STORE_MAX_STMTS 160

struct store {
    char *dsn;                         /* connection string, owned */
    PGconn *conn;                      /* NULL until connected */
    bool ready;                        /* connected and every statement prepared */
    int64_t next_try_ms;               /* earliest next reconnect attempt */
    int64_t retry_ms;                  /* reconnect throttle */
    int64_t outcome_ms;                /* how long store_outcome may try */
    int64_t outcome_down_ms;           /* … while the server cannot be reached at all */
    const char *session;               /* run after each connect, or NULL */
    int nstmts;
    const char *names[STORE_MAX_STMTS];
    const char *sqls[STORE_MAX_STMTS];
    char started[64];                  /* pg_postmaster_start_time() of the server */
    char err[512];                     /* last error, scrubbed */
    char sqlstate[6];
    bool refused;                      /* the connect check refused the database */
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
    self->outcome_ms = config_int("AID_PG_OUTCOME_MS", 5000, 100, 60000);
    self->outcome_down_ms = config_int("AID_PG_OUTCOME_DOWN_MS", 1000, 0, 60000);
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
    for (int i = 0; i < self->nstmts; i++)
        if (strcmp(self->names[i], name) == 0) {
            if (strcmp(self->sqls[i], sql) != 0) {
                log_error("store.statement_redefined", "name", LOG_S(name), NULL);
                abort(); /* a programming error, found by the first test run */
            }
            return; /* registered already, by another user of the same module */
        }
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

/* The check every new connection of this process passes (store_check_all). */
static store_check_fn connect_check;

void store_check_all(store_check_fn fn) { connect_check = fn; }

bool store_refused(const store_t *self) { return self->refused; }

/* Runs the process's connect check: 0 go on, -1 not now (reconnect later),
 * and a refusal marks the store refused for good (the caller stops). */
static int run_check(store_t *self)
{
    if (!connect_check)
        return 0;
    char why[512] = "";
    int rc = connect_check(self->conn, why, sizeof why);
    if (rc == 0)
        return 0;
    set_err(self, why[0] ? why : "the connection check failed", NULL);
    if (rc > 0) {
        self->refused = true;
        PQfinish(self->conn);
        self->conn = NULL;
    }
    return -1;
}

/* Notices and warnings of the server (e.g. the FATAL a restart sends an idle
 * connection) go to the debug log, scrubbed, not raw to stderr. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    char raw[512], clean[512];
    snprintf(raw, sizeof raw, "%s", message);
    size_t n = strlen(raw);
    while (n && (raw[n - 1] == '\n' || raw[n - 1] == ' '))
        raw[--n] = '\0';
    log_scrub(raw, clean, sizeof clean);
    log_debug("store.notice", "message", LOG_S(clean), NULL);
}

/* An idle connection the server has closed (a restart, a terminated backend)
 * still says CONNECTION_OK until it is read: read what is waiting (without
 * blocking; libpq's socket is non-blocking) to find out before a statement
 * is sent on it. Only between transactions: a dead link inside one is the
 * caller's failure to see. */
static bool link_alive(store_t *self)
{
    if (PQtransactionStatus(self->conn) != PQTRANS_IDLE ||
        PQpipelineStatus(self->conn) != PQ_PIPELINE_OFF)
        return true;
    /* a server that closes a connection sends a FATAL, then EOF: a read
     * returns what is there, so the EOF shows on the second */
    bool alive = true;
    for (int i = 0; i < 2 && alive; i++)
        alive = PQconsumeInput(self->conn) == 1 && PQstatus(self->conn) == CONNECTION_OK;
    if (alive)
        return true;
    set_err(self, PQerrorMessage(self->conn), NULL);
    log_warn("store.link_lost", "error", LOG_S(self->err), NULL);
    self->ready = false;
    self->next_try_ms = 0; /* a link that was up: reconnect at once, not throttled */
    return false;
}

bool store_ready(store_t *self)
{
    if (self->ready && PQstatus(self->conn) == CONNECTION_OK && link_alive(self))
        return true;
    if (self->refused)
        return false; /* never again: store_refused */
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
    PQsetNoticeProcessor(self->conn, quiet_notice, NULL);
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
    if (run_check(self) != 0)
        return false;
    /* which run of the server this is: transaction ids are unique within one
     * run only (store_outcome). A crash restarts the backends, not the
     * postmaster; it does reset the statistics, and bgwriter's says when. */
    PGresult *st = PQexec(self->conn,
                          "SELECT pg_postmaster_start_time()::text || ' '"
                          " || coalesce((SELECT stats_reset FROM pg_stat_bgwriter)::text, '')");
    bool st_ok = PQresultStatus(st) == PGRES_TUPLES_OK && PQntuples(st) == 1;
    if (st_ok)
        snprintf(self->started, sizeof self->started, "%s", PQgetvalue(st, 0, 0));
    else
        set_err(self, PQresultErrorMessage(st), st);
    PQclear(st);
    if (!st_ok)
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

/* ---- transaction ids: the outcome of a COMMIT whose answer was lost ---- */

static int send_plain(PGconn *c, const char *sql)
{
    return PQsendQueryParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
}

bool store_pipe_begin(store_t *self)
{
    PGconn *c = self->conn;
    return send_plain(c, "BEGIN") == 1 && send_plain(c, "SELECT pg_current_xact_id()") == 1 &&
           PQsendFlushRequest(c) == 1;
}

uint64_t store_pipe_xid(store_t *self, bool *ok)
{
    PQclear(store_pipe_next(self, ok)); /* BEGIN */
    PGresult *r = store_pipe_next(self, ok);
    uint64_t xid = r && PQntuples(r) == 1 ? strtoull(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return xid;
}

int store_begin_xid(store_t *self, uint64_t *xid)
{
    *xid = 0;
    if (!self->ready) {
        set_err(self, "database not connected", NULL);
        return -1;
    }
    PGconn *c = self->conn;
    bool sent = PQenterPipelineMode(c) == 1 && store_pipe_begin(self) && PQpipelineSync(c) == 1;
    bool ok = sent;
    if (!sent)
        set_err(self, PQerrorMessage(c), NULL);
    else
        *xid = store_pipe_xid(self, &ok);
    if (ok && *xid == 0) {
        set_err(self, "no transaction id", NULL);
        ok = false;
    }
    return store_pipe_end(self, sent, ok) ? 0 : -1;
}

static const char *const outcome_names[] = {"aborted", "committed", "unknown"};

/* The answer of pg_xact_status for xid on a fresh link: an outcome, or -1 to
 * ask again (in progress: the old backend has not ended yet; or the link
 * failed again). */
static int xact_status(store_t *self, const char *xid)
{
    const char *vals[1] = {xid};
    PGresult *r = PQexecParams(self->conn, "SELECT pg_xact_status($1::xid8)", 1, NULL, vals,
                               NULL, NULL, 0);
    int out = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        const char *st = PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0);
        out = !st ? STORE_UNKNOWN /* too old to be known: never for a live id */
            : !strcmp(st, "committed") ? STORE_COMMITTED
            : !strcmp(st, "aborted")   ? STORE_ABORTED
                                       : -1;
    } else {
        set_err(self, PQresultErrorMessage(r), r);
        /* "transaction ID … is in the future": it never reached the WAL that
         * survived (a crash restart), so it cannot have committed */
        if (!strcmp(self->sqlstate, "22023"))
            out = STORE_ABORTED;
        else if (PQstatus(self->conn) != CONNECTION_OK)
            self->ready = false;
    }
    PQclear(r);
    return out;
}

store_outcome_t store_outcome(store_t *self, uint64_t xid, bool commit_sent,
                              store_verify_fn verify, void *arg)
{
    char was[sizeof self->started]; /* the run of the server the transaction began on */
    snprintf(was, sizeof was, "%s", self->started);
    /* A link that still answers has answered everything sent before, COMMIT
     * included, and the caller saw it fail: the transaction is over. The
     * ROLLBACK ends what a failed statement left open and tells a live link
     * from a dead one that libpq has not noticed yet. */
    if (self->ready && PQstatus(self->conn) == CONNECTION_OK &&
        PQpipelineStatus(self->conn) == PQ_PIPELINE_OFF) {
        PGresult *r = PQexec(self->conn, "ROLLBACK");
        bool alive = PQresultStatus(r) == PGRES_COMMAND_OK && PQstatus(self->conn) == CONNECTION_OK;
        PQclear(r);
        if (alive)
            return STORE_ABORTED;
    }
    self->ready = false;
    if (!commit_sent)
        return STORE_ABORTED;
    int out = STORE_UNKNOWN;
    bool restarted = false;
    char arg_xid[24];
    snprintf(arg_xid, sizeof arg_xid, "%llu", (unsigned long long)xid);
    /* The caller waits here, and with it every client of its process: while the
     * server cannot be reached at all (stopped, restarting, failing over) the
     * outcome is learned later by the client's retry, and the wait is shorter. */
    int64_t t0 = now_ms(), end = t0 + self->outcome_ms, down_end = t0 + self->outcome_down_ms;
    self->next_try_ms = 0; /* the link was up: reconnect at once */
    while (xid) {
        int got = -1;
        bool up = store_ready(self);
        if (up) {
            got = xact_status(self, arg_xid);
            restarted = strcmp(was, self->started) != 0;
            /* After a crash restart the transaction is over, but an id that
             * never reached the WAL is handed out again: its status may be
             * another transaction's. `aborted` (or "in the future") is still
             * ours — a commit would have kept the id — but `committed` is
             * checked in the data (verify) whenever it can be, and `in
             * progress` after a restart is another's: ours ended. */
            if (got == STORE_COMMITTED || (got < 0 && restarted)) {
                int v = verify ? verify(self, xid, arg) : -1;
                got = v >= 0             ? (v ? STORE_COMMITTED : STORE_ABORTED)
                    : verify             ? -1 /* ask again */
                    : restarted          ? STORE_UNKNOWN
                                         : got;
            }
        }
        if (got >= 0) {
            out = got;
            break;
        }
        if (now_ms() >= (up ? end : down_end))
            break;
        usleep(50 * 1000);
    }
    log_warn("store.commit_outcome", "xid", LOG_I((long long)xid), "outcome",
             LOG_S(outcome_names[out]), "restarted", LOG_I(restarted), "ms", LOG_I(now_ms() - t0),
             "error", LOG_S(self->err), NULL);
    return (store_outcome_t)out;
}

/* [pre] name [post] as one pipeline with one sync; name's result or NULL.
 * With outcome (pre BEGIN, post COMMIT): the transaction id is taken after
 * BEGIN and *outcome tells whether it committed, also when the answer was
 * lost (store_outcome). */
static PGresult *exec_piped(store_t *self, const char *pre, const char *name, int n,
                            const char *const *values, int result_format, const char *post,
                            store_outcome_t *outcome)
{
    if (outcome)
        *outcome = STORE_ABORTED;
    if (!self->ready) {
        set_err(self, "database not connected", NULL);
        return NULL;
    }
    PGconn *c = self->conn;
    bool post_sent = false, committed = false;
    bool sent = PQenterPipelineMode(c) == 1 &&
                (outcome ? store_pipe_begin(self) : !pre || send_plain(c, pre) == 1) &&
                PQsendQueryPrepared(c, name, n, values, NULL, NULL, result_format) == 1 &&
                (!post || (post_sent = send_plain(c, post) == 1)) && PQpipelineSync(c) == 1;
    bool ok = sent;
    uint64_t xid = 0;
    PGresult *out = NULL;
    if (!sent) {
        set_err(self, PQerrorMessage(c), NULL);
    } else {
        if (outcome)
            xid = store_pipe_xid(self, &ok);
        else if (pre)
            PQclear(store_pipe_next(self, &ok));
        out = store_pipe_next(self, &ok);
        if (post) {
            /* a COMMIT of a transaction that had failed answers ROLLBACK */
            PGresult *r = store_pipe_next(self, &ok);
            committed = r && strcmp(PQcmdStatus(r), post) == 0;
            if (r && !committed) {
                if (ok)
                    set_err(self, "the transaction was rolled back", NULL);
                ok = false;
            }
            PQclear(r);
        }
    }
    bool fine = store_pipe_end(self, sent, ok);
    if (outcome)
        *outcome = fine || committed ? STORE_COMMITTED
                                     : store_outcome(self, xid, post_sent, NULL, NULL);
    if (!fine) {
        PQclear(out);
        return NULL;
    }
    return out;
}

PGresult *store_begin_exec(store_t *self, const char *name, int n, const char *const *values,
                           int result_format)
{
    return exec_piped(self, "BEGIN", name, n, values, result_format, NULL, NULL);
}

PGresult *store_exec_commit(store_t *self, const char *name, int n, const char *const *values)
{
    return exec_piped(self, NULL, name, n, values, 0, "COMMIT", NULL);
}

PGresult *store_exec_once(store_t *self, const char *name, int n, const char *const *values,
                          store_outcome_t *outcome)
{
    return exec_piped(self, "BEGIN", name, n, values, 0, "COMMIT", outcome);
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
