"""test_20_cases.py — filing reports and reading cases through the console:
field errors by path, form keys (idempotency), size limits, township and
department reach (404, not 403), and the audit of every case read."""
import json


def test_township_files_and_reads_its_own_case(g):
    body = g.report()
    k = g.key("form-own")
    res = g.file("tw_a", body, key=k)
    assert res["case_id"].startswith("case-") and res["report_id"].startswith("report-")
    assert res["duplicate"] is False
    assert res["request_id"] == "gw-tw_a-" + k
    c = g.ok(g.case("tw_a", res["case_id"]))
    assert c["case_id"] == res["case_id"]
    assert c["area"]["townships"] == [g.TOWN_A]
    masked = sorted(p["id_masked"] for p in c["persons"])
    assert masked == sorted(g.mask(m["id_number"]) for m in body["household"]["members"])
    assert all(p["name_masked"].endswith("*") for p in c["persons"])
    text = json.dumps(c, ensure_ascii=False)
    for m in body["household"]["members"]:
        assert m["id_number"] not in text


def test_every_case_read_is_audited(g):
    res = g.file("tw_a")
    for who in ("tw_a", "county1", "auditor1"):
        g.ok(g.case(who, res["case_id"]))
    rows = g.ok(g.login("auditor1").get("/api/audit?case_id=" + res["case_id"]))["rows"]
    reads = {(r["username"], r["role"]) for r in rows if r["action"] == "case.read"}
    assert reads == {("tw_a", "township"), ("county1", "county"), ("auditor1", "auditor")}
    filed = [r for r in rows if r["action"] == "report.submit"]
    assert len(filed) == 1 and filed[0]["username"] == "tw_a" and filed[0]["detail"].startswith("gw-tw_a-")


def test_another_townships_case_is_not_found_like_a_missing_one(g):
    body = g.report()
    res = g.file("tw_a", body)
    other = g.login("tw_b")
    hidden = g.err(other.get("/api/cases/" + res["case_id"]), 404, "not_found", "case_id")
    missing = g.err(other.get("/api/cases/case-999999999"), 404, "not_found", "case_id")
    assert hidden == missing
    nonsense = g.err(other.get("/api/cases/whatever"), 404, "not_found", "case_id")
    assert nonsense == missing
    # by ID number too
    someone = body["household"]["members"][0]["id_number"]
    hidden = g.err(other.post("/api/cases/lookup", {"id_number": someone}), 404, "not_found",
                   "id_number")
    missing = g.err(other.post("/api/cases/lookup", {"id_number": g.new_id()}), 404, "not_found",
                    "id_number")
    assert hidden == missing
    # and the live stream of it
    g.err(other.get("/api/cases/%s/events" % res["case_id"]), 404, "not_found", "case_id")
    # nothing of it was audited as a read by tw_b
    rows = g.ok(g.login("admin").get("/api/audit?username=tw_b&case_id=" + res["case_id"]))["rows"]
    assert rows == []


def test_lookup_by_id_number(g):
    body = g.report()
    res = g.file("tw_a", body)
    c = g.ok(g.login("tw_a").post("/api/cases/lookup",
                                  {"id_number": body["household"]["members"][1]["id_number"]}))
    assert c["case_id"] == res["case_id"]
    g.err(g.login("tw_a").post("/api/cases/lookup", {"id_number": 5}), 400, "invalid_field",
          "id_number")
    g.err(g.login("tw_a").post("/api/cases/lookup", {"id_number": "123"}), 400, "invalid_field",
          "id_number")


def test_township_cannot_file_for_another_township(g):
    c = g.login("tw_a")
    g.err(c.post("/api/reports", g.report(township=g.TOWN_B)), 403, "unauthorized",
          "area.township")
    g.err(c.post("/api/reports", g.report(village=g.VILLAGE_B)), 403, "unauthorized",
          "area.village")
    # the county office files anywhere
    g.file("county1", g.report(township=g.TOWN_B))


def test_a_bad_check_digit_is_named_by_its_path(g):
    body = g.report()
    body["household"]["members"][1]["id_number"] = g.bad_check(g.new_id("1990-01-02"))
    e = g.err(g.login("tw_a").post("/api/reports", body), 400, "invalid_field",
              "household.members[1].id_number")
    # in Chinese, naming the field by its name and path; intake's English beside it
    assert e["message"] == "身份证号码(household.members[1].id_number)校验位不符,请核对", e
    assert "check" in e["message_en"]


