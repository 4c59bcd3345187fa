/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Giving memory back.  When a guest forgets a big directory listing, the
 * inodes and names it took are freed, but the allocator keeps freed chunks
 * that sit between live ones: the daemon would stay at its high-water
 * mark.  A housekeeping thread trims the heaps once things have been
 * freed in bulk, off the request path and at most once a second.  Under
 * steady load the per-thread heaps drift up too (a 4-minute soak on s3:
 * kept 1.4 MiB more of freed memory, all of it given back by a trim), so
 * it also trims every TRIM_PERIOD_S whatever was freed.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "objfs_internal.h"

/* Inodes and listing entries freed before a trim is worth it. */
#define TRIM_WORTH	4096
#define TRIM_PERIOD_S	30

void
objfs_trim_note(struct objfs *fs, size_t freed)
{
	__atomic_add_fetch(&fs->trim_pending, freed, __ATOMIC_RELAXED);
}

static void *
objfs_trim_thread(void *arg)
{
	struct objfs *fs = arg;

	unsigned idle = 0;

	pthread_mutex_lock(&fs->trim_lock);
	while (!fs->trim_stop) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec++;
		pthread_cond_timedwait(&fs->trim_wake, &fs->trim_lock, &until);
		if (__atomic_load_n(&fs->trim_pending, __ATOMIC_RELAXED) <
		    TRIM_WORTH && ++idle < TRIM_PERIOD_S)
			continue;
		idle = 0;
		__atomic_store_n(&fs->trim_pending, 0, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&fs->trim_lock);
		malloc_trim(0);
		pthread_mutex_lock(&fs->trim_lock);
	}
	pthread_mutex_unlock(&fs->trim_lock);
	return NULL;
}

void
objfs_trim_start(struct objfs *fs)
{
	sigset_t all, old;
	int rc;

	pthread_mutex_init(&fs->trim_lock, NULL);
	pthread_cond_init(&fs->trim_wake, NULL);
	/* Signals are for the main thread's signalfd, never for this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&fs->trim_thread, NULL, objfs_trim_thread, fs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	fs->trim_running = rc == 0;
	if (rc != 0)
		log_warnx("no housekeeping thread (%s): freed memory stays "
		    "with the process", strerror(rc));
}

void
objfs_trim_stop(struct objfs *fs)
{
	if (fs->trim_running) {
		pthread_mutex_lock(&fs->trim_lock);
		fs->trim_stop = true;
		pthread_cond_signal(&fs->trim_wake);
		pthread_mutex_unlock(&fs->trim_lock);
		pthread_join(fs->trim_thread, NULL);
		fs->trim_running = false;
	}
	pthread_cond_destroy(&fs->trim_wake);
	pthread_mutex_destroy(&fs->trim_lock);
}
