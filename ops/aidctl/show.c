/* show.c — readable output: submit receipts, cases, health, triggers and errors. */
#include "show.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jsonmp.h"
#include "mp.h"
#include "table.h"
#include "text.h"
#include "zh.h"

static bool zh; /* --lang zh (show_set_lang) */

void show_set_lang(bool chinese) { zh = chinese; }

/* The word in the language of the output. */
#define W(en, cn) (zh ? (cn) : (en))

/* In Chinese, a status, department, measure or period/form by its table
 * (proto/zh.c); the text itself otherwise or when unknown. */
static const char *zh_word(const char *s)
{
    static const zh_name_t words[] = {
        {"once", "一次性"}, {"month", "每月"}, {"quarter", "每季度"}, {"year", "每年"},
        {"cash", "现金"}, {"in_kind", "实物"}, {"service", "服务"}, {"referral", "转介"},
        {NULL, NULL},
    };
    if (!zh || !s)
        return s;
    const char *t = zh_status(s);
    t = t ? t : zh_department(s);
    t = t ? t : zh_measure(s);
    for (int i = 0; !t && words[i].code; i++)
        if (strcmp(words[i].code, s) == 0)
            t = words[i].zh;
    return t ? t : s;
}

#define CELL_MAX 1024 /* bytes of one printed value; longer text ends in "…" */

/* Cleaned terminal text of s[0..n) into buf, cut at a character boundary. */
static const char *clean_into(const char *s, size_t n, char *buf, size_t bufsz)
{
    size_t len;
    char *clean = text_clean(s, n, 1, &len);
    if (!clean)
        return NULL;
    if (len < bufsz) {
        memcpy(buf, clean, len + 1);
    } else {
        size_t cut = bufsz - 4; /* room for "…" and NUL */
        while (cut > 0 && ((unsigned char)clean[cut] & 0xc0) == 0x80)
            cut--;
        memcpy(buf, clean, cut);
        memcpy(buf + cut, "\xe2\x80\xa6", 4);
    }
    free(clean);
    return buf;
}

/* A value as display text in buf: strings as they are, integers in decimal,
 * booleans yes/no, nil or absent as missing, anything else as compact JSON.
 * NULL only when out of memory. */
static const char *cell(const msgpack_object *o, char *buf, size_t bufsz, const char *missing)
{
    if (!o || o->type == MSGPACK_OBJECT_NIL) {
        snprintf(buf, bufsz, "%s", missing);
        return buf;
    }
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        if (o->via.str.size == 0) {
            snprintf(buf, bufsz, "%s", missing);
            return buf;
        }
        return clean_into(o->via.str.ptr, o->via.str.size, buf, bufsz);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(buf, bufsz, "%" PRIu64, o->via.u64);
        return buf;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(buf, bufsz, "%" PRId64, o->via.i64);
        return buf;
    case MSGPACK_OBJECT_BOOLEAN:
        snprintf(buf, bufsz, "%s", o->via.boolean ? "yes" : "no");
        return buf;
    default: {
        json_t *j = jsonmp_to_json(o);
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(j);
        const char *r = s ? clean_into(s, strlen(s), buf, bufsz) : NULL;
        free(s);
        return r;
    }
    }
}

/* A string field as text; "?" when absent or not a string, missing when "". */
static const char *text_field(const msgpack_object *o, char *buf, size_t bufsz,
                              const char *missing)
{
    if (!o || o->type != MSGPACK_OBJECT_STR) {
        snprintf(buf, bufsz, "?");
        return buf;
    }
    return cell(o, buf, bufsz, missing);
}

/* Fen as yuan with two decimals ("141.00", "-0.50"); "?" when not an integer. */
static const char *yuan(const msgpack_object *o, char *buf, size_t bufsz)
{
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        snprintf(buf, bufsz, "%" PRIu64 ".%02u", o->via.u64 / 100, (unsigned)(o->via.u64 % 100));
    } else if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        uint64_t m = (uint64_t)0 - (uint64_t)o->via.i64; /* exact even for INT64_MIN */
        snprintf(buf, bufsz, "-%" PRIu64 ".%02u", m / 100, (unsigned)(m % 100));
    } else {
        snprintf(buf, bufsz, "?");
    }
    return buf;
}

