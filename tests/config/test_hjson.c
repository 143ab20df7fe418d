/*
 * Tests for config/config_hjson (and the cnode helpers it relies on): the files the real
 * yggdrasil 0.5.12 writes, every HJSON quirk the reader copies from hjson-go (quoteless values
 * to the end of the line, literals before a terminator, optional root braces, comments,
 * '''multiline''' strings, escapes), positioned errors, the depth limit, and garbage input.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "config/cnode.h"
#include "config/config_hjson.h"
#include "support/hex.h"

static struct cnode_error err;

static struct cnode *parse(const char *s)
{
	return hjson_parse(s, strlen(s), &err);
}

static struct cnode *parse_file(const char *name)
{
	char path[512];
	size_t len;
	char *buf;
	struct cnode *n;

	snprintf(path, sizeof(path), "%s/config/%s", YGG64_TEST_DATA, name);
	buf = th_read_file(path, &len);
	cr_assert_not_null(buf, "cannot read %s", path);
	n = hjson_parse(buf, len, &err);
	free(buf);
	cr_assert_not_null(n, "%s: %u:%u: %s", name, err.line, err.col, err.msg);
	return n;
}

/* Parses "{ a: <text> }"-like input and returns the value of key "a" (tree in *root). */
static const struct cnode *value_of(const char *text, struct cnode **root)
{
	*root = parse(text);
	cr_assert_not_null(*root, "%s -> %u:%u: %s", text, err.line, err.col, err.msg);
	cr_assert_eq((*root)->kind, CNODE_MAP);
	cr_assert_not_null(cnode_map_find(*root, "a"), "no key a in %s", text);
	return cnode_map_find(*root, "a");
}

static void expect_scalar(const char *text, const char *want, enum cnode_scalar_type type)
{
	struct cnode *root;
	const struct cnode *v = value_of(text, &root);

	cr_expect_eq(v->kind, CNODE_SCALAR, "%s: kind %d", text, v->kind);
	if (v->kind == CNODE_SCALAR) {
		cr_expect_str_eq(v->str, want, "%s", text);
		cr_expect_eq(cnode_scalar_type(v), type, "%s: type %d", text, cnode_scalar_type(v));
	}
	cnode_free(root);
}

static void expect_error(const char *text, unsigned line, unsigned col, const char *part)
{
	struct cnode *n = parse(text);

	cr_expect_null(n, "accepted: %s", text);
	cnode_free(n);
	cr_expect_eq(err.line, line, "%s: line %u, want %u (%s)", text, err.line, line, err.msg);
	cr_expect_eq(err.col, col, "%s: col %u, want %u (%s)", text, err.col, col, err.msg);
	cr_expect(strstr(err.msg, part), "%s: message \"%s\" lacks \"%s\"", text, err.msg, part);
}

Test(hjson, genconf_sample)
{
	struct cnode *n = parse_file("genconf-sample.hjson");
	const struct cnode *m, *v;

	cr_assert_eq(n->kind, CNODE_MAP);
	cr_expect_eq(n->n, 10);
	cr_expect_str_eq(n->keys[0]->str, "PrivateKey");
	cr_expect_eq(n->keys[0]->line, 3);
	cr_expect_eq(n->keys[0]->col, 3);
	v = cnode_map_find(n, "PrivateKey");
	cr_expect_eq(strlen(v->str), 128);
	cr_expect_eq(v->col, 15);
	cr_expect_eq(cnode_map_find(n, "Peers")->kind, CNODE_SEQ);
	cr_expect_eq(cnode_map_find(n, "InterfacePeers")->kind, CNODE_MAP);
	m = cnode_map_find(n, "MulticastInterfaces")->vals[0];
	cr_expect_str_eq(cnode_map_find(m, "Regex")->str, ".*");
	cr_expect_eq(cnode_scalar_type(cnode_map_find(m, "Beacon")), CNODE_BOOL);
	cr_expect_str_eq(cnode_map_find(m, "Password")->str, "");
	cr_expect(cnode_map_find(m, "Password")->is_quoted);
	cr_expect_eq(cnode_scalar_type(cnode_map_find(n, "IfMTU")), CNODE_NUM);
	cr_expect_eq(cnode_map_find(n, "NodeInfo")->kind, CNODE_MAP);
	cnode_free(n);
}

