/* zh.c — Chinese names, yuan, UTC+8 times and error messages (zh.h). The
 * measure table here is the one the console (gen_rules.py copies it into
 * www/rules.json), the ledger CSV and `aidctl --lang zh` read. */
#include "zh.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const zh_name_t zh_measures[] = {
    {"civil.dibao_review", "低保审核"},
    {"civil.tekun_review", "特困认定"},
    {"civil.dibao_supplement", "分类施保金"},
    {"civil.dibao_keep", "低保保留(四个不摘)"},
    {"civil.tekun_support", "特困基本生活费"},
    {"civil.tekun_care", "特困照料护理补贴"},
    {"civil.central_care_offer", "集中供养安排"},
    {"civil.dibao_grant", "低保金"},
    {"civil.tekun_grant", "特困人员基本生活费"},
    {"tempaid.emergency_cash", "急难型临时救助金"},
    {"tempaid.expenditure_cash", "支出型临时救助金"},
    {"tempaid.in_kind", "临时救助(实物)"},
    {"tempaid.referral", "临时救助(转介)"},
    {"medical.overlay_insurance", "补充医疗保险"},
    {"medical.retro_aid", "追溯医疗救助"},
    {"medical.triple_check", "三重保障审核"},
    {"medical.symptom_referral", "疑似症状转诊"},
    {"education.preschool", "学前教育资助"},
    {"education.compulsory", "义务教育资助"},
    {"education.senior", "普通高中资助"},
    {"education.vocational", "中职资助"},
    {"education.higher", "高等教育资助"},
    {"education.exemption", "免学杂费课本费"},
    {"education.hardship_grading", "困难等级认定"},
    {"housing.public_rental_or_subsidy", "公租房或租赁补贴"},
    {"housing.rent_free", "免缴租金"},
    {"housing.directed_allocation", "定向配租"},
    {"employment.difficulty_registration", "就业困难人员认定"},
    {"employment.unemployed_registration", "失业登记服务"},
    {"employment.zero_employment_assistance", "零就业家庭援助"},
    {"relief.food", "食品"},
    {"relief.clothing", "衣被"},
    {"relief.water", "饮用水"},
    {"relief.shelter", "临时住所"},
    {"social.care_services", "社会工作服务"},
    {"care.visit_monthly", "每月探访"},
    {"care.visit_quarterly", "每季度探访"},
    {"care.category_1", "关爱一类"},
    {"care.category_2", "关爱二类"},
    {"care.category_3", "关爱三类"},
    {"care.caregiver_revoked", "撤换照料人"},
    {NULL, NULL},
};

static const zh_name_t statuses[] = {
    {"pending", "办理中"}, {"granted", "已批准"}, {"denied", "不予救助"},
    {"referred", "已转介"}, {"in_review", "审核中"}, {NULL, NULL},
};

/* the groups of docs/policy.md §1 (as the console labels them) */
static const zh_name_t groups[] = {
    {"S1", "低保对象"},       {"S2", "特困人员"},         {"S3", "精简退职职工"},
    {"S4", "孤儿"},           {"S5", "事实无人抚养儿童"}, {"S6", "留守/困境儿童"},
    {"S7", "低收入老年人"},   {"S8", "低收入未成年人"},   {"S9", "低收入重病患者"},
    {"S10", "低收入重度残疾人"}, {"M1", "支出型困难"},    {"M2", "困难职工"},
    {"O1", "突发事件"},       {"any", "合计(按人去重)"}, {NULL, NULL},
};

static const zh_name_t departments[] = {
    {"civil", "民政"},       {"tempaid", "临时救助"}, {"medical", "医疗保障"},
    {"education", "教育"},   {"housing", "住房"},     {"employment", "就业"},
    {"relief", "应急救助"},  {"social", "社会服务"},  {"care", "关爱探访"},
    {NULL, NULL},
};

