/* import.c — `aidctl import --source SOURCE FILE.csv`: another department's
 * list matched against the registered households (主动发现, 部门数据比对).
 *
 * Each row is one person's fact, turned into a trigger (PROTOCOL.md
 * trigger.submit; the columns per source are in proto/DEPARTMENTS.md):
 *
 *   medical      id_number, expense_fen, months            → medical_expense
 *   disability   id_number, disability_grade, disability_kind[, occurred_on]
 *                                                          → disability
 *   hr           id_number[, unemployed_on]                → unemployment
 *   agriculture  id_number, hazard[, occurred_on]          → disaster of the household
 *
 * Rows go in batches of up to BATCH_ROWS through `trigger.batch` (one
 * request, one transaction, a verdict per item), several batches in flight
 * on one DEALER socket. Every row gets a verdict in the verdict file (next to
 * the input as FILE.verdicts.csv, or --out): accepted (a report was filed on
 * the household's case: committed), matched (a registered person, but
 * nothing changes) or rejected (a bad row, or no registered person) with the
 * reason. A bad row never stops the import. The request ids derive from the
 * file's hash, so importing the same file again files nothing twice. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <zmq.h>

#include "aidctl.h"
#include "client.h"
#include "idcard.h"
#include "jsonmp.h"
#include "mp.h"
#include "svc.h"

#define BATCH_ROWS 500            /* trigger.batch's limit */
#define BATCH_BYTES (56 * 1024)   /* under the 64 KiB request limit */
#define WINDOW 3                  /* batches in flight */
#define MAX_TRIES 6               /* sends of one batch (a retry reuses its id) */
#define MAX_COLS 8

/* ---- sources ------------------------------------------------------------------ */

typedef enum { COL_STR, COL_INT } col_type_t;

typedef struct {
    const char *column;   /* CSV header */
    const char *field;    /* trigger body field */
    col_type_t type;
    bool required;
} column_t;

typedef struct {
    const char *name;
    const char *kind;     /* the trigger kind each row becomes */
    column_t cols[MAX_COLS];
} source_t;

static const source_t sources[] = {
    {"medical", "medical_expense",
     {{"id_number", "id_number", COL_STR, true},
      {"expense_fen", "expense_fen", COL_INT, true},
      {"months", "months", COL_INT, true}}},
    {"disability", "disability",
     {{"id_number", "id_number", COL_STR, true},
      {"disability_grade", "disability_grade", COL_INT, true},
      {"disability_kind", "disability_kind", COL_STR, true},
      {"occurred_on", "occurred_on", COL_STR, false}}},
    {"hr", "unemployment",
     {{"id_number", "id_number", COL_STR, true},
      {"unemployed_on", "occurred_on", COL_STR, false}}},
    {"agriculture", "disaster",
     {{"id_number", "id_number", COL_STR, true},
      {"hazard", "hazard", COL_STR, true},
      {"occurred_on", "occurred_on", COL_STR, false}}},
};
#define N_SOURCES ((int)(sizeof sources / sizeof sources[0]))

static int source_ncols(const source_t *s)
{
    int n = 0;
    while (n < MAX_COLS && s->cols[n].column)
        n++;
    return n;
}

/* ---- CSV ------------------------------------------------------------------------ */

/* Splits line (modified in place) into at most max fields; RFC 4180 quotes
 * ("a,b", "say ""hi""") within one line. Returns the field count, or -1
 * for an unterminated quote. */
static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *out = p, *start = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p)
                    return -1;
                if (*p == '"' && p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *out++ = *p++;
                }
            }
            if (*p && *p != ',')
                return -1;
        } else {
            while (*p && *p != ',')
                *out++ = *p++;
        }
        char sep = *p;
        *out = '\0';
        if (n < max)
            fields[n] = start;
        n++;
        if (!sep)
            return n;
        p++;
    }
}

/* Reads one line without its end of line; NULL at the end of the file. */
static char *read_line(FILE *f, char **buf, size_t *cap)
{
    ssize_t n = getline(buf, cap, f);
    if (n < 0)
        return NULL;
    while (n > 0 && ((*buf)[n - 1] == '\n' || (*buf)[n - 1] == '\r'))
        (*buf)[--n] = '\0';
    return *buf;
}

