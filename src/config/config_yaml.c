/*
 * config_yaml: the only libyaml user (STYLE.md §12). It turns libyaml's event stream into a
 * cnode tree and keeps every node's position (libyaml marks are 0-based; ours are 1-based).
 *
 * The configuration needs plain data only, so anything that makes a document harder to read
 * than its text is refused with a positioned error: anchors and aliases, tags, non-scalar
 * keys, duplicate keys, and a second document in the stream. Plain scalars "", "~", "null",
 * "Null" and "NULL" become CNODE_NULL (YAML 1.2 core schema); every other scalar keeps its
 * text and whether it was quoted, and cnode_scalar_type() decides what a plain one means.
 *
 * Invariant: every yaml_event_t obtained here is deleted on every path, and the tree built so
 * far is freed when an error stops the walk.
 */
#include <stdarg.h>
#include <string.h>
#include <yaml.h>

#include "config/cnode.h"
#include "config/config_yaml.h"
#include "lib/mem.h"

struct yp {
	yaml_parser_t parser;
	const char *buf;
	size_t len;
	bool is_failed;
	struct cnode_error *err;
};

__attribute__((format(printf, 4, 5))) static void fail_at(struct yp *yp, size_t line0, size_t col0,
							  const char *fmt, ...)
{
	va_list ap;

	if (yp->is_failed)
		return;
	yp->is_failed = true;
	yp->err->line = (unsigned)line0 + 1;
	yp->err->col = (unsigned)col0 + 1;
	va_start(ap, fmt);
	vsnprintf(yp->err->msg, sizeof(yp->err->msg), fmt, ap);
	va_end(ap);
}

/* libyaml's reader reports a byte offset only; turn it into line:col (0-based). */
static void offset_to_mark(const struct yp *yp, size_t off, size_t *line, size_t *col)
{
	*line = *col = 0;
	for (size_t i = 0; i < off && i < yp->len; i++) {
		if (yp->buf[i] == '\n') {
			(*line)++;
			*col = 0;
		} else if ((yp->buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static bool next(struct yp *yp, yaml_event_t *ev)
{
	const yaml_parser_t *p = &yp->parser;
	size_t line, col;

	if (yaml_parser_parse(&yp->parser, ev))
		return true;
	if (p->error == YAML_READER_ERROR) {
		offset_to_mark(yp, p->problem_offset, &line, &col);
		fail_at(yp, line, col, "unreadable input: %s", p->problem ? p->problem : "?");
	} else if (p->context) {
		fail_at(yp, p->problem_mark.line, p->problem_mark.column,
			"syntax error: %s (%s at %zu:%zu)",
			p->problem ? p->problem : "syntax error", p->context,
			p->context_mark.line + 1, p->context_mark.column + 1);
	} else {
		fail_at(yp, p->problem_mark.line, p->problem_mark.column, "syntax error: %s",
			p->problem ? p->problem : "unknown");
	}
	return false;
}

/* Refuses the YAML features a configuration has no use for. */
static bool plain_data(struct yp *yp, const yaml_event_t *ev)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;

	if (ev->type == YAML_ALIAS_EVENT) {
		fail_at(yp, ev->start_mark.line, ev->start_mark.column,
			"aliases (*%s) are not supported; write the value out",
			(const char *)ev->data.alias.anchor);
		return false;
	}
	if (ev->type == YAML_SCALAR_EVENT) {
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
	} else if (ev->type == YAML_MAPPING_START_EVENT) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	}
	if (anchor) {
		fail_at(yp, ev->start_mark.line, ev->start_mark.column,
			"anchors (&%s) are not supported", (const char *)anchor);
		return false;
	}
	if (tag) {
		fail_at(yp, ev->start_mark.line, ev->start_mark.column,
			"tags (%s) are not supported", (const char *)tag);
		return false;
	}
	return true;
}

static struct cnode *scalar(struct yp *yp, const yaml_event_t *ev, bool is_key)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	bool is_plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	unsigned line = (unsigned)ev->start_mark.line + 1,
		 col = (unsigned)ev->start_mark.column + 1;

	if (memchr(v, 0, len)) {
		fail_at(yp, ev->start_mark.line, ev->start_mark.column,
			"NUL character in a string");
		return NULL;
	}
	if (!is_key && is_plain &&
	    (!len || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	     !strcmp(v, "NULL")))
		return cnode_new(CNODE_NULL, line, col);
	return cnode_new_scalar(v, len, !is_plain, line, col);
}

static struct cnode *build(struct yp *yp, yaml_event_t *ev, unsigned depth);

static struct cnode *build_map(struct yp *yp, struct cnode *map, unsigned depth)
{
	yaml_event_t ev;
	struct cnode *key, *val;
	long dup;

	for (;;) {
		if (!next(yp, &ev))
			return NULL;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return map;
		}
		if (!plain_data(yp, &ev)) {
			yaml_event_delete(&ev);
			return NULL;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			fail_at(yp, ev.start_mark.line, ev.start_mark.column,
				"mapping keys must be scalars, not a %s",
				ev.type == YAML_MAPPING_START_EVENT ? "mapping" : "list");
			yaml_event_delete(&ev);
			return NULL;
		}
		key = scalar(yp, &ev, true);
		yaml_event_delete(&ev);
		if (!key)
			return NULL;
		if ((dup = cnode_map_index(map, key->str)) >= 0) {
			fail_at(yp, key->line - 1, key->col - 1,
				"duplicate key \"%s\" (first at %u:%u)", key->str,
				map->keys[dup]->line, map->keys[dup]->col);
			cnode_free(key);
			return NULL;
		}
		if (!next(yp, &ev)) {
			cnode_free(key);
			return NULL;
		}
		if (!(val = build(yp, &ev, depth + 1))) {
			cnode_free(key);
			return NULL;
		}
		cnode_map_add(map, key, val);
	}
}

