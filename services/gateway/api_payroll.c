/* api_payroll.c — the two payroll routes that are more than one operation
 * (the others go through api_op; routes.c):
 *
 * - the bank's file of an approved run (GET /api/payroll/runs/N/file): every
 *   page of payroll.file, written as `aidctl payroll file` writes it (line_id,
 *   case_id, month, bank, account, amount in yuan with two decimals), checked
 *   against the run's control totals (payroll.get) before it is answered,
 *   recorded in the audit trail first (the accounts are in full: no audit
 *   row, no file), sent as an attachment that is never cached;
 * - the bank's returns (POST /api/payroll/runs/N/returns {"csv"}): the file the
 *   bank sends back, one line `line_id,status[,reason]` (status paid or
 *   failed; a header line is skipped), as `aidctl payroll reconcile` reads it,
 *   sent as payroll.reconcile 1000 lines a request (each all or nothing; the
 *   same file sent again records nothing twice). An error names the file's
 *   line. Audited like every console write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "gateway.h"
#include "zh.h"

#define RETURNS_PER_REQUEST 1000 /* BENEFITS_RETURNS_MAX */
#define FILE_PAGES_MAX 100000    /* a bound on a misbehaving answer, far above any county */

static long long int_of(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void put_yuan(csv_t *b, long long fen)
{
    char y[32];
    zh_yuan(fen, y, sizeof y);
    csv_put(b, y, strlen(y));
}

int api_payroll_file(gw_req_t *r, gw_reply_t *out)
{
    long long run;
    if (gw_param_id(r, out, "run_id", &run) != 0)
        return 0;
    json_t *q = json_pack("{sI}", "run_id", (json_int_t)run), *head = NULL;
    csv_t b = {0};
    if (gw_call(r, out, "payroll.get", NULL, q, &head) != 0)
        goto done;
    static const char head_line[] = "line_id,case_id,month,bank,account,amount_yuan\n";
    csv_put(&b, head_line, sizeof head_line - 1);
    long long after = 0, n = 0, total = 0;
    for (int pages = 0;; pages++) {
        json_t *pq = json_pack("{sIsI}", "run_id", (json_int_t)run, "after_line", (json_int_t)after);
        json_t *page = NULL;
        int rc = gw_call(r, out, "payroll.file", NULL, pq, &page);
        json_decref(pq);
        if (rc != 0)
            goto done;
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(page, "lines"), i, l) {
            char id[32];
            long long fen = int_of(l, "amount_fen");
            snprintf(id, sizeof id, "%lld,", int_of(l, "line_id"));
            csv_put(&b, id, strlen(id));
            static const char *const keys[] = {"case_id", "month", "bank", "account"};
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                csv_put_plain(&b, json_string_value(json_object_get(l, keys[k])));
                csv_put(&b, ",", 1);
            }
            put_yuan(&b, fen);
            csv_put(&b, "\n", 1);
            /* one row per household, its lines of the run summed: the control
             * totals count lines */
            long long k = int_of(l, "lines");
            n += k > 0 ? k : 1;
            total += fen;
        }
        json_t *next = json_object_get(page, "next_after");
        long long nx = json_is_integer(next) ? (long long)json_integer_value(next) : 0;
        json_decref(page);
        if (!json_is_integer(next))
            break;
        if (nx <= after || pages >= FILE_PAGES_MAX) {
            gw_fail(out, 502, "unavailable", "run_id", "后台服务答复异常(银行文件分页不前进),请稍后重试");
            goto done;
        }
        after = nx;
    }
    if (b.failed) {
        gw_fail(out, 503, "unavailable", NULL, "out of memory");
        goto done;
    }
    if (n != int_of(head, "lines") || total != int_of(head, "total_fen")) {
        char msg[240], y1[32], y2[32];
        snprintf(msg, sizeof msg,
                 "银行文件与该批次的控制总数不符(文件 %lld 笔、%s 元,批次 %lld 笔、%s 元),未生成",
                 n, zh_yuan(total, y1, sizeof y1), int_of(head, "lines"),
                 zh_yuan(int_of(head, "total_fen"), y2, sizeof y2));
        gw_fail(out, 409, "conflict", "run_id", msg);
        goto done;
    }
    /* the accounts in full: the download is in the audit trail before it is answered */
    char detail[160];
    snprintf(detail, sizeof detail, "run %lld lines %lld total_fen %lld", run, n, total);
    if (gw_audit(r, "payroll.file", "", detail) != 0) {
        gw_fail(out, 503, "unavailable", NULL, "审计记录无法写入,暂不能下载");
        goto done;
    }
    const char *month = json_string_value(json_object_get(head, "month"));
    const char *town = json_string_value(json_object_get(head, "township"));
    snprintf(out->disposition, sizeof out->disposition,
             "attachment; filename=\"payroll-%lld-%s-%s.csv\"", run,
             month && strspn(month, "0123456789-") == strlen(month) ? month : "month",
             town && *town && strspn(town, "0123456789") == strlen(town) ? town : "county");
    out->status = 200;
    out->raw = b.buf;
    out->raw_len = b.len;
    out->ctype = "text/csv; charset=utf-8";
    b.buf = NULL;
