/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "log.h"

static int max_level = 6;

void log_set_max_level(int level) {
        max_level = level;
}

void log_msg(int level, const char *fmt, ...) {
        va_list ap;
        if (level > max_level)
                return;
        fprintf(stderr, "<%d>", level);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}
