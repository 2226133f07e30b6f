/* submit.c — the benchmark's clients: report.submit over DEALER sockets.
 *
 * Each client thread owns one DEALER (connected to every intake endpoint;
 * ZeroMQ spreads the requests round-robin) and keeps up to `window`
 * requests in flight. A request answered `unavailable` or `rate_limited`,
 * or not answered within RESEND_US, is sent again with the same id: the
 * contract makes that safe (a retry of a committed report answers
 * duplicate). Anything else that is not ok is a benchmark failure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "bench.h"
#include "mp.h"

#define RESEND_US 30000000LL     /* silence before a resend */
#define RETRY_US 200000LL        /* pause before retrying `unavailable` */
#define MAX_RETRIES 4096

typedef struct {
    bench_t *b;
    size_t first, hi, step;      /* items first, first+step, ... < hi */
    int window;
    double rate;                 /* per thread, reports/s; 0 = as fast as possible */
    int64_t t0;
} job_t;

typedef struct {
    size_t idx;
    int64_t due;
} retry_t;

int64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void bench_note_error(bench_t *b, const char *msg)
{
    pthread_mutex_lock(&b->err_lock);
    if (!b->errors++)
        snprintf(b->first_error, sizeof b->first_error, "%s", msg);
    pthread_mutex_unlock(&b->err_lock);
}

void *bench_dealer(bench_t *b)
{
    void *s = zmq_socket(b->zctx, ZMQ_DEALER);
    if (!s)
        return NULL;
    int linger = 0, hwm = 100000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    /* No ZMQ_IMMEDIATE: with it libzmq 4.3 can abort while reading a long
     * backlog of replies when an intake disconnects (the pipe ended between
     * the two frames of a reply, fq.cpp "!_more"); every intake is up here. */
    char list[4096];
    snprintf(list, sizeof list, "%s", b->endpoints);
    char *save = NULL;
    for (char *ep = strtok_r(list, ",", &save); ep; ep = strtok_r(NULL, ",", &save)) {
        while (*ep == ' ')
            ep++;
        if (*ep && zmq_connect(s, ep) != 0) {
            fprintf(stderr, "bench: cannot connect to %s: %s\n", ep, zmq_strerror(errno));
            zmq_close(s);
            return NULL;
        }
    }
    return s;
}

void bench_map_case(bench_t *b, int64_t case_id, size_t idx)
{
    int64_t base = atomic_load(&b->case_base);
    if (base < 0) {
        int64_t want = case_id > 100000 ? case_id - 100000 : 0;
        if (!atomic_compare_exchange_strong(&b->case_base, &base, want))
            base = atomic_load(&b->case_base);
        else
            base = want;
    }
    int64_t off = case_id - base;
    if (off >= 0 && off < b->case_cap)
        atomic_store(&b->case_map[off], (int32_t)(idx + 1));
}

long bench_case_item(bench_t *b, int64_t case_id)
{
    int64_t base = atomic_load(&b->case_base), off = case_id - base;
    if (base < 0 || off < 0 || off >= b->case_cap)
        return -1;
    return (long)atomic_load(&b->case_map[off]) - 1;
}

static int send_item(job_t *j, void *sock, msgpack_sbuffer *sb, size_t idx, int64_t due)
{
    bench_t *b = j->b;
    char id[64];
    snprintf(id, sizeof id, "%s-%zu", b->salt, idx);
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    mp_pack_kv_int(&pk, "v", 1);
    mp_pack_kv_str(&pk, "op", "report.submit");
    mp_pack_kv_str(&pk, "id", id);
    mp_pack_str(&pk, "body");
    hh_pack(&b->gen, idx, &pk);
    if (zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) != 0)
        return -1;
    if (zmq_send(sock, sb->data, sb->size, ZMQ_DONTWAIT) != (int)sb->size)
        return -1; /* not reached in practice: the empty frame went, so does this */
    item_t *it = &b->items[idx];
    int64_t now = bench_now_us();
    if (atomic_load(&it->state) == ITEM_NEW) {
        it->t_send_us = now;
        it->t_sched_us = due ? due : now;
        atomic_store(&it->state, ITEM_SENT);
    }
    it->t_last_send_us = now;
    return 0;
}

