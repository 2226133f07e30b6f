/* bench.c — `make bench`: how many reports per second the whole pipeline
 * takes in and fully decides, and how long one takes at half that rate.
 *
 *   1. warm-up: 200 reports (not measured);
 *   2. maximum rate, BENCH_RUNS times (default 3): BENCH_N reports each
 *      (default 10,000) from BENCH_CLIENTS client threads (default 8), each
 *      with BENCH_WINDOW requests in flight (default 64); reports_per_s
 *      counts `ok` answers, decided_per_s reports whose every referral is
 *      decided (see track.c); the result is the median run;
 *   3. latency: reports sent open-loop at half the median decided rate (or
 *      BENCH_LAT_RATE reports/s) for
 *      BENCH_LAT_SECONDS (default 8): each is due at a fixed time whatever
 *      the answers; p50/p99 count from the actual send, p99_half from the
 *      due time (a stall of the pipeline or of the sender is not hidden).
 *
 * BENCH_HOOK, when set, is run as `$BENCH_HOOK start` before the first
 * maximum-rate run and `$BENCH_HOOK end` after the last (bench.sh takes
 * its per-stage counters there), and around each maximum-rate run as
 * `$BENCH_HOOK open` before its first send and `$BENCH_HOOK close` once
 * its every report is decided by the events, before the confirmations
 * (CPU time and statements are counted inside these windows only: the
 * confirmations' case.get calls are the bench's own reading, not work of
 * the pipeline).
 *
 * Needs the stack's environment (AID_INTAKE_API — one endpoint or a comma-
 * separated list —, AID_BUS_SUB, AID_VAR for the RSS table). Prints a
 * readable table and last a line
 *   bench-result: reports_per_s=… decided_per_s=… p50_ms=… p99_ms=…
 *                 p99_half_ms=… rss_max_mb=… runs=… measured=… busy_s=…
 * (measured: the reports of the maximum-rate runs; busy_s: their seconds
 * from the first send to the last decision, summed)
 * that ops/bench/bench.sh completes with the baseline. Exit 0 when every
 * report was accepted and completed, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define WARMUP 200

static long env_long(const char *name, long def, long lo, long hi)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi) {
        fprintf(stderr, "bench: %s=%s is not in %ld..%ld; using %ld\n", name, s, lo, hi, def);
        return def;
    }
    return v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct {
    size_t accepted, failed, by_events, by_poll, late;
    int64_t last_ok, last_done;
} tally_t;

static tally_t tally(const bench_t *b, size_t lo, size_t hi)
{
    tally_t t = {0};
    for (size_t i = lo; i < hi; i++) {
        const item_t *it = &b->items[i];
        if (atomic_load(&it->state) != ITEM_ACCEPTED) {
            t.failed++;
            continue;
        }
        t.accepted++;
        if (it->t_ok_us > t.last_ok)
            t.last_ok = it->t_ok_us;
        if (it->t_done_us > t.last_done)
            t.last_done = it->t_done_us;
        t.by_events += it->done_how == DONE_EVENTS;
        t.by_poll += it->done_how == DONE_POLL;
        t.late += it->done_how == DONE_LATE;
    }
    return t;
}

static void hook(const char *what);

/* Runs one phase; 0 when every report was accepted and completed. A measured
 * phase runs inside the hook's window (open … close). */