/* the last key of a field path, as the contract names it */
static const zh_name_t fields[] = {
    {"id_number", "身份证号码"}, {"name", "姓名"}, {"as_of", "信息截至日期"},
    {"source", "来源"}, {"reporter", "报告人"}, {"area", "地区"}, {"county", "县"},
    {"township", "乡镇"}, {"village", "村(社区)"}, {"urban", "城镇户"},
    {"urgency", "紧急程度"}, {"household", "家庭"}, {"status", "状态"}, {"dibao", "低保"},
    {"low_income", "低收入家庭"}, {"single_parent", "单亲家庭"}, {"one_child", "独生子女家庭"},
    {"two_daughter", "双女户"}, {"relocation_site", "易地搬迁安置点"}, {"housing", "住房"},
    {"members", "家庭成员"}, {"relation", "与户主关系"}, {"hukou_local", "本县户籍"},
    {"residence_permit", "居住证"}, {"months_working_locally", "本县务工月数"},
    {"monthly_income_fen", "月收入"}, {"tekun", "特困供养"},
    {"disability_grade", "残疾等级"}, {"disability_kind", "残疾类别"},
    {"serious_illness", "重病"}, {"self_care", "生活自理能力"},
    {"labor_capacity", "劳动能力"}, {"employed", "在业"}, {"wants_work", "就业意愿"},
    {"school_stage", "就学阶段"}, {"orphan", "孤儿"}, {"unsupported_minor", "事实无人抚养"},
    {"left_behind", "留守"}, {"minor_in_difficulty", "困境未成年人"},
    {"no_supporter", "无赡养抚养人"}, {"three_nos", "三无人员"},
    {"retired_1960s", "60年代精简退职"}, {"dept_recognized", "部门认定"},
    {"circumstances", "困难情形"}, {"kind", "类型"}, {"expense_fen", "支出金额"},
    {"occurred_on", "发生日期"}, {"note", "备注"}, {"case_id", "个案编号"},
    {"referral_id", "转介编号"}, {"report_id", "报告编号"}, {"department", "部门"},
    {"measures", "救助措施"}, {"code", "措施代码"}, {"amount_fen", "金额"},
    {"person", "对象"}, {"rules", "依据规则"}, {"month", "月份"}, {"by", "经办人"},
    {"visited_on", "探访日期"}, {"tracking_no", "投诉编号"}, {"move_id", "迁移编号"},
    {"username", "用户名"}, {"password", "密码"}, {"old_password", "原密码"},
    {"new_password", "新密码"}, {"csrf", "CSRF 令牌"}, {"Idempotency-Key", "请求键"},
    {"id", "请求编号"}, {"op", "操作"}, {"body", "请求体"}, {"v", "协议版本"},
    {"triggers", "触发事件"}, {"score", "评分"}, {"caregiver", "照料人"},
    {"period", "周期"}, {"form", "方式"}, {"run_id", "发放批次"}, {"line_id", "明细编号"},
    {"returns", "银行回盘"}, {"csv", "银行回盘文件"}, {"bank", "开户银行"}, {"account", "银行账号"},
    {NULL, NULL},
};

static const char *find(const zh_name_t *t, const char *key)
{
    if (!key)
        return NULL;
    for (; t->code; t++)
        if (strcmp(t->code, key) == 0)
            return t->zh;
    return NULL;
}

const char *zh_measure(const char *code) { return find(zh_measures, code); }
const char *zh_status(const char *status) { return find(statuses, status); }
const char *zh_department(const char *department) { return find(departments, department); }
const char *zh_group(const char *group) { return find(groups, group); }

const char *zh_field(const char *path)
{
    if (!path || !*path)
        return NULL;
    /* the last key: after the last '.', without a trailing "[n]" */
    const char *dot = strrchr(path, '.');
    const char *key = dot ? dot + 1 : path;
    char buf[96];
    size_t n = strcspn(key, "[");
    if (n == 0 || n >= sizeof buf) {
        /* "household.members[2]": the array's own key */
        if (n == 0)
            return NULL;
        n = sizeof buf - 1;
    }
    memcpy(buf, key, n);
    buf[n] = '\0';
    return find(fields, buf);
}