/* ---- batches ------------------------------------------------------------------- */

typedef enum { V_PENDING, V_ACCEPTED, V_MATCHED, V_REJECTED } verdict_t;
static const char *const verdict_names[] = {"pending", "accepted", "matched", "rejected"};

typedef struct {
    long line;                 /* line number in the file (the header is 1) */
    char id_masked[20];
    verdict_t verdict;
    char reason[240];
    char trigger_id[32], case_id[32], report_id[32];
} row_t;

typedef struct {
    bool used, sent;
    long seq;                  /* batch number: verdicts are written in this order */
    char id[160];
    int nrows, nitems;
    row_t rows[BATCH_ROWS];
    int item_row[BATCH_ROWS];  /* the row of each sent item */
    msgpack_sbuffer items;     /* packed trigger bodies */
    msgpack_sbuffer request;
    int64_t deadline_ms;
    int tries;
} batch_t;

typedef struct {
    const aidctl_opts_t *o;
    const source_t *src;
    int col_of[MAX_COLS];      /* the CSV column index of each source column, -1 absent */
    int ncsv;                  /* columns in the header */
    FILE *in, *out;
    char *line;
    size_t cap;
    long lineno;
    bool eof;
    char id_base[96];
    long next_seq, write_seq;
    batch_t batches[WINDOW];
    long counts[4];
    long rows_done;
    off_t size, pos;
    int64_t started_ms, drawn_ms;
    bool tty;
    void *zctx, *sock;
} import_t;

static void set_reason(row_t *r, verdict_t v, const char *fmt, const char *a, const char *b)
{
    r->verdict = v;
    snprintf(r->reason, sizeof r->reason, fmt, a ? a : "", b ? b : "");
}

/* Fills the next row of b from one CSV line: a packed item, or a local rejection. */
static void add_row(import_t *im, batch_t *b, char *line)
{
    row_t *r = &b->rows[b->nrows++];
    memset(r, 0, sizeof *r);
    r->line = im->lineno;
    char *f[MAX_COLS + 8];
    int n = csv_split(line, f, MAX_COLS + 8);
    if (n < 0) {
        set_reason(r, V_REJECTED, "bad_row: a quote is not closed%s%s", NULL, NULL);
        return;
    }
    if (n != im->ncsv) {
        char got[16], want[16];
        snprintf(got, sizeof got, "%d", n);
        snprintf(want, sizeof want, "%d", im->ncsv);
        set_reason(r, V_REJECTED, "bad_row: %s fields, the header has %s", got, want);
        return;
    }
    const source_t *s = im->src;
    int nc = source_ncols(s);
    const char *id = im->col_of[0] >= 0 ? f[im->col_of[0]] : "";
    idcard_mask(id, strlen(id), r->id_masked, sizeof r->id_masked);
    /* count the fields first: the map header comes before them */
    int nfields = 1;
    for (int c = 0; c < nc; c++) {
        int k = im->col_of[c];
        const char *v = k >= 0 ? f[k] : "";
        if (!*v && s->cols[c].required) {
            set_reason(r, V_REJECTED, "invalid_field %s: is required", s->cols[c].column, NULL);
            return;
        }
        if (*v && s->cols[c].type == COL_INT) {
            char *end;
            errno = 0;
            (void)strtoll(v, &end, 10);
            if (errno || *end || strspn(v, "-0123456789") != strlen(v)) {
                set_reason(r, V_REJECTED, "invalid_field %s: must be an integer",
                           s->cols[c].column, NULL);
                return;
            }
        }
        nfields += *v != '\0';
    }
    msgpack_sbuffer one;
    msgpack_sbuffer_init(&one);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &one, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (size_t)nfields);
    mp_pack_kv_str(&pk, "kind", s->kind);
    for (int c = 0; c < nc; c++) {
        int k = im->col_of[c];
        const char *v = k >= 0 ? f[k] : "";
        if (!*v)
            continue;
        if (s->cols[c].type == COL_INT)
            mp_pack_kv_int(&pk, s->cols[c].field, strtoll(v, NULL, 10));
        else
            mp_pack_kv_str(&pk, s->cols[c].field, v);
    }
    msgpack_sbuffer_write(&b->items, one.data, one.size);
    msgpack_sbuffer_destroy(&one);
    b->item_row[b->nitems++] = b->nrows - 1;
}

