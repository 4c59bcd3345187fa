/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objfs internals shared by objfs_*.c.
 *
 * Locking, outermost first:
 *   fs->ns_lock      rwlock; renames of directories (and on stores with
 *                    a rename of their own) take it for writing because
 *                    they change keys, every other operation for reading.
 *   fs->rename_locks renames of files on object stores, under the shared
 *                    side: a copy may take long and other requests go on
 *                    meanwhile; renames that share a key (by its hash,
 *                    one of OBJFS_RENAME_LOCKS) wait for each other.
 *   inode->lock      the inode's stage and flags.
 *   dirlist->lock    fetching a listing's next page.
 *   fs->listing_lock which snapshot is a directory's current one, and
 *                    the snapshots' reference counts and idle list.
 *                    An inode freed under fs->table_lock (a new
 *                    session forgetting all) takes it to drop its idle
 *                    listing: nothing holding it takes fs->table_lock.
 *   fs->table_lock   rwlock over the inode trees, fs->handle_lock over
 *                    the handle tree: read-locked to find, write-locked
 *                    to change; held briefly, never across a store call.
 *                    Reference and lookup counts are atomics.
 */
#ifndef OBJFSD_OBJFS_INTERNAL_H
#define OBJFSD_OBJFS_INTERNAL_H

#include <pthread.h>
#include <sys/queue.h>
#include "rbtree.h"

#include "dbuf.h"
#include "membudget.h"
#include "objfs.h"
#include "store.h"

/*
 * An open file's bytes while it is being written: in an unlinked spill
 * file, or the object's own file on a store that has one (its fd lent
 * by objfs_stage_fd, since the store may close it between uses).
 */
#define OBJFS_JOURNAL_ID	24	/* a stage's name in the journal */
#define OBJFS_STREAM_AHEAD	32	/* WRITEs past a gap, kept track of */

enum {
	OBJFS_JOURNAL_NONE,	/* no record: clean, or not journaled */
	OBJFS_JOURNAL_DIRTY,	/* a record, not made durable */
	OBJFS_JOURNAL_SYNCED,	/* a durable record with the bytes' sum */
};

struct objfs_stage {
	int			 fd;	/* the spill file, or -1 */
	struct store_file	*direct; /* or the object's own file */
	bool			 loaded; /* holds the whole object */
	bool			 dirty;	/* differs from the store */
	bool			 conflicted; /* the store's object changed */
	uint64_t		 size;
	struct timespec		 mtime;
	struct store_attr	 meta;	/* metadata to upload with it */
	/* The ETag of the object these bytes started from; "": unknown. */
	char			 base[STORE_ETAG_MAX];
	char			 jname[OBJFS_JOURNAL_ID]; /* "": none */
	int			 jstate;	/* OBJFS_JOURNAL_* */
	/*
	 * Uploading while written (objfs_stream.c): [0, sent) is handed
	 * to up and fixed; [0, dropped) is in the store's parts and gone
	 * from fd.  fresh: written only forwards since it was empty, with
	 * [0, contig) written without a gap and the WRITEs that came
	 * early (served out of order) in ahead[].
	 */
	struct store_upload	*up;
	uint64_t		 sent;
	uint64_t		 dropped;
	uint64_t		 contig;
	struct objfs_extent {
		uint64_t	 off;
		uint64_t	 end;
	}			 ahead[OBJFS_STREAM_AHEAD];
	unsigned		 nahead;
	uint64_t		 stalled_at;	/* acked when a wait ran out */
	bool			 stalled;
	bool			 fresh;
	bool			 no_stream;	/* not again for this stage */
};

/* A staging record (objfs_journal.c). */
struct objfs_jrec {
	const char		*store;
	const char		*key;
	char			 base[STORE_ETAG_MAX];
	char			 boot[40];
	bool			 synced;
	uint64_t		 size;
	uint64_t		 sum;
	char			*upload;	/* an unfinished upload's id */
	uint64_t		 dropped;	/* bytes only in its parts */
};

