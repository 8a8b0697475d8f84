/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "io-util.h"
#include "macro.h"

int read_exact(int fd, void *buf, size_t n) {
        for (uint8_t *b = buf; n > 0;) {
                ssize_t k = read(fd, b, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        return -EBADMSG;        /* shorter than it said */
                b += k;
                n -= (size_t) k;
        }
        return 0;
}

int write_all(int fd, const void *buf, size_t n) {
        for (const uint8_t *b = buf; n > 0;) {
                ssize_t k = write(fd, b, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                b += k;
                n -= (size_t) k;
        }
        return 0;
}