Test(hjson, json_is_a_subset)
{
	struct cnode *j = parse_file("genconf-sample.json");

	cr_expect_eq(j->n, 10);
	cr_expect_eq(cnode_map_find(j, "NodeInfo")->kind, CNODE_NULL);
	cnode_free(j);
}

/* yggdrasil's HJSON and JSON forms of one normalised config are the same tree. */
Test(hjson, hjson_and_json_agree)
{
	struct cnode *h = parse_file("A-normalised.hjson"), *j = parse_file("A-normalised.json");

	cr_expect(cnode_equal(h, j));
	cnode_free(h);
	cnode_free(j);
}

Test(hjson, sample_a_conf)
{
	struct cnode *n = parse_file("sample-A.conf");
	const struct cnode *m = cnode_map_find(n, "MulticastInterfaces")->vals[0];

	cr_expect_str_eq(cnode_map_find(n, "IfName")->str, "ygtunA");
	cr_expect_str_eq(cnode_map_find(m, "Password")->str, "secret");
	cr_expect_str_eq(cnode_map_find(cnode_map_find(n, "NodeInfo"), "name")->str, "node-A");
	cnode_free(n);
}

Test(hjson, quoteless_runs_to_end_of_line)
{
	expect_scalar("a: hello world   \n", "hello world", CNODE_STR);
	expect_scalar("a: foo # not a comment\n", "foo # not a comment", CNODE_STR);
	expect_scalar("a: foo, bar\n", "foo, bar", CNODE_STR);
	expect_scalar("a: tcp://[::1]:1234\n", "tcp://[::1]:1234", CNODE_STR);
	expect_scalar("a: x\r\n", "x", CNODE_STR);
	expect_scalar("a:\n  b: 1\n", "b: 1", CNODE_STR); /* the value may start on the next line */
	/* The brace is swallowed, so the object never closes (sessions-core-admin §7.1). */
	expect_error("{a: ygg0}\n", 2, 1, "missing '}'");
}

Test(hjson, literals_before_terminators)
{
	expect_scalar("a: 1500 # comment\n", "1500", CNODE_NUM);
	expect_scalar("a: 1500 // comment\n", "1500", CNODE_NUM);
	expect_scalar("a: 1500 /* c */\n", "1500", CNODE_NUM);
	expect_scalar("{a: 12, b: 3}", "12", CNODE_NUM);
	expect_scalar("{a: true}", "true", CNODE_BOOL);
	expect_scalar("a: -0.5e3\n", "-0.5e3", CNODE_NUM);
	expect_scalar("a: true story\n", "true story", CNODE_STR);
	expect_scalar("a: 01500\n", "01500", CNODE_STR);
	expect_scalar("a: 5.\n", "5.", CNODE_STR);
	expect_scalar("a: .5\n", ".5", CNODE_STR);
	expect_scalar("a: +5\n", "+5", CNODE_STR);
	expect_scalar("a: 1e400\n", "1e400", CNODE_STR); /* not a finite double */
	expect_scalar("a: 123abc\n", "123abc", CNODE_STR);
	expect_scalar("a: nullx\n", "nullx", CNODE_STR);
	expect_scalar("a: \"true\"\n", "true", CNODE_STR);
	expect_scalar("a: \"12\"\n", "12", CNODE_STR);
}

Test(hjson, null_literal)
{
	struct cnode *root;

	cr_expect_eq(value_of("a: null\n", &root)->kind, CNODE_NULL);
	cnode_free(root);
	cr_expect_eq(value_of("{a: null}", &root)->kind, CNODE_NULL);
	cnode_free(root);
	cr_expect_eq(value_of("a: 'null'\n", &root)->kind, CNODE_SCALAR);
	cnode_free(root);
}

