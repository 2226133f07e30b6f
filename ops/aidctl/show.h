/* show.h — the readable (non --json) output of each command. Everything the
 * server sent is treated as untrusted: missing or mistyped fields print as
 * "?", text is cleaned of terminal control characters. Each returns -1 when
 * out of memory, else 0. */
#ifndef AIDCTL_SHOW_H
#define AIDCTL_SHOW_H

#include <msgpack.h>
#include <stdio.h>

#include <stdbool.h>

/* Chinese output (--lang zh): headers, statuses, departments, measure names,
 * yuan and times in UTC+8; English (the default) otherwise. */
void show_set_lang(bool zh);

/* "error invalid_field at household.members[0].id_number: <message>" */
int show_error(FILE *out, const msgpack_object *error);
/* "accepted report report-12 → case case-3" or "duplicate: …" */
int show_submit(FILE *out, const msgpack_object *result);
/* The case, its persons table and each referral with measures and rules. */
int show_case(FILE *out, const msgpack_object *result);
/* status first, then every dependency and the version. */
int show_health(FILE *out, const msgpack_object *result);
/* triggers.list: one line per trigger with its outcome counts. */
int show_triggers(FILE *out, const msgpack_object *result);
/* trigger.get: the trigger, then each household reached (masked persons)
 * with its referrals' status and rules. */
int show_trigger(FILE *out, const msgpack_object *result);

#endif
