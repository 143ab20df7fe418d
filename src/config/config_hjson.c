/*
 * config_hjson: a hand-written HJSON reader producing a cnode tree, so that files written by
 * `yggdrasil -genconf` (HJSON) or `-genconf -json` load unchanged. Behaviour follows hjson-go
 * v4 as used by yggdrasil 0.5.12 (spec sessions-core-admin §7.1):
 *
 *  - comments: "#" and "//" to the end of the line, and "/" "*" ... "*" "/";
 *  - the root object's braces are optional; a root array is allowed (the config layer
 *    refuses it);
 *  - keys are quoted ("..." or '...') or quoteless (no whitespace, none of {}[],:);
 *  - members and elements are separated by a comma, a newline, or both; trailing commas are
 *    fine;
 *  - a quoteless value runs to the end of its line (trailing blanks dropped), except that
 *    when the text before a terminator (, } ] # // /" "* or the line end) is exactly true,
 *    false, null or a JSON number, the value is that literal and parsing resumes at the
 *    terminator. So "IfName: eth0 }" swallows the brace, as in yggdrasil;
 *  - "..." and '...' strings take the JSON escapes plus \'; \uXXXX pairs become one code
 *    point; '''...''' strings drop the indentation of the opening quotes from every line.
 *
 * Deliberately stricter than hjson-go: two members on one line need a comma; duplicate keys,
 * unpaired surrogates, \u0000, invalid UTF-8, NUL bytes and UTF-16 input are errors; nesting
 * stops at CNODE_MAX_DEPTH. Every error carries the line:col where it was found.
 *
 * Invariant: the cursor (i, line, col) only moves through adv(), so positions stay exact;
 * columns count characters, not bytes, like libyaml's.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/cnode.h"
#include "config/config_hjson.h"
#include "lib/mem.h"

enum { END = -1 };

struct hp {
	const char *s;
	size_t len, i;
	unsigned line, col;
	unsigned depth;
	bool is_failed;
	struct cnode_error *err;
};

struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb_put(struct sbuf *b, char c)
{
	if (b->n + 1 >= b->cap) {
		b->cap = b->cap ? b->cap * 2 : 32;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	b->p[b->n++] = c;
	b->p[b->n] = '\0';
}

static void sb_put_utf8(struct sbuf *b, unsigned cp)
{
	if (cp < 0x80) {
		sb_put(b, (char)cp);
	} else if (cp < 0x800) {
		sb_put(b, (char)(0xc0 | cp >> 6));
		sb_put(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		sb_put(b, (char)(0xe0 | cp >> 12));
		sb_put(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		sb_put(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		sb_put(b, (char)(0xf0 | cp >> 18));
		sb_put(b, (char)(0x80 | (cp >> 12 & 0x3f)));
		sb_put(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		sb_put(b, (char)(0x80 | (cp & 0x3f)));
	}
}

static int peek(const struct hp *hp, size_t off)
{
	return hp->i + off < hp->len ? (unsigned char)hp->s[hp->i + off] : END;
}

static void adv(struct hp *hp)
{
	unsigned char c = (unsigned char)hp->s[hp->i++];

	if (c == '\n') {
		hp->line++;
		hp->col = 1;
	} else if ((c & 0xc0) != 0x80) {
		hp->col++;
	}
}

__attribute__((format(printf, 4, 5))) static void fail_at(struct hp *hp, unsigned line,
							  unsigned col, const char *fmt, ...)
{
	va_list ap;

	if (hp->is_failed)
		return;
	hp->is_failed = true;
	hp->err->line = line;
	hp->err->col = col;
	va_start(ap, fmt);
	vsnprintf(hp->err->msg, sizeof(hp->err->msg), fmt, ap);
	va_end(ap);
}

#define fail(hp, ...) fail_at((hp), (hp)->line, (hp)->col, __VA_ARGS__)

/* Renders the character at the cursor for a message. */
static const char *shown(const struct hp *hp, char *buf)
{
	int c = peek(hp, 0);

	if (c == END)
		return "end of input";
	if (c == '\n')
		return "end of line";
	snprintf(buf, 16, c >= 0x20 && c < 0x7f ? "'%c'" : "byte 0x%02x", c);
	return buf;
}

