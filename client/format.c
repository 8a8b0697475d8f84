/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "format.h"
#include "macro.h"

char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

        if (bytes < 1024) {
                snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64 " B", bytes);
                return buf;
        }
        /* Integer arithmetic, tenths rounded down: exact for the test table, no floating
         * point surprises. */
        size_t u = 0;
        uint64_t div = 1024;
        while (u + 1 < sizeof(units) / sizeof(units[0]) && bytes / div >= 1024) {
                div *= 1024;
                u++;
        }
        uint64_t whole = bytes / div;
        uint64_t tenths = (bytes % div) * 10 / div;
        snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64 ".%" PRIu64 " %s", whole, tenths, units[u]);
        return buf;
}

char *format_relative(char buf[static FORMAT_RELATIVE_MAX], uint64_t usec, uint64_t now_usec) {
        bool future = usec > now_usec;
        uint64_t d = (future ? usec - now_usec : now_usec - usec) / USEC_PER_SEC;
        uint64_t n;
        const char *unit;

        if (usec == 0) {
                snprintf(buf, FORMAT_RELATIVE_MAX, "never");
                return buf;
        }
        if (d == 0) {
                snprintf(buf, FORMAT_RELATIVE_MAX, "now");
                return buf;
        }
        if (d < 60) {
                n = d;
                unit = "s";
        } else if (d < 3600) {
                n = d / 60;
                unit = "min";
        } else if (d < 2 * 86400) {
                n = d / 3600;
                unit = "h";
        } else if (d < 60 * 86400) {
                n = d / 86400;
                unit = "days";
        } else if (d < 365 * 86400) {
                n = d / (30 * 86400);
                unit = "months";
        } else {
                n = d / (365 * 86400);
                unit = n == 1 ? "year" : "years";
        }
        if (future)
                snprintf(buf, FORMAT_RELATIVE_MAX, "in %" PRIu64 " %s", n, unit);
        else
                snprintf(buf, FORMAT_RELATIVE_MAX, "%" PRIu64 " %s ago", n, unit);
        return buf;
}

char *format_timestamp(char buf[static FORMAT_TIMESTAMP_MAX], uint64_t usec) {
        struct tm tm;
        time_t t = (time_t) (usec / USEC_PER_SEC);

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, FORMAT_TIMESTAMP_MAX, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, FORMAT_TIMESTAMP_MAX, "%s", usec == 0 ? "never" : "-");
        return buf;
}

char *format_keepalive(char buf[static FORMAT_RELATIVE_MAX], unsigned seconds) {
        if (seconds == 0)
                snprintf(buf, FORMAT_RELATIVE_MAX, "off");
        else
                snprintf(buf, FORMAT_RELATIVE_MAX, "%u s", seconds);
        return buf;
}

const char *online_dot(bool online, bool utf8) {
        if (!utf8)
                return online ? "*" : "o";
        return online ? "\u25cf" : "\u25cb";
}

uint64_t now_realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

int parse_bool(const char *s) {
        static const char *const yes[] = { "yes", "y", "true", "on", "1" };
        static const char *const no[] = { "no", "n", "false", "off", "0" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

int parse_unsigned(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                unsigned digit = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - digit) / 10)
                        return -ERANGE;
                v = v * 10 + digit;
        }
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_keepalive(const char *s, uint16_t *ret) {
        char buf[16];
        uint64_t v;
        size_t len;
        int r;

        if (!s)
                return -EINVAL;
        if (strcasecmp(s, "off") == 0) {
                *ret = 0;
                return 0;
        }
        len = strlen(s);
        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len + 1);
        if (buf[len - 1] == 's')
                buf[len - 1] = 0;
        r = parse_unsigned(buf, 0, 65535, &v);
        if (r < 0)
                return r;
        *ret = (uint16_t) v;
        return 0;
}

/* "<digits><unit>" to seconds; min is the smallest number accepted; the unit may be left
 * out when unit_optional (then seconds). */
static int parse_number_unit(const char *s, uint64_t min, bool unit_optional, uint64_t *ret_seconds) {
        static const struct {
                const char *suffix;
                uint64_t seconds;
        } units[] = {
                { "s", 1 }, { "sec", 1 }, { "min", 60 }, { "h", 3600 },
                { "d", 86400 }, { "day", 86400 }, { "days", 86400 }, { "w", 7 * 86400 },
                { "week", 7 * 86400 }, { "weeks", 7 * 86400 },
        };
        char num[24];
        size_t digits = strspn(s, "0123456789");
        uint64_t v;
        int r;

        if (digits == 0 || digits >= sizeof(num))
                return -EINVAL;
        memcpy(num, s, digits);
        num[digits] = 0;
        r = parse_unsigned(num, min, UINT64_MAX, &v);
        if (r < 0)
                return r;
        if (s[digits] == 0 && unit_optional) {
                *ret_seconds = v;
                return 0;
        }
        /* minutes to some, months to others: an expiry meant for half a year would cut a
         * peer off after six minutes */
        if (strcmp(s + digits, "m") == 0)
                return -EDOM;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (strcmp(s + digits, units[i].suffix) == 0) {
                        if (v > UINT64_MAX / USEC_PER_SEC / units[i].seconds)
                                return -ERANGE;
                        *ret_seconds = v * units[i].seconds;
                        return 0;
                }
        return -EINVAL;
}

