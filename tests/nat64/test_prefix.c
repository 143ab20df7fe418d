/*
 * Tests for nat64/prefix: RFC 6052 §2.2 embedding checked against the example table of RFC 6052
 * §2.4 (192.0.2.33 under a prefix of each length, and the Well-Known Prefix of §2.1), round
 * trips at every length, the refused lengths and u octets, the suffix ignored on receipt
 * (nat64-requirements §2 A 3), and the IANA special-purpose registry at both edges of each block
 * (A 4). Addresses are written in their RFC text form and parsed with libc's inet_pton, so the
 * expected bytes do not come from the code under test.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "nat64/prefix.h"

static void v6(const char *s, uint8_t out[16])
{
	cr_assert_eq(inet_pton(AF_INET6, s, out), 1, "bad fixture %s", s);
}

static void v4(const char *s, uint8_t out[4])
{
	cr_assert_eq(inet_pton(AF_INET, s, out), 1, "bad fixture %s", s);
}

static void mkprefix(struct nat64_prefix *p, const char *addr, unsigned len)
{
	uint8_t a[16];

	v6(addr, a);
	cr_assert_eq(nat64_prefix_init(p, a, len), 0, "%s/%u", addr, len);
}

struct example {
	char prefix[40];
	unsigned len;
	char embedded[48];
};

/* RFC 6052 §2.4, the table of IPv4-embedded IPv6 addresses for 192.0.2.33, as printed there */
ParameterizedTestParameters(prefix, rfc6052_examples)
{
	static struct example v[] = {
	    {"2001:db8::", 32, "2001:db8:c000:221::"},
	    {"2001:db8:100::", 40, "2001:db8:1c0:2:21::"},
	    {"2001:db8:122::", 48, "2001:db8:122:c000:2:2100::"},
	    {"2001:db8:122:300::", 56, "2001:db8:122:3c0:0:221::"},
	    {"2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:0"},
	    {"2001:db8:122:344::", 96, "2001:db8:122:344::192.0.2.33"},
	    /* §2.1 and §2.4: the Well-Known Prefix */
	    {"64:ff9b::", 96, "64:ff9b::192.0.2.33"},
	};
	return cr_make_param_array(struct example, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct example *t, prefix, rfc6052_examples)
{
	struct nat64_prefix p;
	uint8_t a4[4], want[16], got[16], back[4];

	mkprefix(&p, t->prefix, t->len);
	v4("192.0.2.33", a4);
	v6(t->embedded, want);
	nat64_prefix_embed(&p, a4, got);
	cr_assert_arr_eq(got, want, 16, "%s/%u", t->prefix, t->len);
	cr_assert(nat64_prefix_match(&p, want));
	nat64_prefix_extract(&p, want, back);
	cr_assert_arr_eq(back, a4, 4, "%s/%u", t->prefix, t->len);
	cr_assert_eq(p.is_wkp, strcmp(t->prefix, "64:ff9b::") == 0);
}

Test(prefix, wkp_flag)
{
	struct nat64_prefix p;

	mkprefix(&p, "64:ff9b::", 96);
	cr_assert(p.is_wkp);
	/* RFC 8215's local-use prefix is a network-specific one, exempt from the guard */
	mkprefix(&p, "64:ff9b:1::", 48);
	cr_assert_not(p.is_wkp);
	/* the WKP bits at another length are not the WKP */
	mkprefix(&p, "64:ff9b::", 64);
	cr_assert_not(p.is_wkp);
	mkprefix(&p, "64:ff9b::1:0:0", 96);
	cr_assert_not(p.is_wkp);
}

Test(prefix, round_trips_at_every_length)
{
	static const unsigned lens[] = {32, 40, 48, 56, 64, 96};
	static const char *const addrs[] = {"0.0.0.0",	    "255.255.255.255", "10.5.0.1",
					    "192.0.2.33",   "1.2.3.4",	       "128.0.0.1",
					    "203.0.113.254"};
	uint8_t pa[16];

	/* every prefix bit set: any octet landing in the wrong byte would show */
	memset(pa, 0xff, sizeof(pa));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct nat64_prefix p;

		if (lens[i] == 96)
			pa[8] = 0; /* the u octet, inside a /96 */
		cr_assert_eq(nat64_prefix_init(&p, pa, lens[i]), 0);
		for (size_t j = 0; j < sizeof(addrs) / sizeof(addrs[0]); j++) {
			uint8_t a4[4], a6[16], back[4];

			v4(addrs[j], a4);
			nat64_prefix_embed(&p, a4, a6);
			cr_assert(nat64_prefix_match(&p, a6), "/%u %s", lens[i], addrs[j]);
			cr_assert_eq(a6[8], 0, "/%u %s: u octet", lens[i], addrs[j]);
			for (unsigned b = 0; b < lens[i] / 8; b++)
				cr_assert_eq(a6[b], b == 8 ? 0 : 0xff, "/%u: prefix byte %u",
					     lens[i], b);
			/* the suffix: whatever follows the 4 octets (and the u octet) is zero */
			for (unsigned b = lens[i] / 8 + 4 + (lens[i] <= 64); b < 16; b++)
				cr_assert_eq(a6[b], 0, "/%u %s: suffix byte %u", lens[i], addrs[j],
					     b);
			nat64_prefix_extract(&p, a6, back);
			cr_assert_arr_eq(back, a4, 4, "/%u %s", lens[i], addrs[j]);
		}
	}
}

