/*
 * admin: the admin socket's transport (see admin.h; spec sessions-core-admin §6.1, §6.2).
 *
 * Owns the listening handle, one struct conn per client and the unix socket file it created.
 * Requests are turned into replies by admin_cmds.c; this file only finds where each JSON value
 * of the client's byte stream ends, queues the replies and closes connections.
 *
 * Framing: a small scanner walks the unconsumed input once, tracking string/escape state and
 * bracket depth, so a value split across reads costs nothing extra and several values in one
 * read are answered in order. Value boundaries follow Go's json.Decoder (what yggdrasil reads
 * requests with): objects and arrays end at their closing bracket, top-level numbers at the
 * first byte that cannot continue them, strings and literals once one more byte or EOF
 * follows. A byte no value can start with, or a broken literal or number, is answered at
 * once with "Failed to find request"; a malformed object or array gets the same answer when
 * its brackets balance (Go answers at the first bad byte) or at EOF.
 *
 * Invariants:
 *  - buf[off..len) is input not yet answered; the scanner's positions lie in it;
 *  - at most ADMIN_MAX_INPUT unanswered bytes per connection: past that the client gets
 *    "Request too large" and is closed;
 *  - replies queued past ADMIN_OUT_HIGH pause both reading and answering until the queue
 *    drains below ADMIN_OUT_LOW (bgpd's CTL_MSG_HIGH/LOW_MARK);
 *  - after a reply without keepalive (or to bad input) nothing more is read; the connection
 *    closes once its writes complete; on EOF a client that is owed a reply gets
 *    "Failed to find request" first (what yggdrasil writes when its decoder hits EOF);
 *  - at most one request per connection waits for a remote query (conn->pending); while it
 *    waits nothing more is answered, but reading goes on (up to ADMIN_MAX_INPUT) so that a
 *    client that hangs up is noticed and its query cancelled;
 *  - a conn owns two handles (stream, timer) and is freed in the last close callback;
 *    admin_close's done runs when the last handle of the admin has closed.
 *
 * Timers: one per connection, armed only around a remote query: the query timeout (6 s,
 * yggdrasil's; admin_set_query_timeout), then a 0 ms restart after the answer so that further
 * requests are processed from the loop rather than from inside the core's callback.
 */
#include "admin/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "admin/admin_cmds.h"
#include "config/config.h"
#include "lib/list.h"
#include "lib/log.h"
#include "lib/mem.h"

enum {
	ADMIN_MAX_INPUT = 1 << 20,    /* unanswered request bytes per connection */
	ADMIN_READ_CHUNK = 64 * 1024, /* free space offered to each read */
	ADMIN_OUT_HIGH = 1 << 20,     /* queued reply bytes that pause a connection */
	ADMIN_OUT_LOW = 256 * 1024,   /* ... and resume it */
	ADMIN_MAX_CONNS = 64,
	ADMIN_BACKLOG = 128,
};

enum admin_kind {
	ADMIN_OFF,
	ADMIN_UNIX,
	ADMIN_TCP,
};

/*
 * Where the scanner is in the current value. Top-level scalars follow Go's json.Decoder: a
 * number ends at the first byte that cannot continue it; a string or literal is complete only
 * once one more byte (of any kind) or EOF follows it.
 */
enum scan_state {
	SCAN_IDLE,	/* between values: skipping whitespace */
	SCAN_CONTAINER, /* inside an object or array */
	SCAN_STRING,	/* a top-level string */
	SCAN_LITERAL,	/* true, false or null, matched byte by byte */
	SCAN_PENDING,	/* a string or literal ended at end; waiting for one more byte */
	/* A top-level number (RFC 8259 §6): the states say what may come next. */
	SCAN_NUM_MINUS, /* after '-': a digit */
	SCAN_NUM_ZERO,	/* a leading 0: '.', 'e' or the end */
	SCAN_NUM_INT,	/* integer digits */
	SCAN_NUM_DOT,	/* after '.': a digit */
	SCAN_NUM_FRAC,	/* fraction digits */
	SCAN_NUM_E,	/* after 'e': a sign or a digit */
	SCAN_NUM_ESIGN, /* after the exponent sign: a digit */
	SCAN_NUM_EXP,	/* exponent digits */
};

union stream {
	uv_handle_t handle;
	uv_stream_t stream;
	uv_pipe_t pipe;
	uv_tcp_t tcp;
};

