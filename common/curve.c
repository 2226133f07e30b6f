/* curve.c — CURVE keys, socket options and the ZAP allow-list handler
 * (see curve.h for the contract and the file formats). */
#include "curve.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "config.h"
#include "log.h"

/* A DRAFT option in libzmq 4.3 (value 93): Debian's build accepts it; where
 * a build refuses it, the ZAP handler being bound before the server socket
 * is what keeps unknown clients out. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define ZAP_DOMAIN "aid"
#define KEY_BYTES 32
#define KEYFILE_MAX_LINE 1024
#define ALLOW_MAX_KEYS 100000   /* a bound on memory, far above any county */
#define ZAP_MAX_FRAMES 8        /* a request has 7 for CURVE (RFC 27) */

bool curve_secure(void) { return strcmp(config_str("AID_SECURE", "0"), "1") == 0; }

bool curve_available(void) { return zmq_has("curve") != 0; }

bool curve_key_valid(const char *s)
{
    uint8_t bin[KEY_BYTES];
    return s && strlen(s) == CURVE_KEY_LEN && zmq_z85_decode(bin, s) != NULL;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("._:@+-", c) != NULL;
}

bool curve_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > CURVE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i]))
            return false;
    return true;
}

bool curve_user_is_department(const char *user, const char *department)
{
    size_t n = strlen(department);
    if (n == 0 || curve_key_valid(user) || strncmp(user, department, n) != 0)
        return false;
    return user[n] == '\0' || user[n] == '.';
}

bool curve_user_township(const char *user, char township[10])
{
    township[0] = '\0';
    if (curve_key_valid(user) || strspn(user, "0123456789") != 9 ||
        (user[9] != '\0' && user[9] != '.'))
        return false;
    memcpy(township, user, 9);
    township[9] = '\0';
    return true;
}

int curve_keypair_new(curve_keypair_t *kp)
{
    memset(kp, 0, sizeof *kp);
    return zmq_curve_keypair(kp->public_key, kp->secret_key) == 0 ? 0 : -1;
}

int curve_public_of(const char *secret_z85, char public_z85[CURVE_KEY_LEN + 1])
{
    if (!curve_key_valid(secret_z85))
        return -1;
    return zmq_curve_public(public_z85, secret_z85) == 0 ? 0 : -1;
}

void curve_keypair_wipe(curve_keypair_t *kp) { explicit_bzero(kp->secret_key, sizeof kp->secret_key); }

/* ---- configuration ------------------------------------------------------ */

int curve_key_read(const char *path, char key[CURVE_KEY_LEN + 1], char *err, size_t errsz)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char line[KEYFILE_MAX_LINE];
    int rc = -1;
    snprintf(err, errsz, "%s holds no key", path);
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        size_t n = strcspn(p, " \t\r\n");
        if (n == 0 || (p[0] == '#' && n != CURVE_KEY_LEN))
            continue; /* blank or a comment */
        if (n == CURVE_KEY_LEN) {
            memcpy(key, p, n);
            key[n] = '\0';
            if (curve_key_valid(key)) {
                rc = 0;
                break;
            }
        }
        snprintf(err, errsz, "%s does not start with a Z85 key of %d characters", path,
                 CURVE_KEY_LEN);
        break;
    }
    explicit_bzero(line, sizeof line);
    fclose(f);
    if (rc != 0)
        explicit_bzero(key, CURVE_KEY_LEN + 1);
    return rc;
}

int curve_pubkey_load(const char *var, char key[CURVE_KEY_LEN + 1])
{
    char fvar[128], err[512];
    snprintf(fvar, sizeof fvar, "%s_FILE", var);
    const char *v = config_str(var, NULL), *path = config_str(fvar, NULL);
    if (v) {
        if (!curve_key_valid(v)) {
            log_error("curve.bad_key", "variable", LOG_S(var), "error",
                      LOG_S("not a Z85 key of 40 characters"), NULL);
            return -1;
        }
        memcpy(key, v, CURVE_KEY_LEN + 1);
        return 0;
    }
    if (!path)
        return 1;
    if (curve_key_read(path, key, err, sizeof err) != 0) {
        log_error("curve.bad_key", "variable", LOG_S(fvar), "error", LOG_S(err), NULL);
        return -1;
    }
    return 0;
}