/* Builds the envelope of b: {"v","op","id","body":{"triggers":[…]}}. */
static void pack_request(batch_t *b)
{
    msgpack_sbuffer_clear(&b->request);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b->request, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    mp_pack_kv_int(&pk, "v", 1);
    mp_pack_kv_str(&pk, "op", "trigger.batch");
    mp_pack_kv_str(&pk, "id", b->id);
    mp_pack_str(&pk, "body");
    msgpack_pack_map(&pk, 1);
    mp_pack_str(&pk, "triggers");
    msgpack_pack_array(&pk, (size_t)b->nitems);
    msgpack_sbuffer_write(&b->request, b->items.data, b->items.size);
}

static void send_batch(import_t *im, batch_t *b)
{
    zmq_send(im->sock, "", 0, ZMQ_SNDMORE);
    zmq_send(im->sock, b->request.data, b->request.size, 0);
    b->sent = true;
    b->tries++;
    b->deadline_ms = svc_now_ms() + im->o->timeout_ms;
}

/* Reads rows into a free slot and sends them; false at the end of the file. */
static bool fill_batch(import_t *im, batch_t *b)
{
    b->used = true;
    b->sent = false;
    b->seq = im->next_seq++;
    b->nrows = b->nitems = b->tries = 0;
    msgpack_sbuffer_clear(&b->items);
    snprintf(b->id, sizeof b->id, "%s-%ld", im->id_base, b->seq);
    while (b->nrows < BATCH_ROWS && b->items.size < BATCH_BYTES) {
        char *line = read_line(im->in, &im->line, &im->cap);
        if (!line) {
            im->eof = true;
            break;
        }
        im->lineno++;
        im->pos += (off_t)strlen(line) + 1;
        if (!*line)
            continue; /* blank lines are no rows */
        add_row(im, b, line);
    }
    if (b->nitems > 0) {
        pack_request(b);
        send_batch(im, b);
    }
    return b->nrows > 0;
}

/* Copies string value key of map o into out ("" when absent). */
static void copy_str(const msgpack_object *o, const char *key, char *out, size_t outsz)
{
    out[0] = '\0';
    if (mp_str_copy(mp_get(o, key), out, outsz) != 0)
        out[0] = '\0';
}

/* The column a server field path names: "triggers[3].occurred_on" → the CSV
 * column of that field for this source. */
static const char *column_of(const import_t *im, const char *field)
{
    const char *dot = strchr(field, '.');
    const char *name = dot ? dot + 1 : field;
    for (int c = 0; c < source_ncols(im->src); c++)
        if (strcmp(im->src->cols[c].field, name) == 0)
            return im->src->cols[c].column;
    return name;
}

/* Verdicts of b's items from a trigger.batch reply (or the batch's error). */
static void apply_reply(import_t *im, batch_t *b, const msgpack_object *env)
{
    const msgpack_object *ok = mp_get(env, "ok");
    const msgpack_object *results = mp_get(mp_get(env, "result"), "results");
    bool is_ok = ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
    for (int i = 0; i < b->nitems; i++) {
        row_t *r = &b->rows[b->item_row[i]];
        const msgpack_object *err = mp_get(env, "error"), *item = NULL;
        if (is_ok && results && results->type == MSGPACK_OBJECT_ARRAY &&
            (int)results->via.array.size == b->nitems) {
            item = &results->via.array.ptr[i];
            err = mp_get(item, "error");
        }
        if (!is_ok || err) {
            char code[40], field[160], msg[200];
            copy_str(err, "code", code, sizeof code);
            copy_str(err, "field", field, sizeof field);
            copy_str(err, "message", msg, sizeof msg);
            char what[200];
            snprintf(what, sizeof what, "%s%s%s", code[0] ? code : "no_answer",
                     field[0] ? " " : "", field[0] ? column_of(im, field) : "");
            set_reason(r, V_REJECTED, "%s: %s", what, msg);
            continue;
        }
        int64_t cases = 0;
        mp_int(mp_get(item, "cases"), &cases);
        copy_str(item, "trigger_id", r->trigger_id, sizeof r->trigger_id);
        copy_str(item, "case_id", r->case_id, sizeof r->case_id);
        copy_str(item, "report_id", r->report_id, sizeof r->report_id);
        if (cases > 0)
            set_reason(r, V_ACCEPTED, "report filed on the household's case%s%s", NULL, NULL);
        else
            set_reason(r, V_MATCHED, "registered person; nothing to re-assess%s%s", NULL, NULL);
    }
    b->sent = false;
    b->nitems = 0; /* done */
}

