/* assessment_codec.c — assessment_t ↔ MessagePack (policy owns the assessment). */
#include "assessment_codec.h"

#include <string.h>

#include "mp.h"

void assessment_encode(const assessment_t *a, msgpack_packer *pk)
{
    msgpack_pack_map(pk, a->entitled.changed ? 6 : 5);
    mp_pack_kv_int(pk, "hh_class", a->hh_class);
    mp_pack_kv_int(pk, "per_capita_income_fen", a->per_capita_income_fen);
    mp_pack_kv_bool(pk, "low_income", a->low_income);
    mp_pack_kv_int(pk, "routing", a->routing);
    mp_pack_str(pk, "persons");
    msgpack_pack_array(pk, (size_t)a->n);
    for (int i = 0; i < a->n; i++) {
        const person_facts_t *p = &a->persons[i];
        msgpack_pack_map(pk, 7);
        mp_pack_kv_int(pk, "age", p->age);
        mp_pack_kv_int(pk, "groups", p->groups);
        mp_pack_kv_int(pk, "supplement_fen", p->supplement_fen);
        mp_pack_kv_int(pk, "supplement_rule", p->supplement_rule);
        mp_pack_kv_bool(pk, "supplement_max", p->supplement_max);
        mp_pack_kv_int(pk, "visit", p->visit);
        mp_pack_kv_int(pk, "care_category", p->care_category);
    }
    if (a->entitled.changed) { /* only then: every other assessment encodes as before */
        const entitled_t *e = &a->entitled;
        mp_pack_str(pk, "entitled");
        msgpack_pack_map(pk, 4);
        mp_pack_kv_int(pk, "reported_dibao", e->reported_dibao);
        mp_pack_kv_int(pk, "dibao", e->dibao);
        mp_pack_kv_int(pk, "tekun_on", e->tekun_on);
        mp_pack_kv_int(pk, "tekun_off", e->tekun_off);
    }
}

static int get_int(const msgpack_object *o, const char *key, int64_t lo, int64_t hi, int64_t *v)
{
    return mp_int(mp_get(o, key), v) == 0 && *v >= lo && *v <= hi ? 0 : -1;
}

static int get_bool(const msgpack_object *o, const char *key, bool *v)
{
    const msgpack_object *b = mp_get(o, key);
    if (!b || b->type != MSGPACK_OBJECT_BOOLEAN)
        return -1;
    *v = b->via.boolean;
    return 0;
}

int assessment_decode(const msgpack_object *o, int n_members, assessment_t *a)
{
    memset(a, 0, sizeof *a);
    int64_t v;
    if (get_int(o, "hh_class", HH_NONE, HH_O, &v) != 0)
        return -1;
    a->hh_class = (int)v;
    if (get_int(o, "per_capita_income_fen", 0, INT64_MAX, &a->per_capita_income_fen) != 0 ||
        get_bool(o, "low_income", &a->low_income) != 0 ||
        get_int(o, "routing", 0, (1 << DEPT_COUNT) - 1, &v) != 0)
        return -1;
    a->routing = (uint32_t)v;
    const msgpack_object *ps = mp_get(o, "persons");
    if (!ps || ps->type != MSGPACK_OBJECT_ARRAY || (int)ps->via.array.size != n_members ||
        n_members > REPORT_MAX_MEMBERS)
        return -1;
    a->n = n_members;
    for (int i = 0; i < n_members; i++) {
        const msgpack_object *po = &ps->via.array.ptr[i];
        person_facts_t *p = &a->persons[i];
        if (get_int(po, "age", 0, 300, &v) != 0) /* ID numbers allow births from 1800 */
            return -1;
        p->age = (int)v;
        if (get_int(po, "groups", 0, (1 << POLICY_GROUP_COUNT) - 1, &v) != 0)
            return -1;
        p->groups = (uint32_t)v;
        if (get_int(po, "supplement_fen", 0, INT64_MAX, &p->supplement_fen) != 0 ||
            get_int(po, "supplement_rule", 0, 'D', &v) != 0)
            return -1;
        p->supplement_rule = (char)v;
        if (get_bool(po, "supplement_max", &p->supplement_max) != 0 ||
            get_int(po, "visit", VISIT_NONE, VISIT_QUARTER, &v) != 0)
            return -1;
        p->visit = (int)v;
        if (get_int(po, "care_category", 0, 3, &v) != 0)
            return -1;
        p->care_category = (int)v;
    }
    const msgpack_object *eo = mp_get(o, "entitled");
    if (eo) {
        entitled_t *e = &a->entitled;
        if (get_int(eo, "reported_dibao", DIBAO_NONE, DIBAO_FULL, &v) != 0)
            return -1;
        e->reported_dibao = (int)v;
        if (get_int(eo, "dibao", DIBAO_NONE, DIBAO_FULL, &v) != 0)
            return -1;
        e->dibao = (int)v;
        if (get_int(eo, "tekun_on", 0, UINT32_MAX, &v) != 0)
            return -1;
        e->tekun_on = (uint32_t)v;
        if (get_int(eo, "tekun_off", 0, UINT32_MAX, &v) != 0)
            return -1;
        e->tekun_off = (uint32_t)v;
        e->changed = true;
    }
    return 0;
}
