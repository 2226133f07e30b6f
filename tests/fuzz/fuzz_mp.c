/* fuzz_mp.c — fuzz target for the safe MessagePack reader (common/mp.c).
 *
 * Invariants: mp_check never reads past the input and never allocates;
 * whatever it accepts, msgpack-c unpacks, and re-packing is stable: the
 * re-packed bytes unpack and re-pack to exactly the same bytes. (Bytes, not
 * msgpack_object_equal: a NaN float is not equal to itself — found by this
 * fuzzer, kept as corpus/mp/crash-nan-float64.bin.) */
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
        if (mp_unpack(sb.data, sb.size, &again) != MP_OK)
            abort(); /* the reader refused what msgpack-c itself wrote */
        msgpack_sbuffer sb2;
        msgpack_sbuffer_init(&sb2);
        msgpack_packer_init(&pk, &sb2, msgpack_sbuffer_write);
        msgpack_pack_object(&pk, again.data);
        if (sb2.size != sb.size || memcmp(sb2.data, sb.data, sb.size) != 0)
            abort(); /* re-packing is not stable */
        (void)mp_get(&u.data, "op");
        msgpack_sbuffer_destroy(&sb2);
        msgpack_unpacked_destroy(&again);
        msgpack_sbuffer_destroy(&sb);
    }
    msgpack_unpacked_destroy(&u);
    return 0;
}
