/*
 * hex: bytes as lower-case hexadecimal text, the form yggdrasil prints keys in (Go's
 * hex.EncodeToString). Pure, libc only.
 */
#ifndef YGG64_LIB_HEX_H
#define YGG64_LIB_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes the n bytes at b as 2n hex digits plus a NUL into out (2n + 1 bytes); returns out. */
char *hex_encode(const uint8_t *b, size_t n, char *out);

#endif