#define OBJFS_JOURNAL_DIR	"objfsd-journal"
#define OBJFS_JOURNAL_LOCK	"lock"
#define OBJFS_JOURNAL_REC_MAX	8192
#define OBJFS_LOST_DIR		"lost+found"
#define OBJFS_LOST_LEAF		100	/* of a key's last name, kept */

/*
 * A key an inode had before a rename made under the shared namespace lock:
 * a request that read it may still be using it, so it lives on until the
 * inode goes or a rename holds the lock for writing.
 */
struct objfs_old_key {
	struct objfs_old_key	*next;
	char			*key;
};

#define OBJFS_OLD_KEYS_MAX	16	/* then a rename takes the lock */
#define OBJFS_RENAME_LOCKS	64
#define OBJFS_PARKED_READERS	4	/* then reads go direct */

struct objfs_inode {
	RB_ENTRY(objfs_inode)	 by_ino;
	RB_ENTRY(objfs_inode)	 by_key;
	uint64_t		 ino;
	char			*key;	/* "" is the root; changes (atomic)
					   only in a rename */
	struct objfs_old_key	*old_keys;
	unsigned		 nold_keys;
	mode_t			 type;	/* S_IFMT bits */
	uint64_t		 nlookup;
	unsigned		 refs;	/* handles and calls in progress */
	bool			 in_key_tree;
	bool			 unlinked;
	pthread_mutex_t		 lock;
	struct objfs_stage	*stage;
	unsigned		 opens;	/* open file handles */
	unsigned		 writers; /* of which may write */
	struct objfs_dirlist	*listing; /* under fs->listing_lock */
	uint64_t		 listing_gen;	/* moves on each change */
	struct store_attr	 attr;	/* the store's, without xattrs */
	int64_t			 attr_ms; /* when; 0: none (atomic) */
	int64_t			 checked_ms; /* a directory: when its names'
					    attributes were last listed
					    (atomic) */
};

RB_HEAD(objfs_ino_tree, objfs_inode);
RB_HEAD(objfs_key_tree, objfs_inode);

struct objfs_dirlist;

/*
 * An open file or directory.  refs counts the table's reference and every
 * call using the handle, so a release racing with a read (a guest may
 * send both at once) never frees it under the reader.
 */
struct dl_heads;

struct objfs_handle {
	RB_ENTRY(objfs_handle)	 entry;
	uint64_t		 fh;
	unsigned		 refs;
	bool			 released; /* under inode->lock */
	struct objfs_inode	*inode;	/* holds a reference */
	int			 flags;
	bool			 writable;
	bool			 is_dir;
	pthread_mutex_t		 lock;	/* reader, dir */
	struct store_reader	*reader;
	const char		*reader_of; /* the inode's key it reads */
	/* Readers of keys a rename took away, maybe still in use. */
	struct store_reader	*parked[OBJFS_PARKED_READERS];
	unsigned		 nparked;
	struct objfs_dirlist	*dir;	/* shared snapshot, referenced */
	bool			 dir_read; /* since dir was attached */
	struct dl_heads		*heads;	/* readdirplus: looked up ahead */
};

RB_HEAD(objfs_handle_tree, objfs_handle);

struct objfs {
	struct store		*store;
	struct objfs_options	 opts;
	char			*cache_dir;	/* for messages */
	int			 cache_fd;
	struct timespec		 start_time;
	uint64_t		 generation;
	pthread_rwlock_t	 ns_lock;
	pthread_mutex_t		 rename_locks[OBJFS_RENAME_LOCKS];
	pthread_rwlock_t	 table_lock;
	pthread_rwlock_t	 handle_lock;
	struct objfs_ino_tree	 inodes;
	struct objfs_key_tree	 keys;
	size_t			 ninodes;
	uint64_t		 next_ino;
	struct objfs_handle_tree handles;
	uint64_t		 next_fh;
	size_t			 nhandles;	/* atomic; open or in use */
	size_t			 max_handles;
	bool			 handles_warned; /* atomic */
	struct objfs_inode	*root;
	pthread_mutex_t		 listing_lock;	/* dir->listing, its refs */
	/* Snapshots kept after their last reader (objfs_dir.c), oldest first. */
	TAILQ_HEAD(, objfs_dirlist) idle_listings; /* under listing_lock */
	size_t			 nidle_listings;
	size_t			 idle_entries;

