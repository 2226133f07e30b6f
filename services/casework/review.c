/* review.c — review.queue, review.step, review.draw (POLICY.md §16,
 * proto/README.md §11.2). The checks and the records are in SQL
 * (ops/sql/55_casework.sql, aid_review_*); here the bodies are decoded, the
 * caller's right to name the staff account checked, and an investigation's
 * proposal recomputed with the policy's own functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>

#include "casework.h"
#include "config.h"
#include "curve.h"
#include "idcard.h"
#include "jsonmp.h"
#include "log.h"
#include "mp.h"
#include "names.h"
#include "pii.h"
#include "policy.h"
#include "schema.h"

#define NOTE_MAX 500
#define BY_MAX 64

void review_prepare(store_t *store)
{
    store_prepare(store, "cw_audit",
                  "INSERT INTO audit_log (who, action, case_id, detail)"
                  " VALUES ($1, $2, $3::bigint, $4)");
    store_prepare(store, "cw_queue",
                  "SELECT o_referral_id, o_case_id, o_department, o_kind, o_stage,"
                  "       o_due_on::text, o_overdue, coalesce(o_notice_ends_on::text, ''),"
                  "       o_township, o_village, coalesce(o_name, ''), o_proposal::text"
                  "  FROM aid_review_queue($1, $2, $3, $4::boolean, $5::date)");
    store_prepare(store, "cw_report",
                  "SELECT r.body, r.as_of::text,"
                  "       aid_casework_param('P_DIBAO_MIN_RATE', r.as_of, 10),"
                  "       k.referral_id IS NOT NULL, coalesce(e.dibao, false),"
                  "       coalesce(array_to_string(e.tekun, ','), '')"
                  "  FROM reviews v JOIN referrals f USING (referral_id)"
                  "  JOIN reports r ON r.report_id = f.report_id"
                  "  LEFT JOIN rechecks k ON k.referral_id = v.referral_id"
                  "  LEFT JOIN LATERAL aid_entitled_status(ARRAY[f.report_id]) e"
                  "         ON k.referral_id IS NOT NULL"
                  " WHERE v.referral_id = $1::bigint AND v.kind IN ('dibao', 'tekun')");
    store_prepare(store, "cw_step",
                  "SELECT o_stage, o_status, coalesce(o_due_on::text, ''),"
                  "       coalesce(o_notice_ends_on::text, ''), o_case_id, o_entitlements"
                  "  FROM aid_review_step($1::bigint, $2, $3, $4::date, $5::date, $6,"
                  "                       $7::jsonb, $8::jsonb, $9::jsonb, $10::jsonb, $11, $12,"
                  "                       $13)");
    store_prepare(store, "cw_draw",
                  "SELECT o_rate, array_to_string(o_pool, ','), array_to_string(o_drawn, ',')"
                  "  FROM aid_review_draw($1, $2::date, $3, $4::bigint, $5)");
}

/* ---- shared helpers ---------------------------------------------------- */

int casework_unavailable(proto_error_t *err)
{
    return proto_fail(err, PROTO_UNAVAILABLE, NULL, "database unavailable, retry later");
}

int casework_sql_error(store_t *store, proto_error_t *err)
{
    const char *state = store_sqlstate(store);
    proto_code_t code = strcmp(state, "CW404") == 0   ? PROTO_NOT_FOUND
                        : strcmp(state, "CW409") == 0 ? PROTO_CONFLICT
                        : strcmp(state, "CW401") == 0 ? PROTO_UNAUTHORIZED
                        : strcmp(state, "CW422") == 0 ? PROTO_INVALID_FIELD
                                                      : PROTO_UNAVAILABLE;
    if (code == PROTO_UNAVAILABLE) {
        log_warn("casework.db_error", "error", LOG_S(store_errmsg(store)), NULL);
        return casework_unavailable(err);
    }
    /* "ERROR:  field|text\n…": the first line, without the severity */
    char msg[256];
    const char *m = store_errmsg(store);
    const char *colon = strstr(m, ":  ");
    snprintf(msg, sizeof msg, "%s", colon ? colon + 3 : m);
    msg[strcspn(msg, "\n")] = '\0';
    char *bar = strchr(msg, '|');
    const char *field = NULL, *text = msg;
    if (bar) {
        *bar = '\0';
        field = msg;
        text = bar + 1;
    }
    return proto_fail(err, code, field, text);
}

