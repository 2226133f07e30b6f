-- 069_drop_dead_functions.sql — two functions that nothing calls (no service,
-- no other function, trigger, view or policy): the one-report assessment
-- (eligibility records batches, aid_record_assessments) and the batch decision
-- without claim (departments record through aid_dept_record). Gone from
-- existing databases here; defined nowhere any more (ops/sql holds the functions).
DROP FUNCTION IF EXISTS aid_record_assessment(bigint, bigint, bytea, text[], text[], integer[],
                                              text[], bigint[], text[], integer[], text[]);
DROP FUNCTION IF EXISTS aid_record_decisions(bigint[], text[], text[], text[], bigint[], integer[],
                                             text[], integer[], text[], bigint[], text[], text[],
                                             text);
