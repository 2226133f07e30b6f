/* import.c — `make bench-import`: a department's comparison file of
 * BENCH_IMPORT_ROWS rows (default 1,000,000) through `aidctl import`, a
 * verdict per row, timed.
 *
 *   1. registers BENCH_IMPORT_HOUSEHOLDS households (default 2,000) with
 *      report.submit through the contract, as `make bench` does;
 *   2. writes $AID_VAR/import/medical.csv (source medical: id_number,
 *      expense_fen, months): every BENCH_IMPORT_EVERY-th row (default 100)
 *      names the head of a registered household, the others people the
 *      county has never registered (valid ID numbers from area codes the
 *      registered never use) — most of a hospital's list is not in need;
 *   3. runs `bin/aidctl import --source medical` on it and times it; every
 *      row must have its verdict (the verdict file has one line per row).
 *
 * Last line
 *   bench-import: rows=… seconds=… rows_per_s=… accepted=… matched=… rejected=…
 * Exit 0 when every row got a verdict, 1 otherwise. Needs the stack's
 * environment (AID_INTAKE_API, AID_BUS_SUB, AID_VAR); run from the
 * repository's root (bench.sh does). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "mp.h"

static long env_long(const char *name, long def, long lo, long hi)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    long v = strtol(s, &end, 10);
    return *end || v < lo || v > hi ? def : v;
}

/* The ID number of household n's first member (its head). */
static int head_id(const hh_gen_t *g, uint64_t n, char out[19])
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    hh_pack(g, n, &pk);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = -1;
    if (mp_unpack(sb.data, sb.size, &u) == MP_OK) {
        const msgpack_object *m = mp_get(mp_get(&u.data, "household"), "members");
        if (m && m->type == MSGPACK_OBJECT_ARRAY && m->via.array.size > 0)
            rc = mp_str_copy(mp_get(&m->via.array.ptr[0], "id_number"), out, 19);
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* A valid ID number nobody registered: area codes 600000.. (the generator's
 * start below 510,000 and use a few hundred from there). */
static void stranger_id(uint64_t i, char out[19])
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    snprintf(out, 19, "%06d%04d%02d%02d%03d", 600000 + (int)(i / 1000 % 300000),
             1940 + (int)(i % 60), 1 + (int)(i % 10), 1 + (int)(i % 28), (int)(i % 1000));
    int sum = 0;
    for (int k = 0; k < 17; k++)
        sum += (out[k] - '0') * w[k];
    out[17] = check[sum % 11];
    out[18] = '\0';
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

int main(void)
{
    long rows = env_long("BENCH_IMPORT_ROWS", 1000000, 1, 100000000);
    long households = env_long("BENCH_IMPORT_HOUSEHOLDS", 2000, 1, 1000000);
    long every = env_long("BENCH_IMPORT_EVERY", 100, 1, 1000000);
    uint64_t seed = (uint64_t)env_long("BENCH_SEED", 0, 0, 0x7fffffff);
    const char *var = getenv("AID_VAR") ? getenv("AID_VAR") : "var";

    bench_t b;
    if (bench_init(&b, (size_t)households, seed) != 0)
        return 1;
    printf("bench-import: registering %ld households\n", households);
    fflush(stdout);
    int64_t t0 = bench_now_us();
    bench_submit(&b, 0, (size_t)households, 8, 64, 0);
    for (long i = 0; i < households; i++)
        if (atomic_load(&b.items[i].state) != ITEM_ACCEPTED) {
            fprintf(stderr, "bench-import: household %ld was not accepted (%s)\n", i,
                    b.first_error);
            bench_fini(&b);
            return 1;
        }
    printf("bench-import: registered in %.1f s\n", (bench_now_us() - t0) / 1e6);

    char dir[1024], csv[1100], out[1100];
    snprintf(dir, sizeof dir, "%s/import", var);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench-import: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(csv, sizeof csv, "%s/medical.csv", dir);
    snprintf(out, sizeof out, "%s/medical.verdicts.csv", dir);
    FILE *f = fopen(csv, "w");
    if (!f) {
        fprintf(stderr, "bench-import: %s: %s\n", csv, strerror(errno));
        return 1;
    }
    fputs("id_number,expense_fen,months\n", f);
    long known = 0;
    for (long i = 0; i < rows; i++) {
        char id[19];
        if (i % every == 0 && head_id(&b.gen, (uint64_t)(i / every % households), id) == 0)
            known++;
        else
            stranger_id((uint64_t)i, id);
        fprintf(f, "%s,%ld,%ld\n", id, 50000 + (i % 7) * 100000, 1 + i % 12);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "bench-import: %s: cannot write\n", csv);
        return 1;
    }
    bench_fini(&b);
    if (known == 0 && rows > every) {
        fprintf(stderr, "bench-import: no row names a registered person (the generator's"
                        " households have no members?)\n");
        return 1;
    }
    printf("bench-import: %s: %ld rows, %ld naming a registered person\n", csv, rows, known);
    fflush(stdout);

    char cmd[4096];
    snprintf(cmd, sizeof cmd, "bin/aidctl import --source medical '%s' --out '%s'", csv, out);
    t0 = bench_now_us();
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "bench-import: cannot run %s\n", cmd);
        return 1;
    }
    char line[2048];
    long done = -1, acc = 0, mat = 0, rej = 0;
    while (fgets(line, sizeof line, p)) {
        fputs(line, stdout);
        sscanf(line, "import medical: %ld rows: %ld accepted, %ld matched, %ld rejected", &done,
               &acc, &mat, &rej);
    }
    int status = pclose(p);
    double secs = (bench_now_us() - t0) / 1e6;
    long verdicts = count_lines(out) - 1; /* the header */
    if (status != 0 || done != rows || verdicts != rows) {
        fprintf(stderr, "bench-import: aidctl import ended with %d: %ld of %ld rows answered,"
                        " %ld verdict lines\n", status, done, rows, verdicts);
        return 1;
    }
    printf("bench-import: rows=%ld seconds=%.1f rows_per_s=%.0f accepted=%ld matched=%ld"
           " rejected=%ld\n", rows, secs, rows / secs, acc, mat, rej);
    return 0;
}