int casework_acts_for(const char *client, const char *by, proto_error_t *err)
{
    size_t n = strlen(client);
    if (!client[0] || strcmp(client, "local") == 0 || strcmp(client, by) == 0 ||
        (strncmp(by, client, n) == 0 && by[n] == '.') ||
        config_list_has("AID_DEPARTMENT_ANY", client))
        return 0;
    log_warn("casework.unauthorized", "client", LOG_S(client), NULL);
    return proto_fail(err, PROTO_UNAUTHORIZED, "by",
                      "this client may not act for that staff account: a key names only its "
                      "own accounts (<key name>.<person>)");
}

int casework_township_reach(const char *client, char township[10], proto_error_t *err)
{
    char own[10];
    if (!client[0] || !curve_user_township(client, own))
        return 0;
    if (township[0] && strcmp(township, own) != 0) {
        log_warn("casework.unauthorized", "client", LOG_S(client), "township", LOG_S(township),
                 NULL);
        return proto_fail(err, PROTO_UNAUTHORIZED, "township",
                          "a township's key reads only its own township");
    }
    memcpy(township, own, sizeof own);
    return 0;
}

int casework_audit(store_t *store, const char *client, const char *action, const char *case_id,
                   const char *detail, proto_error_t *err)
{
    const char *vals[4] = {client[0] ? client : "local", action, case_id, detail};
    PGresult *r = store_exec(store, "cw_audit", 4, vals);
    if (!r)
        return casework_unavailable(err);
    PQclear(r);
    return 0;
}

/* Packs the JSON text json (an array or object made by SQL) as MessagePack. */
static void pack_json(msgpack_packer *pk, const char *json)
{
    json_error_t je;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
    jsonmp_err_t e;
    if (!v || jsonmp_pack(pk, v, NULL, &e) != 0)
        msgpack_pack_nil(pk);
    json_decref(v);
}

/* ---- review.queue ------------------------------------------------------ */

static const char *const stage_names[] = {"investigation", "notice", "confirmation",
                                          "spot_check", "signoff", NULL};

typedef struct {
    int stage;
    char township[10];
    char department[24];
    bool overdue;
} queue_q_t;

static const schema_field_t queue_fields[] = {
    SF_ENUM(queue_q_t, stage, "stage", false, stage_names),
    SF_DIGITS(queue_q_t, township, "township", false, 9),
    SF_STR(queue_q_t, department, "department", false, 20),
    SF_BOOL(queue_q_t, overdue, "overdue", false),
};
static SCHEMA(queue_schema, "review.queue", queue_fields);

