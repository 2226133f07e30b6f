/* assessment_codec.h — the stored form of an assessment (MessagePack).
 *
 * Eligibility writes it in the transaction that creates the referrals; each
 * department reads it back with the report, so a decision is a function of
 * the stored report, the stored assessment and the parameters alone. */
#ifndef AID_ASSESSMENT_CODEC_H
#define AID_ASSESSMENT_CODEC_H

#include <msgpack.h>

#include "policy.h"

void assessment_encode(const assessment_t *a, msgpack_packer *pk);
/* 0, or -1 when o is not a well-formed assessment of n_members persons. */
int assessment_decode(const msgpack_object *o, int n_members, assessment_t *a);

#endif
