/* workers.c — threads running queued jobs (see workers.h). */
#include "workers.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct job {
    void *arg;
    struct job *next;
} job_t;

struct workers {
    void (*run)(void *job);
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* a job was queued, or stopping */
    job_t *head, *tail;
    bool stopping;
    int n;                 /* threads started */
    pthread_t *threads;
};

static void *loop(void *arg)
{
    workers_t *self = arg;
    for (;;) {
        pthread_mutex_lock(&self->mu);
        while (!self->head && !self->stopping)
            pthread_cond_wait(&self->cv, &self->mu);
        job_t *j = self->head;
        if (j) {
            self->head = j->next;
            if (!self->head)
                self->tail = NULL;
        }
        pthread_mutex_unlock(&self->mu);
        if (!j)
            return NULL; /* stopping and nothing left */
        self->run(j->arg);
        free(j);
    }
}

workers_t *workers_new(int n, void (*run)(void *job))
{
    workers_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->run = run;
    self->threads = calloc((size_t)(n > 0 ? n : 1), sizeof *self->threads);
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->cv, NULL);
    for (int i = 0; self->threads && i < n; i++) {
        if (pthread_create(&self->threads[i], NULL, loop, self) != 0)
            break;
        self->n++;
    }
    if (self->n == 0) {
        workers_destroy(&self);
        return NULL;
    }
    return self;
}

int workers_push(workers_t *self, void *arg)
{
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->arg = arg;
    pthread_mutex_lock(&self->mu);
    if (self->stopping) {
        pthread_mutex_unlock(&self->mu);
        free(j);
        return -1;
    }
    if (self->tail)
        self->tail->next = j;
    else
        self->head = j;
    self->tail = j;
    pthread_cond_signal(&self->cv);
    pthread_mutex_unlock(&self->mu);
    return 0;
}

void workers_stop(workers_t *self)
{
    pthread_mutex_lock(&self->mu);
    bool joined = self->stopping;
    self->stopping = true;
    pthread_cond_broadcast(&self->cv);
    pthread_mutex_unlock(&self->mu);
    if (!joined)
        for (int i = 0; i < self->n; i++)
            pthread_join(self->threads[i], NULL);
}

void workers_destroy(workers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    workers_t *self = *self_p;
    workers_stop(self);
    pthread_cond_destroy(&self->cv);
    pthread_mutex_destroy(&self->mu);
    free(self->threads);
    free(self);
    *self_p = NULL;
}
