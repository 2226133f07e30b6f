/* api_auth.c — sign-in, sign-out, the session's user and CSRF token, and
 * changing one's password.
 *
 * Cookies are HttpOnly and SameSite=Strict (Secure too when
 * AID_GATEWAY_SECURE_COOKIES=1, i.e. behind TLS). The session cookie carries
 * a random token; the database keeps only its hash. Each session has its own
 * CSRF token, which pages read from GET /api/session and send back in the
 * X-CSRF-Token header of every POST. Before sign-in, the login form is
 * protected the same way by a pre-session token (cookie aid_pre, double
 * submit). Login attempts are rate-limited per user and per client address,
 * counted in Postgres so that every gateway process sees the same figures,
 * and counted before the password is checked (one atomic statement), so that
 * attempts sent at once cannot all pass a count none of them has raised yet. */
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "gateway.h"
#include "log.h"

#define LOGIN_WINDOW_MIN 15     /* attempts counted over this window */
#define LOGIN_MAX_PER_USER 5    /* failures; more attempts get 429 for that user name */
#define LOGIN_MAX_PER_CLIENT 20 /* failures; more attempts get 429 from that address */

static void set_cookie(gw_t *gw, char *slot, size_t slotsz, const char *name, const char *value,
                       int max_age)
{
    snprintf(slot, slotsz, "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", name, value,
             max_age, gw->secure_cookies ? "; Secure" : "");
}

static json_t *user_json(const db_user_t *u)
{
    return json_pack("{s:s,s:s,s:s,s:s}", "username", u->username, "role",
                     db_role_names[u->role], "scope", u->scope, "display_name", u->display);
}

static bool username_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '.' || c == '_' || c == '-'));
        if (!ok)
            return false;
    }
    return true;
}

/* Verifies a password with at most a few argon2id runs at once (each takes
 * 64 MiB), and runs one against a dummy hash for unknown users so that the
 * answer takes as long. */
static bool verify(gw_t *gw, const char *hash, const char *pw)
{
    sem_wait(gw->hashing);
    bool ok = auth_password_verify(hash ? hash : gw->dummy_hash, pw) && hash;
    sem_post(gw->hashing);
    return ok;
}

/* Opens a session for user: cookie in slot 0, CSRF token into the result. */
static int open_session(gw_req_t *r, gw_reply_t *out, const db_user_t *user)
{
    char token[64], csrf[64];
    unsigned char hash[32];
    auth_token_new(token, sizeof token);
    auth_token_new(csrf, sizeof csrf);
    auth_token_hash(token, hash);
    if (db_session_add(r->gw->db, hash, user->username, csrf, r->client,
                       r->gw->session_hours) != 0) {
        gw_fail(out, 503, "unavailable", NULL, "数据库暂不可用,请稍后重试");
        return -1;
    }
    set_cookie(r->gw, out->set_cookie[0], sizeof out->set_cookie[0], "aid_session", token,
               r->gw->session_hours * 3600);
    gw_ok(out, json_pack("{s:b,s:o,s:s}", "authenticated", 1, "user", user_json(user), "csrf",
                         csrf));
    return 0;
}

int api_session(gw_req_t *r, gw_reply_t *out)
{
    if (r->user)
        return gw_ok(out, json_pack("{s:b,s:o,s:s}", "authenticated", 1, "user",
                                    user_json(r->user), "csrf", r->user->csrf));
    /* not signed in: a pre-session token protects the login form */
    char pre[64];
    auth_token_new(pre, sizeof pre);
    set_cookie(r->gw, out->set_cookie[0], sizeof out->set_cookie[0], "aid_pre", pre, 3600);
    return gw_ok(out, json_pack("{s:b,s:s}", "authenticated", 0, "csrf", pre));
}

