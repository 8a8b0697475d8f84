/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input-file.h"
#include "macro.h"

/* A buffer that may hold a private key: wiped before it is freed. */
static void wipe_buffer_free(char *buf, size_t size) {
        if (buf)
                explicit_bzero(buf, size);
        free(buf);
}

int input_file_read(const char *path, size_t max, char **ret) {
        _cleanup_(closep) int fd = -EBADF;
        int in = STDIN_FILENO, r;
        struct stat st;
        size_t size = 0, len = 0, initial = 4096;
        char *buf = NULL;

        if (strcmp(path, "-") != 0) {
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return -errno;
                in = fd;
        }
        if (fstat(in, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode)) {
                if ((uint64_t) st.st_size > max)
                        return -EFBIG;
                initial = (size_t) st.st_size + 2;      /* the NUL, and a byte to see it grow */
        }
        for (;;) {
                if (size - len < 2) {
                        if (size >= max + 2) {
                                r = -EFBIG;
                                break;
                        }
                        size_t want = MIN(MAX(size * 2, initial), max + 2);
                        char *nb = malloc(want);
                        if (!nb) {
                                r = -ENOMEM;
                                break;
                        }
                        memcpy_safe(nb, buf, len);
                        wipe_buffer_free(buf, size);
                        buf = nb;
                        size = want;
                }
                ssize_t k = read(in, buf + len, size - len - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = k < 0 ? -errno : 0;
                        break;
                }
                len += (size_t) k;
                if (len > max) {
                        r = -EFBIG;
                        break;
                }
        }
        if (r == 0) {
                buf[len] = 0;
                if (strlen(buf) != len)
                        r = -EBADMSG;
        }
        if (r < 0) {
                wipe_buffer_free(buf, size);
                return r;
        }
        *ret = buf;
        return 0;
}
