/*
 * test_admin_json: Go's encoding/json and encoding/hex behaviour as src/admin/admin_json.c
 * reproduces it: the json.RawMessage re-indenter (compared with what yggdrasil 0.5.12 printed
 * for a raw value, tests/data/admin/admin-raw-queries.txt, and with the scanner's error texts)
 * and hex.DecodeString's errors (checked against the real daemon's getNodeInfo). No loop.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_json.h"
#include "support/capture.h"

/* admin_json_indent of s at depth: the text, or the error prefixed with "ERR ". */
static char *indent(const char *s, size_t n, unsigned depth)
{
	struct admin_json_buf b = {0};
	char err[256];

	if (!admin_json_indent(&b, (const uint8_t *)s, n ? n : strlen(s), depth, err,
			       sizeof(err))) {
		free(b.s);
		return strdup(err);
	}
	return b.s;
}

static void expect_indent(const char *in, const char *want)
{
	char *got = indent(in, 0, 0);

	cr_expect_str_eq(got, want, "input %s", in);
	free(got);
}

Test(admin_json, indents_like_go_encoder)
{
	static const struct {
		const char *in, *want;
	} v[] = {
		{"{}", "{}"},
		{" [ ] ", "[]"},
		{"{\"a\":1}", "{\n  \"a\": 1\n}"},
		{"{\"a\" : [ 1 ,{ } , [\t]],\"b\":{\"c\":null}}",
		 "{\n  \"a\": [\n    1,\n    {},\n    []\n  ],\n"
		 "  \"b\": {\n    \"c\": null\n  }\n}"},
		{"-0.50e+007", "-0.50e+007"},
		{"\"<a&b>\"", "\"\\u003ca\\u0026b\\u003e\""},
		{"\"\\u003c\\n\\/\"", "\"\\u003c\\n\\/\""},
		{"\"\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaa\"", "\"\\u2028\\u2029\xe2\x80\xaa\""},
		{"[true,false,null]", "[\n  true,\n  false,\n  null\n]"},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		expect_indent(v[i].in, v[i].want);
	/* A nil RawMessage is null; the base depth indents every line after the first. */
	{
		char *got = indent("", 0, 0), *deep = indent("{\"k\":[1]}", 0, 2);

		cr_expect_str_eq(got, "null");
		cr_expect_str_eq(deep, "{\n      \"k\": [\n        1\n      ]\n    }");
		free(got);
		free(deep);
	}
}

/* 0.5.12 echoes "arguments" as a json.RawMessage: the same path as a remote's NodeInfo. */
Test(admin_json, matches_the_real_daemon_on_a_raw_value)
{
	static const char raw[] =
		"{\"a\":[],\"b\":{ },\"c\":[1, 2.50, -0, 1e400, 12345678901234567890123,1E-7],"
		"\"d\":\"<&>\\u00e9 \xc3\xa9\xe2\x80\xa8 \\/ \\\"\",\"e\":{\"f\":[{}, [ ]]},"
		"\"g\":null,\"h\":true}";
	char *all = cap_load("admin-raw-queries.txt");
	char *sec = cap_section(all, "raw JSON re-indented (the arguments echo)");
	char *from = strstr(sec, "\"arguments\": "), *to = strstr(sec, "\n  },\n  \"response\"");
	char *got = indent(raw, 0, 2);

	cr_assert(from && to);
	from += strlen("\"arguments\": ");
	*to = '\0';
	cr_expect_str_eq(got, from);
	free(got);
	free(sec);
	free(all);
}

Test(admin_json, syntax_errors_are_go_scanner_texts)
{
	static const struct {
		const char *in, *err;
	} v[] = {
		{"x", "invalid character 'x' looking for beginning of value"},
		{"{\"a\" 1}", "invalid character '1' after object key"},
		{"{\"a\":1 2}", "invalid character '2' after object key:value pair"},
		{"[1 2]", "invalid character '2' after array element"},
		{"{1:2}", "invalid character '1' looking for beginning of object key string"},
		{"{\"a\":1,}", "invalid character '}' looking for beginning of object key string"},
		{"[1,]", "invalid character ']' looking for beginning of value"},
		{"\"a\x01\"", "invalid character '\\x01' in string literal"},
		{"\"a\n\"", "invalid character '\\n' in string literal"},
		{"\"\\x\"", "invalid character 'x' in string escape code"},
		{"\"\\u12g4\"", "invalid character 'g' in \\u hexadecimal character escape"},
		{"-x", "invalid character 'x' in numeric literal"},
		{"1.x", "invalid character 'x' after decimal point in numeric literal"},
		{"1ex", "invalid character 'x' in exponent of numeric literal"},
		{"trux", "invalid character 'x' in literal true (expecting 'e')"},
		{"nul1", "invalid character '1' in literal null (expecting 'l')"},
		{"fx", "invalid character 'x' in literal false (expecting 'a')"},
		{"1 2", "invalid character '2' after top-level value"},
		{"01", "invalid character '1' after top-level value"},
		{"'", "invalid character '\\'' looking for beginning of value"},
		{"\\", "invalid character '\\\\' looking for beginning of value"},
		{"\"", "unexpected end of JSON input"},
		{"\xe9", "invalid character '\xc3\xa9' looking for beginning of value"},
		{"\x80", "invalid character '\\u0080' looking for beginning of value"},
		/* The end of input: Go's scanner feeds one more space. */
		{"  ", "unexpected end of JSON input"},
		{"{\"a\":[1", "unexpected end of JSON input"},
		{"{\"a\"", "unexpected end of JSON input"},
		{"\"abc", "unexpected end of JSON input"},
		{"-", "invalid character ' ' in numeric literal"},
		{"1.", "invalid character ' ' after decimal point in numeric literal"},
		{"1e+", "invalid character ' ' in exponent of numeric literal"},
		{"tru", "invalid character ' ' in literal true (expecting 'e')"},
		{"\"\\", "invalid character ' ' in string escape code"},
		{"\"\\u12", "invalid character ' ' in \\u hexadecimal character escape"},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		expect_indent(v[i].in, v[i].err);
	{
		char *got = indent("\"a\0b\"", 5, 0);

		cr_expect_str_eq(got, "invalid character '\\x00' in string literal");
		free(got);
	}
}

Test(admin_json, nesting_stops_at_go_max_depth)
{
	size_t n = 10001;
	char *s = malloc(2 * n + 1), *got;

	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = '\0';
	got = indent(s, 0, 0);
	cr_expect_str_eq(got, "invalid character '[' exceeded max depth");
	free(got);
	got = indent(s + 1, 2 * n - 2, 0); /* 10000 levels are fine */
	cr_expect_eq(strncmp(got, "[\n  [\n    [", 11), 0, "%.20s", got);
	free(got);
	free(s);
}

Test(admin_json, escape_keeps_other_bytes)
{
	struct admin_json_buf b = {0};

	admin_json_escape(&b, "a<b>&\xe2\x80\xa9\xe2\x80", 10);
	cr_expect_str_eq(b.s, "a\\u003cb\\u003e\\u0026\\u2029\xe2\x80");
	free(b.s);
}

Test(admin_json, unhex_like_go)
{
	static const struct {
		const char *in, *err; /* err NULL: decodes */
	} v[] = {
		{"", NULL},
		{"00ff", NULL},
		{"ABab", NULL},
		{"abc", "encoding/hex: odd length hex string"},
		{"a", "encoding/hex: odd length hex string"},
		{"abz", "encoding/hex: invalid byte: U+007A 'z'"},
		{"zb", "encoding/hex: invalid byte: U+007A 'z'"},
		{"ag", "encoding/hex: invalid byte: U+0067 'g'"},
		{"zzz", "encoding/hex: invalid byte: U+007A 'z'"},
		{"\xc3\xa9", "encoding/hex: invalid byte: U+00C3 '\xc3\x83'"},
		{"a\x01", "encoding/hex: invalid byte: U+0001"},
		{"a\x7f", "encoding/hex: invalid byte: U+007F"},
		{"'0", "encoding/hex: invalid byte: U+0027 '''"},
		{"a\xad", "encoding/hex: invalid byte: U+00AD"},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t *out = NULL;
		size_t n = 99;
		char err[128] = "";
		bool is_ok = admin_json_unhex(v[i].in, &out, &n, err, sizeof(err));

		if (!v[i].err) {
			cr_expect(is_ok, "%s: %s", v[i].in, err);
			cr_expect_eq(n, strlen(v[i].in) / 2);
		} else {
			cr_expect_not(is_ok, "%s", v[i].in);
			cr_expect_str_eq(err, v[i].err, "%s", v[i].in);
		}
		free(out);
	}
	{
		uint8_t *out;
		size_t n;
		char err[64];

		cr_assert(admin_json_unhex("00fFa1", &out, &n, err, sizeof(err)));
		cr_expect_eq(n, 3);
		cr_expect(out[0] == 0x00 && out[1] == 0xff && out[2] == 0xa1);
		free(out);
	}
}
