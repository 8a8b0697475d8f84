/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl's input files (client/input-file.c): a config or a secret read whole from a file
 * or from stdin, at most max bytes, no NUL byte. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "input-file.h"
#include "test.h"

#define MAX 10000

static char path[64];

static void make_file(const char *data, size_t n) {
        strcpy(path, "/tmp/test-client-input-file-XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0 || write(fd, data, n) != (ssize_t) n || close(fd) < 0)
                abort();
}

static char *filled(size_t n) {
        char *s = malloc(n + 1);
        if (!s)
                abort();
        for (size_t i = 0; i < n; i++)
                s[i] = (char) ('a' + i % 26);
        s[n] = 0;
        return s;
}

static void test_file_one(size_t n, int expected) {
        char *data = filled(n), *text = NULL;
        make_file(data, n);
        ASSERT_EQ(input_file_read(path, MAX, &text), expected);
        if (expected == 0)
                ASSERT_STREQ(text, data);
        unlink(path);
        free(text);
        free(data);
}

TEST(files) {
        test_file_one(0, 0);
        test_file_one(1, 0);
        test_file_one(4095, 0);
        test_file_one(4096, 0);
        test_file_one(MAX - 1, 0);
        test_file_one(MAX, 0);
        test_file_one(MAX + 1, -EFBIG);
        test_file_one(5 * MAX, -EFBIG);
        char *text = NULL;
        ASSERT_EQ(input_file_read("/nonexistent/x.conf", MAX, &text), -ENOENT);
        make_file("[Interface]\n\0PrivateKey", 24);
        ASSERT_EQ(input_file_read(path, MAX, &text), -EBADMSG);
        unlink(path);
        ASSERT_TRUE(text == NULL);
}

/* n bytes on stdin through a pipe, written by a child in small pieces. */
static void test_stdin_one(size_t n, int expected) {
        char *data = filled(n), *text = NULL;
        int p[2], saved = dup(STDIN_FILENO);
        ASSERT_OK(pipe(p));
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                for (size_t off = 0; off < n;) {
                        size_t k = n - off < 777 ? n - off : 777;
                        ssize_t w = write(p[1], data + off, k);
                        if (w <= 0)
                                _exit(w < 0 && errno == EPIPE ? 0 : 1);
                        off += (size_t) w;
                }
                _exit(0);
        }
        close(p[1]);
        ASSERT_OK(dup2(p[0], STDIN_FILENO));
        close(p[0]);
        int r = input_file_read("-", MAX, &text);
        ASSERT_OK(dup2(saved, STDIN_FILENO));
        close(saved);
        waitpid(pid, NULL, 0);
        ASSERT_EQ(r, expected);
        if (expected == 0)
                ASSERT_STREQ(text, data);
        free(text);
        free(data);
}

TEST(pipes) {
        signal(SIGPIPE, SIG_IGN);
        test_stdin_one(0, 0);
        test_stdin_one(100, 0);
        test_stdin_one(4095, 0);
        test_stdin_one(4097, 0);
        test_stdin_one(8200, 0);
        test_stdin_one(MAX, 0);
        test_stdin_one(MAX + 1, -EFBIG);
        test_stdin_one(3 * MAX, -EFBIG);
}

TEST_MAIN()
