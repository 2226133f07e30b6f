/* baseline.c — the raw-database yardstick of `make bench`.
 *
 * THREADS threads (default 8), each with its own libpq connection, insert one
 * row at a time into a table shaped like `reports` (a bytea body of BYTES
 * bytes plus the same small columns), every INSERT its own transaction and
 * its own durable COMMIT (autocommit; synchronous_commit as the server has
 * it). Runs for SECONDS after a short warm-up and prints
 *
 *   baseline: threads=8 seconds=5.00 inserts=N inserts_per_s=R bytes=B synchronous_commit=on
 *
 * Usage: bench-baseline [--dsn DSN] [--threads N] [--seconds S] [--bytes B]
 * (DSN default $AID_PG_DSN). The table bench_baseline is dropped and
 * re-created on every run; nothing else in the database is touched. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 64
#define WARMUP_MS 500

typedef struct {
    const char *dsn;
    int bytes;
    int index;
    atomic_int *phase;            /* 0 warm-up, 1 measuring, 2 stop */
    long long inserts;            /* counted while measuring */
    int failed;
    char err[256];
} job_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int exec_ok(PGconn *c, const char *sql, char *err, size_t errsz)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errsz, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

static void *run(void *arg)
{
    job_t *j = arg;
    PGconn *c = PQconnectdb(j->dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(j->err, sizeof j->err, "%s", PQerrorMessage(c));
        j->failed = 1;
        PQfinish(c);
        return NULL;
    }
    PGresult *p = PQprepare(c, "ins",
                            "INSERT INTO bench_baseline (case_id, request_id, source, as_of,"
                            " township, village, urgent, body)"
                            " VALUES ($1, $2, 'visit', '2026-11-01', '520123101', '520123101001',"
                            " false, $3)",
                            0, NULL);
    if (PQresultStatus(p) != PGRES_COMMAND_OK) {
        snprintf(j->err, sizeof j->err, "%s", PQresultErrorMessage(p));
        j->failed = 1;
        PQclear(p);
        PQfinish(c);
        return NULL;
    }
    PQclear(p);
    char *body = malloc((size_t)j->bytes);
    if (!body) {
        j->failed = 1;
        PQfinish(c);
        return NULL;
    }
    for (int i = 0; i < j->bytes; i++)
        body[i] = (char)(i * 31 + j->index);
    for (long long n = 0; atomic_load(j->phase) < 2; n++) {
        char cid[32], rid[64];
        snprintf(cid, sizeof cid, "%lld", n);
        snprintf(rid, sizeof rid, "baseline-%d-%lld", j->index, n);
        const char *vals[3] = {cid, rid, body};
        int lens[3] = {0, 0, j->bytes}, fmts[3] = {0, 0, 1};
        PGresult *r = PQexecPrepared(c, "ins", 3, vals, lens, fmts, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(j->err, sizeof j->err, "%s", PQresultErrorMessage(r));
            j->failed = 1;
            PQclear(r);
            break;
        }
        PQclear(r);
        if (atomic_load(j->phase) == 1)
            j->inserts++;
    }
    free(body);
    PQfinish(c);
    return NULL;
}

static int arg_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *dsn = getenv("AID_PG_DSN");
    int threads = 8, bytes = 600;
    double seconds = 5.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = !v;
        if (!bad && strcmp(a, "--dsn") == 0)
            dsn = v;
        else if (!bad && strcmp(a, "--threads") == 0)
            bad = arg_int(v, 1, MAX_THREADS, &threads) != 0;
        else if (!bad && strcmp(a, "--bytes") == 0)
            bad = arg_int(v, 1, 1 << 20, &bytes) != 0;
        else if (!bad && strcmp(a, "--seconds") == 0)
            bad = (seconds = atof(v)) <= 0 || seconds > 3600;
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "usage: bench-baseline [--dsn DSN] [--threads N] [--seconds S]"
                            " [--bytes B]\n");
            return 2;
        }
        i++;
    }
    if (!dsn) {
        fprintf(stderr, "bench-baseline: no --dsn and no AID_PG_DSN\n");
        return 2;
    }
    char err[256] = "";
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench-baseline: %s", PQerrorMessage(c));
        PQfinish(c);
        return 3;
    }
    /* the same columns as reports; logged (durable) like every real table */
    if (exec_ok(c, "SET client_min_messages = warning; DROP TABLE IF EXISTS bench_baseline", err,
                sizeof err) != 0 ||
        exec_ok(c,
                "CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, case_id bigint NOT NULL,"
                " request_id text NOT NULL UNIQUE, source text NOT NULL, as_of date NOT NULL,"
                " township char(9) NOT NULL, village char(12) NOT NULL, urgent boolean NOT NULL,"
                " body bytea NOT NULL, received_at timestamptz NOT NULL DEFAULT now())",
                err, sizeof err) != 0) {
        fprintf(stderr, "bench-baseline: %s", err);
        PQfinish(c);
        return 3;
    }
    PGresult *sc = PQexec(c, "SHOW synchronous_commit");
    char sync[16] = "?";
    if (PQresultStatus(sc) == PGRES_TUPLES_OK && PQntuples(sc) == 1)
        snprintf(sync, sizeof sync, "%s", PQgetvalue(sc, 0, 0));
    PQclear(sc);

    atomic_int phase = 0;
    job_t jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job_t){.dsn = dsn, .bytes = bytes, .index = i, .phase = &phase};
        if (pthread_create(&tids[i], NULL, run, &jobs[i]) != 0) {
            fprintf(stderr, "bench-baseline: cannot start thread %d\n", i);
            return 3;
        }
    }
    struct timespec warm = {0, WARMUP_MS * 1000000L};
    nanosleep(&warm, NULL);
    int64_t t0 = now_ms();
    atomic_store(&phase, 1);
    int64_t end = t0 + (int64_t)(seconds * 1000);
    while (now_ms() < end) {
        struct timespec tick = {0, 10 * 1000000L};
        nanosleep(&tick, NULL);
    }
    atomic_store(&phase, 2);
    int64_t t1 = now_ms();
    long long total = 0;
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tids[i], NULL);
        total += jobs[i].inserts;
        if (jobs[i].failed) {
            failed = 1;
            fprintf(stderr, "bench-baseline: thread %d: %s", i, jobs[i].err);
        }
    }
    exec_ok(c, "DROP TABLE IF EXISTS bench_baseline", err, sizeof err);
    PQfinish(c);
    double secs = (double)(t1 - t0) / 1000.0;
    printf("baseline: threads=%d seconds=%.2f inserts=%lld inserts_per_s=%.0f bytes=%d"
           " synchronous_commit=%s\n",
           threads, secs, total, total / secs, bytes, sync);
    return failed ? 3 : 0;
}
