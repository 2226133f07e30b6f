/* www.c — static files in memory (see www.h). */
#include "www.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

#define WWW_MAX_FILES 128
#define WWW_MAX_FILE (2 * 1024 * 1024)

struct www {
    int n;
    www_file_t files[WWW_MAX_FILES];
};

static const char *ctype_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(WWW_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, WWW_MAX_FILE + 1, f) : 0;
    int bad = ferror(f) || n > WWW_MAX_FILE;
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

www_t *www_new(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        log_error("gateway.www_missing", "dir", LOG_S(dir), NULL);
        return NULL;
    }
    www_t *self = calloc(1, sizeof *self);
    struct dirent *e;
    while (self && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        size_t len = 0;
        char *data = self->n < WWW_MAX_FILES ? slurp(path, &len) : NULL;
        if (!data) {
            log_error("gateway.www_unreadable", "file", LOG_S(path), NULL);
            www_destroy(&self);
            break;
        }
        www_file_t *f = &self->files[self->n++];
        f->name = strdup(e->d_name);
        f->data = data;
        f->len = len;
        f->ctype = ctype_of(e->d_name);
        uint64_t h = 1469598103934665603ull; /* FNV-1a of the content */
        for (size_t i = 0; i < len; i++)
            h = (h ^ (unsigned char)data[i]) * 1099511628211ull;
        snprintf(f->etag, sizeof f->etag, "\"%016llx\"", (unsigned long long)h);
        if (!f->name) {
            www_destroy(&self);
            break;
        }
    }
    closedir(d);
    return self;
}

void www_destroy(www_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    www_t *self = *self_p;
    for (int i = 0; i < self->n; i++) {
        free((char *)self->files[i].name);
        free((char *)self->files[i].data);
    }
    free(self);
    *self_p = NULL;
}

const www_file_t *www_find(const www_t *self, const char *path)
{
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    if (path[0] != '/' || strchr(path + 1, '/'))
        return NULL;
    for (int i = 0; i < self->n; i++)
        if (strcmp(self->files[i].name, path + 1) == 0)
            return &self->files[i];
    return NULL;
}
