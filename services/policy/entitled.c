/* entitled.c — the household status decisions use (POLICY.md §17): status given in
 * a report is what the reporter believes; what the county granted is the case's
 * active entitlements, and decisions use the latter where they differ. The
 * entitlements themselves are read once per batch by eligibility
 * (aid_entitled_status); here only the comparison, pure. */
#include <stdio.h>
#include <string.h>

#include "policy_internal.h"

static const char *const dibao_words[] = {"none", "dibao partial", "dibao full"};
static const char *const tekun_words[] = {"none", "tekun dispersed", "tekun centralized"};

void policy_entitled(report_t *r, bool dibao, uint32_t tekun, entitled_t *out)
{
    memset(out, 0, sizeof *out);
    out->reported_dibao = r->status.dibao;
    out->dibao = r->status.dibao;
    if (dibao && r->status.dibao == DIBAO_NONE) {
        int64_t sum = 0;
        for (int i = 0; i < r->n_members; i++)
            sum = money_add(sum, r->members[i].monthly_income_fen);
        out->dibao = sum == 0 ? DIBAO_FULL : DIBAO_PARTIAL; /* R-DIBAO-GRANT: 全额 at 0 */
    } else if (!dibao && r->status.dibao != DIBAO_NONE) {
        out->dibao = DIBAO_NONE;
    }
    for (int i = 0; i < r->n_members && i < 32; i++) {
        bool ent = (tekun >> i) & 1u;
        if (ent && r->members[i].tekun == TEKUN_NONE)
            out->tekun_on |= 1u << i;
        else if (!ent && r->members[i].tekun != TEKUN_NONE)
            out->tekun_off |= 1u << i;
    }
    out->changed = out->dibao != out->reported_dibao || out->tekun_on || out->tekun_off;
    if (!out->changed)
        memset(out, 0, sizeof *out);
    policy_entitled_apply(r, out);
}

void policy_entitled_apply(report_t *r, const entitled_t *e)
{
    if (!e->changed)
        return;
    r->status.dibao = e->dibao;
    for (int i = 0; i < r->n_members && i < 32; i++) {
        if ((e->tekun_on >> i) & 1u)
            r->members[i].tekun = TEKUN_DISPERSED;
        else if ((e->tekun_off >> i) & 1u)
            r->members[i].tekun = TEKUN_NONE;
    }
}

void policy_entitled_note(const entitled_t *e, char *buf, size_t n)
{
    if (n == 0)
        return;
    buf[0] = '\0';
    if (!e->changed)
        return;
    size_t len = (size_t)snprintf(buf, n, "status from entitlements:");
    const char *sep = " ";
    if (e->dibao != e->reported_dibao && e->dibao >= 0 && e->dibao <= DIBAO_FULL &&
        e->reported_dibao >= 0 && e->reported_dibao <= DIBAO_FULL && len < n) {
        len += (size_t)snprintf(buf + len, n - len, "%s%s (reported: %s)", sep,
                                dibao_words[e->dibao], dibao_words[e->reported_dibao]);
        sep = "; ";
    }
    for (int i = 0; i < 32 && len < n; i++) {
        bool on = (e->tekun_on >> i) & 1u, off = (e->tekun_off >> i) & 1u;
        if (!on && !off)
            continue;
        len += (size_t)snprintf(buf + len, n - len, "%smember %d %s (reported: %s)", sep, i + 1,
                                on ? tekun_words[TEKUN_DISPERSED] : "no tekun",
                                on ? "none" : "tekun");
        sep = "; ";
    }
}
