/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* XChaCha20-Poly1305 (IETF) for secrets at rest, and the key file it uses. */

#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>

#include "io-util.h"
#include "macro.h"
#include "secretbox.h"

#define IN_SET(x, a, b, c) ((x) == (a) || (x) == (b) || (x) == (c))

int secretbox_seal(const uint8_t key[SECRETBOX_KEY_LEN],
                   const void *plain, size_t plain_len,
                   const void *ad, size_t ad_len,
                   uint8_t *out, size_t out_size, size_t *ret_len) {
        unsigned long long clen = 0;

        if (!key || !out || (!plain && plain_len > 0) || (!ad && ad_len > 0))
                return -EINVAL;
        if (plain_len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
            plain_len > SIZE_MAX - SECRETBOX_OVERHEAD)
                return -EMSGSIZE;
        if (out_size < plain_len + SECRETBOX_OVERHEAD)
                return -ENOBUFS;
        if (sodium_init() < 0)
                return -EIO;

        randombytes_buf(out, SECRETBOX_NONCE_LEN);
        if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + SECRETBOX_NONCE_LEN, &clen,
                                                       plain, plain_len, ad, ad_len,
                                                       NULL, out, key) != 0)
                return -EIO;

        if (ret_len)
                *ret_len = SECRETBOX_NONCE_LEN + (size_t) clen;
        return 0;
}

int secretbox_open(const uint8_t key[SECRETBOX_KEY_LEN],
                   const uint8_t *sealed, size_t sealed_len,
                   const void *ad, size_t ad_len,
                   uint8_t *out, size_t out_size, size_t *ret_len) {
        unsigned long long mlen = 0;
        size_t plain_len;
        int r;

        if (!key || !sealed || (!ad && ad_len > 0) || (!out && out_size > 0)) {
                r = -EINVAL;
                goto fail;
        }
        if (sealed_len < SECRETBOX_OVERHEAD) {
                r = -EINVAL;
                goto fail;
        }
        plain_len = sealed_len - SECRETBOX_OVERHEAD;
        if (out_size < plain_len) {
                r = -ENOBUFS;
                goto fail;
        }
        if (sodium_init() < 0) {
                r = -EIO;
                goto fail;
        }

        if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL,
                                                       sealed + SECRETBOX_NONCE_LEN,
                                                       sealed_len - SECRETBOX_NONCE_LEN,
                                                       ad, ad_len, sealed, key) != 0) {
                r = -EBADMSG;
                goto fail;
        }

        if (ret_len)
                *ret_len = (size_t) mlen;
        return 0;

fail:
        if (out && out_size > 0)
                sodium_memzero(out, out_size);
        return r;
}

static int key_read_fd(int fd, uint8_t ret_key[SECRETBOX_KEY_LEN]) {
        uint8_t key[SECRETBOX_KEY_LEN + 1];
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        if ((st.st_mode & (S_IRWXG | S_IRWXO)) || st.st_uid != geteuid())
                return -EPERM;          /* readable by others, or someone else's key */
        if (st.st_size != SECRETBOX_KEY_LEN)
                return -EBADMSG;

        r = read_exact(fd, key, SECRETBOX_KEY_LEN);
        if (r >= 0) {
                /* the file must end here, even if it grew since fstat() */
                ssize_t k = read(fd, key + SECRETBOX_KEY_LEN, 1);
                if (k < 0)
                        r = negative_errno();
                else if (k > 0)
                        r = -EBADMSG;
        }
        if (r >= 0)
                memcpy(ret_key, key, SECRETBOX_KEY_LEN);
        sodium_memzero(key, sizeof(key));
        return r;
}

/* Splits path into an fd of its directory and a pointer to its last component. */
static int open_parent(const char *path, const char **ret_name) {
        const char *slash = strrchr(path, '/');
        char *dir;
        int fd;

        if (!slash) {
                *ret_name = path;
                dir = strdup(".");
        } else {
                *ret_name = slash + 1;
                dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        }
        if (!dir)
                return -ENOMEM;
        if (isempty(*ret_name) || streq(*ret_name, ".") || streq(*ret_name, "..")) {
                free(dir);
                return -EINVAL;
        }

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        free(dir);
        if (fd < 0)
                return negative_errno();
        return fd;
}

