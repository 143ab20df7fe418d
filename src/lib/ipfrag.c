/*
 * ipfrag: IPv4 fragmentation (see ipfrag.h).
 *
 * Owns nothing past a call: the fragments are pool pkts handed to emit, which owns them.
 *
 * Invariants:
 * - The input is validated whole (header, total length, every option, the offset range) before
 *   any pkt is taken, and every pkt is taken before any is emitted; on a failure the pkts taken
 *   so far go back to the pool, so a call emits the whole datagram or nothing.
 * - Every fragment is at most mtu bytes, its data starts at a multiple of 8 bytes from the
 *   original datagram's start, and the fragments' data, in order, is exactly the input's.
 * - Fragments are built at PKT_HEADROOM (pkt_alloc), so headers can still be pushed in front.
 *
 * Timers: none.
 */
#include "lib/ipfrag.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lib/csum.h"
#include "lib/pkt.h"
#include "lib/wire.h"

enum {
	IP4_HLEN = 20,
	IP4_HLEN_MAX = 60, /* IHL is 4 bits of 32-bit words */
	IP4_LEN_MAX = 0xffff,
	FLAG_MF = 0x2000, /* RFC 791 §3.1: bit 2 of the flags, in the flags+offset word */
	OFF_MASK = 0x1fff,
	OPT_EOL = 0, /* RFC 791 §3.1: End of Option List, also the padding */
	OPT_NOP = 1,
	OPT_COPIED = 0x80, /* the copied flag, high bit of the option type */
};

/* The header of the non-first fragments: the fixed 20 bytes, then the copied options. */
struct hdr_rest {
	uint8_t b[IP4_HLEN_MAX];
	size_t len;
};

/*
 * RFC 791 §3.1: walks the options of the header h (hlen bytes) and appends those whose copied
 * flag is set to rest, padded with End of Option List to a multiple of 4 bytes. An option of
 * type 0 ends the list (what follows is padding); type 1 is one byte; every other type has a
 * length byte counting the type and itself, so at least 2, and must end inside the header.
 */
static bool copy_options(const uint8_t *h, size_t hlen, struct hdr_rest *rest)
{
	struct wire_rd rd;
	const uint8_t *opt;
	uint8_t type, olen;

	wire_rd_init(&rd, h + IP4_HLEN, hlen - IP4_HLEN);
	while (wire_get_u8(&rd, &type) && type != OPT_EOL) {
		if (type == OPT_NOP)
			continue; /* alignment only: copied flag clear, so dropped */
		if (!wire_get_u8(&rd, &olen) || olen < 2 || !wire_get_span(&rd, olen - 2, &opt))
			return false;
		if (type & OPT_COPIED) {
			rest->b[rest->len] = type;
			rest->b[rest->len + 1] = olen;
			memcpy(rest->b + rest->len + 2, opt, olen - 2u);
			rest->len += olen;
		}
	}
	/* rest->len <= hlen <= 60 here: the copies are a subset of the walked bytes */
	while (rest->len % 4)
		rest->b[rest->len++] = OPT_EOL;
	return true;
}

/* Writes one fragment's header: hdr (hlen bytes), then total length, flags and offset. */
static void put_header(uint8_t *b, const uint8_t *hdr, size_t hlen, size_t dlen, uint16_t frag)
{
	memcpy(b, hdr, hlen);
	b[0] = (uint8_t)(0x40 | hlen / 4);
	b[2] = (uint8_t)((hlen + dlen) >> 8);
	b[3] = (uint8_t)(hlen + dlen);
	b[6] = (uint8_t)(frag >> 8);
	b[7] = (uint8_t)frag;
	b[10] = 0;
	b[11] = 0;
	csum_store(b + 10, (uint16_t)~csum_fold(csum_partial(b, hlen, 0)));
}

int ipfrag_split4(const struct pkt *in, size_t mtu, struct pkt_pool *pool, ipfrag_emit_cb *emit,
		  void *ctx)
{
	const uint8_t *h = in->data;
	struct pkt *frags[IPFRAG_MAX];
	struct hdr_rest rest = {.len = IP4_HLEN};
	size_t hlen, dlen, first, step, off0, n, pos;
	uint16_t fword;
	bool is_mf;

	/* RFC 791 §3.1: version 4, IHL >= 5, the total length is the packet */
	if (in->len < IP4_HLEN || h[0] >> 4 != 4)
		return -EINVAL;
	hlen = (size_t)(h[0] & 0x0f) * 4;
	if (hlen < IP4_HLEN || hlen > in->len || ((size_t)h[2] << 8 | h[3]) != in->len)
		return -EINVAL;
	memcpy(rest.b, h, IP4_HLEN);
	if (!copy_options(h, hlen, &rest))
		return -EINVAL;
	if (in->len <= mtu)
		return -EINVAL;

	fword = (uint16_t)(h[6] << 8 | h[7]);
	is_mf = fword & FLAG_MF;
	off0 = (size_t)(fword & OFF_MASK) * 8;
	dlen = in->len - hlen;
	/*
	 * The data must end inside a datagram of at most 65535 bytes (RFC 791 §3.1), else a
	 * fragment offset would not fit in its 13 bits.
	 */
	if (off0 + dlen > IP4_LEN_MAX - IP4_HLEN)
		return -EINVAL;

	/* §3.2 "fragmentation": each piece but the last carries a multiple of 8 bytes of data */
	if (mtu < hlen + 8)
		return -EMSGSIZE;
	first = (mtu - hlen) & ~(size_t)7;
	step = (mtu - rest.len) & ~(size_t)7;	  /* rest.len <= hlen, so step >= first >= 8 */
	n = 1 + (dlen - first + step - 1) / step; /* dlen > first since in->len > mtu */
	if (n > IPFRAG_MAX)
		return -EMSGSIZE;

	/* buffers too small for a piece are as useless as none; checked here, pkt_put can't fail */
	for (size_t i = 0; i < n; i++) {
		frags[i] = pkt_alloc(pool);
		if (!frags[i] || pkt_tailroom(frags[i]) < (i ? rest.len + step : hlen + first)) {
			pkt_free(frags[i]);
			n = i;
			goto err_frags;
		}
	}

	pos = 0;
	for (size_t i = 0; i < n; i++) {
		bool is_first = i == 0, is_last = i == n - 1;
		size_t fh = is_first ? hlen : rest.len;
		size_t fd = is_last ? dlen - pos : is_first ? first : step;
		/*
		 * Every flag but MF is kept (DF is the caller's business); MF is set on all but the
		 * last piece, and on that one as the input had it.
		 */
		uint16_t frag = (uint16_t)((fword & ~(FLAG_MF | OFF_MASK)) |
					   (!is_last || is_mf ? FLAG_MF : 0) | (off0 + pos) / 8);
		uint8_t *b = pkt_put(frags[i], fh + fd);

		put_header(b, is_first ? h : rest.b, fh, fd, frag);
		memcpy(b + fh, h + hlen + pos, fd);
		pos += fd;
	}
	for (size_t i = 0; i < n; i++)
		emit(ctx, frags[i]);
	return (int)n;

err_frags:
	for (size_t i = 0; i < n; i++)
		pkt_free(frags[i]);
	return -ENOBUFS;
}
