/* api_ops.c — the operations that need no special handling, driven by the
 * route table (routes.c): the body is the POSTed JSON object, or for a GET
 * the query parameters the route names; the user's reach is enforced; the
 * operation goes to intake and its result or error comes back as JSON.
 * Writes get a request id per form submission and an audit row.
 *
 * Also the ledger as CSV: the rows of ledger.monthly, one line each, in the
 * form a township sends to the county office by the 28th — Chinese headers,
 * the township's name (places), the section and item named in Chinese
 * (measure names from proto/zh.c) beside their codes, amounts in yuan. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "gateway.h"
#include "zh.h"

/* Copies the route's query parameters into body. -1 (400 answered) when an
 * integer parameter is not one. */
static int query_into(gw_req_t *r, gw_reply_t *out, json_t *body)
{
    const char *list = r->route->query;
    while (list && *list) {
        size_t n = strcspn(list, ",");
        char name[48];
        snprintf(name, sizeof name, "%.*s", (int)n, list);
        list += n + (list[n] == ',');
        bool integer = name[0] == '#';
        const char *key = integer ? name + 1 : name;
        const char *v = gw_query(r, key);
        if (!v || !*v)
            continue;
        if (!integer) {
            json_object_set_new(body, key, json_string(v));
            continue;
        }
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || *end) {
            gw_fail(out, 400, "invalid_field", key, "须为整数");
            return -1;
        }
        json_object_set_new(body, key, json_integer(x));
    }
    return 0;
}

/* Sets or checks body[key] against the user's scope. */
static int own_scope(gw_req_t *r, gw_reply_t *out, json_t *body, const char *key)
{
    const char *v = json_string_value(json_object_get(body, key));
    if (!v) {
        json_object_set_new(body, key, json_string(r->user->scope));
        return 0;
    }
    if (strcmp(v, r->user->scope) == 0)
        return 0;
    gw_fail(out, 403, "unauthorized", key, "超出您的辖区或部门");
    return -1;
}

/* Keeps a user to their reach (gateway.h, gw_reach_t). */
static int check_reach(gw_req_t *r, gw_reply_t *out, json_t *body)
{
    role_t role = r->user->role;
    json_t *area = NULL;
    char case_id[64];
    switch (r->route->reach) {
    case REACH_ANY:
        return 0;
    case REACH_TOWNSHIP:
        return role == ROLE_TOWNSHIP ? own_scope(r, out, body, "township") : 0;
    case REACH_DEPARTMENT:
        return role == ROLE_DEPARTMENT ? own_scope(r, out, body, "department") : 0;
    case REACH_VILLAGE: {
        const char *v = json_string_value(json_object_get(body, "village"));
        if (role != ROLE_TOWNSHIP || !v || strncmp(v, r->user->scope, strlen(r->user->scope)) == 0)
            return 0;
        gw_fail(out, 403, "unauthorized", "village", "超出您的辖区");
        return -1;
    }
    case REACH_PERSON:
    case REACH_CASE: {
        bool person = r->route->reach == REACH_PERSON, own_only;
        const char *key = person ? "id_number" : "case_id";
        json_t *v = json_object_get(body, key);
        if (role != ROLE_TOWNSHIP)
            return 0;
        if (!person && own_scope(r, out, body, "township") != 0)
            return -1;
        if (!json_is_string(v))
            return 0; /* intake validates what is missing or malformed */
        json_t *query = json_pack("{s:O}", key, v);
        int rc = api_case_reach(r, out, query, &area, case_id, sizeof case_id,
                                person ? NULL : &own_only);
        json_decref(query);
        json_decref(area);
        return rc;
    }
    }
    return 0;
}

/* A department officer sees only their department's rows of a list. */
static void keep_department(json_t *result, const char *department)
{
    const char *key;
    json_t *list;
    json_object_foreach(result, key, list) {
        if (!json_is_array(list))
            continue;
        for (size_t i = json_array_size(list); i-- > 0;) {
            const char *d = json_string_value(json_object_get(json_array_get(list, i), "department"));
            if (d && strcmp(d, department) != 0)
                json_array_remove(list, i);
        }
    }
}

/* Removes every "id_number" from a result: the console shows staff ID
 * numbers masked only (R-DISCLOSE); the masked form travels beside it. */
static void strip_id_numbers(json_t *v)
{
    if (json_is_object(v)) {
        json_object_del(v, "id_number");
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val)
            strip_id_numbers(val);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *val;
        json_array_foreach(v, i, val)
            strip_id_numbers(val);
    }
}

