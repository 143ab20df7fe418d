/*
 * inet: address and prefix parsing, RFC 5952 formatting and classification (see inet.h).
 *
 * Owns nothing; every function is pure and works on caller-provided values.
 *
 * Invariants: a struct inet_prefix produced here has family AF_INET or AF_INET6, len within
 * the family's width, and (for prefixes) no host bits set beyond len; IPv4 addresses occupy
 * addr[0..3] and addr[4..15] are zero.
 *
 * Parsing uses inet_pton(3) for the address itself, after a character filter: inet_pton
 * already refuses blanks and zones, but the filter makes the accepted alphabet explicit and
 * keeps glibc quirks out of configuration semantics. The IPv4 form is the strict dotted quad of
 * POSIX inet_pton (no octal, hex or short forms); glibc also refuses leading zeros ("01"), as
 * Go's net.ParseIP has since Go 1.17.
 *
 * Timers: none.
 */
#include "lib/inet.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static unsigned family_bits(uint8_t family)
{
	return family == AF_INET ? 32 : 128;
}

/* True when the first bits bits of a and b are equal. */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		return ((a[whole] ^ b[whole]) & mask) == 0;
	}
	return true;
}

/* True when some bit past len is set in the family's width. */
static bool has_host_bits(const struct inet_prefix *p)
{
	unsigned width = family_bits(p->family) / 8, whole = p->len / 8, rest = p->len % 8;

	if (rest && (p->addr[whole] & (0xff >> rest)))
		return true;
	for (unsigned i = whole + (rest ? 1 : 0); i < width; i++)
		if (p->addr[i])
			return true;
	return false;
}

static void clear_host_bits(struct inet_prefix *p)
{
	unsigned whole = p->len / 8, rest = p->len % 8;

	if (rest) {
		p->addr[whole] &= (uint8_t)(0xff << (8 - rest));
		whole++;
	}
	memset(p->addr + whole, 0, sizeof(p->addr) - whole);
}

bool inet_addr_parse(const char *s, struct inet_prefix *out)
{
	struct inet_prefix p = {0};
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n >= INET_ADDRSTRLEN_MAX)
		return false;
	/* Hex digits, dots and colons only: no blanks, signs, zones ("%eth0") or brackets. */
	if (strspn(s, "0123456789abcdefABCDEF.:") != n)
		return false;

	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, p.addr) != 1)
			return false;
		p.family = AF_INET6;
		p.len = 128;
	} else {
		if (inet_pton(AF_INET, s, p.addr) != 1)
			return false;
		p.family = AF_INET;
		p.len = 32;
	}
	*out = p;
	return true;
}

/*
 * "0" or a decimal number without leading zeros, up to max. Stricter than Go's net.ParseCIDR
 * (which takes "/024"), as netip.ParsePrefix is: a padded length in a config is a typo.
 */
static bool parse_len(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 3 || strspn(s, "0123456789") != n)
		return false;
	if (n > 1 && s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v > max)
		return false;
	*out = v;
	return true;
}

bool inet_prefix_parse(const char *s, bool is_strict, struct inet_prefix *out)
{
	char buf[INET_ADDRSTRLEN_MAX];
	struct inet_prefix p;
	const char *slash;
	unsigned len;

	if (!s)
		return false;
	slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return false;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (!inet_addr_parse(buf, &p))
		return false;
	if (!parse_len(slash + 1, family_bits(p.family), &len))
		return false;
	p.len = (uint8_t)len;
	if (has_host_bits(&p)) {
		if (is_strict)
			return false;
		clear_host_bits(&p);
	}
	*out = p;
	return true;
}

/*
 * RFC 5952 §4: lower-case hex without leading zeros (§4.1, §4.3); "::" replaces the longest
 * run of two or more zero groups (§4.2.1, §4.2.2), the first one on a tie (§4.2.3). §5's
 * dotted-quad form for mapped addresses is deliberately not used (glibc's inet_ntop uses it):
 * one text form per address keeps logs and admin output greppable.
 */
char *inet_ntop6(const uint8_t a[16], char *buf)
{
	unsigned g[8];
	int best = -1, best_len = 0;
	char *o = buf;

	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (int i = 0; i < 8;) {
		int j = i;

		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j > i ? j : i + 1;
	}
	if (best_len < 2)
		best = -1;

	for (int i = 0; i < 8; i++) {
		if (i == best) {
			*o++ = ':';
			*o++ = ':';
			i += best_len - 1;
			continue;
		}
		/* A separator unless at the start or right after "::". */
		if (i > 0 && !(best >= 0 && i == best + best_len))
			*o++ = ':';
		o += sprintf(o, "%x", g[i]);
	}
	*o = '\0';
	return buf;
}

