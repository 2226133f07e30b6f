/* stats.c — `aidctl stats`: the counters of every service of the stack.
 *
 * Each service serves its metrics in the Prometheus text format on its own
 * port (common/metrics.h); ops/stack.sh writes where, one line per service:
 *   AID_METRICS_CIVIL=127.0.0.1:9607[,127.0.0.1:9608 …]
 * in stack.env. stats reads those lines from the environment, else from
 * $AID_VAR/stack.env, else ./var/stack.env, fetches GET /metrics from each
 * address (HTTP/1.0; aidctl's --timeout, at most 2 s per address) and
 * prints one row per instance:
 * received, decided, errors, queue depth, batches and latency (mean, p50,
 * p99 estimated from the histogram buckets). With --json, a JSON array.
 * Exit 0 when every address answered, 3 when one did not, 2 when no
 * address is known. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aidctl.h"
#include "config.h"
#include "svc.h"
#include "table.h"

#define MAX_TARGETS 128
#define MAX_BODY (1 << 20)
#define NBUCKETS 16

typedef struct {
    char service[32];
    char addr[96];               /* host:port */
    char instance[64];           /* from the instance label */
    int up;
    char err[96];
    double received, decided, errors, depth, batches, requests;
    int have_requests;
    int nb;
    double le[NBUCKETS], cum[NBUCKETS]; /* histogram buckets, cumulative */
    double count, sum;
} target_t;

/* Adds the targets of one AID_METRICS_<SERVICE>=list line. */
static void add_targets(target_t *t, int *n, const char *key, const char *list)
{
    char service[32];
    snprintf(service, sizeof service, "%s", key + strlen("AID_METRICS_"));
    for (char *p = service; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    for (const char *s = list; *s && *n < MAX_TARGETS;) {
        size_t len = strcspn(s, ",");
        if (len && len < sizeof t->addr) {
            memset(&t[*n], 0, sizeof t[*n]);
            snprintf(t[*n].service, sizeof t[*n].service, "%s", service);
            snprintf(t[*n].addr, sizeof t[*n].addr, "%.*s", (int)len, s);
            (*n)++;
        }
        s += len + (s[len] == ',');
    }
}

static int from_file(const char *path, target_t *t, int *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        if (!strncmp(p, "export ", 7))
            p += 7;
        char *eq = strchr(p, '=');
        if (!eq || strncmp(p, "AID_METRICS_", 12))
            continue;
        *eq = '\0';
        if (strcmp(p, "AID_METRICS_ADDR") && strcmp(p, "AID_METRICS_PORT"))
            add_targets(t, n, p, eq + 1);
    }
    fclose(f);
    return 0;
}

static void find_targets(target_t *t, int *n)
{
    extern char **environ;
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || strncmp(*e, "AID_METRICS_", 12))
            continue;
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - *e), *e);
        if (strcmp(key, "AID_METRICS_PORT") && strcmp(key, "AID_METRICS_ADDR"))
            add_targets(t, n, key, eq + 1);
    }
    if (*n)
        return;
    const char *var = config_str("AID_VAR", NULL);
    if (var) {
        char path[4096];
        snprintf(path, sizeof path, "%s/stack.env", var);
        if (from_file(path, t, n) == 0)
            return;
    }
    from_file("var/stack.env", t, n);
}

/* GET /metrics from host:port; the body in a new buffer, or NULL (err set). */
static char *fetch(const char *addr, int timeout_ms, char *err, size_t errsz)
{
    char host[96], port[16];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || strlen(colon + 1) >= sizeof port) {
        snprintf(err, errsz, "bad address");
        return NULL;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    snprintf(port, sizeof port, "%s", colon + 1);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        snprintf(err, errsz, "cannot resolve %s", host);
        return NULL;
    }
    int64_t deadline = svc_now_ms() + timeout_ms;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    char *buf = NULL;
    size_t len = 0;
    if (fd < 0) {
        snprintf(err, errsz, "socket: %s", strerror(errno));
        goto out;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        snprintf(err, errsz, "%s", strerror(errno));
        goto out;
    }
    struct pollfd p = {fd, POLLOUT, 0};
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
        snprintf(err, errsz, "%s", soerr ? strerror(soerr) : "connect timed out");
        goto out;
    }
    char req[256];
    int rl = snprintf(req, sizeof req, "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", addr);
    if (send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl) {
        snprintf(err, errsz, "send: %s", strerror(errno));
        goto out;
    }
    buf = malloc(MAX_BODY + 1);
    if (!buf) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    for (;;) {
        int64_t left = deadline - svc_now_ms();
        p = (struct pollfd){fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) != 1) {
            snprintf(err, errsz, "no answer in %d ms", timeout_ms);
            goto fail;
        }
        ssize_t r = recv(fd, buf + len, MAX_BODY - len, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r < 0) {
            snprintf(err, errsz, "recv: %s", strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == MAX_BODY) {
            snprintf(err, errsz, "answer too large");
            goto fail;
        }
    }
    buf[len] = '\0';
    char *body = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.", 7) || !strchr(buf, ' ') || strncmp(strchr(buf, ' ') + 1, "200", 3) ||
        !body) {
        snprintf(err, errsz, "unexpected answer");
        goto fail;
    }
    memmove(buf, body + 4, strlen(body + 4) + 1);
    goto out;