	struct objfs_dirfacts	*dirfacts;	/* objfs_dirfacts.c */
	struct objfs_dirnames	*dirnames;	/* objfs_dirnames.c */

	/* objfs_journal.c: this run's directory, -1 without a journal */
	int			 journal_fd;
	int			 journal_lock;
	bool			 punch_warned;	/* once: no holes in the cache */
	unsigned		 wake_gen;	/* atomic: objfs_wake_writers */
	char			 journal_run[48];
	struct objfs_recovery	 recovery;	/* what objfs_new found */

	/* objfs_trim.c */
	pthread_t		 trim_thread;
	pthread_mutex_t		 trim_lock;
	pthread_cond_t		 trim_wake;
	bool			 trim_running;
	bool			 trim_stop;
	size_t			 trim_pending;	/* freed since the last trim */
};

/* objfs.c */
int	objfs_child_key(const struct objfs *fs, const struct objfs_inode *dir,
	    const char *name, char **keyp);
char	*objfs_marker_key(const char *key);
char	*objfs_dir_prefix(const char *key);
int	objfs_child(struct objfs *fs, uint64_t parent, const char *name,
	    struct objfs_inode **dirp, char **keyp);
int	objfs_change_begin(struct objfs *fs, uint64_t parent,
	    const char *name, struct objfs_inode **dirp, char **keyp);
void	objfs_change_end(struct objfs *fs, struct objfs_inode *dir,
	    char *key);
bool	objfs_known_key(struct objfs *fs, const char *key,
	    struct store_attr *a, mode_t *type);
int	objfs_exists(struct objfs *fs, const char *key, mode_t *type);
int	objfs_exists_asked(struct objfs *fs, const char *key, mode_t *type,
	    struct store_attr *a, bool *asked);
int	objfs_absent(struct objfs *fs, const char *key, bool names_may_answer);
void	objfs_stat(struct objfs *fs, const struct objfs_inode *ino,
	    const struct store_attr *a, struct stat *st);
void	objfs_owner_attr(struct objfs *fs, const struct objfs_ctx *ctx,
	    struct objfs_inode *dir, mode_t mode, struct store_attr *a);
void	objfs_ns_read(struct objfs *fs);
void	objfs_ns_write(struct objfs *fs);
void	objfs_ns_unlock(struct objfs *fs);

/* objfs_dirnames.c */
int	objfs_dirnames_init(struct objfs *fs);
void	objfs_dirnames_free(struct objfs *fs);
void	objfs_dirnames_new(struct objfs *fs, const char *dir);
void	objfs_dirnames_add(struct objfs *fs, const char *dir, const char *name);
void	objfs_dirnames_remove(struct objfs *fs, const char *dir,
	    const char *name);
void	objfs_dirnames_forget(struct objfs *fs, const char *dir);
bool	objfs_dirnames_absent(struct objfs *fs, const char *dir,
	    const char *name);
bool	objfs_dirnames_absent_key(struct objfs *fs, const char *key);

/* objfs_dirfacts.c */
int	objfs_dirfacts_init(struct objfs *fs);
void	objfs_dirfacts_free(struct objfs *fs);
void	objfs_dirfacts_changed(struct objfs *fs, const char *key, int subdirs);
void	objfs_dirfacts_subdirs(struct objfs *fs, const char *key, uint64_t n);
void	objfs_dirfacts_times_set(struct objfs *fs, const char *key);
void	objfs_dirfacts_forget(struct objfs *fs, const char *key);
void	objfs_dirfacts_apply(struct objfs *fs, const char *key,
	    struct stat *st);
bool	objfs_dirfacts_perm(struct objfs *fs, const char *key, mode_t *mode,
	    gid_t *gid);
void	objfs_dirfacts_marker_seen(struct objfs *fs, const char *key);
bool	objfs_dirfacts_has_marker(struct objfs *fs, const char *key);
bool	objfs_dirfacts_changed_at(struct objfs *fs, const char *key,
	    struct timespec *ts);

