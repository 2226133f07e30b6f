/* main.c — gateway: the web console (HTTP/JSON over the intake contract).
 *
 * Configuration (environment):
 *   AID_GATEWAY_URL            where to listen, http://127.0.0.1:18080 (an IPv4 host)
 *   AID_GATEWAY_WWW            the static pages (default: services/gateway/www
 *                              beside this binary's bin/)
 *   AID_GATEWAY_TIMEOUT_MS     how long to wait for intake (10000)
 *   AID_GATEWAY_SECURE_COOKIES 1 behind TLS: cookies get Secure (0)
 *   AID_GATEWAY_SESSION_HOURS  absolute session lifetime (8)
 *   AID_GATEWAY_IDLE_MINUTES   idle session lifetime (30)
 *   AID_GATEWAY_HEADER_MS      a request's header must be whole this long after
 *                              its connection opened or its previous reply (10000)
 *   AID_GATEWAY_WORKERS        threads running API requests (32, as many as
 *                              the sockets to intake)
 *   AID_GATEWAY_MAX_CONNECTIONS open connections at most (4096; fewer when
 *                              descriptors are short)
 *   AID_GATEWAY_MAX_PER_ADDRESS of them from one client address (256)
 *   AID_INTAKE_API, AID_BUS_SUB, AID_PG_DSN as for every service. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include <sodium.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "svc.h"

/* host and port of an http://HOST:PORT URL. */
static int parse_url(const char *url, char *host, size_t hostsz, int *port)
{
    if (strncmp(url, "http://", 7) == 0)
        url += 7;
    const char *colon = strrchr(url, ':');
    if (!colon || (size_t)(colon - url) >= hostsz)
        return -1;
    snprintf(host, hostsz, "%.*s", (int)(colon - url), url);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, hostsz, "127.0.0.1");
    *port = atoi(colon + 1);
    return *port > 0 && *port < 65536 ? 0 : -1;
}

/* services/gateway/www beside the directory of this binary (bin/..). */
static void default_www(char *out, size_t outsz)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    snprintf(out, outsz, "services/gateway/www");
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, outsz, "%s/services/gateway/www", exe);
}

int main(void)
{
    svc_init("gateway");
    if (sodium_init() < 0) {
        log_error("gateway.sodium_failed", NULL);
        return 1;
    }
    char host[64], www_dir[PATH_MAX];
    int port;
    const char *url = config_str("AID_GATEWAY_URL", "http://127.0.0.1:18080");
    if (parse_url(url, host, sizeof host, &port) != 0) {
        log_error("gateway.bad_url", "url", LOG_S(url), NULL);
        return 2;
    }
    default_www(www_dir, sizeof www_dir);
    sem_t hashing;
    sem_init(&hashing, 0, 2);
    gw_t gw = {
        .secure_cookies = config_int("AID_GATEWAY_SECURE_COOKIES", 0, 0, 1) == 1,
        .session_hours = (int)config_int("AID_GATEWAY_SESSION_HOURS", 8, 1, 24 * 30),
        .idle_minutes = (int)config_int("AID_GATEWAY_IDLE_MINUTES", 30, 1, 24 * 60),
        .hashing = &hashing,
    };
    int rc = 1;
    server_t *server = NULL;
    void *zctx = zmq_ctx_new();
    if (auth_password_hash("not a password of anyone", gw.dummy_hash, sizeof gw.dummy_hash) != 0)
        goto out;
    gw.www = www_new(config_str("AID_GATEWAY_WWW", www_dir));
    gw.db = db_new(config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    gw.ready = ready_new(config_str("AID_PG_DSN", "host=127.0.0.1 dbname=aid"));
    gw.intake = ic_new(zctx, config_str("AID_INTAKE_API", "tcp://127.0.0.1:5601"),
                       (int)config_int("AID_GATEWAY_TIMEOUT_MS", 10000, 100, 600000), 32);
    gw.events = events_new(zctx, config_str("AID_BUS_SUB", "tcp://127.0.0.1:5602"));
    if (!zctx || !gw.www || !gw.db || !gw.ready || !gw.intake || !gw.events)
        goto out;
    server = server_new(&gw, host, port);
    if (!server)
        goto out;
    log_info("gateway.started", "url", LOG_S(url), NULL);
    while (!svc_stopping())
        usleep(200 * 1000);
    rc = 0;
out:
    if (gw.events)
        events_stop(gw.events); /* ends the live streams, so the server can stop */
    server_destroy(&server);
    events_destroy(&gw.events);
    ic_destroy(&gw.intake);
    db_destroy(&gw.db);
    ready_destroy(&gw.ready);
    www_destroy(&gw.www);
    if (zctx)
        zmq_ctx_term(zctx);
    sem_destroy(&hashing);
    log_info("gateway.stopped", NULL);
    return rc;
}
