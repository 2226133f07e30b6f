/* household.c — the benchmark's household generator (see household.h). */
#include "household.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mp.h"
#include "names.h"

/* splitmix64: tiny, fast, good enough to spread households. */
typedef struct {
    uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int rng_below(rng_t *r, int n) { return (int)(rng_next(r) % (uint64_t)n); }
static int rng_pct(rng_t *r, int pct) { return rng_below(r, 100) < pct; }

void hh_gen_init(hh_gen_t *g, uint64_t seed)
{
    if (seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000007ull + (uint64_t)ts.tv_nsec;
    }
    g->seed = seed;
    rng_t r = {seed};
    g->area_base = 110000 + rng_below(&r, 400000);
}

void hh_township(uint64_t n, char out[10])
{
    snprintf(out, 10, "%s1%02d", HH_COUNTY, (int)(n % HH_TOWNSHIPS) + 1);
}

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵",
                                       "吴", "周", "徐", "孙", "马", "朱", "胡", "罗"};
static const char *const given[] = {"秀英", "建国", "桂兰", "小明", "大山", "玉梅", "志强",
                                    "丽娟", "国庆", "海燕", "春花", "德福", "晓东", "红梅",
                                    "永生", "子涵"};

/* A valid ID number for the member with global index idx, aged `age` on
 * HH_AS_OF (born in January..October, so the birthday has passed). */
static void make_id(const hh_gen_t *g, uint64_t idx, int age, rng_t *r, char out[19])
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    int area = g->area_base + (int)(idx / 1000);
    snprintf(out, 19, "%06d%04d%02d%02d%03d", area, 2026 - age, 1 + rng_below(r, 10),
             1 + rng_below(r, 28), (int)(idx % 1000));
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (out[i] - '0') * w[i];
    out[17] = check[sum % 11];
    out[18] = '\0';
}

/* What the household type decides about one member before packing. */
typedef struct {
    int age;
    const char *relation;
    int income;                  /* fen per month */
    const char *tekun;           /* NULL: default */
    int disability;              /* grade, 0 none */
    const char *dis_kind;
    int ill;
    const char *self_care;
    int labor, employed, wants_work;
    const char *stage;
    int orphan, unsupported, left_behind, no_supporter;
} person_t;

static const char *stage_for(int age)
{
    if (age >= 3 && age < 6)
        return "preschool";
    if (age >= 6 && age < 15)
        return "compulsory";
    if (age >= 15 && age < 18)
        return "senior";
    if (age >= 18 && age < 22)
        return "higher";
    return NULL;
}

static person_t adult(rng_t *r, const char *rel, int lo, int hi)
{
    person_t p = {0};
    p.age = lo + rng_below(r, hi - lo + 1);
    p.relation = rel;
    int working = p.age >= 16 && p.age < 60;
    p.labor = working && rng_pct(r, 80);
    p.employed = p.labor && rng_pct(r, 50);
    p.wants_work = p.labor && !p.employed && rng_pct(r, 60);
    p.income = p.employed ? 60000 + rng_below(r, 120000) : rng_below(r, 20000);
    return p;
}

static person_t child(rng_t *r, const char *rel, int lo, int hi)
{
    person_t p = {0};
    p.age = lo + rng_below(r, hi - lo + 1);
    p.relation = rel;
    p.stage = stage_for(p.age);
    return p;
}

