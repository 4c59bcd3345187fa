/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The option table (src/daemon/options.c) against what users read: every
 * option is in man/objfsd.8 and in --help, nothing is documented that the
 * table lacks, and the table's rows parse into the fields they name.
 */
#include "config.h"

#include <check.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "options.h"

#define MAN_MAX		(256 * 1024)
#define NAMES_MAX	128

struct names {
	char	*v[NAMES_MAX];
	size_t	 n;
};

static char *
read_manual(void)
{
	const char *srcdir = getenv("srcdir");
	char path[512], *buf = malloc(MAN_MAX + 1);
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/man/objfsd.8",
	    srcdir != NULL ? srcdir : ".");
	ck_assert_ptr_nonnull(buf);
	ck_assert_msg((f = fopen(path, "r")) != NULL, "cannot open %s", path);
	n = fread(buf, 1, MAN_MAX, f);
	ck_assert_uint_lt(n, MAN_MAX);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static char *
help_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	options_usage(f);
	fclose(f);
	return buf;
}

static void
names_add(struct names *ns, const char *s, size_t len)
{
	for (size_t i = 0; i < ns->n; i++)
		if (strlen(ns->v[i]) == len && strncmp(ns->v[i], s, len) == 0)
			return;
	ck_assert_uint_lt(ns->n, NAMES_MAX);
	ns->v[ns->n++] = strndup(s, len);
}

static bool
names_has(const struct names *ns, const char *s)
{
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], s) == 0)
			return true;
	return false;
}

static void
names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	ns->n = 0;
}

/* Between ".Sh NAME" and the next ".Sh". */
static char *
man_section(const char *man, const char *name)
{
	char head[64];
	const char *start, *end;

	snprintf(head, sizeof(head), "\n.Sh %s\n", name);
	ck_assert_ptr_nonnull(start = strstr(man, head));
	start += strlen(head);
	end = strstr(start, "\n.Sh ");
	return strndup(start, end != NULL ? (size_t)(end - start) :
	    strlen(start));
}

/* Every "Fl \-name" (or "Fl x") on the lines that start with `lead`. */
static void
man_flags(const char *text, const char *lead, struct names *ns)
{
	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *eol = strchr(line, '\n');
		size_t len = eol != NULL ? (size_t)(eol - line) : strlen(line);
		char *l = strndup(line, len);

		if (strncmp(l, lead, strlen(lead)) == 0) {
			for (char *p = strstr(l, "Fl "); p != NULL;
			    p = strstr(p + 1, "Fl ")) {
				char *q = p + 3;

				if (strncmp(q, "\\-", 2) == 0)
					q += 2;
				names_add(ns, q, strcspn(q, " |,"));
			}
		}
		free(l);
		line = eol != NULL ? eol + 1 : NULL;
	}
}

/* Every "--name" and every "-x " at the start of a --help line. */
static void
help_flags(const char *help, struct names *ns)
{
	for (const char *p = strstr(help, "--"); p != NULL;
	    p = strstr(p + 1, "--"))
		if (p[2] >= 'a' && p[2] <= 'z')
			names_add(ns, p + 2, strspn(p + 2,
			    "abcdefghijklmnopqrstuvwxyz0123456789-"));
	for (const char *p = strstr(help, "\n  -"); p != NULL;
	    p = strstr(p + 1, "\n  -"))
		if (p[4] != '-')
			names_add(ns, p + 4, 1);
}

static const char *
table_name(const struct objfsd_option *o, char *buf)
{
	if (o->name != NULL)
		return o->name;
	buf[0] = o->short_name;
	buf[1] = '\0';
	return buf;
}

static bool
table_has(const char *name)
{
	for (size_t i = 0; i < objfsd_noptions; i++) {
		const struct objfsd_option *o = &objfsd_options[i];

		if ((o->name != NULL && strcmp(o->name, name) == 0) ||
		    (strlen(name) == 1 && o->short_name == name[0]))
			return true;
	}
	return false;
}

START_TEST(every_option_is_in_the_manual_and_the_help)
{
	char *man = read_manual(), *opts = man_section(man, "OPTIONS");
	char *help = help_text(), shortname[2];
	struct names documented = { 0 }, helped = { 0 };

	man_flags(opts, ".It ", &documented);
	help_flags(help, &helped);
	for (size_t i = 0; i < objfsd_noptions; i++) {
		const char *name = table_name(&objfsd_options[i], shortname);

		ck_assert_msg(names_has(&documented, name),
		    "option %s is not in man/objfsd.8's OPTIONS", name);
		ck_assert_msg(names_has(&helped, name),
		    "option %s is not in --help", name);
	}
	names_free(&documented);
	names_free(&helped);
	free(help);
	free(opts);
	free(man);
}
END_TEST

