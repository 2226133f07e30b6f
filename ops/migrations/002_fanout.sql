-- 002_fanout.sql — the two writes of the fan-out, each one round trip.
--
-- aid_record_assessment: eligibility's transaction — the assessment, its
-- per-person results, the report marked assessed and one referral per
-- responsible department with the next seq of that department's stream.
-- The assessments primary key makes a second assessment of a report fail.
CREATE FUNCTION aid_record_assessment(p_report bigint, p_case bigint, p_data bytea,
                                      p_ids text[], p_names text[], p_ages int[],
                                      p_groups text[], p_sup bigint[], p_visit text[],
                                      p_care int[], p_depts text[])
RETURNS TABLE (o_department text, o_referral_id bigint, o_seq bigint)
LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    INSERT INTO assessments (report_id, data) VALUES (p_report, p_data);
    INSERT INTO assessed_persons (report_id, idx, id_number, name, age, groups,
                                  supplement_fen, visit_every, care_category)
    SELECT p_report, (t.ord - 1)::int, t.id, t.name, t.age, string_to_array(t.g, ','),
           t.sup, t.visit, t.care
      FROM unnest(p_ids, p_names, p_ages, p_groups, p_sup, p_visit, p_care)
           WITH ORDINALITY AS t(id, name, age, g, sup, visit, care, ord);
    UPDATE reports SET assessed_at = now() WHERE report_id = p_report;
    FOREACH d IN ARRAY p_depts LOOP
        o_department := d;
        UPDATE dept_streams s SET last_seq = s.last_seq + 1
         WHERE s.department = d RETURNING s.last_seq INTO o_seq;
        INSERT INTO referrals (report_id, case_id, department, seq)
        VALUES (p_report, p_case, d, o_seq)
        RETURNING referral_id INTO o_referral_id;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- aid_record_decision: a department's decision and the referral's completion
-- in one statement. Returns false when the referral was already decided (the
-- decisions primary key is the guarantee; a redelivered message is a no-op).
CREATE FUNCTION aid_record_decision(p_referral bigint, p_status text, p_reason text,
                                    p_rules text[], p_codes text[], p_persons int[],
                                    p_masks text[], p_amounts bigint[], p_periods text[],
                                    p_forms text[], p_by text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO decisions (referral_id, status, reason, rules, decided_by)
    VALUES (p_referral, p_status, p_reason, p_rules, p_by)
    ON CONFLICT (referral_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO measures (referral_id, ord, code, person_idx, id_masked, amount_fen, period, form)
    SELECT p_referral, t.ord::int, t.code, t.person, t.mask, t.amount, t.period, t.form
      FROM unnest(p_codes, p_persons, p_masks, p_amounts, p_periods, p_forms)
           WITH ORDINALITY AS t(code, person, mask, amount, period, form, ord);
    UPDATE referrals SET status = p_status, decided_at = now() WHERE referral_id = p_referral;
    RETURN true;
END;
$$;
