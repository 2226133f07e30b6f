/* disaster.c — `make bench-disaster`: one disaster trigger over 100,000
 * households, timed until every referral it caused is decided.
 *
 *   1. registers BENCH_DISASTER_N households (default 100,000) with
 *      report.submit through the contract, as `make bench` does, and waits
 *      until the bus has shown every one decided, so the trigger meets a
 *      quiet system;
 *   2. sends one trigger.submit {kind: disaster, areas: every township the
 *      households live in}; its answer says how many cases it reaches;
 *   3. counts, from the bus, the cases that get new referrals and those whose
 *      new referrals are all decided; done when that is every case reached
 *      (or, when the trigger reports no number, when nothing moved for
 *      IDLE_S seconds), then confirms a sample of them with case.get
 *      (`complete`).
 *
 * Prints the times and a last line
 *   bench-disaster: households=N cases=K trigger_ms=… decided_s=… referrals_per_s=…
 * Exit 0 on success, 1 on failure, 2 when the intake does not serve
 * trigger.submit (unknown_op). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "bench.h"
#include "mp.h"

#define IDLE_S 15
#define CONFIRM_MAX 500          /* cases confirmed with case.get after the run */

static long env_long(const char *name, long def, long lo, long hi)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    long v = strtol(s, &end, 10);
    return *end || v < lo || v > hi ? def : v;
}

/* One request, one reply on a fresh DEALER; the raw reply in *rep (caller
 * destroys). 0, or -1 on silence. */
static int call(bench_t *b, const msgpack_sbuffer *req, int timeout_ms, msgpack_unpacked *rep,
                char *buf, size_t bufsz)
{
    void *s = bench_dealer(b);
    if (!s)
        return -1;
    int rc = -1;
    if (zmq_send(s, "", 0, ZMQ_SNDMORE) == 0 && zmq_send(s, req->data, req->size, 0) >= 0) {
        zmq_pollitem_t pi = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&pi, 1, timeout_ms) > 0) {
            char empty[8];
            zmq_recv(s, empty, sizeof empty, 0);
            int n = zmq_recv(s, buf, bufsz, 0);
            if (n > 0 && (size_t)n <= bufsz && mp_unpack(buf, (size_t)n, rep) == MP_OK)
                rc = 0;
        }
    }
    zmq_close(s);
    return rc;
}

static void pack_case_get(msgpack_sbuffer *sb, size_t i, int64_t case_id)
{
    char id[48], cid[48];
    snprintf(id, sizeof id, "dis-get-%zu", i);
    snprintf(cid, sizeof cid, "case-%lld", (long long)case_id);
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    mp_pack_kv_int(&pk, "v", 1);
    mp_pack_kv_str(&pk, "op", "case.get");
    mp_pack_kv_str(&pk, "id", id);
    mp_pack_str(&pk, "body");
    msgpack_pack_map(&pk, 1);
    mp_pack_kv_str(&pk, "case_id", cid);
}

