/* workers.h — a fixed set of threads that run the API's handlers.
 *
 * libmicrohttpd runs event-driven (server.c): a few threads serve every
 * connection, so a handler that blocks (a call to intake, a database query,
 * a password hash) must not run in them. The server suspends the connection,
 * hands the request here, and a worker runs the handler and resumes the
 * connection, whose thread then sends the reply. A slow request holds one
 * worker; the others, and every connection, go on. */
#ifndef AID_GATEWAY_WORKERS_H
#define AID_GATEWAY_WORKERS_H

typedef struct workers workers_t;

/* Starts n threads that call run(job) for each job pushed. NULL on failure. */
workers_t *workers_new(int n, void (*run)(void *job));
/* Queues job (run by the next free worker, in order). -1 when stopping. */
int workers_push(workers_t *self, void *job);
/* Runs the jobs still queued and joins the threads; pushes are refused from
 * now on (the struct stays valid until workers_destroy). */
void workers_stop(workers_t *self);
/* Stops (if not yet) and frees. */
void workers_destroy(workers_t **self_p);

#endif