struct conn {
	union stream h;
	uv_timer_t timer; /* query timeout, then the restart after the answer */
	struct admin *a;
	struct list_node node;
	char *buf;
	size_t len, cap, off;
	/* Scanner: state of the value starting at start; pos is the next byte to look at. */
	enum scan_state state;
	size_t start, pos, end; /* end: where a SCAN_PENDING value stopped */
	size_t depth;
	const char *literal; /* SCAN_LITERAL: the word; pos - start bytes of it are matched */
	bool in_string, is_escaped;
	size_t out_queued; /* reply bytes handed to uv_write and not yet completed */
	unsigned n_writes;
	unsigned n_handles;		/* open handles of this conn */
	struct admin_pending *pending; /* a request waiting for the core */
	bool is_reading, is_paused, is_eof, is_done, is_closing;
};

struct reply_req {
	uv_write_t req;
	struct conn *c;
	struct admin_reply r;
};

struct admin {
	uv_loop_t *loop;
	struct core *core;
	struct tun *tun;
	const struct nat64 *nat64; /* admin_set_nat64; NULL: none */
	uint64_t query_timeout_ms;
	enum admin_kind kind;
	char *addr; /* unix: path ("@name": abstract); tcp: host:port */
	union stream srv;
	bool has_srv;	/* srv was initialised and must be closed */
	bool owns_path; /* we created the socket file: unlink it on close */
	struct list_node conns;
	unsigned n_conns;
	unsigned open_handles;
	bool is_closing;
	admin_closed_cb *done;
	void *done_arg;
};

static void conn_process(struct conn *c);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* ---- closing ---- */

static void maybe_done(struct admin *a)
{
	admin_closed_cb *done = a->done;

	if (!a->is_closing || a->open_handles || !done)
		return;
	a->done = NULL;
	done(a->done_arg);
}

static void conn_handle_closed(struct conn *c)
{
	struct admin *a = c->a;

	a->open_handles--;
	if (--c->n_handles == 0) {
		free(c->buf);
		free(c);
	}
	maybe_done(a);
}

static void on_conn_closed(uv_handle_t *h)
{
	conn_handle_closed(container_of(h, struct conn, h.handle));
}

static void on_timer_closed(uv_handle_t *h)
{
	conn_handle_closed(container_of(h, struct conn, timer));
}

/*
 * Pending writes are cancelled (their callbacks run first), so is a pending query; the conn is
 * freed once both handles have closed.
 */
static void conn_close(struct conn *c)
{
	if (c->is_closing)
		return;
	c->is_closing = true;
	if (c->pending) {
		admin_cmds_cancel(c->pending);
		c->pending = NULL;
	}
	list_del(&c->node);
	c->a->n_conns--;
	uv_close(&c->h.handle, on_conn_closed);
	if (c->n_handles == 2)
		uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

/* ---- output ---- */

static void on_written(uv_write_t *req, int status)
{
	struct reply_req *w = container_of(req, struct reply_req, req);
	struct conn *c = w->c;

	c->out_queued -= w->r.len;
	c->n_writes--;
	free(w->r.text);
	free(w);
	if (c->is_closing)
		return;
	if (status < 0) {
		log_debug("admin: write to client failed: %s", uv_strerror(status));
		conn_close(c);
		return;
	}
	if (c->is_paused && c->out_queued <= ADMIN_OUT_LOW)
		c->is_paused = false;
	conn_process(c);
}

/* Queues r (its text is consumed). Past the high mark the connection pauses. */
static void conn_send(struct conn *c, struct admin_reply *r)
{
	struct reply_req *w = xcalloc(1, sizeof(*w));
	uv_buf_t b = uv_buf_init(r->text, (unsigned)r->len);
	int e;

	w->c = c;
	w->r = *r;
	r->text = NULL;
	e = uv_write(&w->req, &c->h.stream, &b, 1, on_written);
	if (e < 0) {
		log_debug("admin: cannot write to client: %s", uv_strerror(e));
		free(w->r.text);
		free(w);
		c->is_done = true;
		return;
	}
	c->out_queued += w->r.len;
	c->n_writes++;
	if (c->out_queued >= ADMIN_OUT_HIGH && !c->is_paused) {
		log_debug("admin: %zu reply bytes queued, pausing the client", c->out_queued);
		c->is_paused = true;
	}
}

/* Answers with an empty-echo error and stops reading. */
static void conn_fail(struct conn *c, const char *error)
{
	struct admin_reply r;

	admin_cmds_fail(error, &r);
	conn_send(c, &r);
	c->is_done = true;
}

/* ---- input ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *out)
{
	struct conn *c = container_of(h, struct conn, h.handle);

	(void)hint;
	if (c->off) {
		/* Drop answered bytes; the scanner's positions move with the data. */
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->pos -= c->off;
		c->start = c->start > c->off ? c->start - c->off : 0;
		c->off = 0;
	}
	if (c->cap - c->len < ADMIN_READ_CHUNK) {
		c->cap = c->len + 2 * ADMIN_READ_CHUNK;
		c->buf = xreallocarray(c->buf, c->cap, 1);
	}
	*out = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void scan_reset(struct conn *c)
{
	c->state = SCAN_IDLE;
	c->start = c->pos = c->end = c->off;
	c->depth = 0;
	c->literal = NULL;
	c->in_string = c->is_escaped = false;
}

