/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The main() of every Check suite here: quiet logging, SIGPIPE ignored
 * (a test may write to a daemon that has just gone), every test run in
 * its own process, exit status for automake.
 */
#ifndef OBJFSD_CHECK_RUN_H
#define OBJFSD_CHECK_RUN_H

#include <check.h>

#include "log.h"

/* Runs s and frees it; EXIT_SUCCESS when every test passed. */
int	check_run(Suite *s, const char *name, enum log_level level);

#endif
