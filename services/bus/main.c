/* bus — the event bus broker: XSUB (publishers connect) ↔ XPUB (subscribers).
 *
 * Services publish to AID_BUS_PUB and subscribe at AID_BUS_SUB, so any number
 * of publishers and subscribers find each other through one known address.
 * The broker keeps nothing: every event is durable in Postgres before it is
 * published, and a subscriber that misses one catches up from there.
 *
 * In secure mode (AID_SECURE=1) both sides are CURVE servers with the key
 * pair AID_BUS_SECRETKEY[_FILE] (else AID_SERVER_...), and a ZAP handler
 * admits only the service keys on AID_BUS_ALLOWED_KEYS (else
 * AID_ALLOWED_KEYS); see ops/SECURITY.md. */
#include <errno.h>
#include <zmq.h>

#include "config.h"
#include "curve.h"
#include "log.h"
#include "svc.h"

int main(void)
{
    svc_init("bus");
    const char *pub_ep = config_str("AID_BUS_PUB_BIND", config_str("AID_BUS_PUB", "tcp://127.0.0.1:5603"));
    const char *sub_ep = config_str("AID_BUS_SUB_BIND", config_str("AID_BUS_SUB", "tcp://127.0.0.1:5602"));
    void *ctx = zmq_ctx_new();
    void *xsub = zmq_socket(ctx, ZMQ_XSUB);
    void *xpub = zmq_socket(ctx, ZMQ_XPUB);
    int linger = 0, hwm = 200000;
    zmq_setsockopt(xsub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(xpub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(xsub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(xpub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    /* the ZAP handler must be up before the first bind: never unprotected */
    void *socks[] = {xsub, xpub};
    curve_zap_t *zap = NULL;
    if (curve_secure() && !(zap = curve_server_setup(ctx, "AID_BUS", socks, 2)))
        return 1;
    if (zmq_bind(xsub, pub_ep) != 0 || zmq_bind(xpub, sub_ep) != 0) {
        log_error("bus.bind_failed", "error", LOG_S(zmq_strerror(errno)), NULL);
        return 1;
    }
    log_info("bus.started", "publishers", LOG_S(pub_ep), "subscribers", LOG_S(sub_ep), "secure",
             LOG_I(zap != NULL), NULL);
    /* A steerable proxy would need a control socket; a signal interrupts
     * zmq_proxy with EINTR, which is all the shutdown this needs. */
    while (!svc_stopping()) {
        zmq_proxy(xsub, xpub, NULL);
        if (errno != EINTR)
            break;
    }
    zmq_close(xsub);
    zmq_close(xpub);
    curve_zap_stop(&zap);
    zmq_ctx_term(ctx);
    log_info("bus.stopped", NULL);
    return 0;
}
