/* record.h — the one decision recorder (issue 15): what the built-in
 * departments' worker (dept.c) and an external department's decision.submit
 * (services/decisions/) both record decisions with.
 *
 * A batch gathers decisions, each given as a struct (record_entry_t), into
 * the parameters of the one SQL recording logic, aid_apply_decisions
 * (ops/sql/50_department.sql; aid_dept_record checks the department's role
 * and calls it): decision, measures (persons' ID numbers masked here) and
 * the referrals' completion in one set-based statement, which returns the
 * referrals decided now — not those already decided before. */
#ifndef AID_DEPT_RECORD_H
#define AID_DEPT_RECORD_H

#include <stdint.h>

#include "pgarr.h"
#include "policy.h"

/* The arrays of one aid_apply_decisions call, in parameter order; then
 * decided_by. */
enum { RECORD_REFS, RECORD_STATUS, RECORD_REASON, RECORD_RULES, RECORD_MREF, RECORD_MORD,
       RECORD_CODES, RECORD_PERSONS, RECORD_MASKS, RECORD_AMOUNTS, RECORD_PERIODS,
       RECORD_FORMS, RECORD_ARRAYS, RECORD_PARAMS = RECORD_ARRAYS + 1 };

/* The parameter list of aid_apply_decisions and aid_dept_record, typed. */
#define RECORD_SQL_ARGS                                                                   \
    "$1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::text[]," \
    " $8::int[], $9::text[], $10::bigint[], $11::text[], $12::text[], $13"

typedef struct {
    pgarr_t arr[RECORD_ARRAYS];
    char rules[DECISION_MAX_RULES * 32];
} record_batch_t;

/* One decision to record. */
typedef struct {
    int64_t referral_id;
    const decision_t *decision;
    /* the referral's report: the ID numbers of the measures' persons (masked
     * when recorded); a person index outside it is recorded as the household */
    const report_t *report;
} record_entry_t;

void record_init(record_batch_t *b);
void record_reset(record_batch_t *b);
void record_free(record_batch_t *b);
/* Appends e to the batch. */
void record_add(record_batch_t *b, const record_entry_t *e);
/* The batch as the RECORD_PARAMS parameters of RECORD_SQL_ARGS, decided_by
 * last, into vals (valid until the batch changes): 0, or -1 out of memory. */
int record_params(record_batch_t *b, const char *decided_by, const char *vals[RECORD_PARAMS]);

#endif
