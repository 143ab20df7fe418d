/*
 * crc32: CRC-32 as zlib, PNG and Ethernet compute it (reflected polynomial 0xEDB88320, initial
 * and final XOR 0xFFFFFFFF; "123456789" -> 0xCBF43926). Integrity of state files, not security.
 */
#ifndef YGG64_LIB_CRC32_H
#define YGG64_LIB_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* crc: 0 to start, or the result of the previous call to continue over more bytes. */
uint32_t crc32_update(uint32_t crc, const void *buf, size_t len);

#endif
