/*
 * cnode: a small document tree (null, scalar, sequence, mapping) with 1-based positions, shared
 * by the YAML and HJSON readers, plus the printers the configuration dump needs for NodeInfo.
 *
 * Invariants:
 *  - a SCALAR's str is valid UTF-8 without NUL bytes (the parsers refuse anything else), so
 *    printers never meet malformed text;
 *  - a MAP holds keys[i] (always SCALAR) beside vals[i]; parsers refuse duplicate keys;
 *  - scalar typing is decided in one place, cnode_scalar_type(), so the HJSON quoteless rule,
 *    YAML plain scalars and both printers agree on what "123" or "true" means.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/cnode.h"
#include "lib/mem.h"

struct cnode *cnode_new(enum cnode_kind kind, unsigned line, unsigned col)
{
	struct cnode *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->line = line;
	n->col = col;
	return n;
}

struct cnode *cnode_new_scalar(const char *s, size_t len, bool is_quoted, unsigned line,
			       unsigned col)
{
	struct cnode *n = cnode_new(CNODE_SCALAR, line, col);

	n->str = xstrndup(s, len);
	n->is_quoted = is_quoted;
	return n;
}

void cnode_free(struct cnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			cnode_free(n->keys[i]);
		cnode_free(n->vals[i]);
	}
	free(n->keys);
	free(n->vals);
	if (n->str)
		mem_wipe(n->str, strlen(n->str)); /* a tree may hold a private key */
	free(n->str);
	free(n);
}

static void grow(struct cnode *c)
{
	if (c->n < c->cap)
		return;
	c->cap = c->cap ? c->cap * 2 : 4;
	c->vals = xreallocarray(c->vals, c->cap, sizeof(*c->vals));
	if (c->kind == CNODE_MAP)
		c->keys = xreallocarray(c->keys, c->cap, sizeof(*c->keys));
}

void cnode_seq_add(struct cnode *seq, struct cnode *v)
{
	grow(seq);
	seq->vals[seq->n++] = v;
}

void cnode_map_add(struct cnode *map, struct cnode *key, struct cnode *v)
{
	grow(map);
	map->keys[map->n] = key;
	map->vals[map->n++] = v;
}

struct cnode *cnode_copy(const struct cnode *n)
{
	struct cnode *c = cnode_new(n->kind, n->line, n->col);

	c->is_quoted = n->is_quoted;
	if (n->str)
		c->str = xstrdup(n->str);
	for (size_t i = 0; i < n->n; i++) {
		if (n->kind == CNODE_MAP)
			cnode_map_add(c, cnode_copy(n->keys[i]), cnode_copy(n->vals[i]));
		else
			cnode_seq_add(c, cnode_copy(n->vals[i]));
	}
	return c;
}

long cnode_map_index(const struct cnode *map, const char *key)
{
	if (!map || map->kind != CNODE_MAP)
		return -1;
	for (size_t i = 0; i < map->n; i++)
		if (!strcmp(map->keys[i]->str, key))
			return (long)i;
	return -1;
}

struct cnode *cnode_map_find(const struct cnode *map, const char *key)
{
	long i = cnode_map_index(map, key);

