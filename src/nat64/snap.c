/*
 * snap: the NAT64 snapshot codec (see snap.h for the format). The only user of msgpack-c.
 *
 * Encoding packs into a msgpack_sbuffer and appends the CRC of everything packed so far as a
 * fixed-width uint32 (0xce + 4 bytes), so the trailer is always the last 5 bytes.
 *
 * Decoding walks the top-level array element by element, so each element's exact byte extent
 * is known and the CRC trailer can only be the 5 bytes after the sessions array, never a guess.
 * Every object goes through skim() before msgpack-c sees it: msgpack-c allocates an array's or
 * a map's elements from the count in its header before reading them (5 bytes announce 2^32
 * elements), so skim() first proves each count fits the bytes that follow (every element takes
 * at least one byte), and an object's extent is capped (a session, the header map) before it is
 * unpacked. msgpack-c then parses objects of known size, a session at a time, and its output is
 * type- and size-checked field by field.
 *
 * Restore has two passes over the sessions: the first checks the shape of every record (a bad
 * one makes the whole buffer corrupt, and nothing is restored), the second maps times and hands
 * the sessions to nat64_restore. Values of the right type that no session can have (proto 3,
 * a TCP state on a UDP session, port 70000) are refused one by one, counted, as the table
 * refuses a (T, t) outside today's pool.
 */
#include "nat64/snap.h"

#include <errno.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/crc32.h"
#include "lib/hex.h"
#include "lib/inet.h"
#include "nat64/nat64.h"

/* The array header (0x96) and the magic as a fixstr (0xab + 11 bytes): always these 13 bytes. */
static const uint8_t HEAD[] = "\x96\xab"
			      "ygg64-nat64";
enum {
	HEAD_LEN = sizeof(HEAD) - 1,
	NTOP = 6,	  /* elements of the top-level array */
	NFIELDS = 9,	  /* of a session record */
	CRC_LEN = 5,	  /* the trailer: 0xce and the CRC big-endian */
	CRC_TAG = 0xce,	  /* msgpack uint32 */
	VERSION_MAX = 9,  /* bytes: the widest msgpack integer */
	META_MAX = 4096,  /* bytes: the header map (ours is 70) */
	RECORD_MAX = 256, /* bytes: one session record (ours are at most 58) */
};

/* No table timeout exceeds a uint32 of ms (nat64_table_params): a longer rest is impossible. */
static const uint64_t REMAIN_MAX = UINT32_MAX;

/* Encoding. */

struct enc {
	msgpack_packer pk;
	uint64_t mono_now, wall_now;
	size_t left; /* records the array header announced and not yet packed */
	int err;     /* sticky: a pack call failed (the buffer could not grow) */
};

static void pack_u64(struct enc *e, uint64_t v)
{
	e->err |= msgpack_pack_uint64(&e->pk, v);
}

static void pack_bin(struct enc *e, const void *b, size_t n)
{
	e->err |= msgpack_pack_bin_with_body(&e->pk, b, n);
}

static void pack_key(struct enc *e, const char *k)
{
	e->err |= msgpack_pack_str_with_body(&e->pk, k, strlen(k));
}

/* The table's time of a session, as wall-clock ms (saturated at 0 and UINT64_MAX). */
static uint64_t to_wall(const struct enc *e, uint64_t expires)
{
	if (expires >= e->mono_now) {
		uint64_t d = expires - e->mono_now;

		return d > UINT64_MAX - e->wall_now ? UINT64_MAX : e->wall_now + d;
	}
	uint64_t d = e->mono_now - expires;

	return d > e->wall_now ? 0 : e->wall_now - d;
}

static bool pack_cb(void *ctx, const struct nat64_session_info *s)
{
	struct enc *e = ctx;
	const struct nat64_tuple *tu = &s->tu;

	if (!e->left)
		return false; /* cannot happen: foreach of a const table saw the same sessions */
	e->left--;
	e->err |= msgpack_pack_array(&e->pk, NFIELDS);
	pack_u64(e, tu->proto);
	pack_bin(e, tu->addr6, 16);
	pack_u64(e, tu->port6);
	pack_bin(e, tu->addr4, 4);
	pack_u64(e, tu->port4);
	pack_bin(e, tu->raddr, 4);
	pack_u64(e, tu->rport);
	pack_u64(e, s->tcp_state);
	pack_u64(e, to_wall(e, s->expires));
	return true;
}

