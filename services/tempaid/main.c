/* tempaid — the tempaid department service: the shared runtime with its policy. */
#include "dept.h"

int main(void) { return dept_main(DEPT_TEMPAID); }