/* An array of strings joined with sep; empty when "-", "?" when not an array. */
static const char *joined(const msgpack_object *o, const char *sep, char *buf, size_t bufsz)
{
    if (!o || o->type != MSGPACK_OBJECT_ARRAY) {
        snprintf(buf, bufsz, "?");
        return buf;
    }
    if (o->via.array.size == 0) {
        snprintf(buf, bufsz, "-");
        return buf;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        char item[CELL_MAX];
        if (!cell(&o->via.array.ptr[i], item, sizeof item, "\"\""))
            return NULL;
        int n = snprintf(buf + used, bufsz - used, "%s%s", i ? sep : "", item);
        if (n < 0 || (size_t)n >= bufsz - used)
            return clean_into(buf, strlen(buf), buf, bufsz); /* cut, but cleanly */
        used += (size_t)n;
    }
    return buf;
}

int show_error(FILE *out, const msgpack_object *error)
{
    char code[CELL_MAX], field[CELL_MAX], msg[CELL_MAX];
    const msgpack_object *f = mp_get(error, "field");
    const msgpack_object *m = mp_get(error, "message");
    if (!text_field(mp_get(error, "code"), code, sizeof code, "?") ||
        !cell(f && f->type == MSGPACK_OBJECT_STR ? f : NULL, field, sizeof field, "") ||
        !cell(m, msg, sizeof msg, ""))
        return -1;
    fprintf(out, "error %s", code);
    if (field[0])
        fprintf(out, " at %s", field);
    if (msg[0])
        fprintf(out, ": %s", msg);
    fputc('\n', out);
    return 0;
}

int show_submit(FILE *out, const msgpack_object *result)
{
    char report[CELL_MAX], cas[CELL_MAX];
    if (!text_field(mp_get(result, "report_id"), report, sizeof report, "?") ||
        !text_field(mp_get(result, "case_id"), cas, sizeof cas, "?"))
        return -1;
    const msgpack_object *dup = mp_get(result, "duplicate");
    bool duplicate = dup && dup->type == MSGPACK_OBJECT_BOOLEAN && dup->via.boolean;
    fprintf(out, "%s report %s \xe2\x86\x92 case %s\n", duplicate ? "duplicate:" : "accepted",
            report, cas);
    return 0;
}

/* Adds a key/value row to a two-column table. */
static int kv_add(table_t *t, const char *key, const char *value)
{
    if (!value)
        return -1;
    const char *row[2] = {key, value};
    return table_add_row(t, row);
}

static int show_persons(FILE *out, const msgpack_object *persons)
{
    if (!persons || persons->type != MSGPACK_OBJECT_ARRAY) {
        fprintf(out, "%s  ?\n", W("persons", "家庭成员"));
        return 0;
    }
    if (persons->via.array.size == 0) {
        fprintf(out, "%s  %s\n", W("persons", "家庭成员"), W("none", "无"));
        return 0;
    }
    fprintf(out, "%s\n", W("persons", "家庭成员"));
    table_t *t = table_new("llrlrlr");
    if (!t)
        return -1;
    const char *head_en[] = {"ID", "NAME", "AGE", "GROUPS", "SUPPLEMENT", "VISIT", "CARE"};
    const char *head_zh[] = {"身份证号码", "姓名", "年龄", "救助类别", "分类施保(元/月)",
                             "探访", "关爱类别"};
    const char **head = zh ? head_zh : head_en;
    int rc = table_add_row(t, head);
    for (uint32_t i = 0; rc == 0 && i < persons->via.array.size; i++) {
        const msgpack_object *p = &persons->via.array.ptr[i];
        char id[CELL_MAX], name[CELL_MAX], age[64], groups[CELL_MAX], sup[64], visit[CELL_MAX],
            care[64];
        const msgpack_object *cc = mp_get(p, "care_category");
        int64_t ccv;
        const char *row[] = {
            text_field(mp_get(p, "id_masked"), id, sizeof id, "-"),
            text_field(mp_get(p, "name_masked"), name, sizeof name, "-"),
            cell(mp_get(p, "age"), age, sizeof age, "?"),
            joined(mp_get(p, "groups"), ",", groups, sizeof groups),
            yuan(mp_get(p, "dibao_supplement_fen"), sup, sizeof sup),
            zh_word(text_field(mp_get(p, "visit_every"), visit, sizeof visit, "-")),
            mp_int(cc, &ccv) == 0 && ccv == 0 ? "-" : cell(cc, care, sizeof care, "?"),
        };
        for (size_t c = 0; c < sizeof row / sizeof row[0]; c++)
            if (!row[c])
                rc = -1;
        if (rc == 0)
            rc = table_add_row(t, row);
    }
    if (rc == 0)
        table_print(t, out, 2);
    table_free(t);
    return rc;
}

