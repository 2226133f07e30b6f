/* dept.h — the runtime every department service shares.
 *
 * A department service is `int main(void) { return dept_main(DEPT_CIVIL); }`:
 * claim pending referrals addressed to it, decide each with its pure policy
 * function, record decision + measures + completion in one transaction,
 * publish case.updated. */
#ifndef AID_DEPT_H
#define AID_DEPT_H

#include <pthread.h>

#include "policy.h"

int dept_main(dept_t dept);
/* The same for a department that also owns operations behind the front door
 * (care): after start-up, start(name, &thread) serves them on a thread of its
 * own (common/serve.h serve_start: 0 when started), also while its decisions
 * are made by an external handler (AID_EXTERNAL_DEPARTMENTS); stop(thread)
 * ends it when the worker loop ends (serve_stop). */
typedef struct {
    int (*start)(const char *service, pthread_t *thread);
    void (*stop)(pthread_t thread);
} dept_owner_t;
int dept_main_owning(dept_t dept, const dept_owner_t *owner);

/* The departments host (services/departments): every built-in department not
 * in AID_EXTERNAL_DEPARTMENTS decided by one process, one transaction per step
 * for all of them (dept.c). With AID_DEPARTMENTS_HOST=1 the department services
 * leave their referrals to it and serve only their operations. */
int dept_host_main(void);

#endif
