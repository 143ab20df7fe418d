/*
 * peer_uri: the pure half of the peer module (see peer.h): peer and listener URIs with their
 * options, parsed as yggdrasil 0.5.12 parses them (Go url.Parse, url.Query, strconv, time
 * .ParseDuration; spec yggdrasil-link-routing.md §2.1), and the reconnection backoff (§2.5).
 *
 * Owns nothing; no I/O, no clock. Every output is a fixed-size field of struct peer_uri, filled
 * with bounds checks; a value that does not fit is an error, never a truncation.
 */
#include "core/peer.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/inet.h"

/* ======================= URIs (§2.1) ======================= */

static const struct scheme_row {
	const char *name;
	enum peer_scheme scheme;
	bool can_listen;
	const char *unsupported; /* NULL when we speak it */
} scheme_table[] = {
    {"tcp", PEER_TCP, true, NULL},
    {"tls", PEER_TLS, true, NULL},
    {"unix", PEER_UNIX, true, NULL},
    {"quic", PEER_QUIC, true, "quic:// peerings are not supported yet"},
    {"ws", PEER_WS, true, "ws:// peerings are not supported yet"},
    {"wss", PEER_WSS, false, "wss:// peerings are not supported yet"},
    {"socks", PEER_SOCKS, false, "socks:// peerings are not supported yet"},
    {"sockstls", PEER_SOCKSTLS, false, "sockstls:// peerings are not supported yet"},
};

static int fail(const char **err, const char *msg, int code)
{
	if (err)
		*err = msg;
	return code;
}

/* Copies src into dst[cap] if it fits (then true); dst is untouched otherwise. */
static bool set_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Go's url unescape: %xx (and '+' as space in queries). Writes at most cap-1 bytes plus a NUL
 * (the output may hold NULs itself; *len is exact). False on a bad escape or overflow.
 */
static bool unescape(const char *s, size_t n, bool is_query, char *out, size_t cap, size_t *len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (n - i < 3)
				return false;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = hi << 4 | lo;
			i += 2;
		} else if (c == '+' && is_query) {
			c = ' ';
		}
		if (o + 1 >= cap)
			return false;
		out[o++] = (char)c;
	}
	out[o] = 0;
	if (len)
		*len = o;
	return true;
}

/* Go time.ParseDuration, in ms (truncated). False on syntax errors and overflow. */
static bool parse_duration_ms(const char *s, int64_t *out_ms)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {
	    {"ns", 1},
	    {"us", 1000},
	    {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
	    {"\xce\xbcs", 1000}, /* U+03BC Greek mu */
	    {"ms", 1000000},
	    {"s", 1000000000ULL},
	    {"m", 60000000000ULL},
	    {"h", 3600000000000ULL},
	};
	const uint64_t max = (uint64_t)INT64_MAX;
	bool neg = false;
	double total = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0")) {
		*out_ms = 0;
		return true;
	}
	if (!*s)
		return false;
	while (*s) {
		uint64_t v = 0, mult = 0;
		double frac = 0, scale = 1;
		int pre = 0, post = 0;
		const char *u;
		size_t ul;

		for (; isdigit((unsigned char)*s); s++, pre++) {
			if (v > max / 10)
				return false;
			v = v * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.')
			for (s++; isdigit((unsigned char)*s); s++, post++)
				frac += (*s - '0') * (scale /= 10);
		if (!pre && !post)
			return false;
		for (u = s; *s && *s != '.' && !isdigit((unsigned char)*s); s++)
			;
		ul = (size_t)(s - u);
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].unit) == ul && !memcmp(units[i].unit, u, ul))
				mult = units[i].ns;
		if (!mult || v > max / mult)
			return false;
		total += (double)(v * mult) + frac * (double)mult;
		if (total > (double)max)
			return false;
	}
	*out_ms = (int64_t)(total / 1e6) * (neg ? -1 : 1);
	return true;
}

static bool is_ip_literal(const char *host)
{
	char h[PEER_HOST_MAX];
	struct inet_prefix ip;
	char *pct;

	snprintf(h, sizeof(h), "%s", host);
	pct = strchr(h, '%'); /* a zone: Go's hostnameInSNI drops it too */
	if (pct)
		*pct = 0;
	return inet_addr_parse(h, &ip);
}

/* ---- options (Go url.Query().Get / ["key"]) ---- */

