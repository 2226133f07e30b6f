/* routes.c — every URL of the API: who may call it and what answers it.
 *
 * Roles (README "Web console"): a township caseworker files and reads for
 * their own township; a county officer sees every township, ledgers and
 * triggers; a department officer works the referrals of their department and
 * records its decisions; an auditor reads everything, changes nothing, and
 * reads the audit trail. Every POST needs the session's CSRF token
 * (server.c). Operations that intake does not serve yet answer 501. */
#include <stdio.h>
#include <string.h>

#include "gateway.h"

#define T GW_TOWNSHIP
#define C GW_COUNTY
#define D GW_DEPARTMENT
#define A GW_AUDITOR

static const gw_route_t routes[] = {
    /* session */
    {"GET", "/api/session", 0, api_session, NULL, NULL, NULL, REACH_ANY, "", false},
    {"POST", "/api/login", 0, api_login, NULL, NULL, NULL, REACH_ANY, "", false},
    {"POST", "/api/logout", GW_STAFF, api_logout, NULL, NULL, NULL, REACH_ANY, "", false},
    {"POST", "/api/password", GW_STAFF, api_password, NULL, NULL, NULL, REACH_ANY, "", false},
    /* reports and cases */
    {"POST", "/api/reports", T | C, api_report_submit, "report.submit", NULL, NULL, REACH_ANY,
     "report.submit", false},
    {"POST", "/api/cases/lookup", GW_STAFF, api_case_lookup, NULL, NULL, NULL, REACH_ANY, "",
     false},
    {"GET", "/api/cases/*", GW_STAFF, api_case_get, NULL, NULL, NULL, REACH_ANY, "", false},
    {"GET", "/api/cases/*/events", GW_STAFF, api_case_events, NULL, NULL, NULL, REACH_ANY, "",
     false},
    /* triggers from other bureaus, entered by the county office */
    {"POST", "/api/triggers", C, api_op, "trigger.submit", NULL, NULL, REACH_ANY,
     "trigger.submit", false},
    /* department work: the referrals show persons, so reading them is audited */
    {"GET", "/api/referrals/pending", C | D | A, api_op, "referrals.pending",
     "department,#after_seq,#limit", NULL, REACH_DEPARTMENT, "referrals.read", false},
    {"POST", "/api/decisions", D, api_decision_submit, "decision.submit", NULL, NULL,
     REACH_ANY, "decision.submit", false},
    {"GET", "/api/referrals/overdue", T | C | D | A, api_op, "referrals.overdue",
     "township,as_of", NULL, REACH_TOWNSHIP, "", false},
    /* care */
    {"GET", "/api/visits/due", T | C | A, api_op, "visits.due", "township,before", NULL,
     REACH_TOWNSHIP, "visits.read", false},
    {"POST", "/api/visits", T | C, api_op, "visit.record", NULL, NULL, REACH_PERSON,
     "visit.record", false},
    {"POST", "/api/caregiver-scores", T | C, api_op, "caregiver.score", NULL, NULL, REACH_PERSON,
     "caregiver.score", false},
    /* ledgers and supervision */
    {"GET", "/api/ledger", T | C | A, api_op, "ledger.monthly", "month,township", NULL,
     REACH_TOWNSHIP, "", false},
    {"GET", "/api/ledger.csv", T | C | A, api_ledger_csv, "ledger.monthly", "month,township",
     NULL, REACH_TOWNSHIP, "", false},
    {"POST", "/api/ledger/submit", T | C, api_op, "ledger.submit", NULL, NULL, REACH_TOWNSHIP,
     "ledger.submit", true},
    {"GET", "/api/disclosure", T | C | A, api_op, "disclosure.list", "village,month", NULL,
     REACH_VILLAGE, "", false},
    {"POST", "/api/complaints", T | C | D, api_op, "complaint.submit", NULL, NULL, REACH_CASE,
     "complaint.submit", true},
    /* a complaint outside a caseworker's township answers 404 as a missing one */
    {"GET", "/api/complaints/*", GW_STAFF, api_op, "complaint.get", NULL, "tracking_no",
     REACH_TOWNSHIP, "", false},
    {"POST", "/api/complaints/*", T | C | D, api_op, "complaint.update", NULL, "tracking_no",
     REACH_TOWNSHIP, "complaint.update", true},
    /* possible moves (住址变更): the case's registered township or the county decides */
    {"GET", "/api/moves", T | C | A, api_op, "move.queue", "township", NULL, REACH_TOWNSHIP, "",
     false},
    {"POST", "/api/moves/*", T | C, api_op, "move.decide", NULL, "move_id", REACH_TOWNSHIP,
     "move.decide", true},
    /* the review procedure (POLICY.md §16; served by casework): the 待办 page. A
     * caseworker sees and steps the reviews of their township; `by` is the user */
    {"GET", "/api/reviews", T | C | A, api_op, "review.queue", "stage,township,department",
     NULL, REACH_TOWNSHIP, "review.read", false},
    {"POST", "/api/reviews/steps", T | C, api_op, "review.step", NULL, NULL, REACH_TOWNSHIP,
     "review.step", true},
    /* the case list of a township or village, searched by name or ID number (POST: no
     * ID number in a URL); results masked, every search audited (here and by casework) */
    {"POST", "/api/case-list", T | C | A, api_op, "case.search", NULL, NULL, REACH_TOWNSHIP,
     "case.search", false},
    /* the monthly payroll (资金发放, R-PAY-MONTHLY; proto/BENEFITS.md), the county
     * office's alone: run a month, a second person approves (four eyes: `by` is the
     * user), the bank's file (accounts in full: audited, never cached), the bank's
     * returns. The run view shows no account at all */
    {"POST", "/api/payroll/runs", C, api_op, "payroll.run", NULL, NULL, REACH_ANY,
     "payroll.run", true},
    {"GET", "/api/payroll/runs/*", C, api_op, "payroll.get", NULL, "#run_id", REACH_ANY, "",
     false},
    {"POST", "/api/payroll/runs/*/approve", C, api_op, "payroll.approve", NULL, "#run_id",
     REACH_ANY, "payroll.approve", true},
    {"GET", "/api/payroll/runs/*/file", C, api_payroll_file, "payroll.file", NULL, "#run_id",
     REACH_ANY, "payroll.file", false},
    {"POST", "/api/payroll/runs/*/returns", C, api_payroll_returns, "payroll.reconcile", NULL,
     "#run_id", REACH_ANY, "payroll.reconcile", true},
    /* the county's place names (aidctl places import): code → name */
    {"GET", "/api/places", GW_STAFF, api_places, NULL, NULL, NULL, REACH_ANY, "", false},
    {"GET", "/api/health", GW_STAFF, api_op, "health", NULL, NULL, REACH_ANY, "", false},
    /* the audit trail */
    {"GET", "/api/audit", C | A, api_audit_list, NULL, NULL, NULL, REACH_ANY, "", false},
};

#undef T
#undef C
#undef D
#undef A

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes %XX and rejects control characters and empty segments. */
static int decode_segment(const char *s, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
                return -1;
            c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || c == '/' || o + 1 >= outsz)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return o > 0 ? 0 : -1;
}

/* Matches path against pattern; fills param with the * segments. */
static bool match(const char *pattern, const char *path, char param[2][96])
{
    int np = 0;
    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");
            if (np >= 2 || decode_segment(path, n, param[np], sizeof param[np]) != 0)
                return false;
            np++;
            pattern++;
            path += n;
            continue;
        }
        if (*pattern != *path)
            return false;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

const gw_route_t *routes_match(const char *method, const char *path, char param[2][96],
                               bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        char p[2][96] = {"", ""};
        if (!match(routes[i].pattern, path, p))
            continue;
        *path_known = true;
        if (strcmp(routes[i].method, method) != 0 &&
            !(strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0))
            continue;
        memcpy(param, p, sizeof p);
        return &routes[i];
    }
    return NULL;
}
