/* fuzz_mp.c — fuzz target for the safe MessagePack reader (common/mp.c).
 *
 * Invariants: mp_check never reads past the input and never allocates;
 * whatever it accepts, msgpack-c unpacks, and the object re-packs to the
 * same bytes (MessagePack has one encoding per value only for canonical
 * input, so the check is that re-packed bytes unpack to an equal object). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (mp_unpack((const char *)data, size, &u) == MP_OK) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_object(&pk, u.data);
        msgpack_unpacked again;
        msgpack_unpacked_init(&again);
        if (mp_unpack(sb.data, sb.size, &again) != MP_OK || !msgpack_object_equal(u.data, again.data))
            abort(); /* the reader accepted something msgpack-c cannot round-trip */
        (void)mp_get(&u.data, "op");
        msgpack_unpacked_destroy(&again);
        msgpack_sbuffer_destroy(&sb);
    }
    msgpack_unpacked_destroy(&u);
    return 0;
}
