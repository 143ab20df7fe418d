/*
 * libFuzzer driver for the NAT64 snapshot reader (nat64/snap: nat64_snap_restore) on a real
 * nat64: prefix 2001:db8:64::/96, pool 203.0.113.2/31, PortRange 61001-61031, at most 64 BIB
 * entries per protocol and 128 sessions (so the caps are reachable), a fixed node id, clocks
 * mono 5e9 ms and wall 1.7e12 ms.
 *
 * The first byte picks the mode:
 *   even  the rest is the snapshot, as read from a file;
 *   odd   the rest is a script that this driver encodes with msgpack-c into a snapshot with a
 *         valid header and CRC, so mutations reach the record checks behind the checksum:
 *         byte 1 bit 0 version 2, bit 1 another key, bit 2 another prefix, bits 3-7 the age
 *         of the snapshot (seconds x 64); then 16 bytes per record: proto (byte 0 % 4),
 *         client (byte 1 & 3) with x (2-3), T (byte 4: pool 1, pool 2 or not the pool), t (5:
 *         61001 + b % 40), Y (6), y (7-8), state (9 % 9), expiry (10-12: seconds after the
 *         save, or before it when byte 13 bit 0), byte 13 bits 1-7 a corruption of one field
 *         (a wrong type, a bin of another size, a record of 8 fields, a container bomb).
 *
 * Invariants, abort() on violation:
 * - an error is one of -EFBIG -EBADMSG -EPROTO -ESTALE, with a sentence in err and nothing
 *   restored (the table empty, the stats zero); in the odd mode without any corruption flag
 *   and with our version, key and prefix, there is no error;
 * - on success restored + expired + refused == sessions, and the table holds restored
 *   sessions;
 * - the restored table encodes, and that snapshot restores into a fresh nat64 at the same
 *   clocks as exactly the same sessions (every field), none expired or refused;
 * - ticked past every timeout, the restored table is empty, and every pkt is back in the pool.
 */
#include <errno.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/config.h"
#include "lib/crc32.h"
#include "lib/pkt.h"
#include "nat64/nat64.h"
#include "nat64/snap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAXS = 128, REC = 16 };

static const uint64_t MONO = 5000000000ull, WALL = 1700000000000ull;
static const uint8_t PREFIX[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x64};
static const uint8_t POOL[2][4] = {{203, 0, 113, 2}, {203, 0, 113, 3}};
static const uint8_t OTHER4[4] = {198, 51, 100, 1};

static void drop(void *ctx, struct pkt *p)
{
	(void)ctx;
	pkt_free(p);
}

static struct nat64 *mk(struct pkt_pool *pool)
{
	struct inet_prefix p4 = {.family = AF_INET, .len = 31};
	struct config_nat64 c = {0};
	struct nat64_params np = {0};
	struct nat64 *n;

	memcpy(p4.addr, POOL[0], 4);
	c.is_enabled = true;
	c.prefix.family = AF_INET6;
	c.prefix.len = 96;
	memcpy(c.prefix.addr, PREFIX, 16);
	c.pool4 = &p4;
	c.n_pool4 = 1;
	c.port_min = 61001;
	c.port_max = 61031;
	c.mss_clamp = true;
	c.filtering = CONFIG_NAT64_FILTER_ENDPOINT_INDEPENDENT;
	c.udp_timeout = 300;
	c.icmp_timeout = 60;
	c.tcp_est_timeout = 7440;
	c.tcp_trans_timeout = 240;
	c.max_bib_entries = 64;
	c.max_sessions = MAXS;
	c.max_fragments = 4;
	c.max_stored_syns = 2;
	np.cfg = &c;
	np.mtu6 = 1500;
	np.mtu4 = 1500;
	np.pool = pool;
	np.out4 = drop;
	np.out6 = drop;
	np.secret = (const uint8_t *)"fuzzing secret!!";
	n = nat64_new(&np);
	if (!n)
		abort();
	return n;
}

static void id_of(struct nat64_snap_id *id)
{
	memset(id, 0, sizeof(*id));
	memset(id->key, 0x5a, sizeof(id->key));
	memcpy(id->prefix, PREFIX, 16);
	id->prefix_len = 96;
}

