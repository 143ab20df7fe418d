/*
 * admin_json: Go encoding/json and encoding/hex behaviour for the admin socket (see
 * admin_json.h). Owns nothing between calls.
 *
 * The re-indenter reproduces two Go steps in one pass over a json.RawMessage: json.Marshal's
 * compact() (validate with the scanner, drop whitespace, HTML-escape) and the Encoder's
 * Indent(). Its error texts are the scanner's SyntaxError messages (encoding/json scanner.go,
 * as of the Go that built 0.5.12); checked against the real daemon where the admin socket shows
 * them, otherwise from the scanner's state names.
 *
 * Invariants: the indenter's stack holds one byte per open container ('{' or '['), at most
 * JSON_MAX_DEPTH; tokens are copied byte for byte except the escapes Go adds.
 *
 * Timers: none.
 */
#include "admin/admin_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"

enum {
	JSON_MAX_DEPTH = 10000, /* Go's scanner: maxNestingDepth */
	JSON_INDENT = 2,	/* Encoder.SetIndent("", "  ") */
};

void admin_json_put(struct admin_json_buf *b, const char *s, size_t n)
{
	if (b->cap - b->len < n + 1) {
		b->cap = 2 * (b->len + n + 1) + 64;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void put_char(struct admin_json_buf *b, char c)
{
	admin_json_put(b, &c, 1);
}

/*
 * One byte of serialised JSON with Go's HTML-safe escapes; returns how many input bytes it took
 * (3 for U+2028/U+2029, else 1).
 */
static size_t escape_one(struct admin_json_buf *b, const uint8_t *s, size_t i, size_t n)
{
	char e[8];
	uint8_t c = s[i];

	if (c == '<' || c == '>' || c == '&') {
		snprintf(e, sizeof(e), "\\u%04x", c);
		admin_json_put(b, e, 6);
		return 1;
	}
	if (c == 0xe2 && i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] & ~1u) == 0xa8) {
		snprintf(e, sizeof(e), "\\u20%02x", s[i + 2] - 0x80u);
		admin_json_put(b, e, 6);
		return 3;
	}
	put_char(b, (char)c);
	return 1;
}

void admin_json_escape(struct admin_json_buf *b, const char *s, size_t n)
{
	const uint8_t *u = (const uint8_t *)s;

	for (size_t i = 0; i < n;)
		i += escape_one(b, u, i, n);
}

/* ---- Go's quoting of a byte taken as the rune U+00XX ---- */

/* strconv.IsPrint for U+0000..U+00FF. */
static bool is_go_print(unsigned c)
{
	return (c >= 0x20 && c < 0x7f) || (c >= 0xa1 && c <= 0xff && c != 0xad);
}

/* The UTF-8 of U+00XX into out (3 bytes of room); returns its length. */
static size_t latin1_utf8(unsigned c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = (char)(0xc0 | (c >> 6));
	out[1] = (char)(0x80 | (c & 0x3f));
	return 2;
}

/* encoding/json quoteChar: 'c' with strconv.Quote's escapes. */
static void quote_char(unsigned c, char *out, size_t cap)
{
	static const char esc[] = {['\a'] = 'a', ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n',
				   ['\r'] = 'r', ['\t'] = 't', ['\v'] = 'v'};
	char u[3];

	if (c == '\'' || c == '\\')
		snprintf(out, cap, "'\\%c'", (char)c);
	else if (is_go_print(c))
		snprintf(out, cap, "'%.*s'", (int)latin1_utf8(c, u), u);
	else if (c < sizeof(esc) && esc[c])
		snprintf(out, cap, "'\\%c'", esc[c]);
	else if (c < 0x20 || c == 0x7f)
		snprintf(out, cap, "'\\x%02x'", c);
	else
		snprintf(out, cap, "'\\u%04x'", c);
}

/* ---- json.RawMessage: compact + Indent ---- */

struct indenter {
	const uint8_t *p;
	size_t n, i;
	struct admin_json_buf *b;
	unsigned base; /* indentation of the line the value starts on */
	char *stack;   /* open containers */
	size_t depth;
	char *err;
	size_t errlen;
};

/* What the scanner expects next (the contexts of its error messages). */
enum expect {
	EXPECT_VALUE,
	EXPECT_VALUE_OR_CLOSE, /* just after '[' */
	EXPECT_KEY,
	EXPECT_KEY_OR_CLOSE, /* just after '{' */
	EXPECT_COLON,
	EXPECT_NEXT, /* after a member or element: ',' or the closing bracket */
	EXPECT_END,  /* after the top-level value: only whitespace */
};

