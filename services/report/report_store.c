/* report_store.c — the one report filer (report_store.h). */
#include "report_store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "pgarr.h"
#include "pii.h"

/* The columns of aid_submit_reports given as text arrays. */
enum { B_REQ, B_SOURCE, B_ASOF, B_TOWN, B_VILLAGE, B_URGENT, B_PORD, B_PIDS, B_PNAMES, B_PENCS,
       B_TEXT };

struct report_store {
    pgarr_t ids, names, encs;  /* one report's members */
    pgarr_t text[B_TEXT];      /* a batch's text columns */
    pgbin_t raw, body;         /* a batch's bytea[] columns */
    int count;                 /* reports in the batch */
    bool failed;               /* a sealing failed (no memory) */
};

report_store_t *report_store_new(void)
{
    report_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pgarr_init(&self->ids);
    pgarr_init(&self->names);
    pgarr_init(&self->encs);
    for (int k = 0; k < B_TEXT; k++)
        pgarr_init(&self->text[k]);
    pgbin_init(&self->raw);
    pgbin_init(&self->body);
    return self;
}

void report_store_destroy(report_store_t **self_p)
{
    report_store_t *self = *self_p;
    if (!self)
        return;
    pgarr_free(&self->ids);
    pgarr_free(&self->names);
    pgarr_free(&self->encs);
    for (int k = 0; k < B_TEXT; k++)
        pgarr_free(&self->text[k]);
    pgbin_free(&self->raw);
    pgbin_free(&self->body);
    free(self);
    *self_p = NULL;
}

void report_store_prepare(store_t *store)
{
    store_prepare(store, "submit_report",
                  "SELECT report_id, case_id, outcome FROM aid_submit_report("
                  "$1, $2::bytea, $3::text[], $4::text[], $5, $6::date, $7, $8, $9::boolean,"
                  " $10::bytea, $11::text[])");
    store_prepare(store, "submit_reports",
                  "SELECT o_ord, o_report_id, o_case_id, o_outcome FROM aid_submit_reports("
                  "$1::text[], $2::bytea[], $3::text[], $4::date[], $5::text[], $6::text[],"
                  " $7::boolean[], $8::bytea[], $9::int[], $10::text[], $11::text[], $12::text[])");
}

/* Adds the members of r (ID hash, name, sealed ID number) to the arrays;
 * ord, when > 0, to the batch's member-to-report column too. */
static void add_members(const report_t *r, pgarr_t *ids, pgarr_t *names, pgarr_t *encs,
                        pgarr_t *ords, int ord)
{
    for (int m = 0; m < r->n_members; m++) {
        char h[PII_HASH_HEX], e[PII_ID_ENC_HEX];
        pii_hash_hex(r->members[m].id_number, h);
        pii_id_enc_hex(r->members[m].id_number, e);
        if (ords)
            pgarr_add_int(ords, ord);
        pgarr_add_text(ids, h);
        pgarr_add_text(names, r->members[m].name);
        pgarr_add_text(encs, e);
    }
}

static const char *urgent_of(const report_t *r)
{
    return r->urgency == URGENCY_URGENT ? "true" : "false";
}

/* Sends (conn) or runs (store) aid_submit_report for f. */
static PGresult *one(report_store_t *self, store_t *store, PGconn *conn, const report_filing_t *f,
                     int *sent)
{
    const report_t *r = f->report;
    pgarr_reset(&self->ids);
    pgarr_reset(&self->names);
    pgarr_reset(&self->encs);
    add_members(r, &self->ids, &self->names, &self->encs, NULL, 0);
    char as_of[11];
    date_format(r->as_of, as_of);
    size_t sl = 0;
    unsigned char *sealed = pii_seal_alloc(PII_AD_REPORT, f->body, f->body_len, &sl);
    const char *vals[11] = {f->request_id, f->raw, pgarr_str(&self->ids),
                            pgarr_str(&self->names), proto_sources[r->source], as_of,
                            r->township, r->village, urgent_of(r), (const char *)sealed,
                            pgarr_str(&self->encs)};
    int lens[11] = {0, (int)f->raw_len, 0, 0, 0, 0, 0, 0, 0, (int)sl, 0};
    int fmts[11] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    bool ready = vals[2] && vals[3] && vals[9] && vals[10];
    PGresult *res = NULL;
    /* libpq copies the parameters: the arrays can be reused at once */
    if (conn)
        *sent = ready && PQsendQueryPrepared(conn, "submit_report", 11, vals, lens, fmts, 0) == 1;
    else if (ready)
        res = store_exec_bin(store, "submit_report", 11, vals, lens, fmts);
    free(sealed);
    return res;
}