static int phase(bench_t *b, const char *what, size_t lo, size_t hi, int clients, int window,
                 double rate, double timeout_s, int64_t *t0, int measured)
{
    bench_track_range(b, lo, hi);
    if (measured)
        hook("open");
    *t0 = bench_now_us();
    bench_submit(b, lo, hi, clients, window, rate);
    int ran = 0;
    if (measured) {
        ran = bench_track_wait_ran(b, timeout_s);
        hook("close");
    }
    /* not decided within the timeout: the same verdict, without waiting it again */
    if (ran != 0 || bench_track_wait(b, timeout_s) != 0) {
        tally_t t = tally(b, lo, hi);
        fprintf(stderr, "bench: %s: not every report completed within %.0f s (%zu accepted,"
                        " %zu not; %ld events seen)\n",
                what, timeout_s, t.accepted, t.failed, atomic_load(&b->events));
        return -1;
    }
    tally_t t = tally(b, lo, hi);
    if (t.failed) {
        fprintf(stderr, "bench: %s: %zu reports were not accepted (%ld errors; first: %s)\n", what,
                t.failed, b->errors, b->first_error);
        return -1;
    }
    return 0;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double s[16];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_dbl);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void hook(const char *what)
{
    const char *h = getenv("BENCH_HOOK");
    if (!h || !*h)
        return;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s %s", h, what);
    fflush(stdout);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: %s failed\n", cmd);
}

/* Percentile p of the sorted v[0..m). */
static double pct(const int64_t *v, size_t m, double p)
{
    return v[(size_t)((double)(m - 1) * p / 100.0 + 0.5)] / 1000.0;
}

