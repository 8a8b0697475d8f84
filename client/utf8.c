/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

const char *utf8_invalid(const char *s) {
        size_t n = strlen(s);
        for (size_t i = 0; i < n;) {
                size_t len = utf8_char_len(s + i, n - i, NULL);
                if (len == 0)
                        return s + i;
                i += len;
        }
        return NULL;
}

unsigned utf8_line_of(const char *s, const char *p) {
        unsigned line = 1;
        for (; s < p; s++)
                if (*s == '\n')
                        line++;
        return line;
}

/* C0 controls, DEL and the C1 controls U+0080-U+009F (in UTF-8: 0xc2 0x80-0x9f). */
static bool is_control(const unsigned char *p, size_t len) {
        if (len == 1)
                return p[0] < 0x20 || p[0] == 0x7f;
        return len == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

char *escape_nonprintable(const char *s, bool utf8, bool keep_newlines) {
        size_t n = strlen(s);
        /* each byte becomes at most 4 */
        char *out = malloc(n * 4 + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n;) {
                const unsigned char *p = (const unsigned char *) s + i;
                size_t len = utf8_char_len(s + i, n - i, NULL);
                bool escape = len == 0 || is_control(p, len) || (!utf8 && p[0] >= 0x80) ||
                              (p[0] == '\\' && i + 1 < n && s[i + 1] == 'x');
                if (keep_newlines && p[0] == '\n')
                        escape = false;
                if (len == 0)
                        len = 1;        /* one bad byte at a time */
                if (escape) {
                        for (size_t k = 0; k < len; k++) {
                                snprintf(o, 5, "\\x%02x", p[k]);
                                o += 4;
                        }
                } else {
                        memcpy(o, p, len);
                        o += len;
                }
                i += len;
        }
        *o = 0;
        return out;
}