/* objfs_trim.c */
void	objfs_trim_start(struct objfs *fs);
void	objfs_trim_stop(struct objfs *fs);
void	objfs_trim_note(struct objfs *fs, size_t freed);

/* objfs_inode.c */
int	objfs_inode_init_table(struct objfs *fs);
void	objfs_inode_free_table(struct objfs *fs);
struct objfs_inode *objfs_inode_get(struct objfs *fs, uint64_t ino);
struct objfs_inode *objfs_inode_by_key(struct objfs *fs, const char *key);
int	objfs_inode_intern(struct objfs *fs, const char *key, mode_t type,
	    struct objfs_inode **inop);
void	objfs_inode_put(struct objfs *fs, struct objfs_inode *ino);
void	objfs_inode_count_lookup(struct objfs *fs, struct objfs_inode *ino);
void	objfs_inode_detach(struct objfs *fs, struct objfs_inode *ino);
int	objfs_inode_rekey(struct objfs *fs, struct objfs_inode *ino,
	    const char *newkey);
const char *objfs_inode_key(const struct objfs_inode *ino);
bool	objfs_inode_key_moved(const struct objfs_inode *ino, const char *used);
bool	objfs_inode_may_rekey_shared(const struct objfs_inode *ino);
int	objfs_inode_rekey_shared(struct objfs *fs, struct objfs_inode *ino,
	    const char *newkey, struct objfs_inode *held);
void	objfs_inode_displace(struct objfs *fs, struct objfs_inode *ino);
void	objfs_inode_forget_all(struct objfs *fs);
int	objfs_inode_collect_staged(struct objfs *fs,
	    struct objfs_inode ***listp, size_t *np);

/* objfs_attr.c */
void	objfs_attr_forget(struct objfs_inode *ino);
bool	objfs_known_attr(struct objfs *fs, struct objfs_inode *ino,
	    struct store_attr *a);
int	objfs_staged_attr(struct objfs *fs, struct objfs_inode *ino,
	    struct store_attr *a, struct objfs_inode *dir, uint64_t gen);
int	objfs_head_inode(struct objfs *fs, struct objfs_inode *ino,
	    struct store_attr *a);
int	objfs_head_fresh(struct objfs *fs, struct objfs_inode *ino,
	    struct store_attr *a);
mode_t	objfs_object_type(const struct store_attr *a);
int	objfs_resolve(struct objfs *fs, const char *key,
	    struct store_attr *a, mode_t *type);
bool	objfs_attr_confirm(struct objfs *fs, struct objfs_inode *dir,
	    uint64_t gen, const char *key, uint64_t version);
int	objfs_entry_made(struct objfs *fs, const char *key,
	    const struct store_attr *a, struct objfs_entry *e);
int	objfs_entry_for(struct objfs *fs, struct objfs_inode *dir,
	    const char *name, struct objfs_entry *e,
	    struct objfs_inode **inop);
int	objfs_fill_entry(struct objfs *fs, struct objfs_inode *ino,
	    const struct store_attr *a, struct objfs_entry *e);

/* objfs_journal.c, objfs_recover.c */
int	objfs_journal_open(struct objfs *fs);
void	objfs_journal_close(struct objfs *fs);
int	objfs_journal_spill(struct objfs *fs, struct objfs_stage *s);
int	objfs_journal_format(const struct objfs_jrec *r, struct dbuf *b);
int	objfs_jrec_parse(char *text, struct objfs_jrec *r);
void	objfs_jrec_free(struct objfs_jrec *r);
int	objfs_journal_note(struct objfs *fs, struct objfs_stage *s,
	    const char *key);
int	objfs_journal_upload(struct objfs *fs, struct objfs_stage *s,
	    const char *key);
int	objfs_journal_sum(int fd, uint64_t size, uint64_t *sum);
int	objfs_journal_sync(struct objfs *fs, struct objfs_stage *s,
	    const char *key);
void	objfs_journal_clean(struct objfs *fs, struct objfs_stage *s);
void	objfs_journal_drop(struct objfs *fs, struct objfs_stage *s);
int	objfs_journal_lost(struct objfs *fs, struct objfs_stage *s,
	    const char *key, const char *why);
