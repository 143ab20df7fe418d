/*
 * libFuzzer driver for the NAT64's IPv4 -> IPv6 direction (nat64_input4: BIB lookups,
 * filtering, stored SYNs, ICMPv4 errors with their quoted packets, fragments and zero-checksum
 * UDP collection), with the IPv6 side one header bit away. See nat64_fz.h for the input script
 * and the invariants. Build: -DYGG64_FUZZ=ON with clang (scripts/fuzz.sh), or the replay main
 * over tests/fuzz/corpus/fuzz_nat64_4to6/ (ctest fuzz_nat64_4to6_replay).
 */
#include "nat64_fz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_run(data, size, 1);
}
