/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "secretbox.h"
#include "test.h"

static const char AD[] = "peer:42:private_key";

static void fill(uint8_t *p, size_t n, uint8_t seed) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (seed + i * 131);
}

static int streq_dot(const char *name) {
        return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

static int key_eq(const uint8_t *a, const uint8_t *b) {
        return memcmp(a, b, SECRETBOX_KEY_LEN) == 0;
}

static int all_zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return 0;
        return 1;
}

static void test_round_trip_one(size_t len) {
        uint8_t key[SECRETBOX_KEY_LEN], *plain, *sealed, *out;
        size_t n = 0, m = 0;

        fill(key, sizeof(key), 7);
        plain = malloc(len + 1);
        sealed = malloc(len + SECRETBOX_OVERHEAD);
        out = malloc(len + 1);
        ASSERT_TRUE(plain && sealed && out);
        fill(plain, len, 1);

        ASSERT_OK(secretbox_seal(key, plain, len, AD, strlen(AD), sealed, len + SECRETBOX_OVERHEAD, &n));
        ASSERT_EQ(n, len + SECRETBOX_OVERHEAD);
        if (len >= 16)
                ASSERT_TRUE(memcmp(sealed + SECRETBOX_NONCE_LEN, plain, len) != 0);
        ASSERT_OK(secretbox_open(key, sealed, n, AD, strlen(AD), out, len + 1, &m));
        ASSERT_EQ(m, len);
        ASSERT_MEMEQ(out, plain, len);
        free(plain);
        free(sealed);
        free(out);
}

TEST(round_trip) {
        static const size_t lens[] = { 0, 1, 15, 16, 17, 32, 44, 1000, 65536 };

        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
                test_round_trip_one(lens[i]);

        /* no associated data at all */
        uint8_t key[SECRETBOX_KEY_LEN] = { 1 }, sealed[32 + SECRETBOX_OVERHEAD], out[32];
        size_t n, m;
        ASSERT_OK(secretbox_seal(key, "0123456789abcdef0123456789abcdef", 32, NULL, 0, sealed, sizeof(sealed), &n));
        ASSERT_OK(secretbox_open(key, sealed, n, NULL, 0, out, sizeof(out), &m));
        ASSERT_EQ(m, 32);
        ASSERT_MEMEQ(out, "0123456789abcdef0123456789abcdef", 32);
}

TEST(fresh_nonce) {
        uint8_t key[SECRETBOX_KEY_LEN] = { 3 }, a[32 + SECRETBOX_OVERHEAD], b[32 + SECRETBOX_OVERHEAD];
        size_t n;

        ASSERT_OK(secretbox_seal(key, "same plaintext, same key, again!", 32, AD, strlen(AD), a, sizeof(a), &n));
        ASSERT_OK(secretbox_seal(key, "same plaintext, same key, again!", 32, AD, strlen(AD), b, sizeof(b), &n));
        ASSERT_TRUE(memcmp(a, b, SECRETBOX_NONCE_LEN) != 0);
        ASSERT_TRUE(memcmp(a, b, sizeof(a)) != 0);
}