/* ---- output ---------------------------------------------------------------------- */

static void csv_cell(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Writes finished batches in file order and frees their slots. */
static void flush_done(import_t *im)
{
    for (bool again = true; again;) {
        again = false;
        for (int k = 0; k < WINDOW; k++) {
            batch_t *b = &im->batches[k];
            if (!b->used || b->nitems > 0 || b->seq != im->write_seq)
                continue;
            for (int i = 0; i < b->nrows; i++) {
                row_t *r = &b->rows[i];
                fprintf(im->out, "%ld,", r->line);
                csv_cell(im->out, r->id_masked);
                fprintf(im->out, ",%s,", verdict_names[r->verdict]);
                csv_cell(im->out, r->reason);
                fprintf(im->out, ",%s,%s,%s\n", r->trigger_id, r->case_id, r->report_id);
                im->counts[r->verdict]++;
            }
            im->rows_done += b->nrows;
            b->used = false;
            im->write_seq++;
            again = true;
        }
    }
}

static void progress(import_t *im, bool last)
{
    int64_t now = svc_now_ms();
    if (!last && now - im->drawn_ms < (im->tty ? 150 : 5000))
        return;
    im->drawn_ms = now;
    double secs = (double)(now - im->started_ms) / 1000.0;
    double frac = im->size > 0 ? (double)im->pos / (double)im->size : 1.0;
    if (frac > 1.0 || last)
        frac = 1.0;
    char bar[31];
    int filled = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "%s[%s] %3d%% %ld rows, %ld accepted, %ld matched, %ld rejected, %.0f rows/s%s",
            im->tty ? "\r" : "", bar, (int)(frac * 100), im->rows_done, im->counts[V_ACCEPTED],
            im->counts[V_MATCHED], im->counts[V_REJECTED],
            secs > 0 ? (double)im->rows_done / secs : 0.0, im->tty && !last ? "" : "\n");
    fflush(stderr);
}

/* ---- the exchange ---------------------------------------------------------------- */

static batch_t *find_batch(import_t *im, const char *id)
{
    for (int k = 0; k < WINDOW; k++)
        if (im->batches[k].used && im->batches[k].nitems > 0 && strcmp(im->batches[k].id, id) == 0)
            return &im->batches[k];
    return NULL;
}

/* Receives one reply (if any within wait_ms) and applies it. -1 on a
 * batch that cannot be delivered (exit 3). */
static int receive(import_t *im, long wait_ms)
{
    zmq_pollitem_t it = {.socket = im->sock, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, wait_ms) > 0) {
        zmq_msg_t m;
        int frame = 0, more = 1;
        while (more) {
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, im->sock, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
            if (frame++ == 1) {
                msgpack_unpacked u;
                msgpack_unpacked_init(&u);
                char id[160];
                if (mp_unpack(zmq_msg_data(&m), zmq_msg_size(&m), &u) == MP_OK &&
                    mp_str_copy(mp_get(&u.data, "id"), id, sizeof id) == 0) {
                    batch_t *b = find_batch(im, id);
                    const msgpack_object *e = mp_get(&u.data, "error");
                    if (b && mp_str_is(mp_get(e, "code"), "unavailable") && b->tries < MAX_TRIES)
                        b->deadline_ms = svc_now_ms() + 500 * b->tries; /* resend then */
                    else if (b)
                        apply_reply(im, b, &u.data);
                }
                msgpack_unpacked_destroy(&u);
            }
            zmq_msg_close(&m);
        }
    }
    /* no answer (or unavailable) by the deadline: send again, same id */
    int64_t now = svc_now_ms();
    for (int k = 0; k < WINDOW; k++) {
        batch_t *b = &im->batches[k];
        if (!b->used || b->nitems == 0 || now < b->deadline_ms)
            continue;
        if (b->tries >= MAX_TRIES) {
            fprintf(stderr, "\naidctl: import: %s: no answer for batch %ld after %d tries\n",
                    im->o->endpoint, b->seq, b->tries);
            return -1;
        }
        send_batch(im, b);
    }
    return 0;
}

