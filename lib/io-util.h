/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* All n bytes, through EINTR and short transfers. read_exact: -EBADMSG when the other end
 * ends first; both: -errno of a failed call. */
int read_exact(int fd, void *buf, size_t n);
int write_all(int fd, const void *buf, size_t n);
