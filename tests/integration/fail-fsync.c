/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LD_PRELOAD for wgnetd in tests, two faults of the disk under the database:
 * - fsync() and fdatasync() fail with EIO while the file named by WGNET_FAIL_FSYNC exists
 *   (a disk that stops taking writes, as far as a commit can tell: wgnetd exits);
 * - writes to SQLite's write-ahead log fail with ENOSPC while the file named by
 *   WGNET_FAIL_WRITE exists (a full disk: SQLite answers SQLITE_FULL, the commit fails
 *   and the transaction is rolled back, so the caller's undo paths run). */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool flag_set(const char *env) {
        const char *flag = getenv(env);
        return flag && access(flag, F_OK) == 0;
}

/* The real function of that name, unless the flag file exists. */
static int fail_or_call(const char *name, int (**real)(int), int fd) {
        if (flag_set("WGNET_FAIL_FSYNC")) {
                errno = EIO;
                return -1;
        }
        if (!*real)
                *(void **) real = dlsym(RTLD_NEXT, name);       /* POSIX's way round ISO C */
        return (*real)(fd);
}

int fsync(int fd) {
        static int (*real)(int);
        return fail_or_call("fsync", &real, fd);
}

int fdatasync(int fd) {
        static int (*real)(int);
        return fail_or_call("fdatasync", &real, fd);
}

static bool is_wal(int fd) {
        char link[64], path[PATH_MAX];
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, path, sizeof(path) - 1);
        if (n < 4)
                return false;
        path[n] = '\0';
        return strcmp(path + n - 4, "-wal") == 0;
}

/* SQLite on Linux writes its files with pwrite64() only (libsqlite3 imports no pwrite). */
ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t offset) {
        static ssize_t (*real)(int, const void *, size_t, off64_t);

        if (flag_set("WGNET_FAIL_WRITE") && is_wal(fd)) {
                errno = ENOSPC;
                return -1;
        }
        if (!real)
                *(void **) &real = dlsym(RTLD_NEXT, "pwrite64");
        return real(fd, buf, n, offset);
}
