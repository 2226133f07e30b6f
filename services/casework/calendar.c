/* calendar.c — calendar.set, calendar.get: the county's working-day calendar
 * (POLICY.md §16): the public holidays and adjusted working days (调休) that
 * differ from Monday–Friday. County data set by an operator; none is shipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casework.h"
#include "log.h"
#include "mp.h"
#include "pgarr.h"
#include "schema.h"

#define CAL_MAX_DAYS 400

void calendar_prepare(store_t *store)
{
    store_prepare(store, "cw_cal_set",
                  "SELECT aid_calendar_set($1::date[], $2::text[], $3::text[], $4)");
    store_prepare(store, "cw_cal_get",
                  "SELECT day::text, kind, note FROM calendar_days"
                  " WHERE day BETWEEN $1::date AND $2::date ORDER BY day");
}

static const char *const kind_names[] = {"holiday", "workday", "normal", NULL};

typedef struct {
    aid_date_t day;
    int kind;
    char note[201];
} cal_day_t;

typedef struct {
    int n_days;
    cal_day_t days[CAL_MAX_DAYS];
    char by[65];
} cal_set_t;

static const schema_field_t day_fields[] = {
    SF_DATE(cal_day_t, day, "day", true),
    SF_ENUM(cal_day_t, kind, "kind", true, kind_names),
    SF_STR(cal_day_t, note, "note", false, 200),
};
static SCHEMA(day_schema, "day", day_fields);
static const schema_field_t set_fields[] = {
    SF_ARR(cal_set_t, days, "days", true, &day_schema, n_days, 1, CAL_MAX_DAYS),
    SF_STR(cal_set_t, by, "by", true, 64),
};
static SCHEMA(set_schema, "calendar.set", set_fields);

int calendar_set(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                 proto_error_t *err)
{
    casework_t *cw = arg;
    static cal_set_t q;
    memset(&q, 0, sizeof q);
    schema_err_t se;
    if (!req->body || schema_decode(&set_schema, req->body, &q, "", &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, req->body ? se.field : "body",
                          req->body ? se.message : "required");
    if (casework_acts_for(client, q.by, err) != 0)
        return -1;
    pgarr_t days, kinds, notes;
    pgarr_init(&days);
    pgarr_init(&kinds);
    pgarr_init(&notes);
    for (int i = 0; i < q.n_days; i++) {
        char d[11];
        date_format(q.days[i].day, d);
        for (int j = 0; j < i; j++)
            if (q.days[j].day == q.days[i].day) {
                char field[32];
                snprintf(field, sizeof field, "days[%d].day", i);
                pgarr_free(&days);
                pgarr_free(&kinds);
                pgarr_free(&notes);
                return proto_fail(err, PROTO_INVALID_FIELD, field, "the same day twice");
            }
        pgarr_add_text(&days, d);
        pgarr_add_text(&kinds, kind_names[q.days[i].kind]);
        pgarr_add_text(&notes, q.days[i].note);
    }
    const char *vals[4] = {pgarr_str(&days), pgarr_str(&kinds), pgarr_str(&notes), q.by};
    PGresult *r = vals[0] && vals[1] && vals[2] ? store_exec(cw->store, "cw_cal_set", 4, vals)
                                                 : NULL;
    pgarr_free(&days);
    pgarr_free(&kinds);
    pgarr_free(&notes);
    if (!r)
        return casework_sql_error(cw->store, err);
    PQclear(r);
    msgpack_pack_map(pk, 1);
    mp_pack_kv_int(pk, "set", q.n_days);
    log_info("calendar.set", "days", LOG_I(q.n_days), NULL);
    return 0;
}

typedef struct {
    aid_date_t from, to;
} cal_get_t;

static const schema_field_t get_fields[] = {
    SF_DATE(cal_get_t, from, "from", true),
    SF_DATE(cal_get_t, to, "to", true),
};
static SCHEMA(get_schema, "calendar.get", get_fields);

int calendar_get(void *arg, const char *client, const proto_request_t *req, msgpack_packer *pk,
                 proto_error_t *err)
{
    (void)client;
    casework_t *cw = arg;
    cal_get_t q = {0};
    schema_err_t se;
    if (!req->body || schema_decode(&get_schema, req->body, &q, "", &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, req->body ? se.field : "body",
                          req->body ? se.message : "required");
    if (q.to < q.from || date_to_days(q.to) - date_to_days(q.from) > 800)
        return proto_fail(err, PROTO_INVALID_FIELD, "to",
                          "must be on or after from, at most 800 days later");
    if (!store_ready(cw->store))
        return casework_unavailable(err);
    char from[11], to[11];
    date_format(q.from, from);
    date_format(q.to, to);
    const char *vals[2] = {from, to};
    PGresult *r = store_exec(cw->store, "cw_cal_get", 2, vals);
    if (!r)
        return casework_unavailable(err);
    int n = PQntuples(r);
    msgpack_pack_map(pk, 1);
    mp_pack_str(pk, "days");
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        msgpack_pack_map(pk, 3);
        mp_pack_kv_str(pk, "day", PQgetvalue(r, i, 0));
        mp_pack_kv_str(pk, "kind", PQgetvalue(r, i, 1));
        mp_pack_kv_str(pk, "note", PQgetvalue(r, i, 2));
    }
    PQclear(r);
    return 0;
}