	return i < 0 ? NULL : map->vals[i];
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259 §6 grammar; the value must also be a finite double (hjson-go falls back to a
 * string when ParseFloat fails, e.g. for 1e400). */
bool cnode_is_number(const char *s, size_t len)
{
	size_t i = 0;
	char tmp[400];

	if (i < len && s[i] == '-')
		i++;
	if (i >= len || !is_digit(s[i]))
		return false;
	if (s[i] == '0')
		i++;
	else
		while (i < len && is_digit(s[i]))
			i++;
	if (i < len && s[i] == '.') {
		if (++i >= len || !is_digit(s[i]))
			return false;
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || !is_digit(s[i]))
			return false;
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i != len || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return isfinite(strtod(tmp, NULL));
}

enum cnode_scalar_type cnode_scalar_type(const struct cnode *n)
{
	if (n->is_quoted)
		return CNODE_STR;
	if (!strcmp(n->str, "true") || !strcmp(n->str, "false"))
		return CNODE_BOOL;
	if (cnode_is_number(n->str, strlen(n->str)))
		return CNODE_NUM;
	return CNODE_STR;
}

const char *cnode_describe(const struct cnode *n)
{
	static const char *const scalar_names[] = {
	    [CNODE_STR] = "a string",
	    [CNODE_BOOL] = "a boolean",
	    [CNODE_NUM] = "a number",
	};
	static const char *const kind_names[] = {
	    [CNODE_NULL] = "null",
	    [CNODE_SEQ] = "a list",
	    [CNODE_MAP] = "a mapping",
	};

	if (n->kind == CNODE_SCALAR)
		return scalar_names[cnode_scalar_type(n)];
	return kind_names[n->kind];
}

bool cnode_number_canon(const char *s, char *buf)
{
	char tmp[40], digits[24], *p = buf;
	double x, ax;
	int prec, exp10, nd = 0;
	const char *t;

	if (!cnode_is_number(s, strlen(s)))
		return false;
	x = strtod(s, NULL);
	if (x == 0) {
		strcpy(buf, signbit(x) ? "-0" : "0");
		return true;
	}
	/* Shortest precision that reads back as the same double. */
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, x);
		if (strtod(tmp, NULL) == x)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, x);
	for (t = tmp; *t != 'e'; t++)
		if (is_digit(*t))
			digits[nd++] = *t;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	exp10 = atoi(t + 1);
	if (x < 0)
		*p++ = '-';
	ax = fabs(x);
	if (ax < 1e-6 || ax >= 1e21) {
		*p++ = digits[0];
		if (nd > 1) {
			*p++ = '.';
			memcpy(p, digits + 1, (size_t)nd - 1);
			p += nd - 1;
		}
		/* Go pads positive exponents to two digits and strips the pad of negative ones. */
		sprintf(p, exp10 < 0 ? "e-%d" : "e+%02d", abs(exp10));
		return true;
	}
	if (exp10 < 0) {
		*p++ = '0';
		*p++ = '.';
		for (int i = -1; i > exp10; i--)
			*p++ = '0';
		memcpy(p, digits, (size_t)nd);
		p += nd;
	} else {
		for (int i = 0; i < nd || i <= exp10; i++) {
			if (i == exp10 + 1)
				*p++ = '.';
			*p++ = i < nd ? digits[i] : '0';
		}
	}
	*p = '\0';
	return true;
}

bool cnode_equal(const struct cnode *a, const struct cnode *b)
{
	char ca[32], cb[32];

	if (a->kind != b->kind || a->n != b->n)
		return false;
	if (a->kind == CNODE_SCALAR) {
		enum cnode_scalar_type t = cnode_scalar_type(a);

		if (t != cnode_scalar_type(b))
			return false;
		if (t == CNODE_NUM)
			return cnode_number_canon(a->str, ca) && cnode_number_canon(b->str, cb) &&
			       !strcmp(ca, cb);
		return !strcmp(a->str, b->str);
	}
	for (size_t i = 0; i < a->n; i++) {
		if (a->kind == CNODE_MAP && strcmp(a->keys[i]->str, b->keys[i]->str))
			return false;
		if (!cnode_equal(a->vals[i], b->vals[i]))
			return false;
	}
	return true;
}

struct pair {
	struct cnode *k, *v;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *pa = a, *pb = b;

	return strcmp(pa->k->str, pb->k->str);
}

