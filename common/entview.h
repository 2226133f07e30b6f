/* entview.h — the wire form of entitlements (issue 17, proto/BENEFITS.md),
 * one for the two places that show them: the benefits service's
 * entitlements.list and intake's case.get. */
#ifndef AID_COMMON_ENTVIEW_H
#define AID_COMMON_ENTVIEW_H

#include <libpq-fe.h>
#include <msgpack.h>

/* The columns entview_pack reads, in order, of entitlements e; and the
 * condition that leaves out a void one (superseded before its first month). */
#define ENTVIEW_COLUMNS                                                                      \
    "e.entitlement_id, e.kind, coalesce(e.id_masked, ''), e.amount_fen,"                     \
    " to_char(e.first_month, 'YYYY-MM'), coalesce(to_char(e.last_month, 'YYYY-MM'), ''),"    \
    " array_to_string(e.rules, ','), coalesce(e.end_reason, '')"
#define ENTVIEW_NOT_VOID "(e.last_month IS NULL OR e.last_month >= e.first_month)"

/* Packs the rows of r (ENTVIEW_COLUMNS) as an array of entitlement maps. */
void entview_pack(msgpack_packer *pk, const PGresult *r);
/* Packs a comma-separated list (rule ids) as an array of strings. */
void entview_pack_csv(msgpack_packer *pk, const char *csv);

#endif
