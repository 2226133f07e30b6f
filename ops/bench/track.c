/* track.c — when is a report complete? The bench's tracker thread.
 *
 * It subscribes to the bus: `referral.<dept>` says a referral was created
 * for a case (eligibility publishes all of a report's referrals right after
 * the transaction that made them), `case.updated` says one was decided.
 * A report is complete by events when every referral seen created has been
 * seen decided; its end time is the arrival of the last of those decisions.
 *
 * Events only wake; the contract decides. Once every report of the range is
 * complete by events, each is confirmed with case.get: it must say
 * `complete`, and every referral it lists must be one whose decision was
 * seen (then the end time is exact). A referral whose decision was never
 * seen makes the end time the moment of confirmation (conservative, counted
 * as "late"); a case.get that is not complete puts the report back to
 * waiting. When no event arrived for a second while reports still wait
 * (events lost, or a report with no referral at all), those are polled with
 * case.get, at most MAX_GETS at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "bench.h"
#include "mp.h"

#define MAX_GETS 32              /* case.get requests in flight */
#define ORPHANS 65536            /* events for cases not yet known to the bench */
#define ORPHAN_TTL_US 10000000LL
#define IDLE_US 1000000LL        /* no event for this long: poll what still waits */
#define POLL_AGAIN_US 3000000LL
#define ASK_TIMEOUT_US 10000000LL /* a case.get unanswered this long is asked again */

typedef struct {
    int64_t case_id, referral_id, t;
    int decided;
} event_t;

typedef struct {
    bench_t *b;
    void *sub, *dealer;
    event_t *orphans;
    int n_orphans;
    int gets;                    /* in flight */
    int trigger_mode;            /* counting touched cases, see bench.h */
    long seq;
    int64_t last_event_us;
} tracker_t;

static int has(const int64_t *a, int n, int64_t v)
{
    for (int i = 0; i < n; i++)
        if (a[i] == v)
            return i;
    return -1;
}

/* The end time when every created referral was seen decided, else 0. */
static int64_t done_by_events(const item_t *it)
{
    if (it->n_created == 0)
        return 0;
    int64_t t = 0;
    for (int i = 0; i < it->n_created; i++) {
        int k = has(it->decided, it->n_decided, it->created[i]);
        if (k < 0)
            return 0;
        if (it->decided_t[k] > t)
            t = it->decided_t[k];
    }
    return t;
}

/* Applies one event; 0 when the case is not (yet) known. */
static int apply(tracker_t *t, const event_t *e)
{
    long idx = bench_case_item(t->b, e->case_id);
    if (idx < 0)
        return 0;
    item_t *it = &t->b->items[idx];
    if (it->confirmed)
        return 1;
    if (!e->decided) {
        if (t->trigger_mode && it->n_created == 0)
            atomic_fetch_add(&t->b->touched, 1);
        if (has(it->created, it->n_created, e->referral_id) < 0 && it->n_created < BENCH_MAX_REFS)
            it->created[it->n_created++] = e->referral_id;
    } else if (has(it->decided, it->n_decided, e->referral_id) < 0 &&
               it->n_decided < BENCH_MAX_REFS) {
        it->decided[it->n_decided] = e->referral_id;
        it->decided_t[it->n_decided++] = e->t;
    }
    int64_t end = done_by_events(it);
    if (t->trigger_mode) { /* done may turn back: a case can get more referrals */
        int was = it->done_how != DONE_NO;
        it->done_how = end ? DONE_EVENTS : DONE_NO;
        it->t_done_us = end;
        if (end && !was)
            atomic_fetch_add(&t->b->touched_done, 1);
        else if (!end && was)
            atomic_fetch_sub(&t->b->touched_done, 1);
        if (end > atomic_load(&t->b->last_done_us))
            atomic_store(&t->b->last_done_us, end);
    } else if (it->done_how == DONE_NO && end) {
        it->t_done_us = end;
        it->done_how = DONE_EVENTS;
    }
    return 1;
}

