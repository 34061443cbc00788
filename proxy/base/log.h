/*
 * Logging: levels error/warn/info/debug, text or JSON lines on stderr.
 * The level is an atomic so it can be changed at run time from any thread.
 * Never pass a key, a credential or a plaintext attribute value to these functions.
 */
#ifndef DS_LOG_H
#define DS_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* json != 0 writes one JSON object per line instead of text. */
void log_set_json(int json);
/* Routes libevent's internal messages through our logger. */
void log_hook_libevent(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);
/*
 * A value the client chose (a table name, an access key id), made safe for a key=value field
 * of a log line: returned as it is when it holds only [A-Za-z0-9_.:/@+=-], else written into
 * out (cap bytes, at least 8) in double quotes with '"' and '\\' escaped and every other byte
 * outside printable ASCII as \xNN, cut with "..." when it does not fit.  "-" when empty.
 * Every line is also kept to one line by log_msg itself (control bytes become \xNN).  The
 * stand-in for NUL of a tree string (json_nul.h) is written as the NUL it stands for, escaped.
 */
const char *log_value(const char *s, char *out, size_t cap);
/* Logs and drains OpenSSL's error queue, prefixed by what was attempted. */
void log_openssl_errors(enum log_level level, const char *what);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_get_level() >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