Test(hjson, comments_everywhere)
{
	struct cnode *n = parse("# head\n// more\n/* block\n comment */ {\n"
				"  a: [ 1, /* x */ 2 # y\n 3 // z\n ]\n"
				"  /* before key */ b: \"x\" # after\n}\n# tail\n");

	cr_assert_not_null(n, "%u:%u: %s", err.line, err.col, err.msg);
	cr_expect_eq(cnode_map_find(n, "a")->n, 3);
	cr_expect_str_eq(cnode_map_find(n, "b")->str, "x");
	cnode_free(n);
	expect_error("{ a: 1 /* open\n", 1, 8, "unterminated /* comment");
}

Test(hjson, root_braces_optional)
{
	struct cnode *n = parse("a: 1\nb: [ \"x\"\n 5 ]\n");

	cr_assert_not_null(n, "%u:%u: %s", err.line, err.col, err.msg);
	cr_expect_eq(n->kind, CNODE_MAP);
	cr_expect_eq(n->n, 2);
	cr_expect_str_eq(cnode_map_find(n, "b")->vals[1]->str, "5");
	cnode_free(n);
	/* A quoteless element swallows the rest of its line, closing bracket included. */
	expect_error("a: 1\nb: [ x\n y ]\n", 4, 1, "missing ']' for the list opened at 2:4");
	cr_assert_not_null(n = parse("a: 1\nb: [\n x\n y\n]\n"));
	cr_expect_eq(cnode_map_find(n, "b")->n, 2);
	cnode_free(n);
	cr_assert_not_null(n = parse("  # only a comment\n"));
	cr_expect_eq(n->kind, CNODE_MAP);
	cr_expect_eq(n->n, 0);
	cnode_free(n);
	cr_assert_not_null(n = parse("[1, 2]"));
	cr_expect_eq(n->kind, CNODE_SEQ);
	cnode_free(n);
}

Test(hjson, separators)
{
	struct cnode *n = parse("{\n a: 1,\n b: 2\n c: 3,\n}");

	cr_assert_not_null(n, "%s", err.msg);
	cr_expect_eq(n->n, 3);
	cnode_free(n);
	cr_assert_not_null(n = parse("{\"a\": 1, \"b\": [1, 2,], \"c\": {}}"));
	cr_expect_eq(n->n, 3);
	cr_expect_eq(cnode_map_find(n, "b")->n, 2);
	cnode_free(n);
	/* Stricter than hjson-go: two members on one line need a comma. */
	expect_error("{\"a\": \"x\" \"b\": \"y\"}", 1, 11, "expected ',' or a new line");
	expect_error("{a: [1,,2]}", 1, 8, "expected a value");
}

Test(hjson, keys)
{
	struct cnode *n = parse("{\"a b\": 1, 'c': 2, d-e.f: 3, \"\": 4}");

	cr_assert_not_null(n, "%s", err.msg);
	cr_expect_not_null(cnode_map_find(n, "a b"));
	cr_expect_not_null(cnode_map_find(n, "c"));
	cr_expect_not_null(cnode_map_find(n, "d-e.f"));
	cr_expect_not_null(cnode_map_find(n, ""));
	cr_expect_eq(n->keys[2]->line, 1);
	cr_expect_eq(n->keys[2]->col, 20);
	cnode_free(n);
	expect_error("{a b: 1}", 1, 4, "expected ':' after the key \"a\", found 'b'");
	expect_error("{: 1}", 1, 2, "empty key name");
	expect_error("{a[b: 1}", 1, 3, "in a key name");
	expect_error("{a: 1\n a: 2}", 2, 2, "duplicate key \"a\" (first at 1:2)");
}

Test(hjson, multiline_strings)
{
	expect_scalar("a: '''\n   line1\n     line2\n   '''\n", "line1\n  line2", CNODE_STR);
	expect_scalar("  a:\n    '''\n    x\n      y\n    '''\n", "x\n  y", CNODE_STR);
	expect_scalar("a: '''one line'''\n", "one line", CNODE_STR);
	expect_scalar("a: '''\r\n  crlf\r\n  '''\n", "crlf", CNODE_STR);
	expect_scalar("a: '''\n  it's ''quoted''\n  '''\n", "it's ''quoted''", CNODE_STR);
	expect_scalar("a: '''\n\n  gap\n\n  '''\n", "\ngap\n", CNODE_STR);
	expect_error("a: '''\n never closed\n", 1, 4, "unterminated ''' string");
}

