/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fixture shared by check_objfs.c and check_objfs_store.c.  A store
 * test runs once per store: its loop index _i is 0 for mem:, 1 for fs:,
 * 2 for fs: walking paths without openat2 and 3 for s3: on the server in
 * OBJFSD_TEST_S3_ENDPOINT.  Helpers assert success, so a test reads as the
 * calls it makes.
 */
#ifndef OBJFSD_OBJFS_FIXTURE_H
#define OBJFSD_OBJFS_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "objfs.h"
#include "store.h"

#define ROOT	OBJFS_ROOT_INO

extern struct objfs		*fs;
extern struct store		*st;
extern char			 tmpdir[64];
extern char			 cachedir[80];
extern const struct objfs_ctx	 ctx;
/* fs: stores open with --fs-owners=xattr (OBJFSD_TEST_FS_OWNERS=xattr). */
extern bool			 fixture_xattr_owners;
/* fs: stores open with --fs-devices=real. */
extern bool			 fixture_real_devices;

#define STORE_TEST(name) \
	static void name##_body(int); \
	START_TEST(name) { setup_store(_i); name##_body(_i); teardown_store(); } \
	END_TEST \
	static void name##_body(int _i __attribute__((unused)))

void		 rm_rf(const char *path);
void		 make_tmpdir(void);
void		 open_fs(const char *url);
void		 setup_store(int which);
void		 teardown_store(void);

void		 host_write(const char *name, const char *content);
uint64_t	 lookup(uint64_t parent, const char *name);
int		 lookup_rc(uint64_t parent, const char *name);
uint64_t	 mkdir_(uint64_t parent, const char *name);
size_t		 write_at(uint64_t fh, uint64_t off, const void *data,
		    size_t len);
size_t		 read_at(uint64_t fh, uint64_t off, void *buf, size_t len);
uint64_t	 mkfile(uint64_t parent, const char *name, const char *content);
uint64_t	 open_(uint64_t ino, int flags);
char		*slurp(uint64_t ino);
struct stat	 stat_(uint64_t ino);

/* readdir callback collecting names, taking at most `room` entries. */
struct collect {
	char		**names;
	size_t		  n;
	size_t		  room;
	uint64_t	  next_off;
};

int		 collect_cb(void *arg, const char *name, mode_t type,
		    uint64_t ino, uint64_t off, const struct objfs_entry *e);
void		 collect_free(struct collect *c);

/* check_objfs_store.c */
void		 objfs_add_store_tests(TCase *tc);
TCase		*objfs_escapes_tcase(void);

/* check_objfs_dir.c */
TCase		*objfs_listing_tcase(int first, int last);

/* check_objfs_fds.c */
TCase		*objfs_fds_tcase(void);

/* check_fs_owners.c */
TCase		*objfs_owners_tcase(void);
TCase		*objfs_journal_tcase(void);

/* check_objfs_journal.c: objfs on mem: with a journal, and its restarts */
struct objfs	*journal_objfs_on(struct store *store, const char *boot,
		    bool overwrite);
struct objfs	*journal_restart(const char *boot, struct objfs_recovery *r);
int		 journal_count_files(const char *dir);
void		 journal_setup(void);
void		 journal_teardown(void);

/* check_objfs_stream.c */
TCase		*objfs_stream_tcase(void);
TCase		*objfs_native_devices_tcase(void);

#endif
