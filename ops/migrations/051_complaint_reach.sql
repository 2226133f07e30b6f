-- 051_complaint_reach.sql — complaints are read and moved on only within
-- reach (issue 14, point 5).
--
-- A complaint belongs to the township it was filed for (complaints.township,
-- given at complaint.submit; the web console gives a caseworker's own) and
-- to the township where its case, if it names one, is registered
-- (cases.township, 050_reach.sql). complaint.get and complaint.update take
-- the reader's township (p_township; NULL: county-wide, as before): a
-- complaint outside it answers exactly as one that does not exist.

ALTER TABLE complaints ADD COLUMN township char(9);

-- True when complaint p_no exists and lies within p_township (NULL: any).
CREATE FUNCTION aid_complaint_in_reach(p_no text, p_township text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM complaints c
                    WHERE c.tracking_no = p_no
                      AND (p_township IS NULL
                           OR c.township = p_township::bpchar
                           OR EXISTS (SELECT 1 FROM cases k
                                       WHERE k.case_id = c.case_id
                                         AND k.township = p_township::bpchar)))
$$;

-- As in 010_care.sql, with the township the complaint is filed for.
DROP FUNCTION aid_complaint_submit(text, text, text, bigint, text);
CREATE FUNCTION aid_complaint_submit(p_request text, p_channel text, p_text text, p_case bigint,
                                     p_by text, p_township text,
                                     OUT outcome text, OUT tracking_no text)
LANGUAGE plpgsql AS $$
DECLARE
    m char(6) := to_char(aid_china_date(now()), 'YYYYMM');
    n int;
BEGIN
    IF p_case IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_id = p_case) THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    INSERT INTO complaint_counters AS c (month, last) VALUES (m, 1)
    ON CONFLICT (month) DO UPDATE SET last = c.last + 1
    RETURNING c.last INTO n;
    tracking_no := 'TS' || m || '-' || lpad(n::text, greatest(6, length(n::text)), '0');
    INSERT INTO complaints (tracking_no, channel, text, case_id, request_id, township)
    VALUES (tracking_no, p_channel, p_text, p_case, p_request, p_township);
    INSERT INTO complaint_steps (tracking_no, step, status, by_whom, note, request_id)
    VALUES (tracking_no, 1, 'registered', p_by, 'registered from ' || p_channel, p_request);
    outcome := 'ok';
END;
$$;

-- As in 040_roles.sql, within the reach p_township: a complaint outside it
-- is 'not_found' and nothing is written.
DROP FUNCTION aid_complaint_update(text, text, text, text, text);
CREATE FUNCTION aid_complaint_update(p_request text, p_no text, p_status text, p_by text,
                                     p_note text, p_township text, OUT outcome text,
                                     OUT cur_status text, OUT step int)
LANGUAGE plpgsql AS $$
DECLARE
    want int := CASE p_status WHEN 'investigating' THEN 2 WHEN 'resolved' THEN 3 END;
    cur int;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('complaint:' || p_no, 0));
    IF NOT aid_complaint_in_reach(p_no, p_township) THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT s.step, s.status INTO cur, cur_status FROM complaint_steps s
     WHERE s.tracking_no = p_no ORDER BY s.step DESC LIMIT 1;
    step := want;
    IF want IS NULL OR want <= cur THEN
        outcome := 'conflict';
    ELSIF want > cur + 1 THEN
        outcome := 'skip';
    ELSE
        INSERT INTO complaint_steps (tracking_no, step, status, by_whom, note, request_id)
        VALUES (p_no, want, p_status, p_by, p_note, p_request);
        outcome := 'ok';
    END IF;
END;
$$;