/* Reads one reply. Returns the item index it settles and sets *outcome:
 * 1 accepted, 0 failed, 2 retry later; -1 when it settles nothing. */
static long read_reply(job_t *j, void *sock, int *outcome)
{
    bench_t *b = j->b;
    zmq_msg_t m;
    char body[8192];
    int len = -1, frames = 0, more = 1;
    while (more) {
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, frames ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return frames ? -1 : -2;
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
        return -1;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    long idx = -1;
    if (mp_unpack(body, (size_t)len, &u) != MP_OK)
        goto out;
    char id[64];
    if (mp_str_copy(mp_get(&u.data, "id"), id, sizeof id) != 0)
        goto out;
    const char *dash = strrchr(id, '-');
    if (!dash || strncmp(id, b->salt, strlen(b->salt)) != 0)
        goto out;
    idx = strtol(dash + 1, NULL, 10);
    if (idx < 0 || (size_t)idx >= b->n_items)
        goto out_bad;
    const msgpack_object *ok = mp_get(&u.data, "ok");
    if (ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean) {
        char cid[48];
        const msgpack_object *res = mp_get(&u.data, "result");
        if (mp_str_copy(mp_get(res, "case_id"), cid, sizeof cid) != 0 || strncmp(cid, "case-", 5))
            goto out_bad;
        b->items[idx].case_id = atoll(cid + 5);
        *outcome = 1;
        goto out;
    }
    char code[64] = "?", msg[160] = "", field[96] = "";
    const msgpack_object *err = mp_get(&u.data, "error");
    mp_str_copy(mp_get(err, "code"), code, sizeof code);
    mp_str_copy(mp_get(err, "message"), msg, sizeof msg);
    mp_str_copy(mp_get(err, "field"), field, sizeof field);
    if (!strcmp(code, "unavailable") || !strcmp(code, "rate_limited")) {
        *outcome = 2;
        goto out;
    }
    char line[256];
    snprintf(line, sizeof line, "report %ld refused: %s %s %s", idx, code, field, msg);
    bench_note_error(b, line);
    *outcome = 0;
    goto out;
out_bad:
    idx = -1;
out:
    msgpack_unpacked_destroy(&u);
    return idx;
}

static void *client_run(void *arg)
{
    job_t *j = arg;
    bench_t *b = j->b;
    void *sock = bench_dealer(b);
    if (!sock) {
        bench_note_error(b, "cannot open a DEALER socket");
        return NULL;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    retry_t *retries = calloc(MAX_RETRIES, sizeof *retries);
    int nretry = 0, inflight = 0;
    size_t next = j->first, remaining = 0, sent_fresh = 0;
    for (size_t i = j->first; i < j->hi; i += j->step)
        remaining++;
    int64_t step_us = j->rate > 0 ? (int64_t)(1e6 / j->rate) : 0;
    int64_t next_scan = bench_now_us() + 1000000;
    while (remaining > 0 && retries && !atomic_load(&b->stop)) {
        int64_t now = bench_now_us();
        for (int k = 0; k < nretry && inflight < j->window; k++) {
            if (retries[k].due > now)
                continue;
            if (send_item(j, sock, &sb, retries[k].idx, 0) != 0)
                break;
            inflight++;
            retries[k--] = retries[--nretry];
        }
        long wait_ms = 50;
        /* paced (open loop): the schedule alone says when to send */
        while ((step_us || inflight < j->window) && next < j->hi) {
            int64_t due = 0;
            if (step_us) {
                due = j->t0 + (int64_t)sent_fresh * step_us;
                if (due > now) {
                    wait_ms = (long)((due - now + 999) / 1000);
                    break;
                }
            }
            if (send_item(j, sock, &sb, next, due) != 0)
                break;
            next += j->step;
            sent_fresh++;
            inflight++;
        }
        if (now >= next_scan) { /* silent requests: send again, same id */
            next_scan = now + 1000000;
            for (size_t i = j->first; i < next; i += j->step) {
                item_t *it = &b->items[i];
                if (atomic_load(&it->state) == ITEM_SENT && now - it->t_last_send_us > RESEND_US)
                    send_item(j, sock, &sb, i, 0);
            }
        }
        zmq_pollitem_t pi = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&pi, 1, wait_ms) <= 0)
            continue;
        for (;;) {
            int outcome = -1;
            long idx = read_reply(j, sock, &outcome);
            if (idx == -2)
                break;
            if (idx < 0)
                continue;
            item_t *it = &b->items[idx];
            if (atomic_load(&it->state) != ITEM_SENT)
                continue; /* a late second answer */
            inflight--;
            if (outcome == 1) {
                it->t_ok_us = bench_now_us();
                bench_map_case(b, it->case_id, (size_t)idx);
                atomic_store(&it->state, ITEM_ACCEPTED);
                remaining--;
            } else if (outcome == 2 && nretry < MAX_RETRIES) {
                retries[nretry++] = (retry_t){(size_t)idx, bench_now_us() + RETRY_US};
            } else {
                atomic_store(&it->state, ITEM_FAILED);
                remaining--;
            }
        }
    }
    free(retries);
    msgpack_sbuffer_destroy(&sb);
    zmq_close(sock);
    return NULL;
}