static int show_measures(FILE *out, const msgpack_object *ms)
{
    if (!ms || ms->type != MSGPACK_OBJECT_ARRAY) {
        fprintf(out, "  %s    ?\n", W("measures", "救助措施"));
        return 0;
    }
    if (ms->via.array.size == 0) {
        fprintf(out, "  %s    %s\n", W("measures", "救助措施"), W("none", "无"));
        return 0;
    }
    fprintf(out, "  %s\n", W("measures", "救助措施"));
    table_t *t = table_new("llrll");
    if (!t)
        return -1;
    const char *head_en[] = {"CODE", "PERSON", "AMOUNT", "PERIOD", "FORM"};
    const char *head_zh[] = {"措施", "对象", "金额(元)", "周期", "方式"};
    const char **head = zh ? head_zh : head_en;
    int rc = table_add_row(t, head);
    for (uint32_t i = 0; rc == 0 && i < ms->via.array.size; i++) {
        const msgpack_object *m = &ms->via.array.ptr[i];
        char code[CELL_MAX], person[CELL_MAX], amount[64], period[CELL_MAX], form[CELL_MAX];
        const msgpack_object *who = mp_get(m, "id_masked");
        const char *row[] = {
            zh_word(text_field(mp_get(m, "code"), code, sizeof code, "?")),
            who ? text_field(who, person, sizeof person, "-") : W("household", "全户"),
            yuan(mp_get(m, "amount_fen"), amount, sizeof amount),
            zh_word(text_field(mp_get(m, "period"), period, sizeof period, "-")),
            zh_word(text_field(mp_get(m, "form"), form, sizeof form, "-")),
        };
        for (size_t c = 0; c < sizeof row / sizeof row[0]; c++)
            if (!row[c])
                rc = -1;
        if (rc == 0)
            rc = table_add_row(t, row);
    }
    if (rc == 0)
        table_print(t, out, 4);
    table_free(t);
    return rc;
}

static int show_referral(FILE *out, const msgpack_object *r)
{
    char rid[CELL_MAX], rep[CELL_MAX], buf[CELL_MAX];
    if (!text_field(mp_get(r, "referral_id"), rid, sizeof rid, "?") ||
        !text_field(mp_get(r, "report_id"), rep, sizeof rep, "?"))
        return -1;
    if (zh)
        fprintf(out, "\n转介 %s(报告 %s)\n", rid, rep);
    else
        fprintf(out, "\nreferral %s (report %s)\n", rid, rep);
    table_t *t = table_new("ll");
    if (!t)
        return -1;
    char at[CELL_MAX];
    const char *decided = cell(mp_get(r, "decided_at"), buf, sizeof buf, "-");
    if (zh && decided && zh_time(decided, at, sizeof at) == 0)
        decided = at; /* "2026-12-06 11:30 (UTC+8)" */
    int rc = kv_add(t, W("department", "部门"),
                    zh_word(text_field(mp_get(r, "department"), buf, sizeof buf, "?")));
    rc = rc ? rc : kv_add(t, W("status", "状态"),
                          zh_word(text_field(mp_get(r, "status"), buf, sizeof buf, "?")));
    rc = rc ? rc : kv_add(t, W("reason", "理由"), cell(mp_get(r, "reason"), buf, sizeof buf, "-"));
    rc = rc ? rc : kv_add(t, W("decided_at", "办结时间"), decided);
    rc = rc ? rc : kv_add(t, W("rules", "依据规则"), joined(mp_get(r, "rules"), ", ", buf, sizeof buf));
    if (rc == 0)
        table_print(t, out, 2);
    table_free(t);
    return rc ? rc : show_measures(out, mp_get(r, "measures"));
}

int show_case(FILE *out, const msgpack_object *result)
{
    char buf[CELL_MAX];
    table_t *t = table_new("ll");
    if (!t)
        return -1;
    const msgpack_object *complete = mp_get(result, "complete");
    int rc = kv_add(t, W("case", "个案"),
                    text_field(mp_get(result, "case_id"), buf, sizeof buf, "?"));
    rc = rc ? rc
            : kv_add(t, W("complete", "办结"),
                     complete && complete->type == MSGPACK_OBJECT_BOOLEAN
                         ? (complete->via.boolean ? W("yes", "是")
                                                  : W("no (referrals pending)", "否(尚有转介办理中)"))
                         : "?");
    if (rc == 0)
        table_print(t, out, 0);
    table_free(t);
    if (rc != 0)
        return rc;
    fputc('\n', out);
    if (show_persons(out, mp_get(result, "persons")) != 0)
        return -1;
    const msgpack_object *refs = mp_get(result, "referrals");
    if (!refs || refs->type != MSGPACK_OBJECT_ARRAY) {
        fprintf(out, "\n%s  ?\n", W("referrals", "转介"));
        return 0;
    }
    if (refs->via.array.size == 0)
        fprintf(out, "\n%s  %s\n", W("referrals", "转介"), W("none", "无"));
    for (uint32_t i = 0; i < refs->via.array.size; i++)
        if (show_referral(out, &refs->via.array.ptr[i]) != 0)
            return -1;
    return 0;
}