static int opt_key(struct peer_uri *u, const char *v, size_t n, const char **err)
{
	uint8_t key[32] = {0};

	/* hex.DecodeString then copy into [32]byte: even length, zero-padded or truncated. */
	if (n % 2)
		return fail(err, "pinned public key is invalid", -EINVAL);
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval((unsigned char)v[i]), lo = hexval((unsigned char)v[i + 1]);

		if (hi < 0 || lo < 0)
			return fail(err, "pinned public key is invalid", -EINVAL);
		if (i / 2 < sizeof(key))
			key[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	for (size_t i = 0; i < u->n_pins; i++)
		if (!memcmp(u->pins[i], key, 32))
			return 0;
	if (u->n_pins == PEER_MAX_PINS)
		return fail(err, "too many pinned public keys", -EINVAL);
	memcpy(u->pins[u->n_pins++], key, 32);
	return 0;
}

static int opt_priority(struct peer_uri *u, const char *v, size_t n, const char **err)
{
	unsigned long p = 0;

	/* strconv.ParseUint(v, 10, 8) */
	if (n == 0 || n > 16)
		return fail(err, "priority value is invalid", -EINVAL);
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return fail(err, "priority value is invalid", -EINVAL);
		p = p * 10 + (unsigned long)(v[i] - '0');
	}
	if (p > 255)
		return fail(err, "priority value is invalid", -EINVAL);
	u->priority = (uint8_t)p;
	return 0;
}

static int opt_password(struct peer_uri *u, const char *v, size_t n, const char **err)
{
	if (n > PEER_PASSWORD_MAX)
		return fail(err, "invalid password supplied", -EINVAL);
	memcpy(u->password, v, n);
	u->password[n] = 0;
	u->password_len = n;
	return 0;
}

static int opt_maxbackoff(struct peer_uri *u, const char *v, size_t n, const char **err)
{
	int64_t ms;

	if (strlen(v) != n || !parse_duration_ms(v, &ms) || ms < PEER_BACKOFF_MIN_MS)
		return fail(err, "max backoff duration invalid", -EINVAL);
	u->maxbackoff_ms = (uint64_t)ms;
	return 0;
}

static int opt_sni(struct peer_uri *u, const char *v, size_t n, const char **err)
{
	(void)err;
	if (strlen(v) == n && n < sizeof(u->sni) && !is_ip_literal(v)) {
		memcpy(u->sni, v, n);
		u->sni[n] = 0;
	}
	return 0;
}

static const struct uri_opt {
	const char *name;
	bool for_listen; /* listeners read only priority= and password= */
	bool is_repeatable;
	int (*parse)(struct peer_uri *u, const char *v, size_t n, const char **err);
} uri_opts[] = {
    {"key", false, true, opt_key},	     {"priority", true, false, opt_priority},
    {"password", true, false, opt_password}, {"maxbackoff", false, false, opt_maxbackoff},
    {"sni", false, false, opt_sni},
};

/* Options from the query q (up to a '#' fragment), as url.Query() and yggdrasil read them. */
static int parse_query(const char *q, bool is_listen, struct peer_uri *u, const char **err)
{
	bool seen[sizeof(uri_opts) / sizeof(uri_opts[0])] = {false};
	const char *qend = q ? q + strcspn(q, "#") : NULL;
	char k[64], v[PEER_URI_MAX];
	size_t kl, vl;

	while (q && q < qend) {
		const char *amp = memchr(q, '&', (size_t)(qend - q)), *end = amp ? amp : qend;
		const char *eq = memchr(q, '=', (size_t)(end - q));
		const char *ke = eq ? eq : end;
		bool ok;

		/* Go >= 1.17 ParseQuery drops pairs with ';' and pairs that fail to unescape. */
		ok = end > q && !memchr(q, ';', (size_t)(end - q)) &&
		     unescape(q, (size_t)(ke - q), true, k, sizeof(k), &kl) &&
		     unescape(eq ? eq + 1 : end, eq ? (size_t)(end - eq - 1) : 0, true, v,
			      sizeof(v), &vl);
		for (size_t i = 0; ok && i < sizeof(uri_opts) / sizeof(uri_opts[0]); i++) {
			const struct uri_opt *o = &uri_opts[i];
			int r;

			if (strlen(o->name) != kl || memcmp(o->name, k, kl))
				continue;
			if ((is_listen && !o->for_listen) || (seen[i] && !o->is_repeatable))
				break;
			seen[i] = true;
			/* url.Query().Get(x) != "" guards every single-valued option in yggdrasil.
			 */
			if (vl == 0 && !o->is_repeatable)
				break;
			r = o->parse(u, v, vl, err);
			if (r < 0)
				return r;
			break;
		}
		q = amp ? amp + 1 : qend;
	}
	return 0;
}

