/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "check_run.h"

int
check_run(Suite *s, const char *name, enum log_level level)
{
	SRunner *sr = srunner_create(s);
	int failed;

	log_init(name, level, false);
	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
