/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: one formatted line per call, written with a single write so
 * that lines from different threads never interleave.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 1024

static struct {
	const char	*progname;
	enum log_level	 level;
	bool		 use_syslog;
} log_cfg = { "objfsd", LOG_LEVEL_INFO, false };

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

static const int syslog_prio[] = {
	[LOG_LEVEL_ERROR] = LOG_ERR,
	[LOG_LEVEL_WARN] = LOG_WARNING,
	[LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

void
log_init(const char *progname, enum log_level level, bool use_syslog)
{
	log_cfg.progname = progname;
	log_cfg.level = level;
	log_cfg.use_syslog = use_syslog;
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_parse_level(const char *name, enum log_level *level)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	    i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(name, "err") == 0 || strcmp(name, "warning") == 0) {
		*level = name[0] == 'e' ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN;
		return 0;
	}
	return -EINVAL;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_cfg.level;
}

/*
 * Names and keys in messages come from guests and servers: a newline or
 * an escape sequence in one must not forge a log line or drive the
 * terminal.  Control bytes become \xHH, in place, cut at the buffer end.
 */
static void
log_escape(char *line, size_t size)
{
	char tmp[LOG_LINE_MAX];
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)line;
	    *p != '\0' && o + 5 < sizeof(tmp); p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "\\x%02x",
			    *p);
		else
			tmp[o++] = (char)*p;
	}
	tmp[o] = '\0';
	strlcpy(line, tmp, size);
}

static void
log_emit(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t len;
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	len = n < 0 ? 0 : (size_t)n >= sizeof(line) ? sizeof(line) - 1 : (size_t)n;
	if (errnum != 0 && len < sizeof(line) - 1) {
		n = snprintf(line + len, sizeof(line) - len, ": %s",
		    strerror(errnum));
		len = n < 0 ? len : len + (size_t)n >= sizeof(line) ?
		    sizeof(line) - 1 : len + (size_t)n;
	}
	log_escape(line, sizeof(line));
	if (log_cfg.use_syslog) {
		syslog(syslog_prio[level], "%s", line);
		return;
	}
	char out[LOG_LINE_MAX + 64];
	n = snprintf(out, sizeof(out), "%s[%d]: %s: %s\n", log_cfg.progname,
	    (int)getpid(), level_names[level], line);
	if (n > 0) {
		size_t outlen = (size_t)n < sizeof(out) ? (size_t)n :
		    sizeof(out) - 1;
		ssize_t w = write(STDERR_FILENO, out, outlen);
		(void)w;
	}
}

#define LOG_BODY(level, errnum) do {			\
	if (!log_enabled(level))			\
		return;					\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_emit(level, errnum, fmt, ap);		\
	va_end(ap);					\
} while (0)

void
log_warn(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_LEVEL_WARN, saved);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
