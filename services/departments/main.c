/* departments — the departments host: every built-in department not run by an
 * external handler, decided in one process and one transaction per step
 * (services/department/dept.c, dept_host_main). Run it with
 * AID_DEPARTMENTS_HOST=1 for the department services, which then serve only
 * their operations (ops/README.md, "The departments host"). */
#include "dept.h"

int main(void) { return dept_host_main(); }