/* Scheme, authority and path: everything but the options. Fills base (the bookkeeping key). */
static int parse_base(const char *uri, bool is_listen, struct peer_uri *u, const char **err,
		      const char **query)
{
	const struct scheme_row *row = NULL;
	const char *colon = strchr(uri, ':'), *rest, *q, *slash, *hp, *at, *hend;
	char hostport[PEER_URI_MAX], scheme[16];
	size_t sl, restl, hpl, hl;

	memset(u, 0, sizeof(*u));
	u->maxbackoff_ms = PEER_BACKOFF_DEFAULT_MS;
	if (!colon || colon == uri || strncmp(colon, "://", 3))
		return fail(err, "peer URI must look like scheme://address", -EINVAL);
	sl = (size_t)(colon - uri);
	if (sl >= sizeof(scheme))
		return fail(err, "link schema unknown", -EINVAL);
	for (size_t i = 0; i < sl; i++)
		scheme[i] = (char)tolower((unsigned char)uri[i]);
	scheme[sl] = 0;
	for (size_t i = 0; i < sizeof(scheme_table) / sizeof(scheme_table[0]); i++)
		if (!strcmp(scheme_table[i].name, scheme))
			row = &scheme_table[i];
	if (!row)
		return fail(err, "link schema unknown", -EINVAL);
	u->scheme = row->scheme;

	rest = colon + 3;
	restl = strcspn(rest, "#"); /* the fragment goes first, as in url.Parse */
	q = memchr(rest, '?', restl);
	if (q) {
		*query = q + 1;
		restl = (size_t)(q - rest);
	}
	if ((size_t)snprintf(u->base, sizeof(u->base), "%s://%.*s", scheme, (int)restl, rest) >=
	    sizeof(u->base))
		return fail(err, "peer URI is too long", -EINVAL);
	if (row->unsupported)
		return fail(err, row->unsupported, -ENOTSUP);
	if (is_listen && !row->can_listen)
		return fail(err, "this scheme cannot listen", -ENOTSUP);

	slash = memchr(rest, '/', restl);
	hpl = slash ? (size_t)(slash - rest) : restl;
	if (u->scheme == PEER_UNIX) {
		size_t pl;

		/* url.Path; the authority (unix://host/path) is ignored, as in link_unix.go. */
		if (!slash || !unescape(slash, restl - hpl, false, u->path, 108, &pl) || pl < 2 ||
		    strlen(u->path) != pl)
			return fail(err, "unix:// needs a socket path (at most 107 bytes)",
				    -EINVAL);
		return 0;
	}
	/* Userinfo is only meaningful for socks://; strip it like url.Parse. */
	hp = rest;
	at = NULL;
	for (const char *c = rest; c < rest + hpl; c++)
		if (*c == '@')
			at = c;
	if (at) {
		hpl -= (size_t)(at + 1 - hp);
		hp = at + 1;
	}
	if (!unescape(hp, hpl, false, hostport, sizeof(hostport), &hl) || strlen(hostport) != hl)
		return fail(err, "malformed host in peer URI", -EINVAL);
	/* net.SplitHostPort */
	if (hostport[0] == '[') {
		char *rb = strchr(hostport, ']');

		if (!rb || rb[1] != ':')
			return fail(err, "missing port in address", -EINVAL);
		*rb = 0;
		if (!set_str(u->host, sizeof(u->host), hostport + 1))
			return fail(err, "host name too long", -EINVAL);
		hend = rb + 2;
	} else {
		char *c = strrchr(hostport, ':');

		if (!c)
			return fail(err, "missing port in address", -EINVAL);
		*c = 0;
		if (strchr(hostport, ':'))
			return fail(err, "too many colons in address", -EINVAL);
		if (!set_str(u->host, sizeof(u->host), hostport))
			return fail(err, "host name too long", -EINVAL);
		hend = c + 1;
	}
	if (!*hend || strlen(hend) > 5 || strspn(hend, "0123456789") != strlen(hend) ||
	    atoi(hend) > 65535)
		return fail(err, "invalid port in address", -EINVAL);
	u->port = (uint16_t)atoi(hend);
	if (!is_listen && !u->host[0])
		return fail(err, "missing host in peer URI", -EINVAL);
	/* §2.1: SNI = the host unless it is an IP literal; sni= overrides below. */
	if (!is_ip_literal(u->host))
		set_str(u->sni, sizeof(u->sni), u->host);
	return 0;
}

int peer_uri_parse(const char *uri, bool is_listen, struct peer_uri *out, const char **err)
{
	const char *query = NULL;
	char sni_host[PEER_HOST_MAX];
	int r = parse_base(uri, is_listen, out, err, &query);

	if (r < 0)
		return r;
	set_str(sni_host, sizeof(sni_host), out->sni);
	out->sni[0] = 0;
	r = parse_query(query, is_listen, out, err);
	if (r < 0)
		return r;
	if (!out->sni[0])
		set_str(out->sni, sizeof(out->sni), sni_host);
	return 0;
}

int peer_uri_parse_base(const char *uri, struct peer_uri *out, const char **err)
{
	const char *query = NULL;

	return parse_base(uri, false, out, err, &query);
}

uint64_t peer_backoff_ms(unsigned failures, uint64_t max_ms, uint64_t unit_ms)
{
	unsigned n = failures > PEER_BACKOFF_MAX_EXP ? PEER_BACKOFF_MAX_EXP : failures;
	uint64_t d = unit_ms > (UINT64_MAX >> n) ? UINT64_MAX : unit_ms << n;

	return d > max_ms ? max_ms : d;
}