const char *zh_yuan(int64_t fen, char *buf, size_t bufsz)
{
    /* |INT64_MIN| does not fit: work on the unsigned magnitude */
    uint64_t m = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    snprintf(buf, bufsz, "%s%llu.%02llu", fen < 0 ? "-" : "", (unsigned long long)(m / 100),
             (unsigned long long)(m % 100));
    return buf;
}

/* ---- the monthly ledger's rows (ledger.monthly) ------------------------- */
/* (the console's ledger page names them the same way) */
const char *zh_ledger_section(const char *sec)
{
    static const zh_name_t t[] = {
        {"groups", "救助对象(按类别,人)"}, {"visits", "探访"}, {"decisions", "部门办理(件)"},
        {"measures", "救助措施与金额"}, {"central_care", "特困集中供养"},
        {"reviews", "审核审批(件)"}, {"benefits", "保障待遇发放"}, {NULL, NULL},
    };
    for (int i = 0; sec && t[i].code; i++)
        if (strcmp(t[i].code, sec) == 0)
            return t[i].zh;
    return sec ? sec : "";
}

const char *zh_ledger_item(const char *sec, const char *item, char *buf, size_t bufsz)
{
    static const zh_name_t t[] = {
        {"due", "应探访"}, {"done", "已探访"}, {"rate_pct", "探访率(%)"},
        {"recorded", "探访记录数"}, {"centralized", "集中供养(人)"},
        {"dispersed", "分散供养(人)"}, {"target_pct", "目标集中供养率(%)"},
        {"overdue", "逾期未办结"}, {"confirmed", "审核确认"}, {"refused", "不予确认"}, {NULL, NULL},
    };
    static const zh_name_t ben[] = {
        {"households", "保障户数"}, {"persons", "保障人数"}, {"owed", "应发(户,元)"},
        {"paid", "已发放(笔,元)"}, {"failed", "发放失败(笔,元)"}, {"rechecks_due", "应复核"},
        {"rechecks_overdue", "逾期未复核"}, {"rechecks_done", "已复核"},
        {"exit.death", "退出 · 死亡"}, {"exit.income", "退出 · 收入超标(渐退期满)"},
        {"exit.moved", "退出 · 迁出本户"}, {"exit.merged", "退出 · 合并案件"},
        {"exit.ended", "退出 · 不再符合"}, {"exit.other", "退出 · 其他"}, {NULL, NULL},
    };
    const char *zh = NULL;
    if (!sec || !item)
        return item ? item : "";
    if (strcmp(sec, "groups") == 0)
        zh = zh_group(item);
    else if (strcmp(sec, "measures") == 0)
        zh = zh_measure(item);
    else if (strcmp(sec, "benefits") == 0) {
        for (int i = 0; ben[i].code && !zh; i++)
            if (strcmp(ben[i].code, item) == 0)
                zh = ben[i].zh;
    } else if (strcmp(sec, "central_care") == 0 && strcmp(item, "rate_pct") == 0)
        zh = "集中供养率(%)";
    else if (strcmp(sec, "decisions") == 0) {
        /* "civil.granted" → "民政 · 已批准" */
        char dept[32];
        const char *dot = strchr(item, '.');
        size_t n = dot ? (size_t)(dot - item) : 0;
        if (dot && n < sizeof dept) {
            memcpy(dept, item, n);
            dept[n] = '\0';
            const char *d = zh_department(dept), *st = zh_status(dot + 1);
            if (d && st) {
                snprintf(buf, bufsz, "%s · %s", d, st);
                return buf;
            }
        }
    } else {
        for (int i = 0; t[i].code && !zh; i++)
            if (strcmp(t[i].code, item) == 0)
                zh = t[i].zh;
    }
    return zh ? zh : item;
}