done:
    free(b.buf);
    json_decref(head);
    json_decref(q);
    return 0;
}

/* ---- the bank's returns ------------------------------------------------- */

/* Fails with the file's line named. */
static int bad_line(gw_reply_t *out, int lineno, const char *why)
{
    char msg[200];
    snprintf(msg, sizeof msg, "银行回盘文件第 %d 行:%s", lineno, why);
    gw_fail(out, 400, "invalid_field", "csv", msg);
    json_object_set_new(json_object_get(out->json, "error"), "line", json_integer(lineno));
    return -1;
}

/* The returns of text (line_id,status[,reason] a line) into arr, each one's
 * line of the file into lines[]. -1 with 400 answered. */
static int parse_returns(gw_reply_t *out, const char *text, size_t len, json_t *arr, int **lines)
{
    size_t cap = 0, n = 0;
    int lineno = 0;
    bool seen = false;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* a spreadsheet's BOM */
        text += 3;
        len -= 3;
    }
    for (size_t at = 0; at < len;) {
        const char *s = text + at;
        size_t ll = strcspn(s, "\n");
        at += ll + 1;
        lineno++;
        char line[512];
        if (ll >= sizeof line)
            return bad_line(out, lineno, "过长(每行最多 511 字节)");
        memcpy(line, s, ll);
        line[ll] = '\0';
        line[strcspn(line, "\r")] = '\0';
        if (!line[0])
            continue;
        bool first = !seen;
        seen = true;
        if (first && !(line[0] >= '0' && line[0] <= '9'))
            continue; /* the header */
        char *status = strchr(line, ','), *reason = status ? strchr(status + 1, ',') : NULL;
        if (status)
            *status++ = '\0';
        if (reason)
            *reason++ = '\0';
        size_t idn = strlen(line);
        if (!status || idn == 0 || idn > 15 || strspn(line, "0123456789") != idn)
            return bad_line(out, lineno, "应为“明细编号,状态[,原因]”(状态 paid 已发放或 failed 发放失败)");
        json_t *x = json_pack("{sIss}", "line_id", (json_int_t)atoll(line), "status", status);
        if (x && reason && *reason)
            json_object_set_new(x, "reason", json_string(reason));
        if (!x || json_array_append_new(arr, x) != 0)
            return bad_line(out, lineno, "含有无效字符");
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            int *nl = realloc(*lines, cap * sizeof *nl);
            if (!nl) {
                gw_fail(out, 503, "unavailable", NULL, "out of memory");
                return -1;
            }
            *lines = nl;
        }
        (*lines)[n++] = lineno;
    }
    if (n == 0)
        return bad_line(out, lineno, "文件中没有回盘明细(每行“明细编号,状态[,原因]”)");
    return 0;
}

/* An error of the chunk starting at first: the file's line named when the
 * error is of one return (field "returns[i]..."), and what was recorded. */