/* The body for the route's operation. NULL when answered (400/403). */
static json_t *build_body(gw_req_t *r, gw_reply_t *out)
{
    bool post = strcmp(r->method, "POST") == 0;
    json_t *body = post ? gw_body_object(r, out) : json_object();
    if (!body)
        return NULL;
    if (!post && query_into(r, out, body) != 0)
        goto fail;
    if (r->route->path_key && r->route->path_key[0] == '#') {
        long long n;
        if (gw_param_id(r, out, r->route->path_key + 1, &n) != 0)
            goto fail;
        json_object_set_new(body, r->route->path_key + 1, json_integer(n));
    } else if (r->route->path_key) {
        json_object_set_new(body, r->route->path_key, json_string(r->param[0]));
    }
    if (r->route->sets_by) {
        char by[200];
        json_object_set_new(body, "by", json_string(gw_user_label(r->user, by, sizeof by)));
    }
    if (check_reach(r, out, body) != 0)
        goto fail;
    return body;
fail:
    json_decref(body);
    return NULL;
}

/* Runs the route's operation; the result (new reference) in *res. */
static int run_op(gw_req_t *r, gw_reply_t *out, json_t **res)
{
    bool post = strcmp(r->method, "POST") == 0;
    char id[160];
    json_t *body = build_body(r, out);
    if (!body)
        return -1;
    int rc = -1;
    if (post && gw_request_id(r, out, id, sizeof id) != 0)
        goto done;
    if (gw_call(r, out, r->route->op, post ? id : NULL, body, res) != 0)
        goto done;
    if (post && r->route->audit[0]) {
        const char *cid = json_string_value(json_object_get(*res, "case_id"));
        if (!cid)
            cid = json_string_value(json_object_get(body, "case_id"));
        char detail[240], run[40];
        /* what the write was about: a referral, a complaint, a move (and how)
         * or a payroll run */
        const char *what = NULL, *keys[] = {"referral_id", "tracking_no", "move_id"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0] && !what; k++)
            what = json_string_value(json_object_get(body, keys[k]));
        json_t *run_id = json_object_get(*res, "run_id");
        if (!what && json_is_integer(run_id)) {
            snprintf(run, sizeof run, "run %lld", (long long)json_integer_value(run_id));
            what = run;
        }
        const char *how = json_string_value(json_object_get(body, "decision"));
        snprintf(detail, sizeof detail, "%s%s%s%s%s", id, what ? " " : "", what ? what : "",
                 how ? " " : "", how ? how : "");
        gw_audit(r, r->route->audit, cid ? cid : "", detail); /* committed either way */
    }
    if (!post && r->route->audit[0]) {
        /* personal data: no audit row, no answer */
        const char *scope = json_string_value(json_object_get(body, "department"));
        if (!scope)
            scope = json_string_value(json_object_get(body, "township"));
        if (gw_audit(r, r->route->audit, "", scope ? scope : "") != 0) {
            gw_fail(out, 503, "unavailable", NULL, "审计记录无法写入,暂不能查看");
            json_decref(*res);
            *res = NULL;
            goto done;
        }
    }
    if (r->user->role == ROLE_DEPARTMENT && !post)
        keep_department(*res, r->user->scope);
    strip_id_numbers(*res);
    rc = 0;
done:
    json_decref(body);
    return rc;
}

int api_op(gw_req_t *r, gw_reply_t *out)
{
    json_t *res = NULL;
    if (run_op(r, out, &res) == 0)
        gw_ok(out, res);
    return 0;
}

/* decision.submit for a department officer: the page names the case, the
 * gateway checks that the referral is of that case and of the officer's
 * department (the contract's decision carries no department), then sends
 * the decision without the case id. A retried decision passes the same
 * check, so a double click answers duplicate as the contract says. */
