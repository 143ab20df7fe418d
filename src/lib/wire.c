/*
 * wire: bounds-checked cursors (see wire.h).
 *
 * Owns nothing: cursors borrow their buffers.
 *
 * Invariants:
 * - Reader: off <= len always. A getter checks the whole length it needs before touching the
 *   cursor, so a failed get never advances off.
 * - Writer: len <= cap always. Once is_err is set it stays set and no byte is written, so a
 *   message is either complete or rejected as a whole by wire_wr_ok().
 *
 * Byte order is assembled by shifts rather than ntohs/memcpy casts, so unaligned input and
 * strict-aliasing rules are never an issue.
 *
 * Timers: none.
 */
#include "lib/wire.h"

#include <string.h>

void wire_rd_init(struct wire_rd *rd, const void *p, size_t len)
{
	rd->p = p;
	rd->len = p ? len : 0;
	rd->off = 0;
}

size_t wire_remaining(const struct wire_rd *rd)
{
	return rd->len - rd->off;
}

/*
 * Stands in for the buffer of a cursor built over (NULL, 0), so that a zero-length get or put
 * still returns a non-NULL pointer without doing arithmetic on NULL.
 */
static const uint8_t empty[1];

/* The next n bytes, consumed, or NULL (nothing consumed) when fewer remain. */
static const uint8_t *take(struct wire_rd *rd, size_t n)
{
	const uint8_t *s;

	if (n > wire_remaining(rd))
		return NULL;
	s = rd->p ? rd->p + rd->off : empty;
	rd->off += n;
	return s;
}

static uint64_t load_be(const uint8_t *s, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | s[i];
	return v;
}

bool wire_get_u8(struct wire_rd *rd, uint8_t *out)
{
	const uint8_t *s = take(rd, 1);

	if (!s)
		return false;
	*out = s[0];
	return true;
}

bool wire_get_u16(struct wire_rd *rd, uint16_t *out)
{
	const uint8_t *s = take(rd, 2);

	if (!s)
		return false;
	*out = (uint16_t)load_be(s, 2);
	return true;
}

bool wire_get_u32(struct wire_rd *rd, uint32_t *out)
{
	const uint8_t *s = take(rd, 4);

	if (!s)
		return false;
	*out = (uint32_t)load_be(s, 4);
	return true;
}

bool wire_get_u64(struct wire_rd *rd, uint64_t *out)
{
	const uint8_t *s = take(rd, 8);

	if (!s)
		return false;
	*out = load_be(s, 8);
	return true;
}

/*
 * Mirrors Go encoding/binary Uvarint (go1.21 varint.go): the loop stops at the first byte below
 * 0x80; the tenth byte may only carry the single remaining bit (value 0 or 1), anything larger
 * overflows 64 bits, and an eleventh byte is never read.
 */
bool wire_get_uvarint(struct wire_rd *rd, uint64_t *out)
{
	size_t avail = wire_remaining(rd);
	const uint8_t *s;
	uint64_t v = 0;
	unsigned shift = 0;

	if (avail == 0)
		return false;
	s = rd->p + rd->off;
	for (size_t i = 0; i < WIRE_UVARINT_MAX; i++) {
		uint8_t b;

		if (i == avail)
			return false; /* short: the last byte read still had the continuation bit */
		b = s[i];
		if (b < 0x80) {
			if (i == WIRE_UVARINT_MAX - 1 && b > 1)
				return false; /* overflow past 64 bits */
			*out = v | (uint64_t)b << shift;
			rd->off += i + 1;
			return true;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	}
	return false; /* overlong: ten continuation bytes */
}

bool wire_get_bytes(struct wire_rd *rd, void *dst, size_t n)
{
	const uint8_t *s = take(rd, n);

	if (!s)
		return false;
	if (n)
		memcpy(dst, s, n);
	return true;
}

bool wire_get_span(struct wire_rd *rd, size_t n, const uint8_t **out)
{
	const uint8_t *s = take(rd, n);

	if (!s)
		return false;
	*out = s;
	return true;
}

bool wire_skip(struct wire_rd *rd, size_t n)
{
	return take(rd, n) != NULL;
}

void wire_wr_init(struct wire_wr *wr, void *p, size_t cap)
{
	wr->p = p;
	wr->cap = p ? cap : 0;
	wr->len = 0;
	wr->is_err = false;
}

bool wire_wr_ok(const struct wire_wr *wr)
{
	return !wr->is_err;
}

uint8_t *wire_put_span(struct wire_wr *wr, size_t n)
{
	uint8_t *d;

	if (wr->is_err)
		return NULL;
	if (n > wr->cap - wr->len) {
		wr->is_err = true;
		return NULL;
	}
	d = wr->p ? wr->p + wr->len : (uint8_t *)empty; /* never written: n is 0 here */
	wr->len += n;
	return d;
}

static void store_be(struct wire_wr *wr, uint64_t v, size_t n)
{
	uint8_t *d = wire_put_span(wr, n);

	if (!d)
		return;
	for (size_t i = n; i-- > 0; v >>= 8)
		d[i] = (uint8_t)v;
}

void wire_put_u8(struct wire_wr *wr, uint8_t v)
{
	store_be(wr, v, 1);
}

void wire_put_u16(struct wire_wr *wr, uint16_t v)
{
	store_be(wr, v, 2);
}

void wire_put_u32(struct wire_wr *wr, uint32_t v)
{
	store_be(wr, v, 4);
}

void wire_put_u64(struct wire_wr *wr, uint64_t v)
{
	store_be(wr, v, 8);
}

size_t wire_uvarint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Go binary.PutUvarint: always the minimal encoding. */
void wire_put_uvarint(struct wire_wr *wr, uint64_t v)
{
	size_t n = wire_uvarint_len(v);
	uint8_t *d = wire_put_span(wr, n);

	if (!d)
		return;
	for (size_t i = 0; i + 1 < n; i++, v >>= 7)
		d[i] = (uint8_t)(v & 0x7f) | 0x80;
	d[n - 1] = (uint8_t)v;
}

void wire_put_bytes(struct wire_wr *wr, const void *src, size_t n)
{
	uint8_t *d = wire_put_span(wr, n);

	if (d && n)
		memcpy(d, src, n);
}
