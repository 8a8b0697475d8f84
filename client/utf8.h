/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* UTF-8 as D-Bus takes it (no overlong forms, no surrogates, nothing past U+10FFFF), and
 * text made safe for a terminal. */

#include <stdbool.h>
#include <stddef.h>

/* utf8_char_len() and the rest of lib/utf8-valid.h: one decoder for the daemon and here. */
#include "utf8-valid.h"

/* The first byte of s that does not start a valid character; NULL if s is valid. */
const char *utf8_invalid(const char *s);

/* The 1-based line of s that holds the byte at p (p inside s). */
unsigned utf8_line_of(const char *s, const char *p);

/* s for a terminal (malloc'd): control characters (C0, DEL, C1), bytes that are not valid
 * UTF-8 and, unless utf8 (the locale's charset), every byte above 0x7f as "\xNN", as
 * libsmartcols shows table cells; a backslash followed by 'x' as "\x5c" so that the
 * escapes stay unambiguous. '\n' is kept when keep_newlines. NULL only without memory. */
char *escape_nonprintable(const char *s, bool utf8, bool keep_newlines);