static int run(import_t *im)
{
    for (;;) {
        for (int k = 0; k < WINDOW && !im->eof; k++)
            if (!im->batches[k].used && !fill_batch(im, &im->batches[k])) {
                im->batches[k].used = false; /* an empty tail: its number is not used */
                im->next_seq--;
            }
        flush_done(im);
        progress(im, false);
        bool waiting = false;
        for (int k = 0; k < WINDOW; k++)
            waiting |= im->batches[k].used;
        if (!waiting && im->eof)
            return 0;
        if (waiting && receive(im, 100) != 0)
            return -1;
    }
}

/* ---- the command ------------------------------------------------------------------- */

static int open_input(import_t *im, const char *path)
{
    im->in = fopen(path, "r");
    if (!im->in) {
        fprintf(stderr, "aidctl: import: %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* the file's hash names its batches: the same file imported again is a duplicate */
    uint64_t h = 1469598103934665603ull;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, im->in)) > 0) {
        im->size += (off_t)n;
        for (size_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
    }
    if (ferror(im->in)) {
        fprintf(stderr, "aidctl: import: %s: %s\n", path, strerror(errno));
        return -1;
    }
    rewind(im->in);
    if (im->o->id)
        snprintf(im->id_base, sizeof im->id_base, "%s", im->o->id);
    else
        snprintf(im->id_base, sizeof im->id_base, "import-%s-%016llx", im->src->name,
                 (unsigned long long)h);
    /* the header: every column known, every required one present */
    char *line = read_line(im->in, &im->line, &im->cap);
    if (!line) {
        fprintf(stderr, "aidctl: import: %s: empty file (the first line is the header)\n", path);
        return -1;
    }
    im->lineno = 1;
    im->pos = (off_t)strlen(line) + 1;
    if ((unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
        (unsigned char)line[2] == 0xBF)
        line += 3; /* a byte-order mark from a spreadsheet */
    char *f[MAX_COLS + 8];
    int n_cols = csv_split(line, f, MAX_COLS + 8);
    int nc = source_ncols(im->src);
    for (int c = 0; c < nc; c++)
        im->col_of[c] = -1;
    if (n_cols < 1 || n_cols > MAX_COLS) {
        fprintf(stderr, "aidctl: import: %s: the header must name 1 to %d columns\n", path, MAX_COLS);
        return -1;
    }
    im->ncsv = n_cols;
    for (int k = 0; k < n_cols; k++) {
        int c = 0;
        while (c < nc && strcmp(im->src->cols[c].column, f[k]) != 0)
            c++;
        if (c == nc || im->col_of[c] >= 0) {
            fprintf(stderr, "aidctl: import: %s: column '%s' is %s for source %s\n", path, f[k],
                    c == nc ? "unknown" : "given twice", im->src->name);
            return -1;
        }
        im->col_of[c] = k;
    }
    for (int c = 0; c < nc; c++)
        if (im->src->cols[c].required && im->col_of[c] < 0) {
            fprintf(stderr, "aidctl: import: %s: column %s is required for source %s\n", path,
                    im->src->cols[c].column, im->src->name);
            return -1;
        }
    return 0;
}

/* FILE.csv → FILE.verdicts.csv */
static void default_out(const char *path, char *out, size_t outsz)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    snprintf(out, outsz, "%.*s.verdicts.csv", (int)stem, path);
}