int nat64_snap_encode(const struct nat64 *n, const struct nat64_snap_id *id, uint64_t mono_now,
		      uint64_t wall_now, uint8_t **out, size_t *len)
{
	struct enc e = {.mono_now = mono_now, .wall_now = wall_now};
	msgpack_sbuffer sb;
	size_t count = nat64_session_count(n);

	*out = NULL;
	*len = 0;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&e.pk, &sb, msgpack_sbuffer_write);
	e.err |= msgpack_pack_array(&e.pk, NTOP);
	pack_key(&e, (const char *)HEAD + 2);
	pack_u64(&e, NAT64_SNAP_VERSION);
	e.err |= msgpack_pack_map(&e.pk, 4);
	pack_key(&e, "key");
	pack_bin(&e, id->key, sizeof(id->key));
	pack_key(&e, "prefix");
	pack_bin(&e, id->prefix, sizeof(id->prefix));
	pack_key(&e, "prefix_len");
	pack_u64(&e, id->prefix_len);
	pack_key(&e, "saved");
	pack_u64(&e, wall_now);
	e.err |= msgpack_pack_array(&e.pk, count);
	e.left = count;
	nat64_foreach_session(n, NAT64_NPROTO, pack_cb, &e);
	/* A session short would leave the array incomplete: never write that. */
	if (!e.err && !e.left && sb.data) {
		uint32_t crc = crc32_update(0, sb.data, sb.size);

		e.err |= msgpack_pack_fix_uint32(&e.pk, crc);
	}
	if (e.err || e.left || !sb.data) {
		msgpack_sbuffer_destroy(&sb);
		return -ENOMEM;
	}
	*len = sb.size;
	*out = (uint8_t *)msgpack_sbuffer_release(&sb);
	return 0;
}

/* Decoding. */

/*
 * The header bytes 0xc0-0xdf that are not fixed forms: the size of their length field (or 0),
 * the payload bytes always present, and what the length counts. From the msgpack spec.
 */
enum { K_FIXED, K_BYTES, K_ARRAY, K_MAP, K_BAD };
static const struct {
	uint8_t lenb, fixed, kind;
} FMT[32] = {
    [0x00] = {0, 0, K_FIXED},  /* nil */
    [0x01] = {0, 0, K_BAD},    /* never used */
    [0x02] = {0, 0, K_FIXED},  /* false */
    [0x03] = {0, 0, K_FIXED},  /* true */
    [0x04] = {1, 0, K_BYTES},  /* bin 8 */
    [0x05] = {2, 0, K_BYTES},  /* bin 16 */
    [0x06] = {4, 0, K_BYTES},  /* bin 32 */
    [0x07] = {1, 1, K_BYTES},  /* ext 8: length, type, data */
    [0x08] = {2, 1, K_BYTES},  /* ext 16 */
    [0x09] = {4, 1, K_BYTES},  /* ext 32 */
    [0x0a] = {0, 4, K_FIXED},  /* float 32 */
    [0x0b] = {0, 8, K_FIXED},  /* float 64 */
    [0x0c] = {0, 1, K_FIXED},  /* uint 8 */
    [0x0d] = {0, 2, K_FIXED},  /* uint 16 */
    [0x0e] = {0, 4, K_FIXED},  /* uint 32 */
    [0x0f] = {0, 8, K_FIXED},  /* uint 64 */
    [0x10] = {0, 1, K_FIXED},  /* int 8 */
    [0x11] = {0, 2, K_FIXED},  /* int 16 */
    [0x12] = {0, 4, K_FIXED},  /* int 32 */
    [0x13] = {0, 8, K_FIXED},  /* int 64 */
    [0x14] = {0, 2, K_FIXED},  /* fixext 1: type, data */
    [0x15] = {0, 3, K_FIXED},  /* fixext 2 */
    [0x16] = {0, 5, K_FIXED},  /* fixext 4 */
    [0x17] = {0, 9, K_FIXED},  /* fixext 8 */
    [0x18] = {0, 17, K_FIXED}, /* fixext 16 */
    [0x19] = {1, 0, K_BYTES},  /* str 8 */
    [0x1a] = {2, 0, K_BYTES},  /* str 16 */
    [0x1b] = {4, 0, K_BYTES},  /* str 32 */
    [0x1c] = {2, 0, K_ARRAY},  /* array 16 */
    [0x1d] = {4, 0, K_ARRAY},  /* array 32 */
    [0x1e] = {2, 0, K_MAP},    /* map 16 */
    [0x1f] = {4, 0, K_MAP},    /* map 32 */
};