/* ---- times ---------------------------------------------------------- */

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* days since 1970-01-01 of a civil date (Howard Hinnant's algorithm) */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int zh_time(const char *iso, char *buf, size_t bufsz)
{
    int y, mo, d, h, mi, s = 0;
    const char *p = iso ? iso : "";
    size_t len = strlen(p);
    if (len < 16 || !digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) ||
        p[7] != '-' || !digits(p + 8, 2, &d) || (p[10] != 'T' && p[10] != ' ') ||
        !digits(p + 11, 2, &h) || p[13] != ':' || !digits(p + 14, 2, &mi))
        goto bad;
    p += 16;
    if (*p == ':') {
        if (!digits(p + 1, 2, &s))
            goto bad;
        p += 3;
    }
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    int off = 0; /* minutes east of UTC */
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om = 0;
        int sign = *p == '-' ? -1 : 1;
        if (!digits(p + 1, 2, &oh))
            goto bad;
        p += 3;
        if (*p == ':')
            p++;
        if (*p >= '0' && *p <= '9') {
            if (!digits(p, 2, &om))
                goto bad;
            p += 2;
        }
        off = sign * (oh * 60 + om);
    } else {
        goto bad; /* a time without its zone is not guessed */
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        goto bad;
    int64_t min = days_from_civil(y, mo, d) * 1440 + h * 60 + mi - off + 8 * 60;
    int64_t day = min >= 0 ? min / 1440 : -((-min + 1439) / 1440);
    int64_t rest = min - day * 1440;
    civil_from_days(day, &y, &mo, &d);
    snprintf(buf, bufsz, "%04d-%02d-%02d %02d:%02d (UTC+8)", y, mo, d, (int)(rest / 60),
             (int)(rest % 60));
    return 0;
bad:
    snprintf(buf, bufsz, "%s", iso ? iso : "");
    return -1;
}

/* ---- error messages --------------------------------------------------- */

/* By message: the English the services write (common/schema.c, common/idcard.c,
 * the proto codecs), its beginning matched; in the Chinese, %F is the field's
 * name and path, %A the English after the beginning up to a space ("0..4"). */