int api_decision_submit(gw_req_t *r, gw_reply_t *out)
{
    char id[160];
    json_t *body = gw_body_object(r, out), *c = NULL, *res = NULL, *q = NULL;
    if (!body)
        return 0;
    char case_id[64];
    const char *cid = json_string_value(json_object_get(body, "case_id"));
    const char *ref = json_string_value(json_object_get(body, "referral_id"));
    snprintf(case_id, sizeof case_id, "%s", cid ? cid : "");
    if (!cid) {
        gw_fail(out, 400, "invalid_field", "case_id", "须注明个案编号");
        goto done;
    }
    if (!ref) {
        gw_fail(out, 400, "invalid_field", "referral_id", "须注明转介编号");
        goto done;
    }
    q = json_pack("{s:s}", "case_id", case_id);
    if (gw_call(r, out, "case.get", NULL, q, &c) != 0)
        goto done;
    bool ours = false;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(c, "referrals"), i, f) {
        const char *fid = json_string_value(json_object_get(f, "referral_id"));
        const char *dep = json_string_value(json_object_get(f, "department"));
        ours = ours || (fid && dep && strcmp(fid, ref) == 0 && strcmp(dep, r->user->scope) == 0);
    }
    if (!ours) {
        gw_fail(out, 404, "not_found", "referral_id", "no such referral");
        goto done;
    }
    json_object_del(body, "case_id"); /* frees cid; case_id is a copy */
    if (gw_request_id(r, out, id, sizeof id) != 0 ||
        gw_call(r, out, "decision.submit", id, body, &res) != 0)
        goto done;
    char detail[240];
    snprintf(detail, sizeof detail, "%s %s", id, ref);
    gw_audit(r, "decision.submit", case_id, detail); /* committed either way */
    events_notify(r->gw->events, case_id);
    gw_ok(out, res);
done:
    json_decref(q);
    json_decref(c);
    json_decref(body);
    return 0;
}

/* ---- ledger as CSV ----------------------------------------------------- */

int api_ledger_csv(gw_req_t *r, gw_reply_t *out)
{
    json_t *res = NULL;
    if (run_op(r, out, &res) != 0)
        return 0;
    json_t *rows = json_object_get(res, "rows");
    json_t *places = db_places(r->gw->db); /* NULL: codes only */
    size_t i;
    json_t *row;
    csv_t b = {0};
    csv_put(&b, "\xEF\xBB\xBF", 3); /* UTF-8 BOM: spreadsheets then read the Chinese right */
    csv_put_text(&b, "乡镇代码");
    static const char *const heads[] = {"乡镇", "栏目", "项目代码", "项目", "数量", "金额(元)"};
    for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) {
        csv_put(&b, ",", 1);
        csv_put_text(&b, heads[h]);
    }
    csv_put(&b, "\r\n", 2);
    json_array_foreach(rows, i, row) {
        const char *tw = json_string_value(json_object_get(row, "township"));
        const char *sec = json_string_value(json_object_get(row, "section"));
        const char *item = json_string_value(json_object_get(row, "item"));
        const char *name = json_string_value(json_object_get(places, tw ? tw : ""));
        char ibuf[128], yuan[32], count[32];
        csv_put_text(&b, tw);
        csv_put(&b, ",", 1);
        csv_put_text(&b, name ? name : tw);
        csv_put(&b, ",", 1);
        csv_put_text(&b, zh_ledger_section(sec));
        csv_put(&b, ",", 1);
        csv_put_text(&b, item);
        csv_put(&b, ",", 1);
        csv_put_text(&b, zh_ledger_item(sec, item, ibuf, sizeof ibuf));
        csv_put(&b, ",", 1);
        json_t *n = json_object_get(row, "count");
        snprintf(count, sizeof count, "%lld", (long long)json_integer_value(n));
        csv_put_text(&b, json_is_integer(n) ? count : "");
        csv_put(&b, ",", 1);
        /* money only where the row is money: the measures' amounts, fen → yuan */
        json_t *fen = json_object_get(row, "amount_fen");
        csv_put_text(&b, sec && strcmp(sec, "measures") == 0 && json_is_integer(fen)
                         ? zh_yuan(json_integer_value(fen), yuan, sizeof yuan)
                         : "");
        csv_put(&b, "\r\n", 2);
    }
    json_decref(places);
    if (b.failed) {
        free(b.buf);
        gw_fail(out, 503, "unavailable", NULL, "out of memory");
    } else {
        const char *month = gw_query(r, "month");
        const char *township = json_string_value(json_object_get(res, "township"));
        if (!township)
            township = r->user->role == ROLE_TOWNSHIP ? r->user->scope : gw_query(r, "township");
        snprintf(out->disposition, sizeof out->disposition,
                 "attachment; filename=\"ledger-%s-%s.csv\"",
                 township && strspn(township, "0123456789") == strlen(township) && *township
                     ? township
                     : "county",
                 month && strspn(month, "0123456789-") == strlen(month) ? month : "month");
        out->status = 200;
        out->raw = b.buf;
        out->raw_len = b.len;
        out->ctype = "text/csv; charset=utf-8";
    }
    json_decref(res);
    return 0;
}
