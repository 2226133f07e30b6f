/* submit.c — report.submit with group commit (the report path's own room;
 * linked into intake, which hands it every valid-looking report.submit).
 *
 * A pass of intake's loop queues the reports it read (submit_queue: each
 * validated, answered at once when invalid), then commits them all in one
 * transaction (submit_commit) and answers them. `ok` is sent only for what
 * committed; a batch that failed is answered `unavailable` and nothing of
 * it is acknowledged (a retry with the same id is safe). When the link
 * breaks after COMMIT was sent, the truth is learned from the transaction id
 * taken with BEGIN (store_outcome: pg_xact_status, and a `committed` checked
 * in the rows, whose xmin is that id, since a crash restart may hand the id
 * out again): what committed is answered `ok`, and what cannot be learned in
 * time `unavailable` saying the outcome is unknown — never "nothing was
 * accepted".
 *
 * Redis is the fast path for idempotency (a retried id is answered without
 * touching Postgres); the requests table's primary key is the truth. The
 * reports are filed through the one filer (report_store.h). */
#include "submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "date.h"
#include "log.h"
#include "mp.h"
#include "pgarr.h"
#include "report_store.h"
#include "write.h"

/* A report.submit that passed validation and waits for the batch commit. */
typedef struct {
    void *in;                 /* the caller, as the front door knows it */
    int64_t t_us;             /* when the door read it (monotonic) */
    char id[PROTO_STR_MAX + 1];
    msgpack_sbuffer raw;      /* the body as received, keys sorted: idempotency hash */
    msgpack_sbuffer canon;    /* the canonical report, as_of filled in */
    uint64_t fingerprint;     /* FNV-1a of raw, for the Redis fast path */
    report_t *report;
    long long report_id, case_id;
    int outcome;              /* report_outcome_t: 0 new, 1 duplicate, 2 conflict */
} pending_t;

struct submit {
    submit_door_t door;       /* answers go out through the front door */
    store_t *store;
    cache_t *cache;
    pending_t *pending;       /* SUBMIT_MAX slots */
    report_store_t *filer;    /* the report filer's parameters, reused */
    pgarr_t ids;              /* lookup_committed's parameters, reused */
    pgbin_t raws;
    metric_t *m_decided, *m_batches, *m_latency;
};

submit_t *submit_new(const submit_door_t *door, store_t *store, cache_t *cache,
                     metric_t *decided, metric_t *batches, metric_t *latency)
{
    submit_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    *self = (submit_t){.door = *door, .store = store, .cache = cache, .m_decided = decided,
                       .m_batches = batches, .m_latency = latency};
    self->pending = calloc(SUBMIT_MAX, sizeof *self->pending);
    self->filer = report_store_new();
    if (!self->pending || !self->filer)
        submit_destroy(&self);
    return self;
}

void submit_destroy(submit_t **self_p)
{
    submit_t *self = *self_p;
    if (!self)
        return;
    free(self->pending);
    report_store_destroy(&self->filer);
    pgarr_free(&self->ids);
    pgbin_free(&self->raws);
    free(self);
    *self_p = NULL;
}

