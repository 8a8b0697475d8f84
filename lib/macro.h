/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _sentinel_ __attribute__((sentinel))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Take ownership of a pointer: returns it and sets the variable to NULL. */
#define TAKE_PTR(p)                        \
        __extension__({                                 \
                __typeof__(p) _tp_ = (p);  \
                (p) = NULL;                \
                _tp_;                      \
        })

#define TAKE_FD(fd)                        \
        __extension__({                                 \
                int _tfd_ = (fd);          \
                (fd) = -EBADF;             \
                _tfd_;                     \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static inline void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

static inline void strv_freep(char ***l) {
        strv_free(*l);
}

/* A NULL-terminated copy of the first n strings of l; NULL on ENOMEM. */
static inline char **strv_copy(char *const *l, size_t n) {
        char **c = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; c && i < n; i++)
                if (!(c[i] = strdup(l[i]))) {
                        strv_free(c);
                        return NULL;
                }
        return c;
}

static inline size_t strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

/* Define name##p(T **) calling func(*p) if non-NULL, for _cleanup_. Use it without a
 * trailing semicolon. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)          \
        static inline void func##p(type *p) {            \
                if (*p)                                  \
                        *p = func(*p);                   \
        }

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

static inline bool isempty(const char *s) {
        return !s || !*s;
}

/* memcpy() that accepts NULL pointers when n is 0 (memcpy itself does not). */
static inline void *memcpy_safe(void *dst, const void *src, size_t n) {
        return n > 0 ? memcpy(dst, src, n) : dst;
}

/* Returns negative errno from errno, never 0. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}