START_TEST(nothing_documented_that_the_table_lacks)
{
	char *man = read_manual(), *opts = man_section(man, "OPTIONS");
	char *synopsis = man_section(man, "SYNOPSIS"), *help = help_text();
	struct names seen = { 0 };

	man_flags(opts, ".It ", &seen);
	man_flags(synopsis, "", &seen);
	help_flags(help, &seen);
	for (size_t i = 0; i < seen.n; i++)
		ck_assert_msg(table_has(seen.v[i]),
		    "%s is documented but not in the option table", seen.v[i]);
	names_free(&seen);
	free(help);
	free(synopsis);
	free(opts);
	free(man);
}
END_TEST

/* The -o paragraph of the manual names every suboption, and no other. */
START_TEST(suboptions_match_the_manual)
{
	char *man = read_manual(), *opts = man_section(man, "OPTIONS");
	char *para = strstr(opts, ".It Fl o "), *end, *help = help_text();
	struct names documented = { 0 };

	ck_assert_ptr_nonnull(para);
	end = strstr(para + 1, "\n.It ");
	if (end != NULL)
		*end = '\0';
	for (char *p = strstr(para, "Cm "); p != NULL;
	    p = strstr(p + 1, "Cm ")) {
		size_t len = strcspn(p + 3, " \n");

		if (p[3 + len - 1] != ':')	/* "Cm fs:" is a store */
			names_add(&documented, p + 3, len);
	}
	for (size_t i = 0; i < objfsd_noptions; i++) {
		const char *sub = objfsd_options[i].suboption;

		if (sub == NULL)
			continue;
		ck_assert_msg(names_has(&documented, sub),
		    "-o %s is not in man/objfsd.8", sub);
		ck_assert_msg(strstr(help, sub) != NULL,
		    "-o %s is not in --help", sub);
	}
	for (size_t i = 0; i < documented.n; i++) {
		bool found = false;

		for (size_t j = 0; j < objfsd_noptions; j++)
			found |= objfsd_options[j].suboption != NULL &&
			    strcmp(objfsd_options[j].suboption,
			    documented.v[i]) == 0;
		ck_assert_msg(found, "-o %s is documented but not in the "
		    "table", documented.v[i]);
	}
	names_free(&documented);
	free(help);
	free(opts);
	free(man);
}
END_TEST

START_TEST(names_and_config_keys_are_unique)
{
	struct names names = { 0 }, keys = { 0 };
	char shortname[2];

	for (size_t i = 0; i < objfsd_noptions; i++) {
		const struct objfsd_option *o = &objfsd_options[i];
		const char *name = table_name(o, shortname);

		ck_assert_msg(!names_has(&names, name), "%s twice", name);
		names_add(&names, name, strlen(name));
		ck_assert_ptr_nonnull(o->help);
		ck_assert_ptr_nonnull(o->handler);
		if (o->config_key == NULL)
			continue;
		ck_assert_msg(!names_has(&keys, o->config_key), "key %s twice",
		    o->config_key);
		names_add(&keys, o->config_key, strlen(o->config_key));
	}
	names_free(&names);
	names_free(&keys);
}
END_TEST

static void
parse(struct objfsd_config *c, char **argv)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	options_defaults(c);
	optind = 0;
	options_parse(c, argc, argv);
}

