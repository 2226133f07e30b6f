/* op_visits.c — `visits.due` and `visit.record` (POLICY.md §12, proto/CARE.md).
 *
 * Postgres is the truth: the plans come from aid_visit_plans (migration
 * 010), the visits from the visits table. Redis keeps each township's due
 * schedule as a sorted set (score = due date as YYYYMMDD, member = the
 * masked display row) next to the version of the schedule it was built
 * from; a read compares that version with Postgres' (one primary-key
 * lookup) and answers from Redis when they match, else rebuilds from
 * Postgres. The version is bumped in the transaction of every change a
 * schedule depends on (visit_schedule_versions), and read before the
 * schedule, so a copy is never taken for newer than it is. With Redis down
 * every read is answered from Postgres. Redis only ever holds masked IDs
 * and names.
 *
 * A visit that finds a critical living situation or suspected epidemic
 * symptoms files a report on the household's case through the normal
 * pipeline (synth.h): urgent with an `other` circumstance for critical,
 * an `epidemic` circumstance from a visit for symptoms, which medical
 * answers with a referral to the designated institution (R-VISIT-SYMPTOM). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care.h"
#include "idcard.h"
#include "mp.h"
#include "pii.h"
#include "opctx.h"
#include "write.h"
#include "synth.h"

#define KEY_DUE "visits:due:"
#define KEY_MARK "visits:mark:"
#define CACHE_TTL "86400"   /* seconds: townships nobody asks for fade away */
#define ZADD_CHUNK 256      /* members per ZADD in a rebuild */
#define MEMBER_MAX (PROTO_STR_MAX + 80) /* bytes of one member, NUL included */

/* One planned visit as shown: masked, never the ID number. */
typedef struct {
    aid_date_t due;
    char every[8];
    char village[13];
    char id_masked[20];
    char name_masked[PROTO_STR_MAX + 1];
} due_row_t;

typedef struct {
    due_row_t *rows;
    size_t n, cap;
} due_list_t;

static void prepare(store_t *store)
{
    synth_prepare(store);
    store_prepare(store, "care_visit_plans",
                  "SELECT village, id_enc, name, every, to_char(due_on, 'YYYYMMDD')"
                  "  FROM aid_visit_plans($1, NULL, aid_china_date(now()), 'infinity')");
    /* the version of the township's schedule (migration 010): bumped in
     * the transaction of every assessment and visit it depends on */
    store_prepare(store, "care_visit_mark",
                  "SELECT coalesce((SELECT version FROM visit_schedule_versions"
                  "                  WHERE township = $1), 0)");
    store_prepare(store, "care_visit_record",
                  "SELECT visit_id, coalesce(every, 'none'),"
                  "       coalesce(to_char(next_due_on, 'YYYY-MM-DD'), '')"
                  "  FROM aid_record_visit($1, $2, $3::bigint, $4::date, $5, $6, $7, $8, $9, $10,"
                  "                        $11::boolean, $12::bigint)");
}

/* ---- the due list ----------------------------------------------------------- */

static due_row_t *list_push(due_list_t *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        due_row_t *rows = realloc(l->rows, cap * sizeof *rows);
        if (!rows)
            return NULL;
        l->rows = rows;
        l->cap = cap;
    }
    due_row_t *row = &l->rows[l->n++];
    memset(row, 0, sizeof *row);
    return row;
}

/* Due date, then village, ID mask and name: the same order whichever store
 * answered. */
static int row_cmp(const void *a, const void *b)
{
    const due_row_t *x = a, *y = b;
    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    int c = strcmp(x->village, y->village);
    if (c == 0)
        c = strcmp(x->id_masked, y->id_masked);
    return c ? c : strcmp(x->name_masked, y->name_masked);
}

/* The Redis member of a row: "village|id_masked|every|n|name_masked". n
 * keeps members unique (two persons could share mask and name); the name
 * goes last so that any text can follow the fixed fields. */
static int member_format(const due_row_t *r, size_t n, char *out, size_t outsz)
{
    return snprintf(out, outsz, "%s|%s|%s|%zu|%s", r->village, r->id_masked, r->every, n,
                    r->name_masked);
}

