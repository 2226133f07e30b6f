/* supervision — the county's oversight operations behind the front door
 * (issue 15): the monthly ledger and its submissions, the public disclosure
 * list, complaints, and the moves of cases between townships. It serves
 * them (common/serve.h) as the Postgres role aid_supervision, which may
 * write only its own records (ops/sql/20_roles.sql), and answers the
 * metrics port's /readyz and /healthz like every service. */
#include "config.h"
#include "metrics.h"
#include "serve.h"
#include "svc.h"

int main(void)
{
    svc_init("supervision");
    svc_require_pii();
    metrics_t *m = metrics_new("supervision");
    metrics_readiness(m, config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    metrics_listen(m);
    int rc = serve_run("supervision");
    metrics_destroy(&m);
    return rc;
}
