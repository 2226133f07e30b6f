/* server.h — the gateway's HTTP server (libmicrohttpd, event-driven): static
 * pages from www/ and the JSON API under /api (routes.c), run by workers. */
#ifndef AID_GATEWAY_SERVER_H
#define AID_GATEWAY_SERVER_H

#include "gateway.h"

typedef struct server server_t;

/* Listens on host:port (IPv4 literal) and serves until server_destroy.
 * NULL when the port cannot be bound (logged). */
server_t *server_new(gw_t *gw, const char *host, int port);
/* Lets the workers finish the requests they hold, stops the server, frees.
 * Call events_stop first so that live streams end (none stays suspended). */
void server_destroy(server_t **self_p);

#endif