static int parse_relative(const char *s, uint64_t now_usec, uint64_t *ret) {
        uint64_t seconds;
        int r = parse_number_unit(s, 1, false, &seconds);
        if (r < 0)
                return r;
        if (seconds > (UINT64_MAX - now_usec) / USEC_PER_SEC)
                return -ERANGE;
        *ret = now_usec + seconds * USEC_PER_SEC;
        return 0;
}

int parse_duration(const char *s, uint64_t *ret_seconds) {
        if (!s)
                return -EINVAL;
        if (strcasecmp(s, "off") == 0 || strcasecmp(s, "never") == 0) {
                *ret_seconds = 0;
                return 0;
        }
        return parse_number_unit(s, 0, true, ret_seconds);
}

char *format_duration(char buf[static FORMAT_RELATIVE_MAX], uint64_t seconds) {
        if (seconds == 0)
                snprintf(buf, FORMAT_RELATIVE_MAX, "off");
        else if (seconds % 86400 == 0)
                snprintf(buf, FORMAT_RELATIVE_MAX, "%" PRIu64 " day%s", seconds / 86400, seconds == 86400 ? "" : "s");
        else if (seconds % 3600 == 0)
                snprintf(buf, FORMAT_RELATIVE_MAX, "%" PRIu64 " h", seconds / 3600);
        else if (seconds % 60 == 0)
                snprintf(buf, FORMAT_RELATIVE_MAX, "%" PRIu64 " min", seconds / 60);
        else
                snprintf(buf, FORMAT_RELATIVE_MAX, "%" PRIu64 " s", seconds);
        return buf;
}

int parse_expiry(const char *s, uint64_t now_usec, uint64_t *ret) {
        struct tm tm = { 0 };
        const char *end;
        uint64_t v;
        int r;

        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "never") == 0 || strcmp(s, "0") == 0) {
                *ret = 0;
                return 0;
        }
        if (s[0] == '+')
                return parse_relative(s + 1, now_usec, ret);
        if (s[0] == '@') {
                r = parse_unsigned(s + 1, 1, UINT64_MAX / USEC_PER_SEC, &v);
                if (r < 0)
                        return r;
                *ret = v * USEC_PER_SEC;
                return 0;
        }
        end = strptime(s, "%Y-%m-%d", &tm);
        if (!end)
                return -EINVAL;
        if (*end == ' ' || *end == 'T') {
                const char *t = end + 1;
                end = strptime(t, "%H:%M:%S", &tm);
                if (!end || *end) {
                        tm.tm_sec = 0;
                        end = strptime(t, "%H:%M", &tm);
                }
        }
        if (!end || *end)
                return -EINVAL;
        tm.tm_isdst = -1;
        struct tm given = tm;
        time_t t = mktime(&tm);
        /* mktime rolls 2025-02-31 over into March: a date that does not exist is refused */
        if (tm.tm_year != given.tm_year || tm.tm_mon != given.tm_mon || tm.tm_mday != given.tm_mday)
                return -EINVAL;
        if (t == (time_t) -1 || t <= 0)
                return -ERANGE;
        *ret = (uint64_t) t * USEC_PER_SEC;
        return 0;
}

bool object_path_under(const char *s, const char *prefix) {
        size_t n = strlen(prefix);

        if (!s || strncmp(s, prefix, n) != 0 || s[n] != '/' || s[n + 1] == 0)
                return false;
        for (const char *p = s + n + 1; *p; p++)
                if (!isalnum((unsigned char) *p) && *p != '_')
                        return false;
        return true;
}

int strv_push(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        char **nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(copy);
                return -ENOMEM;
        }
        nl[n] = copy;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int list_option(char ***l, const char *value) {
        /* an empty value clears what earlier ones gave */
        if (!*l || !*value) {
                strv_free(*l);
                *l = calloc(1, sizeof(char *));
                if (!*l)
                        return -ENOMEM;
        }
        _cleanup_(freep) char *copy = strdup(value);
        char *save = NULL;
        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
                int r = strv_push(l, t);
                if (r < 0)
                        return r;
        }
        return 0;
}
