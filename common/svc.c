/* svc.c — signal handling and clocks for service processes. */
#include "svc.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"
#include "pii.h"
#include "store.h"

/* The one piece of process-wide mutable state: a signal handler must reach it. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void svc_init(const char *name)
{
    log_init(name);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool svc_stopping(void) { return stop_requested != 0; }

int64_t svc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t svc_wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

void svc_require_pii(void)
{
    char err[512];
    if (pii_init(err, sizeof err) != 0) {
        log_error("pii.key_missing", "error", LOG_S(err), NULL);
        exit(1);
    }
    store_check_all(pii_pg_key_check); /* every connection: the same key as the data */
}

int64_t svc_linger_ms(int n, int batch, int64_t linger_ms)
{
    return n < batch / 4 ? linger_ms : 0;
}