def test_other_field_errors_keep_the_contracts_path(g):
    c = g.login("tw_a")
    body = g.report()
    body["household"]["members"][0]["monthly_income_fen"] = 10.5
    e = g.err(c.post("/api/reports", body), 400, "invalid_field",
              "household.members[0].monthly_income_fen")
    assert e["message"] == "月收入(household.members[0].monthly_income_fen)须为整数(金额以分为单位)", e
    body = g.report()
    body["household"]["members"][0]["hukou_locl"] = True
    e = g.err(c.post("/api/reports", body), 400, "invalid_field",
              "household.members[0].hukou_locl")
    assert e["message"] == "字段 household.members[0].hukou_locl:未知字段(请检查拼写)", e
    body = g.report()
    body["circumstances"] = [{"kind": "flood"}]
    e = g.err(c.post("/api/reports", body), 400, "invalid_field", "circumstances[0].kind")
    assert e["message"].startswith("类型(circumstances[0].kind)须为以下之一:illness|"), e
    body = g.report()
    del body["household"]["members"][0]["hukou_local"]
    e = g.err(c.post("/api/reports", body), 400, "invalid_field",
              "household.members[0].hukou_local")
    assert e["message"] == "本县户籍(household.members[0].hukou_local)为必填项", e
    body = g.report()
    body["household"]["members"][0]["disability_grade"] = 7
    e = g.err(c.post("/api/reports", body), 400, "invalid_field",
              "household.members[0].disability_grade")
    assert e["message"] == "残疾等级(household.members[0].disability_grade)须在 0..4 范围内", e
    assert e["message_en"] == "must be in the range 0..4", e
    # the gateway's own English: Chinese too
    e = g.err(c.get("/api/cases/case-999999999"), 404, "not_found")
    assert e["message"] == "没有这个个案", e


def test_an_id_number_in_an_error_path_is_masked(g):
    """A key that is an ID number is named masked, both by the gateway's own
    JSON check (a real number) and by intake's validator (an unknown key)."""
    c = g.login("tw_a")
    k = g.new_id("1966-06-06")
    body = g.report()
    body["household"]["members"][0][k] = 1.5
    e = g.err(c.post("/api/reports", body), 400, "invalid_field",
              "household.members[0]." + g.mask(k))
    assert k not in repr(e), e
    body["household"]["members"][0][k] = 1
    e = g.err(c.post("/api/reports", body), 400, "invalid_field",
              "household.members[0]." + g.mask(k))
    assert k not in repr(e), e


def test_a_form_key_makes_a_double_click_one_request(g):
    c = g.login("tw_a")
    body = g.report()
    k = g.key("double-click")
    first = g.ok(c.post("/api/reports", body, key=k))
    second = g.ok(c.post("/api/reports", body, key=k))
    assert second["duplicate"] is True
    assert (second["case_id"], second["report_id"]) == (first["case_id"], first["report_id"])
    # the same key with another body is a conflict
    g.err(c.post("/api/reports", g.report(), key=k), 409, "conflict", "id")
    # another user's same key is another request
    other = g.ok(g.login("county1").post("/api/reports", g.report(), key=k))
    assert other["duplicate"] is False
    # without a key every submission is new
    a = g.ok(c.post("/api/reports", body))
    assert a["duplicate"] is False and a["case_id"] == first["case_id"]
    g.err(c.post("/api/reports", body, key="bad key!"), 400, "invalid_field", "Idempotency-Key")
    g.err(c.post("/api/reports", body, key="short"), 400, "invalid_field", "Idempotency-Key")


def test_too_large(g):
    c = g.login("tw_a")
    huge = g.report(reporter="x" * (300 * 1024))
    g.err(c.post("/api/reports", huge), 413, "too_large")
    # under the HTTP limit but over the contract's 64 KiB once packed
    body = g.report()
    body["circumstances"] = [{"kind": "other", "note": "y" * 250} for _ in range(20)] * 14
    g.err(c.post("/api/reports", body), 413, "too_large")


def test_county_and_auditor_read_any_case(g):
    res = g.file("tw_b", g.report(township=g.TOWN_B))
    assert g.ok(g.case("county1", res["case_id"]))["case_id"] == res["case_id"]
    assert g.ok(g.case("auditor1", res["case_id"]))["case_id"] == res["case_id"]


def test_department_officers_read_only_cases_they_serve(g):
    res = g.file("tw_a")  # a dibao household: civil decides supplements; no housing need
    c = g.wait_decided(res["case_id"], ["civil"])
    assert "housing" not in {f["department"] for f in c["referrals"]}
    assert g.ok(g.case("civil_officer", res["case_id"]))["case_id"] == res["case_id"]
    g.err(g.case("housing_officer", res["case_id"]), 404, "not_found", "case_id")


def test_a_case_is_not_shown_when_its_read_cannot_be_audited(g):
    res = g.file("tw_a")
    g.psql("CREATE OR REPLACE FUNCTION gw_test_refuse() RETURNS trigger LANGUAGE plpgsql AS"
           " $$BEGIN RAISE EXCEPTION 'audit refused by test'; END$$;"
           " CREATE TRIGGER gw_test_refuse BEFORE INSERT ON gateway_audit"
           " FOR EACH ROW EXECUTE FUNCTION gw_test_refuse()")
    try:
        r = g.case("tw_a", res["case_id"])
        e = g.err(r, 503, "unavailable")
        assert "persons" not in r.text and e["message"]
    finally:
        g.psql("DROP TRIGGER gw_test_refuse ON gateway_audit; DROP FUNCTION gw_test_refuse()")
    g.ok(g.case("tw_a", res["case_id"]))


def test_the_audit_trail_is_append_only(g):
    import subprocess, os
    for sql in ("UPDATE gateway_audit SET username = 'x'", "DELETE FROM gateway_audit",
                "TRUNCATE gateway_audit"):
        out = subprocess.run(["psql", "-X", "-qtA", "-d", os.environ["AID_PG_DSN"], "-c", sql],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode != 0 and "append-only" in out.stderr, sql