START_TEST(rows_set_the_fields_they_name)
{
	char o_list[] =
	    "cache=none,writeback,log_level=debug,readonly,fs_devices=real";
	char *argv[] = { "objfsd", "--socket-path=/s", "--store=mem:",
	    "--uid=7", "--gid=8", "--file-mode=600", "--dir-mode=0700",
	    "--request-queues=3", "--thread-pool-size=2", "-o", o_list,
	    "--s3-part-size=16M", "--s3-upload-cutoff=1G", "--s3-parallel=9",
	    "--s3-retries=0", "--s3-timeout=5", "--s3-virtual-host",
	    "--s3-endpoint=http://h", "--s3-anonymous", "--syslog",
	    "--cache-dir=/c", "--s3-ca-file=/ca.pem", NULL };
	struct objfsd_config c;

	parse(&c, argv);
	ck_assert_str_eq(c.vu.socket_path, "/s");
	ck_assert_str_eq(c.store_url, "mem:");
	ck_assert_uint_eq(c.objfs.uid, 7);
	ck_assert_uint_eq(c.objfs.gid, 8);
	ck_assert_uint_eq(c.objfs.file_mode, 0600);
	ck_assert_uint_eq(c.objfs.dir_mode, 0700);
	ck_assert_uint_eq(c.request_queues, 3);
	ck_assert_int_eq(c.pool_size, 2);
	ck_assert_int_eq(c.fsrv.cache, FSRV_CACHE_NONE);
	ck_assert(c.fsrv.writeback);
	ck_assert_int_eq(c.log_level, LOG_LEVEL_DEBUG);
	ck_assert(c.objfs.readonly && c.store.readonly && c.fsrv.readonly);
	ck_assert(c.store.fs_real_devices);
	ck_assert_uint_eq(c.s3.part_size, 16 << 20);
	ck_assert_uint_eq(c.s3.upload_cutoff, 1 << 30);
	ck_assert_uint_eq(c.s3.parallel, 9);
	ck_assert_uint_eq(c.s3.retries, 0);
	ck_assert_uint_eq(c.s3.timeout, 5);
	ck_assert_int_eq(c.s3.path_style, 0);
	ck_assert_str_eq(c.s3.endpoint, "http://h");
	ck_assert(c.s3.anonymous && !c.s3.insecure);
	ck_assert_str_eq(c.s3.ca_file, "/ca.pem");
	ck_assert_ptr_null(c.s3.ca_pem);	/* read at start, not here */
	ck_assert(c.use_syslog);
	ck_assert_str_eq(c.store.cache_dir, "/c");
	ck_assert_ptr_eq(c.store.s3, &c.s3);
	options_free(&c);
}
END_TEST

START_TEST(defaults_and_virtiofsd_spellings)
{
	char o_list[] = "source=/srv,no_writeback";
	char *argv[] = { "objfsd", "--fd=3", "--writeback", "-o", o_list,
	    "--shared-dir=/srv", NULL };
	struct objfsd_config c;

	parse(&c, argv);
	ck_assert_int_eq(c.vu.fd, 3);
	ck_assert_ptr_null(c.vu.socket_path);
	ck_assert_str_eq(c.store_url, "fs:/srv");
	ck_assert(!c.fsrv.writeback);
	ck_assert_int_eq(c.fsrv.cache, FSRV_CACHE_AUTO);
	ck_assert_uint_eq(c.request_queues, 1);
	ck_assert_int_eq(c.pool_size, -1);
	ck_assert_int_eq(c.s3.path_style, -1);
	ck_assert_uint_eq(c.s3.retries, 5);
	ck_assert_uint_eq(c.objfs.file_mode, 0644);
	ck_assert(!c.store.fs_real_devices);	/* records */
	options_free(&c);
}
END_TEST

/* Each row of bad input exits with EXIT_USAGE. */
static const char *const bad_lines[][4] = {
	{ "--fd=65536", "--store=mem:" },
	{ "--fd=3", "--store=mem:", "--uid=-1" },
	{ "--fd=3", "--store=mem:", "--file-mode=8" },
	{ "--fd=3", "--store=mem:", "--s3-part-size=4M" },
	{ "--fd=3", "--store=mem:", "--s3-part-size=6X" },
	{ "--fd=3", "--store=mem:", "--s3-upload-cutoff=-5M" },
	{ "--fd=3", "--store=mem:", "--s3-path-style", "--s3-virtual-host" },
	{ "--fd=3", "--store=mem:", "-o", "writeback=1" },
	{ "--fd=3", "--store=mem:", "--fs-devices=yes" },
	{ "--fd=3", "--store=mem:", "-o", "cache" },
	{ "--fd=3", "--store=mem:", "--readonly=yes" },
	{ "--fd=3", "--store=mem:", "--shared-dir=/other" },
	{ "--fd=3", "--socket-path=/s", "--store=mem:" },
	{ "--fd=3" },
	{ "--fd=3", "--store=mem:", "--cache=sometimes" },
};

START_TEST(bad_lines_exit_with_usage)
{
	char *argv[6] = { "objfsd" };
	struct objfsd_config c;

	for (size_t i = 0; i < 4 && bad_lines[_i][i] != NULL; i++)
		argv[i + 1] = strdup(bad_lines[_i][i]);
	parse(&c, argv);
}
END_TEST

static Suite *
options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, every_option_is_in_the_manual_and_the_help);
	tcase_add_test(tc, nothing_documented_that_the_table_lacks);
	tcase_add_test(tc, suboptions_match_the_manual);
	tcase_add_test(tc, names_and_config_keys_are_unique);
	tcase_add_test(tc, rows_set_the_fields_they_name);
	tcase_add_test(tc, defaults_and_virtiofsd_spellings);
	tcase_add_loop_exit_test(tc, bad_lines_exit_with_usage, EXIT_USAGE, 0,
	    sizeof(bad_lines) / sizeof(bad_lines[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(options_suite(), "check_options", LOG_LEVEL_ERROR);
}
