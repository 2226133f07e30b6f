"""test_90_params.py — county policy parameters are versioned by effective
date and changeable without a rebuild (POLICY.md).

A new P_DIBAO row (80000 fen from 2026-10-15) is inserted with psql; the
services are restarted to load it (stack.sh does not forward
AID_PARAMS_REFRESH_MS into stack.env, so we pass a short refresh in the
environment of the restart — the services inherit it — and restart them).
A report as of 2026-11-01 then gets amounts from 80000, one as of 2026-10-01
from 70500. The row is deleted afterwards and the old amounts come back.
This file runs late (90) so no other test sees the new row.
"""
import time

import pytest

NEW_DIBAO = 80015     # 30 % is 24004.5 fen: rounds half up to 24005
OLD_DIBAO = 70500
EFFECTIVE = "2026-10-15"
USERS_OF_PARAMS = ("eligibility",) + ("civil", "tempaid", "medical", "education", "housing",
                                      "employment", "relief", "social", "care")


def restart_services(h):
    for s in USERS_OF_PARAMS:
        h.stack("restart-service", s, env={"AID_PARAMS_REFRESH_MS": "200"})
    h.wait_health("ok", 20)


def household(h, as_of):
    ms = [h.member(birth="1956-01-01", name="参数甲"),
          h.member(birth="1946-02-02", name="参数乙", relation="parent", tekun="dispersed", self_care="full")]
    body = h.report(ms, as_of=as_of, status={"dibao": "partial", "single_parent": True}, urgency="urgent",
                    circumstances=[{"kind": "accident"}])
    return ms, body


def amounts(h, as_of):
    ms, body = household(h, as_of)
    res = h.submit_ok(body)
    case = h.wait_complete(res["case_id"], timeout=30)
    refs = h.referrals_of(case, res["report_id"])
    out = {}
    for f in refs.values():
        for m in f["measures"]:
            if m["form"] == "cash":
                out[(m["code"], m.get("id_masked", ""))] = m["amount_fen"]
    sup = {p["id_masked"]: p["dibao_supplement_fen"] for p in case["persons"]}
    return ms, out, sup


def half_up(base, pct):
    """base × pct %, rounded half up to a fen (POLICY §0)."""
    return (base * pct + 50) // 100


def expected(ms, dibao):
    A = half_up(dibao, 30)         # single-parent family: supplement A for both
    return {
        ("civil.dibao_supplement", mask(ms[0])): A,
        ("civil.dibao_supplement", mask(ms[1])): A,
        ("civil.tekun_support", mask(ms[1])): half_up(dibao, 160),
        ("tempaid.emergency_cash", ""): half_up(dibao * 2, 300),
    }, {mask(ms[0]): A, mask(ms[1]): A}


def mask(m):
    return m["id_number"][:6] + "*" * 8 + m["id_number"][14:]


def test_new_dibao_standard_applies_from_its_date(h):
    assert h.psql_value("select count(*) from params where name = 'P_DIBAO' and effective_from = %s"
                        % h.q(EFFECTIVE)) == "0", "a P_DIBAO row for %s exists already" % EFFECTIVE
    h.psql("insert into params (name, effective_from, value, unit, note) values "
           "('P_DIBAO', %s, %d, 'fen/month', 'integration test %s')" % (h.q(EFFECTIVE), NEW_DIBAO, h.RUN))
    try:
        restart_services(h)
        ms_new, got_new, sup_new = amounts(h, "2026-11-01")
        ms_old, got_old, sup_old = amounts(h, "2026-10-01")
        want_new, wsup_new = expected(ms_new, NEW_DIBAO)
        want_old, wsup_old = expected(ms_old, OLD_DIBAO)
        assert got_new == want_new, "as_of 2026-11-01 (P_DIBAO %d): %s" % (NEW_DIBAO, got_new)
        assert sup_new == wsup_new
        assert got_old == want_old, "as_of 2026-10-01 (P_DIBAO %d): %s" % (OLD_DIBAO, got_old)
        assert sup_old == wsup_old
    finally:
        h.psql("delete from params where name = 'P_DIBAO' and effective_from = %s" % h.q(EFFECTIVE))
    # with a 200 ms refresh the deletion is picked up without another restart
    time.sleep(1.0)
    ms, got, sup = amounts(h, "2026-11-01")
    want, wsup = expected(ms, OLD_DIBAO)
    if got != want:
        restart_services(h)           # leave the stack right for whatever runs next
    assert got == want, "after the row was deleted, as_of 2026-11-01 still gets %s" % got
    assert sup == wsup