static void read_events(tracker_t *t)
{
    char topic[64], body[1024];
    for (int i = 0; i < 100000; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, t->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        size_t tl = zmq_msg_size(&m);
        int more = zmq_msg_more(&m);
        if (tl >= sizeof topic)
            tl = sizeof topic - 1;
        memcpy(topic, zmq_msg_data(&m), tl);
        topic[tl] = '\0';
        zmq_msg_close(&m);
        if (!more)
            continue;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, t->sub, 0);
        size_t bl = zmq_msg_size(&m);
        int ok = bl <= sizeof body;
        if (ok)
            memcpy(body, zmq_msg_data(&m), bl);
        while (zmq_msg_more(&m)) { /* never expected: drain */
            zmq_msg_close(&m);
            zmq_msg_init(&m);
            zmq_msg_recv(&m, t->sub, 0);
        }
        zmq_msg_close(&m);
        if (!ok)
            continue;
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        event_t e = {0};
        e.t = bench_now_us();
        e.decided = strcmp(topic, "case.updated") == 0;
        if (mp_unpack(body, bl, &u) == MP_OK && mp_int(mp_get(&u.data, "case_id"), &e.case_id) == 0 &&
            mp_int(mp_get(&u.data, "referral_id"), &e.referral_id) == 0) {
            atomic_fetch_add(&t->b->events, 1);
            t->last_event_us = e.t;
            if (!apply(t, &e)) {
                if (t->n_orphans < ORPHANS)
                    t->orphans[t->n_orphans++] = e;
                else
                    atomic_fetch_add(&t->b->orphans_dropped, 1);
            }
        }
        msgpack_unpacked_destroy(&u);
    }
}

static void retry_orphans(tracker_t *t)
{
    int64_t now = bench_now_us();
    int k = 0;
    for (int i = 0; i < t->n_orphans; i++) {
        if (apply(t, &t->orphans[i]))
            continue;
        if (now - t->orphans[i].t < ORPHAN_TTL_US)
            t->orphans[k++] = t->orphans[i];
        else
            atomic_fetch_add(&t->b->orphans_dropped, 1);
    }
    t->n_orphans = k;
}