int review_queue(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                 proto_error_t *err)
{
    casework_t *cw = arg;
    queue_q_t q = {0};
    schema_err_t se;
    if (req->body && schema_decode(&queue_schema, req->body, &q, "", &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    bool has_stage = req->body && mp_get(req->body, "stage");
    bool has_overdue = req->body && mp_get(req->body, "overdue");
    if (casework_township_reach(client, q.township, err) != 0)
        return -1;
    if (!store_ready(cw->store))
        return casework_unavailable(err);
    char detail[160], today[11];
    snprintf(detail, sizeof detail, "request %s", req->id[0] ? req->id : "-");
    if (casework_audit(cw->store, client, "review.queue", NULL, detail, err) != 0)
        return -1;
    date_format(date_today(), today);
    const char *vals[5] = {has_stage ? stage_names[q.stage] : NULL,
                           q.township[0] ? q.township : NULL,
                           q.department[0] ? q.department : NULL,
                           has_overdue ? (q.overdue ? "true" : "false") : NULL, today};
    PGresult *r = store_exec(cw->store, "cw_queue", 5, vals);
    if (!r)
        return casework_unavailable(err);
    int n = PQntuples(r);
    msgpack_pack_map(pk, 1);
    mp_pack_str(pk, "items");
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        char buf[48], namem[300];
        const char *ends = PQgetvalue(r, i, 7);
        msgpack_pack_map(pk, *ends ? 12 : 11);
        snprintf(buf, sizeof buf, "referral-%s", PQgetvalue(r, i, 0));
        mp_pack_kv_str(pk, "referral_id", buf);
        snprintf(buf, sizeof buf, "case-%s", PQgetvalue(r, i, 1));
        mp_pack_kv_str(pk, "case_id", buf);
        mp_pack_kv_str(pk, "department", PQgetvalue(r, i, 2));
        mp_pack_kv_str(pk, "kind", PQgetvalue(r, i, 3));
        mp_pack_kv_str(pk, "stage", PQgetvalue(r, i, 4));
        mp_pack_kv_str(pk, "due_on", PQgetvalue(r, i, 5));
        mp_pack_kv_bool(pk, "overdue", PQgetvalue(r, i, 6)[0] == 't');
        if (*ends)
            mp_pack_kv_str(pk, "notice_ends_on", ends);
        mp_pack_kv_str(pk, "township", PQgetvalue(r, i, 8));
        mp_pack_kv_str(pk, "village", PQgetvalue(r, i, 9));
        name_mask(PQgetvalue(r, i, 10), namem, sizeof namem);
        mp_pack_kv_str(pk, "name_masked", namem);
        mp_pack_str(pk, "proposal");
        pack_json(pk, PQgetvalue(r, i, 11));
    }
    PQclear(r);
    return 0;
}

/* ---- review.step ------------------------------------------------------- */

static const char *const action_names[] = {"investigate", "object",     "confirm", "refuse",
                                           "spot_check",  "signoff",    NULL};
enum { ACT_INVESTIGATE, ACT_OBJECT, ACT_CONFIRM, ACT_REFUSE, ACT_SPOT_CHECK, ACT_SIGNOFF };

typedef struct {
    int64_t index;
    int64_t monthly_income_fen;
    int self_care;
} amend_member_t;

typedef struct {
    int n_members;
    amend_member_t members[REPORT_MAX_MEMBERS];
} amend_t;

static const char *const self_care_names[] = {"full", "semi", "none", NULL};
static const schema_field_t amend_member_fields[] = {
    SF_INT(amend_member_t, index, "index", true, 0, REPORT_MAX_MEMBERS - 1),
    SF_INT(amend_member_t, monthly_income_fen, "monthly_income_fen", false, 0, 100000000000LL),
    SF_ENUM(amend_member_t, self_care, "self_care", false, self_care_names),
};
static SCHEMA(amend_member_schema, "member", amend_member_fields);
static const schema_field_t amend_fields[] = {
    SF_ARR(amend_t, members, "members", true, &amend_member_schema, n_members, 1,
           REPORT_MAX_MEMBERS),
};
static SCHEMA(amend_schema, "amend", amend_fields);

typedef struct {
    int64_t referral;
    int action;
    char by[BY_MAX + 1];
    aid_date_t on;
    char note[NOTE_MAX + 1];
    char township[10];      /* the caller's reach; "" = the county */
    const msgpack_object *findings, *amend_raw;
    amend_t amend;
} step_q_t;

/* A string field of at most max bytes of UTF-8, 1 or more when required. */
static int str_field(const msgpack_object *v, const char *name, char *out, size_t max,
                     proto_error_t *err)
{
    char msg[96];
    if (v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0 || v->via.str.size > max ||
        !schema_utf8_valid(v->via.str.ptr, v->via.str.size)) {
        snprintf(msg, sizeof msg, "must be text of 1 to %zu bytes (UTF-8)", max);
        return proto_fail(err, PROTO_INVALID_FIELD, name, msg);
    }
    memcpy(out, v->via.str.ptr, v->via.str.size);
    out[v->via.str.size] = '\0';
    return 0;
}

static int decode_step(const msgpack_object *body, step_q_t *q, proto_error_t *err)
{
    memset(q, 0, sizeof *q);
    q->action = -1;
    if (!body || body->type != MSGPACK_OBJECT_MAP)
        return proto_fail(err, PROTO_INVALID_FIELD, "body", "must be a map");
    bool has_by = false;
    for (uint32_t i = 0; i < body->via.map.size; i++) {
        const msgpack_object *k = &body->via.map.ptr[i].key, *v = &body->via.map.ptr[i].val;
        char buf[NOTE_MAX + 1];
        if (mp_str_is(k, "referral_id")) {
            int64_t n = 0;
            if (v->type == MSGPACK_OBJECT_STR && str_field(v, "referral_id", buf, 40, err) == 0 &&
                strncmp(buf, "referral-", 9) == 0 && buf[9] &&
                strspn(buf + 9, "0123456789") == strlen(buf + 9) && strlen(buf + 9) <= 18)
                n = atoll(buf + 9);
            else if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || mp_int(v, &n) != 0)
                n = 0;
            if (n <= 0)
                return proto_fail(err, PROTO_INVALID_FIELD, "referral_id",
                                  "must be a referral id (\"referral-<n>\")");
            q->referral = n;
        } else if (mp_str_is(k, "action")) {
            for (int a = 0; action_names[a]; a++)
                if (mp_str_is(v, action_names[a]))
                    q->action = a;
            if (q->action < 0)
                return proto_fail(err, PROTO_INVALID_FIELD, "action",
                                  "must be one of investigate, object, confirm, refuse, "
                                  "spot_check, signoff");
        } else if (mp_str_is(k, "by")) {
            if (str_field(v, "by", q->by, BY_MAX, err) != 0)
                return -1;
            has_by = true;
        } else if (mp_str_is(k, "on")) {
            if (v->type != MSGPACK_OBJECT_STR ||
                !(q->on = date_parse(v->via.str.ptr, v->via.str.size)))
                return proto_fail(err, PROTO_INVALID_FIELD, "on",
                                  "must be a real date YYYY-MM-DD");
        } else if (mp_str_is(k, "note")) {
            if (str_field(v, "note", q->note, NOTE_MAX, err) != 0)
                return -1;
        } else if (mp_str_is(k, "township")) {
            if (v->type != MSGPACK_OBJECT_STR || v->via.str.size != 9 ||
                strspn(v->via.str.ptr, "0123456789") < 9)
                return proto_fail(err, PROTO_INVALID_FIELD, "township", "must be 9 digits");
            memcpy(q->township, v->via.str.ptr, 9);
            q->township[9] = '\0';
        } else if (mp_str_is(k, "findings")) {
            if (v->type != MSGPACK_OBJECT_MAP)
                return proto_fail(err, PROTO_INVALID_FIELD, "findings", "must be a map");
            q->findings = v;
        } else if (mp_str_is(k, "amend")) {
            schema_err_t se;
            if (schema_decode(&amend_schema, v, &q->amend, "amend", &se) != 0)
                return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
            q->amend_raw = v;
        } else {
            char name[64];
            if (k->type != MSGPACK_OBJECT_STR || mp_str_copy(k, name, sizeof name) != 0)
                snprintf(name, sizeof name, "body");
            return proto_fail(err, PROTO_INVALID_FIELD, name, "unknown field");
        }
    }
    if (!q->referral)
        return proto_fail(err, PROTO_INVALID_FIELD, "referral_id", "required");
    if (q->action < 0)
        return proto_fail(err, PROTO_INVALID_FIELD, "action", "required");
    if (!has_by)
        return proto_fail(err, PROTO_INVALID_FIELD, "by", "required: the staff account");
    if (q->amend_raw && q->action != ACT_INVESTIGATE)
        return proto_fail(err, PROTO_INVALID_FIELD, "amend", "only an investigation amends");
    if (!q->on)
        q->on = date_today();
    return 0;
}