void submit_prepare(store_t *store)
{
    report_store_prepare(store);
    /* the batch's entries after a COMMIT whose answer was lost: $3 is the
     * low 32 bits of the batch's transaction id, the xmin of the rows it made */
    store_prepare(store, "committed_reports",
                  "SELECT r.request_id, r.report_id, r.case_id,"
                  "       CASE WHEN r.op <> 'report.submit' OR r.body_hash <> sha256(t.raw)"
                  "            THEN 'conflict'"
                  "            WHEN r.xmin::text = $3 THEN 'new' ELSE 'duplicate' END"
                  "  FROM unnest($1::text[], $2::bytea[]) AS t(id, raw)"
                  "  JOIN requests r ON r.request_id = t.id");
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

int submit_queue(submit_t *self, void *in, int64_t t_us, const proto_request_t *req, int slot)
{
    proto_error_t e;
    schema_err_t se;
    if (!req->body) {
        proto_fail(&e, PROTO_INVALID_FIELD, "body", "report.submit needs a body");
        self->door.reply_error(self->door.arg, in, req->id, &e);
        return 0;
    }
    pending_t *p = &self->pending[slot];
    memset(p, 0, sizeof *p);
    p->report = malloc(sizeof *p->report);
    if (!p->report) {
        proto_fail(&e, PROTO_UNAVAILABLE, NULL, "out of memory, retry later");
        self->door.reply_error(self->door.arg, in, req->id, &e);
        return 0;
    }
    if (proto_report_decode(req->body, date_today(), p->report, &se) != 0) {
        proto_fail(&e, PROTO_INVALID_FIELD, se.field, se.message);
        self->door.reply_error(self->door.arg, in, req->id, &e);
        free(p->report);
        return 0;
    }
    p->in = in;
    p->t_us = t_us;
    snprintf(p->id, sizeof p->id, "%s", req->id);
    msgpack_packer pk;
    msgpack_sbuffer_init(&p->raw);
    msgpack_packer_init(&pk, &p->raw, msgpack_sbuffer_write);
    mp_pack_sorted(&pk, req->body);
    msgpack_sbuffer_init(&p->canon);
    msgpack_packer_init(&pk, &p->canon, msgpack_sbuffer_write);
    proto_report_encode(p->report, &pk);
    p->fingerprint = fnv1a(p->raw.data, p->raw.size);
    return 1;
}

static void pending_free(pending_t *p)
{
    msgpack_sbuffer_destroy(&p->raw);
    msgpack_sbuffer_destroy(&p->canon);
    free(p->report);
    p->report = NULL;
}

/* Redis fast path: a retried id answered without Postgres. Marks the
 * entries it settles (outcome set, report/case ids known). One MGET per
 * MGET_CHUNK entries (a fixed arity, padded by repeating the last id). */
#define MGET_CHUNK 16
#define K8 "idem:%s idem:%s idem:%s idem:%s idem:%s idem:%s idem:%s idem:%s"
static void lookup_cached(submit_t *self, pending_t *ps, int n)
{
    if (!cache_ready(self->cache))
        return;
    for (int lo = 0; lo < n; lo += MGET_CHUNK) {
        const char *k[MGET_CHUNK];
        for (int j = 0; j < MGET_CHUNK; j++)
            k[j] = ps[lo + j < n ? lo + j : n - 1].id;
        redisReply *r = cache_cmd(self->cache, "MGET " K8 " " K8, k[0], k[1], k[2], k[3], k[4],
                                  k[5], k[6], k[7], k[8], k[9], k[10], k[11], k[12], k[13],
                                  k[14], k[15]);
        if (!r)
            return;
        for (int j = 0; r->type == REDIS_REPLY_ARRAY && j < MGET_CHUNK && lo + j < n; j++) {
            const redisReply *e = j < (int)r->elements ? r->element[j] : NULL;
            unsigned long long fp;
            long long rid, cid;
            if (e && e->type == REDIS_REPLY_STRING &&
                sscanf(e->str, "%llx %lld %lld", &fp, &rid, &cid) == 3) {
                pending_t *p = &ps[lo + j];
                p->outcome = fp == p->fingerprint ? 1 : 2;
                p->report_id = rid;
                p->case_id = cid;
            }
        }
        freeReplyObject(r);
    }
}
#undef K8

/* Remembers the batch's new ids in Redis: one pipelined round trip. */
static void remember_cached(submit_t *self, pending_t *ps, int n)
{
    if (!cache_ready(self->cache))
        return;
    enum { KEY = PROTO_STR_MAX + 8, VAL = 64 };
    char *buf = malloc((size_t)n * (KEY + VAL));
    const char **argv = malloc((size_t)n * 5 * sizeof *argv);
    const char *const **argvs = malloc((size_t)n * sizeof *argvs);
    const size_t **lens = calloc((size_t)n, sizeof *lens);
    int *argcs = malloc((size_t)n * sizeof *argcs);
    int m = 0;
    for (int i = 0; buf && argv && argvs && lens && argcs && i < n; i++) {
        if (ps[i].outcome != 0 || ps[i].report_id == 0)
            continue;
        char *key = buf + (size_t)m * (KEY + VAL), *val = key + KEY;
        snprintf(key, KEY, "idem:%s", ps[i].id);
        snprintf(val, VAL, "%llx %lld %lld", (unsigned long long)ps[i].fingerprint,
                 ps[i].report_id, ps[i].case_id);
        const char **a = argv + (size_t)m * 5;
        a[0] = "SET", a[1] = key, a[2] = val, a[3] = "EX", a[4] = "86400";
        argvs[m] = a;
        argcs[m] = 5;
        m++;
    }
    if (m)
        cache_pipeline(self->cache, m, argcs, argvs, lens); /* a miss only costs a lookup */
    free(buf);
    free(argv);
    free(argvs);
    free(lens);
    free(argcs);
}

/* ---- the batch's statements: one pipelined round trip ------------------- */

typedef struct {
    const char *key;
    int entry;
} keyref_t;

static int keyref_cmp(const void *a, const void *b)
{
    return strcmp(((const keyref_t *)a)->key, ((const keyref_t *)b)->key);
}

/* Marks linked[q] for every unsettled entry that shares its request id or one of
 * its members' ID numbers with another entry of the batch: those go through
 * aid_submit_report one by one, in order, so a household reported twice in
 * one batch joins its case exactly as it would in two batches. */
static void mark_linked(const pending_t *ps, const int *unsettled, int nq, bool *linked)
{
    int cap = nq * (REPORT_MAX_MEMBERS + 1), nk = 0;
    keyref_t *keys = malloc((size_t)(cap ? cap : 1) * sizeof *keys);
    for (int q = 0; q < nq; q++)
        linked[q] = keys == NULL; /* no memory: all one by one, still correct */
    if (!keys)
        return;
    for (int pass = 0; pass < 2; pass++) { /* request ids, then ID numbers */
        nk = 0;
        for (int q = 0; q < nq; q++) {
            const pending_t *p = &ps[unsettled[q]];
            if (pass == 0)
                keys[nk++] = (keyref_t){p->id, q};
            else
                for (int m = 0; m < p->report->n_members; m++)
                    keys[nk++] = (keyref_t){p->report->members[m].id_number, q};
        }
        qsort(keys, (size_t)nk, sizeof *keys, keyref_cmp);
        for (int k = 1; k < nk; k++)
            if (!strcmp(keys[k].key, keys[k - 1].key) && keys[k].entry != keys[k - 1].entry)
                linked[keys[k].entry] = linked[keys[k - 1].entry] = true;
    }
    free(keys);
}

/* The filing of a pending report (report_store.h). */
static report_filing_t filing_of(const pending_t *p)
{
    return (report_filing_t){.request_id = p->id, .report = p->report, .raw = p->raw.data,
                             .raw_len = p->raw.size, .body = p->canon.data,
                             .body_len = p->canon.size};
}

/* Sends the aid_submit_reports call for the independent entries. */
static int send_batch(submit_t *self, PGconn *conn, pending_t *ps, const int *unsettled,
                      const bool *linked, int nq)
{
    report_store_batch_begin(self->filer);
    for (int q = 0; q < nq; q++) {
        if (linked[q])
            continue;
        report_filing_t f = filing_of(&ps[unsettled[q]]);
        report_store_batch_add(self->filer, &f);
    }
    return report_store_batch_send(self->filer, conn) == 0;
}

/* Sends one aid_submit_report call (a linked entry). */
static int send_one(submit_t *self, PGconn *conn, const pending_t *p)
{
    report_filing_t f = filing_of(p);
    return report_store_send(self->filer, conn, &f) == 0;
}

static void set_outcome(pending_t *p, PGresult *res, int row, int col)
{
    report_filed_t out;
    report_store_result(res, row, col, &out);
    p->report_id = out.report_id;
    p->case_id = out.case_id;
    p->outcome = (int)out.outcome;
}

/* After the batch's transaction committed: the entries whose results were
 * lost with the link (report_id still 0) are looked up by request id — the
 * row this transaction inserted (its xmin is the batch's transaction id) is
 * `new`, one that was there before is `duplicate` or `conflict`, as
 * aid_submit_reports would have answered. Entries it cannot settle stay
 * unsettled (answered outcome unknown). */
static int lookup_committed(submit_t *self, pending_t *ps, const int *unsettled, int nq,
                            uint64_t xid)
{
    int n = 0;
    pgarr_reset(&self->ids);
    pgbin_reset(&self->raws);
    for (int q = 0; q < nq; q++)
        n += ps[unsettled[q]].report_id == 0 && ps[unsettled[q]].outcome == 0;
    if (!n)
        return 0;
    for (int q = 0; q < nq; q++) {
        const pending_t *p = &ps[unsettled[q]];
        if (p->report_id || p->outcome)
            continue;
        pgarr_add_text(&self->ids, p->id);
        pgbin_add(&self->raws, p->raw.data, p->raw.size);
    }
    char x32[24];
    snprintf(x32, sizeof x32, "%llu", (unsigned long long)(xid & 0xffffffffu));
    int len = 0;
    const char *vals[3] = {pgarr_str(&self->ids), pgbin_data(&self->raws, &len), x32};
    int lens[3] = {0, len, 0}, fmts[3] = {0, 1, 0};
    PGresult *r = vals[0] && vals[1] && store_ready(self->store)
                      ? store_exec_bin(self->store, "committed_reports", 3, vals, lens, fmts)
                      : NULL;
    for (int row = 0; r && row < PQntuples(r); row++) {
        const char *id = PQgetvalue(r, row, 0);
        for (int q = 0; q < nq; q++) {
            pending_t *p = &ps[unsettled[q]];
            if (!p->report_id && !p->outcome && !strcmp(p->id, id)) {
                set_outcome(p, r, row, 1);
                break;
            }
        }
    }
    if (!r)
        log_warn("intake.lookup_failed", "reports", LOG_I(n), "error",
                 LOG_S(store_errmsg(self->store)), NULL);
    int rc = r ? 0 : -1;
    PQclear(r);
    return rc;
}

/* The batch being resolved, for verify_batch. */
typedef struct {
    submit_t *self;
    pending_t *ps;
    const int *unsettled;
    int nq;
} batch_ref_t;

static void unsettle(pending_t *ps, const int *unsettled, int nq)
{
    for (int q = 0; q < nq; q++) {
        ps[unsettled[q]].outcome = 0;
        ps[unsettled[q]].report_id = ps[unsettled[q]].case_id = 0;
    }
}

/* store_verify_fn of a batch whose transaction is over (pg_xact_status said
 * committed, which after a crash restart may be another transaction's): it
 * committed when one of its entries' rows was made by it (xmin = xid). The
 * lookup also gives every entry its answer; when every entry has a row made
 * before (duplicates, conflicts), those rows are the answer either way. */
static int verify_batch(store_t *store, uint64_t xid, void *arg)
{
    (void)store;
    batch_ref_t *b = arg;
    unsettle(b->ps, b->unsettled, b->nq);
    if (lookup_committed(b->self, b->ps, b->unsettled, b->nq, xid) != 0)
        return -1;
    int found = 0;
    for (int q = 0; q < b->nq; q++) {
        const pending_t *p = &b->ps[b->unsettled[q]];
        if (p->outcome == 0 && p->report_id)
            return 1; /* a row this transaction made */
        found += p->outcome != 0;
    }
    return found == b->nq;
}

/* Commits every unsettled entry in ONE round trip. In pipeline mode it
 * sends BEGIN with the transaction id (store_pipe_begin), one
 * aid_submit_reports for the entries independent of each other, one
 * aid_submit_report per linked entry (see mark_linked), a flush request (the
 * results are sent before COMMIT runs), COMMIT and a sync, then reads every
 * result. Returns the truth: STORE_COMMITTED (the entries' outcomes set; an
 * entry whose result is lost is looked up), STORE_ABORTED (nothing was kept:
 * rolled back) or STORE_UNKNOWN (the link broke after COMMIT was sent and
 * the outcome could not be learned, store_outcome). */
static store_outcome_t submit_all(submit_t *self, pending_t *ps, int n)
{
    PGconn *conn = store_conn(self->store);
    if (!conn || PQenterPipelineMode(conn) != 1)
        return STORE_ABORTED;
    int unsettled[SUBMIT_MAX], nq = 0, nb = 0;
    bool linked[SUBMIT_MAX];
    for (int i = 0; i < n; i++)
        if (ps[i].outcome == 0 && ps[i].report)
            unsettled[nq++] = i;
    mark_linked(ps, unsettled, nq, linked);
    for (int q = 0; q < nq; q++)
        nb += !linked[q];
    bool sent = store_pipe_begin(self->store), commit_sent = false, committed = false;
    if (sent && nb)
        sent = send_batch(self, conn, ps, unsettled, linked, nq);
    for (int q = 0; sent && q < nq; q++)
        if (linked[q])
            sent = send_one(self, conn, &ps[unsettled[q]]);
    sent = sent && PQsendFlushRequest(conn) == 1 &&
           (commit_sent = PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1) &&
           PQpipelineSync(conn) == 1;
    bool ok = sent, piped = true; /* piped: every statement succeeded */
    uint64_t xid = 0;
    if (sent) {
        xid = store_pipe_xid(self->store, &piped); /* BEGIN, the transaction id */
        PGresult *r;
        if (nb) {
            /* one row per independent entry: its k (1-based, in unsettled order) */
            int map[SUBMIT_MAX], k = 0;
            for (int q = 0; q < nq; q++)
                if (!linked[q])
                    map[k++] = unsettled[q];
            r = store_pipe_next(self->store, &piped);
            if (!r || PQntuples(r) != nb)
                ok = false;
            for (int row = 0; ok && row < PQntuples(r); row++) {
                int ord = atoi(PQgetvalue(r, row, 0));
                if (ord < 1 || ord > nb)
                    ok = false;
                else
                    set_outcome(&ps[map[ord - 1]], r, row, 1);
            }
            PQclear(r);
        }
        for (int q = 0; q < nq; q++) {
            if (!linked[q])
                continue;
            PGresult *res = store_pipe_next(self->store, &piped);
            if (res && PQntuples(res) == 1)
                set_outcome(&ps[unsettled[q]], res, 0, 0);
            else
                ok = false;
            PQclear(res);
        }
        r = store_pipe_next(self->store, &piped); /* COMMIT */
        committed = piped && r && !strcmp(PQcmdStatus(r), "COMMIT");
        ok = ok && committed;
        PQclear(r);
    }
    if (store_pipe_end(self->store, sent, ok))
        return STORE_COMMITTED;
    /* Failed: rolled back, or the link broke; a COMMIT that answered COMMIT
     * holds whatever failed after it (the sync: the link lost just then) */
    log_warn("intake.pipeline_failed", "error",
             LOG_S(!piped ? store_errmsg(self->store) : PQerrorMessage(conn)), NULL);
    batch_ref_t ref = {self, ps, unsettled, nq};
    store_outcome_t truth = committed ? STORE_COMMITTED
                                      : store_outcome(self->store, xid, commit_sent,
                                                      verify_batch, &ref);
    if (truth == STORE_COMMITTED) {
        lookup_committed(self, ps, unsettled, nq, xid);
        return truth;
    }
    unsettle(ps, unsettled, nq); /* nothing of it is known to have happened */
    return truth;
}

static void answer_report(submit_t *self, pending_t *p)
{
    if (p->outcome == 2) {
        proto_error_t e;
        proto_fail(&e, PROTO_CONFLICT, "id",
                   "this request id was already used with a different body");
        self->door.reply_error(self->door.arg, p->in, p->id, &e);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    char buf[48];
    msgpack_pack_map(&pk, 3);
    snprintf(buf, sizeof buf, "report-%lld", p->report_id);
    mp_pack_kv_str(&pk, "report_id", buf);
    snprintf(buf, sizeof buf, "case-%lld", p->case_id);
    mp_pack_kv_str(&pk, "case_id", buf);
    mp_pack_kv_bool(&pk, "duplicate", p->outcome == 1);
    self->door.reply_ok(self->door.arg, p->in, p->id, &sb);
    msgpack_sbuffer_destroy(&sb);
    if (p->outcome == 0)
        log_info("report.accepted", "report_id", LOG_I(p->report_id),
                 "case_id", LOG_I(p->case_id), "members", LOG_I(p->report->n_members),
                 "head", LOG_ID(p->report->members[0].id_number), NULL);
}

/* Tells eligibility that reports were committed (a wake-up; it reads the
 * reports themselves from Postgres). The front door numbers "seq". */
static void publish_committed(submit_t *self, pending_t *ps, int n)
{
    long long last = 0;
    int fresh = 0;
    for (int i = 0; i < n; i++)
        if (ps[i].outcome == REPORT_NEW && ps[i].report_id) {
            fresh++;
            if (ps[i].report_id > last)
                last = ps[i].report_id;
        }
    if (!fresh)
        return;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    bus_committed_body(&sb, 0, fresh, last);
    self->door.publish(self->door.arg, "report.committed", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

void submit_commit(submit_t *self, int n)
{
    pending_t *ps = self->pending;
    lookup_cached(self, ps, n);
    int unsettled = 0;
    for (int i = 0; i < n; i++)
        unsettled += ps[i].outcome == 0;
    store_outcome_t truth = STORE_COMMITTED;
    if (unsettled) {
        /* BEGIN … COMMIT in one pipelined round trip (submit_all) */
        truth = store_ready(self->store) ? submit_all(self, ps, n) : STORE_ABORTED;
        if (truth != STORE_COMMITTED) {
            log_warn("intake.batch_failed", "reports", LOG_I(unsettled), "outcome",
                     LOG_S(truth == STORE_UNKNOWN ? "unknown" : "aborted"), "error",
                     LOG_S(store_errmsg(self->store)), NULL);
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* the door's clock */
    int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    for (int i = 0; i < n; i++) {
        metric_observe_us(self->m_latency, now - ps[i].t_us);
        /* settled: from the cache, or by the committed transaction (its own
         * result, or looked up when the link broke after COMMIT) */
        if (ps[i].outcome != 0 || (truth == STORE_COMMITTED && ps[i].report_id)) {
            if (ps[i].outcome == 0)
                metric_add(self->m_decided, 1);
            answer_report(self, &ps[i]);
        } else {
            proto_error_t e;
            if (truth == STORE_ABORTED)
                proto_fail(&e, PROTO_UNAVAILABLE, NULL,
                           "database unavailable: nothing was accepted, retry with the same id");
            else
                write_outcome_unknown(&e);
            self->door.reply_error(self->door.arg, ps[i].in, ps[i].id, &e);
        }
    }
    if (truth == STORE_COMMITTED && unsettled) {
        metric_add(self->m_batches, 1);
        publish_committed(self, ps, n);
        remember_cached(self, ps, n);
    }
    for (int i = 0; i < n; i++)
        pending_free(&ps[i]);
}