TEST(rejections) {
        uint8_t key[SECRETBOX_KEY_LEN], key2[SECRETBOX_KEY_LEN], plain[44];
        uint8_t sealed[sizeof(plain) + SECRETBOX_OVERHEAD], out[sizeof(plain)];
        size_t n = 0, m = 12345;

        fill(key, sizeof(key), 9);
        memcpy(key2, key, sizeof(key2));
        key2[31] ^= 1;
        fill(plain, sizeof(plain), 5);
        ASSERT_OK(secretbox_seal(key, plain, sizeof(plain), AD, strlen(AD), sealed, sizeof(sealed), &n));

        /* wrong key */
        memset(out, 0xee, sizeof(out));
        ASSERT_ERR(secretbox_open(key2, sealed, n, AD, strlen(AD), out, sizeof(out), &m), EBADMSG);
        ASSERT_TRUE(all_zero(out, sizeof(out)));
        ASSERT_EQ(m, 12345);

        /* wrong associated data: other row, other column, none, a prefix */
        ASSERT_ERR(secretbox_open(key, sealed, n, "peer:43:private_key", strlen(AD), out, sizeof(out), &m), EBADMSG);
        ASSERT_ERR(secretbox_open(key, sealed, n, "peer:42:preshared_key", 21, out, sizeof(out), &m), EBADMSG);
        ASSERT_ERR(secretbox_open(key, sealed, n, NULL, 0, out, sizeof(out), &m), EBADMSG);
        ASSERT_ERR(secretbox_open(key, sealed, n, AD, strlen(AD) - 1, out, sizeof(out), &m), EBADMSG);

        /* every bit of every byte: nonce, ciphertext and tag */
        for (size_t i = 0; i < n; i++)
                for (unsigned bit = 0; bit < 8; bit++) {
                        sealed[i] ^= (uint8_t) (1u << bit);
                        memset(out, 0xee, sizeof(out));
                        ASSERT_ERR(secretbox_open(key, sealed, n, AD, strlen(AD), out, sizeof(out), &m), EBADMSG);
                        ASSERT_TRUE(all_zero(out, sizeof(out)));
                        sealed[i] ^= (uint8_t) (1u << bit);
                }

        /* truncated or extended blob */
        ASSERT_ERR(secretbox_open(key, sealed, n - 1, AD, strlen(AD), out, sizeof(out), &m), EBADMSG);

        /* too short to hold nonce and tag */
        for (size_t len = 0; len < SECRETBOX_OVERHEAD; len++) {
                memset(out, 0xee, sizeof(out));
                ASSERT_ERR(secretbox_open(key, sealed, len, AD, strlen(AD), out, sizeof(out), &m), EINVAL);
                ASSERT_TRUE(all_zero(out, sizeof(out)));
        }

        /* output buffers too small */
        ASSERT_ERR(secretbox_open(key, sealed, n, AD, strlen(AD), out, sizeof(out) - 1, &m), ENOBUFS);
        ASSERT_ERR(secretbox_seal(key, plain, sizeof(plain), AD, strlen(AD), sealed, sizeof(sealed) - 1, &n), ENOBUFS);
        ASSERT_ERR(secretbox_seal(key, plain, sizeof(plain), AD, strlen(AD), sealed, 0, &n), ENOBUFS);

        /* the blob is still good after all that */
        ASSERT_OK(secretbox_open(key, sealed, sizeof(sealed), AD, strlen(AD), out, sizeof(out), &m));
        ASSERT_EQ(m, sizeof(plain));
        ASSERT_MEMEQ(out, plain, sizeof(plain));

        /* an empty plaintext still authenticates */
        uint8_t e[SECRETBOX_OVERHEAD];
        ASSERT_OK(secretbox_seal(key, NULL, 0, AD, strlen(AD), e, sizeof(e), &n));
        ASSERT_EQ(n, SECRETBOX_OVERHEAD);
        ASSERT_OK(secretbox_open(key, e, n, AD, strlen(AD), NULL, 0, &m));
        ASSERT_EQ(m, 0);
        ASSERT_ERR(secretbox_open(key2, e, n, AD, strlen(AD), NULL, 0, &m), EBADMSG);
}

/* A temporary directory for key files, and helpers to look at them. */
static char tmpdir[64];

static const char *make_tmpdir(void) {
        strcpy(tmpdir, "/tmp/test-secretbox-XXXXXX");
        if (!mkdtemp(tmpdir))
                abort();
        return tmpdir;
}

static void rm_tmpdir(void) {
        DIR *d = opendir(tmpdir);
        struct dirent *de;
        char p[512];

        if (!d)
                return;
        while ((de = readdir(d))) {
                if (streq_dot(de->d_name))
                        continue;
                snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
                if (unlink(p) < 0)
                        rmdir(p);
        }
        closedir(d);
        rmdir(tmpdir);
}

static unsigned count_entries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d)))
                if (!streq_dot(de->d_name))
                        n++;
        closedir(d);
        return n;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0 || write(fd, data, len) != (ssize_t) len || fchmod(fd, mode) < 0)
                abort();
        close(fd);
}