/*
 * A SyntaxError at x->i. Go's scanner meets the end of input by feeding one more ' ': inside
 * a number, literal or escape that is the error; elsewhere (context "") the input just ended.
 */
static bool fail(struct indenter *x, const char *context)
{
	char q[16];

	if (!*context) {
		snprintf(x->err, x->errlen, "unexpected end of JSON input");
	} else {
		quote_char(x->i < x->n ? x->p[x->i] : ' ', q, sizeof(q));
		snprintf(x->err, x->errlen, "invalid character %s %s", q, context);
	}
	return false;
}

static void newline(struct indenter *x)
{
	size_t n = JSON_INDENT * (x->base + x->depth);

	put_char(x->b, '\n');
	for (size_t k = 0; k < n; k++)
		put_char(x->b, ' ');
}

static bool is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_dig(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(uint8_t c)
{
	return is_dig(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string at x->i (its opening quote), copied with Go's escapes. */
static bool string_token(struct indenter *x)
{
	put_char(x->b, '"');
	for (x->i++; x->i < x->n;) {
		uint8_t c = x->p[x->i];

		if (c == '"') {
			put_char(x->b, '"');
			x->i++;
			return true;
		}
		if (c < 0x20)
			return fail(x, "in string literal");
		if (c != '\\') {
			x->i += escape_one(x->b, x->p, x->i, x->n);
			continue;
		}
		put_char(x->b, '\\');
		x->i++;
		c = x->i < x->n ? x->p[x->i] : 0;
		if (!c || !strchr("\"\\/bfnrtu", c))
			return fail(x, "in string escape code");
		put_char(x->b, (char)c);
		x->i++;
		for (int k = 0; c == 'u' && k < 4; k++, x->i++) {
			if (x->i >= x->n || !is_hex(x->p[x->i]))
				return fail(x, "in \\u hexadecimal character escape");
			put_char(x->b, (char)x->p[x->i]);
		}
	}
	return fail(x, ""); /* the string is not closed */
}

/* Digits at x->i, at least one; context names the part of the number for the error. */
static bool digits(struct indenter *x, const char *context)
{
	size_t start = x->i;

	while (x->i < x->n && is_dig(x->p[x->i]))
		x->i++;
	return x->i > start || fail(x, context);
}

/* A number (RFC 8259 §6), copied verbatim: Go keeps its spelling. */
static bool number_token(struct indenter *x)
{
	size_t start = x->i;

	if (x->p[x->i] == '-')
		x->i++;
	if (x->i < x->n && x->p[x->i] == '0')
		x->i++;
	else if (!digits(x, "in numeric literal"))
		return false;
	if (x->i < x->n && x->p[x->i] == '.') {
		x->i++;
		if (!digits(x, "after decimal point in numeric literal"))
			return false;
	}
	if (x->i < x->n && (x->p[x->i] == 'e' || x->p[x->i] == 'E')) {
		x->i++;
		if (x->i < x->n && (x->p[x->i] == '+' || x->p[x->i] == '-'))
			x->i++;
		if (!digits(x, "in exponent of numeric literal"))
			return false;
	}
	admin_json_put(x->b, (const char *)x->p + start, x->i - start);
	return true;
}

static bool literal_token(struct indenter *x, const char *word)
{
	char context[48];

	for (size_t k = 1; word[k]; k++) {
		x->i++;
		if (x->i >= x->n || x->p[x->i] != (uint8_t)word[k]) {
			snprintf(context, sizeof(context), "in literal %s (expecting '%c')", word,
				 word[k]);
			return fail(x, context);
		}
	}
	x->i++;
	admin_json_put(x->b, word, strlen(word));
	return true;
}

/* The first byte of a value at x->i: a container is opened, a scalar copied whole. */
static bool value_token(struct indenter *x, enum expect *st)
{
	uint8_t c = x->p[x->i];

	if (c == '{' || c == '[') {
		if (x->depth == JSON_MAX_DEPTH)
			return fail(x, "exceeded max depth");
		x->stack[x->depth++] = (char)c;
		put_char(x->b, (char)c);
		x->i++;
		*st = c == '{' ? EXPECT_KEY_OR_CLOSE : EXPECT_VALUE_OR_CLOSE;
		return true;
	}
	if (c == '"') {
		if (!string_token(x))
			return false;
	} else if (c == '-' || is_dig(c)) {
		if (!number_token(x))
			return false;
	} else if (c == 't' || c == 'f' || c == 'n') {
		if (!literal_token(x, c == 't' ? "true" : c == 'f' ? "false" : "null"))
			return false;
	} else {
		return fail(x, "looking for beginning of value");
	}
	*st = x->depth ? EXPECT_NEXT : EXPECT_END;
	return true;
}

/* The closing bracket at x->i; is_empty: the container had nothing in it ("{}", "[]"). */
static void close_token(struct indenter *x, bool is_empty, enum expect *st)
{
	x->depth--;
	if (!is_empty)
		newline(x);
	put_char(x->b, (char)x->p[x->i]);
	x->i++;
	*st = x->depth ? EXPECT_NEXT : EXPECT_END;
}

/* One step of the scanner at the non-space byte x->i. */
static bool step(struct indenter *x, enum expect *st)
{
	uint8_t c = x->p[x->i];
	char top = x->depth ? x->stack[x->depth - 1] : 0;

	switch (*st) {
	case EXPECT_VALUE_OR_CLOSE:
	case EXPECT_KEY_OR_CLOSE:
		if (c == (*st == EXPECT_KEY_OR_CLOSE ? '}' : ']')) {
			close_token(x, true, st);
			return true;
		}
		newline(x);
		*st = *st == EXPECT_KEY_OR_CLOSE ? EXPECT_KEY : EXPECT_VALUE;
		return step(x, st);
	case EXPECT_VALUE:
		return value_token(x, st);
	case EXPECT_KEY:
		if (c != '"')
			return fail(x, "looking for beginning of object key string");
		*st = EXPECT_COLON;
		return string_token(x);
	case EXPECT_COLON:
		if (c != ':')
			return fail(x, "after object key");
		admin_json_put(x->b, ": ", 2);
		x->i++;
		*st = EXPECT_VALUE;
		return true;
	case EXPECT_NEXT:
		if (c == ',') {
			put_char(x->b, ',');
			x->i++;
			newline(x);
			*st = top == '{' ? EXPECT_KEY : EXPECT_VALUE;
			return true;
		}
		if (c == (top == '{' ? '}' : ']')) {
			close_token(x, false, st);
			return true;
		}
		return fail(x, top == '{' ? "after object key:value pair" : "after array element");
	default: /* EXPECT_END */
		return fail(x, "after top-level value");
	}
}

bool admin_json_indent(struct admin_json_buf *b, const uint8_t *raw, size_t n, unsigned depth,
		       char *err, size_t errlen)
{
	struct indenter x = {.p = raw, .n = n, .b = b, .base = depth, .err = err, .errlen = errlen};
	enum expect st = EXPECT_VALUE;
	bool is_ok = true;

	if (!n) {
		admin_json_put(b, "null", 4);
		return true;
	}
	x.stack = xmalloc(n < JSON_MAX_DEPTH ? n : JSON_MAX_DEPTH);
	for (;;) {
		while (x.i < n && is_ws(raw[x.i]))
			x.i++;
		if (x.i == n) {
			is_ok = st == EXPECT_END || fail(&x, "");
			break;
		}
		if (!step(&x, &st)) {
			is_ok = false;
			break;
		}
	}
	free(x.stack);
	return is_ok;
}

/* ---- encoding/hex ---- */

static int hex_val(uint8_t c)
{
	if (is_dig(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* hex.InvalidByteError: "%#U" of the byte taken as a rune. */
static bool invalid_byte(uint8_t c, char *err, size_t errlen)
{
	char u[3];

	if (is_go_print(c))
		snprintf(err, errlen, "encoding/hex: invalid byte: U+%04X '%.*s'", c,
			 (int)latin1_utf8(c, u), u);
	else
		snprintf(err, errlen, "encoding/hex: invalid byte: U+%04X", c);
	return false;
}

bool admin_json_unhex(const char *s, uint8_t **out, size_t *n, char *err, size_t errlen)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t len = strlen(s), i = 0;
	uint8_t *o = xmalloc(len / 2 + 1);

	/* Pairs first; then the odd byte's validity before the length, as Go checks. */
	for (; i + 1 < len; i += 2) {
		int hi = hex_val(u[i]), lo = hex_val(u[i + 1]);

		if (hi < 0 || lo < 0) {
			free(o);
			return invalid_byte(hi < 0 ? u[i] : u[i + 1], err, errlen);
		}
		o[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	if (i < len) {
		free(o);
		if (hex_val(u[i]) < 0)
			return invalid_byte(u[i], err, errlen);
		snprintf(err, errlen, "encoding/hex: odd length hex string");
		return false;
	}
	*out = o;
	*n = len / 2;
	return true;
}