/* The JSON text of a map from the request (NULL when absent), ID-number-shaped
 * runs masked (they are stored); free(). */
static char *json_of(const msgpack_object *o)
{
    if (!o)
        return NULL;
    json_t *j = jsonmp_to_json(o);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    size_t n = s ? strlen(s) + 1 : 0;
    char *masked = s ? malloc(n) : NULL;
    if (masked)
        log_scrub(s, masked, n);
    free(s);
    return masked;
}

/* The measures of d as a JSON array (free()); ID numbers masked. */
static char *measures_json(const decision_t *d, const report_t *r)
{
    json_t *a = json_array();
    for (int k = 0; k < d->n_measures; k++) {
        const measure_t *m = &d->measures[k];
        json_t *o = json_object();
        json_object_set_new(o, "code", json_string(m->code));
        if (m->person >= 0 && m->person < r->n_members) {
            char masked[20];
            idcard_mask(r->members[m->person].id_number, 18, masked, sizeof masked);
            json_object_set_new(o, "person", json_integer(m->person));
            json_object_set_new(o, "id_masked", json_string(masked));
        }
        json_object_set_new(o, "amount_fen", json_integer(m->amount_fen));
        json_object_set_new(o, "period", json_string(proto_periods[m->period]));
        json_object_set_new(o, "form", json_string(proto_forms[m->form]));
        json_array_append_new(a, o);
    }
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

/* What a re-check's confirmation grants (R-RECHECK): the household's monthly
 * entitlements recomputed from the report as amended by the investigation, with the
 * status its entitlements give (policy_entitled): the civil decision's monthly cash
 * measures (supplements, tekun support, care allowance) and, for a dibao household,
 * R-DIBAO-GRANT's allowance — 0 when the per-capita income is at or above P_DIBAO:
 * the exit (R-EXIT, aid_recheck_confirm). */
static void recheck_grant(report_t *rep, bool ent_dibao, const char *ent_tekun,
                          const params_t *p, int64_t min_rate, assessment_t *a, decision_t *d,
                          decision_t *g)
{
    uint32_t tekun = 0;
    for (int i = 0; i < rep->n_members && i < 32; i++) {
        char h[PII_HASH_HEX];
        pii_hash_hex(rep->members[i].id_number, h);
        if (strstr(ent_tekun, h))
            tekun |= 1u << i;
    }
    entitled_t e;
    policy_entitled(rep, ent_dibao, tekun, &e);
    policy_assess(rep, p, a);
    policy_decide(DEPT_CIVIL, rep, a, p, d);
    memset(g, 0, sizeof *g);
    g->status = STATUS_GRANTED;
    g->rules[g->n_rules++] = "R-RECHECK";
    if (rep->status.dibao != DIBAO_NONE) {
        decision_t review, grant;
        memset(&review, 0, sizeof review);
        review.n_measures = 1;
        snprintf(review.measures[0].code, sizeof review.measures[0].code, "civil.dibao_review");
        review.measures[0].person = -1;
        policy_grant(rep, a, &review, p, min_rate, &grant);
        for (int k = 0; k < grant.n_measures && g->n_measures < DECISION_MAX_MEASURES; k++) {
            g->measures[g->n_measures] = grant.measures[k];
            if (a->per_capita_income_fen >= p->P_DIBAO)
                g->measures[g->n_measures].amount_fen = 0; /* R-EXIT */
            g->n_measures++;
        }
        g->rules[g->n_rules++] = a->per_capita_income_fen >= p->P_DIBAO ? "R-EXIT"
                                                                          : "R-DIBAO-GRANT";
    }
    for (int k = 0; k < d->n_measures && g->n_measures < DECISION_MAX_MEASURES; k++)
        if (d->measures[k].period == PERIOD_MONTH && d->measures[k].form == FORM_CASH)
            g->measures[g->n_measures++] = d->measures[k];
}

/* The investigation's proposal and grant: the stored report as amended, decided
 * again by the civil policy. 0 (both NULL when there is no report to read: the
 * SQL answers for it), or -1 with err. */
static int recompute(casework_t *cw, const step_q_t *q, char **proposal, char **grant,
                     proto_error_t *err)
{
    *proposal = *grant = NULL;
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)q->referral);
    const char *arg = num;
    PGresult *r = store_exec(cw->store, "cw_report", 1, &arg);
    if (!r)
        return casework_unavailable(err);
    if (PQntuples(r) != 1) {
        PQclear(r);
        return 0;
    }
    size_t slen = 0, blen = 0;
    unsigned char *sealed = store_bytea(r, 0, 0, &slen);
    char *body = sealed ? (char *)pii_open_alloc(PII_AD_REPORT, sealed, slen, &blen) : NULL;
    PQfreemem(sealed);
    aid_date_t as_of = date_parse(PQgetvalue(r, 0, 1), strlen(PQgetvalue(r, 0, 1)));
    int64_t min_rate = atoll(PQgetvalue(r, 0, 2));
    bool recheck = PQgetvalue(r, 0, 3)[0] == 't', ent_dibao = PQgetvalue(r, 0, 4)[0] == 't';
    char ent_tekun[REPORT_MAX_MEMBERS * (PII_HASH_HEX + 1) + 1];
    snprintf(ent_tekun, sizeof ent_tekun, "%s", PQgetvalue(r, 0, 5));
    PQclear(r);
    static report_t rep;
    static assessment_t a;
    static decision_t d, g;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    schema_err_t se;
    int rc = -1;
    if (!body || mp_unpack(body, blen, &u) != MP_OK ||
        proto_report_decode(&u.data, date_today(), &rep, &se) != 0) {
        log_error("casework.report_unreadable", "referral", LOG_I(q->referral), NULL);
        proto_fail(err, PROTO_UNAVAILABLE, NULL, "the stored report cannot be read");
        goto out;
    }
    rep.as_of = as_of;
    for (int i = 0; i < q->amend.n_members; i++) {
        const amend_member_t *m = &q->amend.members[i];
        char field[64];
        if (m->index >= rep.n_members) {
            snprintf(field, sizeof field, "amend.members[%d].index", i);
            proto_fail(err, PROTO_INVALID_FIELD, field, "no such member in the report");
            goto out;
        }
        const msgpack_object *raw = &q->amend_raw->via.map.ptr[0].val.via.array.ptr[i];
        if (mp_get(raw, "monthly_income_fen"))
            rep.members[m->index].monthly_income_fen = m->monthly_income_fen;
        if (mp_get(raw, "self_care"))
            rep.members[m->index].self_care = m->self_care;
    }
    params_t p;
    params_store_resolve(&cw->params, rep.as_of, &p);
    if (recheck) {
        recheck_grant(&rep, ent_dibao, ent_tekun, &p, min_rate, &a, &d, &g);
        *proposal = measures_json(&g, &rep); /* the entitlements recomputed */
        *grant = measures_json(&g, &rep);
        rc = *proposal && *grant ? 0 : casework_unavailable(err);
        goto out;
    }
    policy_assess(&rep, &p, &a);
    policy_decide(DEPT_CIVIL, &rep, &a, &p, &d);
    policy_grant(&rep, &a, &d, &p, min_rate, &g);
    *proposal = measures_json(&d, &rep);
    *grant = measures_json(&g, &rep);
    rc = *proposal && *grant ? 0 : casework_unavailable(err);