Test(hjson, escapes)
{
	expect_scalar("a: \"q\\\" b\\\\ s\\/ n\\n t\\t r\\r b\\b f\\f\"\n",
		      "q\" b\\ s/ n\n t\t r\r b\b f\f", CNODE_STR);
	expect_scalar("a: \"\\u00e9\\u20ac\"\n", "\xc3\xa9\xe2\x82\xac", CNODE_STR);
	expect_scalar("a: \"\\ud83d\\ude00\"\n", "\xf0\x9f\x98\x80", CNODE_STR);
	expect_scalar("a: 'it\\'s \"fine\"'\n", "it's \"fine\"", CNODE_STR);
	expect_scalar("a: ''\n", "", CNODE_STR);
	expect_scalar("a: \"ü raw\"\n", "ü raw", CNODE_STR);
	expect_error("a: \"\\x\"\n", 1, 5, "invalid escape sequence \\x");
	expect_error("a: \"\\u12\"\n", 1, 9, "four hexadecimal digits");
	expect_error("a: \"\\ud83d\"\n", 1, 5, "unpaired UTF-16 surrogate \\ud83d");
	expect_error("a: \"\\ud83d\\u0041\"\n", 1, 5, "unpaired UTF-16 surrogate");
	expect_error("a: \"\\ude00\"\n", 1, 5, "unpaired UTF-16 surrogate \\ude00");
	expect_error("a: \"\\u0000\"\n", 1, 5, "\\u0000 is not allowed");
	expect_error("a: \"open\n\"", 1, 4, "unterminated string");
}

Test(hjson, positions_count_characters)
{
	struct cnode *root;
	const struct cnode *v = value_of("{\n  é: 1, a: [ \"ü\", 5 ]\n}", &root);

	cr_expect_eq(v->line, 2);
	cr_expect_eq(v->col, 12);
	cr_expect_eq(v->vals[1]->col, 19);
	cnode_free(root);
}

Test(hjson, errors_are_positioned)
{
	expect_error("{\n  a: 1\n", 3, 1, "missing '}' for the object opened at 1:1");
	expect_error("[1, 2", 1, 6, "missing ']' for the list opened at 1:1");
	expect_error("{a: 1} x", 1, 8, "unexpected 'x' after the end");
	expect_error("{a: 1\n}\n}", 3, 1, "unexpected '}'");
	expect_error("a: 1\n}\n", 2, 1, "expected a key, found '}'");
	expect_error("{a: }", 1, 5, "expected a value, found '}'");
	expect_error("{a 1}", 1, 4, "expected ':'");
	expect_error("a: x\n\xff\n", 2, 1, "invalid UTF-8 (byte 0xff)");
	expect_error("a: \xc0\x80\n", 1, 4, "invalid UTF-8");
	expect_error("a: \xed\xa0\x80\n", 1, 4, "invalid UTF-8"); /* an encoded surrogate */
	expect_error("\xff\xfe{\0}\0", 1, 1, "UTF-16");
}

Test(hjson, nul_and_bom)
{
	struct cnode *n;
	const char nul[] = "a: x\0y\n";

	n = hjson_parse(nul, sizeof(nul) - 1, &err);
	cr_expect_null(n);
	cr_expect_str_eq(err.msg, "NUL byte in the input");
	cr_expect_eq(err.col, 5);
	n = parse("\xef\xbb\xbf{a: 1}");
	cr_assert_not_null(n, "%s", err.msg);
	cr_expect_eq(n->col, 1);
	cnode_free(n);
}