/* In a string: returns true on its closing quote. */
static bool string_byte(struct conn *c, char ch)
{
	if (c->is_escaped)
		c->is_escaped = false;
	else if (ch == '\\')
		c->is_escaped = true;
	else if (ch == '"')
		return true;
	return false;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* One byte of a top-level number: the next state, SCAN_IDLE when ch ends it, -1 if invalid. */
static int number_byte(enum scan_state st, char ch)
{
	bool is_e = ch == 'e' || ch == 'E';

	switch (st) {
	case SCAN_NUM_MINUS:
		if (ch == '0')
			return SCAN_NUM_ZERO;
		return is_digit(ch) ? SCAN_NUM_INT : -1;
	case SCAN_NUM_ZERO:
	case SCAN_NUM_INT:
		if (st == SCAN_NUM_INT && is_digit(ch))
			return SCAN_NUM_INT;
		if (ch == '.')
			return SCAN_NUM_DOT;
		return is_e ? SCAN_NUM_E : SCAN_IDLE;
	case SCAN_NUM_DOT:
		return is_digit(ch) ? SCAN_NUM_FRAC : -1;
	case SCAN_NUM_FRAC:
		if (is_digit(ch))
			return SCAN_NUM_FRAC;
		return is_e ? SCAN_NUM_E : SCAN_IDLE;
	case SCAN_NUM_E:
		if (ch == '+' || ch == '-')
			return SCAN_NUM_ESIGN;
		return is_digit(ch) ? SCAN_NUM_EXP : -1;
	case SCAN_NUM_ESIGN:
		return is_digit(ch) ? SCAN_NUM_EXP : -1;
	default: /* SCAN_NUM_EXP */
		return is_digit(ch) ? SCAN_NUM_EXP : SCAN_IDLE;
	}
}

/* The first byte of a value: its state, or -1 when no JSON value starts with ch. */
static int value_start(struct conn *c, char ch)
{
	static const char *const words[] = {"true", "false", "null"};

	if (ch == '{' || ch == '[') {
		c->depth = 1;
		return SCAN_CONTAINER;
	}
	if (ch == '"')
		return SCAN_STRING;
	if (ch == '-')
		return SCAN_NUM_MINUS;
	if (is_digit(ch))
		return ch == '0' ? SCAN_NUM_ZERO : SCAN_NUM_INT;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (ch == words[i][0]) {
			c->literal = words[i];
			return SCAN_LITERAL;
		}
	}
	return -1;
}

/*
 * Finds the end of the value at buf[off..): 1 with *end set when it is complete, 0 when more
 * input is needed, -1 when the input cannot be JSON (a bad first byte, literal or number).
 * Syntax errors inside objects and arrays are left to jansson once the brackets balance.
 */
