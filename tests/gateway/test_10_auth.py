"""test_10_auth.py — static pages, sign-in, sessions, CSRF, roles, rate limit,
accounts (aidctl user) and passwords."""
import json
import os
import re
import subprocess
import sys
import time

import requests


def test_static_pages_are_served_with_security_headers(g):
    for page in ("/", "/login.html", "/report.html", "/case.html", "/app.js", "/style.css",
                 "/rules.json"):
        r = requests.get(g.URL + page, timeout=10)
        assert r.status_code == 200, page
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["ETag"]
    r = requests.get(g.URL + "/report.html", timeout=10)
    assert r.headers["Content-Type"].startswith("text/html")
    assert "填报" in r.text
    again = requests.get(g.URL + "/report.html", headers={"If-None-Match": r.headers["ETag"]},
                         timeout=10)
    assert again.status_code == 304 and again.content == b""
    assert requests.get(g.URL + "/nope.html", timeout=10).status_code == 404
    assert requests.get(g.URL + "/../etc/passwd", timeout=10).status_code == 404


def test_rules_json_has_every_rule_with_text(g):
    book = requests.get(g.URL + "/rules.json", timeout=10).json()
    for rid in ("R-TEMP-EMERG", "R-DIBAO-SUP-A", "R-HOUSE-S", "R-VISIT-QUARTERLY", "R-SCOPE-S4"):
        assert book["rules"][rid]["text"], rid
        assert book["rules"][rid]["title"], rid
        assert book["rules"][rid]["text_en"], rid      # the English kept (--lang en)
    # each rule in the plan's own words (docs/rules.zh.tsv), not the English
    assert "30%增发特殊困难补助金" in book["rules"]["R-DIBAO-SUP-A"]["text"]
    assert "实物配租和租赁补贴" in book["rules"]["R-HOUSE-S"]["text"]
    assert "public rental housing" in book["rules"]["R-HOUSE-S"]["text_en"]
    assert all(not r["text"].isascii() for r in book["rules"].values())
    assert "孤儿" in book["groups"]["S4"] and book["groups_en"]["S4"].startswith("an orphan")
    assert "housing.public_rental_or_subsidy" in book["measures"]["housing"]
    # the measure names are proto/zh.c's one table, every code named
    assert book["measure_names"]["civil.dibao_supplement"] == "分类施保金"
    assert all(m in book["measure_names"] for ms in book["measures"].values() for m in ms)


def test_rules_json_is_what_gen_rules_writes_now(tmp_path):
    """www/rules.json is committed: it must be what docs/policy.md,
    docs/rules.zh.tsv and proto/zh.c make today."""
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    out = tmp_path / "rules.json"
    subprocess.run([sys.executable, os.path.join(root, "services", "gateway", "gen_rules.py"),
                    os.path.join(root, "docs", "policy.md"),
                    os.path.join(root, "proto", "DEPARTMENTS.md"), str(out)],
                   check=True, capture_output=True)
    with open(os.path.join(root, "services", "gateway", "www", "rules.json"), encoding="utf-8") as f:
        assert json.load(f) == json.loads(out.read_text(encoding="utf-8"))


def test_api_needs_a_session(g):
    c = g.Client()
    for path in ("/api/cases/case-1", "/api/health", "/api/audit", "/api/ledger?month=2026-11"):
        e = g.err(c.get(path), 401, "unauthorized")
        assert e["message"]
    g.err(c.post("/api/reports", g.report(), csrf=False), 401, "unauthorized")


