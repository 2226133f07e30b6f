/* decisions — the department runtime's operations behind the front door
 * (issue 15): referrals.pending and decision.submit for the departments that
 * run their own handler (AID_EXTERNAL_DEPARTMENTS; op_referrals.c), and the
 * overdue list of the quarterly joint meeting (referrals.overdue;
 * op_overdue.c). It serves them (common/serve.h) as the Postgres role
 * aid_decisions, which may read the referrals and what led to them and
 * record decisions, nothing else (ops/sql/20_roles.sql), and answers the
 * metrics port's /readyz and /healthz like every service. */
#include "config.h"
#include "metrics.h"
#include "serve.h"
#include "svc.h"

int main(void)
{
    svc_init("decisions");
    svc_require_pii();
    metrics_t *m = metrics_new("decisions");
    metrics_readiness(m, config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    metrics_listen(m);
    int rc = serve_run("decisions");
    metrics_destroy(&m);
    return rc;
}
