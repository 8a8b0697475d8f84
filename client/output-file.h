/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A file that receives a secret (a config, a QR code image), made ready before the secret
 * exists: the new file is created next to its final name (mode 0600, O_EXCL) and the name
 * is checked to be free, so that a call that hands out a key only once (AddPeer in a
 * one-time network) is made only when its result has somewhere to go. Then the data is
 * written, synced and moved into place: the file appears whole or not at all.
 * No output: the caller reports the errors. */

#include <stdbool.h>
#include <stddef.h>

typedef struct OutputFile {
        char *path;             /* the final name */
        char *tmp;              /* the new file until it is moved into place */
        int fd;                 /* open on tmp, until commit */
        bool replace;           /* an existing file at path may be replaced (--force) */
} OutputFile;

#define OUTPUT_FILE_INIT { .fd = -1 }

/* Create the new file next to path and check that path is free (unless replace).
 * -EEXIST if path exists and replace is false; -EISDIR if it is a directory; else -errno
 * (the directory does not exist or is not writable). On failure nothing is left behind. */
int output_file_prepare(OutputFile *f, const char *path, bool replace);

/* Write data into the new file, sync it and move it to the final name: renameat2() with
 * RENAME_NOREPLACE, or where the kernel or file system cannot do that a hard link, or where
 * there are none either (vfat, exFAT) a rename after checking the name again; rename()
 * when replace. -EEXIST if a file appeared there meanwhile (and not replace). *ret_step
 * names the call that failed ("write", "fsync", "renameat2 RENAME_NOREPLACE", "link",
 * "rename"); the
 * new file stays until output_file_done(). */
int output_file_commit(OutputFile *f, const void *data, size_t size, const char **ret_step);

/* Remove the new file if it was not moved into place; free everything. */
void output_file_done(OutputFile *f);
