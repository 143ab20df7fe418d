/*
 * Tests for lib/inet: strict parsing, RFC 5952 text output, prefix relations and the
 * classification used by config_check (200::/7, global IPv4, RFC 6052 prefixes).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/inet.h"

static struct inet_prefix pfx(const char *s)
{
	struct inet_prefix p;

	cr_assert(inet_prefix_parse(s, true, &p), "fixture %s does not parse", s);
	return p;
}

static struct inet_prefix addr(const char *s)
{
	struct inet_prefix p;

	cr_assert(inet_addr_parse(s, &p), "fixture %s does not parse", s);
	return p;
}

/* in -> canonical RFC 5952 text */
struct fmt_vec {
	char in[48];
	char out[48];
};

ParameterizedTestParameters(inet, rfc5952)
{
	static struct fmt_vec v[] = {
	    {"2001:db8::1", "2001:db8::1"},
	    {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},	      /* §4.3 lower case, §4.2.1 */
	    {"2001:0db8::0001", "2001:db8::1"},		      /* §4.1 no leading zeros */
	    {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"}, /* §4.2.2 not for one group */
	    {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},	      /* §4.2.3 longest run */
	    {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},    /* §4.2.3 first on a tie */
	    {"::", "::"},
	    {"::1", "::1"},
	    {"1::", "1::"},
	    {"0:0:0:0:0:0:0:0", "::"},
	    {"1:0:0:0:0:0:0:0", "1::"},
	    {"0:1:0:0:0:0:0:0", "0:1::"},
	    {"0:0:1:0:0:0:0:0", "0:0:1::"},
	    {"0:0:1:0:0:1:0:0", "::1:0:0:1:0:0"},
	    {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
	    {"0:1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7"},
	    {"1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	    {"::ffff:1.2.3.4", "::ffff:102:304"}, /* no dotted quad on output */
	    {"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
	    {"200:1234:5678::abcd", "200:1234:5678::abcd"},
	    {"1.2.3.4", "1.2.3.4"},
	    {"0.0.0.0", "0.0.0.0"},
	    {"255.255.255.255", "255.255.255.255"},
	};

	return cr_make_param_array(struct fmt_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct fmt_vec *t, inet, rfc5952)
{
	char buf[INET_ADDRSTRLEN_MAX];
	struct inet_prefix p, again;

	cr_assert(inet_addr_parse(t->in, &p), "parse %s", t->in);
	cr_assert_str_eq(inet_addr_format(&p, buf), t->out);
	/* The canonical form parses back to the same bytes. */
	cr_assert(inet_addr_parse(buf, &again));
	cr_assert_eq(again.family, p.family);
	cr_assert_eq(again.len, p.len);
	cr_assert_arr_eq(again.addr, p.addr, 16);
}

/* inet_ntop6 agrees with glibc wherever glibc does not use a dotted quad. */
Test(inet, ntop6_matches_glibc_on_patterns)
{
	char ours[INET_ADDRSTRLEN_MAX], libc[INET6_ADDRSTRLEN];
	uint8_t a[16];

	/* Every pattern of zero and non-zero groups (256), with group values 0 or 0x1a2. */
	for (unsigned m = 0; m < 256; m++) {
		memset(a, 0, sizeof(a));
		for (int g = 0; g < 8; g++)
			if (m & (1u << g)) {
				a[2 * g] = 0x01;
				a[2 * g + 1] = 0xa2;
			}
		inet_ntop6(a, ours);
		cr_assert_not_null(inet_ntop(AF_INET6, a, libc, sizeof(libc)));
		if (strchr(libc, '.'))
			continue; /* ::a.b.c.d / ::ffff:a.b.c.d forms, which we do not produce */
		cr_assert_str_eq(ours, libc, "pattern %02x", m);
	}
}

Test(inet, parse_rejects_junk)
{
	static const char *bad[] = {
	    "",
	    " 1.2.3.4",
	    "1.2.3.4 ",
	    "1.2.3",
	    "1.2.3.4.5",
	    "1.2.3.256",
	    "01.2.3.4",
	    "0x1.2.3.4",
	    "1.2.3.-4",
	    "::1 ",
	    "\t::1",
	    "[::1]",
	    "fe80::1%eth0",
	    "1:2:3:4:5:6:7:8:9",
	    "2001:db8:::1",
	    "2001:db8::1::2",
	    "g::1",
	    "12345::1",
	    "1.2.3.4/32",
	    "::ffff:1.2.3.4.5",
	    "0000:0000:0000:0000:0000:0000:0000:0000:0",
	};
	struct inet_prefix p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(inet_addr_parse(bad[i], &p), "accepted \"%s\"", bad[i]);
	cr_assert_not(inet_addr_parse(NULL, &p));
}

Test(inet, prefix_parse_and_format)
{
	char buf[INET_PREFIXSTRLEN_MAX];
	struct inet_prefix p;

	cr_assert(inet_prefix_parse("200::/7", true, &p));
	cr_assert_eq(p.family, AF_INET6);
	cr_assert_eq(p.len, 7);
	cr_assert_eq(p.addr[0], 0x02);
	cr_assert_str_eq(inet_prefix_format(&p, buf), "200::/7");

	cr_assert(inet_prefix_parse("10.0.0.0/8", true, &p));
	cr_assert_eq(p.family, AF_INET);
	cr_assert_eq(p.len, 8);
	cr_assert_str_eq(inet_prefix_format(&p, buf), "10.0.0.0/8");

	cr_assert(inet_prefix_parse("0.0.0.0/0", true, &p));
	cr_assert_str_eq(inet_prefix_format(&p, buf), "0.0.0.0/0");
	cr_assert(inet_prefix_parse("::/0", true, &p));
	cr_assert_str_eq(inet_prefix_format(&p, buf), "::/0");
	cr_assert(inet_prefix_parse("1.2.3.4/32", true, &p));
	cr_assert_str_eq(inet_prefix_format(&p, buf), "1.2.3.4/32");
	cr_assert(inet_prefix_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", true, &p));
	cr_assert_str_eq(inet_prefix_format(&p, buf),
			 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	cr_assert_lt(strlen(buf), INET_PREFIXSTRLEN_MAX);
}

Test(inet, prefix_parse_rejects_bad_lengths)
{
	static const char *bad[] = {
	    "10.0.0.0",	      "10.0.0.0/",	 "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8a",
	    "10.0.0.0/ 8",    "10.0.0.0/8 ",	 "10.0.0.0/08", "10.0.0.0/+8", "10.0.0.0/8/8",
	    "::/129",	      "::/1000",	 "::/0x10",	"/64",	       "2001:db8::/",
	    " 2001:db8::/32", "2001:db8::/32\n",
	};
	struct inet_prefix p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_not(inet_prefix_parse(bad[i], false, &p), "accepted \"%s\"", bad[i]);
		cr_assert_not(inet_prefix_parse(bad[i], true, &p), "accepted \"%s\"", bad[i]);
	}
	cr_assert_not(inet_prefix_parse(NULL, false, &p));
}

Test(inet, strict_host_bits)
{
	char buf[INET_PREFIXSTRLEN_MAX];
	struct inet_prefix p;

	cr_assert_not(inet_prefix_parse("10.1.2.3/8", true, &p));
	cr_assert(inet_prefix_parse("10.1.2.3/8", false, &p));
	cr_assert_str_eq(inet_prefix_format(&p, buf), "10.0.0.0/8");

	cr_assert_not(inet_prefix_parse("192.168.1.129/25", true, &p));
	cr_assert(inet_prefix_parse("192.168.1.128/25", true, &p));
	cr_assert(inet_prefix_parse("192.168.1.129/25", false, &p));
	cr_assert_str_eq(inet_prefix_format(&p, buf), "192.168.1.128/25");

	cr_assert_not(inet_prefix_parse("300:1:2:3::/63", true, &p));
	cr_assert(inet_prefix_parse("300:1:2:3::/63", false, &p));
	cr_assert_str_eq(inet_prefix_format(&p, buf), "300:1:2:2::/63");
	cr_assert(inet_prefix_parse("300:1:2:3::/64", true, &p));

	cr_assert_not(inet_prefix_parse("64:ff9b::1/96", true, &p));
	cr_assert_not(inet_prefix_parse("::1/127", true, &p));
	cr_assert(inet_prefix_parse("::1/128", true, &p));
	cr_assert(inet_prefix_parse("::1/0", false, &p));
	cr_assert_str_eq(inet_prefix_format(&p, buf), "::/0");
}

Test(inet, yggdrasil_range)
{
	struct inet_prefix p;

	p = addr("200::1");
	cr_assert(inet_is_yggdrasil(&p));
	p = addr("201:5a4c:93ed:7e5e:6a43:8e8e:b4b6:48d1");
	cr_assert(inet_is_yggdrasil(&p));
	p = addr("3ff:ffff::1");
	cr_assert(inet_is_yggdrasil(&p));
	p = pfx("300:1234:5678:9abc::/64");
	cr_assert(inet_is_yggdrasil(&p));
	p = pfx("200::/7");
	cr_assert(inet_is_yggdrasil(&p));
	p = pfx("200::/8");
	cr_assert(inet_is_yggdrasil(&p));

	p = pfx("::/0"); /* contains 200::/7 but does not lie in it */
	cr_assert_not(inet_is_yggdrasil(&p));
	p = pfx("::/6"); /* also contains 200::/7 */
	cr_assert_not(inet_is_yggdrasil(&p));
	p = addr("1ff:ffff::1");
	cr_assert_not(inet_is_yggdrasil(&p));
	p = addr("400::");
	cr_assert_not(inet_is_yggdrasil(&p));
	p = addr("fd00::1");
	cr_assert_not(inet_is_yggdrasil(&p));
	p = addr("2.0.0.1");
	cr_assert_not(inet_is_yggdrasil(&p));
}

Test(inet, ipv4_global)
{
	static const char *global[] = {
	    "1.1.1.1/32",	  "8.8.8.0/24",	       "9.255.255.255/32",   "11.0.0.0/8",
	    "100.63.255.255/32",  "100.128.0.0/9",     "126.255.255.255/32", "128.0.0.0/3",
	    "169.253.0.0/16",	  "172.15.255.255/32", "172.32.0.0/11",	     "192.0.1.0/24",
	    "192.0.3.0/24",	  "192.88.98.0/24",    "192.167.255.255/32", "192.169.0.0/16",
	    "198.17.255.255/32",  "198.20.0.0/16",     "198.51.99.0/24",     "203.0.112.0/24",
	    "223.255.255.255/32",
	};
	static const char *special[] = {
	    "0.0.0.0/8",
	    "0.1.2.3/32",
	    "10.0.0.0/8",
	    "10.200.0.0/16",
	    "100.64.0.0/10",
	    "100.127.255.255/32",
	    "127.0.0.1/32",
	    "169.254.1.1/32",
	    "172.16.0.0/12",
	    "172.31.255.255/32",
	    "192.0.0.0/24",
	    "192.0.0.170/32",
	    "192.0.2.0/24",
	    "192.88.99.1/32",
	    "192.168.0.0/16",
	    "198.18.0.0/15",
	    "198.19.1.0/24",
	    "198.51.100.0/24",
	    "203.0.113.7/32",
	    "240.0.0.0/4",
	    "250.1.2.3/32",
	    "255.255.255.255/32",
	    /* Wide prefixes that merely contain a special range are not global either. */
	    "0.0.0.0/0",
	    "8.0.0.0/6",
	    "192.0.0.0/8",
	    "224.0.0.0/3",
	};
	struct inet_prefix p;

	for (size_t i = 0; i < sizeof(global) / sizeof(global[0]); i++) {
		p = pfx(global[i]);
		cr_assert(inet_ipv4_is_global(&p), "%s should be global", global[i]);
	}
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		p = pfx(special[i]);
		cr_assert_not(inet_ipv4_is_global(&p), "%s should not be global", special[i]);
	}
	p = addr("2001:db8::1");
	cr_assert_not(inet_ipv4_is_global(&p), "IPv6 is never a global IPv4 prefix");
}

Test(inet, nat64_prefix_lengths)
{
	static const unsigned ok[] = {32, 40, 48, 56, 64, 96};

	for (unsigned len = 0; len <= 128; len++) {
		bool want = false;

		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
			want |= ok[i] == len;
		cr_assert_eq(inet_nat64_prefix_len_ok(len), want, "len %u", len);
	}
	cr_assert_not(inet_nat64_prefix_len_ok(1000));
}

Test(inet, nat64_wkp)
{
	struct inet_prefix p;

	p = pfx("64:ff9b::/96");
	cr_assert(inet_is_nat64_wkp(&p));
	p = pfx("64:ff9b:1::/48"); /* RFC 8215 local-use prefix */
	cr_assert_not(inet_is_nat64_wkp(&p));
	p = pfx("64:ff9b::/64");
	cr_assert_not(inet_is_nat64_wkp(&p));
	p = pfx("64:ff9a::/96");
	cr_assert_not(inet_is_nat64_wkp(&p));
	p = pfx("2001:db8:64::/96");
	cr_assert_not(inet_is_nat64_wkp(&p));
	p = addr("64:ff9b::");
	cr_assert_not(inet_is_nat64_wkp(&p), "an address (/128) is not the prefix");
}

Test(inet, overlaps_and_contains)
{
	struct inet_prefix a, b;

	a = pfx("10.0.0.0/8");
	b = pfx("10.1.0.0/16");
	cr_assert(inet_prefix_overlaps(&a, &b));
	cr_assert(inet_prefix_overlaps(&b, &a));
	cr_assert(inet_prefix_contains(&a, &b));
	cr_assert_not(inet_prefix_contains(&b, &a));

	b = pfx("11.0.0.0/8");
	cr_assert_not(inet_prefix_overlaps(&a, &b));

	a = pfx("192.168.1.0/25");
	b = pfx("192.168.1.128/25");
	cr_assert_not(inet_prefix_overlaps(&a, &b), "adjacent halves");
	b = pfx("192.168.1.0/24");
	cr_assert(inet_prefix_overlaps(&a, &b));
	cr_assert(inet_prefix_overlaps(&a, &a));

	a = pfx("2001:db8::/32");
	b = pfx("2001:db8:ffff::/48");
	cr_assert(inet_prefix_overlaps(&a, &b));
	b = pfx("2001:db9::/32");
	cr_assert_not(inet_prefix_overlaps(&a, &b));
	b = pfx("::/0");
	cr_assert(inet_prefix_overlaps(&a, &b));

	/* Families never overlap, even ::/0 with 0.0.0.0/0. */
	a = pfx("0.0.0.0/0");
	cr_assert_not(inet_prefix_overlaps(&a, &b));
	cr_assert_not(inet_prefix_contains(&b, &a));

	a = pfx("64:ff9b::/96");
	b = addr("64:ff9b::c000:221");
	cr_assert(inet_prefix_contains(&a, &b));
	b = addr("64:ff9b:0:0:0:1:c000:221");
	cr_assert_not(inet_prefix_contains(&a, &b));

	a = pfx("203.0.113.0/24");
	b = addr("203.0.113.255");
	cr_assert(inet_prefix_contains(&a, &b));
	b = addr("203.0.114.0");
	cr_assert_not(inet_prefix_contains(&a, &b));
}

Test(inet, unmap4_and_unspecified)
{
	struct inet_prefix a;
	char s[INET_ADDRSTRLEN_MAX];

	cr_assert(inet_addr_parse("::ffff:192.0.2.7", &a));
	inet_addr_unmap4(&a);
	cr_expect_eq(a.family, AF_INET);
	cr_expect_eq(a.len, 32);
	cr_expect_str_eq(inet_addr_format(&a, s), "192.0.2.7");
	cr_expect_not(inet_addr_is_unspecified(&a));
	for (size_t i = 4; i < 16; i++)
		cr_expect_eq(a.addr[i], 0, "byte %zu cleared", i);
	/* not mapped: left alone (::192.0.2.7 is the old IPv4-compatible form, not mapped) */
	static const char *const keep[] = {"2001:db8::ffff:c000:207", "::192.0.2.7", "192.0.2.7"};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		struct inet_prefix b;

		cr_assert(inet_addr_parse(keep[i], &a));
		b = a;
		inet_addr_unmap4(&a);
		cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0, "%s unchanged", keep[i]);
	}
	cr_assert(inet_addr_parse("::ffff:0.0.0.0", &a));
	inet_addr_unmap4(&a);
	cr_expect(inet_addr_is_unspecified(&a), "mapped 0.0.0.0");
	cr_assert(inet_addr_parse("::", &a));
	cr_expect(inet_addr_is_unspecified(&a));
	cr_assert(inet_addr_parse("0.0.0.0", &a));
	cr_expect(inet_addr_is_unspecified(&a));
	cr_assert(inet_addr_parse("::1", &a));
	cr_expect_not(inet_addr_is_unspecified(&a));
}

Test(inet, addr_parse_sets_full_length)
{
	struct inet_prefix p;

	cr_assert(inet_addr_parse("192.0.2.1", &p));
	cr_assert_eq(p.family, AF_INET);
	cr_assert_eq(p.len, 32);
	cr_assert_eq(p.addr[0], 192);
	cr_assert_eq(p.addr[3], 1);
	for (int i = 4; i < 16; i++)
		cr_assert_eq(p.addr[i], 0);

	cr_assert(inet_addr_parse("2001:DB8::A", &p));
	cr_assert_eq(p.family, AF_INET6);
	cr_assert_eq(p.len, 128);
	cr_assert_eq(p.addr[15], 0x0a);
}