static uint64_t get_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/*
 * Moves *off past the one msgpack object at b[*off, end); false when it is cut short, uses the
 * unused byte 0xc1, or a container announces more elements than bytes remain. Only lengths are
 * read; the values are msgpack-c's to parse.
 */
static bool skim(const uint8_t *b, size_t end, size_t *off)
{
	size_t p = *off, pending = 1; /* objects still to pass over */

	while (pending--) {
		uint64_t n = 0, kids = 0;

		if (p >= end)
			return false;
		uint8_t c = b[p++];

		if (c <= 0x7f || c >= 0xe0) /* positive and negative fixint */
			continue;
		if (c <= 0x8f) {
			kids = 2 * (c & 0x0f); /* fixmap */
		} else if (c <= 0x9f) {
			kids = c & 0x0f; /* fixarray */
		} else if (c <= 0xbf) {
			n = c & 0x1f; /* fixstr */
		} else {
			unsigned lb = FMT[c - 0xc0].lenb, kind = FMT[c - 0xc0].kind;
			uint64_t v;

			if (kind == K_BAD || lb > end - p)
				return false;
			v = get_be(b + p, lb);
			p += lb;
			n = FMT[c - 0xc0].fixed + (kind == K_BYTES ? v : 0);
			kids = kind == K_ARRAY ? v : kind == K_MAP ? 2 * v : 0;
		}
		if (n > end - p)
			return false;
		p += (size_t)n;
		/* Each element takes a byte at least: more than remain cannot be there. */
		if (kids > end - p || pending + kids > end - p)
			return false;
		pending += (size_t)kids;
	}
	*off = p;
	return true;
}

struct rd {
	const uint8_t *b;
	size_t off, end;
	msgpack_unpacked u; /* holds the last object parsed (freed by the next) */
};

