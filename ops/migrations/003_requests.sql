-- 003_requests.sql — idempotency for every write operation, not only reports.
--
-- A write opens with aid_begin_request in its transaction: the first time an
-- id is seen it is recorded (and the caller stores its result before COMMIT);
-- a retry with the same op and body gets the stored result back; the same id
-- with another body is a conflict. The primary key makes this hold across
-- any number of intake processes.
ALTER TABLE requests ADD COLUMN result bytea;

CREATE FUNCTION aid_begin_request(p_request_id text, p_op text, p_raw bytea,
                                  OUT outcome text, OUT result bytea)
LANGUAGE plpgsql AS $$
DECLARE
    h bytea := sha256(p_raw);
    prev requests%ROWTYPE;
BEGIN
    INSERT INTO requests (request_id, op, body_hash) VALUES (p_request_id, p_op, h)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        outcome := 'new';
        RETURN;
    END IF;
    SELECT * INTO prev FROM requests r WHERE r.request_id = p_request_id;
    outcome := CASE WHEN prev.body_hash = h AND prev.op = p_op THEN 'duplicate' ELSE 'conflict' END;
    result := prev.result;
END;
$$;
