"""test_44_reviews_open.py — a batch of decisions opens its reviews with one call
(migration 120, issue 19).

A granted civil decision citing R-DIBAO-REVIEW or R-TEKUN-REVIEW is stored as the
proposal, in_review, and its review starts at investigation; an R-TEMP-EMERG grant
stays granted and owes its sign-off (POLICY.md §16). A BEFORE INSERT trigger on
decisions did that one row at a time, a statement per reviewed decision on the
departments' hot path; aid_apply_decisions now does it for the whole batch. The
test, in one transaction that is rolled back (ids far above the stack's own):

- decisions carries no row trigger on INSERT (before: decisions_review_open);
- one aid_apply_decisions call with six referrals — a dibao review, a tekun
  review, an emergency grant, a plain grant, a denial citing a review rule, and
  one already decided — sets the statuses as the trigger did, opens exactly
  three reviews with their kind, stage, place, start day and proposal (the
  measures in order), and calls aid_reviews_open once (Postgres's own function
  statistics of the transaction). The one already decided gets no review: the
  trigger, firing before the conflict was known, opened one for it (a review of
  a denied referral).
"""
import json

BASE = 910000000


SQL = """
BEGIN;
SET LOCAL track_functions = 'pl';
SELECT 'row_triggers', count(*) FROM pg_trigger
 WHERE tgrelid = 'decisions'::regclass AND NOT tgisinternal
   AND tgtype & 1 = 1 AND tgtype & 4 = 4;
INSERT INTO cases (case_id) VALUES (%(b)d);
INSERT INTO reports (report_id, case_id, request_id, source, as_of, township, village,
                     urgent, body, received_at)
VALUES (%(b)d, %(b)d, 'test_44-%(b)d', 'test_44', '2026-03-01', '330102001',
        '330102001001', false, '\\x80', '2026-03-02 20:00:00+00');
INSERT INTO referrals (referral_id, report_id, case_id, department, seq, issued_by)
SELECT %(b)d + k, %(b)d, %(b)d, d, %(b)d + k, 'test_44'
  FROM (VALUES (1, 'civil'), (2, 'social'), (3, 'tempaid'), (4, 'housing'),
               (5, 'medical'), (6, 'care')) AS v(k, d);
-- referral 6 is decided already: a second decision of it changes nothing
SELECT 'first', count(*) FROM aid_apply_decisions(
    ARRAY[%(b)d + 6]::bigint[], ARRAY['denied'], ARRAY['earlier'], ARRAY['R-DIBAO-REVIEW'],
    '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', 'care');
SELECT 'made', count(*) FROM aid_apply_decisions(
    ARRAY[%(b)d + 1, %(b)d + 2, %(b)d + 3, %(b)d + 4, %(b)d + 5, %(b)d + 6]::bigint[],
    ARRAY['granted', 'granted', 'granted', 'granted', 'denied', 'granted'],
    ARRAY['a', 'b', 'c', 'd', 'e', 'f'],
    ARRAY['R-DIBAO-1,R-DIBAO-REVIEW', 'R-TEKUN-REVIEW', 'R-TEMP-EMERG', 'R-HOUSING-1',
          'R-TEKUN-REVIEW', 'R-DIBAO-REVIEW'],
    ARRAY[%(b)d + 1, %(b)d + 1, %(b)d + 3]::bigint[], ARRAY[2, 1, 1],
    ARRAY['DIBAO_SUPP', 'DIBAO_BASE', 'TEMP_CASH'], ARRAY[1, 0, NULL]::int[],
    ARRAY['m1', 'm0', NULL], ARRAY[300, 200, 900]::bigint[],
    ARRAY['month', 'month', 'once'], ARRAY['cash', 'cash', 'cash'], 'test_44');
SELECT 'status', f.referral_id - %(b)d, f.status, d.status FROM referrals f
  JOIN decisions d USING (referral_id)
 WHERE f.referral_id > %(b)d ORDER BY 2;
SELECT 'review', referral_id - %(b)d, kind, case_id - %(b)d, department, township, village,
       as_of, started_on, stage, proposal::text
  FROM reviews WHERE referral_id > %(b)d ORDER BY 2;
SELECT 'calls', p.proname, coalesce(s.calls, 0) FROM pg_proc p
  LEFT JOIN pg_stat_xact_user_functions s ON s.funcid = p.oid
 WHERE p.proname IN ('aid_reviews_open', 'aid_review_open') ORDER BY 2;
ROLLBACK;
""" % {"b": BASE}


def test_a_batch_of_decisions_opens_its_reviews_in_one_call(h):
    rows = h.psql_script(SQL)
    # no trigger per row on the departments' hot path
    assert [r[1:] for r in rows if r[0] == "row_triggers"] == [["0"]], rows
    assert [r[1:] for r in rows if r[0] == "first"] == [["1"]], rows
    assert [r[1:] for r in rows if r[0] == "made"] == [["5"]], rows
    assert [r[1:] for r in rows if r[0] == "status"] == [
        ["1", "in_review", "in_review"], ["2", "in_review", "in_review"],
        ["3", "granted", "granted"], ["4", "granted", "granted"],
        ["5", "denied", "denied"], ["6", "denied", "denied"]], rows
    reviews = [r[1:] for r in rows if r[0] == "review"]
    # started_on: the China day the report was received (20:00 UTC is the next day)
    at = ["0", "330102001", "330102001001", "2026-03-01", "2026-03-03"]
    assert [r[:9] for r in reviews] == [
        ["1", "dibao", at[0], "civil"] + at[1:] + ["investigation"],
        ["2", "tekun", at[0], "social"] + at[1:] + ["investigation"],
        ["3", "emerg", at[0], "tempaid"] + at[1:] + ["signoff"]], rows
    proposals = [json.loads(r[9]) for r in reviews]
    assert proposals[0] == [
        {"code": "DIBAO_BASE", "person": 0, "id_masked": "m0", "amount_fen": 200,
         "period": "month", "form": "cash"},
        {"code": "DIBAO_SUPP", "person": 1, "id_masked": "m1", "amount_fen": 300,
         "period": "month", "form": "cash"}], proposals
    assert proposals[1] == [], proposals
    assert proposals[2] == [
        {"code": "TEMP_CASH", "person": None, "id_masked": None, "amount_fen": 900,
         "period": "once", "form": "cash"}], proposals
    # the batch's reviews in one call
    assert dict((r[1], r[2]) for r in rows if r[0] == "calls") == \
        {"aid_reviews_open": "1"}, rows
