/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tiny test framework.
 *
 *   TEST(name) { ... ASSERT_EQ(a, b); ... }
 *   TEST_MAIN()
 *
 * Each test runs in order; the first failed assertion aborts that test and the program
 * exits 1 after running all tests. A test calls SKIP("why") to be skipped; if every test
 * skipped, the program exits 77. Output: one line per test ("ok", "FAIL", "skip: why"). */

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct TestCase {
        const char *name;
        void (*fn)(void);
        struct TestCase *next;
} TestCase;

extern TestCase *test_list_head, **test_list_tail;
extern jmp_buf test_jmp;
extern const char *test_skip_reason;
extern int test_result;   /* 0 ok, 1 fail, 77 skip */

#define TEST(name)                                                              \
        static void test_##name(void);                                          \
        static TestCase test_case_##name = { #name, test_##name, NULL };        \
        __attribute__((constructor)) static void test_register_##name(void) {   \
                *test_list_tail = &test_case_##name;                            \
                test_list_tail = &test_case_##name.next;                        \
        }                                                                       \
        static void test_##name(void)

#define TEST_FAIL(...)                                                                  \
        do {                                                                            \
                fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                       \
                fprintf(stderr, __VA_ARGS__);                                           \
                fputc('\n', stderr);                                                    \
                test_result = 1;                                                        \
                longjmp(test_jmp, 1);                                                   \
        } while (0)

#define SKIP(reason)                                                    \
        do {                                                            \
                test_skip_reason = (reason);                            \
                test_result = 77;                                       \
                longjmp(test_jmp, 1);                                   \
        } while (0)

#define ASSERT_TRUE(expr)                                                       \
        do {                                                                    \
                if (!(expr))                                                    \
                        TEST_FAIL("assertion failed: %s", #expr);               \
        } while (0)

#define ASSERT_FALSE(expr) ASSERT_TRUE(!(expr))

#define ASSERT_EQ(a, b)                                                                 \
        do {                                                                            \
                long long _a = (long long) (a), _b = (long long) (b);                   \
                if (_a != _b)                                                           \
                        TEST_FAIL("%s == %s: %lld != %lld", #a, #b, _a, _b);            \
        } while (0)

#define ASSERT_NE(a, b)                                                                 \
        do {                                                                            \
                long long _a = (long long) (a), _b = (long long) (b);                   \
                if (_a == _b)                                                           \
                        TEST_FAIL("%s != %s: both %lld", #a, #b, _a);                   \
        } while (0)

#define ASSERT_OK(expr)                                                                 \
        do {                                                                            \
                long long _r = (long long) (expr);                                      \
                if (_r < 0)                                                             \
                        TEST_FAIL("%s failed: %lld (%s)", #expr, _r, strerror((int) -_r)); \
        } while (0)

#define ASSERT_ERR(expr, err)                                                           \
        do {                                                                            \
                long long _r = (long long) (expr);                                      \
                if (_r != -(long long) (err))                                           \
                        TEST_FAIL("%s: expected -%s, got %lld", #expr, #err, _r);       \
        } while (0)

#define ASSERT_STREQ(a, b)                                                              \
        do {                                                                            \
                const char *_a = (a), *_b = (b);                                        \
                if (!_a || !_b || strcmp(_a, _b) != 0)                                  \
                        TEST_FAIL("%s == %s:\n    got:      '%s'\n    expected: '%s'",  \
                                  #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");      \
        } while (0)

#define ASSERT_MEMEQ(a, b, n)                                                           \
        do {                                                                            \
                if (memcmp((a), (b), (n)) != 0)                                         \
                        TEST_FAIL("%s and %s differ", #a, #b);                          \
        } while (0)

int test_main(int argc, char **argv);

#define TEST_MAIN()                                             \
        int main(int argc, char **argv) {                       \
                return test_main(argc, argv);                   \
        }