int curve_keypair_load(const char *prefix, curve_keypair_t *kp)
{
    char svar[128], fvar[128], pvar[128], err[512];
    snprintf(svar, sizeof svar, "%s_SECRETKEY", prefix);
    snprintf(fvar, sizeof fvar, "%s_SECRETKEY_FILE", prefix);
    snprintf(pvar, sizeof pvar, "%s_PUBKEY", prefix);
    memset(kp, 0, sizeof *kp);
    const char *v = config_str(svar, NULL), *path = config_str(fvar, NULL);
    if (v) {
        if (!curve_key_valid(v)) {
            log_error("curve.bad_key", "variable", LOG_S(svar), "error",
                      LOG_S("not a Z85 key of 40 characters"), NULL);
            return -1;
        }
        memcpy(kp->secret_key, v, CURVE_KEY_LEN + 1);
    } else if (path) {
        if (curve_key_read(path, kp->secret_key, err, sizeof err) != 0) {
            log_error("curve.bad_key", "variable", LOG_S(fvar), "error", LOG_S(err), NULL);
            return -1;
        }
        struct stat st;
        if (stat(path, &st) == 0 && (st.st_mode & 077))
            log_warn("curve.key_file_open", "file", LOG_S(path), "advice",
                     LOG_S("a secret key file should be mode 0600"), NULL);
    } else {
        return 1;
    }
    if (zmq_curve_public(kp->public_key, kp->secret_key) != 0) {
        log_error("curve.bad_key", "variable", LOG_S(v ? svar : fvar), "error",
                  LOG_S(zmq_strerror(errno)), NULL);
        curve_keypair_wipe(kp);
        return -1;
    }
    char given[CURVE_KEY_LEN + 1];
    int rc = curve_pubkey_load(pvar, given);
    if (rc < 0 || (rc == 0 && strcmp(given, kp->public_key) != 0)) {
        if (rc == 0)
            log_error("curve.key_mismatch", "variable", LOG_S(pvar), "error",
                      LOG_S("the public key is not the one of the secret key"), NULL);
        curve_keypair_wipe(kp);
        return -1;
    }
    return 0;
}

/* ---- sockets ------------------------------------------------------------ */

static int set_opt(void *sock, int opt, const void *val, size_t len, const char *what)
{
    if (zmq_setsockopt(sock, opt, val, len) == 0)
        return 0;
    log_error("curve.socket_option", "option", LOG_S(what), "error", LOG_S(zmq_strerror(errno)),
              NULL);
    return -1;
}

/* The public key of secret, checked against given (may be NULL). */
static int pair_check(const char *secret, const char *given, char out[CURVE_KEY_LEN + 1],
                      const char *role)
{
    if (curve_public_of(secret, out) != 0) {
        log_error("curve.bad_key", "key", LOG_S(role), "error",
                  LOG_S("the secret key is not a Z85 key of 40 characters"), NULL);
        return -1;
    }
    if (given && strcmp(given, out) != 0) {
        log_error("curve.key_mismatch", "key", LOG_S(role), "error",
                  LOG_S("the public key is not the one of the secret key"), NULL);
        return -1;
    }
    return 0;
}

int curve_server(void *sock, const char *secret_z85, const char *public_z85)
{
    char pub[CURVE_KEY_LEN + 1];
    if (!curve_available()) {
        log_error("curve.unavailable", "error", LOG_S("libzmq was built without CURVE"), NULL);
        return -1;
    }
    if (pair_check(secret_z85, public_z85, pub, "server") != 0)
        return -1;
    int one = 1;
    if (set_opt(sock, ZMQ_CURVE_SERVER, &one, sizeof one, "ZMQ_CURVE_SERVER") != 0 ||
        set_opt(sock, ZMQ_CURVE_SECRETKEY, secret_z85, CURVE_KEY_LEN, "ZMQ_CURVE_SECRETKEY") != 0 ||
        set_opt(sock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN), "ZMQ_ZAP_DOMAIN") != 0)
        return -1;
    if (zmq_setsockopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0)
        log_debug("curve.no_enforce_domain", "error", LOG_S(zmq_strerror(errno)), NULL);
    return 0;
}

