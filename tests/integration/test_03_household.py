"""test_03_household.py — one household, one assistance chain (一户一条救助链).

A report sharing any member's ID number with an earlier one joins that case;
a new household gets a new case; concurrent first reports of one household
end in one case.
"""
import threading


def elderly(h, name="赵一", birth="1950-02-02", **kw):
    return h.member(birth=birth, name=name, **kw)


def test_second_report_joins_first_case(h):
    a, b, c = elderly(h, "甲"), h.member(birth="1982-03-03", name="乙"), h.member(birth="2015-04-04", name="丙")
    r1 = h.submit_ok(h.report([a, b]))
    # the second report shares only b, and brings c
    r2 = h.submit_ok(h.report([dict(b), c], reporter="second"))
    assert r2["case_id"] == r1["case_id"]
    assert r2["report_id"] != r1["report_id"]
    case = h.wait_complete(r1["case_id"], timeout=30)
    masks = sorted(p["id_masked"] for p in case["persons"])
    assert masks == sorted(h.mask(m["id_number"]) for m in (a, b, c))
    for m in (a, b, c):
        r = h.case_get(id_number=m["id_number"])
        assert r["ok"] and r["result"]["case_id"] == r1["case_id"], r
    # both reports' referrals are in the one case
    report_ids = {f["report_id"] for f in case["referrals"]}
    assert r1["report_id"] in report_ids and r2["report_id"] in report_ids, case["referrals"]


def test_third_report_via_the_newcomer_joins_too(h):
    a, b, c = elderly(h, "丁"), elderly(h, "戊", "1949-09-09"), h.member(birth="1990-10-10", name="己")
    r1 = h.submit_ok(h.report([a]))
    r2 = h.submit_ok(h.report([a, b]))
    r3 = h.submit_ok(h.report([c, b]))     # shares only b, who came with r2
    assert r1["case_id"] == r2["case_id"] == r3["case_id"]


def test_new_household_gets_new_case(h):
    r1 = h.submit_ok(h.report([elderly(h, "庚")]))
    r2 = h.submit_ok(h.report([elderly(h, "辛")]))
    assert r1["case_id"] != r2["case_id"]
    c1 = h.wait_complete(r1["case_id"])
    c2 = h.wait_complete(r2["case_id"])
    assert len(c1["persons"]) == 1 and len(c2["persons"]) == 1


def test_case_view_masks_names_and_ids(h):
    m = h.member(birth="1952-12-12", name="欧阳小明")
    res = h.submit_ok(h.report([m]))
    case = h.wait_complete(res["case_id"])
    p = case["persons"][0]
    assert p["id_masked"] == h.mask(m["id_number"])
    assert p["name_masked"] == "欧***"
    assert p["age"] == 73


def test_concurrent_first_reports_one_case(h):
    shared = elderly(h, "共同", "1946-06-06")
    threads = 8
    barrier = threading.Barrier(threads)
    results, errors = [None] * threads, []
    bodies = [h.report([dict(shared), h.member(birth="1975-01-%02d" % (k + 1), name="成员%d" % k)])
              for k in range(threads)]

    def worker(k):
        c = h.Client(timeout=20)
        try:
            barrier.wait(timeout=10)
            results[k] = c.call("report.submit", bodies[k], h.rid("hh-conc"))
        except Exception as e:
            errors.append(repr(e))
        finally:
            c.close()

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    assert not errors, errors
    assert all(r and r.get("ok") for r in results), results
    cases = {r["result"]["case_id"] for r in results}
    assert len(cases) == 1, "concurrent reports of one household opened %d cases" % len(cases)
    all_ids = [shared["id_number"]] + [b["household"]["members"][1]["id_number"] for b in bodies]
    n = h.psql_value("select count(distinct case_id) from case_members where id_hash in (%s)"
                     % ",".join(h.idh(i) for i in all_ids))
    assert n == "1"
    case = h.wait_complete(cases.pop(), timeout=30)
    assert len(case["persons"]) == threads + 1
