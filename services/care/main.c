/* care — the care department service: the shared runtime with its policy,
 * and the owner of the care operations behind the front door (visits.due,
 * visit.record: op_visits.c; caregiver.score: op_caregiver.c), served on a
 * thread of their own (common/serve.h). */
#include "dept.h"
#include "serve.h"

int main(void)
{
    static const dept_owner_t owner = {serve_start, serve_stop};
    return dept_main_owning(DEPT_CARE, &owner);
}