Test(prefix, bad_lengths)
{
	static const unsigned bad[] = {0,  8,  16, 24, 31, 33, 39,  41,	 63,
				       65, 72, 80, 88, 95, 97, 128, 255, 256};
	struct nat64_prefix p;
	uint8_t a[16];

	v6("2001:db8::", a);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(nat64_prefix_init(&p, a, bad[i]), -EINVAL, "/%u", bad[i]);
}

Test(prefix, nonzero_u_octet_refused)
{
	struct nat64_prefix p;
	uint8_t a[16];

	/* RFC 6052 §2.2: bits 64-71 must be zero; in a /96 they are part of the prefix */
	v6("2001:db8:122:344:100::", a);
	cr_assert_eq(a[8], 0x01);
	cr_assert_eq(nat64_prefix_init(&p, a, 96), -EINVAL);
	v6("2001:db8:122:344:8000::", a);
	cr_assert_eq(nat64_prefix_init(&p, a, 96), -EINVAL);
	/* byte 9 is not the u octet */
	v6("2001:db8:122:344:1::", a);
	cr_assert_eq(nat64_prefix_init(&p, a, 96), 0);
	/* below /96 the u octet lies past the prefix: cleared like any other bit past len */
	v6("2001:db8:122:344:ff00::1", a);
	cr_assert_eq(nat64_prefix_init(&p, a, 64), 0);
	v6("2001:db8:122:344::", a);
	cr_assert_arr_eq(p.addr, a, 16, "bits past /64 cleared");
}

Test(prefix, bits_past_len_cleared)
{
	struct nat64_prefix p;
	uint8_t a[16], want[16], a4[4], got[16];

	v6("2001:db8:ffff:ffff:ffff::ffff", a);
	cr_assert_eq(nat64_prefix_init(&p, a, 32), 0);
	v6("2001:db8::", want);
	cr_assert_arr_eq(p.addr, want, 16);
	cr_assert_eq(p.len, 32);
	v4("192.0.2.33", a4);
	nat64_prefix_embed(&p, a4, got);
	v6("2001:db8:c000:221::", want);
	cr_assert_arr_eq(got, want, 16, "the stray bits do not leak into the suffix");
}

Test(prefix, suffix_ignored_on_receipt)
{
	struct nat64_prefix p;
	uint8_t a6[16], a4[4], want[4];

	/* A 3: TAYGA drops these; RFC 6052 §2.2 lets us ignore them, and we do */
	v4("192.0.2.33", want);
	mkprefix(&p, "2001:db8:122:344::", 64);
	v6("2001:db8:122:344:c0:2:2100:0", a6);
	a6[13] = 0xaa;
	a6[14] = 0x55;
	a6[15] = 0x01;
	nat64_prefix_extract(&p, a6, a4);
	cr_assert_arr_eq(a4, want, 4);
	/* and the u octet is not looked at either */
	a6[8] = 0x80;
	nat64_prefix_extract(&p, a6, a4);
	cr_assert_arr_eq(a4, want, 4);
	cr_assert(nat64_prefix_match(&p, a6));

	mkprefix(&p, "2001:db8::", 32);
	v6("2001:db8:c000:221:ffff:ffff:ffff:ffff", a6);
	nat64_prefix_extract(&p, a6, a4);
	cr_assert_arr_eq(a4, want, 4);

	mkprefix(&p, "2001:db8:100::", 40);
	v6("2001:db8:1c0:2:21:1234:5678:9abc", a6);
	nat64_prefix_extract(&p, a6, a4);
	cr_assert_arr_eq(a4, want, 4);
}

Test(prefix, match)
{
	struct nat64_prefix p;
	uint8_t a[16];

	mkprefix(&p, "2001:db8:122::", 48);
	v6("2001:db8:122:c000:2:2100::", a);
	cr_assert(nat64_prefix_match(&p, a));
	v6("2001:db8:123:c000:2:2100::", a);
	cr_assert_not(nat64_prefix_match(&p, a), "last prefix byte differs");
	v6("2001:db8:122::", a);
	a[5] ^= 0x01; /* bit 47, the last bit of the prefix */
	cr_assert_not(nat64_prefix_match(&p, a));
	v6("3001:db8:122::", a);
	cr_assert_not(nat64_prefix_match(&p, a), "first byte differs");

	mkprefix(&p, "64:ff9b::", 96);
	v6("64:ff9b::a00:1", a);
	cr_assert(nat64_prefix_match(&p, a));
	v6("64:ff9b:1::a00:1", a);
	cr_assert_not(nat64_prefix_match(&p, a), "RFC 8215's /48 is not inside the WKP");
}

/* One registry block: its first and last address, and its neighbours ("" when special too). */
struct block {
	char name[40];
	char first[16], last[16], below[16], above[16];
};

