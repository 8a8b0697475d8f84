/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* UTF-8 as D-Bus takes it (no overlong forms, no surrogates, nothing past U+10FFFF). */

#include <stdbool.h>
#include <stddef.h>

/* The length (1-4) of the valid UTF-8 character at s, which has n bytes left; 0 if the
 * bytes there are not one (a stray continuation byte, an overlong form, a surrogate, a
 * code point past U+10FFFF, a sequence cut short). */
size_t utf8_char_len(const char *s, size_t n);

/* The first byte of s that does not start a valid character; NULL if s is valid. */
const char *utf8_invalid(const char *s);

/* The 1-based line of s that holds the byte at p (p inside s). */
unsigned utf8_line_of(const char *s, const char *p);
