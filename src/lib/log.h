/*
 * log: levelled logging with printf attributes (bgpd log.h, babeld debugf).
 *
 * The sink is one of the two mutable globals the project allows (STYLE.md §16). Levels follow
 * yggdrasil's -loglevel names: error < warn < info < debug < trace; enabling one enables those
 * before it. The macros test the level before evaluating their arguments. Per-packet paths use
 * log_ratelimited() or, better, a counter. Private keys are never logged.
 */
#ifndef YGG64_LIB_LOG_H
#define YGG64_LIB_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_TRACE,
};

enum log_sink {
	LOG_SINK_STDOUT, /* yggdrasil's default (-logto stdout) */
	LOG_SINK_STDERR,
	LOG_SINK_SYSLOG,
	LOG_SINK_FILE, /* appended to; opened by log_open_file */
};

extern enum log_level log_current_level;

/* Parses "error".."trace" (case-insensitive). Returns false for anything else. */
bool log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level l);

void log_set_level(enum log_level l);
/*
 * Chooses the sink from a -logto argument: "stdout", "stderr", "syslog" or a file path
 * (opened for append). Returns 0 or a negative errno (the previous sink stays in use).
 */
int log_set_target(const char *target);
/* Closes a file sink / syslog; the sink falls back to stderr. */
void log_close(void);
/* Tests: redirect output to a stream (not owned). NULL restores stderr. */
void log_set_stream(FILE *f);

void log_msg(enum log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_msg_errno(enum log_level l, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Logs at error level and exits with status 1. */
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As fatalx, with ": strerror(err)" appended (err positive or negative). */
_Noreturn void fatal(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_enabled(l) ((l) <= log_current_level)
#define LOG_AT(l, ...)                                                                             \
	do {                                                                                       \
		if (log_enabled(l))                                                                \
			log_msg((l), __VA_ARGS__);                                                 \
	} while (0)
#define log_error(...) LOG_AT(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) LOG_AT(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) LOG_AT(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_trace(...) LOG_AT(LOG_LEVEL_TRACE, __VA_ARGS__)
/* err is a positive or negative errno value; strerror is appended. */
#define log_warn_errno(err, ...)                                                                   \
	do {                                                                                       \
		if (log_enabled(LOG_LEVEL_WARN))                                                   \
			log_msg_errno(LOG_LEVEL_WARN, (err), __VA_ARGS__);                         \
	} while (0)
#define log_error_errno(err, ...)                                                                  \
	do {                                                                                       \
		if (log_enabled(LOG_LEVEL_ERROR))                                                  \
			log_msg_errno(LOG_LEVEL_ERROR, (err), __VA_ARGS__);                        \
	} while (0)

/*
 * Token-bucket rate limiter for per-event logs: at most burst messages, refilled at
 * per_sec messages per second. Time is a parameter (now_ms from uv_now()).
 */
struct log_ratelimit {
	uint32_t burst;
	uint32_t per_sec;
	uint32_t tokens;
	uint32_t suppressed;
	uint64_t last_ms;
};
#define LOG_RATELIMIT_INIT(b, r)                                                                   \
	{                                                                                          \
		.burst = (b), .per_sec = (r), .tokens = (b)                                        \
	}
/*
 * True when a message may be logged now (a token was taken). Otherwise counts the message in
 * rl->suppressed and returns false. Pure: never logs, so it can also gate counters.
 */
bool log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now_ms);
/*
 * When rl->suppressed is non-zero, logs "N messages suppressed" at level l and zeroes it.
 * log_ratelimited() calls it just before the next allowed message.
 */
void log_ratelimit_report(struct log_ratelimit *rl, enum log_level l);
#define log_ratelimited(rl, now, l, ...)                                                           \
	do {                                                                                       \
		if (log_enabled(l) && log_ratelimit_ok((rl), (now))) {                             \
			log_ratelimit_report((rl), (l));                                           \
			log_msg((l), __VA_ARGS__);                                                 \
		}                                                                                  \
	} while (0)

#endif