ParameterizedTestParameters(prefix, registry_boundaries)
{
	static struct block v[] = {
	    {"0/8 this network", "0.0.0.0", "0.255.255.255", "", "1.0.0.0"},
	    {"10/8 private", "10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0"},
	    {"100.64/10 shared", "100.64.0.0", "100.127.255.255", "100.63.255.255", "100.128.0.0"},
	    {"127/8 loopback", "127.0.0.0", "127.255.255.255", "126.255.255.255", "128.0.0.0"},
	    {"169.254/16 link local", "169.254.0.0", "169.254.255.255", "169.253.255.255",
	     "169.255.0.0"},
	    {"172.16/12 private", "172.16.0.0", "172.31.255.255", "172.15.255.255", "172.32.0.0"},
	    {"192.0.0/24 ietf", "192.0.0.0", "192.0.0.255", "191.255.255.255", "192.0.1.0"},
	    {"192.0.2/24 test-net-1", "192.0.2.0", "192.0.2.255", "192.0.1.255", "192.0.3.0"},
	    {"192.88.99/24 6to4 relay", "192.88.99.0", "192.88.99.255", "192.88.98.255",
	     "192.88.100.0"},
	    {"192.168/16 private", "192.168.0.0", "192.168.255.255", "192.167.255.255",
	     "192.169.0.0"},
	    {"198.18/15 benchmarking", "198.18.0.0", "198.19.255.255", "198.17.255.255",
	     "198.20.0.0"},
	    {"198.51.100/24 test-net-2", "198.51.100.0", "198.51.100.255", "198.51.99.255",
	     "198.51.101.0"},
	    {"203.0.113/24 test-net-3", "203.0.113.0", "203.0.113.255", "203.0.112.255",
	     "203.0.114.0"},
	    {"224/4 multicast", "224.0.0.0", "239.255.255.255", "223.255.255.255", ""},
	    {"240/4 reserved", "240.0.0.0", "255.255.255.254", "", ""},
	    {"limited broadcast", "255.255.255.255", "255.255.255.255", "", ""},
	};
	return cr_make_param_array(struct block, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct block *t, prefix, registry_boundaries)
{
	uint8_t a[4];

	v4(t->first, a);
	cr_assert_not(nat64_ipv4_is_global(a), "%s: %s", t->name, t->first);
	v4(t->last, a);
	cr_assert_not(nat64_ipv4_is_global(a), "%s: %s", t->name, t->last);
	if (t->below[0]) {
		v4(t->below, a);
		cr_assert(nat64_ipv4_is_global(a), "%s: %s", t->name, t->below);
	}
	if (t->above[0]) {
		v4(t->above, a);
		cr_assert(nat64_ipv4_is_global(a), "%s: %s", t->name, t->above);
	}
}

Test(prefix, registry_exceptions_in_192_0_0)
{
	uint8_t a[4];

	/* PCP anycast (RFC 7723) and TURN anycast (RFC 8155) are globally reachable */
	v4("192.0.0.9", a);
	cr_assert(nat64_ipv4_is_global(a));
	v4("192.0.0.10", a);
	cr_assert(nat64_ipv4_is_global(a));
	v4("192.0.0.8", a);
	cr_assert_not(nat64_ipv4_is_global(a));
	v4("192.0.0.11", a);
	cr_assert_not(nat64_ipv4_is_global(a));
	v4("192.0.0.170", a); /* NAT64/DNS64 discovery, RFC 7050 */
	cr_assert_not(nat64_ipv4_is_global(a));
}

Test(prefix, some_globals)
{
	static const char *const g[] = {"1.1.1.1",   "8.8.8.8",		"93.184.216.34",
					"192.0.1.1", "223.255.255.255", "100.128.0.1",
					"172.32.0.1"};
	uint8_t a[4];

	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		v4(g[i], a);
		cr_assert(nat64_ipv4_is_global(a), "%s", g[i]);
	}
}

Test(prefix, wkp_guard)
{
	struct nat64_prefix wk, nsp, local;
	uint8_t priv[4], glob[4], doc[4];

	mkprefix(&wk, "64:ff9b::", 96);
	mkprefix(&nsp, "2a04:5b80:300:4::", 96);
	mkprefix(&local, "64:ff9b:1::", 48);
	v4("10.5.0.1", priv);
	v4("93.184.216.34", glob);
	v4("192.0.2.33", doc);

	/* A 4: the WKP carries only global addresses, unless overridden */
	cr_assert(nat64_prefix_allows(&wk, glob, false));
	cr_assert_not(nat64_prefix_allows(&wk, priv, false));
	cr_assert_not(nat64_prefix_allows(&wk, doc, false));
	cr_assert(nat64_prefix_allows(&wk, priv, true));
	cr_assert(nat64_prefix_allows(&wk, doc, true));
	/* a network-specific prefix, RFC 8215's among them, carries anything */
	cr_assert(nat64_prefix_allows(&nsp, priv, false));
	cr_assert(nat64_prefix_allows(&nsp, glob, false));
	cr_assert(nat64_prefix_allows(&local, priv, false));
	cr_assert(nat64_prefix_allows(&local, doc, false));
}
