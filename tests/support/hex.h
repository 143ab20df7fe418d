/* Test support: hex strings to bytes and files to memory. */
#ifndef YGG64_TESTS_SUPPORT_HEX_H
#define YGG64_TESTS_SUPPORT_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Decodes hex (whitespace ignored) into out (cap bytes). Returns the length, or -1. */
long th_unhex(const char *hex, uint8_t *out, size_t cap);
/* Lower-case hex of n bytes into a static-free caller buffer of 2n+1 bytes. */
void th_hex(const uint8_t *in, size_t n, char *out);
/* Reads a whole file into a NUL-terminated heap buffer (caller frees); NULL on error. */
char *th_read_file(const char *path, size_t *len);

#endif
