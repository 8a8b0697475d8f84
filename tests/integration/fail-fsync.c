/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LD_PRELOAD for wgnetd in tests: fsync() and fdatasync() fail with EIO while the file
 * named by WGNET_FAIL_FSYNC exists (a disk that stops taking writes, as far as a commit
 * can tell). */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int failing(void) {
        const char *flag = getenv("WGNET_FAIL_FSYNC");
        return flag && access(flag, F_OK) == 0;
}

/* The real function of that name, unless the flag file exists. */
static int fail_or_call(const char *name, int (**real)(int), int fd) {
        if (failing()) {
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