static const struct {
    const char *code;    /* NULL: any code */
    const char *prefix;  /* the English message's beginning ("*…": found anywhere) */
    const char *zh;      /* "%F" the field's name, "%A" the rest of the English */
} by_message[] = {
    {"invalid_field", "is required", "%F为必填项"},
    {"invalid_field", "* is not an integer", "%F须为整数(金额以分为单位)"},
    {"invalid_field", "nested too deep: at most ", "%F嵌套层数过多(最多 %A 层)"},
    {"invalid_field", "must be an integer", "%F须为整数"},
    {"invalid_field", "must be in the range ", "%F须在 %A 范围内"},
    {"invalid_field", "must be one of ", "%F须为以下之一:%A"},
    {"invalid_field", "must be a string of exactly ", "%F须为 %A 位数字"},
    {"invalid_field", "must be at most ", "%F过长(最多 %A 字节)"},
    {"invalid_field", "must be a string", "%F须为文字"},
    {"invalid_field", "must be valid UTF-8", "%F含有无效字符"},
    {"invalid_field", "must be true or false", "%F须为“是”或“否”"},
    {"invalid_field", "must be a map", "%F格式有误"},
    {"invalid_field", "must be an array", "%F须为列表"},
    {"invalid_field", "must have ", "%F的数量须为 %A 项"},
    {"invalid_field", "must be a real date", "%F须为有效日期(YYYY-MM-DD)"},
    {"invalid_field", "must not be in the future", "%F不能晚于今天"},
    {"invalid_field", "must not be after the current month", "%F不能晚于本月"},
    {"invalid_field", "must begin with the county code", "%F须以所属县的代码开头"},
    {"invalid_field", "must begin with the township code", "%F须以所属乡镇的代码开头"},
    {"invalid_field", "unknown field", "%F:未知字段(请检查拼写)"},
    {"invalid_field", "appears twice", "%F重复出现"},
    {"invalid_field", "the same measure appears twice", "%F:同一救助措施重复出现"},
    {"invalid_field", "no such measure code", "%F:没有这个救助措施代码"},
    {"invalid_field", "no such rule id", "%F:没有这个规则编号"},
    {"invalid_field", "ID number must have 18 characters", "%F应为 18 位"},
    {"invalid_field", "ID number must be 17 digits", "%F应为 17 位数字加一位数字或 X"},
    {"invalid_field", "ID number birth date (characters", "%F中的出生日期(第 7–14 位)不是有效日期"},
    {"invalid_field", "ID number birth date is after", "%F中的出生日期晚于信息截至日期"},
    {"invalid_field", "ID number check character", "%F校验位不符,请核对"},
    {"invalid_field", "invalid ID number", "%F无效"},
    {"invalid_field", "must name who", "%F:须填写经办人"},
    {"invalid_field", "give exactly one of case_id and id_number", "个案编号和身份证号码只能填写其一"},
    {"invalid_field", "needs case_id or id_number", "请填写个案编号或身份证号码"},
    {"not_found", "no registered person with this ID number", "没有登记这个身份证号码的人员"},
    {"not_found", "no such case", "没有这个个案"},
    {"not_found", "no such referral", "没有这个转介"},
    {"not_found", "no such trigger", "没有这个触发事件"},
    {"not_found", "no such move", "没有这个迁移申请"},
    {"not_found", "no such member", "报告中没有这个家庭成员"},
    {"not_found", "no complaint with this tracking number", "没有这个投诉编号"},
    {"unavailable", "outcome unknown", "结果未知:连接在提交后中断,请用同一请求重试以确认"},
    {"unavailable", "intake does not serve", "后台服务暂不支持此操作"},
    {"unavailable", "out of memory", "服务繁忙,请稍后重试"},
    {"unavailable", "cannot reach intake", "无法连接后台服务,请稍后重试"},
    {"unavailable", "intake is not reachable", "无法连接后台服务,请稍后重试"},
    {"unavailable", "intake did not answer in time", "后台服务未及时响应,请稍后重试"},
    {"unavailable", "intake sent a malformed reply", "后台服务答复异常,请稍后重试"},
    {"too_large", "request is larger than", "请求内容过大(最多 64 KiB)"},
    {"unavailable", "internal error", "服务内部错误,请稍后重试"},
    {"unavailable", "the console is stopping", "控制台正在停止,请稍后重试"},
    {"rate_limited", "too many requests", "请求过于频繁,请稍后重试"},
    {"conflict", "the move is decided already", "该迁移申请已办理,不能重复办理"},
    {"conflict", "this township's ledger for the month is already submitted",
     "该乡镇本月台账已报送,不能重复报送"},
    {"conflict", "the complaint is already ", "该投诉已处于此状态(办理步骤:登记 → 调查 → 办结)"},
    {"conflict", "the complaint is ", "该投诉的下一步应为调查(办理步骤:登记 → 调查 → 办结)"},
    {"conflict", "this request id was already used", "同一请求编号已用于不同的提交,请重新提交"},
    {"conflict", "the report's request id was already used", "同一请求编号已用于另一份报告,请重新提交"},
    /* the monthly payroll (proto/BENEFITS.md, R-PAY-MONTHLY) */
    {"invalid_field", "must be a month written YYYY-MM", "%F须为月份,格式 YYYY-MM(如 2026-11)"},
    {"invalid_field", "a failed line needs the bank's reason", "发放失败的明细须写明银行退回原因"},
    {"not_found", "no such payroll run", "没有这个发放批次"},
    {"not_found", "no such line in this run", "该批次中没有这个明细编号"},
    {"conflict", "the payroll of ", "%A 的发放名册已编制过(同一月份、同一范围只编制一次),请打开原批次"},
    {"conflict", "the person who ran the payroll cannot approve it",
     "编制人不能审核自己编制的发放名册:须由另一人审核(双人审核,R-PAY-MONTHLY)"},
    {"conflict", "the run was approved before, by ", "该批次已由 %A 审核通过,不能重复审核"},
    {"conflict", "the run's lines do not add up", "该批次明细与控制总数不符,未审核通过"},
    {"conflict", "the run is not approved",
     "该批次尚未审核:须由编制人以外的另一人审核通过后,才能生成银行文件、登记银行回盘"},
    {"conflict", "a blocked line (no payee) never went to the bank",
     "该明细因未登记收款账户而受阻,从未发往银行,不能登记回盘"},
    {"conflict", "the line was settled otherwise before",
     "该明细此前已登记为另一结果:已发放的不再发放,发放失败的转入下月补发"},
    {"bad_request", "method not allowed", "不支持此请求方法"},
    {"bad_request", "Content-Type must be application/json", "请求格式须为 JSON"},
    {"unauthorized", "cross-site request refused", "拒绝跨站请求"},
};

