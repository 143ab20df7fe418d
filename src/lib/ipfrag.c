/*
 * ipfrag: IPv4 fragmentation, and IPv6 fragmentation at the source (see ipfrag.h).
 *
 * Owns nothing past a call: the fragments are pool pkts handed to emit, which owns them.
 *
 * Invariants:
 * - The input is validated whole (header, total length, every option, the offset range) before
 *   any pkt is taken, and every pkt is taken before any is emitted; on a failure the pkts taken
 *   so far go back to the pool, so a call emits the whole datagram or nothing.
 * - Every fragment is at most mtu bytes, its data starts at a multiple of 8 bytes from the
 *   original datagram's start, and the fragments' data, in order, is exactly the input's.
 *   For IPv6 the "data" is the Fragmentable Part of RFC 8200 §4.5: everything after the fixed
 *   header (and after the input's own Fragment Header, when it is already a fragment).
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
	IP6_HLEN = 40,
	FH_LEN = 8,	       /* RFC 8200 §4.5: the Fragment Header */
	IP6_PLEN_MAX = 0xffff, /* no jumbograms: they need a Hop-by-Hop header */
	NH_HOPOPTS = 0,	       /* RFC 8200 §4.3 */
	NH_ROUTING = 43,       /* §4.4 */
	NH_FRAGMENT = 44,      /* §4.5 */
	NH_DSTOPTS = 60,       /* §4.6 */
	FH_M = 0x0001,	       /* the M flag, low bit of the offset word */
	FH_OFF_MASK = 0xfff8,  /* the 13-bit offset, in 8-byte units, above 2 reserved bits */
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

/*
 * RFC 8200 §4.1 and §4.5: the headers that would have to be repeated in every fragment (the
 * Per-Fragment headers: Hop-by-Hop, Routing, and Destination Options that may precede a
 * Routing header), and a Fragment Header where one may not be (after the first, or in an
 * unfragmented packet's place of one: neither is ours to continue). The contract allows none
 * of them. Any other Next Header (ESP, AH, the
 * upper-layer protocols, and the rest, which a translated IPv4 protocol number may well be,
 * RFC 7915 §4.1) lies in the Fragmentable Part and is carried as data.
 */
static bool is_per_fragment(uint8_t nh)
{
	return nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_DSTOPTS || nh == NH_FRAGMENT;
}

/* Writes one fragment's 48 bytes of headers: fixed header h, then the Fragment Header. */
static void put_header6(uint8_t *b, const uint8_t *h, size_t dlen, uint8_t nh, size_t off,
			bool is_m, uint32_t id)
{
	size_t plen = FH_LEN + dlen;
	uint16_t word = (uint16_t)(off | (is_m ? FH_M : 0)); /* off is a multiple of 8 */

	memcpy(b, h, IP6_HLEN);
	b[4] = (uint8_t)(plen >> 8);
	b[5] = (uint8_t)plen;
	b[6] = NH_FRAGMENT;
	b[40] = nh;
	b[41] = 0; /* reserved, and the two reserved bits below: zero on transmission */
	b[42] = (uint8_t)(word >> 8);
	b[43] = (uint8_t)word;
	b[44] = (uint8_t)(id >> 24);
	b[45] = (uint8_t)(id >> 16);
	b[46] = (uint8_t)(id >> 8);
	b[47] = (uint8_t)id;
}

int ipfrag_split6(const struct pkt *in, size_t mtu, uint32_t id, struct pkt_pool *pool,
		  ipfrag_emit_cb *emit, void *ctx)
{
	const uint8_t *h = in->data, *data;
	struct pkt *frags[IPFRAG_MAX];
	size_t dlen, step, off0 = 0, n, pos;
	uint8_t nh;
	bool is_m = false;

	/* RFC 8200 §3: version 6, and the payload length is the rest of the packet */
	if (in->len < IP6_HLEN || h[0] >> 4 != 6 ||
	    ((size_t)h[4] << 8 | h[5]) != in->len - IP6_HLEN)
		return -EINVAL;
	nh = h[6];
	data = h + IP6_HLEN;
	dlen = in->len - IP6_HLEN;
	if (nh == NH_FRAGMENT) {
		/* already a fragment (RFC 7915 §5.1.1 keeps a translated IPv4 fragment's ID) */
		uint16_t word;

		if (dlen < FH_LEN)
			return -EINVAL;
		nh = data[0];
		word = (uint16_t)(data[2] << 8 | data[3]);
		off0 = word & FH_OFF_MASK;
		is_m = word & FH_M;
		id = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 |
		     data[7];
		data += FH_LEN;
		dlen -= FH_LEN;
		/*
		 * §4.5 reassembly rules, which the pieces would break: a fragment with M set
		 * carries a multiple of 8 bytes, and offset + length stays inside a 65535-byte
		 * payload (no Per-Fragment headers here, so the Unfragmentable Part adds nothing).
		 */
		if ((is_m && dlen % 8) || off0 + dlen > IP6_PLEN_MAX)
			return -EINVAL;
	}
	if (is_per_fragment(nh))
		return -EINVAL;
	if (in->len <= mtu)
		return -EINVAL;

	/* §4.5: each piece but the last a multiple of 8 bytes, after the 48 bytes of headers */
	if (mtu < IP6_HLEN + FH_LEN + 8)
		return -EMSGSIZE;
	step = (mtu - IP6_HLEN - FH_LEN) & ~(size_t)7;
	/* in->len > mtu, so dlen > mtu - 48 >= step: at least two pieces */
	n = (dlen + step - 1) / step;
	if (n > IPFRAG_MAX)
		return -EMSGSIZE;

	for (size_t i = 0; i < n; i++) {
		frags[i] = pkt_alloc(pool);
		if (!frags[i] || pkt_tailroom(frags[i]) < IP6_HLEN + FH_LEN + step) {
			pkt_free(frags[i]);
			n = i;
			goto err_frags;
		}
	}

	pos = 0;
	for (size_t i = 0; i < n; i++) {
		bool is_last = i == n - 1;
		size_t fd = is_last ? dlen - pos : step;
		uint8_t *b = pkt_put(frags[i], IP6_HLEN + FH_LEN + fd);

		/* M on all but the last piece, and on that one as the input had it */
		put_header6(b, h, fd, nh, off0 + pos, !is_last || is_m, id);
		memcpy(b + IP6_HLEN + FH_LEN, data + pos, fd);
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
