/* store.h — the PostgreSQL connection of a service (libpq).
 *
 * One connection per process, prepared statements registered once and
 * re-prepared after every reconnect, reconnects throttled so a dead database
 * costs a failed request, not a stalled loop. Errors live on the object
 * (store_errmsg), as in hiredis. */
#ifndef AID_COMMON_STORE_H
#define AID_COMMON_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

/* A store for dsn; does not connect yet (see store_ready). NULL on OOM. */
store_t *store_new(const char *dsn);
void store_destroy(store_t **self_p);

/* Registers a statement to prepare on every connection. Call before the
 * first store_ready. name and sql must outlive the store (string literals).
 * The same name again with the same sql is a no-op (modules shared by
 * several operations register their statements each time). */
void store_prepare(store_t *self, const char *name, const char *sql);

/* Sets the session up after every connect, before the statements are
 * prepared: sql (a literal, e.g. "SET enable_seqscan = off") is run as is.
 * Services use it to choose how their statements are planned. */
void store_session(store_t *self, const char *sql);

/* A check every new connection of the process passes after its statements
 * are prepared (e.g. common/pii_pg.c: the database is sealed with this
 * process's key): 0 to go on; -1 when it could not be made (the connect is
 * tried again later); 1 when this database must not be used at all. why
 * gets the reason (the store's error, store_errmsg). The check logs what it
 * found itself. */
typedef int (*store_check_fn)(PGconn *conn, char *why, size_t whysz);
/* Sets the check of every store of this process (NULL: none). */
void store_check_all(store_check_fn fn);
/* True once the check refused the database: the store never connects again
 * (store_ready stays false, the reason in store_errmsg). The service's loop
 * sees it and stops with exit code 1; store.c itself never exits. */
bool store_refused(const store_t *self);

/* True when connected and prepared; reconnects at most every retry_ms
 * (AID_PG_RETRY_MS, default 500) otherwise. Between transactions it first
 * reads what the server sent the idle connection (no round trip): a link the
 * server closed meanwhile (a restart, a terminated backend) is replaced at
 * once, before any statement fails on it. A lost connection, or an error
 * 25006 (the server takes no writes: a standby, a demoted primary), marks the
 * store broken; the reconnect uses the same DSN, so a multi-host one with
 * target_session_attrs=read-write lands on the current primary (ops/ha.sh). */
bool store_ready(store_t *self);

/* Runs prepared statement name with text parameters (NULL = SQL NULL).
 * Returns the result when its status is COMMAND_OK or TUPLES_OK, else NULL
 * with the error in store_errmsg (and the connection marked broken when it
 * is). The caller PQclear()s the result. */
PGresult *store_exec(store_t *self, const char *name, int n, const char *const *values);
/* Same with per-parameter lengths and formats (1 = binary, for bytea). */
PGresult *store_exec_bin(store_t *self, const char *name, int n, const char *const *values,
                         const int *lengths, const int *formats);
/* Runs a plain SQL command without parameters (BEGIN, COMMIT, …); 0 or -1. */
int store_cmd(store_t *self, const char *sql);

int store_begin(store_t *self);
int store_commit(store_t *self);
void store_rollback(store_t *self);

/* In pipeline mode (store_conn, PQenterPipelineMode, statements sent, then
 * PQpipelineSync): the next statement's result when it succeeded (COMMAND_OK
 * or TUPLES_OK, as store_exec), else NULL — an error, or a statement skipped
 * after one — with *ok set false and, for the first failure only, its
 * message in store_errmsg. Reads the NULL that ends the statement's results;
 * the caller reads the sync result itself. */
PGresult *store_pipe_next(store_t *self, bool *ok);
/* Ends a pipeline: when synced (PQpipelineSync was sent), reads the sync
 * result; leaves pipeline mode (a connection that cannot is marked broken);
 * and when anything failed — ok false on entry, or here — rolls back the
 * transaction the pipeline left open. Returns ok and-ed with all that, the
 * first error in store_errmsg. */
bool store_pipe_end(store_t *self, bool synced, bool ok);

