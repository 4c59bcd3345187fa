/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging for objfsd: stderr by default, syslog on request.
 *
 * log_warn() appends strerror(errno); log_warnx() does not.  fatal() and
 * fatalx() are for start-up errors and broken invariants only: anything a
 * guest, a frontend or a store can cause is logged and answered instead.
 * All functions are thread-safe.
 */
#ifndef OBJFSD_LOG_H
#define OBJFSD_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void	log_init(const char *progname, enum log_level level, bool use_syslog);
int	log_parse_level(const char *name, enum log_level *level);
bool	log_enabled(enum log_level level);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
