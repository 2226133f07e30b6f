/* bench.h — what the benchmark programs share: the items (one report each),
 * the submitters (submit.c), the completion tracker (track.c) and the
 * process RSS sampler (rss.c).
 *
 * Everything goes through the public contract: reports are sent with
 * report.submit over DEALER sockets connected to every intake endpoint of
 * AID_INTAKE_API (a comma-separated list when intake runs replicated); a
 * report counts as complete when the bus has shown each of its referrals
 * created (referral.<dept>) and decided (case.updated), and case.get then
 * confirms `complete` and that the referrals it lists are exactly those.
 * Times are CLOCK_MONOTONIC microseconds. */
#ifndef AID_BENCH_H
#define AID_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "household.h"

#define BENCH_MAX_REFS 16        /* referrals per report (9 departments at most) */

enum { ITEM_NEW, ITEM_SENT, ITEM_ACCEPTED, ITEM_FAILED };
enum { DONE_NO, DONE_EVENTS, DONE_POLL, DONE_LATE };

typedef struct {
    _Atomic int state;           /* ITEM_*; ACCEPTED published after the fields below */
    int64_t t_send_us;           /* first send */
    int64_t t_sched_us;          /* when the schedule said to send it (paced runs; else
                                    the first send): latency counts from here */
    int64_t t_ok_us;             /* ok received */
    int64_t case_id;
    int64_t t_last_send_us;      /* submitter only: for resends */
    /* tracker only, read by main once the range is settled */
    int n_created, n_decided;
    int64_t created[BENCH_MAX_REFS];
    int64_t decided[BENCH_MAX_REFS];
    int64_t decided_t[BENCH_MAX_REFS];
    int64_t t_done_us;           /* submit→complete end point; 0 until done */
    int done_how;                /* DONE_* */
    int confirmed;               /* case.get agreed */
    int asking;                  /* a case.get is in flight */
    int64_t t_polled_us;
} item_t;

typedef struct {
    hh_gen_t gen;
    char salt[24];               /* request ids: <salt>-<index> */
    const char *endpoints;       /* comma-separated intake endpoints */
    const char *bus_sub;
    int n_endpoints;
    void *zctx;
    item_t *items;
    size_t n_items;
    /* case id → item index + 1 (0: unknown), for ids in [case_base, case_base+case_cap) */
    _Atomic int32_t *case_map;
    int64_t case_cap;
    _Atomic int64_t case_base;   /* -1 until the first accepted report */
    _Atomic int stop;
    /* the tracker's current range and its verdict */
    _Atomic size_t range_lo, range_hi;
    _Atomic long range_gen;      /* bumped by bench_track_range */
    _Atomic int no_confirm;      /* settle on bus events alone (no case.get per report) */
    _Atomic long settled_gen;    /* the generation found settled: every item failed or confirmed */
    _Atomic long ran_gen;        /* the generation found done by events (confirmation may follow) */
    _Atomic long events, gets, orphans_dropped;
    /* after-trigger mode (bench-disaster): the tracker forgets what it saw,
     * then counts the cases that get new referrals and those all decided */
    _Atomic long reset_req, reset_done;
    _Atomic long touched, touched_done;
    _Atomic int64_t last_done_us;
    pthread_mutex_t err_lock;
    char first_error[256];
    long errors;
} bench_t;

int64_t bench_now_us(void);
/* Sets up b for n items (zeroed), endpoints and bus from the environment.
 * 0, or -1 with a message on stderr. */
int bench_init(bench_t *b, size_t n, uint64_t seed);
void bench_fini(bench_t *b);
/* A DEALER connected to every endpoint of b->endpoints. NULL on error. */
void *bench_dealer(bench_t *b);
void bench_note_error(bench_t *b, const char *msg);
void bench_map_case(bench_t *b, int64_t case_id, size_t idx);
/* Item index for a case id, or -1. */
long bench_case_item(bench_t *b, int64_t case_id);

/* Sends items [lo, hi) with `clients` threads, each keeping up to `window`
 * requests in flight. rate > 0 paces the sends open-loop (reports per
 * second in all): item k is due at a fixed time from the start whatever
 * the answers, no window applies, and its t_sched_us is that due time, so
 * a stall shows in the latency (coordinated omission, as wrk2 corrects it).
 * Retries `unavailable` and silence with the same id. Returns when every
 * item is accepted or failed (or b->stop). */
void bench_submit(bench_t *b, size_t lo, size_t hi, int clients, int window, double rate);

/* The tracker thread: start it once; bench_track_range() points it at the
 * items of the current phase. */
int bench_track_start(bench_t *b, pthread_t *tid);
void bench_track_range(bench_t *b, size_t lo, size_t hi);
/* Switches the tracker to after-trigger mode (see above) and waits for it. */
void bench_track_trigger_mode(bench_t *b);
/* Waits until the range is settled or timeout_s passed; 0 when settled. */
int bench_track_wait(bench_t *b, double timeout_s);
/* Waits until every report of the range is done by events (or failed), before
 * its confirmation; 0 then, -1 after timeout_s. */
int bench_track_wait_ran(bench_t *b, double timeout_s);

/* RSS sampler over the pid files in $AID_VAR/run: max VmRSS per instance. */
typedef struct rss rss_t;
rss_t *rss_start(const char *run_dir);
/* Prints the table and returns the largest service's max RSS in MB (Redis
 * not counted: it is not ours). */
double rss_stop_print(rss_t **self_p);

#endif