static struct cnode *build_seq(struct yp *yp, struct cnode *seq, unsigned depth)
{
	yaml_event_t ev;
	struct cnode *val;

	for (;;) {
		if (!next(yp, &ev))
			return NULL;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return seq;
		}
		if (!(val = build(yp, &ev, depth + 1)))
			return NULL;
		cnode_seq_add(seq, val);
	}
}

/* Builds the node that starts with *ev (which it deletes) and everything it contains. */
static struct cnode *build(struct yp *yp, yaml_event_t *ev, unsigned depth)
{
	unsigned line = (unsigned)ev->start_mark.line + 1,
		 col = (unsigned)ev->start_mark.column + 1;
	struct cnode *n = NULL, *done = NULL;
	yaml_event_type_t type = ev->type;

	if (!plain_data(yp, ev))
		goto out;
	if (type == YAML_SCALAR_EVENT) {
		done = scalar(yp, ev, false);
		goto out;
	}
	if (depth >= CNODE_MAX_DEPTH) {
		fail_at(yp, line - 1, col - 1, "nesting deeper than %d levels", CNODE_MAX_DEPTH);
		goto out;
	}
	if (type != YAML_MAPPING_START_EVENT && type != YAML_SEQUENCE_START_EVENT) {
		fail_at(yp, line - 1, col - 1, "unexpected YAML event %d", (int)type);
		goto out;
	}
	yaml_event_delete(ev);
	n = cnode_new(type == YAML_MAPPING_START_EVENT ? CNODE_MAP : CNODE_SEQ, line, col);
	done = type == YAML_MAPPING_START_EVENT ? build_map(yp, n, depth) : build_seq(yp, n, depth);
	if (!done)
		cnode_free(n);
	return done;
out:
	yaml_event_delete(ev);
	return done;
}

struct cnode *yamlp_parse(const char *buf, size_t len, struct cnode_error *err)
{
	struct yp yp = {.buf = buf, .len = len, .err = err};
	struct cnode *root = NULL;
	yaml_event_t ev;

	memset(err, 0, sizeof(*err));
	if (!yaml_parser_initialize(&yp.parser)) {
		snprintf(err->msg, sizeof(err->msg), "cannot initialise the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&yp.parser, (const unsigned char *)buf, len);
	for (;;) {
		if (!next(&yp, &ev))
			goto fail;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT && root) {
			fail_at(&yp, ev.start_mark.line, ev.start_mark.column,
				"only one YAML document is allowed");
			yaml_event_delete(&ev);
			goto fail;
		}
		if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT ||
		    ev.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (!(root = build(&yp, &ev, 0)))
			goto fail;
	}
	yaml_parser_delete(&yp.parser);
	return root ? root : cnode_new(CNODE_MAP, 1, 1);
fail:
	cnode_free(root);
	yaml_parser_delete(&yp.parser);
	return NULL;
}