out:
    msgpack_unpacked_destroy(&u);
    free(body);
    return rc;
}

int review_step(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                proto_error_t *err)
{
    casework_t *cw = arg;
    step_q_t q;
    if (decode_step(req->body, &q, err) != 0 || casework_acts_for(client, q.by, err) != 0)
        return -1;
    char *proposal = NULL, *grant = NULL, *findings = json_of(q.findings),
         *amend = json_of(q.amend_raw);
    int rc = -1;
    if (q.action == ACT_INVESTIGATE && recompute(cw, &q, &proposal, &grant, err) != 0)
        goto out;
    /* ID-number-shaped runs in what people typed are stored masked */
    char num[24], on[11], today[11], by[BY_MAX + 1], note[NOTE_MAX + 1];
    log_scrub(q.by, by, sizeof by);
    log_scrub(q.note, note, sizeof note);
    snprintf(num, sizeof num, "%lld", (long long)q.referral);
    date_format(q.on, on);
    date_format(date_today(), today);
    const char *vals[13] = {num, action_names[q.action], by, on, today,
                            note[0] ? note : NULL, findings, amend, proposal, grant,
                            client[0] ? client : "local", req->id,
                            q.township[0] ? q.township : NULL};
    PGresult *r = store_exec(cw->store, "cw_step", 13, vals);
    if (!r) {
        casework_sql_error(cw->store, err);
        goto out;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        casework_unavailable(err);
        goto out;
    }
    const char *ends = PQgetvalue(r, 0, 3), *due = PQgetvalue(r, 0, 2);
    char buf[48];
    msgpack_pack_map(pk, 6 + (*ends != 0) + (*due != 0));
    snprintf(buf, sizeof buf, "referral-%lld", (long long)q.referral);
    mp_pack_kv_str(pk, "referral_id", buf);
    snprintf(buf, sizeof buf, "case-%s", PQgetvalue(r, 0, 4));
    mp_pack_kv_str(pk, "case_id", buf);
    mp_pack_kv_str(pk, "action", action_names[q.action]);
    mp_pack_kv_str(pk, "stage", PQgetvalue(r, 0, 0));
    mp_pack_kv_str(pk, "status", PQgetvalue(r, 0, 1));
    if (*due)
        mp_pack_kv_str(pk, "due_on", due);
    if (*ends)
        mp_pack_kv_str(pk, "notice_ends_on", ends);
    mp_pack_kv_bool(pk, "entitlements_started", PQgetvalue(r, 0, 5)[0] == 't');
    log_info("review.step", "referral", LOG_I(q.referral), "action",
             LOG_S(action_names[q.action]), "stage", LOG_S(PQgetvalue(r, 0, 0)), NULL);
    PQclear(r);
    rc = 0;
out:
    free(proposal);
    free(grant);
    free(findings);
    free(amend);
    return rc;
}