static int scan(struct conn *c, size_t *end)
{
	for (; c->pos < c->len; c->pos++) {
		char ch = c->buf[c->pos];
		int st;

		switch (c->state) {
		case SCAN_IDLE:
			if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
				continue;
			c->start = c->pos;
			st = value_start(c, ch);
			if (st < 0)
				return -1;
			c->state = (enum scan_state)st;
			break;
		case SCAN_CONTAINER:
			if (c->in_string) {
				c->in_string = !string_byte(c, ch);
			} else if (ch == '"') {
				c->in_string = true;
			} else if (ch == '{' || ch == '[') {
				c->depth++;
			} else if ((ch == '}' || ch == ']') && --c->depth == 0) {
				*end = c->pos + 1;
				return 1;
			}
			break;
		case SCAN_STRING:
			if (string_byte(c, ch)) {
				c->end = c->pos + 1;
				c->state = SCAN_PENDING;
			}
			break;
		case SCAN_LITERAL:
			if (ch != c->literal[c->pos - c->start])
				return -1;
			if (!c->literal[c->pos - c->start + 1]) {
				c->end = c->pos + 1;
				c->state = SCAN_PENDING;
			}
			break;
		case SCAN_PENDING:
			*end = c->end;
			return 1;
		default:
			st = number_byte(c->state, ch);
			if (st < 0)
				return -1;
			if (st == SCAN_IDLE) {
				*end = c->pos;
				return 1;
			}
			c->state = (enum scan_state)st;
			break;
		}
	}
	if (!c->is_eof)
		return 0;
	/* EOF completes what Go's decoder would accept there. */
	switch (c->state) {
	case SCAN_PENDING:
		*end = c->end;
		return 1;
	case SCAN_NUM_ZERO:
	case SCAN_NUM_INT:
	case SCAN_NUM_FRAC:
	case SCAN_NUM_EXP:
		*end = c->len;
		return 1;
	default:
		return 0;
	}
}

static void conn_update_reading(struct conn *c)
{
	bool want = !c->is_done && !c->is_eof && !c->is_paused && !c->is_closing &&
		    (!c->pending || c->len - c->off <= ADMIN_MAX_INPUT);

	if (want && !c->is_reading)
		c->is_reading = uv_read_start(&c->h.stream, on_alloc, on_read) == 0;
	else if (!want && c->is_reading)
		c->is_reading = uv_read_stop(&c->h.stream) != 0;
}

/* The query timed out (a request is pending), or the restart after an answer. */
static void on_conn_timer(uv_timer_t *tm)
{
	struct conn *c = container_of(tm, struct conn, timer);
	struct admin_reply r;

	if (c->pending) {
		admin_cmds_expire(c->pending, &r);
		c->pending = NULL;
		if (!r.is_keepalive)
			c->is_done = true;
		conn_send(c, &r);
	}
	conn_process(c);
}

/* The core answered (from inside its callback): send, and carry on from the loop. */
static void on_answer(void *ctx, struct admin_reply *r)
{
	struct conn *c = ctx;

	c->pending = NULL;
	uv_timer_stop(&c->timer);
	if (!r->is_keepalive)
		c->is_done = true;
	conn_send(c, r);
	uv_timer_start(&c->timer, on_conn_timer, 0, 0);
}

/* Answers every complete request in the buffer, then decides whether to read or close. */
static void conn_process(struct conn *c)
{
	while (!c->is_done && !c->is_paused && !c->pending) {
		struct admin_reply r;
		size_t end;
		int s = scan(c, &end);

		if (s < 0) {
			conn_fail(c, "Failed to find request");
			break;
		}
		if (s == 0) {
			if (c->is_eof)
				conn_fail(c, "Failed to find request");
			else if (c->len - c->off > ADMIN_MAX_INPUT)
				conn_fail(c, "Request too large");
			break;
		}
		c->pending = admin_cmds_run(c->a->core, c->a->tun, c->a->nat64, c->buf + c->start,
					    end - c->start, &r, on_answer, c);
		c->off = end;
		scan_reset(c);
		if (c->pending) {
			uv_timer_start(&c->timer, on_conn_timer, c->a->query_timeout_ms, 0);
			break;
		}
		if (!r.is_keepalive)
			c->is_done = true;
		conn_send(c, &r);
	}
	if (c->is_done && !c->n_writes)
		conn_close(c);
	else
		conn_update_reading(c);
}

/*
 * Whether the client has closed its socket rather than only its sending half. A unix socket
 * tells (POLLHUP once both directions are shut); for TCP a FIN looks the same either way, so
 * a TCP client that leaves keeps its query until the answer or the timeout.
 */