int curve_client(void *sock, const char *server_pub, const char *client_pub,
                 const char *client_secret)
{
    char pub[CURVE_KEY_LEN + 1];
    if (!curve_available()) {
        log_error("curve.unavailable", "error", LOG_S("libzmq was built without CURVE"), NULL);
        return -1;
    }
    if (!curve_key_valid(server_pub)) {
        log_error("curve.bad_key", "key", LOG_S("server public"), "error",
                  LOG_S("not a Z85 key of 40 characters"), NULL);
        return -1;
    }
    if (pair_check(client_secret, client_pub, pub, "client") != 0)
        return -1;
    return set_opt(sock, ZMQ_CURVE_SERVERKEY, server_pub, CURVE_KEY_LEN, "ZMQ_CURVE_SERVERKEY") ||
                   set_opt(sock, ZMQ_CURVE_PUBLICKEY, pub, CURVE_KEY_LEN, "ZMQ_CURVE_PUBLICKEY") ||
                   set_opt(sock, ZMQ_CURVE_SECRETKEY, client_secret, CURVE_KEY_LEN,
                           "ZMQ_CURVE_SECRETKEY")
               ? -1
               : 0;
}

/* ---- the allow-list ----------------------------------------------------- */

typedef struct {
    uint8_t key[KEY_BYTES];
    char user[CURVE_KEY_LEN + 1 > CURVE_NAME_MAX + 1 ? CURVE_KEY_LEN + 1 : CURVE_NAME_MAX + 1];
    size_t line;               /* where it was read: the first of duplicates wins */
} allow_t;

struct curve_zap {
    void *rep;                 /* the ZAP socket; the thread's once started */
    void *ctl_in, *ctl_out;    /* PAIR: a message on ctl_out stops the thread */
    char ctl[64];              /* the inproc name of ctl_in */
    pthread_t thread;
    char *path;                /* the allow-list file */
    allow_t *keys;             /* sorted by key; touched by the thread only */
    size_t nkeys;
    bool have_file;            /* the stamp below is of a file that was read */
    dev_t dev;                 /* what the file was when last read */
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

static int allow_cmp(const void *a, const void *b)
{
    const allow_t *x = a, *y = b;
    int c = memcmp(x->key, y->key, KEY_BYTES);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int allow_key_cmp(const void *key, const void *entry)
{
    return memcmp(key, ((const allow_t *)entry)->key, KEY_BYTES);
}

/* Parses one line into *a: 1 an entry, 0 blank or comment, -1 malformed. */
static int allow_parse(char *line, allow_t *a)
{
    char *p = line + strspn(line, " \t");
    size_t n = strcspn(p, " \t\r\n");
    if (n == 0)
        return 0;
    char key[CURVE_KEY_LEN + 1];
    if (n != CURVE_KEY_LEN)
        return p[0] == '#' ? 0 : -1;
    memcpy(key, p, n);
    key[n] = '\0';
    if (zmq_z85_decode(a->key, key) == NULL)
        return p[0] == '#' ? 0 : -1;
    memcpy(a->user, key, sizeof key); /* no name: the key is the User-Id */
    p += n;
    p += strspn(p, " \t\r\n");
    if (*p && *p != '#') {
        n = strcspn(p, " \t\r\n");
        if (n > CURVE_NAME_MAX)
            return -1;
        char name[CURVE_NAME_MAX + 1];
        memcpy(name, p, n);
        name[n] = '\0';
        if (!curve_name_valid(name))
            return -1;
        memcpy(a->user, name, n + 1);
        p += n;
        p += strspn(p, " \t\r\n");
    }
    return *p == '\0' || *p == '#' ? 1 : -1;
}

/* Reads path into a sorted, de-duplicated table. 0, or -1 when the file
 * cannot be read (errno). Malformed lines are logged and skipped. */
static int allow_load(const char *path, allow_t **keys_out, size_t *n_out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    allow_t *keys = NULL;
    size_t n = 0, cap = 0, lineno = 0;
    char *line = NULL;
    size_t linecap = 0;
    int rc = 0;
    while (getline(&line, &linecap, f) >= 0) {
        lineno++;
        allow_t a = {.line = lineno};
        int r = strlen(line) > KEYFILE_MAX_LINE ? -1 : allow_parse(line, &a);
        if (r < 0)
            log_warn("zap.allowlist_bad_line", "file", LOG_S(path), "line", LOG_I(lineno), "expected",
                     LOG_S("KEY [NAME] [# comment]: a Z85 key of 40 characters, a name of "
                           "[A-Za-z0-9._:@+-]{1,63}"),
                     NULL);
        if (r <= 0)
            continue;
        if (n == ALLOW_MAX_KEYS) {
            log_warn("zap.allowlist_too_long", "file", LOG_S(path), "kept", LOG_I(n), NULL);
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            allow_t *nk = realloc(keys, ncap * sizeof *nk);
            if (!nk) {
                rc = -1;
                errno = ENOMEM;
                break;
            }
            keys = nk;
            cap = ncap;
        }
        keys[n++] = a;
    }
    if (ferror(f) && rc == 0) {
        rc = -1;
        errno = EIO;
    }
    free(line);
    fclose(f);
    if (rc != 0) {
        free(keys);
        return -1;
    }
    if (n > 1)
        qsort(keys, n, sizeof *keys, allow_cmp);
    size_t m = 0; /* drop later duplicates of a key */
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && memcmp(keys[m - 1].key, keys[i].key, KEY_BYTES) == 0) {
            log_warn("zap.allowlist_duplicate", "file", LOG_S(path), "line", LOG_I(keys[i].line),
                     "first", LOG_I(keys[m - 1].line), NULL);
            continue;
        }
        keys[m++] = keys[i];
    }
    *keys_out = keys;
    *n_out = m;
    return 0;
}

