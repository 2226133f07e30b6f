/* rss.c — samples the resident memory of every stack process.
 *
 * Every 500 ms it reads $AID_VAR/run/<instance>.pid and VmRSS from
 * /proc/<pid>/status, keeping the largest value per instance; at the end it
 * prints them in one table (MB). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define RSS_MAX 96

struct rss {
    char dir[1024];
    pthread_t tid;
    _Atomic int stop;
    int n;
    char names[RSS_MAX][48];
    long max_kb[RSS_MAX];
    long last_kb[RSS_MAX];
};

static long vmrss_kb(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static void sample(rss_t *r)
{
    DIR *d = opendir(r->dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || l >= 48 + 4 || strcmp(e->d_name + l - 4, ".pid"))
            continue;
        char path[1200], buf[32] = "";
        snprintf(path, sizeof path, "%s/%s", r->dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
        long kb = vmrss_kb(strtol(buf, NULL, 10));
        if (kb < 0)
            continue;
        char name[48];
        snprintf(name, sizeof name, "%.*s", (int)(l - 4), e->d_name);
        int k = 0;
        while (k < r->n && strcmp(r->names[k], name))
            k++;
        if (k == r->n) {
            if (r->n == RSS_MAX)
                continue;
            snprintf(r->names[r->n++], sizeof r->names[0], "%s", name);
        }
        r->last_kb[k] = kb;
        if (kb > r->max_kb[k])
            r->max_kb[k] = kb;
    }
    closedir(d);
}

static void *rss_run(void *arg)
{
    rss_t *r = arg;
    while (!atomic_load(&r->stop)) {
        sample(r);
        struct timespec ts = {0, 500 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

rss_t *rss_start(const char *run_dir)
{
    rss_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    snprintf(r->dir, sizeof r->dir, "%s", run_dir);
    if (pthread_create(&r->tid, NULL, rss_run, r) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

double rss_stop_print(rss_t **self_p)
{
    if (!self_p || !*self_p)
        return 0;
    rss_t *r = *self_p;
    atomic_store(&r->stop, 1);
    pthread_join(r->tid, NULL);
    /* sort the names, carrying the values along */
    char sorted[RSS_MAX][48];
    for (int i = 0; i < r->n; i++)
        memcpy(sorted[i], r->names[i], sizeof sorted[i]);
    qsort(sorted, (size_t)r->n, sizeof sorted[0], by_name);
    printf("  %-16s %10s %10s\n", "RSS (MB)", "max", "at end");
    long worst = 0;
    for (int i = 0; i < r->n; i++) {
        int k = 0;
        while (strcmp(r->names[k], sorted[i]))
            k++;
        printf("  %-16s %10.1f %10.1f\n", sorted[i], r->max_kb[k] / 1024.0, r->last_kb[k] / 1024.0);
        if (strcmp(sorted[i], "redis") && r->max_kb[k] > worst)
            worst = r->max_kb[k];
    }
    printf("  largest service RSS: %.1f MB (%s 32 MB)\n", worst / 1024.0,
           worst < 32 * 1024 ? "under" : "OVER");
    free(r);
    *self_p = NULL;
    return worst / 1024.0;
}
