/* intake — the front door of the system (PROTOCOL.md over a ZeroMQ ROUTER).
 * Configuration: AID_INTAKE_API (or AID_INTAKE_BIND), AID_PG_DSN,
 * AID_REDIS_URL, AID_BUS_PUB. */
#include "intake.h"
#include "svc.h"

int main(void)
{
    svc_init("intake");
    svc_require_pii();
    intake_t *intake = intake_new();
    if (!intake)
        return 1;
    int rc = intake_run(intake);
    intake_destroy(&intake);
    return rc;
}
