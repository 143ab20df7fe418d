/*
 * lpm: a longest-prefix-match table of IPv4 or IPv6 prefixes (tunnel routing, later the NAT64
 * pools; nat64-requirements §F 45). Pure, libc only.
 *
 * One table holds prefixes of one width (32 or 128 bits), each with a non-NULL value. A
 * prefix holds at most one value, so the longest matching prefix of an address is unique:
 * the answer of a lookup never depends on the order in which prefixes were inserted or
 * removed (the deterministic tie-break of §F 45 is "longest wins, and two entries never have
 * the same length and bits"). Address bits past a prefix's length are ignored everywhere.
 *
 * Cost: a lookup visits at most width + 1 nodes (O(prefix bits)), whatever the number of
 * prefixes, and never allocates. Insertions and removals run on the control plane and may
 * allocate (xmalloc: abort on OOM); lpm.c states the memory per prefix.
 *
 * Ownership: the table owns its nodes; values are the caller's and are never dereferenced.
 * Address arguments are borrowed for the call.
 */
#ifndef YGG64_LIB_LPM_H
#define YGG64_LIB_LPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lpm;

/* width: 32 (IPv4) or 128 (IPv6); anything else returns NULL. */
struct lpm *lpm_new(unsigned width);
/* NULL is a no-op. The values are not touched. */
void lpm_free(struct lpm *t);

/*
 * Stores value (not NULL) under addr/len (addr holds width/8 bytes). 0; -EEXIST when that
 * prefix already holds a value (left unchanged); -EINVAL when len > width or value is NULL.
 */
int lpm_insert(struct lpm *t, const uint8_t *addr, unsigned len, void *value);
/* Removes addr/len and returns its value, or NULL when it held none. */
void *lpm_remove(struct lpm *t, const uint8_t *addr, unsigned len);
/* The value stored under exactly addr/len, or NULL. */
void *lpm_find(const struct lpm *t, const uint8_t *addr, unsigned len);
/*
 * The value of the longest prefix containing addr (width bits), or NULL when none does; *len
 * (when not NULL) gets that prefix's length, and is left alone when NULL is returned.
 */
void *lpm_lookup(const struct lpm *t, const uint8_t *addr, unsigned *len);
/* Prefixes stored. */
size_t lpm_count(const struct lpm *t);
/* Bytes the table holds (nodes and their array), for the admin socket and the README. */
size_t lpm_memory(const struct lpm *t);

/*
 * Calls cb for every prefix, in order: by address bits, a shorter prefix before the longer
 * ones it contains (so 10.0.0.0/8 comes before 10.0.0.0/16 and 10.1.0.0/16); that is,
 * ascending by the masked address read as a big-endian number, then by length. addr (width/8
 * bytes, host bits zero) is valid during the call. cb returns false to stop. The table must
 * not change during the walk.
 */
typedef bool lpm_cb(void *ctx, const uint8_t *addr, unsigned len, void *value);
void lpm_foreach(const struct lpm *t, lpm_cb *cb, void *ctx);

#endif