int report_store_file(report_store_t *self, store_t *store, const report_filing_t *f,
                      report_filed_t *out)
{
    PGresult *res = one(self, store, NULL, f, NULL);
    if (!res || PQntuples(res) != 1) {
        PQclear(res);
        return -1;
    }
    report_store_result(res, 0, 0, out);
    PQclear(res);
    return 0;
}

int report_store_send(report_store_t *self, PGconn *conn, const report_filing_t *f)
{
    int sent = 0;
    one(self, NULL, conn, f, &sent);
    return sent ? 0 : -1;
}

void report_store_batch_begin(report_store_t *self)
{
    for (int k = 0; k < B_TEXT; k++)
        pgarr_reset(&self->text[k]);
    pgbin_reset(&self->raw);
    pgbin_reset(&self->body);
    self->count = 0;
    self->failed = false;
}

void report_store_batch_add(report_store_t *self, const report_filing_t *f)
{
    const report_t *r = f->report;
    pgarr_t *t = self->text;
    char as_of[11];
    date_format(r->as_of, as_of);
    self->count++;
    pgarr_add_text(&t[B_REQ], f->request_id);
    pgarr_add_text(&t[B_SOURCE], proto_sources[r->source]);
    pgarr_add_text(&t[B_ASOF], as_of);
    pgarr_add_text(&t[B_TOWN], r->township);
    pgarr_add_text(&t[B_VILLAGE], r->village);
    pgarr_add_text(&t[B_URGENT], urgent_of(r));
    add_members(r, &t[B_PIDS], &t[B_PNAMES], &t[B_PENCS], &t[B_PORD], self->count);
    size_t sl = 0;
    unsigned char *sealed = pii_seal_alloc(PII_AD_REPORT, f->body, f->body_len, &sl);
    self->failed |= sealed == NULL;
    pgbin_add(&self->raw, f->raw, f->raw_len);
    if (sealed)
        pgbin_add(&self->body, sealed, sl);
    free(sealed);
}

/* The batch's twelve parameters of submit_reports. false when it cannot be
 * sent (empty, a sealing failed, no memory). */
static bool batch_params(report_store_t *self, const char **vals, int *lens, int *fmts)
{
    pgarr_t *t = self->text;
    int raw_len = 0, body_len = 0;
    const char *v[12] = {pgarr_str(&t[B_REQ]),     pgbin_data(&self->raw, &raw_len),
                         pgarr_str(&t[B_SOURCE]),  pgarr_str(&t[B_ASOF]),
                         pgarr_str(&t[B_TOWN]),    pgarr_str(&t[B_VILLAGE]),
                         pgarr_str(&t[B_URGENT]),  pgbin_data(&self->body, &body_len),
                         pgarr_str(&t[B_PORD]),    pgarr_str(&t[B_PIDS]),
                         pgarr_str(&t[B_PNAMES]),  pgarr_str(&t[B_PENCS])};
    bool ok = !self->failed && self->count > 0;
    for (int k = 0; k < 12; k++) {
        vals[k] = v[k];
        lens[k] = k == 1 ? raw_len : k == 7 ? body_len : 0;
        fmts[k] = k == 1 || k == 7; /* raw and body as binary bytea[] */
        ok &= v[k] != NULL;
    }
    return ok;
}

int report_store_batch_send(report_store_t *self, PGconn *conn)
{
    const char *vals[12];
    int lens[12], fmts[12];
    return batch_params(self, vals, lens, fmts) &&
                   PQsendQueryPrepared(conn, "submit_reports", 12, vals, lens, fmts, 0) == 1
               ? 0
               : -1;
}

int report_store_batch_file(report_store_t *self, store_t *store, report_filed_t *out, int n)
{
    const char *vals[12];
    int lens[12], fmts[12];
    if (n != self->count || !batch_params(self, vals, lens, fmts))
        return -1;
    PGresult *res = store_exec_bin(store, "submit_reports", 12, vals, lens, fmts);
    if (!res || PQntuples(res) != n) {
        PQclear(res);
        return -1;
    }
    for (int k = 0; k < n; k++) {
        int ord = atoi(PQgetvalue(res, k, 0));
        if (ord < 1 || ord > n) {
            PQclear(res);
            return -1;
        }
        report_store_result(res, k, 1, &out[ord - 1]);
    }
    PQclear(res);
    return 0;
}

void report_store_result(const PGresult *res, int row, int col, report_filed_t *out)
{
    out->report_id = atoll(PQgetvalue(res, row, col));
    out->case_id = atoll(PQgetvalue(res, row, col + 1));
    const char *oc = PQgetvalue(res, row, col + 2);
    out->outcome = !strcmp(oc, "new")         ? REPORT_NEW
                   : !strcmp(oc, "duplicate") ? REPORT_DUPLICATE
                                              : REPORT_CONFLICT;
}
