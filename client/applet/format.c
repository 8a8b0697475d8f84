/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "format.h"

static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

static const char *format_scaled(double v, const char *suffix, char *buf, size_t size) {
        size_t u = 0;

        /* the unit after rounding: 1,048,575 bytes are "1.0 MiB", not "1024 KiB" */
        while (u + 1 < sizeof(units) / sizeof(units[0]) && (v >= 1024.0 || (u > 0 && v >= 1023.5))) {
                v /= 1024.0;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%.0f %s%s", v, units[u], suffix);
        else if (v < 10.0)
                snprintf(buf, size, "%.1f %s%s", v, units[u], suffix);
        else
                snprintf(buf, size, "%.0f %s%s", v, units[u], suffix);
        return buf;
}

const char *applet_format_bytes(uint64_t bytes, char buf[static APPLET_BYTES_STRLEN]) {
        return format_scaled((double) bytes, "", buf, APPLET_BYTES_STRLEN);
}

const char *applet_format_rate(double bytes_per_second, char buf[static APPLET_BYTES_STRLEN + 2]) {
        return format_scaled(bytes_per_second < 0 ? 0 : bytes_per_second, "/s", buf, APPLET_BYTES_STRLEN + 2);
}

const char *applet_format_ago(uint64_t then_usec, uint64_t now_usec, char buf[static APPLET_AGO_STRLEN]) {
        if (then_usec == 0) {
                snprintf(buf, APPLET_AGO_STRLEN, "never");
                return buf;
        }
        uint64_t s = now_usec > then_usec ? (now_usec - then_usec) / 1000000 : 0;
        if (s < 5)
                snprintf(buf, APPLET_AGO_STRLEN, "just now");
        else if (s < 60)
                snprintf(buf, APPLET_AGO_STRLEN, "%u s ago", (unsigned) s);
        else if (s < 3600)
                snprintf(buf, APPLET_AGO_STRLEN, "%u min ago", (unsigned) (s / 60));
        else if (s < 48 * 3600)
                snprintf(buf, APPLET_AGO_STRLEN, "%u h ago", (unsigned) (s / 3600));
        else
                snprintf(buf, APPLET_AGO_STRLEN, "%llu days ago", (unsigned long long) (s / 86400));
        return buf;
}
