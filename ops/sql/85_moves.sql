-- ops/sql/85_moves.sql — moves: reports filed outside the case's township, and their
-- decisions.
-- Applied after every migration run, in name order (ops/sql/README.md):
-- idempotent, every function in its one current form.

-- The pending moves of the cases registered in p_township (NULL: all).
CREATE OR REPLACE FUNCTION aid_move_queue(p_township text)
RETURNS TABLE (move_id bigint, case_id bigint, report_id bigint, township text,
               to_township text, to_village text, created_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT m.move_id, m.case_id, m.report_id, c.township::text, m.to_township::text,
           m.to_village::text, m.created_at
      FROM case_moves m JOIN cases c ON c.case_id = m.case_id
     WHERE NOT EXISTS (SELECT 1 FROM case_move_decisions d WHERE d.move_id = m.move_id)
       AND (p_township IS NULL OR c.township = p_township::bpchar)
     ORDER BY m.move_id
$$;

-- move.decide: outcome 'ok', 'not_found' (no such move, or its case is not
-- registered in p_township when one is given) or 'conflict' (decided
-- already: prev_decision says how). Confirming registers the case in the
-- move's township; every township the case has reports in gets its visit
-- schedule rebuilt. The case row is locked: decisions of one case queue.
CREATE OR REPLACE FUNCTION aid_move_decide(p_request text, p_move bigint, p_decision text, p_by text,
                                p_note text, p_township text,
                                OUT outcome text, OUT case_id bigint, OUT township text,
                                OUT prev_decision text)
LANGUAGE plpgsql AS $$
DECLARE
    mv case_moves%ROWTYPE;
BEGIN
    SELECT * INTO mv FROM case_moves m WHERE m.move_id = p_move;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT c.township INTO township FROM cases c WHERE c.case_id = mv.case_id FOR UPDATE;
    IF p_township IS NOT NULL AND township IS DISTINCT FROM p_township::bpchar THEN
        outcome := 'not_found';
        township := NULL;
        RETURN;
    END IF;
    case_id := mv.case_id;
    SELECT d.decision INTO prev_decision FROM case_move_decisions d WHERE d.move_id = p_move;
    IF FOUND THEN
        outcome := 'conflict';
        RETURN;
    END IF;
    INSERT INTO case_move_decisions (move_id, decision, decided_by, note, request_id)
    VALUES (p_move, p_decision, p_by, p_note, p_request);
    IF p_decision = 'confirm' THEN
        UPDATE cases c SET township = mv.to_township WHERE c.case_id = mv.case_id;
        township := mv.to_township;
        PERFORM aid_bump_schedules(ARRAY[mv.case_id]);
    END IF;
    outcome := 'ok';
END;
$$;
