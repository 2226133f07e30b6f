/* triggers — the disaster trigger worker (PROTOCOL.md trigger.submit,
 * POLICY.md R-TRIGGER-DISASTER), and the owner of the trigger operations
 * behind the front door (op_trigger.c, op_trigger_read.c; common/serve.h).
 *
 * trigger.submit commits a disaster and the list of cases it reaches
 * (trigger_targets, migration 004). This worker files, for each target, a
 * report on the household's existing case: its latest report (not one
 * that waits as a possible move, migration 050) with the disaster applied (proto_trigger_apply: urgent, a disaster circumstance,
 * trigger "disaster"), so eligibility routes it to temporary aid and relief
 * and every referral is decided once, as for any report.
 *
 * One step is one chunk of AID_TRIGGER_CHUNK targets (default 256) in one
 * transaction: claim
 * them (FOR UPDATE SKIP LOCKED: any number of workers share a trigger),
 * file their reports, mark them filed, commit, wake eligibility. The
 * chunk's reports are filed through the one filer (report_store.h) with one
 * set-based aid_submit_reports call, as intake files a batch (one
 * aid_submit_report per household made the worker's Postgres backend the
 * largest CPU user of a disaster); reports that share a member's ID number
 * with another of the chunk (two triggers reaching one case) go one by one
 * after it (aid_submit_report), so each joins its case as it would alone. A crash
 * rolls the chunk back and the next step does it again; nothing is filed
 * twice (the chunk commits the reports and the marks together, and each
 * report has its own request id "<trigger request id>#case-<n>").
 *
 * So that other reports keep flowing during a disaster over 100,000
 * households, the worker files a chunk only while eligibility's backlog of
 * unassessed reports is below AID_TRIGGER_BACKLOG (default 5000): a report
 * filed meanwhile waits behind at most that many. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "config.h"
#include "log.h"
#include "mp.h"
#include "pgarr.h"
#include "pii.h"
#include "proto.h"
#include "report_store.h"
#include "serve.h"
#include "svc.h"
#include "trigger.h"
#include "worker.h"

#define TRIGGER_CHUNK 256      /* targets per transaction (AID_TRIGGER_CHUNK) */
#define TRIGGER_CHUNK_MAX 2000

typedef struct {
    int64_t chunk;                  /* AID_TRIGGER_CHUNK */
    int64_t backlog_max;            /* AID_TRIGGER_BACKLOG */
    int64_t seq;                    /* report.committed wake-ups */
    report_t report;
    proto_trigger_t trigger;        /* the decoded trigger of cached_id */
    long long cached_id;
    pgarr_t tids, cids, statuses, rids, notes;
    report_store_t *filer;          /* the report filer's parameters, reused */
    msgpack_sbuffer sb;             /* the report being built (build_one), encoded */
    char key[PROTO_STR_MAX + 48];   /* its request id */
} trig_ctx_t;

static void prepare(store_t *store)
{
    /* two probes of partial indexes, both empty but during a disaster */
    store_prepare(store, "trig_open",
                  "SELECT EXISTS (SELECT 1 FROM trigger_targets WHERE status = 'pending')"
                  "    OR EXISTS (SELECT 1 FROM triggers WHERE done_at IS NULL)");
    store_prepare(store, "trig_backlog",
                  "SELECT count(*) FROM (SELECT 1 FROM report_queue"
                  " LIMIT $1::int) b");
    store_prepare(store, "trig_claim",
                  "SELECT t.trigger_id, t.case_id, g.request_id, g.body"
                  "  FROM trigger_targets t JOIN triggers g USING (trigger_id)"
                  " WHERE t.status = 'pending' ORDER BY t.trigger_id, t.case_id"
                  " LIMIT $1::int FOR UPDATE OF t SKIP LOCKED");
    store_prepare(store, "trig_latest",
                  "SELECT DISTINCT ON (case_id) case_id, body FROM reports"
                  " WHERE case_id = ANY ($1::bigint[]) AND aid_report_settled(report_id)"
                  " ORDER BY case_id, report_id DESC");
    report_store_prepare(store);
    store_prepare(store, "trig_mark",
                  "UPDATE trigger_targets t SET status = u.st, report_id = u.rid, note = u.note"
                  "  FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[])"
                  "       AS u(tid, cid, st, rid, note)"
                  " WHERE t.trigger_id = u.tid AND t.case_id = u.cid");
    store_prepare(store, "trig_progress",
                  "UPDATE triggers g SET reached = g.reached + c.n,"
                  "       done_at = CASE WHEN NOT EXISTS (SELECT 1 FROM trigger_targets t"
                  "                      WHERE t.trigger_id = g.trigger_id AND t.status = 'pending')"
                  "                 THEN now() END"
                  "  FROM (SELECT u.tid, count(*) FILTER (WHERE u.st = 'filed') AS n"
                  "          FROM unnest($1::bigint[], $2::text[]) AS u(tid, st) GROUP BY u.tid) c"
                  " WHERE g.trigger_id = c.tid"
                  " RETURNING g.trigger_id, g.reached, g.cases, g.done_at IS NOT NULL");
    /* a trigger whose last targets another worker finished at the same moment */
    store_prepare(store, "trig_close",
                  "UPDATE triggers g SET done_at = now() WHERE g.done_at IS NULL"
                  "   AND NOT EXISTS (SELECT 1 FROM trigger_targets t"
                  "                    WHERE t.trigger_id = g.trigger_id AND t.status = 'pending')");
}