static size_t read_file(const char *path, uint8_t *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return (size_t) -1;
        ssize_t n = read(fd, buf, size);
        close(fd);
        return (size_t) n;
}

TEST(key_file_create_load) {
        uint8_t k1[SECRETBOX_KEY_LEN], k2[SECRETBOX_KEY_LEN], disk[64];
        char path[128];
        struct stat st;

        make_tmpdir();
        snprintf(path, sizeof(path), "%s/secret.key", tmpdir);

        ASSERT_ERR(secretbox_key_load(path, 0, k1), ENOENT);
        ASSERT_EQ(count_entries(tmpdir), 0);

        mode_t old = umask(0);          /* the mode must not depend on the umask */
        ASSERT_OK(secretbox_key_load(path, 1, k1));
        umask(old);
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_EQ(st.st_size, SECRETBOX_KEY_LEN);
        ASSERT_EQ(read_file(path, disk, sizeof(disk)), SECRETBOX_KEY_LEN);
        ASSERT_MEMEQ(disk, k1, SECRETBOX_KEY_LEN);
        ASSERT_FALSE(all_zero(k1, sizeof(k1)));
        ASSERT_EQ(count_entries(tmpdir), 1);    /* no temporary file left behind */

        ASSERT_OK(secretbox_key_load(path, 0, k2));
        ASSERT_MEMEQ(k1, k2, SECRETBOX_KEY_LEN);
        ASSERT_OK(secretbox_key_load(path, 1, k2));
        ASSERT_MEMEQ(k1, k2, SECRETBOX_KEY_LEN);

        /* read-only for the owner is fine (systemd credentials are 0400) */
        ASSERT_EQ(chmod(path, 0400), 0);
        ASSERT_OK(secretbox_key_load(path, 1, k2));
        ASSERT_MEMEQ(k1, k2, SECRETBOX_KEY_LEN);

        /* a relative path */
        char cwd[256];
        ASSERT_TRUE(getcwd(cwd, sizeof(cwd)));
        ASSERT_EQ(chdir(tmpdir), 0);
        ASSERT_OK(secretbox_key_load("secret.key", 0, k2));
        ASSERT_MEMEQ(k1, k2, SECRETBOX_KEY_LEN);
        ASSERT_OK(secretbox_key_load("other.key", 1, k2));
        ASSERT_FALSE(key_eq(k1, k2));
        ASSERT_EQ(chdir(cwd), 0);

        /* bad paths */
        snprintf(path, sizeof(path), "%s/missing-dir/secret.key", tmpdir);
        ASSERT_ERR(secretbox_key_load(path, 1, k2), ENOENT);
        snprintf(path, sizeof(path), "%s/", tmpdir);
        ASSERT_TRUE(secretbox_key_load(path, 1, k2) < 0);
        ASSERT_ERR(secretbox_key_load("", 1, k2), EINVAL);
        ASSERT_ERR(secretbox_key_load(tmpdir, 1, k2), EBADMSG);        /* a directory */
        rm_tmpdir();
}

static void test_mode_one(mode_t mode, int expected) {
        uint8_t k[SECRETBOX_KEY_LEN] = { 1, 2, 3 }, disk[64], out[SECRETBOX_KEY_LEN];
        char path[128];
        struct stat st;

        snprintf(path, sizeof(path), "%s/mode-%04o.key", tmpdir, (unsigned) mode);
        write_file(path, k, sizeof(k), mode);
        memset(out, 0, sizeof(out));
        if (expected == 0) {
                ASSERT_OK(secretbox_key_load(path, 1, out));
                ASSERT_MEMEQ(out, k, sizeof(k));
        } else
                ASSERT_ERR(secretbox_key_load(path, 1, out), expected);
        /* with create=1 too, the existing file is left as it was */
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_mode & 07777, mode);
        ASSERT_EQ(read_file(path, disk, sizeof(disk)), sizeof(k));
        ASSERT_MEMEQ(disk, k, sizeof(k));
}