static int ask(tracker_t *t, size_t idx)
{
    item_t *it = &t->b->items[idx];
    char id[64], cid[48];
    snprintf(id, sizeof id, "trk-%zu-%ld", idx, ++t->seq);
    snprintf(cid, sizeof cid, "case-%lld", (long long)it->case_id);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    mp_pack_kv_int(&pk, "v", 1);
    mp_pack_kv_str(&pk, "op", "case.get");
    mp_pack_kv_str(&pk, "id", id);
    mp_pack_str(&pk, "body");
    msgpack_pack_map(&pk, 1);
    mp_pack_kv_str(&pk, "case_id", cid);
    int rc = -1;
    if (zmq_send(t->dealer, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0 &&
        zmq_send(t->dealer, sb.data, sb.size, ZMQ_DONTWAIT) == (int)sb.size) {
        it->asking = 1;
        it->t_polled_us = bench_now_us();
        t->gets++;
        atomic_fetch_add(&t->b->gets, 1);
        rc = 0;
    }
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* Applies a case.get answer to its item. */
static void settle(item_t *it, const msgpack_object *res)
{
    const msgpack_object *c = mp_get(res, "complete");
    int complete = c && c->type == MSGPACK_OBJECT_BOOLEAN && c->via.boolean;
    int64_t now = bench_now_us();
    if (!complete) {
        if (it->done_how != DONE_NO) { /* judged too early: wait again */
            it->done_how = DONE_NO;
            it->t_done_us = 0;
        }
        return;
    }
    const msgpack_object *refs = mp_get(res, "referrals");
    int missing = 0;
    int64_t end = 0;
    if (refs && refs->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < refs->via.array.size; i++) {
            char rid[48];
            if (mp_str_copy(mp_get(&refs->via.array.ptr[i], "referral_id"), rid, sizeof rid) != 0)
                continue;
            const char *dash = strrchr(rid, '-');
            int k = has(it->decided, it->n_decided, dash ? atoll(dash + 1) : -1);
            if (k < 0)
                missing++;
            else if (it->decided_t[k] > end)
                end = it->decided_t[k];
        }
    }
    if (!missing && end) {
        if (it->done_how == DONE_NO)
            it->done_how = DONE_POLL;
        it->t_done_us = end;
    } else {
        /* a decision we never saw (or no referral at all): now is an upper bound */
        if (getenv("BENCH_DEBUG")) {
            fprintf(stderr, "late: case %lld created", (long long)it->case_id);
            for (int i = 0; i < it->n_created; i++)
                fprintf(stderr, " %lld", (long long)it->created[i]);
            fprintf(stderr, " decided");
            for (int i = 0; i < it->n_decided; i++)
                fprintf(stderr, " %lld", (long long)it->decided[i]);
            fprintf(stderr, " listed %u\n", refs && refs->type == MSGPACK_OBJECT_ARRAY ? refs->via.array.size : 0);
        }
        it->done_how = DONE_LATE;
        it->t_done_us = now;
    }
    it->confirmed = 1;
}

static void read_answers(tracker_t *t)
{
    char body[1 << 16];
    for (;;) {
        zmq_msg_t m;
        int frames = 0, more = 1, len = -1;
        while (more) {
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, t->dealer, frames ? 0 : ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                if (!frames)
                    return;
                break;
            }
            more = zmq_msg_more(&m);
            if (frames == 1 && zmq_msg_size(&m) <= sizeof body) {
                len = (int)zmq_msg_size(&m);
                memcpy(body, zmq_msg_data(&m), (size_t)len);
            }
            frames++;
            zmq_msg_close(&m);
        }
        if (len < 0)
            continue;
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        char id[64];
        if (mp_unpack(body, (size_t)len, &u) == MP_OK &&
            mp_str_copy(mp_get(&u.data, "id"), id, sizeof id) == 0 && !strncmp(id, "trk-", 4)) {
            size_t idx = strtoul(id + 4, NULL, 10);
            if (idx < t->b->n_items) {
                item_t *it = &t->b->items[idx];
                if (it->asking) {
                    it->asking = 0;
                    t->gets--;
                }
                const msgpack_object *ok = mp_get(&u.data, "ok");
                if (ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean && !it->confirmed)
                    settle(it, mp_get(&u.data, "result"));
            }
        }
        msgpack_unpacked_destroy(&u);
    }
}

/* Every 100 ms: confirm, poll the forgotten, and say when the range is settled. */
static void maintain(tracker_t *t)
{
    bench_t *b = t->b;
    long gen = atomic_load(&b->range_gen);
    size_t lo = atomic_load(&b->range_lo), hi = atomic_load(&b->range_hi);
    int64_t now = bench_now_us();
    size_t waiting = 0, unconfirmed = 0;
    for (size_t i = lo; i < hi; i++) {
        item_t *it = &b->items[i];
        int st = atomic_load(&it->state);
        if (st == ITEM_FAILED || it->confirmed)
            continue;
        if (st == ITEM_ACCEPTED && it->done_how != DONE_NO && atomic_load(&b->no_confirm)) {
            it->confirmed = 1; /* bench-disaster's registration: events are enough */
            continue;
        }
        if (st != ITEM_ACCEPTED || it->done_how == DONE_NO)
            waiting++;
        else
            unconfirmed++;
    }
    if (!waiting)
        atomic_store(&b->ran_gen, gen);
    if (!waiting && !unconfirmed) {
        atomic_store(&b->settled_gen, gen);
        return;
    }
    int idle = now - t->last_event_us > IDLE_US;
    for (size_t i = lo; i < hi && t->gets > 0; i++) {
        item_t *it = &b->items[i];
        if (it->asking && now - it->t_polled_us > ASK_TIMEOUT_US) { /* answer lost: ask again */
            it->asking = 0;
            t->gets--;
        }
    }
    for (size_t i = lo; i < hi && t->gets < MAX_GETS; i++) {
        item_t *it = &b->items[i];
        if (atomic_load(&it->state) != ITEM_ACCEPTED || it->confirmed || it->asking)
            continue;
        if (it->done_how != DONE_NO) {
            if (!waiting) /* confirm only once nothing of the range is still running */
                ask(t, i);
        } else if (idle && now - it->t_ok_us > 2 * IDLE_US &&
                   now - it->t_polled_us > POLL_AGAIN_US) {
            ask(t, i);
        }
    }
}