static pgarr_t *arr(trig_ctx_t *c, int k)
{
    pgarr_t *all[] = {&c->tids, &c->cids, &c->statuses, &c->rids, &c->notes};
    return k < 5 ? all[k] : NULL;
}

/* The trigger of row i of the claim, decoded once per trigger. */
static int load_trigger(trig_ctx_t *c, PGresult *claim, int i)
{
    long long tid = atoll(PQgetvalue(claim, i, 0));
    if (c->cached_id == tid)
        return 0;
    size_t len = 0;
    unsigned char *body = store_sealed(claim, i, 3, PII_AD_TRIGGER, &len);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    schema_err_t se;
    int rc = body && mp_unpack((const char *)body, len, &u) == MP_OK &&
                     proto_trigger_decode(&u.data, date_today(), "", &c->trigger, &se) == 0
                 ? 0
                 : -1;
    msgpack_unpacked_destroy(&u);
    free(body);
    c->cached_id = rc == 0 ? tid : 0;
    return rc;
}

/* The latest report body of case_id among the rows of latest. */
static int find_latest(PGresult *latest, const char *case_id)
{
    for (int k = 0; k < PQntuples(latest); k++)
        if (strcmp(PQgetvalue(latest, k, 0), case_id) == 0)
            return k;
    return -1;
}

/* Builds the report of target i: the case's latest report with the trigger
 * applied, in c->report, encoded in c->sb, its request id in c->key, and
 * its filing in *f. Returns 1 built, 0 skipped (note says why). */
static int build_one(trig_ctx_t *c, PGresult *claim, int i, PGresult *latest,
                     report_filing_t *f, const char **note)
{
    const char *case_id = PQgetvalue(claim, i, 1);
    int k = find_latest(latest, case_id);
    size_t len = 0;
    unsigned char *body = k >= 0 ? store_sealed(latest, k, 1, PII_AD_REPORT, &len) : NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    schema_err_t se;
    proto_error_t pe;
    report_t *r = &c->report;
    int rc = 0;
    msgpack_sbuffer_clear(&c->sb);
    if (load_trigger(c, claim, i) != 0) {
        *note = "the stored trigger could not be read";
        goto out;
    }
    if (!body || mp_unpack((const char *)body, len, &u) != MP_OK ||
        proto_report_decode(&u.data, date_today(), r, &se) != 0) {
        *note = "the case's latest report could not be read";
        goto out;
    }
    /* a report of the system's, as synth files them, with the disaster applied */
    r->as_of = date_today();
    r->urgency = URGENCY_NORMAL;
    r->n_circumstances = 0;
    char wire_id[40];
    snprintf(wire_id, sizeof wire_id, "trigger-%s", PQgetvalue(claim, i, 0));
    proto_trigger_apply(&c->trigger, wire_id, "", r, &pe);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c->sb, msgpack_sbuffer_write);
    proto_report_encode(r, &pk);
    snprintf(c->key, sizeof c->key, "%s#case-%s", PQgetvalue(claim, i, 2), case_id);
    /* the system's own report: its body is also what the key is hashed with */
    *f = (report_filing_t){.request_id = c->key, .report = r, .raw = c->sb.data,
                           .raw_len = c->sb.size, .body = c->sb.data, .body_len = c->sb.size};
    rc = 1;
out:
    msgpack_unpacked_destroy(&u);
    free(body);
    return rc;
}

/* What a filing means for its target: 1 filed (*rid set), 0 skipped (a
 * conflict: *note says why). */
static int outcome(const report_filed_t *filed, long long *rid, const char **note)
{
    if (filed->outcome == REPORT_CONFLICT) {
        *note = "the report's request id was already used for another report";
        return 0;
    }
    *rid = filed->report_id;
    return 1;
}

typedef struct {
    char hash[PII_HASH_HEX];
    int target;
} member_ref_t;

static int member_ref_cmp(const void *a, const void *b)
{
    return strcmp(((const member_ref_t *)a)->hash, ((const member_ref_t *)b)->hash);
}