static void chunk_error(gw_reply_t *out, size_t first, const int *lines, size_t nlines,
                        size_t recorded)
{
    json_t *e = json_object_get(out->json, "error");
    const char *field = json_string_value(json_object_get(e, "field"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    char buf[1024], head[80] = "", tail[200] = "";
    size_t i;
    if (field && sscanf(field, "returns[%zu]", &i) == 1 && first + i < nlines) {
        snprintf(head, sizeof head, "银行回盘文件第 %d 行:", lines[first + i]);
        json_object_set_new(e, "line", json_integer(lines[first + i]));
        json_object_set_new(e, "field_en", json_string(field));
        json_object_set_new(e, "field", json_string("csv"));
    }
    if (recorded)
        snprintf(tail, sizeof tail, "(此前的 %zu 行已记入;更正后可重新上传整个文件,已记入的行不会重复记入)",
                 recorded);
    snprintf(buf, sizeof buf, "%s%s%s", head, msg ? msg : "", tail);
    json_object_set_new(e, "message", json_string(buf));
}

int api_payroll_returns(gw_req_t *r, gw_reply_t *out)
{
    long long run;
    if (gw_param_id(r, out, "run_id", &run) != 0)
        return 0;
    json_t *body = gw_body_object(r, out), *arr = json_array(), *res = NULL;
    int *lines = NULL;
    long long paid = 0, failed = 0;
    size_t recorded = 0;
    char id[160], by[200];
    if (!body)
        goto done;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (strcmp(key, "csv") != 0) {
            gw_fail(out, 400, "invalid_field", key, "unknown field: csv only");
            goto done;
        }
    }
    json_t *csv = json_object_get(body, "csv");
    if (!json_is_string(csv)) {
        gw_fail(out, 400, "invalid_field", "csv", "请上传银行回盘文件(CSV,每行“明细编号,状态[,原因]”)");
        goto done;
    }
    const char *text = json_string_value(csv);
    if (strlen(text) != json_string_length(csv)) {
        gw_fail(out, 400, "invalid_field", "csv", "银行回盘文件含有无效字符");
        goto done;
    }
    if (parse_returns(out, text, json_string_length(csv), arr, &lines) != 0 ||
        gw_request_id(r, out, id, sizeof id) != 0)
        goto done;
    gw_user_label(r->user, by, sizeof by);
    size_t n = json_array_size(arr);
    for (size_t first = 0; first < n; first += RETURNS_PER_REQUEST) {
        json_t *part = json_array();
        for (size_t i = first; i < n && i < first + RETURNS_PER_REQUEST; i++)
            json_array_append(part, json_array_get(arr, i));
        json_t *q = json_pack("{sIsssO}", "run_id", (json_int_t)run, "by", by, "returns", part);
        char cid[200];
        /* one id a chunk: the same form sent again replays what was recorded */
        snprintf(cid, sizeof cid, "%s-%zu", id, first / RETURNS_PER_REQUEST);
        int rc = gw_call(r, out, "payroll.reconcile", cid, q, &res);
        json_decref(q);
        json_decref(part);
        if (rc != 0) {
            chunk_error(out, first, lines, n, recorded);
            goto audit;
        }
        paid += int_of(res, "paid");
        failed += int_of(res, "failed");
        recorded += n - first < RETURNS_PER_REQUEST ? n - first : RETURNS_PER_REQUEST;
        json_decref(res);
        res = NULL;
    }
    gw_ok(out, json_pack("{sIsIsIsO}", "run_id", (json_int_t)run, "paid", (json_int_t)paid,
                         "failed", (json_int_t)failed, "lines", arr));
audit:
    if (recorded) {
        char detail[240];
        snprintf(detail, sizeof detail, "%s run %lld paid %lld failed %lld", id, run, paid, failed);
        gw_audit(r, "payroll.reconcile", "", detail); /* committed either way */
    }
done:
    free(lines);
    json_decref(arr);
    json_decref(body);
    return 0;
}