/* Writes the key to fd, which is empty, and makes it durable. */
static int key_write_fd(int fd, const uint8_t key[SECRETBOX_KEY_LEN]) {
        int r;

        if (fchmod(fd, 0600) < 0)
                return negative_errno();
        r = write_all(fd, key, SECRETBOX_KEY_LEN);
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

/* O_TMPFILE: the file has no name until linkat() gives it one; linkat() never replaces an
 * existing name (EEXIST). Returns -EOPNOTSUPP when the file system or /proc cannot do it. */
static int key_create_tmpfile(int dir_fd, const char *name, const uint8_t key[SECRETBOX_KEY_LEN]) {
        _cleanup_(closep) int fd = -EBADF;
        char proc[64];
        int r;

        fd = openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) {
                /* old kernels say EISDIR, some file systems EOPNOTSUPP */
                if (IN_SET(errno, EOPNOTSUPP, EISDIR, EINVAL))
                        return -EOPNOTSUPP;
                return negative_errno();
        }
        r = key_write_fd(fd, key);
        if (r < 0)
                return r;

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, proc, dir_fd, name, AT_SYMLINK_FOLLOW) < 0) {
                if (errno == ENOENT && access("/proc/self/fd", F_OK) < 0)
                        return -EOPNOTSUPP;     /* no /proc */
                return negative_errno();
        }
        return 0;
}

/* Fallback: a named temporary file (O_EXCL), link() to the final name (never replaces),
 * then remove the temporary name. */
static int key_create_named(int dir_fd, const char *name, const uint8_t key[SECRETBOX_KEY_LEN]) {
        _cleanup_(closep) int fd = -EBADF;
        char tmp[NAME_MAX + 1];
        uint8_t rnd[8];
        int r;

        randombytes_buf(rnd, sizeof(rnd));
        r = snprintf(tmp, sizeof(tmp), ".#%.200s.%02x%02x%02x%02x%02x%02x%02x%02x", name,
                     rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        if (r < 0 || (size_t) r >= sizeof(tmp))
                return -ENAMETOOLONG;

        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        r = key_write_fd(fd, key);
        if (r >= 0 && linkat(dir_fd, tmp, dir_fd, name, 0) < 0)
                r = negative_errno();
        (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

static int key_create(const char *path, uint8_t ret_key[SECRETBOX_KEY_LEN]) {
        _cleanup_(closep) int dir_fd = -EBADF;
        uint8_t key[SECRETBOX_KEY_LEN];
        const char *name;
        int r;

        dir_fd = open_parent(path, &name);
        if (dir_fd < 0)
                return dir_fd;
        if (sodium_init() < 0)
                return -EIO;

        randombytes_buf(key, sizeof(key));
        r = key_create_tmpfile(dir_fd, name, key);
        if (r == -EOPNOTSUPP)
                r = key_create_named(dir_fd, name, key);
        if (r >= 0) {
                /* make the new name durable */
                if (fsync(dir_fd) < 0)
                        r = negative_errno();
                else
                        memcpy(ret_key, key, SECRETBOX_KEY_LEN);
        }
        sodium_memzero(key, sizeof(key));
        return r;
}

int secretbox_key_load(const char *path, int create, uint8_t ret_key[SECRETBOX_KEY_LEN]) {
        if (isempty(path) || !ret_key)
                return -EINVAL;

        /* Two rounds: if another process creates the file between our open() and our link(),
         * link() fails with EEXIST and we load theirs. */
        for (unsigned attempt = 0; attempt < 2; attempt++) {
                _cleanup_(closep) int fd = -EBADF;
                int r;

                /* O_NONBLOCK: a FIFO in its place must not hang us; no effect on files */
                fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
                if (fd >= 0)
                        return key_read_fd(fd, ret_key);
                if (errno != ENOENT || !create)
                        return negative_errno();

                r = key_create(path, ret_key);
                if (r != -EEXIST)
                        return r;
        }
        return -EEXIST;
}