int cmd_import(const aidctl_opts_t *o)
{
    import_t *im = calloc(1, sizeof *im);
    if (!im) {
        fprintf(stderr, "aidctl: out of memory\n");
        return AIDCTL_EXIT_UNAVAILABLE;
    }
    int rc = AIDCTL_EXIT_USAGE;
    im->o = o;
    for (int s = 0; o->source && s < N_SOURCES; s++)
        if (strcmp(sources[s].name, o->source) == 0)
            im->src = &sources[s];
    char outpath[4096];
    if (!im->src) {
        fprintf(stderr, "aidctl: import: --source must be medical, disability, hr or agriculture\n");
        goto out;
    }
    if (open_input(im, o->args[0]) != 0)
        goto out;
    if (o->out)
        snprintf(outpath, sizeof outpath, "%s", o->out);
    else
        default_out(o->args[0], outpath, sizeof outpath);
    if (!(im->out = fopen(outpath, "w"))) {
        fprintf(stderr, "aidctl: import: %s: %s\n", outpath, strerror(errno));
        goto out;
    }
    fputs("line,id_masked,verdict,reason,trigger_id,case_id,report_id\n", im->out);
    for (int k = 0; k < WINDOW; k++) {
        msgpack_sbuffer_init(&im->batches[k].items);
        msgpack_sbuffer_init(&im->batches[k].request);
    }
    im->zctx = zmq_ctx_new();
    im->sock = im->zctx ? zmq_socket(im->zctx, ZMQ_DEALER) : NULL;
    int linger = 0;
    char cerr[256];
    if (im->sock && client_curve(im->sock, cerr, sizeof cerr) != 0) {
        fprintf(stderr, "aidctl: import: %s\n", cerr);
        goto out;
    }
    if (!im->sock || zmq_setsockopt(im->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(im->sock, o->endpoint) != 0) {
        fprintf(stderr, "aidctl: import: %s: %s\n", o->endpoint, zmq_strerror(zmq_errno()));
        goto out;
    }
    im->tty = isatty(2);
    im->started_ms = svc_now_ms();
    rc = run(im) == 0 ? AIDCTL_EXIT_OK : AIDCTL_EXIT_UNAVAILABLE;
    progress(im, true);
    double secs = (double)(svc_now_ms() - im->started_ms) / 1000.0;
    if (fflush(im->out) != 0 || ferror(im->out)) {
        fprintf(stderr, "aidctl: import: %s: cannot write\n", outpath);
        rc = AIDCTL_EXIT_UNAVAILABLE;
    }
    if (o->json) {
        json_t *sum = json_pack("{ss sI sI sI sI sf ss sb}", "source", im->src->name, "rows",
                                (json_int_t)im->rows_done, "accepted",
                                (json_int_t)im->counts[V_ACCEPTED], "matched",
                                (json_int_t)im->counts[V_MATCHED], "rejected",
                                (json_int_t)im->counts[V_REJECTED], "seconds", secs, "verdicts",
                                outpath, "complete", rc == 0);
        if (!sum || json_dumpf(sum, stdout, JSON_INDENT(2)) != 0)
            rc = AIDCTL_EXIT_UNAVAILABLE;
        putchar('\n');
        json_decref(sum);
    } else
        printf("import %s: %ld rows: %ld accepted, %ld matched, %ld rejected in %.1f s; "
               "verdicts in %s%s\n",
               im->src->name, im->rows_done, im->counts[V_ACCEPTED], im->counts[V_MATCHED],
               im->counts[V_REJECTED], secs, outpath, rc == 0 ? "" : " (incomplete)");
out:
    if (im->sock)
        zmq_close(im->sock);
    if (im->zctx)
        zmq_ctx_term(im->zctx);
    if (im->in)
        fclose(im->in);
    if (im->out)
        fclose(im->out);
    for (int k = 0; k < WINDOW; k++) {
        msgpack_sbuffer_destroy(&im->batches[k].items);
        msgpack_sbuffer_destroy(&im->batches[k].request);
    }
    free(im->line);
    free(im);
    return rc;
}