/* Whitespace and comments; *saw_nl (optional) records whether a newline was crossed. */
static bool skip_ws(struct hp *hp, bool *saw_nl)
{
	for (;;) {
		int c = peek(hp, 0);

		if (c == ' ' || c == '\t' || c == '\r') {
			adv(hp);
		} else if (c == '\n') {
			if (saw_nl)
				*saw_nl = true;
			adv(hp);
		} else if (c == '#' || (c == '/' && peek(hp, 1) == '/')) {
			while (peek(hp, 0) != END && peek(hp, 0) != '\n')
				adv(hp);
		} else if (c == '/' && peek(hp, 1) == '*') {
			unsigned line = hp->line, col = hp->col;

			adv(hp);
			adv(hp);
			while (!(peek(hp, 0) == '*' && peek(hp, 1) == '/')) {
				if (peek(hp, 0) == END) {
					fail_at(hp, line, col, "unterminated /* comment");
					return false;
				}
				if (peek(hp, 0) == '\n' && saw_nl)
					*saw_nl = true;
				adv(hp);
			}
			adv(hp);
			adv(hp);
		} else {
			return true;
		}
	}
}

static bool is_punct(int c)
{
	return c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads the 4 hex digits after "\u"; the cursor is on the 'u'. */
static long read_u4(struct hp *hp)
{
	long v = 0;

	adv(hp);
	for (int k = 0; k < 4; k++) {
		int h = hexval(peek(hp, 0));

		if (h < 0) {
			fail(hp, "\\u needs four hexadecimal digits");
			return -1;
		}
		v = v << 4 | h;
		adv(hp);
	}
	return v;
}

/* One escape; the cursor is on the backslash. */
static bool read_escape(struct hp *hp, struct sbuf *b)
{
	static const char from[] = "\"'\\/bfnrt", to[] = "\"'\\/\b\f\n\r\t";
	unsigned line = hp->line, col = hp->col;
	const char *p;
	long cp, lo;
	int c;

	adv(hp);
	c = peek(hp, 0);
	if (c > 0 && (p = strchr(from, c))) {
		sb_put(b, to[p - from]);
		adv(hp);
		return true;
	}
	if (c != 'u') {
		fail_at(hp, line, col, "invalid escape sequence \\%c",
			c >= 0x20 && c < 0x7f ? c : '?');
		return false;
	}
	if ((cp = read_u4(hp)) < 0)
		return false;
	if (cp >= 0xd800 && cp < 0xdc00) {
		if (peek(hp, 0) != '\\' || peek(hp, 1) != 'u') {
			fail_at(hp, line, col, "unpaired UTF-16 surrogate \\u%04lx", cp);
			return false;
		}
		adv(hp);
		if ((lo = read_u4(hp)) < 0)
			return false;
		if (lo < 0xdc00 || lo >= 0xe000) {
			fail_at(hp, line, col, "unpaired UTF-16 surrogate \\u%04lx", cp);
			return false;
		}
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if (cp >= 0xdc00 && cp < 0xe000) {
		fail_at(hp, line, col, "unpaired UTF-16 surrogate \\u%04lx", cp);
		return false;
	} else if (cp == 0) {
		fail_at(hp, line, col,
			"\\u0000 is not allowed (configuration text cannot hold NUL)");
		return false;
	}
	sb_put_utf8(b, (unsigned)cp);
	return true;
}

/* "..." or '...'; the cursor is on the opening quote. */
static struct cnode *read_quoted(struct hp *hp)
{
	unsigned line = hp->line, col = hp->col;
	int q = peek(hp, 0);
	struct sbuf b = {0};
	struct cnode *n;

	adv(hp);
	sb_put(&b, 0); /* so that b.p exists for an empty string */
	b.n = 0;
	for (;;) {
		int c = peek(hp, 0);

		if (c == END || c == '\n' || c == '\r') {
			fail_at(hp, line, col,
				"unterminated string (quoted strings end on their line; "
				"use \\n or '''...''' for several lines)");
			free(b.p);
			return NULL;
		}
		if (c == q) {
			adv(hp);
			break;
		}
		if (c == '\\') {
			if (!read_escape(hp, &b)) {
				free(b.p);
				return NULL;
			}
			continue;
		}
		sb_put(&b, (char)c);
		adv(hp);
	}
	n = cnode_new(CNODE_SCALAR, line, col);
	n->str = b.p;
	n->is_quoted = true;
	return n;
}

/* Counts the characters before the cursor on its line (the indent of a ''' string). */
static unsigned column_of_cursor(const struct hp *hp)
{
	return hp->col - 1;
}

static void skip_indent(struct hp *hp, unsigned indent)
{
	while (indent && (peek(hp, 0) == ' ' || peek(hp, 0) == '\t' || peek(hp, 0) == '\r')) {
		adv(hp);
		indent--;
	}
}

static bool at_triple(const struct hp *hp)
{
	return peek(hp, 0) == '\'' && peek(hp, 1) == '\'' && peek(hp, 2) == '\'';
}

/*
 * '''...''': leading blanks and the first newline after the opening quotes are dropped; each
 * later line loses up to as many leading blanks as the opening quotes were indented; CRs go;
 * a newline just before the closing quotes goes.
 */
static struct cnode *read_multiline(struct hp *hp)
{
	unsigned line = hp->line, col = hp->col, indent = column_of_cursor(hp);
	struct sbuf b = {0};
	struct cnode *n;

	sb_put(&b, 0);
	b.n = 0;
	adv(hp);
	adv(hp);
	adv(hp);
	while (peek(hp, 0) == ' ' || peek(hp, 0) == '\t' || peek(hp, 0) == '\r')
		adv(hp);
	if (peek(hp, 0) == '\n') {
		adv(hp);
		skip_indent(hp, indent);
	}
	while (!at_triple(hp)) {
		int c = peek(hp, 0);

		if (c == END) {
			fail_at(hp, line, col, "unterminated ''' string");
			free(b.p);
			return NULL;
		}
		adv(hp);
		if (c == '\n') {
			sb_put(&b, '\n');
			skip_indent(hp, indent);
		} else if (c != '\r') {
			sb_put(&b, (char)c);
		}
	}
	adv(hp);
	adv(hp);
	adv(hp);
	if (b.n && b.p[b.n - 1] == '\n')
		b.p[--b.n] = '\0';
	n = cnode_new(CNODE_SCALAR, line, col);
	n->str = b.p;
	n->is_quoted = true;
	return n;
}

static bool is_literal(const char *s, size_t len)
{
	if (!len || !strchr("tfn-0123456789", s[0]))
		return false;
	return (len == 4 && !memcmp(s, "true", 4)) || (len == 5 && !memcmp(s, "false", 5)) ||
	       (len == 4 && !memcmp(s, "null", 4)) || cnode_is_number(s, len);
}

static size_t trimmed(const char *s, size_t len)
{
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len;
}

/* A quoteless value: a literal up to a terminator, or a string up to the end of the line. */
static struct cnode *read_quoteless(struct hp *hp)
{
	unsigned line = hp->line, col = hp->col;
	const char *s = hp->s + hp->i;
	size_t avail = hp->len - hp->i, j, len;
	struct cnode *n;
	char buf[16];

	if (is_punct(peek(hp, 0)) || peek(hp, 0) == END) {
		fail(hp, "expected a value, found %s", shown(hp, buf));
		return NULL;
	}
	for (j = 1;; j++) {
		bool is_eol = j >= avail || s[j] == '\n' || s[j] == '\r';
		bool is_term =
		    is_eol || s[j] == ',' || s[j] == '}' || s[j] == ']' || s[j] == '#' ||
		    (s[j] == '/' && j + 1 < avail && (s[j + 1] == '/' || s[j + 1] == '*'));

		len = trimmed(s, j);
		if (is_term && is_literal(s, len))
			break;
		if (is_eol)
			break;
	}
	for (size_t k = 0; k < j; k++)
		adv(hp);
	if (len == 4 && !memcmp(s, "null", 4))
		return cnode_new(CNODE_NULL, line, col);
	n = cnode_new_scalar(s, len, false, line, col);
	return n;
}

static struct cnode *read_value(struct hp *hp);

static bool enter(struct hp *hp)
{
	if (++hp->depth > CNODE_MAX_DEPTH) {
		fail(hp, "nesting deeper than %d levels", CNODE_MAX_DEPTH);
		return false;
	}
	return true;
}

static struct cnode *read_key(struct hp *hp)
{
	unsigned line = hp->line, col = hp->col;
	size_t start = hp->i;
	char buf[16];
	int c = peek(hp, 0);

	if (c == '"' || (c == '\'' && !at_triple(hp)))
		return read_quoted(hp);
	if (c == ':') {
		fail(hp, "empty key name (write \"\" for an empty key)");
		return NULL;
	}
	if (is_punct(c) || c == '\'') {
		fail(hp, "expected a key, found %s", shown(hp, buf));
		return NULL;
	}
	while ((c = peek(hp, 0)) != END && c != ':' && c != ' ' && c != '\t' && c != '\r' &&
	       c != '\n') {
		if (is_punct(c)) {
			fail(hp, "%s in a key name (quote the key to use it)", shown(hp, buf));
			return NULL;
		}
		adv(hp);
	}
	return cnode_new_scalar(hp->s + start, hp->i - start, false, line, col);
}

/* After a member or element: a comma, a newline, or the closer. */
static bool read_separator(struct hp *hp, int closer)
{
	bool saw_nl = false;
	char buf[16];
	int c;

	if (!skip_ws(hp, &saw_nl))
		return false;
	c = peek(hp, 0);
	if (c == ',') {
		adv(hp);
		return skip_ws(hp, NULL);
	}
	if (c == closer || saw_nl || c == END)
		return true;
	fail(hp, "expected ',' or a new line before %s", shown(hp, buf));
	return false;
}

/* An object; with is_braceless, the root object without its braces, ended by the input end. */
static struct cnode *read_object(struct hp *hp, bool is_braceless)
{
	unsigned line = hp->line, col = hp->col;
	struct cnode *map = cnode_new(CNODE_MAP, line, col), *key, *val;
	char buf[16];

	if (!enter(hp))
		goto err;
	if (!is_braceless)
		adv(hp);
	if (!skip_ws(hp, NULL))
		goto err;
	for (;;) {
		int c = peek(hp, 0);
		long dup;

		if (c == END) {
			if (is_braceless)
				break;
			fail(hp, "missing '}' for the object opened at %u:%u", line, col);
			goto err;
		}
		if (c == '}' && !is_braceless) {
			adv(hp);
			break;
		}
		if (!(key = read_key(hp)))
			goto err;
		if (!skip_ws(hp, NULL) || peek(hp, 0) != ':') {
			fail(hp, "expected ':' after the key \"%s\", found %s", key->str,
			     shown(hp, buf));
			cnode_free(key);
			goto err;
		}
		adv(hp);
		if ((dup = cnode_map_index(map, key->str)) >= 0) {
			fail_at(hp, key->line, key->col, "duplicate key \"%s\" (first at %u:%u)",
				key->str, map->keys[dup]->line, map->keys[dup]->col);
			cnode_free(key);
			goto err;
		}
		if (!skip_ws(hp, NULL) || !(val = read_value(hp))) {
			cnode_free(key);
			goto err;
		}
		cnode_map_add(map, key, val);
		if (!read_separator(hp, is_braceless ? END : '}'))
			goto err;
	}
	hp->depth--;
	return map;
err:
	cnode_free(map);
	return NULL;
}

static struct cnode *read_array(struct hp *hp)
{
	unsigned line = hp->line, col = hp->col;
	struct cnode *seq = cnode_new(CNODE_SEQ, line, col), *val;

	if (!enter(hp))
		goto err;
	adv(hp);
	if (!skip_ws(hp, NULL))
		goto err;
	for (;;) {
		int c = peek(hp, 0);

		if (c == END) {
			fail(hp, "missing ']' for the list opened at %u:%u", line, col);
			goto err;
		}
		if (c == ']') {
			adv(hp);
			break;
		}
		if (!(val = read_value(hp)))
			goto err;
		cnode_seq_add(seq, val);
		if (!read_separator(hp, ']'))
			goto err;
	}
	hp->depth--;
	return seq;
err:
	cnode_free(seq);
	return NULL;
}

static struct cnode *read_value(struct hp *hp)
{
	int c = peek(hp, 0);

	if (c == '{')
		return read_object(hp, false);
	if (c == '[')
		return read_array(hp);
	if (c == '"')
		return read_quoted(hp);
	if (c == '\'')
		return at_triple(hp) ? read_multiline(hp) : read_quoted(hp);
	return read_quoteless(hp);
}

/* Refuses NUL bytes and malformed UTF-8 (overlong forms, surrogates, > U+10FFFF). */
static bool check_utf8(struct hp *hp)
{
	const unsigned char *s = (const unsigned char *)hp->s;
	struct hp scan = *hp;

	while (scan.i < scan.len) {
		unsigned char c = s[scan.i];
		size_t need = c < 0x80		      ? 0
			      : c >= 0xc2 && c < 0xe0 ? 1
			      : c >= 0xe0 && c < 0xf0 ? 2
			      : c >= 0xf0 && c < 0xf5 ? 3
						      : 4;
		unsigned cp = need == 1 ? c & 0x1f : need == 2 ? c & 0x0f : c & 0x07;

		if (c == 0) {
			fail_at(hp, scan.line, scan.col, "NUL byte in the input");
			return false;
		}
		if (need == 4 || scan.i + need >= scan.len)
			goto bad;
		for (size_t k = 1; k <= need; k++) {
			if ((s[scan.i + k] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (s[scan.i + k] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			goto bad;
		for (size_t k = 0; k <= need; k++)
			adv(&scan);
	}
	return true;
bad:
	fail_at(hp, scan.line, scan.col, "invalid UTF-8 (byte 0x%02x)", s[scan.i]);
	return false;
}

struct cnode *hjson_parse(const char *buf, size_t len, struct cnode_error *err)
{
	struct hp hp = {.s = buf, .len = len, .line = 1, .col = 1, .err = err};
	struct cnode *root;
	char cbuf[16];
	int c;

	memset(err, 0, sizeof(*err));
	if (len >= 2 && ((peek(&hp, 0) == 0xff && peek(&hp, 1) == 0xfe) ||
			 (peek(&hp, 0) == 0xfe && peek(&hp, 1) == 0xff))) {
		fail(&hp, "UTF-16 input is not supported; convert the file to UTF-8");
		return NULL;
	}
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		hp.i = 3; /* UTF-8 byte order mark: skipped, column stays 1 */
	if (!check_utf8(&hp) || !skip_ws(&hp, NULL))
		return NULL;
	c = peek(&hp, 0);
	if (c == END)
		return cnode_new(CNODE_MAP, 1, 1);
	if (c == '{' || c == '[') {
		root = read_value(&hp);
		if (root && (!skip_ws(&hp, NULL) || peek(&hp, 0) != END)) {
			fail(&hp, "unexpected %s after the end of the document", shown(&hp, cbuf));
			cnode_free(root);
			return NULL;
		}
		return root;
	}
	return read_object(&hp, true);
}
