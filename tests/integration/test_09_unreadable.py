"""test_09_unreadable.py — a stored report that eligibility cannot read is held,
never assessed as nothing (045_report_hold.sql).

With eligibility stopped, a report is filed and its sealed body damaged in
Postgres (one byte of the ciphertext: the tag no longer matches); a second,
sound report follows. Eligibility, started again, assesses the sound one and
holds the damaged one: no assessment, no referral, its case not complete, the
queue row says why, the log names the report. Repaired and released by hand
(README, "Operating"), it is assessed by the next sweep and its case completes.
"""
import time


def held_reason(h, report_id):
    rows = h.psql("select coalesce(held, '') from report_queue where report_id = %d" % report_id)
    return rows[0][0] if rows else None


def test_an_unreadable_report_is_held_then_released(h):
    h.stack("kill-service", "eligibility")
    offset = h.log_size("eligibility")
    try:
        damaged = h.submit_ok(h.report([h.member(birth="1951-03-03")], status={"dibao": "full"}))
        rid = h.num(damaged["report_id"])
        sound_body = h.psql_value("select encode(body, 'hex') from reports where report_id = %d"
                                  % rid)
        h.psql("update reports set body = set_byte(body, 30, get_byte(body, 30) # 255)"
               " where report_id = %d" % rid)
        sound = h.submit_ok(h.report([h.member(birth="1952-04-04")]))
    finally:
        h.stack("start-service", "eligibility")
    # the queue goes on past it
    h.wait_complete(sound["case_id"], timeout=60, report_id=sound["report_id"])
    deadline = time.monotonic() + 30
    while held_reason(h, rid) in ("", None) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (held_reason(h, rid) or "").startswith("unreadable"), held_reason(h, rid)
    assert h.psql_value("select count(*) from assessments where report_id = %d" % rid) == "0"
    assert h.psql_value("select count(*) from referrals where report_id = %d" % rid) == "0"
    case = h.case_get(damaged["case_id"])["result"]
    assert case["complete"] is False, case
    log = h.log_since("eligibility", offset)
    assert '"event":"report.unreadable","report_id":%d' % rid in log, log[-2000:]
    # still held after further sweeps: nothing is assessed from a damaged body
    time.sleep(1)
    assert h.psql_value("select count(*) from assessments where report_id = %d" % rid) == "0"
    # repaired and released, it is assessed like any other
    h.psql("update reports set body = decode('%s', 'hex') where report_id = %d"
           % (sound_body, rid))
    h.psql("update report_queue set held = null where report_id = %d" % rid)
    done = h.wait_complete(damaged["case_id"], timeout=60, report_id=damaged["report_id"])
    assert any(f["report_id"] == damaged["report_id"] for f in done["referrals"]), done
    assert h.psql_value("select count(*) from assessments where report_id = %d" % rid) == "1"