static int member_parse(const char *s, size_t len, aid_date_t due, due_row_t *r)
{
    char buf[MEMBER_MAX];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *fields[5];
    char *p = buf;
    for (int i = 0; i < 4; i++) {
        char *bar = strchr(p, '|');
        if (!bar)
            return -1;
        *bar = '\0';
        fields[i] = p;
        p = bar + 1;
    }
    fields[4] = p;
    if (strlen(fields[0]) >= sizeof r->village || strlen(fields[1]) >= sizeof r->id_masked ||
        strlen(fields[2]) >= sizeof r->every || strlen(fields[4]) >= sizeof r->name_masked)
        return -1;
    r->due = due;
    snprintf(r->village, sizeof r->village, "%s", fields[0]);
    snprintf(r->id_masked, sizeof r->id_masked, "%s", fields[1]);
    snprintf(r->every, sizeof r->every, "%s", fields[2]);
    snprintf(r->name_masked, sizeof r->name_masked, "%s", fields[4]);
    return 0;
}

/* ---- Redis: the fast path ----------------------------------------------------- */

/* Answers from Redis when its version equals mark: 1 with l filled (only
 * rows due before `before`), 0 when missing or stale, -1 when Redis failed. */
static int cache_fetch(cache_t *cache, const char *township, const char *mark,
                       aid_date_t before, due_list_t *l)
{
    if (!cache_ready(cache))
        return -1;
    redisReply *r = cache_cmd(cache, "GET " KEY_MARK "%s", township);
    if (!r)
        return -1;
    int fresh = r->type == REDIS_REPLY_STRING && strcmp(r->str, mark) == 0;
    freeReplyObject(r);
    if (!fresh)
        return 0;
    r = cache_cmd(cache, "ZRANGEBYSCORE " KEY_DUE "%s -inf (%d WITHSCORES", township, (int)before);
    if (!r)
        return -1;
    int rc = r->type == REDIS_REPLY_ARRAY && r->elements % 2 == 0 ? 1 : -1;
    for (size_t i = 0; rc == 1 && i + 1 < r->elements; i += 2) {
        const redisReply *m = r->element[i], *s = r->element[i + 1];
        due_row_t *row = list_push(l);
        if (!row || m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING ||
            member_parse(m->str, m->len, (aid_date_t)atol(s->str), row) != 0)
            rc = -1;
    }
    freeReplyObject(r);
    if (rc < 0)
        l->n = 0; /* a malformed entry: fall back to Postgres */
    return rc;
}

/* Replaces the township's schedule with all rows of l, atomically
 * (MULTI … EXEC), with the version they were read under. Best effort:
 * a failure leaves Redis stale-marked or empty, never wrong. */
static void cache_store(cache_t *cache, const char *township, const char *mark,
                        const due_list_t *l)
{
    if (!cache_ready(cache))
        return;
    char key[48], mkey[48];
    snprintf(key, sizeof key, KEY_DUE "%s", township);
    snprintf(mkey, sizeof mkey, KEY_MARK "%s", township);
    size_t chunks = (l->n + ZADD_CHUNK - 1) / ZADD_CHUNK;
    size_t ncmd = chunks + 5;
    int *argcs = calloc(ncmd, sizeof *argcs);
    const char *const **argvs = calloc(ncmd, sizeof *argvs);
    const size_t **lens = calloc(ncmd, sizeof *lens); /* NULL: strlen */
    const char **slots = calloc(2 * chunks + 2 * l->n + 1, sizeof *slots);
    char *text = malloc(l->n * (MEMBER_MAX + 12) + 1);  /* scores and members */
    if (!argcs || !argvs || !lens || !slots || !text)
        goto out;
    static const char *const multi[] = {"MULTI"}, *const exec[] = {"EXEC"};
    const char *const del[] = {"DEL", key};
    const char *const expire[] = {"EXPIRE", key, CACHE_TTL};
    const char *const set[] = {"SET", mkey, mark, "EX", CACHE_TTL};
    int c = 0;
    argcs[c] = 1, argvs[c++] = multi;
    argcs[c] = 2, argvs[c++] = del;
    const char **slot = slots;
    char *t = text;
    for (size_t first = 0; first < l->n; first += ZADD_CHUNK) {
        size_t last = first + ZADD_CHUNK < l->n ? first + ZADD_CHUNK : l->n;
        argcs[c] = (int)(2 + 2 * (last - first));
        argvs[c++] = slot;
        *slot++ = "ZADD";
        *slot++ = key;
        for (size_t i = first; i < last; i++) {
            int n = snprintf(t, 12, "%d", (int)l->rows[i].due);
            *slot++ = t;
            t += n + 1;
            n = member_format(&l->rows[i], i, t, MEMBER_MAX);
            *slot++ = t;
            t += (n < MEMBER_MAX ? n : MEMBER_MAX - 1) + 1;
        }
    }
    argcs[c] = 3, argvs[c++] = expire;
    argcs[c] = 5, argvs[c++] = set;
    argcs[c] = 1, argvs[c++] = exec;
    cache_pipeline(cache, c, argcs, (const char *const *const *)argvs, lens);
out:
    free(argcs);
    free(argvs);
    free(lens);
    free(slots);
    free(text);
}

