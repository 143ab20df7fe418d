/*
 * admin_json: the parts of Go's encoding/json and encoding/hex that the admin socket must
 * reproduce to answer byte for byte as yggdrasil 0.5.12 does (spec sessions-core-admin §6.2,
 * §6.3), private to src/admin/. Pure text functions: no jansson, no I/O.
 *
 * Ownership: a struct admin_json_buf owns its heap text (free(b->s)); every other pointer
 * argument is borrowed for the call.
 */
#ifndef YGG64_ADMIN_ADMIN_JSON_H
#define YGG64_ADMIN_ADMIN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing text buffer; zero-initialise it. s is NUL-terminated once anything was added. */
struct admin_json_buf {
	char *s;
	size_t len, cap;
};

void admin_json_put(struct admin_json_buf *b, const char *s, size_t n);

/*
 * Appends s[0..n), serialised JSON, with the escapes Go's encoder adds (HTML-safe output):
 * <, > and & as \u003c, \u003e, \u0026, and U+2028/U+2029. Those bytes occur only inside
 * strings in serialised JSON, so no parsing is needed.
 */
void admin_json_escape(struct admin_json_buf *b, const char *s, size_t n);

/*
 * Appends raw[0..n) as Go writes a json.RawMessage through Encoder.SetIndent("", "  ") when the
 * value starts on a line indented by `depth` levels: validated, whitespace dropped, tokens copied
 * verbatim (numbers and escapes keep their spelling), HTML-escaped, re-indented, empty objects
 * and arrays as {} and []. n == 0 is a nil RawMessage: "null". On invalid JSON returns false
 * with Go's error text in err (e.g. "invalid character 'x' looking for beginning of value");
 * b may then hold a partial value.
 */
bool admin_json_indent(struct admin_json_buf *b, const uint8_t *raw, size_t n, unsigned depth,
		       char *err, size_t errlen);

/*
 * Go's hex.DecodeString: s decoded into *out (heap, n/2 bytes or more; free() it) and *n, or
 * false with Go's error text in err ("encoding/hex: invalid byte: U+007A 'z'",
 * "encoding/hex: odd length hex string"), checked in Go's order.
 */
bool admin_json_unhex(const char *s, uint8_t **out, size_t *n, char *err, size_t errlen);

#endif