static uint64_t be(const uint8_t *b, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *b++;
	return v;
}

/* One record of the script; corrupt (0-127) picks a field to break, 0 none. */
static void pack_rec(msgpack_packer *pk, const uint8_t *r, unsigned corrupt)
{
	uint8_t x6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
	const uint8_t *t4 = r[4] % 3 == 2 ? OTHER4 : POOL[r[4] % 3];
	uint8_t y4[4] = {192, 0, 2, r[6]};
	uint64_t secs = be(r + 10, 3), wall = r[13] & 1 ? WALL - secs * 1000 : WALL + secs * 1000;
	unsigned bad = corrupt % 16, field = corrupt / 16 % 9;

	x6[15] = (uint8_t)(r[1] & 3);
	if (bad == 1) {
		msgpack_pack_array(pk, 8);
	} else if (bad == 2) {
		msgpack_pack_map(pk, 0);
		return;
	} else {
		msgpack_pack_array(pk, 9);
	}
	/* Each field's value, bins[] for the three that are bins. */
	const uint64_t ints[9] = {
	    r[0] % 4, 0, be(r + 2, 2), 0, 61001 + r[5] % 40, 0, be(r + 7, 2), r[9] % 9, wall,
	};
	const uint8_t *bins[9] = {[1] = x6, [3] = t4, [5] = y4};
	const size_t blen[9] = {[1] = 16, [3] = 4, [5] = 4};

	for (unsigned f = 0; f < 9; f++) {
		if (bad == 1 && f == 8)
			break;
		if (bad >= 3 && f == field) {
			switch (bad) {
			case 3:
				msgpack_pack_str_with_body(pk, "x", 1);
				break;
			case 4:
				msgpack_pack_bin_with_body(pk, x6, blen[f] ? blen[f] - 1 : 2);
				break;
			case 5:
				msgpack_pack_int64(pk, -1);
				break;
			case 6:
				msgpack_pack_nil(pk);
				break;
			case 7: /* 2^32-1 elements announced in 5 bytes */
				msgpack_pack_array(pk, UINT32_MAX);
				break;
			case 8:
				msgpack_pack_map(pk, UINT32_MAX);
				break;
			default:
				msgpack_pack_double(pk, (double)ints[f]);
				break;
			}
			continue;
		}
		if (bins[f])
			msgpack_pack_bin_with_body(pk, bins[f], blen[f]);
		else
			msgpack_pack_uint64(pk, ints[f]);
	}
}

/* The odd mode: a snapshot built from the script; *clean when nothing in it is broken. */
static void build(const uint8_t *d, size_t n, msgpack_sbuffer *sb, bool *clean)
{
	msgpack_packer pk;
	struct nat64_snap_id id;
	uint8_t flags = n ? d[0] : 0;
	size_t nrec = n > 1 ? (n - 1) / REC : 0;

	id_of(&id);
	*clean = !(flags & 7);
	if (flags & 2)
		id.key[0] ^= 1;
	if (flags & 4)
		id.prefix[5] ^= 0x10;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 6);
	msgpack_pack_str_with_body(&pk, "ygg64-nat64", 11);
	msgpack_pack_uint64(&pk, flags & 1 ? 2 : NAT64_SNAP_VERSION);
	msgpack_pack_map(&pk, 4);
	msgpack_pack_str_with_body(&pk, "key", 3);
	msgpack_pack_bin_with_body(&pk, id.key, 32);
	msgpack_pack_str_with_body(&pk, "prefix", 6);
	msgpack_pack_bin_with_body(&pk, id.prefix, 16);
	msgpack_pack_str_with_body(&pk, "prefix_len", 10);
	msgpack_pack_uint64(&pk, 96);
	msgpack_pack_str_with_body(&pk, "saved", 5);
	msgpack_pack_uint64(&pk, WALL - (uint64_t)(flags >> 3) * 64000);
	msgpack_pack_array(&pk, nrec);
	for (size_t i = 0; i < nrec; i++) {
		const uint8_t *r = d + 1 + i * REC;
		unsigned corrupt = r[13] >> 1;

		if (corrupt % 16 == 0)
			corrupt = 0;
		*clean &= !corrupt;
		pack_rec(&pk, r, corrupt);
	}
	msgpack_pack_fix_uint32(&pk, crc32_update(0, sb->data, sb->size));
}

