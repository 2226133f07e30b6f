/* www.h — the console's static pages (services/gateway/www), read once at
 * start and served from memory with an ETag, so a browser revalidates with
 * a cheap 304. No templates: the pages are plain HTML, CSS and JavaScript
 * that fetch their data from /api. */
#ifndef AID_GATEWAY_WWW_H
#define AID_GATEWAY_WWW_H

#include <stddef.h>

typedef struct www www_t;

typedef struct {
    const char *name;     /* "case.html" */
    const char *data;
    size_t len;
    const char *ctype;    /* "text/html; charset=utf-8" */
    char etag[24];        /* "\"<16 hex>\"" */
} www_file_t;

/* Loads every regular file of dir (not recursive). NULL when dir cannot be
 * read or a file is larger than 2 MiB (logged). */
www_t *www_new(const char *dir);
void www_destroy(www_t **self_p);
/* The file for a URL path ("/" is index.html), or NULL. */
const www_file_t *www_find(const www_t *self, const char *path);

#endif