/* Re-reads the allow-list when the file changed since the last read; a file
 * that cannot be read admits nobody until it can. */
static void allow_refresh(curve_zap_t *z)
{
    struct stat st;
    bool found = stat(z->path, &st) == 0;
    if (found && z->have_file && st.st_dev == z->dev && st.st_ino == z->ino &&
        st.st_size == z->size && st.st_mtim.tv_sec == z->mtime.tv_sec &&
        st.st_mtim.tv_nsec == z->mtime.tv_nsec)
        return;
    allow_t *keys = NULL;
    size_t n = 0;
    bool ok = found && allow_load(z->path, &keys, &n) == 0;
    if (!ok) {
        if (z->have_file || z->nkeys > 0)
            log_error("zap.allowlist_unreadable", "file", LOG_S(z->path), "error",
                      LOG_S(strerror(errno)), "admits", LOG_S("nobody"), NULL);
        free(z->keys);
        z->keys = NULL;
        z->nkeys = 0;
        z->have_file = false;
        return;
    }
    free(z->keys);
    z->keys = keys;
    z->nkeys = n;
    z->have_file = true;
    z->dev = st.st_dev;
    z->ino = st.st_ino;
    z->size = st.st_size;
    z->mtime = st.st_mtim;
    log_info("zap.allowlist_loaded", "file", LOG_S(z->path), "keys", LOG_I(n), NULL);
}

/* ---- the ZAP handler ---------------------------------------------------- */