int	objfs_lost_found(struct objfs *fs, int dirfd, const char *name, int fd,
	    uint64_t size, const char *key, const char *why);
void	objfs_journal_recover(struct objfs *fs, struct objfs_recovery *out);

/* objfs_stage.c */
void	objfs_stage_free(struct objfs *fs, struct objfs_stage *s);
int	objfs_stage_fd(struct objfs *fs, struct objfs_stage *s, int *fdp);
void	objfs_stage_fd_done(struct objfs *fs, struct objfs_stage *s);
int	objfs_stage_read(struct objfs *fs, struct objfs_stage *s, uint64_t off,
	    const struct iovec *iov, unsigned iovcnt, size_t *got);
int	objfs_stage_write(struct objfs *fs, struct objfs_stage *s,
	    uint64_t off, const struct iovec *iov, unsigned iovcnt,
	    size_t *written);
int	objfs_stage_dirty(struct objfs *fs, struct objfs_inode *ino);
int	objfs_stage_touch(struct objfs *fs, struct objfs_inode *ino);
int	objfs_stage_ftruncate(struct objfs *fs, struct objfs_stage *s,
	    uint64_t size);
int	objfs_stage_open(struct objfs *fs, struct objfs_inode *ino,
	    bool load, const struct store_attr *meta);
int	objfs_stage_upload(struct objfs *fs, struct objfs_inode *ino);
int	objfs_copy_in(struct objfs *fs, const char *key, int fd, uint64_t off,
	    uint64_t end, uint64_t *endp);
int	objfs_stage_meta(struct objfs *fs, const struct objfs_stage *s,
	    struct store_attr *meta);
int	objfs_stage_conflict(struct objfs *fs, struct objfs_inode *ino);

/* objfs_stream.c: uploads while the file is written */
int	objfs_stream_before_write(struct objfs *fs, struct objfs_inode *ino,
	    uint64_t off);
int	objfs_stream_after_write(struct objfs *fs, struct objfs_inode *ino,
	    uint64_t off, uint64_t end);
void	objfs_stream_resized(struct objfs_stage *s, uint64_t size);
int	objfs_stream_settle(struct objfs *fs, struct objfs_inode *ino);
void	objfs_stream_discard(struct objfs *fs, struct objfs_stage *s);
int	objfs_stream_settle_under(struct objfs *fs, const char *key,
	    bool tree);
int	objfs_stream_finish(struct objfs *fs, struct objfs_inode *ino,
	    struct store_cond *cond);
bool	objfs_stream_keep(struct objfs *fs, struct objfs_inode *ino);
void	objfs_stage_release(struct objfs *fs, struct objfs_inode *ino);
void	objfs_stage_unlinked(struct objfs *fs, struct objfs_inode *ino);
void	objfs_stage_rebase(struct objfs *fs, struct objfs_inode *ino);
void	objfs_stage_rebase_locked(struct objfs *fs, struct objfs_inode *ino);
int	objfs_spill_create(struct objfs *fs);

/* objfs_handle.c */
int	objfs_handle_new(struct objfs *fs, struct objfs_inode *ino, int flags,
	    bool is_dir, uint64_t *fhp);
int	objfs_handle_new_file(struct objfs *fs, struct objfs_inode *ino,
	    int flags, struct store_reader *r, const char *reader_of,
	    uint64_t *fhp);
struct objfs_handle *objfs_handle_get(struct objfs *fs, uint64_t fh,
	    bool is_dir);
void	objfs_handle_put(struct objfs *fs, struct objfs_handle *h);
int	objfs_handle_release(struct objfs *fs, uint64_t fh, bool is_dir);
void	objfs_handle_close_all(struct objfs *fs);

/* objfs_dir.c */
int	objfs_dirlist_get(struct objfs *fs, struct objfs_inode *dir,
	    struct objfs_dirlist **dp);
void	objfs_dirlist_put(struct objfs *fs, struct objfs_dirlist *d);
void	objfs_dir_heads_free(struct objfs *fs, struct objfs_handle *h);
void	objfs_dirlist_changed(struct objfs_inode *dir);
void	objfs_dirlist_drop_idle(struct objfs *fs, struct objfs_inode *dir);

#endif