int show_health(FILE *out, const msgpack_object *result)
{
    if (!result || result->type != MSGPACK_OBJECT_MAP) {
        fprintf(out, "status  ?\n");
        return 0;
    }
    char key[CELL_MAX], val[CELL_MAX];
    table_t *t = table_new("ll");
    if (!t)
        return -1;
    int rc = kv_add(t, "status", text_field(mp_get(result, "status"), val, sizeof val, "?"));
    for (uint32_t i = 0; rc == 0 && i < result->via.map.size; i++) {
        const msgpack_object *k = &result->via.map.ptr[i].key;
        if (mp_str_is(k, "status"))
            continue;
        if (!cell(k, key, sizeof key, "?"))
            rc = -1;
        else
            rc = kv_add(t, key, cell(&result->via.map.ptr[i].val, val, sizeof val, "-"));
    }
    if (rc == 0)
        table_print(t, out, 0);
    table_free(t);
    return rc;
}

/* "granted 3, denied 1, pending 0, referred 0" of an outcomes map. */
static const char *outcomes(const msgpack_object *o, char *buf, size_t bufsz)
{
    static const char *const keys[] = {"granted", "denied", "referred", "pending", "in_review"};
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < 5; i++) {
        char v[32];
        if (!cell(mp_get(o, keys[i]), v, sizeof v, "?"))
            return NULL;
        int n = snprintf(buf + used, bufsz - used, "%s%s %s", i ? ", " : "", keys[i], v);
        if (n < 0 || (size_t)n >= bufsz - used)
            break;
        used += (size_t)n;
    }
    return buf;
}

int show_triggers(FILE *out, const msgpack_object *result)
{
    const msgpack_object *ts = mp_get(result, "triggers");
    if (!ts || ts->type != MSGPACK_OBJECT_ARRAY) {
        fprintf(out, "triggers  ?\n");
        return 0;
    }
    if (ts->via.array.size == 0) {
        fprintf(out, "no triggers\n");
        return 0;
    }
    table_t *t = table_new("lllllrrl");
    if (!t)
        return -1;
    const char *head[] = {"trigger", "kind", "received", "areas / case", "hazard", "cases",
                          "reached", "outcomes"};
    int rc = table_add_row(t, head);
    for (uint32_t i = 0; rc == 0 && i < ts->via.array.size; i++) {
        const msgpack_object *g = &ts->via.array.ptr[i];
        char c[8][CELL_MAX];
        const msgpack_object *areas = mp_get(g, "areas");
        const char *where = areas && areas->type == MSGPACK_OBJECT_ARRAY && areas->via.array.size
                                ? joined(areas, ",", c[3], sizeof c[3])
                                : cell(mp_get(g, "case_id"), c[3], sizeof c[3], "-");
        const char *row[8] = {cell(mp_get(g, "trigger_id"), c[0], sizeof c[0], "?"),
                              cell(mp_get(g, "kind"), c[1], sizeof c[1], "?"),
                              cell(mp_get(g, "created_at"), c[2], sizeof c[2], "?"),
                              where,
                              cell(mp_get(g, "hazard"), c[4], sizeof c[4], "-"),
                              cell(mp_get(g, "cases"), c[5], sizeof c[5], "?"),
                              cell(mp_get(g, "reached"), c[6], sizeof c[6], "?"),
                              outcomes(mp_get(g, "outcomes"), c[7], sizeof c[7])};
        for (int k = 0; k < 8; k++)
            if (!row[k])
                rc = -1;
        rc = rc ? rc : table_add_row(t, row);
    }
    if (rc == 0)
        table_print(t, out, 0);
    table_free(t);
    const msgpack_object *more = mp_get(result, "more");
    if (rc == 0 && more && more->type == MSGPACK_OBJECT_BOOLEAN && more->via.boolean)
        fprintf(out, "(more: ask again with before=<the last trigger>)\n");
    return rc;
}