static bool frame_is(zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

/* Copies a frame as text (truncated, control bytes replaced) for the log. */
static void frame_text(zmq_msg_t *m, char *out, size_t outsz)
{
    size_t n = zmq_msg_size(m);
    if (n >= outsz)
        n = outsz - 1;
    const unsigned char *d = zmq_msg_data(m);
    for (size_t i = 0; i < n; i++)
        out[i] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : '?';
    out[n] = '\0';
}

/* Reads one request and answers it. 0, or -1 when the socket failed
 * (the context is being terminated). */
static int zap_serve(curve_zap_t *z)
{
    zmq_msg_t f[ZAP_MAX_FRAMES];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->rep, 0) < 0) {
            zmq_msg_close(&m);
            for (int i = 0; i < n; i++)
                zmq_msg_close(&f[i]);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (n < ZAP_MAX_FRAMES)
            f[n++] = m;
        else
            zmq_msg_close(&m);
    }
    /* 0 version, 1 request id, 2 domain, 3 address, 4 routing id,
     * 5 mechanism, 6.. credentials (CURVE: the client's 32-byte key) */
    const char *status = "400", *text = "malformed ZAP request", *user = "";
    char z85[CURVE_KEY_LEN + 1] = "", address[64] = "";
    if (n >= 4)
        frame_text(&f[3], address, sizeof address);
    if (n < 6 || !frame_is(&f[0], "1.0")) {
        log_warn("zap.bad_request", "frames", LOG_I(n), NULL);
    } else if (!frame_is(&f[5], "CURVE") || n != 7 || zmq_msg_size(&f[6]) != KEY_BYTES) {
        char mech[16];
        frame_text(&f[5], mech, sizeof mech);
        text = "only CURVE clients are admitted";
        log_warn("zap.denied", "mechanism", LOG_S(mech), "address", LOG_S(address), NULL);
    } else {
        zmq_z85_encode(z85, zmq_msg_data(&f[6]), KEY_BYTES);
        allow_refresh(z);
        const allow_t *a =
            z->nkeys ? bsearch(zmq_msg_data(&f[6]), z->keys, z->nkeys, sizeof *z->keys, allow_key_cmp)
                     : NULL;
        if (a) {
            status = "200";
            text = "OK";
            user = a->user;
            log_info("zap.admitted", "client", LOG_S(user), "key", LOG_S(z85), "address",
                     LOG_S(address), NULL);
        } else {
            text = "client key not on the allow-list";
            log_warn("zap.denied", "key", LOG_S(z85), "address", LOG_S(address), "reason",
                     LOG_S(text), NULL);
        }
    }
    /* reply: version, request id, status code, status text, user id, metadata */
    int flags = ZMQ_SNDMORE;
    int rc = zmq_send(z->rep, "1.0", 3, flags) < 0 ||
             zmq_send(z->rep, n >= 2 ? zmq_msg_data(&f[1]) : "", n >= 2 ? zmq_msg_size(&f[1]) : 0,
                      flags) < 0 ||
             zmq_send(z->rep, status, strlen(status), flags) < 0 ||
             zmq_send(z->rep, text, strlen(text), flags) < 0 ||
             zmq_send(z->rep, user, strlen(user), flags) < 0 || zmq_send(z->rep, "", 0, 0) < 0
         ? -1
         : 0;
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return rc;
}

static void *zap_main(void *arg)
{
    curve_zap_t *z = arg;
    zmq_pollitem_t items[] = {{z->rep, 0, ZMQ_POLLIN, 0}, {z->ctl_in, 0, ZMQ_POLLIN, 0}};
    for (;;) {
        if (zmq_poll(items, 2, -1) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            break; /* ETERM: the context is going away */
        }
        if (items[1].revents & ZMQ_POLLIN)
            break;
        if ((items[0].revents & ZMQ_POLLIN) && zap_serve(z) != 0 && zmq_errno() == ETERM)
            break;
    }
    /* zmq_close releases an inproc name only later, in the reaper thread;
     * an unbind releases it now, so a new handler may bind right away. */
    zmq_unbind(z->rep, CURVE_ZAP_ENDPOINT);
    zmq_unbind(z->ctl_in, z->ctl);
    zmq_close(z->rep);
    zmq_close(z->ctl_in);
    z->rep = z->ctl_in = NULL;
    return NULL;
}

static void zap_free(curve_zap_t *z)
{
    if (z->rep) {
        zmq_unbind(z->rep, CURVE_ZAP_ENDPOINT); /* fails harmlessly when not bound */
        zmq_close(z->rep);
    }
    if (z->ctl_in) {
        zmq_unbind(z->ctl_in, z->ctl);
        zmq_close(z->ctl_in);
    }
    if (z->ctl_out)
        zmq_close(z->ctl_out);
    free(z->keys);
    free(z->path);
    free(z);
}