/* The next object, of at most max bytes, parsed by msgpack-c; false: corrupt or cut short. */
static bool next(struct rd *r, size_t max, msgpack_object *o)
{
	size_t e = r->off, off = r->off;

	if (!skim(r->b, r->end, &e) || e - r->off > max)
		return false;
	if (msgpack_unpack_next(&r->u, (const char *)r->b, e, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != e)
		return false;
	*o = r->u.data;
	r->off = e;
	return true;
}

/* An array header of our own reading: its count, which must fit the bytes that remain. */
static bool array_head(struct rd *r, size_t *count)
{
	size_t p = r->off, lb;
	uint64_t n;

	if (p >= r->end)
		return false;
	uint8_t c = r->b[p++];

	if (c >= 0x90 && c <= 0x9f) {
		n = c & 0x0f;
		lb = 0;
	} else if (c == 0xdc || c == 0xdd) {
		lb = c == 0xdc ? 2 : 4;
		if (lb > r->end - p)
			return false;
		n = get_be(r->b + p, lb);
	} else {
		return false;
	}
	p += lb;
	if (n > r->end - p)
		return false;
	r->off = p;
	*count = (size_t)n;
	return true;
}

static bool is_uint(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

static bool is_bin(const msgpack_object *o, size_t n)
{
	return o->type == MSGPACK_OBJECT_BIN && o->via.bin.size == n;
}

static bool is_key(const msgpack_object *o, const char *k)
{
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(k) &&
	       !memcmp(o->via.str.ptr, k, o->via.str.size);
}

struct meta {
	uint8_t key[32], prefix[16];
	uint64_t prefix_len, saved;
};

/* The header map: each of the four keys once, of its type; other keys are ignored. */
static bool meta_of(const msgpack_object *o, struct meta *m)
{
	unsigned seen = 0;

	if (o->type != MSGPACK_OBJECT_MAP)
		return false;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
		unsigned bit;

		if (is_key(k, "key") && is_bin(v, 32)) {
			bit = 1;
			memcpy(m->key, v->via.bin.ptr, 32);
		} else if (is_key(k, "prefix") && is_bin(v, 16)) {
			bit = 2;
			memcpy(m->prefix, v->via.bin.ptr, 16);
		} else if (is_key(k, "prefix_len") && is_uint(v) && v->via.u64 <= 128) {
			bit = 4;
			m->prefix_len = v->via.u64;
		} else if (is_key(k, "saved") && is_uint(v)) {
			bit = 8;
			m->saved = v->via.u64;
		} else if (is_key(k, "key") || is_key(k, "prefix") || is_key(k, "prefix_len") ||
			   is_key(k, "saved")) {
			return false; /* ours, of the wrong type or size */
		} else {
			continue;
		}
		if (seen & bit)
			return false; /* twice */
		seen |= bit;
	}
	return seen == 15;
}

enum rec { REC_OK, REC_INVALID, REC_CORRUPT };

/*
 * One session record: REC_CORRUPT when it is not an array of NFIELDS fields of the format's
 * types and sizes; REC_INVALID when a value is out of range for the session it claims to be;
 * else REC_OK with s filled (s->expires is left to the caller) and *wall its expiry.
 */
static enum rec record_of(const msgpack_object *o, struct nat64_session_info *s, uint64_t *wall)
{
	const msgpack_object *f;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != NFIELDS)
		return REC_CORRUPT;
	f = o->via.array.ptr;
	if (!is_uint(&f[0]) || !is_bin(&f[1], 16) || !is_uint(&f[2]) || !is_bin(&f[3], 4) ||
	    !is_uint(&f[4]) || !is_bin(&f[5], 4) || !is_uint(&f[6]) || !is_uint(&f[7]) ||
	    !is_uint(&f[8]))
		return REC_CORRUPT;
	uint64_t proto = f[0].via.u64, x = f[2].via.u64, t = f[4].via.u64, y = f[6].via.u64;
	uint64_t state = f[7].via.u64;

	memset(s, 0, sizeof(*s));
	memcpy(s->tu.addr6, f[1].via.bin.ptr, 16);
	memcpy(s->tu.addr4, f[3].via.bin.ptr, 4);
	memcpy(s->tu.raddr, f[5].via.bin.ptr, 4);
	*wall = f[8].via.u64;
	if (proto >= NAT64_NPROTO || x > UINT16_MAX || t > UINT16_MAX || y > UINT16_MAX)
		return REC_INVALID;
	/* TCP: a state of RFC 6146 §3.5.2 other than CLOSED (a closed session is gone). */
	if (proto == NAT64_TCP ? state == NAT64_TCP_CLOSED || state > NAT64_TCP_TRANS
			       : state != NAT64_TCP_CLOSED)
		return REC_INVALID;
	if (proto == NAT64_ICMP && y) /* ICMP sessions have no remote port (table.h) */
		return REC_INVALID;
	s->tu.proto = (uint8_t)proto;
	s->tu.port6 = (uint16_t)x;
	s->tu.port4 = (uint16_t)t;
	s->tu.rport = (uint16_t)y;
	s->tcp_state = (uint8_t)state;
	return REC_OK;
}

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned whole = len / 8, rest = len % 8;

	if (memcmp(a, b, whole))
		return false;
	return !rest || !((a[whole] ^ b[whole]) & (0xff00 >> rest));
}

static char *fmt_prefix(const uint8_t *a, unsigned len, char *buf)
{
	struct inet_prefix p = {.family = AF_INET6, .len = (uint8_t)len};

	memcpy(p.addr, a, 16);
	return inet_prefix_format(&p, buf);
}

/* Pass 2: the records at r->off, already checked by pass 1, into n. */
static void restore_all(struct nat64 *n, struct rd *r, size_t count, uint64_t mono_now,
			uint64_t wall_now, struct nat64_snap_stats *st)
{
	/* A wall clock set back since saving cannot lengthen a session past its time then. */
	uint64_t now = wall_now > st->saved ? wall_now : st->saved;
	size_t before = nat64_session_count(n), ok = 0;

	for (size_t i = 0; i < count; i++) {
		struct nat64_session_info s;
		msgpack_object o;
		uint64_t wall;

		if (!next(r, RECORD_MAX, &o))
			break; /* cannot happen: pass 1 read the same bytes */
		if (record_of(&o, &s, &wall) != REC_OK) {
			st->refused++;
			continue;
		}
		if (wall <= now) {
			st->expired++;
			continue;
		}
		uint64_t rest = wall - now;

		if (rest > REMAIN_MAX || mono_now > UINT64_MAX - rest) {
			st->refused++;
			continue;
		}
		s.expires = mono_now + rest;
		if (nat64_restore(n, &s, mono_now) == NAT64_T_OK)
			ok++;
		else
			st->refused++;
	}
	/*
	 * A record of a session restored before replaces it (the table's rule) without adding
	 * one: counted refused, so that restored is what the table gained.
	 */
	st->restored = nat64_session_count(n) - before;
	st->refused += ok - st->restored;
}