fail:
    free(buf);
    buf = NULL;
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return buf;
}

/* The value of label name in "{a="x",b="y"}", copied to out. */
static void label(const char *labels, const char *name, char *out, size_t outsz)
{
    char pat[48];
    snprintf(pat, sizeof pat, "%s=\"", name);
    const char *p = strstr(labels, pat);
    out[0] = '\0';
    if (!p)
        return;
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    snprintf(out, outsz, "%.*s", (int)n, p);
}

/* Reads the exposition lines of interest into t. */
static void parse(target_t *t, char *text)
{
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !line[0])
            continue;
        char *sp = strrchr(line, ' ');
        if (!sp)
            continue;
        double v = strtod(sp + 1, NULL);
        *sp = '\0';
        char *brace = strchr(line, '{');
        const char *labels = brace ? brace + 1 : "";
        if (brace)
            *brace = '\0';
        char inst[64];
        label(labels, "instance", inst, sizeof inst);
        if (inst[0] && !t->instance[0])
            snprintf(t->instance, sizeof t->instance, "%s", inst);
        if (!strcmp(line, "aid_received_total"))
            t->received = v;
        else if (!strcmp(line, "aid_decided_total"))
            t->decided = v;
        else if (!strcmp(line, "aid_errors_total"))
            t->errors = v;
        else if (!strcmp(line, "aid_queue_depth"))
            t->depth = v;
        else if (!strcmp(line, "aid_batches_total"))
            t->batches = v;
        else if (!strcmp(line, "aid_requests_total")) {
            t->requests = v;
            t->have_requests = 1;
        } else if (!strcmp(line, "aid_latency_seconds_count"))
            t->count = v;
        else if (!strcmp(line, "aid_latency_seconds_sum"))
            t->sum = v;
        else if (!strcmp(line, "aid_latency_seconds_bucket") && t->nb < NBUCKETS) {
            char le[32];
            label(labels, "le", le, sizeof le);
            t->le[t->nb] = strcmp(le, "+Inf") ? strtod(le, NULL) : -1;
            t->cum[t->nb++] = v;
        }
    }
}

/* The q-quantile in milliseconds from cumulative buckets (linear within a
 * bucket, as Prometheus' histogram_quantile); -1 when unknown or past the
 * last finite bound. */
static double quantile_ms(const target_t *t, double q)
{
    if (t->count <= 0 || t->nb == 0)
        return -1;
    double rank = q * t->count, lo = 0, below = 0;
    for (int i = 0; i < t->nb; i++) {
        if (t->cum[i] >= rank) {
            if (t->le[i] < 0)
                return -1;
            double in = t->cum[i] - below;
            double f = in > 0 ? (rank - below) / in : 1;
            return (lo + (t->le[i] - lo) * f) * 1000;
        }
        if (t->le[i] >= 0)
            lo = t->le[i];
        below = t->cum[i];
    }
    return -1;
}

static void fmt_num(char *out, size_t sz, double v)
{
    snprintf(out, sz, "%.0f", v);
}

static void fmt_ms(char *out, size_t sz, double v, int known)
{
    if (!known)
        snprintf(out, sz, "-");
    else if (v < 0)
        snprintf(out, sz, ">10000");
    else
        snprintf(out, sz, "%.1f", v);
}

/* The order of the pipeline: intake first, departments as in policy.h. */
static int rank(const char *service)
{
    static const char *const order[] = {"intake",    "eligibility", "triggers",   "civil",
                                        "tempaid",   "medical",     "education",  "housing",
                                        "employment", "relief",     "social",     "care",       "benefits", NULL};
    for (int i = 0; order[i]; i++)
        if (!strcmp(order[i], service))
            return i;
    return 100;
}

static int by_pipeline(const void *a, const void *b)
{
    const target_t *x = a, *y = b;
    int d = rank(x->service) - rank(y->service);
    if (d)
        return d;
    d = strcmp(x->service, y->service);
    return d ? d : strcmp(x->addr, y->addr);
}

