/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl's "Label: value" blocks (client/output.c): the daemon's strings are shown with
 * control characters escaped, multi-line values line up under the first line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "test.h"

/* What fields_print() writes to stdout, through a temporary file. */
static char *fields_output(const char *label, const char *value, bool utf8) {
        char path[] = "/tmp/test-client-output-XXXXXX";
        int fd = mkstemp(path), saved = dup(STDOUT_FILENO);
        Fields *f = fields_new();
        char *buf = calloc(1, 4096);

        ASSERT_TRUE(fd >= 0 && saved >= 0 && f && buf);
        ASSERT_OK(fields_add(f, label, value, NULL));
        output.utf8 = utf8;
        output.colors = false;
        fflush(stdout);
        ASSERT_TRUE(dup2(fd, STDOUT_FILENO) >= 0);
        ASSERT_OK(fields_print(f));
        fflush(stdout);
        ASSERT_TRUE(dup2(saved, STDOUT_FILENO) >= 0);
        close(saved);
        ASSERT_TRUE(pread(fd, buf, 4095, 0) >= 0);
        close(fd);
        unlink(path);
        fields_free(f);
        return buf;
}

static void test_fields_one(const char *value, bool utf8, const char *expected) {
        char *s = fields_output("Email", value, utf8);
        ASSERT_STREQ(s, expected);
        free(s);
}

TEST(fields_escape) {
        test_fields_one("alice@example.com", true, "Email: alice@example.com\n");
        test_fields_one("", true, "Email: -\n");
        test_fields_one("evil\x1b]0;owned\x07@example.com", true, "Email: evil\\x1b]0;owned\\x07@example.com\n");
        test_fields_one("a\rb", true, "Email: a\\x0db\n");
        test_fields_one("caf\xc3\xa9", true, "Email: caf\xc3\xa9\n");
        test_fields_one("caf\xc3\xa9", false, "Email: caf\\xc3\\xa9\n");
        test_fields_one("caf\xe9", true, "Email: caf\\xe9\n");
        test_fields_one("csi\xc2\x9b" "2J", true, "Email: csi\\xc2\\x9b2J\n");
        /* two lines: the second under the first, its control characters escaped too */
        test_fields_one("10.0.0.2/32\n\x1b[2Jfd00::2/128", true, "Email: 10.0.0.2/32\n       \\x1b[2Jfd00::2/128\n");
}

TEST_MAIN()
