"""test_53_lifecycle.py — how entitlements meet reports, re-checks and merges
(issue 17, POLICY.md §17).

- Household status for decisions comes from the case's entitlements where the
  report says otherwise, and the decision says which (its reason); on a case
  with no entitlement yet the reported status stands.
"""
import re

ID_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
SUP_B = 14100       # R-DIBAO-SUP-B: 20% of P_DIBAO 70500
TEKUN_STD = 112800  # R-TEKUN-STD: 1.6 x P_DIBAO


def ents_of(h, case_id, month=None):
    body = {"case_id": case_id}
    if month:
        body["month"] = month
    r = h.call("entitlements.list", body)
    assert r.get("ok") is True, r
    return r["result"]["entitlements"]


def wait_ents(h, case_id, want, month=None, timeout=20.0):
    """Polls entitlements.list until want(list) holds (the sweep runs every 300 ms)."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        ents = ents_of(h, case_id, month)
        if want(ents):
            return ents
        assert time.monotonic() < deadline, "entitlements of %s: %r" % (case_id, ents)
        time.sleep(0.2)


def settle(h, body):
    rep = h.submit_ok(body)
    return rep, h.wait_complete(rep["case_id"], timeout=60)


def civil_of(case, report_id):
    [f] = [f for f in case["referrals"]
           if f["report_id"] == report_id and f["department"] == "civil"]
    return f


# ---------------------------------------------------------------- 1. status from entitlements

def test_a_dibao_household_reported_as_none_is_decided_as_dibao(h):
    elder = h.member(birth="1950-03-01", name="钱老")
    rep, _ = settle(h, h.report([elder], as_of="2026-09-15", status={"dibao": "partial"}))
    case = rep["case_id"]
    [sup] = wait_ents(h, case, lambda e: len(e) == 1)
    assert sup["kind"] == "dibao_supplement" and sup["amount_fen"] == SUP_B, sup

    # the village reports the household again, not knowing it is on dibao
    rep2, got = settle(h, h.report([elder], as_of="2026-11-05"))
    f = civil_of(got, rep2["report_id"])
    assert f["status"] == "granted", f
    assert "status from entitlements: dibao full (reported: none)" in f["reason"], f
    assert any(m["code"] == "civil.dibao_supplement" for m in f["measures"]), f
    assert "R-DIBAO-SUP-B" in f["rules"], f
    [p] = [p for p in got["persons"] if p["id_masked"] == h.mask(elder["id_number"])]
    assert "S1" in p["groups"], p
    # the supplement runs on: the same entitlement, not ended
    [again] = wait_ents(h, case, lambda e: len(e) == 1)
    assert again["entitlement_id"] == sup["entitlement_id"] and again["last_month"] is None


def test_a_tekun_person_reported_as_none_keeps_tekun_support(h):
    p = h.member(birth="1941-01-01", name="孙独", tekun="dispersed")
    rep, _ = settle(h, h.report([p], as_of="2026-10-20"))
    case = rep["case_id"]
    [ts] = wait_ents(h, case, lambda e: len(e) == 1)
    assert ts["kind"] == "tekun_support" and ts["amount_fen"] == TEKUN_STD, ts
    rep2, got = settle(h, h.report([dict(p, tekun="none")], as_of="2026-11-03"))
    f = civil_of(got, rep2["report_id"])
    assert "member 1 tekun dispersed (reported: none)" in f["reason"], f
    assert any(m["code"] == "civil.tekun_support" for m in f["measures"]), f
    assert not ID_RE.search(f["reason"])
    [again] = wait_ents(h, case, lambda e: len(e) == 1)
    assert again["entitlement_id"] == ts["entitlement_id"] and again["last_month"] is None


def test_a_case_with_entitlements_but_no_dibao_is_not_decided_as_dibao(h):
    p = h.member(birth="1942-02-02", name="周独", tekun="dispersed")
    rep, _ = settle(h, h.report([p], as_of="2026-10-21"))
    wait_ents(h, rep["case_id"], lambda e: len(e) == 1)
    rep2, got = settle(h, h.report([p], as_of="2026-11-04", status={"dibao": "partial"}))
    f = civil_of(got, rep2["report_id"])
    assert "status from entitlements: none (reported: dibao partial)" in f["reason"], f
    assert not any(m["code"] == "civil.dibao_supplement" for m in f["measures"]), f


def test_without_entitlements_the_reported_status_stands(h):
    elder = h.member(birth="1951-05-05", name="吴老")
    rep, got = settle(h, h.report([elder], as_of="2026-10-02", status={"dibao": "partial"}))
    f = civil_of(got, rep["report_id"])
    assert f["status"] == "granted" and "status from entitlements" not in f["reason"], f
    assert any(m["code"] == "civil.dibao_supplement" for m in f["measures"]), f
    rep, got = settle(h, h.report([h.member(birth="1952-06-06")], as_of="2026-10-02"))
    assert all("status from entitlements" not in x["reason"] for x in got["referrals"])