char *inet_addr_format(const struct inet_prefix *p, char *buf)
{
	if (p->family == AF_INET)
		snprintf(buf, INET_ADDRSTRLEN_MAX, "%u.%u.%u.%u", p->addr[0], p->addr[1],
			 p->addr[2], p->addr[3]);
	else if (p->family == AF_INET6)
		inet_ntop6(p->addr, buf);
	else
		snprintf(buf, INET_ADDRSTRLEN_MAX, "?");
	return buf;
}

char *inet_prefix_format(const struct inet_prefix *p, char *buf)
{
	size_t n;

	inet_addr_format(p, buf);
	n = strlen(buf);
	snprintf(buf + n, INET_PREFIXSTRLEN_MAX - n, "/%u", p->len);
	return buf;
}

bool inet_prefix_overlaps(const struct inet_prefix *a, const struct inet_prefix *b)
{
	if (a->family != b->family)
		return false;
	return bits_equal(a->addr, b->addr, a->len < b->len ? a->len : b->len);
}

bool inet_prefix_contains(const struct inet_prefix *p, const struct inet_prefix *addr)
{
	if (p->family != addr->family)
		return false;
	return bits_equal(p->addr, addr->addr, p->len);
}

void inet_addr_unmap4(struct inet_prefix *a)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};

	if (a->family != AF_INET6 || memcmp(a->addr, mapped, sizeof(mapped)))
		return;
	memmove(a->addr, a->addr + 12, 4);
	memset(a->addr + 4, 0, 12);
	a->family = AF_INET;
	a->len = 32;
}

bool inet_addr_is_unspecified(const struct inet_prefix *a)
{
	static const uint8_t zero[16];

	return !memcmp(a->addr, zero, a->family == AF_INET ? 4 : 16);
}

bool inet_is_yggdrasil(const struct inet_prefix *p)
{
	/* 200::/7 (yggdrasil-go address.GetPrefix): the first byte is 0x02 or 0x03. */
	return p->family == AF_INET6 && p->len >= 7 && (p->addr[0] & 0xfe) == 0x02;
}

/* IANA IPv4 Special-Purpose Address Registry entries that are not globally reachable. */
static const struct {
	uint8_t a[4];
	uint8_t len;
} ipv4_special[] = {
	{{0, 0, 0, 0}, 8},		/* RFC 791 "this network" */
	{{10, 0, 0, 0}, 8},		/* RFC 1918 */
	{{100, 64, 0, 0}, 10},	/* RFC 6598 shared address space */
	{{127, 0, 0, 0}, 8},	/* RFC 1122 loopback */
	{{169, 254, 0, 0}, 16},	/* RFC 3927 link local */
	{{172, 16, 0, 0}, 12},	/* RFC 1918 */
	{{192, 0, 0, 0}, 24},	/* RFC 6890 IETF protocol assignments */
	{{192, 0, 2, 0}, 24},	/* RFC 5737 TEST-NET-1 */
	{{192, 88, 99, 0}, 24},	/* RFC 7526 deprecated 6to4 relay anycast */
	{{192, 168, 0, 0}, 16},	/* RFC 1918 */
	{{198, 18, 0, 0}, 15},	/* RFC 2544 benchmarking */
	{{198, 51, 100, 0}, 24},	/* RFC 5737 TEST-NET-2 */
	{{203, 0, 113, 0}, 24},	/* RFC 5737 TEST-NET-3 */
	{{240, 0, 0, 0}, 4},	/* RFC 1112 reserved */
	{{255, 255, 255, 255}, 32}, /* RFC 919 limited broadcast */
};

bool inet_ipv4_is_global(const struct inet_prefix *p)
{
	if (p->family != AF_INET)
		return false;
	for (size_t i = 0; i < sizeof(ipv4_special) / sizeof(ipv4_special[0]); i++) {
		struct inet_prefix s = {.family = AF_INET, .len = ipv4_special[i].len};

		memcpy(s.addr, ipv4_special[i].a, 4);
		/* Overlap, not containment: 8.0.0.0/4 covers 10/8 and is therefore not global. */
		if (inet_prefix_overlaps(p, &s))
			return false;
	}
	return true;
}

bool inet_nat64_prefix_len_ok(unsigned len)
{
	return len == 32 || len == 40 || len == 48 || len == 56 || len == 64 || len == 96;
}

bool inet_is_nat64_wkp(const struct inet_prefix *p)
{
	/* RFC 6052 §2.1: 64:ff9b::/96. */
	static const uint8_t wkp[12] = {0x00, 0x64, 0xff, 0x9b};

	return p->family == AF_INET6 && p->len == 96 && memcmp(p->addr, wkp, sizeof(wkp)) == 0;
}
