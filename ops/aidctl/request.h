/* request.h — turning a JSON file into a request: reading it, telling a body
 * from a whole envelope, the default id and the MessagePack envelope bytes. */
#ifndef AIDCTL_REQUEST_H
#define AIDCTL_REQUEST_H

#include <jansson.h>
#include <msgpack.h>
#include <stdbool.h>

#define REQUEST_ID_MAX 256              /* bytes, like every protocol string */
#define REQUEST_INPUT_MAX (16 * 1024 * 1024)

/* What a JSON file held: a body, or an envelope {"v","op","id","body"}. */
typedef struct {
    bool envelope;
    char op[REQUEST_ID_MAX + 1];        /* envelope only */
    char id[REQUEST_ID_MAX + 1];        /* envelope only; "" when it has none */
    json_t *body;                       /* a JSON object (owned) */
} request_input_t;

typedef struct {
    char id[REQUEST_ID_MAX + 1];
    msgpack_sbuffer bytes;              /* the whole MessagePack envelope */
} request_t;

/* Reads path ("-" for standard input). -1 with err filled when it cannot be
 * read, is not JSON, is not an object, or is a malformed envelope. */
int request_load(const char *path, request_input_t *in, char *err, size_t errsz);
void request_input_free(request_input_t *in);

/* Packs {"v":1,"op":op,"id":…,"body":body}. The id is id when not NULL, else
 * "aidctl-" and 16 hex digits of the FNV-1a hash of the body's bytes (keys
 * in byte order, so the same JSON always gives the same id). body NULL
 * sends {}. -1 with err filled on a real number (its path) or no memory. */
int request_build(request_t *r, const char *op, const char *id, const json_t *body, char *err,
                  size_t errsz);
void request_free(request_t *r);

#endif
