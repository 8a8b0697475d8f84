/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* UTF-8 for text that is shown again: sd-bus refuses to send a string that is not valid
 * UTF-8, so a message that quotes input cut in the middle of a character is never
 * delivered (the caller of a bus method waits for a reply that does not come). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The length (1-4) of the character at s[0..n), or 0 when the bytes there are not valid
 * UTF-8: a bad lead or continuation byte, a sequence cut by n, an overlong form, a
 * surrogate, beyond U+10FFFF. ret_cp, if not NULL, gets the code point (on success). */
size_t utf8_char_len(const char *s, size_t n, uint32_t *ret_cp);

bool utf8_valid(const char *s, size_t n);

/* The length of the longest prefix of s[0..n) that is at most max bytes, is valid UTF-8
 * and ends between two characters: it stops before the first invalid byte and before a
 * character that max would cut. */
size_t utf8_prefix_len(const char *s, size_t n, size_t max);
