/*
 * wire: bounds-checked read and write cursors over byte buffers (bgpd ibuf_get_* style,
 * STYLE.md §8). Integers are big-endian (network order); uvarints are Go's encoding/binary
 * Uvarint (unsigned LEB128), which yggdrasil-go/ironwood use for frame lengths and fields.
 *
 * Readers: every getter returns false and leaves the cursor where it was when the input is
 * short or malformed, so a failed parse can be retried or reported at the right offset.
 * Writers: an overflowing put sets the sticky is_err flag and writes nothing; later puts do
 * nothing, and the caller checks wire_wr_ok() once at the end.
 *
 * Ownership: cursors borrow their buffers; the caller keeps them alive while the cursor is in
 * use. Spans returned by wire_get_span/wire_put_span point into those buffers.
 */
#ifndef YGG64_LIB_WIRE_H
#define YGG64_LIB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest uvarint encoding of a uint64_t (Go binary.MaxVarintLen64). */
enum { WIRE_UVARINT_MAX = 10 };

struct wire_rd {
	const uint8_t *p;
	size_t len;
	size_t off; /* bytes consumed; off <= len */
};

struct wire_wr {
	uint8_t *p;
	size_t cap;
	size_t len;  /* bytes written; len <= cap */
	bool is_err; /* sticky: some put did not fit */
};

/*
 * Fixed-offset big-endian fields, for headers whose length the caller has already checked (IP,
 * TCP, UDP, ICMP): no bounds checks, any alignment.
 */
static inline uint16_t wire_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t wire_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wire_set_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wire_set_be32(uint8_t *p, uint32_t v)
{
	wire_set_be16(p, (uint16_t)(v >> 16));
	wire_set_be16(p + 2, (uint16_t)v);
}

/* Reads from the len bytes at p (borrowed; p may be NULL when len is 0). */
void wire_rd_init(struct wire_rd *rd, const void *p, size_t len);
size_t wire_remaining(const struct wire_rd *rd);

bool wire_get_u8(struct wire_rd *rd, uint8_t *out);
bool wire_get_u16(struct wire_rd *rd, uint16_t *out);
bool wire_get_u32(struct wire_rd *rd, uint32_t *out);
bool wire_get_u64(struct wire_rd *rd, uint64_t *out);
/*
 * Go binary.Uvarint: 7 bits per byte, low group first, high bit set on all but the last byte.
 * Fails on short input, on more than WIRE_UVARINT_MAX bytes and on values past 64 bits.
 * Like Go, a non-minimal encoding (80 00 for 0) within 10 bytes is accepted.
 */
bool wire_get_uvarint(struct wire_rd *rd, uint64_t *out);
/* Copies n bytes into dst (dst may be NULL when n is 0). */
bool wire_get_bytes(struct wire_rd *rd, void *dst, size_t n);
/* Zero-copy: *out points at the next n bytes inside the reader's buffer. */
bool wire_get_span(struct wire_rd *rd, size_t n, const uint8_t **out);
bool wire_skip(struct wire_rd *rd, size_t n);

/* Writes into the cap bytes at p (borrowed). */
void wire_wr_init(struct wire_wr *wr, void *p, size_t cap);
/* True when no put has overflowed since wire_wr_init. */
bool wire_wr_ok(const struct wire_wr *wr);

void wire_put_u8(struct wire_wr *wr, uint8_t v);
void wire_put_u16(struct wire_wr *wr, uint16_t v);
void wire_put_u32(struct wire_wr *wr, uint32_t v);
void wire_put_u64(struct wire_wr *wr, uint64_t v);
void wire_put_uvarint(struct wire_wr *wr, uint64_t v);
void wire_put_bytes(struct wire_wr *wr, const void *src, size_t n);
/*
 * Reserves n bytes to be filled in later (e.g. a signature over what follows); returns a
 * pointer to them, or NULL (and sets is_err) when they do not fit.
 */
uint8_t *wire_put_span(struct wire_wr *wr, size_t n);

/* Bytes wire_put_uvarint(v) writes: 1..WIRE_UVARINT_MAX. */
size_t wire_uvarint_len(uint64_t v);

#endif