void cnode_sort(struct cnode *n)
{
	struct pair *ps;

	for (size_t i = 0; i < n->n; i++)
		cnode_sort(n->vals[i]);
	if (n->kind != CNODE_MAP || n->n < 2)
		return;
	ps = xreallocarray(NULL, n->n, sizeof(*ps));
	for (size_t i = 0; i < n->n; i++)
		ps[i] = (struct pair){n->keys[i], n->vals[i]};
	qsort(ps, n->n, sizeof(*ps), pair_cmp);
	for (size_t i = 0; i < n->n; i++) {
		n->keys[i] = ps[i].k;
		n->vals[i] = ps[i].v;
	}
	free(ps);
}

/* ---- JSON ---- */

void cnode_json_string(FILE *f, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;

	fputc('"', f);
	for (; *u; u++) {
		unsigned char c = *u;

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\r') {
			fputs("\\r", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c == '\b') {
			fputs("\\b", f);
		} else if (c == '\f') {
			fputs("\\f", f);
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			/* Go's HTMLEscape default also covers <, > and &. */
			fprintf(f, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else if (c == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9)) {
			/* U+2028 and U+2029 break JavaScript string literals; Go escapes them. */
			fprintf(f, "\\u202%c", u[2] == 0xa8 ? '8' : '9');
			u += 2;
		} else {
			fputc(c, f);
		}
	}
	fputc('"', f);
}

static void json_indent(FILE *f, int level)
{
	fputc('\n', f);
	for (int i = 0; i < level; i++)
		fputs("  ", f);
}

void cnode_emit_json(const struct cnode *n, FILE *f, int level)
{
	char num[32];
	bool is_map = n->kind == CNODE_MAP;

	if (n->kind == CNODE_NULL) {
		fputs("null", f);
		return;
	}
	if (n->kind == CNODE_SCALAR) {
		enum cnode_scalar_type t = cnode_scalar_type(n);

		if (t == CNODE_STR)
			cnode_json_string(f, n->str);
		else if (t == CNODE_NUM && cnode_number_canon(n->str, num))
			fputs(num, f);
		else
			fputs(n->str, f);
		return;
	}
	fputc(is_map ? '{' : '[', f);
	for (size_t i = 0; i < n->n; i++) {
		if (i)
			fputc(',', f);
		if (level >= 0)
			json_indent(f, level + 1);
		if (is_map) {
			cnode_json_string(f, n->keys[i]->str);
			fputs(level >= 0 ? ": " : ":", f);
		}
		cnode_emit_json(n->vals[i], f, level >= 0 ? level + 1 : -1);
	}
	if (n->n && level >= 0)
		json_indent(f, level);
	fputc(is_map ? '}' : ']', f);
}

/* ---- YAML ---- */

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Plain only for a conservative character set (ASCII letters, digits, _./:@+*=%~- and inner
 * single blanks), and never for text that a YAML 1.1 or 1.2 reader (ours or another tool)
 * would take as null, boolean or number.
 */
bool cnode_yaml_is_plain_safe(const char *s)
{
	/* clang-format off */
	static const char *const words[] = {
		"null", "Null", "NULL", "~", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No",
		"NO", "on", "On", "ON", "off", "Off", "OFF", "true", "True", "TRUE", "false",
		"False", "FALSE",
	};
	/* clang-format on */
	size_t len = strlen(s);
	bool is_numeric = true;
	struct cnode probe = {.kind = CNODE_SCALAR, .str = (char *)s};

	if (!len || !(is_alnum(s[0]) || s[0] == '_' || s[0] == '/' || s[0] == '.'))
		return false;
	if (s[len - 1] == ':')
		return false;
	for (const char *p = s; *p; p++) {
		/* Inner single blanks are fine, except where they would start a comment (" #")
		 * or end a key (": "). */
		if (*p == ' ' && p[1] && p[1] != ' ' && p[1] != '#' && p[-1] != ':')
			continue;
		if (!is_alnum(*p) && !strchr("_./:@+*=%~-", *p))
			return false;
		if (!is_digit(*p) && !strchr("_:.+-eE", *p))
			is_numeric = false;
	}
	if (is_numeric || cnode_scalar_type(&probe) != CNODE_STR)
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return false;
	return true;
}

void cnode_yaml_string(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (cnode_yaml_is_plain_safe(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *u; u++) {
		if (*u == '"' || *u == '\\') {
			fputc('\\', f);
			fputc(*u, f);
		} else if (*u == '\n') {
			fputs("\\n", f);
		} else if (*u == '\t') {
			fputs("\\t", f);
		} else if (*u < 0x20 || *u == 0x7f) {
			fprintf(f, "\\x%02x", *u);
		} else if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] < 0xa0) {
			/* C1 controls are not printable YAML; NEL, LS and PS would even be read
			 * as line breaks. */
			fprintf(f, "\\u%04X", u[1]);
			u++;
		} else if (u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9)) {
			fputs(u[2] == 0xa8 ? "\\L" : "\\P", f);
			u += 2;
		} else if (u[0] == 0xef && ((u[1] == 0xbb && u[2] == 0xbf) ||
					    (u[1] == 0xbf && (u[2] == 0xbe || u[2] == 0xbf)))) {
			/* the byte order mark, and the non-characters U+FFFE and U+FFFF */
			fprintf(f, "\\u%04X", 0xf000 | (u[1] & 0x3f) << 6 | (u[2] & 0x3f));
			u += 2;
		} else {
			fputc(*u, f);
		}
	}
	fputc('"', f);
}