/* ---- Postgres: the truth --------------------------------------------------------- */

/* Every plan of the township from Postgres, masked. 0, or -1 (unavailable). */
static int plans_load(store_t *store, const char *township, due_list_t *l)
{
    PGresult *r = store_exec(store, "care_visit_plans", 1, &township);
    if (!r)
        return -1;
    int n = PQntuples(r), rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        due_row_t *row = list_push(l);
        if (!row) {
            rc = -1;
            break;
        }
        char id[19];
        store_pii_id(r, i, 1, id); /* "" when it does not open: masked as such */
        snprintf(row->village, sizeof row->village, "%s", PQgetvalue(r, i, 0));
        idcard_mask(id, strlen(id), row->id_masked, sizeof row->id_masked);
        name_mask(PQgetvalue(r, i, 2), row->name_masked, sizeof row->name_masked);
        snprintf(row->every, sizeof row->every, "%s", PQgetvalue(r, i, 3));
        row->due = (aid_date_t)atol(PQgetvalue(r, i, 4));
    }
    PQclear(r);
    return rc;
}

static int read_mark(store_t *store, const char *township, char *out, size_t outsz)
{
    PGresult *r = store_exec(store, "care_visit_mark", 1, &township);
    if (!r)
        return -1;
    snprintf(out, outsz, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

static void pack_due(msgpack_packer *pk, const care_visits_due_t *q, const due_list_t *l,
                     aid_date_t today)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->rows[i].due < q->before;
    char d[11];
    msgpack_pack_map(pk, 3);
    mp_pack_kv_str(pk, "township", q->township);
    date_format(q->before, d);
    mp_pack_kv_str(pk, "before", d);
    mp_pack_str(pk, "visits");
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < l->n; i++) {
        const due_row_t *r = &l->rows[i];
        if (r->due >= q->before)
            continue;
        date_format(r->due, d);
        msgpack_pack_map(pk, 6);
        mp_pack_kv_str(pk, "id_masked", r->id_masked);
        mp_pack_kv_str(pk, "name_masked", r->name_masked);
        mp_pack_kv_str(pk, "village", r->village);
        mp_pack_kv_str(pk, "every", r->every);
        mp_pack_kv_str(pk, "due_on", d);
        mp_pack_kv_bool(pk, "overdue", r->due < today);
    }
}

