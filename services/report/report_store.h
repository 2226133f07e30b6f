/* report_store.h — the one report filer: a report becomes the parameters of
 * aid_submit_report / aid_submit_reports (ops/sql/30_report.sql) here and
 * nowhere else. Intake's group commit (report.submit), the reports the
 * system files itself (synth: a visit, a trigger) and the trigger worker
 * all file through it, with a report_filing_t.
 *
 * What is stored: the request id and the hash of raw (idempotency: the same
 * id with another raw is a conflict), the report's source, as_of, township,
 * village and urgency as columns, its members as hashed and sealed ID
 * numbers with their names, and body sealed (common/pii.h). */
#ifndef AID_REPORT_STORE_H
#define AID_REPORT_STORE_H

#include <stddef.h>

#include "proto.h"
#include "store.h"

/* One report to file. */
typedef struct {
    const char *request_id;  /* its idempotency key */
    const report_t *report;  /* the decoded report: columns and members */
    const char *raw;         /* what the key's hash is taken of: the request body as */
    size_t raw_len;          /* received, keys sorted; for the system's own, the body */
    const char *body;        /* the canonical report (proto_report_encode), */
    size_t body_len;         /* stored sealed */
} report_filing_t;

typedef enum { REPORT_NEW, REPORT_DUPLICATE, REPORT_CONFLICT } report_outcome_t;

/* What a filing did: the report and its case, and whether it is new, the
 * same request again (duplicate) or the id reused with another body. */
typedef struct {
    long long report_id, case_id;
    report_outcome_t outcome;
} report_filed_t;

/* The filer's parameter buffers, reused from one filing to the next. */
typedef struct report_store report_store_t;

report_store_t *report_store_new(void);
void report_store_destroy(report_store_t **self_p);
/* Registers the statements submit_report and submit_reports on store. */
void report_store_prepare(store_t *store);

/* Files one report with aid_submit_report, in the caller's transaction if
 * one is open. 0 with *out set, or -1 (a store error: store_errmsg; or no
 * memory). */
int report_store_file(report_store_t *self, store_t *store, const report_filing_t *f,
                      report_filed_t *out);
/* The same call sent in pipeline mode (common/store.h): its result, one row,
 * is read with report_store_result(res, 0, 0, …). 0, or -1 when not sent. */
int report_store_send(report_store_t *self, PGconn *conn, const report_filing_t *f);

/* Many reports independent of each other (no shared request id or member)
 * in one aid_submit_reports call: begin, add each, send (pipeline mode). Its
 * result has a row per report: its 1-based place in the order added, then
 * the three columns report_store_result reads. send: 0, or -1 when not sent
 * (no memory, or libpq refused). */
void report_store_batch_begin(report_store_t *self);
void report_store_batch_add(report_store_t *self, const report_filing_t *f);
int report_store_batch_send(report_store_t *self, PGconn *conn);
/* The same call run at once, in the caller's transaction if one is open
 * (the trigger worker's chunk): out[k] is the outcome of the (k+1)th report
 * added; n, the number added, sizes out. 0, or -1 (a store error:
 * store_errmsg; or no memory, or n is not the number added). */
int report_store_batch_file(report_store_t *self, store_t *store, report_filed_t *out, int n);

/* The filing's outcome in row of res: report_id, case_id and outcome
 * ("new", "duplicate", "conflict") in columns col, col+1, col+2. */
void report_store_result(const PGresult *res, int row, int col, report_filed_t *out);

#endif
