/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "test.h"

TestCase *test_list_head = NULL, **test_list_tail = &test_list_head;
jmp_buf test_jmp;
const char *test_skip_reason;
int test_result;

int test_main(int argc, char **argv) {
        const char *only = argc > 1 ? argv[1] : getenv("TEST_ONLY");
        volatile unsigned n_ok = 0, n_fail = 0, n_skip = 0;

        setvbuf(stdout, NULL, _IOLBF, 0);
        for (TestCase *volatile t = test_list_head; t; t = t->next) {
                if (only && !strstr(t->name, only))
                        continue;
                test_result = 0;
                test_skip_reason = NULL;
                if (setjmp(test_jmp) == 0)
                        t->fn();
                switch (test_result) {
                case 0:
                        printf("ok   %s\n", t->name);
                        n_ok++;
                        break;
                case 77:
                        printf("skip %s: %s\n", t->name, test_skip_reason);
                        n_skip++;
                        break;
                default:
                        printf("FAIL %s\n", t->name);
                        n_fail++;
                }
        }
        printf("# %u ok, %u failed, %u skipped\n", n_ok, n_fail, n_skip);
        if (n_fail > 0)
                return 1;
        if (n_ok == 0 && n_skip > 0)
                return 77;
        return 0;
}