static void *track_run(void *arg)
{
    tracker_t *t = arg;
    bench_t *b = t->b;
    int64_t next_maint = 0, next_orphans = 0;
    t->last_event_us = bench_now_us();
    while (!atomic_load(&b->stop)) {
        zmq_pollitem_t items[] = {{t->sub, 0, ZMQ_POLLIN, 0}, {t->dealer, 0, ZMQ_POLLIN, 0}};
        zmq_poll(items, 2, 10);
        read_events(t);
        int gets_before = t->gets;
        read_answers(t);
        int64_t now = bench_now_us();
        /* answers came back: ask the next ones now, not at the next tick (32 in
         * flight every 100 ms held the confirmations to 320 a second) */
        if (t->gets < gets_before && !t->trigger_mode)
            next_maint = now;
        if (now >= next_orphans && t->n_orphans) {
            retry_orphans(t);
            next_orphans = now + 20000;
        }
        long req = atomic_load(&b->reset_req);
        if (req != atomic_load(&b->reset_done)) { /* after-trigger mode: forget, count */
            for (size_t i = 0; i < b->n_items; i++) {
                item_t *it = &b->items[i];
                it->n_created = it->n_decided = 0;
                it->done_how = DONE_NO;
                it->t_done_us = 0;
                it->confirmed = 0;
            }
            t->n_orphans = 0;
            t->trigger_mode = 1;
            atomic_store(&b->reset_done, req);
        }
        if (now >= next_maint && !t->trigger_mode) {
            maintain(t);
            next_maint = now + 100000;
        }
    }
    zmq_close(t->sub);
    zmq_close(t->dealer);
    free(t->orphans);
    free(t);
    return NULL;
}

int bench_track_start(bench_t *b, pthread_t *tid)
{
    tracker_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->b = b;
    t->orphans = calloc(ORPHANS, sizeof *t->orphans);
    t->sub = zmq_socket(b->zctx, ZMQ_SUB);
    t->dealer = bench_dealer(b);
    int hwm = 1000000, linger = 0;
    if (!t->orphans || !t->sub || !t->dealer)
        goto fail;
    zmq_setsockopt(t->sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(t->sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(t->sub, ZMQ_SUBSCRIBE, "referral.", 9);
    zmq_setsockopt(t->sub, ZMQ_SUBSCRIBE, "case.updated", 12);
    if (zmq_connect(t->sub, b->bus_sub) != 0) {
        fprintf(stderr, "bench: cannot connect to the bus at %s\n", b->bus_sub);
        goto fail;
    }
    if (pthread_create(tid, NULL, track_run, t) != 0)
        goto fail;
    return 0;
fail:
    if (t->sub)
        zmq_close(t->sub);
    if (t->dealer)
        zmq_close(t->dealer);
    free(t->orphans);
    free(t);
    return -1;
}

void bench_track_range(bench_t *b, size_t lo, size_t hi)
{
    atomic_store(&b->range_lo, lo);
    atomic_store(&b->range_hi, hi);
    atomic_fetch_add(&b->range_gen, 1);
}

static int wait_gen(bench_t *b, _Atomic long *which, double timeout_s)
{
    int64_t end = bench_now_us() + (int64_t)(timeout_s * 1e6);
    long gen = atomic_load(&b->range_gen);
    while (bench_now_us() < end) {
        if (atomic_load(which) == gen)
            return 0;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

int bench_track_wait(bench_t *b, double timeout_s) { return wait_gen(b, &b->settled_gen, timeout_s); }

int bench_track_wait_ran(bench_t *b, double timeout_s) { return wait_gen(b, &b->ran_gen, timeout_s); }

void bench_track_trigger_mode(bench_t *b)
{
    long req = atomic_fetch_add(&b->reset_req, 1) + 1;
    while (atomic_load(&b->reset_done) != req) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
}