struct list {
	struct nat64_session_info s[MAXS + 1];
	size_t n;
};

static bool list_cb(void *ctx, const struct nat64_session_info *s)
{
	struct list *l = ctx;

	if (l->n > MAXS)
		abort(); /* more sessions than the cap */
	l->s[l->n++] = *s;
	return true;
}

static int cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct nat64_session_info));
}

static void list_of(const struct nat64 *n, struct list *l)
{
	l->n = 0;
	nat64_foreach_session(n, NAT64_NPROTO, list_cb, l);
	for (size_t i = 0; i < l->n; i++) {
		/* Padding-free comparison: copy the fields into a zeroed record. */
		struct nat64_session_info z;

		memset(&z, 0, sizeof(z));
		z.tu.proto = l->s[i].tu.proto;
		memcpy(z.tu.addr6, l->s[i].tu.addr6, 16);
		z.tu.port6 = l->s[i].tu.port6;
		memcpy(z.tu.addr4, l->s[i].tu.addr4, 4);
		z.tu.port4 = l->s[i].tu.port4;
		memcpy(z.tu.raddr, l->s[i].tu.raddr, 4);
		z.tu.rport = l->s[i].tu.rport;
		z.tcp_state = l->s[i].tcp_state;
		z.expires = l->s[i].expires;
		l->s[i] = z;
	}
	qsort(l->s, l->n, sizeof(l->s[0]), cmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct list l1, l2;
	struct pkt_pool *pool;
	struct pkt_pool_info pi;
	struct nat64 *n, *m;
	struct nat64_snap_id id;
	struct nat64_snap_stats st, st2;
	msgpack_sbuffer sb = {0};
	const uint8_t *buf;
	uint8_t *re;
	size_t len, relen;
	bool built = size && (data[0] & 1), clean = false;
	char err[200];
	int r;

	if (!size)
		return 0;
	pool = pkt_pool_new(16, 2048);
	if (!pool)
		abort();
	n = mk(pool);
	id_of(&id);
	if (built) {
		build(data + 1, size - 1, &sb, &clean);
		buf = (const uint8_t *)sb.data;
		len = sb.size;
	} else {
		buf = data + 1;
		len = size - 1;
	}
	memset(err, 'x', sizeof(err));
	r = nat64_snap_restore(n, &id, buf, len, MONO, WALL, &st, err, sizeof(err));
	if (!memchr(err, 0, sizeof(err)))
		abort();
	list_of(n, &l1);
	if (r) {
		if (r != -EFBIG && r != -EBADMSG && r != -EPROTO && r != -ESTALE)
			abort();
		if (!err[0] || l1.n || st.sessions || st.restored || st.expired || st.refused ||
		    clean)
			abort();
	} else {
		if (err[0] || st.restored + st.expired + st.refused != st.sessions ||
		    l1.n != st.restored)
			abort();
		/* Round trip of what was restored: the same sessions, field by field. */
		if (nat64_snap_encode(n, &id, MONO, WALL, &re, &relen))
			abort();
		m = mk(pool);
		if (nat64_snap_restore(m, &id, re, relen, MONO, WALL, &st2, err, sizeof(err)) ||
		    st2.sessions != l1.n || st2.restored != l1.n || st2.expired || st2.refused)
			abort();
		list_of(m, &l2);
		if (l2.n != l1.n || memcmp(l1.s, l2.s, l1.n * sizeof(l1.s[0])))
			abort();
		free(re);
		nat64_free(m);
		/* The wheel of a table that restore alone filled: past every timeout, empty. */
		nat64_tick(n, MONO);
		nat64_tick(n, MONO + 1000);
		nat64_tick(n, MONO + UINT32_MAX + 1000);
		nat64_tick(n, MONO + UINT32_MAX + 250000);
		list_of(n, &l1);
		if (l1.n)
			abort();
	}
	msgpack_sbuffer_destroy(&sb);
	nat64_free(n);
	pkt_pool_info(pool, &pi);
	if (pi.in_use)
		abort();
	pkt_pool_free(pool);
	return 0;
}