Test(hjson, depth_limit)
{
	char buf[2 * CNODE_MAX_DEPTH + 8];
	size_t big = 100000;
	char *deep = malloc(big + 1);
	struct cnode *n;

	memset(buf, '[', CNODE_MAX_DEPTH);
	memset(buf + CNODE_MAX_DEPTH, ']', CNODE_MAX_DEPTH);
	n = hjson_parse(buf, 2 * CNODE_MAX_DEPTH, &err);
	cr_expect_not_null(n, "%s", err.msg);
	cnode_free(n);
	memset(buf, '[', CNODE_MAX_DEPTH + 1);
	n = hjson_parse(buf, CNODE_MAX_DEPTH + 1, &err);
	cr_expect_null(n);
	cr_expect(strstr(err.msg, "nesting deeper than 64 levels"), "%s", err.msg);
	cr_expect_eq(err.col, CNODE_MAX_DEPTH + 1);
	memset(deep, '{', big);
	deep[big] = 0;
	cr_expect_null(hjson_parse(deep, big, &err));
	free(deep);
}

/* Random and mutated inputs must never crash or leak (run under ASan). */
Test(hjson, garbage_does_not_crash)
{
	static const char alphabet[] = "{}[],:\"'\\/#*\n \tabtrue0-1e.u\xc3\xa9\xff";
	static const char *const seeds[] = {
	    "{a: [1, {b: '''x'''}], c: \"\\u00e9\"} // c",
	    "a: b\n/* c */ d: [true, null, -1.5e3]\n",
	};
	char buf[64];
	unsigned seed = 12345;

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf));
		struct cnode *n;

		if (round % 2) {
			for (size_t i = 0; i < len; i++)
				buf[i] = alphabet[rand_r(&seed) % (int)(sizeof(alphabet) - 1)];
		} else {
			const char *s = seeds[round % 4 / 2];

			len = strlen(s);
			memcpy(buf, s, len);
			buf[rand_r(&seed) % (int)len] = alphabet[rand_r(&seed) % 30];
		}
		n = hjson_parse(buf, len, &err);
		if (!n)
			cr_assert(err.line >= 1 && err.msg[0], "error without a position");
		cnode_free(n);
	}
}

Test(cnode, number_canon_like_go)
{
	static const char *const cases[][2] = {
	    {"0", "0"},
	    {"-0", "-0"},
	    {"-0.0", "-0"},
	    {"1.0", "1"},
	    {"1E+2", "100"},
	    {"2.5", "2.5"},
	    {"0.1", "0.1"},
	    {"100000000", "100000000"},
	    {"1e20", "100000000000000000000"},
	    {"1e21", "1e+21"},
	    {"0.000001", "0.000001"},
	    {"1e-7", "1e-7"},
	    {"123e-20", "1.23e-18"},
	    {"12345678901234567890123", "1.2345678901234568e+22"},
	    {"123456789012345678", "123456789012345680"},
	    {"1.7976931348623157e308", "1.7976931348623157e+308"},
	    {"5e-324", "5e-324"},
	    {"1.5e300", "1.5e+300"},
	    {"-12.75", "-12.75"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect(cnode_number_canon(cases[i][0], buf), "%s", cases[i][0]);
		cr_expect_str_eq(buf, cases[i][1], "%s", cases[i][0]);
	}
	cr_expect_not(cnode_number_canon("1e400", buf));
	cr_expect_not(cnode_number_canon("0x10", buf));
}

Test(cnode, json_escapes_like_go)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	cnode_json_string(f, "a<b>&\"\\\n\r\t\b\f\x01\x7f\xe2\x80\xa8\xe2\x80\xa9\xc3\xa9");
	fclose(f);
	cr_expect_str_eq(out, "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\r\\t\\b\\f\\u0001\x7f"
			      "\\u2028\\u2029\xc3\xa9\"");
	free(out);
}

Test(cnode, copy_sort_equal)
{
	struct cnode *n = parse("{b: [1, {y: 2, x: 1}], a: \"s\", c: null}"), *c;

	cr_assert_not_null(n);
	c = cnode_copy(n);
	cr_expect(cnode_equal(n, c));
	cnode_sort(c);
	cr_expect_str_eq(c->keys[0]->str, "a");
	cr_expect_str_eq(c->keys[2]->str, "c");
	cr_expect_str_eq(cnode_map_find(c, "b")->vals[1]->keys[0]->str, "x");
	cr_expect_not(cnode_equal(n, c)); /* order matters */
	cnode_free(n);
	cnode_free(c);
}