static void pack_person(msgpack_packer *pk, const hh_gen_t *g, uint64_t idx, rng_t *r,
                        const person_t *p)
{
    char id[19], name[32];
    make_id(g, idx, p->age, r, id);
    snprintf(name, sizeof name, "%s%s", surnames[rng_below(r, 16)], given[rng_below(r, 16)]);
    int n = 4 + (p->income > 0) + (p->tekun != NULL) + 2 * (p->disability > 0) + p->ill +
            (p->self_care != NULL) + p->labor + p->employed + p->wants_work +
            (p->stage != NULL) + p->orphan + p->unsupported + p->left_behind + p->no_supporter;
    msgpack_pack_map(pk, (size_t)n);
    mp_pack_kv_str(pk, "id_number", id);
    mp_pack_kv_str(pk, "name", name);
    mp_pack_kv_str(pk, "relation", p->relation);
    mp_pack_kv_bool(pk, "hukou_local", true);
    if (p->income > 0)
        mp_pack_kv_int(pk, "monthly_income_fen", p->income);
    if (p->tekun)
        mp_pack_kv_str(pk, "tekun", p->tekun);
    if (p->disability > 0) {
        mp_pack_kv_int(pk, "disability_grade", p->disability);
        mp_pack_kv_str(pk, "disability_kind", p->dis_kind ? p->dis_kind : "physical");
    }
    if (p->ill)
        mp_pack_kv_bool(pk, "serious_illness", true);
    if (p->self_care)
        mp_pack_kv_str(pk, "self_care", p->self_care);
    if (p->labor)
        mp_pack_kv_bool(pk, "labor_capacity", true);
    if (p->employed)
        mp_pack_kv_bool(pk, "employed", true);
    if (p->wants_work)
        mp_pack_kv_bool(pk, "wants_work", true);
    if (p->stage)
        mp_pack_kv_str(pk, "school_stage", p->stage);
    if (p->orphan)
        mp_pack_kv_bool(pk, "orphan", true);
    if (p->unsupported)
        mp_pack_kv_bool(pk, "unsupported_minor", true);
    if (p->left_behind)
        mp_pack_kv_bool(pk, "left_behind", true);
    if (p->no_supporter)
        mp_pack_kv_bool(pk, "no_supporter", true);
}