/* Builds the chunk's n targets into the filer's batch (entry k+1 is
 * target[k]; *nb entries) and marks st[i]: 1 built, 0 skipped (notes[i]
 * says why), 2 built but sharing a member's ID number with another built
 * target (then the batch holds only the others, built again). 0, or -1 (no
 * memory). */
static int build_chunk(trig_ctx_t *c, PGresult *claim, PGresult *latest, int n, int *st,
                       int *target, int *nb, const char **notes)
{
    size_t cap = (size_t)n * REPORT_MAX_MEMBERS, nm = 0;
    member_ref_t *refs = malloc((cap ? cap : 1) * sizeof *refs);
    if (!refs)
        return -1;
    bool linked = false;
    report_filing_t f;
    report_store_batch_begin(c->filer);
    *nb = 0;
    for (int i = 0; i < n; i++) {
        notes[i] = "";
        st[i] = build_one(c, claim, i, latest, &f, &notes[i]);
        if (st[i] != 1)
            continue;
        report_store_batch_add(c->filer, &f);
        target[(*nb)++] = i;
        for (int m = 0; m < c->report.n_members && nm < cap; m++, nm++) {
            pii_hash_hex(c->report.members[m].id_number, refs[nm].hash);
            refs[nm].target = i;
        }
    }
    qsort(refs, nm, sizeof *refs, member_ref_cmp);
    for (size_t k = 1; k < nm; k++)
        if (!strcmp(refs[k].hash, refs[k - 1].hash) && refs[k].target != refs[k - 1].target) {
            st[refs[k].target] = st[refs[k - 1].target] = 2;
            linked = true;
        }
    free(refs);
    if (linked) { /* rare: the batch again without the linked ones */
        report_store_batch_begin(c->filer);
        *nb = 0;
        for (int i = 0; i < n; i++)
            if (st[i] == 1 && build_one(c, claim, i, latest, &f, &notes[i]) == 1) {
                report_store_batch_add(c->filer, &f);
                target[(*nb)++] = i;
            }
    }
    return 0;
}

/* Files the chunk's reports: the independent ones with one aid_submit_reports
 * call, then the linked ones one by one. Sets rid[i] (0: not filed) and
 * notes[i]. 0, or -1 on a store error (the step rolls back). */
static int file_chunk(trig_ctx_t *c, store_t *store, PGresult *claim, PGresult *latest, int n,
                      long long *rid, const char **notes)
{
    int *st = malloc((size_t)n * sizeof *st), *target = malloc((size_t)n * sizeof *target);
    report_filed_t *filed = malloc((size_t)n * sizeof *filed);
    int nb = 0;
    int rc = st && target && filed ? build_chunk(c, claim, latest, n, st, target, &nb, notes) : -1;
    for (int i = 0; i < n; i++)
        rid[i] = 0;
    if (rc == 0 && nb > 0 && report_store_batch_file(c->filer, store, filed, nb) != 0)
        rc = -1;
    for (int k = 0; rc == 0 && k < nb; k++)
        outcome(&filed[k], &rid[target[k]], &notes[target[k]]);
    for (int i = 0; rc == 0 && i < n; i++) {
        report_filing_t f;
        if (st[i] != 2 || build_one(c, claim, i, latest, &f, &notes[i]) != 1)
            continue;
        if (report_store_file(c->filer, store, &f, &filed[0]) != 0)
            rc = -1;
        else
            outcome(&filed[0], &rid[i], &notes[i]);
    }
    free(st);
    free(target);
    free(filed);
    return rc;
}

/* Wakes eligibility: reports were filed. */
static void publish_committed(trig_ctx_t *c, worker_t *w, int filed)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    bus_committed_body(&sb, ++c->seq, filed, -1);
    worker_publish(w, "report.committed", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* 1 when some trigger is still open (a target to file, or its closing to
 * record), 0 when none, -1 on a failure. Every report committed wakes this
 * worker: without a trigger open it costs one read and no transaction. */
static int open_work(store_t *store)
{
    PGresult *r = store_exec(store, "trig_open", 0, NULL);
    if (!r)
        return -1;
    int open = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return open;
}

/* True when eligibility has at least backlog_max reports to assess. */
static int backlogged(trig_ctx_t *c, store_t *store)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)c->backlog_max);
    const char *arg = lim;
    PGresult *r = store_exec(store, "trig_backlog", 1, &arg);
    if (!r)
        return -1;
    int full = atoll(PQgetvalue(r, 0, 0)) >= c->backlog_max;
    PQclear(r);
    return full;
}