enum { YAML_PLAIN_KEY_MAX = 250 }; /* longer keys are written explicitly (cnode_yaml_key) */

static void yaml_pad(FILE *f, int n)
{
	fprintf(f, "%*s", n, "");
}

void cnode_yaml_key(FILE *f, const char *key, int indent)
{
	if (strlen(key) > YAML_PLAIN_KEY_MAX) {
		/*
		 * YAML limits an implicit key to 1024 characters (1.2 §7.4.2; libyaml refuses
		 * longer ones), so a key that could reach that once quoted and escaped (4 bytes
		 * per byte at most) is written as an explicit one: "? key", then ":" below it.
		 */
		fputs("? ", f);
		cnode_yaml_string(f, key);
		fputc('\n', f);
		yaml_pad(f, indent);
	} else {
		cnode_yaml_string(f, key);
	}
	fputc(':', f);
}

static void yaml_value(const struct cnode *v, FILE *f, int indent, bool is_after_dash);

/* The entries of a non-empty collection at column indent; the first may follow a "- ". */
static void yaml_items(const struct cnode *n, FILE *f, int indent, bool is_first_inline)
{
	for (size_t i = 0; i < n->n; i++) {
		if (i || !is_first_inline)
			yaml_pad(f, indent);
		if (n->kind == CNODE_MAP) {
			cnode_yaml_key(f, n->keys[i]->str, indent);
			yaml_value(n->vals[i], f, indent, false);
		} else {
			fputc('-', f);
			yaml_value(n->vals[i], f, indent, true);
		}
	}
}

static void yaml_value(const struct cnode *v, FILE *f, int indent, bool is_after_dash)
{
	char num[32];

	if ((v->kind == CNODE_MAP || v->kind == CNODE_SEQ) && v->n) {
		fputc(is_after_dash ? ' ' : '\n', f);
		yaml_items(v, f, indent + 2, is_after_dash);
		return;
	}
	fputc(' ', f);
	if (v->kind == CNODE_MAP)
		fputs("{}", f);
	else if (v->kind == CNODE_SEQ)
		fputs("[]", f);
	else if (v->kind == CNODE_NULL)
		fputs("null", f);
	else if (cnode_scalar_type(v) == CNODE_STR)
		cnode_yaml_string(f, v->str);
	else if (cnode_scalar_type(v) == CNODE_NUM && cnode_number_canon(v->str, num))
		fputs(num, f);
	else
		fputs(v->str, f);
	fputc('\n', f);
}

void cnode_emit_yaml(const struct cnode *n, FILE *f, int indent)
{
	yaml_value(n, f, indent, false);
}
