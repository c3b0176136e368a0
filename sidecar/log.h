/*
 * log.h — one line per event on stderr: time, level, message.
 *
 *   2026-11-23T18:07:29.123Z info  client 3 attached pid=1234 uid=1000
 *
 * Messages never contain secrets or prompt text: callers log ids, sizes
 * and codes. Writes are line-buffered by construction (one write per line).
 */
#ifndef RINGSIDE_LOG_H
#define RINGSIDE_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lv);
enum log_level log_get_level(void);
void log_msg(enum log_level lv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) do { if (log_get_level() <= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