static int step(worker_t *w, void *arg)
{
    trig_ctx_t *c = arg;
    store_t *store = worker_store(w);
    int open = open_work(store);
    int full = open > 0 ? backlogged(c, store) : 0;
    if (open < 0 || full < 0) {
        log_warn("triggers.step_failed", "error", LOG_S(store_errmsg(store)), NULL);
        return -1;
    }
    if (!open || full)
        return 0; /* nothing open; or eligibility catches up first, the sweep comes back */
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)c->chunk);
    const char *lv = lim;
    PGresult *claim = NULL, *latest = NULL, *prog = NULL;
    int n = 0, filed = 0;
    if (store_begin(store) != 0)
        goto fail;
    if (!(claim = store_exec(store, "trig_claim", 1, &lv)))
        goto fail;
    n = PQntuples(claim);
    if (n == 0) {
        PGresult *r = store_exec(store, "trig_close", 0, NULL);
        PQclear(r);
        PQclear(claim);
        return store_commit(store) == 0 ? 0 : -1;
    }
    for (int k = 0; arr(c, k); k++)
        pgarr_reset(arr(c, k));
    for (int i = 0; i < n; i++)
        pgarr_add_text(&c->cids, PQgetvalue(claim, i, 1));
    const char *cv = pgarr_str(&c->cids);
    if (!cv || !(latest = store_exec(store, "trig_latest", 1, &cv)))
        goto fail;
    pgarr_reset(&c->cids);
    long long *rids = malloc((size_t)n * sizeof *rids);
    const char **notes = malloc((size_t)n * sizeof *notes);
    if (!rids || !notes || file_chunk(c, store, claim, latest, n, rids, notes) != 0) {
        free(rids);
        free(notes);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        int rc = rids[i] != 0;
        pgarr_add_text(&c->tids, PQgetvalue(claim, i, 0));
        pgarr_add_text(&c->cids, PQgetvalue(claim, i, 1));
        pgarr_add_text(&c->statuses, rc ? "filed" : "skipped");
        if (rc)
            pgarr_add_int(&c->rids, rids[i]);
        else
            pgarr_add_null(&c->rids);
        pgarr_add_text(&c->notes, rc ? "" : notes[i]);
        filed += rc;
        if (!rc)
            log_warn("trigger.target_skipped", "trigger_id", LOG_S(PQgetvalue(claim, i, 0)),
                     "case_id", LOG_S(PQgetvalue(claim, i, 1)), "why", LOG_S(notes[i]), NULL);
    }
    free(rids);
    free(notes);
    const char *mv[5];
    for (int k = 0; k < 5; k++)
        if (!(mv[k] = pgarr_str(arr(c, k))))
            goto fail;
    PGresult *mark = store_exec(store, "trig_mark", 5, mv);
    if (!mark)
        goto fail;
    PQclear(mark);
    const char *pv[2] = {mv[0], mv[2]};
    if (!(prog = store_exec(store, "trig_progress", 2, pv)) || store_commit(store) != 0)
        goto fail;
    publish_committed(c, w, filed);
    for (int k = 0; k < PQntuples(prog); k++)
        log_info(PQgetvalue(prog, k, 3)[0] == 't' ? "trigger.done" : "trigger.progress",
                 "trigger_id", LOG_S(PQgetvalue(prog, k, 0)), "reached",
                 LOG_S(PQgetvalue(prog, k, 1)), "cases", LOG_S(PQgetvalue(prog, k, 2)), NULL);
    PQclear(claim);
    PQclear(latest);
    PQclear(prog);
    return n;
fail:
    log_warn("triggers.step_failed", "error", LOG_S(store_errmsg(store)), NULL);
    PQclear(claim);
    PQclear(latest);
    PQclear(prog);
    store_rollback(store);
    return -1;
}

int main(void)
{
    svc_init("triggers");
    svc_require_pii();
    trig_ctx_t *c = calloc(1, sizeof *c);
    if (!c || !(c->filer = report_store_new())) {
        free(c);
        return 1;
    }
    c->chunk = config_int("AID_TRIGGER_CHUNK", TRIGGER_CHUNK, 1, TRIGGER_CHUNK_MAX);
    c->backlog_max = config_int("AID_TRIGGER_BACKLOG", 5000, 1, 10000000);
    c->seq = svc_wall_us();
    for (int k = 0; arr(c, k); k++)
        pgarr_init(arr(c, k));
    msgpack_sbuffer_init(&c->sb);
    worker_config_t cfg = {.name = "triggers", .topic = "report.committed", .batch = (int)c->chunk,
                           .step = step, .arg = c, .prepare = prepare};
    /* trigger.submit, trigger.batch, triggers.list, trigger.get (op_trigger*.c),
     * forwarded by intake, on a thread of their own with their own connections */
    pthread_t owner;
    bool serving = serve_start("triggers", &owner) == 0;
    int rc = worker_run(&cfg);
    if (serving)
        serve_stop(owner);
    for (int k = 0; arr(c, k); k++)
        pgarr_free(arr(c, k));
    report_store_destroy(&c->filer);
    msgpack_sbuffer_destroy(&c->sb);
    free(c);
    return rc;
}
