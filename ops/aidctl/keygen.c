/* keygen.c — `aidctl keygen`: makes the CURVE key pairs of secure mode.
 *
 *   aidctl keygen [--out DIR] [--name NAME]
 *       writes DIR/NAME.key (the secret key, mode 0600) and DIR/NAME.pub (the
 *       public key), each one Z85 line, and prints the allow-list line
 *       "PUBLIC NAME" on stdout, so `aidctl keygen --name civil >> allowed_keys`
 *       admits the new key. Existing files are never overwritten.
 *   aidctl keygen --public-of FILE.key
 *       prints the public key of a secret key file.
 *
 * Keys come from libzmq (zmq_curve_keypair, zmq_curve_public); the secret
 * key is written once, to a file created 0600, and is never printed. */
#include "keygen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aidctl.h"
#include "curve.h"

static const char keygen_help[] =
    "Usage: aidctl keygen [--out DIR] [--name NAME]\n"
    "       aidctl keygen --public-of FILE.key\n"
    "\n"
    "Makes a CURVE key pair for secure mode (AID_SECURE=1, ops/SECURITY.md):\n"
    "DIR/NAME.key holds the secret key (mode 0600: keep it on the machine that\n"
    "uses it), DIR/NAME.pub the public key, one Z85 line each. The allow-list\n"
    "line \"PUBLIC_KEY NAME\" goes to stdout, e.g.\n"
    "    aidctl keygen --out keys --name civil >> var/keys/allowed_keys\n"
    "Existing files are never overwritten.\n"
    "\n"
    "  --out DIR          where to write (default: the current directory;\n"
    "                     made, mode 0700, when missing)\n"
    "  --name NAME        the key's name, 1-63 of [A-Za-z0-9._:@+-] (default\n"
    "                     client); the server sees it as the client's User-Id\n"
    "  --public-of FILE   print the public key of the secret key in FILE\n";

/* Prints "aidctl keygen: " and the message on stderr; the usage exit code. */
__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("aidctl keygen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return AIDCTL_EXIT_USAGE;
}

/* Creates path (never overwriting) with mode and writes line + newline. */
static int write_new(const char *path, mode_t mode, const char *line)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    size_t n = strlen(line);
    int ok = fchmod(fd, mode) == 0 && write(fd, line, n) == (ssize_t)n &&
             write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        unlink(path);
        errno = e;
        return -1;
    }
    return 0;
}

static int public_of(const char *path)
{
    char secret[CURVE_KEY_LEN + 1], pub[CURVE_KEY_LEN + 1], err[512];
    if (curve_key_read(path, secret, err, sizeof err) != 0)
        return fail("%s", err);
    int rc = curve_public_of(secret, pub);
    explicit_bzero(secret, sizeof secret);
    if (rc != 0)
        return fail("%s: not a CURVE secret key", path);
    printf("%s\n", pub);
    return AIDCTL_EXIT_OK;
}

static int generate(const char *dir, const char *name)
{
    if (!curve_name_valid(name))
        return fail("--name %s: use 1 to 63 characters of [A-Za-z0-9._:@+-]", name);
    if (!curve_available())
        return fail("this libzmq has no CURVE support (libsodium)");
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || mkdir(dir, 0700) != 0)
            return fail("cannot use directory %s: %s", dir, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        return fail("%s is not a directory", dir);
    }
    char key_path[4096], pub_path[4096];
    int n1 = snprintf(key_path, sizeof key_path, "%s/%s.key", dir, name);
    int n2 = snprintf(pub_path, sizeof pub_path, "%s/%s.pub", dir, name);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof key_path || (size_t)n2 >= sizeof pub_path)
        return fail("the path %s/%s is too long", dir, name);
    if (lstat(key_path, &st) == 0 || lstat(pub_path, &st) == 0)
        return fail("%s/%s.key or .pub exists: not overwritten (a new key needs a new name, "
                    "or move the old files away; ops/SECURITY.md)",
                    dir, name);
    curve_keypair_t kp;
    if (curve_keypair_new(&kp) != 0)
        return fail("cannot make a key pair");
    int rc = write_new(key_path, 0600, kp.secret_key);
    curve_keypair_wipe(&kp);
    if (rc != 0)
        return fail("cannot write %s: %s", key_path, strerror(errno));
    if (write_new(pub_path, 0644, kp.public_key) != 0) {
        int e = errno;
        unlink(key_path);
        return fail("cannot write %s: %s", pub_path, strerror(e));
    }
    fprintf(stderr, "aidctl keygen: wrote %s (secret, mode 0600) and %s\n", key_path, pub_path);
    printf("%s %s\n", kp.public_key, name);
    return AIDCTL_EXIT_OK;
}

int keygen_main(int argc, char **argv)
{
    const char *out = ".", *name = "client", *public_file = NULL;
    bool out_set = false, name_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(keygen_help, stdout);
            return AIDCTL_EXIT_OK;
        }
        const char *opts[] = {"--out", "--name", "--public-of"};
        int which = -1;
        for (int k = 0; k < 3; k++) {
            size_t len = strlen(opts[k]);
            if (!strncmp(a, opts[k], len) && (a[len] == '\0' || a[len] == '=')) {
                which = k;
                v = a[len] == '=' ? a + len + 1 : NULL;
            }
        }
        if (which < 0)
            return fail("unknown argument %s (see aidctl keygen --help)", a);
        if (!v) {
            if (i + 1 >= argc)
                return fail("%s needs a value", a);
            v = argv[++i];
        }
        if (!*v)
            return fail("%s is empty", opts[which]);
        if (which == 0) {
            out = v;
            out_set = true;
        } else if (which == 1) {
            name = v;
            name_set = true;
        } else {
            public_file = v;
        }
    }
    if (public_file)
        return out_set || name_set ? fail("--public-of takes no --out or --name")
                                   : public_of(public_file);
    return generate(out, name);
}
