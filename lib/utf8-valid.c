/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "utf8-valid.h"

size_t utf8_char_len(const char *s, size_t n, uint32_t *ret_cp) {
        const unsigned char *p = (const unsigned char *) s;
        size_t len;
        uint32_t cp, min;

        if (n == 0)
                return 0;
        if (p[0] < 0x80) {
                len = 1, cp = p[0], min = 0;
        } else if ((p[0] & 0xe0) == 0xc0) {
                len = 2, cp = p[0] & 0x1f, min = 0x80;
        } else if ((p[0] & 0xf0) == 0xe0) {
                len = 3, cp = p[0] & 0x0f, min = 0x800;
        } else if ((p[0] & 0xf8) == 0xf0) {
                len = 4, cp = p[0] & 0x07, min = 0x10000;
        } else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        if (ret_cp)
                *ret_cp = cp;
        return len;
}

bool utf8_valid(const char *s, size_t n) {
        return utf8_prefix_len(s, n, n) == n;
}

size_t utf8_prefix_len(const char *s, size_t n, size_t max) {
        size_t i = 0;

        while (i < n) {
                size_t len = utf8_char_len(s + i, n - i, NULL);
                if (len == 0 || len > max - i)
                        break;
                i += len;
        }
        return i;
}