/* By code, when no message matched: a Chinese text naming the field. */
static const struct {
    const char *code, *with_field, *without;
} by_code[] = {
    {"invalid_field", "%F填写有误", "填写有误"},
    {"not_found", "未找到%F所指的记录", "未找到"},
    {"conflict", "%F与先前的提交冲突", "与先前的提交冲突"},
    {"unauthorized", "无权操作%F", "无权进行此操作"},
    {"too_large", "%F内容过大", "内容过大"},
    {"rate_limited", "请求过于频繁,请稍后重试", "请求过于频繁,请稍后重试"},
    {"unavailable", "服务暂不可用,请稍后重试", "服务暂不可用,请稍后重试"},
    {"unknown_op", "该功能尚未上线", "该功能尚未上线"},
    {"bad_request", "请求无效(%F)", "请求无效"},
};

static bool ascii_only(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* Writes tpl with %F → the field's name and path, %A → arg. */
static void expand(const char *tpl, const char *field, const char *arg, char *buf, size_t bufsz)
{
    char name[256] = "";
    if (field && *field) {
        const char *zh = zh_field(field);
        if (zh)
            snprintf(name, sizeof name, "%s(%s)", zh, field);
        else
            snprintf(name, sizeof name, "字段 %s", field);
    } else {
        snprintf(name, sizeof name, "此项");
    }
    size_t len = 0;
    buf[0] = '\0';
    for (const char *p = tpl; *p && len + 1 < bufsz; p++) {
        const char *put = NULL;
        if (p[0] == '%' && p[1] == 'F')
            put = name;
        else if (p[0] == '%' && p[1] == 'A')
            put = arg ? arg : "";
        if (put) {
            int n = snprintf(buf + len, bufsz - len, "%s", put);
            len += n > 0 ? (size_t)n : 0;
            if (len >= bufsz)
                len = bufsz - 1;
            p++;
            continue;
        }
        buf[len++] = *p;
        buf[len] = '\0';
    }
}

const char *zh_error(const char *code, const char *field, const char *message, char *buf,
                     size_t bufsz)
{
    if (!bufsz)
        return buf;
    code = code ? code : "";
    message = message ? message : "";
    if (*message && !ascii_only(message)) { /* Chinese already (the gateway's own) */
        snprintf(buf, bufsz, "%s", message);
        return buf;
    }
    for (size_t i = 0; i < sizeof by_message / sizeof by_message[0]; i++) {
        const char *pre = by_message[i].prefix;
        if (by_message[i].code && strcmp(by_message[i].code, code) != 0)
            continue;
        size_t n = strlen(pre);
        if (pre[0] == '*' ? !strstr(message, pre + 1) : strncmp(message, pre, n) != 0)
            continue;
        if (pre[0] == '*')
            n = strlen(message); /* no argument */
        /* the argument: the rest up to a parenthesis ("0..4", "visit|hotline") */
        char arg[200];
        snprintf(arg, sizeof arg, "%s", message + n);
        arg[strcspn(arg, " (")] = '\0';
        expand(by_message[i].zh, field, arg, buf, bufsz);
        return buf;
    }
    for (size_t i = 0; i < sizeof by_code / sizeof by_code[0]; i++)
        if (strcmp(by_code[i].code, code) == 0) {
            expand(field && *field ? by_code[i].with_field : by_code[i].without, field, NULL,
                   buf, bufsz);
            return buf;
        }
    expand(field && *field ? "%F有误" : "操作失败", field, NULL, buf, bufsz);
    return buf;
}