int nat64_snap_restore(struct nat64 *n, const struct nat64_snap_id *id, const uint8_t *buf,
		       size_t len, uint64_t mono_now, uint64_t wall_now,
		       struct nat64_snap_stats *st, char *err, size_t errlen)
{
	struct rd r = {.b = buf, .off = HEAD_LEN};
	size_t count = 0, first;
	msgpack_object o;
	struct meta m;
	char a[INET_PREFIXSTRLEN_MAX], b[INET_PREFIXSTRLEN_MAX];
	int ret;

	memset(st, 0, sizeof(*st));
	if (errlen)
		err[0] = 0;
	if (len > NAT64_SNAP_MAX)
		return fail(err, errlen, -EFBIG, "%zu bytes, more than a snapshot may have (%d)",
			    len, NAT64_SNAP_MAX);
	if (!len)
		return fail(err, errlen, -EBADMSG, "empty (truncated)");
	if (memcmp(buf, HEAD, len < HEAD_LEN ? len : HEAD_LEN))
		return fail(err, errlen, -EPROTO, "not a ygg64 NAT64 snapshot");
	if (len < HEAD_LEN + 1 + CRC_LEN)
		return fail(err, errlen, -EBADMSG, "truncated (%zu bytes)", len);
	msgpack_unpacked_init(&r.u);
	/* The version before the CRC: another version may lay out the rest otherwise. */
	r.end = len;
	if (!next(&r, VERSION_MAX, &o) || !is_uint(&o)) {
		ret = fail(err, errlen, -EBADMSG, "truncated or corrupt (version)");
		goto out;
	}
	if (o.via.u64 != NAT64_SNAP_VERSION) {
		ret = fail(err, errlen, -EPROTO, "version %llu, this ygg64 reads version %d",
			   (unsigned long long)o.via.u64, NAT64_SNAP_VERSION);
		goto out;
	}
	if (len < r.off + CRC_LEN || buf[len - CRC_LEN] != CRC_TAG ||
	    crc32_update(0, buf, len - CRC_LEN) != (uint32_t)get_be(buf + len - 4, 4)) {
		ret = fail(err, errlen, -EBADMSG, "truncated or corrupt (CRC mismatch)");
		goto out;
	}
	r.end = len - CRC_LEN;
	if (!next(&r, META_MAX, &o) || !meta_of(&o, &m)) {
		ret = fail(err, errlen, -EBADMSG, "corrupt (header map)");
		goto out;
	}
	if (!array_head(&r, &count)) {
		ret = fail(err, errlen, -EBADMSG, "corrupt (session list)");
		goto out;
	}
	st->saved = m.saved;
	st->sessions = count;
	first = r.off;
	/* Pass 1: every record's shape, and nothing after the last one. */
	for (size_t i = 0; i < count; i++) {
		struct nat64_session_info s;
		uint64_t wall;

		if (!next(&r, RECORD_MAX, &o) || record_of(&o, &s, &wall) == REC_CORRUPT) {
			ret = fail(err, errlen, -EBADMSG, "corrupt (session %zu of %zu)", i + 1,
				   count);
			goto out;
		}
	}
	if (r.off != r.end) {
		ret = fail(err, errlen, -EBADMSG, "corrupt (%zu bytes after the sessions)",
			   r.end - r.off);
		goto out;
	}
	if (memcmp(m.key, id->key, sizeof(m.key))) {
		char k1[9], k2[9];

		ret =
		    fail(err, errlen, -ESTALE, "saved by another node (key %s..., this node %s...)",
			 hex_encode(m.key, 4, k1), hex_encode(id->key, 4, k2));
		goto out;
	}
	if (m.prefix_len != id->prefix_len || !prefix_eq(m.prefix, id->prefix, id->prefix_len)) {
		ret = fail(err, errlen, -ESTALE, "saved for NAT64 prefix %s, configured %s",
			   fmt_prefix(m.prefix, (unsigned)m.prefix_len, a),
			   fmt_prefix(id->prefix, id->prefix_len, b));
		goto out;
	}
	r.off = first;
	restore_all(n, &r, count, mono_now, wall_now, st);
	ret = 0;
out:
	msgpack_unpacked_destroy(&r.u);
	if (ret)
		memset(st, 0, sizeof(*st));
	return ret;
}
