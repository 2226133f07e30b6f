/* household.h — realistic mixed households for the benchmarks.
 *
 * Household n of a run is a pure function of (seed, n): its size, ages,
 * incomes, dibao/tekun status, disabilities, illnesses, schooling, housing
 * and circumstances are drawn from a small PRNG seeded by both, so a run can
 * be repeated exactly. Every household holds at least one member in need
 * (a report is filed because someone is), so each fans out to at least one
 * department. ID numbers are valid (POLICY.md §0 check character, a real
 * birth date not after as_of) and unique within a run: the area code and
 * sequence digits come from a per-run member counter. */
#ifndef AID_BENCH_HOUSEHOLD_H
#define AID_BENCH_HOUSEHOLD_H

#include <msgpack.h>
#include <stdint.h>

#define HH_AS_OF "2026-11-01"
#define HH_COUNTY "520123"
#define HH_TOWNSHIPS 20          /* 520123101 .. 520123120 */
#define HH_VILLAGES 30           /* per township: <township>001 .. 030 */

typedef struct {
    uint64_t seed;               /* per run */
    int area_base;               /* first 6-digit area code used for ID numbers */
} hh_gen_t;

/* A generator for one run; seed 0 picks one from the clock. */
void hh_gen_init(hh_gen_t *g, uint64_t seed);

/* Packs the report.submit body (a map) of household n. Member ID numbers
 * are unique across n as long as n < 10,000,000. */
void hh_pack(const hh_gen_t *g, uint64_t n, msgpack_packer *pk);

/* The township code ("520123101"..) household n lives in. */
void hh_township(uint64_t n, char out[10]);

#endif