static bool is_hung_up(struct conn *c)
{
	struct pollfd pfd = {.events = POLLOUT};
	uv_os_fd_t fd;

	if (uv_fileno(&c->h.handle, &fd) < 0)
		return true;
	pfd.fd = fd;
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = container_of(s, struct conn, h.stream);

	(void)buf;
	if (nread == 0)
		return;
	if (nread == UV_EOF) {
		if (c->pending && is_hung_up(c)) {
			log_debug("admin: client left while its query was pending");
			conn_close(c);
			return;
		}
		c->is_eof = true;
	} else if (nread < 0) {
		log_debug("admin: read from client failed: %s", uv_strerror((int)nread));
		conn_close(c);
		return;
	} else {
		c->len += (size_t)nread;
	}
	conn_process(c);
}

/* ---- listening ---- */

static void on_connection(uv_stream_t *srv, int status)
{
	struct admin *a = container_of(srv, struct admin, srv.stream);
	struct conn *c;
	int r;

	if (status < 0) {
		log_warn("admin: accept failed: %s", uv_strerror(status));
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->a = a;
	list_init(&c->node);
	if (a->kind == ADMIN_UNIX)
		r = uv_pipe_init(a->loop, &c->h.pipe, 0);
	else
		r = uv_tcp_init(a->loop, &c->h.tcp);
	if (r < 0) {
		log_warn("admin: cannot accept: %s", uv_strerror(r));
		free(c);
		return;
	}
	uv_timer_init(a->loop, &c->timer);
	c->n_handles = 2;
	a->open_handles += 2;
	list_add_tail(&a->conns, &c->node);
	a->n_conns++;
	r = uv_accept(srv, &c->h.stream);
	if (r < 0 || a->is_closing || a->n_conns > ADMIN_MAX_CONNS) {
		if (r < 0)
			log_debug("admin: accept failed: %s", uv_strerror(r));
		else if (!a->is_closing)
			log_warn("admin: more than %d clients, dropping one", ADMIN_MAX_CONNS);
		conn_close(c);
		return;
	}
	scan_reset(c);
	conn_update_reading(c);
}

/*
 * §6.1: a leftover socket file is removed when nothing answers (yggdrasil dials it for up to
 * 2 s; a unix connect never waits, so one non-blocking connect decides). A live socket, or a
 * path that is not a socket, is left alone and start fails.
 */
static int clear_stale(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("Admin socket %s already exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	close(fd);
	if (r == 0 || r == -EAGAIN || r == -EINPROGRESS) {
		log_error("Admin socket %s already exists and is in use by another process", path);
		return -EADDRINUSE;
	}
	if (r != -ECONNREFUSED) {
		log_error("Admin socket %s already exists and cannot be probed: %s", path,
			  strerror(-r));
		return r;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		r = -errno;
		log_error("%s already exists and was not cleaned up: %s", path, strerror(-r));
		return r;
	}
	log_debug("Admin socket %s was a leftover and was cleaned up", path);
	return 0;
}

/* An abstract socket ("@name"): libuv 1.44 binds only paths, so bind here and adopt the fd. */
static int bind_abstract(struct admin *a)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t n = strlen(a->addr);
	int fd, r;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sun.sun_path + 1, a->addr + 1, n - 1);
	if (bind(fd, (struct sockaddr *)&sun,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = uv_pipe_open(&a->srv.pipe, fd);
	if (r < 0)
		close(fd);
	return r;
}

static int start_unix(struct admin *a)
{
	int r;

	if (strlen(a->addr) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_error("Admin socket path %s is too long", a->addr);
		return -ENAMETOOLONG;
	}
	if (a->addr[0] != '@') {
		r = clear_stale(a->addr);
		if (r < 0)
			return r;
	}
	r = uv_pipe_init(a->loop, &a->srv.pipe, 0);
	if (r < 0)
		return r;
	a->has_srv = true;
	a->open_handles++;
	if (a->addr[0] == '@')
		return bind_abstract(a);
	r = uv_pipe_bind(&a->srv.pipe, a->addr);
	if (r < 0)
		return r;
	a->owns_path = true;
	if (chmod(a->addr, 0660) < 0)
		log_warn("WARNING: %s may have unsafe permissions!", a->addr);
	return 0;
}

/*
 * host:port or [v6]:port, resolved once at start-up; the first address is used. An empty host
 * listens on [::] (dual stack), as Go's net.Listen does.
 */
static int start_tcp(struct admin *a)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
	char *host = xstrdup(a->addr), *port = strrchr(host, ':'), *h = host;
	int r;

	if (!port || !port[1]) {
		log_error("Admin socket address %s has no port", a->addr);
		free(host);
		return -EINVAL;
	}
	*port++ = '\0';
	if (h[0] == '[' && h[strlen(h) - 1] == ']') {
		h[strlen(h) - 1] = '\0';
		h++;
	}
	r = getaddrinfo(*h ? h : "::", port, &hints, &ai);
	if (r != 0) {
		log_error("Admin socket address %s: %s", a->addr, gai_strerror(r));
		free(host);
		return -EINVAL;
	}
	r = uv_tcp_init(a->loop, &a->srv.tcp);
	if (r == 0) {
		a->has_srv = true;
		a->open_handles++;
		r = uv_tcp_bind(&a->srv.tcp, ai->ai_addr, 0);
	}
	freeaddrinfo(ai);
	free(host);
	return r;
}

/* ---- API ---- */

void admin_set_nat64(struct admin *a, const struct nat64 *n)
{
	a->nat64 = n;
}

struct admin *admin_new(uv_loop_t *loop, const struct config *cfg, struct core *core,
			struct tun *tun)
{
	const char *s = cfg->admin_listen ? cfg->admin_listen : "";
	struct admin *a;

	a = xcalloc(1, sizeof(*a));
	a->loop = loop;
	a->core = core;
	a->tun = tun;
	a->query_timeout_ms = ADMIN_QUERY_TIMEOUT_MS;
	list_init(&a->conns);
	/* §6.1: unix://path, tcp://host:port, otherwise a bare TCP host:port. */
	if (!*s || !strcmp(s, "none")) {
		a->kind = ADMIN_OFF;
	} else if (!strncasecmp(s, "unix://", 7)) {
		a->kind = ADMIN_UNIX;
		a->addr = xstrdup(s + 7);
	} else if (!strncasecmp(s, "tcp://", 6)) {
		a->kind = ADMIN_TCP;
		a->addr = xstrndup(s + 6, strcspn(s + 6, "/?#"));
	} else if (!strstr(s, "://")) {
		a->kind = ADMIN_TCP;
		a->addr = xstrdup(s);
	} else {
		log_error("AdminListen %s: unsupported scheme (use unix://, tcp:// or none)", s);
		free(a);
		return NULL;
	}
	if (a->kind != ADMIN_OFF && !a->addr[0]) {
		log_error("AdminListen %s: empty address", s);
		free(a->addr);
		free(a);
		return NULL;
	}
	return a;
}

void admin_set_query_timeout(struct admin *a, uint64_t ms)
{
	a->query_timeout_ms = ms;
}

int admin_start(struct admin *a)
{
	int r;

	if (a->kind == ADMIN_OFF) {
		log_debug("Admin socket disabled");
		return 0;
	}
	r = a->kind == ADMIN_UNIX ? start_unix(a) : start_tcp(a);
	if (r == 0)
		r = uv_listen(&a->srv.stream, ADMIN_BACKLOG, on_connection);
	if (r < 0) {
		log_error("Admin socket failed to listen on %s: %s", a->addr, uv_strerror(r));
		return r;
	}
	log_info("%s admin socket listening on %s", a->kind == ADMIN_UNIX ? "UNIX" : "TCP",
		 a->addr);
	return 0;
}

static void on_srv_closed(uv_handle_t *h)
{
	struct admin *a = container_of(h, struct admin, srv.handle);

	a->open_handles--;
	maybe_done(a);
}

void admin_close(struct admin *a, admin_closed_cb *done, void *arg)
{
	struct list_node *pos, *tmp;

	a->is_closing = true;
	a->done = done;
	a->done_arg = arg;
	if (a->has_srv && !uv_is_closing(&a->srv.handle))
		uv_close(&a->srv.handle, on_srv_closed);
	if (a->owns_path) {
		/* Go's unix listener removes its file on Close. */
		unlink(a->addr);
		a->owns_path = false;
	}
	list_foreach_safe (pos, tmp, &a->conns)
		conn_close(list_entry(pos, struct conn, node));
	maybe_done(a);
}

void admin_free(struct admin *a)
{
	if (!a)
		return;
	if (a->open_handles)
		log_error("admin_free with %u handles still open", a->open_handles);
	free(a->addr);
	free(a);
}