curve_zap_t *curve_zap_start(void *zctx, const char *allowlist_path)
{
    if (!allowlist_path || !*allowlist_path) {
        log_error("zap.start_failed", "error", LOG_S("no allow-list file (AID_ALLOWED_KEYS)"), NULL);
        return NULL;
    }
    curve_zap_t *z = calloc(1, sizeof *z);
    if (!z || !(z->path = strdup(allowlist_path))) {
        free(z);
        log_error("zap.start_failed", "error", LOG_S("out of memory"), NULL);
        return NULL;
    }
    allow_refresh(z);
    if (!z->have_file) {
        log_error("zap.start_failed", "file", LOG_S(allowlist_path), "error",
                  LOG_S("the allow-list cannot be read"), NULL);
        zap_free(z);
        return NULL;
    }
    if (z->nkeys == 0)
        log_warn("zap.allowlist_empty", "file", LOG_S(allowlist_path), "admits", LOG_S("nobody"), NULL);
    snprintf(z->ctl, sizeof z->ctl, "inproc://curve-zap-ctl-%p", (void *)z);
    int linger = 0;
    const char *step = "socket";
    if (!(z->rep = zmq_socket(zctx, ZMQ_REP)) || !(z->ctl_in = zmq_socket(zctx, ZMQ_PAIR)) ||
        !(z->ctl_out = zmq_socket(zctx, ZMQ_PAIR)))
        goto fail;
    zmq_setsockopt(z->rep, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(z->ctl_in, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(z->ctl_out, ZMQ_LINGER, &linger, sizeof linger);
    step = "bind " CURVE_ZAP_ENDPOINT " (another ZAP handler in this context?)";
    if (zmq_bind(z->rep, CURVE_ZAP_ENDPOINT) != 0)
        goto fail;
    step = "control socket";
    if (zmq_bind(z->ctl_in, z->ctl) != 0 || zmq_connect(z->ctl_out, z->ctl) != 0)
        goto fail;
    /* The thread takes no signal: SIGTERM must reach the main thread (the
     * bus stops its proxy on EINTR). Sockets move to it with the full memory
     * barrier of pthread_create. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&z->thread, NULL, zap_main, z);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        errno = rc;
        step = "thread";
        goto fail;
    }
    log_info("zap.started", "file", LOG_S(allowlist_path), "keys", LOG_I(z->nkeys), NULL);
    return z;
fail:
    log_error("zap.start_failed", "step", LOG_S(step), "error", LOG_S(zmq_strerror(errno)), NULL);
    zap_free(z);
    return NULL;
}

void curve_zap_stop(curve_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    curve_zap_t *z = *self_p;
    /* A PAIR send blocks only while the peer is not connected; it is. If the
     * thread already left (ETERM), the message just stays queued. */
    zmq_send(z->ctl_out, "", 0, ZMQ_DONTWAIT);
    pthread_join(z->thread, NULL);
    zap_free(z);
    *self_p = NULL;
}

/* ---- one-call setup ----------------------------------------------------- */

curve_zap_t *curve_server_setup(void *zctx, const char *prefix, void *const *socks, int nsocks)
{
    char var[128];
    snprintf(var, sizeof var, "%s_ALLOWED_KEYS", prefix);
    const char *allow = config_str(var, config_str("AID_ALLOWED_KEYS", NULL));
    if (!curve_available()) {
        log_error("curve.unavailable", "error", LOG_S("libzmq was built without CURVE"), NULL);
        return NULL;
    }
    curve_keypair_t kp;
    int rc = curve_keypair_load(prefix, &kp);
    if (rc == 1)
        rc = curve_keypair_load("AID_SERVER", &kp);
    if (rc == 1) {
        char need[256];
        snprintf(need, sizeof need, "%s_SECRETKEY[_FILE] or AID_SERVER_SECRETKEY[_FILE]", prefix);
        log_error("curve.no_server_key", "need", LOG_S(need), NULL);
    }
    if (rc != 0)
        return NULL;
    curve_zap_t *zap = curve_zap_start(zctx, allow);
    for (int i = 0; zap && i < nsocks; i++)
        if (curve_server(socks[i], kp.secret_key, kp.public_key) != 0)
            curve_zap_stop(&zap);
    if (zap)
        log_info("curve.server", "public_key", LOG_S(kp.public_key), "sockets", LOG_I(nsocks), NULL);
    curve_keypair_wipe(&kp);
    return zap;
}

int curve_client_setup(void *sock, const char *server_var, const char *client_prefix)
{
    if (!curve_secure())
        return 0;
    char server[CURVE_KEY_LEN + 1];
    int rc = curve_pubkey_load(server_var, server);
    if (rc == 1)
        log_error("curve.no_server_key", "need", LOG_S(server_var), NULL);
    if (rc != 0)
        return -1;
    curve_keypair_t kp;
    rc = curve_keypair_load(client_prefix, &kp);
    if (rc == 1) {
        char need[256];
        snprintf(need, sizeof need, "%s_SECRETKEY[_FILE]", client_prefix);
        log_error("curve.no_client_key", "need", LOG_S(need), NULL);
    }
    if (rc != 0)
        return -1;
    rc = curve_client(sock, server, kp.public_key, kp.secret_key);
    curve_keypair_wipe(&kp);
    return rc;
}