int main(void)
{
    long n = env_long("BENCH_DISASTER_N", 100000, 10, 5000000);
    int clients = (int)env_long("BENCH_CLIENTS", 8, 1, 256);
    int window = (int)env_long("BENCH_WINDOW", 64, 1, 10000);
    double timeout_s = (double)env_long("BENCH_TIMEOUT_S", 1800, 10, 86400);
    bench_t b;
    if (bench_init(&b, (size_t)n, (uint64_t)env_long("BENCH_SEED", 0, 0, 0x7fffffff)) != 0)
        return 1;
    pthread_t tracker;
    if (bench_track_start(&b, &tracker) != 0)
        return 1;
    int rc = 1;
    char *buf = malloc(1 << 20);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (!buf)
        goto out;

    printf("bench-disaster: registering %ld households (%d clients x %d in flight)\n", n, clients,
           window);
    fflush(stdout);
    atomic_store(&b.no_confirm, 1); /* 100,000 case.gets would only slow the set-up */
    bench_track_range(&b, 0, (size_t)n);
    int64_t t0 = bench_now_us();
    bench_submit(&b, 0, (size_t)n, clients, window, 0);
    int64_t t_acc = bench_now_us();
    if (bench_track_wait(&b, timeout_s) != 0 || b.errors) {
        fprintf(stderr, "bench-disaster: registration did not complete (%ld errors; %s)\n",
                b.errors, b.first_error);
        goto out;
    }
    int64_t t_reg = bench_now_us();
    printf("  registered: %ld accepted in %.1f s (%.0f/s), all decided after %.1f s (%.0f/s)\n", n,
           (t_acc - t0) / 1e6, n / ((t_acc - t0) / 1e6), (t_reg - t0) / 1e6,
           n / ((t_reg - t0) / 1e6));

    /* the trigger, over every township in use */
    bench_track_trigger_mode(&b);
    char id[64];
    snprintf(id, sizeof id, "%s-disaster", b.salt);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    mp_pack_kv_int(&pk, "v", 1);
    mp_pack_kv_str(&pk, "op", "trigger.submit");
    mp_pack_kv_str(&pk, "id", id);
    mp_pack_str(&pk, "body");
    msgpack_pack_map(&pk, 4);
    mp_pack_kv_str(&pk, "kind", "disaster");
    mp_pack_str(&pk, "areas");
    int towns = n < HH_TOWNSHIPS ? (int)n : HH_TOWNSHIPS;
    msgpack_pack_array(&pk, (size_t)towns);
    for (int k = 0; k < towns; k++) {
        char t[10];
        hh_township((uint64_t)k, t);
        mp_pack_str(&pk, t);
    }
    mp_pack_kv_str(&pk, "hazard", "flood");
    mp_pack_kv_str(&pk, "occurred_on", "2026-10-30");
    msgpack_unpacked rep;
    msgpack_unpacked_init(&rep);
    int64_t t_trig = bench_now_us();
    if (call(&b, &sb, 600000, &rep, buf, 1 << 20) != 0) {
        fprintf(stderr, "bench-disaster: no answer to trigger.submit within 600 s\n");
        msgpack_unpacked_destroy(&rep);
        goto out;
    }
    int64_t t_ans = bench_now_us();
    const msgpack_object *ok = mp_get(&rep.data, "ok");
    if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN || !ok->via.boolean) {
        char code[64] = "?", msg[256] = "";
        const msgpack_object *e = mp_get(&rep.data, "error");
        mp_str_copy(mp_get(e, "code"), code, sizeof code);
        mp_str_copy(mp_get(e, "message"), msg, sizeof msg);
        fprintf(stderr, "bench-disaster: trigger.submit refused: %s %s\n", code, msg);
        msgpack_unpacked_destroy(&rep);
        rc = strcmp(code, "unknown_op") == 0 ? 2 : 1;
        goto out;
    }
    int64_t cases = -1;
    mp_int(mp_get(mp_get(&rep.data, "result"), "cases"), &cases);
    msgpack_unpacked_destroy(&rep);
    printf("  trigger.submit answered in %.0f ms: it reaches %lld cases\n", (t_ans - t_trig) / 1e3,
           (long long)cases);
    fflush(stdout);

    /* wait: every case reached has new referrals, all decided */
    int64_t last_move = bench_now_us(), end = t_trig + (int64_t)(timeout_s * 1e6);
    long last_seen = -1;
    for (;;) {
        long touched = atomic_load(&b.touched), done = atomic_load(&b.touched_done);
        int64_t now = bench_now_us();
        if (touched + done != last_seen) {
            last_seen = touched + done;
            last_move = now;
        }
        if (cases >= 0 && done >= cases && touched == done)
            break;
        if ((cases < 0 || cases == 0) && now - last_move > IDLE_S * 1000000LL && touched == done)
            break;
        if (now > end) {
            fprintf(stderr, "bench-disaster: after %.0f s, %ld of %lld cases decided (%ld touched)\n",
                    timeout_s, done, (long long)cases, touched);
            goto out;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* stop the tracker, then read what it saw and confirm with case.get */
    atomic_store(&b.stop, 1);
    pthread_join(tracker, NULL);
    long refs = 0, confirmed = 0, incomplete = 0, touched = 0;
    int64_t t_last = atomic_load(&b.last_done_us);
    for (size_t i = 0; i < b.n_items; i++)
        if (b.items[i].n_created) {
            refs += b.items[i].n_created;
            touched++;
        }
    /* confirm a sample of at most CONFIRM_MAX cases with case.get */
    long every = touched / CONFIRM_MAX + 1, k = 0;
    for (size_t i = 0; i < b.n_items; i++) {
        item_t *it = &b.items[i];
        if (!it->n_created || k++ % every)
            continue;
        pack_case_get(&sb, i, it->case_id);
        msgpack_unpacked_init(&rep);
        if (call(&b, &sb, 10000, &rep, buf, 1 << 20) == 0) {
            const msgpack_object *c = mp_get(mp_get(&rep.data, "result"), "complete");
            if (c && c->type == MSGPACK_OBJECT_BOOLEAN && c->via.boolean)
                confirmed++;
            else
                incomplete++;
        } else {
            incomplete++;
        }
        msgpack_unpacked_destroy(&rep);
    }
    double secs = (t_last - t_trig) / 1e6;
    printf("  every referral of the trigger decided %.1f s after it was sent: %ld cases, %ld"
           " referrals (%.0f referrals/s); case.get on a sample: %ld complete, %ld not\n",
           secs, touched, refs, refs / (secs > 0 ? secs : 1), confirmed, incomplete);
    printf("bench-disaster: households=%ld cases=%lld trigger_ms=%.0f decided_s=%.1f"
           " referrals_per_s=%.0f\n",
           n, (long long)cases, (t_ans - t_trig) / 1e3, secs, refs / (secs > 0 ? secs : 1));
    rc = incomplete ? 1 : 0;
    free(buf);
    msgpack_sbuffer_destroy(&sb);
    bench_fini(&b);
    return rc;
out:
    atomic_store(&b.stop, 1);
    pthread_join(tracker, NULL);
    free(buf);
    msgpack_sbuffer_destroy(&sb);
    bench_fini(&b);
    return rc;
}
