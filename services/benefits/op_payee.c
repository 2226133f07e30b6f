/* op_payee.c — payee.set (a write): the account a case is paid to, stored
 * like the other personal data: the holder's ID number keyed and sealed, the
 * account sealed, only its last 4 digits in the clear. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ben.h"
#include "benefits.h"
#include "idcard.h"
#include "pii.h"
#include "mp.h"
#include "write.h"

static void prepare(store_t *store)
{
    store_prepare(store, "ben_payee_set",
                  "INSERT INTO payees (case_id, holder_hash, holder_enc, bank, account_enc,"
                  "                    account_last4, set_by, request_id)"
                  " SELECT $1::bigint, decode($2, 'hex'), decode($3, 'hex'), $4, decode($5, 'hex'),"
                  "        $6, $7, $8 WHERE EXISTS (SELECT 1 FROM cases WHERE case_id = $1::bigint)"
                  " RETURNING 1");
}

/* payee.set (a write): the account a case is paid to. The holder's ID number
 * keyed and sealed, the account sealed; only its last 4 digits in the clear. */
static int handle_payee(opctx_t *c, const proto_request_t *req,
                        msgpack_packer *pk, proto_error_t *err)
{
    benefits_payee_t p;
    schema_err_t se;
    if (benefits_payee_decode(req->body, &p, &se) != 0)
        return proto_fail(err, PROTO_INVALID_FIELD, se.field, se.message);
    if (!p.case_num)
        return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
    char num[24], hash[PII_HASH_HEX], enc[PII_ID_ENC_HEX], last4[5], masked[24], acc_masked[16];
    snprintf(num, sizeof num, "%lld", p.case_num);
    pii_hash_hex(p.holder_id_number, hash);
    pii_id_enc_hex(p.holder_id_number, enc);
    size_t alen = strlen(p.account), slen = 0;
    snprintf(last4, sizeof last4, "%s", p.account + alen - 4);
    unsigned char *sealed = pii_seal_alloc(BEN_AD_ACCOUNT, p.account, alen, &slen);
    char *acc_hex = sealed ? ben_hex(sealed, slen) : NULL;
    free(sealed);
    memset(p.account, 0, sizeof p.account);
    if (!acc_hex)
        return proto_fail(err, PROTO_UNAVAILABLE, NULL, "out of memory: nothing was stored");
    const char *by = p.by[0] ? p.by : c->client;
    const char *a[8] = {num, hash, enc, p.bank, acc_hex, last4, by, req->id};
    PGresult *r = store_exec(c->store, "ben_payee_set", 8, a);
    free(acc_hex);
    if (!r)
        return write_unavailable(err);
    int found = PQntuples(r);
    PQclear(r);
    if (!found)
        return proto_fail(err, PROTO_NOT_FOUND, "case_id", "no such case");
    idcard_mask(p.holder_id_number, 18, masked, sizeof masked);
    snprintf(acc_masked, sizeof acc_masked, "****%s", last4);
    msgpack_pack_map(pk, 4);
    mp_pack_kv_str(pk, "case_id", p.case_id);
    mp_pack_kv_str(pk, "holder_masked", masked);
    mp_pack_kv_str(pk, "bank", p.bank);
    mp_pack_kv_str(pk, "account_masked", acc_masked);
    return 0;
}

OP_HANDLER(payee_set_op, {"payee.set", prepare, handle_payee})