int main(void)
{
    long n = env_long("BENCH_N", 10000, 100, 5000000);
    int runs = (int)env_long("BENCH_RUNS", 3, 1, 9);
    int clients = (int)env_long("BENCH_CLIENTS", 8, 1, 256);
    int window = (int)env_long("BENCH_WINDOW", 64, 1, 10000);
    long lat_seconds = env_long("BENCH_LAT_SECONDS", 8, 1, 600);
    double timeout_s = (double)env_long("BENCH_TIMEOUT_S", 900, 10, 86400);
    uint64_t seed = (uint64_t)env_long("BENCH_SEED", 0, 0, 0x7fffffff);
    size_t lat_max = (size_t)n > 200 ? (size_t)n : 200;
    size_t total = WARMUP + (size_t)runs * (size_t)n + lat_max;

    bench_t b;
    if (bench_init(&b, total, seed) != 0)
        return 1;
    char run_dir[1024];
    snprintf(run_dir, sizeof run_dir, "%s/run", getenv("AID_VAR") ? getenv("AID_VAR") : "var");
    printf("bench: %d runs of %ld reports at the maximum rate, %d clients x %d in flight, %d"
           " intake endpoint%s (%s)\n",
           runs, n, clients, window, b.n_endpoints, b.n_endpoints == 1 ? "" : "s", b.endpoints);
    fflush(stdout);
    pthread_t tracker;
    if (bench_track_start(&b, &tracker) != 0)
        return 1;
    int rc = 1;
    int64_t t0;
    rss_t *rss = NULL;
    if (phase(&b, "warm-up", 0, WARMUP, clients, 8, 0, timeout_s, &t0, 0) != 0)
        goto out;
    rss = rss_start(run_dir);

    double acc_rate[16], dec_rate[16], acc_secs[16], dec_secs[16];
    hook("start");
    size_t lo = WARMUP;
    for (int r = 0; r < runs; r++, lo += (size_t)n) {
        if (phase(&b, "maximum rate", lo, lo + (size_t)n, clients, window, 0, timeout_s, &t0,
                  1) != 0)
            goto out_rss;
        tally_t t1 = tally(&b, lo, lo + (size_t)n);
        acc_secs[r] = (t1.last_ok - t0) / 1e6;
        dec_secs[r] = (t1.last_done - t0) / 1e6;
        acc_rate[r] = n / acc_secs[r];
        dec_rate[r] = n / dec_secs[r];
        printf("bench: run %d: %ld accepted in %.2f s (%.0f/s), fully decided in %.2f s (%.0f/s)\n",
               r + 1, n, acc_secs[r], acc_rate[r], dec_secs[r], dec_rate[r]);
        fflush(stdout);
    }
    hook("end");
    double busy_s = 0; /* submit to last decision, summed over the runs */
    for (int r = 0; r < runs; r++)
        busy_s += dec_secs[r];
    double reports_per_s = median(acc_rate, runs), decided_per_s = median(dec_rate, runs);

    double rate = decided_per_s / 2;
    long fixed_rate = env_long("BENCH_LAT_RATE", 0, 0, 1000000); /* reports/s, 0: half */
    if (fixed_rate > 0)
        rate = (double)fixed_rate;
    size_t m = (size_t)(rate * (double)lat_seconds);
    if (m < 200)
        m = 200;
    if (m > lat_max)
        m = lat_max;
    size_t lo2 = lo, hi2 = lo + m;
    if (phase(&b, "latency", lo2, hi2, clients, window, rate, timeout_s, &t0, 0) != 0)
        goto out_rss;
    tally_t t2 = tally(&b, lo2, hi2);
    int64_t *lat = malloc(m * sizeof *lat), *cor = malloc(m * sizeof *cor);
    if (!lat || !cor) {
        free(lat);
        free(cor);
        goto out_rss;
    }
    for (size_t i = 0; i < m; i++) {
        const item_t *it = &b.items[lo2 + i];
        lat[i] = it->t_done_us - it->t_send_us;
        cor[i] = it->t_done_us - it->t_sched_us;
    }
    qsort(lat, m, sizeof *lat, cmp_i64);
    qsort(cor, m, sizeof *cor, cmp_i64);
    double p50 = pct(lat, m, 50), p90 = pct(lat, m, 90), p99 = pct(lat, m, 99);
    double pmax = lat[m - 1] / 1000.0;
    double c50 = pct(cor, m, 50), c90 = pct(cor, m, 90), c99 = pct(cor, m, 99);
    double cmax = cor[m - 1] / 1000.0;
    double sent_s = (t2.last_ok - t0) / 1e6;

    printf("\n  %-34s %9s %9s %10s\n", "phase", "reports", "seconds", "per second");
    for (int r = 0; r < runs; r++) {
        char what[64];
        snprintf(what, sizeof what, "run %d accepted (maximum rate)", r + 1);
        printf("  %-34s %9ld %9.2f %10.0f\n", what, n, acc_secs[r], acc_rate[r]);
        snprintf(what, sizeof what, "run %d fully decided", r + 1);
        printf("  %-34s %9ld %9.2f %10.0f\n", what, n, dec_secs[r], dec_rate[r]);
    }
    printf("  %-34s %9s %9s %10.0f\n", "median accepted", "", "", reports_per_s);
    printf("  %-34s %9s %9s %10.0f\n", "median fully decided", "", "", decided_per_s);
    printf("  %-34s %9zu %9.2f %10.0f\n", "latency phase (half rate, open loop)", m, sent_s,
           m / sent_s);
    printf("\n  submit -> complete at %.0f reports/s, open loop:\n"
           "    from the send:         p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n"
           "    from the due time:     p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms"
           " (p99_half_ms)\n",
           rate, p50, p90, p99, pmax, c50, c90, c99, cmax);
    printf("  completion seen by bus events and confirmed by case.get: %zu; by polling: %zu;"
           " conservative (a decision event missed): %zu\n",
           t2.by_events, t2.by_poll, t2.late);
    printf("  bus events read %ld, case.get calls %ld, events for unknown cases dropped %ld\n\n",
           atomic_load(&b.events), atomic_load(&b.gets), atomic_load(&b.orphans_dropped));
    free(lat);
    free(cor);
    double rss_max = rss_stop_print(&rss);
    printf("bench-result: reports_per_s=%.0f decided_per_s=%.0f p50_ms=%.1f p99_ms=%.1f"
           " p99_half_ms=%.1f rss_max_mb=%.1f runs=%d measured=%ld busy_s=%.2f\n",
           reports_per_s, decided_per_s, p50, p99, c99, rss_max, runs, runs * n, busy_s);
    rc = 0;
out_rss:
    if (rss)
        rss_stop_print(&rss);
out:
    fflush(stdout);
    atomic_store(&b.stop, 1);
    pthread_join(tracker, NULL);
    bench_fini(&b);
    return rc;
}