int cmd_stats(const aidctl_opts_t *o)
{
    static target_t t[MAX_TARGETS];
    int n = 0, down = 0;
    find_targets(t, &n);
    if (!n) {
        fprintf(stderr, "aidctl: no metrics addresses: start the stack (ops/stack.sh up writes "
                        "AID_METRICS_<SERVICE> to stack.env) or set AID_VAR\n");
        return AIDCTL_EXIT_USAGE;
    }
    qsort(t, (size_t)n, sizeof t[0], by_pipeline);
    int timeout = o->timeout_ms < 2000 ? o->timeout_ms : 2000;
    for (int i = 0; i < n; i++) {
        char *body = fetch(t[i].addr, timeout, t[i].err, sizeof t[i].err);
        if (!body) {
            down++;
            continue;
        }
        t[i].up = 1;
        parse(&t[i], body);
        free(body);
        if (!t[i].instance[0]) /* no instance label: the service name (fits: 32 < 64) */
            memcpy(t[i].instance, t[i].service, sizeof t[i].service);
    }
    if (o->json) {
        json_t *arr = json_array();
        for (int i = 0; i < n; i++) {
            json_t *x = json_pack("{s:s, s:s, s:s, s:b}", "service", t[i].service, "instance",
                                  t[i].instance[0] ? t[i].instance : t[i].service, "address",
                                  t[i].addr, "up", t[i].up);
            if (t[i].up) {
                json_object_set_new(x, "received", json_integer((json_int_t)t[i].received));
                json_object_set_new(x, "decided", json_integer((json_int_t)t[i].decided));
                json_object_set_new(x, "errors", json_integer((json_int_t)t[i].errors));
                json_object_set_new(x, "queue_depth", json_integer((json_int_t)t[i].depth));
                json_object_set_new(x, "batches", json_integer((json_int_t)t[i].batches));
                if (t[i].have_requests)
                    json_object_set_new(x, "requests", json_integer((json_int_t)t[i].requests));
                json_object_set_new(x, "latency_count", json_integer((json_int_t)t[i].count));
                double p50 = quantile_ms(&t[i], 0.5), p99 = quantile_ms(&t[i], 0.99);
                json_object_set_new(x, "latency_p50_ms", p50 >= 0 ? json_real(p50) : json_null());
                json_object_set_new(x, "latency_p99_ms", p99 >= 0 ? json_real(p99) : json_null());
            } else {
                json_object_set_new(x, "error", json_string(t[i].err));
            }
            json_array_append_new(arr, x);
        }
        char *s = json_dumps(arr, JSON_INDENT(2));
        if (s)
            puts(s);
        free(s);
        json_decref(arr);
    } else {
        table_t *tb = table_new("lrrrrrrrr");
        if (!tb)
            return AIDCTL_EXIT_UNAVAILABLE;
        const char *head[] = {"instance", "received", "decided", "errors", "queue",
                              "batches",  "mean_ms",  "p50_ms",  "p99_ms"};
        table_add_row(tb, head);
        for (int i = 0; i < n; i++) {
            char c[8][32];
            const char *row[9] = {t[i].instance[0] ? t[i].instance : t[i].service};
            if (!t[i].up) {
                snprintf(c[0], sizeof c[0], "down: %.24s", t[i].err);
                row[1] = c[0];
                table_add_row(tb, row);
                continue;
            }
            fmt_num(c[0], 32, t[i].received);
            fmt_num(c[1], 32, t[i].decided);
            fmt_num(c[2], 32, t[i].errors);
            fmt_num(c[3], 32, t[i].depth);
            fmt_num(c[4], 32, t[i].batches);
            fmt_ms(c[5], 32, t[i].count > 0 ? t[i].sum / t[i].count * 1000 : 0, t[i].count > 0);
            fmt_ms(c[6], 32, quantile_ms(&t[i], 0.5), t[i].count > 0);
            fmt_ms(c[7], 32, quantile_ms(&t[i], 0.99), t[i].count > 0);
            for (int k = 0; k < 8; k++)
                row[k + 1] = c[k];
            table_add_row(tb, row);
        }
        table_print(tb, stdout, 0);
        table_free(tb);
        printf("received/decided: intake = reports received/committed, eligibility = reports"
               " claimed/assessed, departments = referrals claimed/decided; latency per row from"
               " arrival (intake) or creation to commit\n");
    }
    return down ? AIDCTL_EXIT_UNAVAILABLE : AIDCTL_EXIT_OK;
}