static int handle_due(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                      proto_error_t *err)
{
    aid_date_t today = date_today();
    care_visits_due_t q;
    schema_err_t se;
    if (care_visits_due_decode(req->body, today, &q, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    store_t *store = ctx->store;
    cache_t *cache = ctx->cache;
    char mark[128];
    if (!store_ready(store) || read_mark(store, q.township, mark, sizeof mark) != 0)
        return write_unavailable(err);
    due_list_t l = {0};
    if (cache_fetch(cache, q.township, mark, q.before, &l) != 1) {
        l.n = 0;
        if (plans_load(store, q.township, &l) != 0) {
            free(l.rows);
            return write_unavailable(err);
        }
        cache_store(cache, q.township, mark, &l);
    }
    if (l.n)
        qsort(l.rows, l.n, sizeof *l.rows, row_cmp);
    pack_due(pk, &q, &l, today);
    free(l.rows);
    /* R-AUDIT: who read the township's visit list (masked; about no one case) */
    char action[64];
    snprintf(action, sizeof action, "visits.due %s", q.township);
    return opctx_audit_read(ctx, action, "{NULL}", req->id) != 0 ? write_unavailable(err) : 0;
}

/* ---- visit.record ------------------------------------------------------------------ */

static void add_circumstance(report_t *r, int kind, const care_visit_t *v, const char *note)
{
    circumstance_t *c = &r->circumstances[r->n_circumstances++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->occurred_on = v->visited_on;
    snprintf(c->id_number, sizeof c->id_number, "%s", v->id_number);
    snprintf(c->note, sizeof c->note, "%s", note);
}

/* The household as last reported, seen on a visit today (synth resets the
 * circumstances, so two always fit). */
static int visit_modify(report_t *r, void *arg, proto_error_t *err)
{
    (void)err;
    const care_visit_t *v = arg;
    r->source = SOURCE_VISIT;
    r->trigger[0] = '\0'; /* a visit is no trigger, whatever filed the last report */
    snprintf(r->reporter, sizeof r->reporter, "%s", v->visitor);
    if (v->living == LIVING_CRITICAL) {
        r->urgency = URGENCY_URGENT;
        add_circumstance(r, CIRC_OTHER, v, "critical living situation found on a care visit");
    }
    if (v->symptoms)
        add_circumstance(r, CIRC_EPIDEMIC, v,
                         "suspected epidemic symptoms found on a care visit (R-VISIT-SYMPTOM)");
    return 0;
}

static int handle_record(opctx_t *ctx, const proto_request_t *req, msgpack_packer *pk,
                         proto_error_t *err)
{
    care_visit_t v;
    schema_err_t se;
    if (care_visit_decode(req->body, date_today(), &v, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    long long case_id, report_id = 0;
    if (synth_case_of_person(ctx, v.id_number, "id_number", &case_id, err) != 0)
        return -1;
    if (v.living == LIVING_CRITICAL || v.symptoms) {
        char rid[PROTO_STR_MAX + 16];
        snprintf(rid, sizeof rid, "%s#visit", req->id);
        if (synth_file_report(ctx, case_id, rid, visit_modify, &v, &report_id, err) != 0)
            return -1;
    }
    char cid[24], rep[24], on[11];
    snprintf(cid, sizeof cid, "%lld", case_id);
    snprintf(rep, sizeof rep, "%lld", report_id);
    date_format(v.visited_on, on);
    char hash[PII_HASH_HEX];
    pii_hash_hex(v.id_number, hash);
    const char *vals[12] = {req->id,
                            hash,
                            cid,
                            on,
                            v.visitor,
                            care_method_names[v.method],
                            care_living_names[v.living],
                            v.health,
                            v.care,
                            v.needs,
                            v.symptoms ? "true" : "false",
                            report_id ? rep : NULL};
    PGresult *r = store_exec(ctx->store, "care_visit_record", 12, vals);
    if (!r)
        return write_unavailable(err);
    char buf[48];
    const char *next = PQgetvalue(r, 0, 2);
    msgpack_pack_map(pk, report_id ? 4 : 3);
    snprintf(buf, sizeof buf, "visit-%s", PQgetvalue(r, 0, 0));
    mp_pack_kv_str(pk, "visit_id", buf);
    mp_pack_kv_str(pk, "every", PQgetvalue(r, 0, 1));
    mp_pack_str(pk, "next_due_on");
    if (*next)
        mp_pack_str(pk, next);
    else
        msgpack_pack_nil(pk);
    if (report_id) {
        snprintf(buf, sizeof buf, "report-%lld", report_id);
        mp_pack_kv_str(pk, "report_id", buf);
    }
    PQclear(r);
    return 0;
}

OP_HANDLER(visits_due_op, {"visits.due", prepare, handle_due})
OP_HANDLER(visit_record_op, {"visit.record", NULL, handle_record})
