/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io-util.h"
#include "macro.h"
#include "output-file.h"

int output_file_prepare(OutputFile *f, const char *path, bool replace) {
        _cleanup_(freep) char *p = NULL, *tmp = NULL;
        struct stat st;
        int fd;

        if (lstat(path, &st) == 0) {
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                if (!replace)
                        return -EEXIST;
        } else if (errno != ENOENT)
                return -errno;
        p = strdup(path);
        if (!p || asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);          /* 0600, O_EXCL: never a planted file */
        if (fd < 0)
                return -errno;
        *f = (OutputFile) { .path = TAKE_PTR(p), .tmp = TAKE_PTR(tmp), .fd = fd, .replace = replace };
        return 0;
}

static bool errno_is_unsupported(int e) {
        return e == EINVAL || e == ENOSYS || e == EPERM || e == EOPNOTSUPP;
}

static int move_into_place(const OutputFile *f, const char **ret_step) {
        struct stat st;

        /* rename() replaces the file at path (a symbolic link itself, never its target). */
        if (f->replace) {
                *ret_step = "rename";
                return rename(f->tmp, f->path) < 0 ? -errno : 0;
        }
        /* Without --force the name must still be free: renameat2() refuses an existing
         * name atomically, also one created since output_file_prepare(). */
        *ret_step = "renameat2 RENAME_NOREPLACE";
        if (renameat2(AT_FDCWD, f->tmp, AT_FDCWD, f->path, RENAME_NOREPLACE) == 0)
                return 0;
        if (!errno_is_unsupported(errno))
                return -errno;
        /* The kernel or the file system cannot (NFS, some FUSE file systems): a hard link
         * refuses an existing name as well. */
        *ret_step = "link";
        if (link(f->tmp, f->path) == 0) {
                (void) unlink(f->tmp);
                return 0;
        }
        if (!errno_is_unsupported(errno))
                return -errno;
        /* No hard links either (vfat, exFAT): check the name again and rename. Only a file
         * made between these two steps could be replaced. */
        *ret_step = "rename";
        if (lstat(f->path, &st) == 0)
                return -EEXIST;
        if (errno != ENOENT)
                return -errno;
        return rename(f->tmp, f->path) < 0 ? -errno : 0;
}

int output_file_commit(OutputFile *f, const void *data, size_t size, const char **ret_step) {
        const char *step = "write";
        int r = write_all(f->fd, data, size);
        if (r == 0 && fsync(f->fd) < 0) {
                step = "fsync";
                r = -errno;
        }
        if (close(f->fd) < 0 && r == 0) {
                step = "write";
                r = -errno;
        }
        f->fd = -1;
        if (r == 0)
                r = move_into_place(f, &step);
        if (r < 0) {
                if (ret_step)
                        *ret_step = step;
                return r;
        }
        free(f->tmp);
        f->tmp = NULL;
        return 0;
}

void output_file_done(OutputFile *f) {
        if (f->fd >= 0)
                close(f->fd);
        if (f->tmp)
                (void) unlink(f->tmp);
        free(f->tmp);
        free(f->path);
        *f = (OutputFile) OUTPUT_FILE_INIT;
}