int show_trigger(FILE *out, const msgpack_object *result)
{
    char buf[CELL_MAX];
    table_t *t = table_new("ll");
    if (!t)
        return -1;
    int rc = kv_add(t, "trigger", cell(mp_get(result, "trigger_id"), buf, sizeof buf, "?"));
    rc = rc ? rc : kv_add(t, "kind", cell(mp_get(result, "kind"), buf, sizeof buf, "?"));
    rc = rc ? rc : kv_add(t, "hazard", cell(mp_get(result, "hazard"), buf, sizeof buf, "-"));
    rc = rc ? rc : kv_add(t, "areas", joined(mp_get(result, "areas"), ", ", buf, sizeof buf));
    rc = rc ? rc : kv_add(t, "person", cell(mp_get(result, "id_masked"), buf, sizeof buf, "-"));
    rc = rc ? rc : kv_add(t, "occurred_on",
                          cell(mp_get(result, "occurred_on"), buf, sizeof buf, "day received"));
    rc = rc ? rc : kv_add(t, "received", cell(mp_get(result, "created_at"), buf, sizeof buf, "?"));
    rc = rc ? rc : kv_add(t, "done", cell(mp_get(result, "done_at"), buf, sizeof buf, "not yet"));
    rc = rc ? rc : kv_add(t, "cases", cell(mp_get(result, "cases"), buf, sizeof buf, "?"));
    rc = rc ? rc : kv_add(t, "reached", cell(mp_get(result, "reached"), buf, sizeof buf, "?"));
    rc = rc ? rc : kv_add(t, "outcomes", outcomes(mp_get(result, "outcomes"), buf, sizeof buf));
    if (rc == 0)
        table_print(t, out, 0);
    table_free(t);
    const msgpack_object *hh = mp_get(result, "households");
    for (uint32_t i = 0; rc == 0 && hh && hh->type == MSGPACK_OBJECT_ARRAY &&
                         i < hh->via.array.size; i++) {
        const msgpack_object *h = &hh->via.array.ptr[i];
        char c[4][CELL_MAX];
        if (!cell(mp_get(h, "case_id"), c[0], sizeof c[0], "?") ||
            !cell(mp_get(h, "status"), c[1], sizeof c[1], "?") ||
            !cell(mp_get(h, "report_id"), c[2], sizeof c[2], "-") ||
            !cell(mp_get(h, "note"), c[3], sizeof c[3], ""))
            return -1;
        fprintf(out, "\n%s  %s  report %s%s%s\n", c[0], c[1], c[2], *c[3] ? "  " : "", c[3]);
        const msgpack_object *ps = mp_get(h, "persons");
        for (uint32_t k = 0; ps && ps->type == MSGPACK_OBJECT_ARRAY && k < ps->via.array.size;
             k++) {
            if (!cell(mp_get(&ps->via.array.ptr[k], "id_masked"), c[0], sizeof c[0], "?") ||
                !cell(mp_get(&ps->via.array.ptr[k], "name_masked"), c[1], sizeof c[1], "?"))
                return -1;
            fprintf(out, "  %s  %s\n", c[0], c[1]);
        }
        const msgpack_object *rs = mp_get(h, "referrals");
        table_t *rt = table_new("llll");
        if (!rt)
            return -1;
        for (uint32_t k = 0; rc == 0 && rs && rs->type == MSGPACK_OBJECT_ARRAY &&
                             k < rs->via.array.size; k++) {
            const msgpack_object *f = &rs->via.array.ptr[k];
            const char *row[4] = {cell(mp_get(f, "referral_id"), c[0], sizeof c[0], "?"),
                                  cell(mp_get(f, "department"), c[1], sizeof c[1], "?"),
                                  cell(mp_get(f, "status"), c[2], sizeof c[2], "?"),
                                  joined(mp_get(f, "rules"), ", ", c[3], sizeof c[3])};
            rc = row[0] && row[1] && row[2] && row[3] ? table_add_row(rt, row) : -1;
        }
        if (rc == 0)
            table_print(rt, out, 2);
        table_free(rt);
    }
    const msgpack_object *more = mp_get(result, "more");
    if (rc == 0 && more && more->type == MSGPACK_OBJECT_BOOLEAN && more->via.boolean)
        fprintf(out, "\n(more households: --json, or trigger.get with after_case)\n");
    return rc;
}