/* A transaction's first and last statements in one round trip each (libpq
 * pipeline mode), for the claim-work-record loops of the workers.
 * store_begin_exec sends BEGIN and prepared statement name together and
 * returns name's result with the transaction open; store_exec_commit sends
 * name and COMMIT together and returns name's result once committed.
 * result_format 1 asks for binary columns. On failure both return NULL with
 * the error in store_errmsg and no transaction left open (a failed
 * connection is marked broken). */
PGresult *store_begin_exec(store_t *self, const char *name, int n, const char *const *values,
                           int result_format);
PGresult *store_exec_commit(store_t *self, const char *name, int n, const char *const *values);

/* ---- the outcome of a COMMIT whose answer was lost ----------------------
 * A link that breaks after COMMIT was sent leaves the outcome unknown to the
 * client: it may have committed. Writers take the transaction id with BEGIN
 * (in the same round trip) and, when the COMMIT's answer is lost, learn the
 * truth from pg_xact_status on a new connection (store_outcome). */
typedef enum { STORE_ABORTED, STORE_COMMITTED, STORE_UNKNOWN } store_outcome_t;

/* In pipeline mode: queues BEGIN, SELECT pg_current_xact_id() and a flush
 * request (the id is sent at once, before the statements after it run). */
bool store_pipe_begin(store_t *self);
/* Reads the two results store_pipe_begin queued: the transaction id, or 0
 * (*ok false) when they failed. */
uint64_t store_pipe_xid(store_t *self, bool *ok);
/* BEGIN and the transaction id in one round trip (the transaction is left
 * open). 0, or -1 (nothing open). */
int store_begin_xid(store_t *self, uint64_t *xid);
/* Checks in the data whether the transaction xid committed (e.g. its rows,
 * whose xmin is xid): 1 yes, 0 no, -1 cannot tell now (asked again). */
typedef int (*store_verify_fn)(store_t *self, uint64_t xid, void *arg);
/* After a failed transaction (a statement or COMMIT failed, or the link
 * broke): whether it committed. A link that still answers ends it (ROLLBACK)
 * and it is STORE_ABORTED, as it is when COMMIT was never sent (commit_sent
 * false). Otherwise reconnects and asks pg_xact_status(xid), asking again
 * while it is in progress (its backend not ended yet), for at most
 * AID_PG_OUTCOME_MS (default 5000). After a crash restart an id that never
 * reached the WAL may have been handed out again, so `committed` is checked
 * with verify(self, xid, arg) when there is one, and after a restart
 * `committed` without one, or `in progress` without one, is STORE_UNKNOWN.
 * STORE_UNKNOWN too when time ran out or xid is 0 (never received). Logged
 * (store.commit_outcome). */
store_outcome_t store_outcome(store_t *self, uint64_t xid, bool commit_sent,
                              store_verify_fn verify, void *arg);
/* BEGIN, the transaction id, prepared statement name and COMMIT in one round
 * trip: name's result once committed, else NULL; *outcome says whether it
 * committed — STORE_COMMITTED also when the answer was lost (then NULL); after
 * a server restart with nothing to verify it by, STORE_UNKNOWN. */
PGresult *store_exec_once(store_t *self, const char *name, int n, const char *const *values,
                          store_outcome_t *outcome);

/* The int8 value at (row, col) of a binary-format result (big-endian); 0
 * when the column is not 8 bytes (NULL, another type). */
int64_t store_i64(const PGresult *r, int row, int col);

/* The bytea value at (row, col) of a text-format result, unescaped into a
 * new buffer (free with PQfreemem); NULL on failure. *len gets its size. */
unsigned char *store_bytea(const PGresult *r, int row, int col, size_t *len);

/* The last error (scrubbed of ID numbers). */
const char *store_errmsg(const store_t *self);
/* The SQLSTATE of the last error ("" when none), e.g. "23505" unique_violation. */
const char *store_sqlstate(const store_t *self);
/* The raw connection, for pipeline mode and COPY. NULL when not ready. */
PGconn *store_conn(store_t *self);
/* Marks the connection broken (after a failure detected by the caller). */
void store_mark_broken(store_t *self);

#endif