void hh_pack(const hh_gen_t *g, uint64_t n, msgpack_packer *pk)
{
    rng_t r = {g->seed ^ (n * 0x2545f4914f6cdd1dull)};
    rng_next(&r);
    person_t m[8];
    int nm = 0;
    const char *dibao = NULL, *housing = NULL;
    int low_income = 0, urgent = 0;
    int circ_kind = -1, circ_expense = 0;
    int type = rng_below(&r, 100);
    if (type < 20) { /* elderly living alone or as a couple, low income */
        m[nm] = adult(&r, "head", 60, 92);
        if (m[nm].age >= 80)
            m[nm].self_care = rng_pct(&r, 50) ? "semi" : "none";
        nm++;
        if (rng_pct(&r, 50)) {
            m[nm++] = adult(&r, "spouse", 60, 88);
        } else if (rng_pct(&r, 40)) {
            m[0].tekun = "dispersed";
            m[0].no_supporter = 1;
        }
        low_income = 1;
    } else if (type < 45) { /* dibao family with children at school */
        m[nm++] = adult(&r, "head", 28, 55);
        m[nm++] = adult(&r, "spouse", 26, 55);
        int kids = 1 + rng_below(&r, 3);
        for (int k = 0; k < kids; k++)
            m[nm++] = child(&r, "child", 2, 20);
        dibao = rng_pct(&r, 40) ? "full" : "partial";
        if (rng_pct(&r, 30))
            m[nm++] = adult(&r, "parent", 62, 85);
    } else if (type < 60) { /* serious illness with large expenses */
        m[nm++] = adult(&r, "head", 35, 70);
        m[0].ill = 1;
        m[0].labor = m[0].employed = m[0].wants_work = 0;
        m[0].income = 0;
        m[nm++] = adult(&r, "spouse", 33, 70);
        if (rng_pct(&r, 60))
            m[nm++] = child(&r, "child", 4, 17);
        circ_kind = 0; /* illness */
        circ_expense = 2000000 + rng_below(&r, 8000000);
        low_income = rng_pct(&r, 50);
        urgent = rng_pct(&r, 30);
    } else if (type < 70) { /* left-behind children with grandparents */
        m[nm++] = adult(&r, "head", 62, 80);
        m[nm++] = adult(&r, "spouse", 60, 78);
        int kids = 1 + rng_below(&r, 2);
        for (int k = 0; k < kids; k++) {
            m[nm] = child(&r, "grandchild", 3, 15);
            m[nm++].left_behind = 1;
        }
        low_income = 1;
    } else if (type < 80) { /* a disabled member */
        m[nm] = adult(&r, "head", 30, 65);
        m[nm++].income = rng_below(&r, 60000);
        m[nm] = adult(&r, rng_pct(&r, 50) ? "child" : "spouse", 18, 60);
        m[nm].disability = 1 + rng_below(&r, 3);
        m[nm].dis_kind = rng_pct(&r, 30) ? "intellectual" : "physical";
        m[nm].labor = m[nm].employed = m[nm].wants_work = 0;
        m[nm].income = 0;
        m[nm].self_care = m[nm].disability <= 2 ? "semi" : NULL;
        nm++;
        low_income = 1;
    } else if (type < 90) { /* hit by a disaster */
        m[nm++] = adult(&r, "head", 30, 75);
        m[nm++] = adult(&r, "spouse", 28, 75);
        if (rng_pct(&r, 60))
            m[nm++] = child(&r, "child", 1, 17);
        housing = rng_pct(&r, 60) ? "damaged" : "dangerous";
        dibao = rng_pct(&r, 50) ? "partial" : NULL;
        circ_kind = 2; /* disaster */
        urgent = 1;
    } else if (type < 95) { /* an orphan or a minor nobody supports */
        m[nm] = child(&r, "head", 6, 17);
        if (rng_pct(&r, 50))
            m[nm].orphan = 1;
        else
            m[nm].unsupported = 1;
        nm++;
        if (rng_pct(&r, 50))
            m[nm++] = adult(&r, "other", 60, 80);
    } else { /* unemployed, low income, wants work */
        m[nm] = adult(&r, "head", 25, 55);
        m[nm].labor = 1;
        m[nm].employed = 0;
        m[nm].wants_work = 1;
        m[nm].income = 0;
        nm++;
        m[nm++] = child(&r, "child", 3, 16);
        low_income = 1;
        circ_kind = 5; /* unemployment */
    }
    if (!housing) {
        int h = rng_below(&r, 100);
        housing = h < 65 ? NULL : h < 80 ? "renting" : h < 87 ? "dangerous" : h < 93 ? "none"
                                                                               : "public_rental";
    }
    static const char *const circs[] = {"illness", "accident", "disaster", "epidemic",
                                        "schooling", "unemployment"};
    char township[10], village[13];
    hh_township(n, township);
    snprintf(village, sizeof village, "%s%03d", township, (int)((n / HH_TOWNSHIPS) % HH_VILLAGES) + 1);

    int keys = 4 + (urgent != 0) + (circ_kind >= 0);
    msgpack_pack_map(pk, (size_t)keys);
    mp_pack_kv_str(pk, "as_of", HH_AS_OF);
    mp_pack_kv_str(pk, "source", proto_sources[rng_below(&r, SOURCE_SELF + 1)]);
    mp_pack_str(pk, "area");
    msgpack_pack_map(pk, 3);
    mp_pack_kv_str(pk, "county", HH_COUNTY);
    mp_pack_kv_str(pk, "township", township);
    mp_pack_kv_str(pk, "village", village);
    if (urgent)
        mp_pack_kv_str(pk, "urgency", "urgent");
    mp_pack_str(pk, "household");
    msgpack_pack_map(pk, 1 + (housing != NULL) + 1);
    mp_pack_str(pk, "status");
    msgpack_pack_map(pk, (size_t)((dibao != NULL) + 1));
    if (dibao)
        mp_pack_kv_str(pk, "dibao", dibao);
    mp_pack_kv_bool(pk, "low_income", low_income != 0);
    if (housing)
        mp_pack_kv_str(pk, "housing", housing);
    mp_pack_str(pk, "members");
    msgpack_pack_array(pk, (size_t)nm);
    for (int i = 0; i < nm; i++)
        pack_person(pk, g, n * 8 + (uint64_t)i, &r, &m[i]);
    if (circ_kind >= 0) {
        mp_pack_str(pk, "circumstances");
        msgpack_pack_array(pk, 1);
        msgpack_pack_map(pk, circ_expense ? 3 : 2);
        mp_pack_kv_str(pk, "kind", circs[circ_kind]);
        mp_pack_kv_str(pk, "occurred_on", "2026-10-20");
        if (circ_expense)
            mp_pack_kv_int(pk, "expense_fen", circ_expense);
    }
}
