/* synth.c — reports filed by the system on an existing case. */
#include "synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"
#include "pii.h"
#include "report_store.h"

void synth_prepare(store_t *store)
{
    report_store_prepare(store);
    store_prepare(store, "synth_latest",
                  "SELECT body FROM reports WHERE case_id = $1::bigint"
                  " ORDER BY report_id DESC LIMIT 1");
    store_prepare(store, "synth_person",
                  "SELECT case_id FROM case_members WHERE id_hash = decode($1, 'hex')");
}

int synth_case_of_person(opctx_t *ctx, const char *id_number, const char *field,
                         long long *case_id, proto_error_t *err)
{
    char h[PII_HASH_HEX];
    pii_hash_hex(id_number, h);
    const char *arg = h;
    PGresult *r = store_exec(ctx->store, "synth_person", 1, &arg);
    if (!r)
        return write_unavailable(err);
    int found = PQntuples(r) == 1;
    if (found)
        *case_id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return found ? 0 : proto_fail(err, PROTO_NOT_FOUND, field, "no registered person with this ID number");
}

/* Loads and decodes the latest report of the case into r. */
static int load_latest(store_t *store, long long case_id, report_t *r, proto_error_t *err)
{
    char cid[24];
    snprintf(cid, sizeof cid, "%lld", case_id);
    const char *arg = cid;
    PGresult *res = store_exec(store, "synth_latest", 1, &arg);
    if (!res)
        return write_unavailable(err);
    int rc = -1;
    size_t len = 0;
    unsigned char *body = PQntuples(res) == 1 ? store_sealed(res, 0, 0, PII_AD_REPORT, &len) : NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    schema_err_t se;
    if (!body && PQntuples(res) == 1)
        proto_fail(err, PROTO_UNAVAILABLE, NULL, "the case's latest report could not be read");
    else if (!body)
        proto_fail(err, PROTO_NOT_FOUND, NULL, "the case has no report to start from");
    else if (mp_unpack((const char *)body, len, &u) != MP_OK ||
             proto_report_decode(&u.data, date_today(), r, &se) != 0)
        proto_fail(err, PROTO_UNAVAILABLE, NULL, "the case's latest report could not be read");
    else
        rc = 0;
    msgpack_unpacked_destroy(&u);
    free(body);
    PQclear(res);
    return rc;
}

int synth_file_report(opctx_t *ctx, long long case_id, const char *request_id,
                      synth_modify_fn modify, void *arg, long long *report_id,
                      proto_error_t *err)
{
    store_t *store = ctx->store;
    report_t *r = malloc(sizeof *r);
    report_store_t *filer = report_store_new();
    int rc = -1;
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    if (!r || !filer) {
        write_unavailable(err);
        goto out;
    }
    if (load_latest(store, case_id, r, err) != 0)
        goto out;
    r->as_of = date_today();
    r->source = SOURCE_DEPARTMENT;
    r->urgency = URGENCY_NORMAL;
    r->n_circumstances = 0;
    r->trigger[0] = '\0'; /* the latest report's trigger is not this report's */
    if (modify(r, arg, err) != 0)
        goto out;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    proto_report_encode(r, &pk);
    /* the system's own report: its body is also what the key is hashed with */
    report_filing_t f = {.request_id = request_id, .report = r, .raw = body.data,
                         .raw_len = body.size, .body = body.data, .body_len = body.size};
    report_filed_t filed;
    if (report_store_file(filer, store, &f, &filed) != 0) {
        write_unavailable(err);
        goto out;
    }
    if (filed.outcome == REPORT_CONFLICT) {
        proto_fail(err, PROTO_CONFLICT, "id", "this request id was already used for another report");
        goto out;
    }
    *report_id = filed.report_id;
    rc = 0;
out:
    msgpack_sbuffer_destroy(&body);
    report_store_destroy(&filer);
    free(r);
    return rc;
}
