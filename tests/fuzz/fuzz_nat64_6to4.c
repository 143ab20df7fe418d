/*
 * libFuzzer driver for the NAT64's IPv6 -> IPv4 direction (nat64_input6 through xlat, frag and
 * table), with the IPv4 side one header bit away. See nat64_fz.h for the input script and the
 * invariants. Build: -DYGG64_FUZZ=ON with clang (scripts/fuzz.sh), or the replay main over
 * tests/fuzz/corpus/fuzz_nat64_6to4/ (ctest fuzz_nat64_6to4_replay).
 */
#include "nat64_fz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_run(data, size, 0);
}