def test_session_before_login_sets_a_strict_pre_session_cookie(g):
    c = g.Client()
    r = c.session()
    res = r.json()["result"]
    assert res["authenticated"] is False and len(res["csrf"]) == 43
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("aid_pre=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_login_needs_the_pre_session_token(g):
    c = g.Client()
    c.session()
    r = c.s.post(g.URL + "/api/login", json={"username": "tw_a", "password": g.PASSWORD},
                 timeout=30)
    g.err(r, 403, "unauthorized", "csrf")
    r = c.s.post(g.URL + "/api/login", json={"username": "tw_a", "password": g.PASSWORD},
                 headers={"X-CSRF-Token": "x" * 43}, timeout=30)
    g.err(r, 403, "unauthorized", "csrf")


def test_login_sets_an_httponly_strict_session_cookie(g):
    c = g.Client()
    r = c.login("tw_a")
    cookies = r.headers["Set-Cookie"]
    assert re.search(r"aid_session=[A-Za-z0-9_-]{43}; Path=/; Max-Age=\d+; HttpOnly; SameSite=Strict",
                     cookies), cookies
    me = g.ok(c.get("/api/session"))
    assert me["authenticated"] is True
    assert me["user"] == {"username": "tw_a", "role": "township", "scope": g.TOWN_A,
                          "display_name": "甲镇经办人"}
    assert me["csrf"] == c.csrf
    # the database keeps a 32-byte hash of the cookie's token, never the token
    token = c.s.cookies.get("aid_session")
    assert g.psql("SELECT count(*) FROM gateway_sessions WHERE octet_length(token_hash) <> 32"
                  " OR encode(token_hash, 'escape') = '%s'" % token) == "0"


def test_wrong_password_and_unknown_user_look_the_same(g):
    c = g.Client()
    a = g.err(c.login("civil_officer", "not-the-password", expect=401), 401, "unauthorized")
    b = g.err(c.login("nobody-here", "not-the-password", expect=401), 401, "unauthorized")
    assert a == b


def test_posts_need_the_sessions_csrf_token(g):
    c = g.login("tw_a")
    g.err(c.post("/api/reports", g.report(), csrf=False), 403, "unauthorized", "csrf")
    r = c.post("/api/reports", g.report(), headers={"X-CSRF-Token": "A" * 43}, csrf=False)
    g.err(r, 403, "unauthorized", "csrf")
    # another user's token is no good either
    other = g.login("tw_b")
    r = c.post("/api/reports", g.report(), headers={"X-CSRF-Token": other.csrf}, csrf=False)
    g.err(r, 403, "unauthorized", "csrf")


def test_cross_site_posts_are_refused(g):
    c = g.login("tw_a")
    r = c.post("/api/reports", g.report(), headers={"Origin": "http://evil.example"})
    g.err(r, 403, "unauthorized")
    r = c.post("/api/reports", g.report(), headers={"Sec-Fetch-Site": "cross-site"})
    g.err(r, 403, "unauthorized")


def test_posts_must_be_json(g):
    c = g.login("tw_a")
    r = c.s.post(g.URL + "/api/reports", data="a=1",
                 headers={"X-CSRF-Token": c.csrf,
                          "Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert r.status_code == 415
    r = c.s.post(g.URL + "/api/reports", data="{not json",
                 headers={"X-CSRF-Token": c.csrf, "Content-Type": "application/json"}, timeout=10)
    g.err(r, 400, "bad_request")


def test_roles_are_enforced(g):
    g.err(g.login("auditor1").post("/api/reports", g.report()), 403, "unauthorized")
    g.err(g.login("housing_officer").post("/api/reports", g.report()), 403, "unauthorized")
    g.err(g.login("tw_a").post("/api/triggers", {"kind": "death", "id_number": g.new_id()}),
          403, "unauthorized")
    g.err(g.login("tw_a").get("/api/audit"), 403, "unauthorized")
    g.err(g.login("county1").post("/api/decisions", {}), 403, "unauthorized")


def test_unknown_api_path_and_method(g):
    c = g.login("tw_a")
    g.err(c.get("/api/nothing"), 404, "not_found")
    r = c.s.delete(g.URL + "/api/reports", timeout=10)
    assert r.status_code == 405


def test_logout_ends_the_session(g):
    c = g.Client()
    c.login("tw_b")
    g.ok(c.get("/api/health"))
    g.ok(c.post("/api/logout"))
    g.err(c.get("/api/health"), 401, "unauthorized")
    assert c.s.cookies.get("aid_session") in (None, "")


def test_password_change_ends_other_sessions(g):
    g.ensure_user("pw_user", "auditor", "", "改密测试")
    first, second = g.Client(), g.Client()
    first.login("pw_user")
    second.login("pw_user")
    r = first.post("/api/password", {"old_password": "wrong-old-password", "new_password": "x" * 12})
    g.err(r, 400, "invalid_field", "old_password")
    r = first.post("/api/password", {"old_password": g.PASSWORD, "new_password": "short"})
    g.err(r, 400, "invalid_field", "new_password")
    res = g.ok(first.post("/api/password", {"old_password": g.PASSWORD,
                                            "new_password": "a-new-password-2"}))
    first.csrf = res["csrf"]
    g.ok(first.get("/api/health"))       # this session goes on, with a new cookie
    g.err(second.get("/api/health"), 401, "unauthorized")
    g.Client().login("pw_user", "a-new-password-2")
    g.Client().login("pw_user", g.PASSWORD, expect=401)


def test_login_is_rate_limited_per_user(g):
    name = g.key("rl")                                  # a fresh name: counts are per user
    g.ensure_user(name, "auditor", "", "限流测试")
    c = g.Client()
    for _ in range(5):
        c.login(name, "wrong-password-here", expect=401)
    r = c.login(name, g.PASSWORD, expect=429)           # even the right password now
    e = g.err(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) > 0 and e["message"]
    g.Client().login("tw_a")                            # other users are not affected
    # an operator's password reset does not lift it, time does; the window is 15 min
    assert g.psql("SELECT count(*) FROM gateway_logins WHERE username = '%s' AND NOT ok" % name) == "5"


def test_disabled_accounts_cannot_sign_in_and_lose_their_sessions(g):
    g.ensure_user("gone_user", "auditor", "", "停用测试")
    c = g.Client()
    c.login("gone_user")
    g.aidctl("user", "disable", "gone_user")
    g.err(c.get("/api/health"), 401, "unauthorized")
    g.Client().login("gone_user", expect=401)
    g.aidctl("user", "enable", "gone_user")
    g.Client().login("gone_user")


def test_aidctl_user_list_and_argon2id_hashes(g):
    out = g.aidctl("--json", "user", "list").stdout
    import json
    users = {u["username"]: u for u in json.loads(out)}
    assert users["tw_a"]["role"] == "township" and users["tw_a"]["scope"] == g.TOWN_A
    assert users["housing_officer"]["scope"] == "housing"
    text = g.aidctl("user", "list").stdout
    assert "tw_a" in text and "township" in text
    assert g.psql("SELECT count(*) FROM gateway_users WHERE password_hash NOT LIKE '$argon2id$%'") == "0"
    dup = g.aidctl("user", "add", "tw_a", "township", g.TOWN_A, stdin=g.PASSWORD + "\n", check=False)
    assert dup.returncode == 1 and "exists" in dup.stderr
    bad = g.aidctl("user", "add", "x_bad", "township", "12", stdin=g.PASSWORD + "\n", check=False)
    assert bad.returncode == 2
    bad = g.aidctl("user", "add", "x_bad", "department", "police", stdin=g.PASSWORD + "\n",
                   check=False)
    assert bad.returncode == 2
    short = g.aidctl("user", "add", "x_short", "auditor", stdin="short\n", check=False)
    assert short.returncode == 2


def test_login_and_logout_are_audited(g):
    c = g.Client()
    c.login("civil_officer")
    c.post("/api/logout")
    rows = g.ok(g.login("admin").get("/api/audit?username=civil_officer"))["rows"]
    actions = [r["action"] for r in rows]
    assert "login" in actions and "logout" in actions


def test_session_idle_and_expiry_are_enforced_by_the_database(g):
    c = g.Client()
    c.login("auditor1")
    g.ok(c.get("/api/health"))
    g.psql("UPDATE gateway_sessions SET last_seen = now() - interval '2 hours'"
           " WHERE username = 'auditor1'")
    g.err(c.get("/api/health"), 401, "unauthorized")
    # a fresh sign-in works; the shared client of other tests signs in anew
    g._clients.pop("auditor1", None)
    time.sleep(0.1)
