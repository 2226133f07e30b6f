/* dept.h — the runtime every department service shares.
 *
 * A department service is `int main(void) { return dept_main(DEPT_CIVIL); }`:
 * claim pending referrals addressed to it, decide each with its pure policy
 * function, record decision + measures + completion in one transaction,
 * publish case.updated. */
#ifndef AID_DEPT_H
#define AID_DEPT_H

#include "policy.h"

int dept_main(dept_t dept);

#endif