void bench_submit(bench_t *b, size_t lo, size_t hi, int clients, int window, double rate)
{
    if (clients < 1)
        clients = 1;
    if ((size_t)clients > hi - lo)
        clients = (int)(hi - lo) ? (int)(hi - lo) : 1;
    pthread_t *tids = calloc((size_t)clients, sizeof *tids);
    job_t *jobs = calloc((size_t)clients, sizeof *jobs);
    if (!tids || !jobs) {
        free(tids);
        free(jobs);
        bench_note_error(b, "out of memory");
        return;
    }
    int64_t t0 = bench_now_us();
    int started = 0;
    for (int c = 0; c < clients; c++) {
        jobs[c] = (job_t){b, lo + (size_t)c, hi, (size_t)clients, window,
                          rate > 0 ? rate / clients : 0,
                          t0 + (rate > 0 ? (int64_t)(c * 1e6 / rate) : 0)};
        if (pthread_create(&tids[c], NULL, client_run, &jobs[c]) != 0)
            break;
        started++;
    }
    for (int c = 0; c < started; c++)
        pthread_join(tids[c], NULL);
    if (started < clients)
        bench_note_error(b, "could not start every client thread");
    free(tids);
    free(jobs);
}

/* Counts the endpoints of a comma-separated list. */
static int count_endpoints(const char *list)
{
    int n = 0, in = 0;
    for (const char *p = list; *p; p++) {
        if (*p == ',')
            in = 0;
        else if (*p != ' ' && !in) {
            in = 1;
            n++;
        }
    }
    return n;
}

int bench_init(bench_t *b, size_t n, uint64_t seed)
{
    memset(b, 0, sizeof *b);
    b->endpoints = getenv("AID_INTAKE_API");
    b->bus_sub = getenv("AID_BUS_SUB");
    if (!b->endpoints || !*b->endpoints || !b->bus_sub || !*b->bus_sub) {
        fprintf(stderr, "bench: AID_INTAKE_API and AID_BUS_SUB must be set "
                        "(eval \"$(ops/stack.sh env)\")\n");
        return -1;
    }
    b->n_endpoints = count_endpoints(b->endpoints);
    hh_gen_init(&b->gen, seed);
    snprintf(b->salt, sizeof b->salt, "bench%08llx", (unsigned long long)(b->gen.seed & 0xffffffffu));
    b->items = calloc(n, sizeof *b->items);
    b->n_items = n;
    b->case_cap = (int64_t)n * 4 + 200000;
    b->case_map = calloc((size_t)b->case_cap, sizeof *b->case_map);
    atomic_store(&b->case_base, -1);
    pthread_mutex_init(&b->err_lock, NULL);
    b->zctx = zmq_ctx_new();
    if (!b->items || !b->case_map || !b->zctx) {
        fprintf(stderr, "bench: out of memory\n");
        return -1;
    }
    return 0;
}

void bench_fini(bench_t *b)
{
    if (b->zctx)
        zmq_ctx_term(b->zctx);
    free(b->items);
    free((void *)b->case_map);
    pthread_mutex_destroy(&b->err_lock);
    memset(b, 0, sizeof *b);
}
