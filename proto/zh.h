/* zh.h — what a person reads, in Chinese: the measure names (the one table of
 * measure code → Chinese name), decision statuses and departments, money in
 * yuan, times in UTC+8 with their zone, and the contract's error messages
 * translated by code, field and message (the field path is kept as it is).
 * Used by the web console (gateway) and `aidctl --lang zh`. Pure data and
 * formatting: no I/O, integer arithmetic only. */
#ifndef AID_PROTO_ZH_H
#define AID_PROTO_ZH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *code; /* "civil.dibao_supplement" */
    const char *zh;   /* "分类施保金" */
} zh_name_t;

/* Every measure code of PROTOCOL.md with its Chinese name, NULL-terminated. */
extern const zh_name_t zh_measures[];

/* The Chinese name of a measure code, NULL when it has none. */
const char *zh_measure(const char *code);
/* A decision or referral status ("granted" → "已批准"), NULL when unknown. */
const char *zh_status(const char *status);
/* A department ("civil" → "民政"), NULL when unknown. */
const char *zh_department(const char *department);
/* A group of docs/policy.md §1 ("S4" → "孤儿"; "any" → the total), NULL when unknown. */
const char *zh_group(const char *group);
/* A report field's Chinese name by the last key of its path
 * ("household.members[2].id_number" → "身份证号码"), NULL when unknown. */
const char *zh_field(const char *path);

/* A row of ledger.monthly: its section ("measures" → "救助措施与金额") and
 * its item in Chinese (a group, a measure, "civil.granted" → "民政 · 已批准",
 * a visit figure); the text itself when unknown. */
const char *zh_ledger_section(const char *section);
const char *zh_ledger_item(const char *section, const char *item, char *buf, size_t bufsz);

/* fen as yuan with two decimals ("123456" → "1234.56", -5 → "-0.05"),
 * integer arithmetic only. Returns buf. */
const char *zh_yuan(int64_t fen, char *buf, size_t bufsz);

/* A UTC time as the contract and the database write it ("2026-12-06T03:30:00Z",
 * "2026-12-06 03:30:00.123+00", "…+00:00") as the county's clock reads it:
 * "2026-12-06 11:30 (UTC+8)". A time with another offset is converted from
 * that offset. 0, or -1 when iso is not such a time (buf then holds iso as it
 * is). */
int zh_time(const char *iso, char *buf, size_t bufsz);

/* The Chinese message of a contract error: by code and message pattern
 * (e.g. "must be an integer"), naming the field by its Chinese name and path,
 * else a Chinese generic text of the code naming the field. A message that is
 * Chinese already is kept. Returns buf. */
const char *zh_error(const char *code, const char *field, const char *message, char *buf,
                     size_t bufsz);

#endif
