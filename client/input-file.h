/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A text file that may hold secrets (a wg-quick config with private keys, a pairing string
 * or invitation on stdin), read whole without leaving copies in freed memory. No output:
 * the caller reports the errors. */

#include <stddef.h>

/* Read path ("-": stdin) into a NUL-terminated string of at most max bytes. A regular
 * file is read into one buffer of its size; a pipe into buffers that double, each old one
 * wiped when its contents move; read(2), not stdio, whose buffer would be another copy.
 * -EFBIG when longer than max, -EBADMSG when it contains a NUL byte, else -errno.
 * *ret is malloc'd: wipe it before freeing it. */
int input_file_read(const char *path, size_t max, char **ret);