TEST(key_file_mode_refusal) {
        make_tmpdir();
        test_mode_one(0600, 0);
        test_mode_one(0400, 0);
        test_mode_one(0700, 0);
        test_mode_one(0640, EPERM);
        test_mode_one(0620, EPERM);
        test_mode_one(0610, EPERM);
        test_mode_one(0604, EPERM);
        test_mode_one(0602, EPERM);
        test_mode_one(0601, EPERM);
        test_mode_one(0644, EPERM);
        test_mode_one(0666, EPERM);
        rm_tmpdir();
}

/* A key file of another user is refused (one planted in a state directory others could
 * write to, say). Needs root to give the file away. */
TEST(key_file_of_another_user) {
        uint8_t k[SECRETBOX_KEY_LEN] = { 4, 5, 6 }, out[SECRETBOX_KEY_LEN];
        char path[128];

        if (geteuid() != 0)
                return;
        make_tmpdir();
        snprintf(path, sizeof(path), "%s/other.key", tmpdir);
        write_file(path, k, sizeof(k), 0600);
        ASSERT_EQ(chown(path, 65534, 65534), 0);
        ASSERT_ERR(secretbox_key_load(path, 1, out), EPERM);
        ASSERT_EQ(chown(path, 0, 0), 0);
        ASSERT_OK(secretbox_key_load(path, 1, out));
        ASSERT_MEMEQ(out, k, sizeof(k));
        rm_tmpdir();
}

static void test_size_one(size_t size) {
        uint8_t data[100], disk[128], out[SECRETBOX_KEY_LEN];
        char path[128];

        fill(data, sizeof(data), 77);
        snprintf(path, sizeof(path), "%s/size-%zu.key", tmpdir, size);
        write_file(path, data, size, 0600);
        ASSERT_ERR(secretbox_key_load(path, 1, out), EBADMSG);
        ASSERT_EQ(read_file(path, disk, sizeof(disk)), size);
        ASSERT_MEMEQ(disk, data, size);
}

TEST(key_file_size_refusal) {
        make_tmpdir();
        test_size_one(0);
        test_size_one(1);
        test_size_one(31);
        test_size_one(33);
        test_size_one(64);
        test_size_one(100);
        rm_tmpdir();
}

/* Several processes create the same key file at once: exactly one key wins, everyone gets
 * it, and the file holds it. */
TEST(key_file_race) {
        enum { ROUNDS = 20, PROCS = 6 };

        make_tmpdir();
        for (unsigned round = 0; round < ROUNDS; round++) {
                uint8_t keys[PROCS][SECRETBOX_KEY_LEN], disk[64];
                int go[2], res[PROCS][2];
                pid_t pids[PROCS];
                char path[128];

                snprintf(path, sizeof(path), "%s/race-%u.key", tmpdir, round);
                ASSERT_EQ(pipe(go), 0);
                for (unsigned i = 0; i < PROCS; i++) {
                        ASSERT_EQ(pipe(res[i]), 0);
                        pids[i] = fork();
                        ASSERT_TRUE(pids[i] >= 0);
                        if (pids[i] == 0) {
                                uint8_t k[SECRETBOX_KEY_LEN];
                                char c;

                                close(go[1]);
                                close(res[i][0]);
                                /* start together: wait until the parent closes the pipe */
                                if (read(go[0], &c, 1) != 0)
                                        _exit(2);
                                if (secretbox_key_load(path, 1, k) < 0)
                                        _exit(3);
                                if (write(res[i][1], k, sizeof(k)) != sizeof(k))
                                        _exit(4);
                                _exit(0);
                        }
                        close(res[i][1]);
                }
                close(go[0]);
                close(go[1]);
                for (unsigned i = 0; i < PROCS; i++) {
                        int status;

                        ASSERT_EQ(read(res[i][0], keys[i], SECRETBOX_KEY_LEN), SECRETBOX_KEY_LEN);
                        close(res[i][0]);
                        ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
                        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                }
                ASSERT_EQ(read_file(path, disk, sizeof(disk)), SECRETBOX_KEY_LEN);
                for (unsigned i = 0; i < PROCS; i++)
                        ASSERT_MEMEQ(keys[i], disk, SECRETBOX_KEY_LEN);
        }
        ASSERT_EQ(count_entries(tmpdir), ROUNDS);       /* no temporary files left */
        rm_tmpdir();
}

TEST_MAIN()