int api_login(gw_req_t *r, gw_reply_t *out)
{
    const char *pre = gw_cookie(r, "aid_pre");
    const char *csrf = gw_header(r, "X-CSRF-Token");
    if (!pre || !csrf || !auth_token_equal(pre, csrf))
        return gw_fail(out, 403, "unauthorized", "csrf", "CSRF 令牌无效,请刷新页面后重试");
    json_t *body = gw_body_object(r, out);
    if (!body)
        return 0;
    const char *username = json_string_value(json_object_get(body, "username"));
    const char *password = json_string_value(json_object_get(body, "password"));
    if (!username || !username_valid(username)) {
        gw_fail(out, 400, "invalid_field", "username", "请输入用户名");
        goto done;
    }
    if (!password || !*password || strlen(password) > 1024) {
        gw_fail(out, 400, "invalid_field", "password", "请输入密码");
        goto done;
    }
    /* the attempt is counted before its password is checked, atomically: of
     * many sent at once, only those within the limits are checked */
    int by_user = 0, by_client = 0;
    if (db_login_count(r->gw->db, username, r->client, LOGIN_WINDOW_MIN, &by_user,
                       &by_client) != 0) {
        gw_fail(out, 503, "unavailable", NULL, "数据库暂不可用,请稍后重试");
        goto done;
    }
    if (by_user > LOGIN_MAX_PER_USER || by_client > LOGIN_MAX_PER_CLIENT) {
        log_warn("gateway.login_limited", "user", LOG_S(username), "client", LOG_S(r->client),
                 NULL);
        /* refused unchecked: not a failure (while it was counted, it only
         * kept others out) */
        db_login_credit(r->gw->db, username, r->client);
        gw_fail(out, 429, "rate_limited", NULL, "登录失败次数过多,请 15 分钟后再试");
        out->retry_after = LOGIN_WINDOW_MIN * 60;
        goto done;
    }
    char hash[256] = "";
    db_user_t user;
    int found = db_user_hash(r->gw->db, username, hash, sizeof hash, &user);
    if (found < 0) {
        gw_fail(out, 503, "unavailable", NULL, "数据库暂不可用,请稍后重试");
        goto done;
    }
    bool ok = verify(r->gw, found ? hash : NULL, password);
    db_login_record(r->gw->db, username, r->client, ok);
    if (!ok) {
        log_info("gateway.login_failed", "user", LOG_S(username), "client", LOG_S(r->client),
                 NULL);
        gw_fail(out, 401, "unauthorized", NULL, "用户名或密码错误");
        goto done;
    }
    /* a success is not a failure: it takes itself off both counters, but
     * not the failures before it (they were guesses, and they stay counted
     * for their window whoever signs in meanwhile) */
    db_login_credit(r->gw->db, username, r->client);
    if (open_session(r, out, &user) == 0) {
        set_cookie(r->gw, out->set_cookie[1], sizeof out->set_cookie[1], "aid_pre", "", 0);
        db_audit_add(r->gw->db, &user, "login", "", "", r->client);
    }
done:
    json_decref(body);
    return 0;
}

int api_logout(gw_req_t *r, gw_reply_t *out)
{
    unsigned char hash[32];
    auth_token_hash(r->session_token, hash);
    if (db_session_end(r->gw->db, hash, false) != 0)
        return gw_fail(out, 503, "unavailable", NULL, "数据库暂不可用,请稍后重试");
    gw_audit(r, "logout", "", "");
    set_cookie(r->gw, out->set_cookie[0], sizeof out->set_cookie[0], "aid_session", "", 0);
    return gw_ok(out, json_pack("{s:b}", "authenticated", 0));
}

int api_password(gw_req_t *r, gw_reply_t *out)
{
    json_t *body = gw_body_object(r, out);
    if (!body)
        return 0;
    const char *old_pw = json_string_value(json_object_get(body, "old_password"));
    const char *new_pw = json_string_value(json_object_get(body, "new_password"));
    const char *weak = new_pw ? auth_password_weak(new_pw) : "请输入新密码";
    char hash[256] = "", fresh[256];
    db_user_t user;
    if (!old_pw || strlen(old_pw) > 1024) {
        gw_fail(out, 400, "invalid_field", "old_password", "请输入原密码");
        goto done;
    }
    if (weak) {
        gw_fail(out, 400, "invalid_field", "new_password", weak);
        goto done;
    }
    int found = db_user_hash(r->gw->db, r->user->username, hash, sizeof hash, &user);
    if (found < 0) {
        gw_fail(out, 503, "unavailable", NULL, "数据库暂不可用,请稍后重试");
        goto done;
    }
    if (!found || !verify(r->gw, hash, old_pw)) {
        gw_fail(out, 400, "invalid_field", "old_password", "原密码不正确");
        goto done;
    }
    if (auth_password_hash(new_pw, fresh, sizeof fresh) != 0 ||
        db_user_set_hash(r->gw->db, r->user->username, fresh) != 0) {
        gw_fail(out, 503, "unavailable", NULL, "数据库暂不可用,请稍后重试");
        goto done;
    }
    gw_audit(r, "password", "", "");
    /* every session of the user ended with the change: this one goes on anew */
    open_session(r, out, &user);
done:
    json_decref(body);
    return 0;
}