/* ---- review.draw ------------------------------------------------------- */

typedef struct {
    char township[10];
    char month[8];
    char by[BY_MAX + 1];
} draw_q_t;

static const schema_field_t draw_fields[] = {
    SF_DIGITS(draw_q_t, township, "township", true, 9),
    SF_STR(draw_q_t, month, "month", true, 7),
    SF_STR(draw_q_t, by, "by", true, BY_MAX),
};
static SCHEMA(draw_schema, "review.draw", draw_fields);

int review_draw(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                proto_error_t *err)
{
    casework_t *cw = arg;
    draw_q_t q = {0};
    schema_err_t se;
    if (!req->body || schema_decode(&draw_schema, req->body, &q, "", &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, req->body ? se.field : "body",
                          req->body ? se.message : "required");
    char first[16];
    snprintf(first, sizeof first, "%s-01", q.month);
    if (strlen(q.month) != 7 || !date_parse(first, 10))
        return proto_fail(err, PROTO_INVALID_FIELD, "month", "must be a month YYYY-MM");
    if (casework_acts_for(client, q.by, err) != 0)
        return -1;
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        return casework_unavailable(err);
    seed &= 0x7fffffffffffULL;
    char seedtxt[24];
    snprintf(seedtxt, sizeof seedtxt, "%llu", (unsigned long long)seed);
    const char *vals[5] = {q.township, first, q.by, seedtxt, req->id};
    PGresult *r = store_exec(cw->store, "cw_draw", 5, vals);
    if (!r)
        return casework_sql_error(cw->store, err);
    const char *pool = PQgetvalue(r, 0, 1);
    int pool_n = *pool ? 1 : 0;
    for (const char *c = pool; *c; c++)
        pool_n += *c == ',';
    msgpack_pack_map(pk, 7);
    mp_pack_kv_str(pk, "township", q.township);
    mp_pack_kv_str(pk, "month", q.month);
    mp_pack_kv_int(pk, "rate_percent", atoll(PQgetvalue(r, 0, 0)));
    mp_pack_kv_int(pk, "awaiting", pool_n);
    mp_pack_str(pk, "drawn");
    mp_pack_id_list(pk, PQgetvalue(r, 0, 2), "referral-");
    mp_pack_kv_int(pk, "seed", (int64_t)seed);
    mp_pack_kv_str(pk, "by", q.by);
    log_info("review.drawn", "township", LOG_S(q.township), "month", LOG_S(q.month), NULL);
    PQclear(r);
    return 0;
}
