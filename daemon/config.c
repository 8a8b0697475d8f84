/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <math.h>

#include "bus-util.h"
#include "config.h"
#include "log.h"

int config_parse_tick(const char *s, uint64_t *ret_usec) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v) || v < 0.1 || v > 3600)
                return -EINVAL;
        *ret_usec = (uint64_t) (v * 1e6);
        return 0;
}

int config_parse_days(const char *s, int *ret_days) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || (*end && !streq(end, "d")) || v < 0 || v > 3650)
                return -EINVAL;
        *ret_days = (int) v;
        return 0;
}

static char *strip(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

#define CONFIG_LINE_MAX 4096

static const char *const config_keys[] = {
        "StateDirectory", "TickSeconds", "Backend", "Firewall", "HistoryRetention5Min",
        "HistoryRetentionHourly", "UserspaceImplementation",
};

int config_parse_file(const char *path, bool required, ManagerConfig *c) {
        _cleanup_(fclosep) FILE *f = fopen(path, "re");
        _cleanup_(freep) char *line = NULL;
        size_t allocated = 0;
        unsigned n = 0, seen = 0;
        ssize_t len;
        int r;

        if (!f) {
                if (errno == ENOENT && !required)
                        return 0;
                log_error("Cannot open %s: %s", path, strerror(errno));
                return -errno;
        }
        while ((len = getline(&line, &allocated, f)) >= 0) {
                n++;
                if (len > CONFIG_LINE_MAX || memchr(line, 0, (size_t) len)) {
                        log_error("%s:%u: line longer than %u bytes, or with a NUL byte", path, n, CONFIG_LINE_MAX);
                        return -EINVAL;
                }
                char *s = strip(line), *eq, *key, *value;
                if (*s == 0 || *s == '#' || *s == ';' || streq(s, "[wgnetd]"))
                        continue;
                eq = strchr(s, '=');
                if (!eq) {
                        log_error("%s:%u: expected Key=Value, got '%s'", path, n, s);
                        return -EINVAL;
                }
                *eq = 0;
                key = strip(s);
                value = strip(eq + 1);
                for (unsigned k = 0; k < ELEMENTSOF(config_keys); k++)
                        if (streq(key, config_keys[k])) {
                                if (seen & (1u << k)) {
                                        log_error("%s:%u: %s given twice", path, n, key);
                                        return -EINVAL;
                                }
                                seen |= 1u << k;
                                if (*value == 0) {
                                        log_error("%s:%u: empty value for %s", path, n, key);
                                        return -EINVAL;
                                }
                        }
                if (streq(key, "StateDirectory")) {
                        if (value[0] != '/') {
                                log_error("%s:%u: StateDirectory must be an absolute path, not '%s'", path, n, value);
                                return -EINVAL;
                        }
                        r = set_string(&c->state_dir, value, NULL);
                } else if (streq(key, "TickSeconds")) {
                        r = config_parse_tick(value, &c->tick_usec);
                        if (r < 0)
                                log_error("%s:%u: invalid TickSeconds '%s' (0.1-3600)", path, n, value);
                } else if (streq(key, "Backend")) {
                        r = wg_backend_type_from_string(value);
                        if (r < 0)
                                log_error("%s:%u: invalid Backend '%s' (auto, kernel or userspace)", path, n, value);
                        else
                                c->backend = r;
                } else if (streq(key, "Firewall")) {
                        if (streq(value, "yes"))
                                c->firewall = 1;
                        else if (streq(value, "no"))
                                c->firewall = 0;
                        else {
                                log_error("%s:%u: invalid Firewall '%s' (yes or no)", path, n, value);
                                r = -EINVAL;
                        }
                } else if (streq(key, "HistoryRetention5Min") || streq(key, "HistoryRetentionHourly")) {
                        int days;
                        r = config_parse_days(value, &days);
                        if (r < 0)
                                log_error("%s:%u: invalid %s '%s' (days, 0-3650)", path, n, key, value);
                        else if (streq(key, "HistoryRetention5Min"))
                                c->history_fine_days = days;
                        else
                                c->history_coarse_days = days;
                } else if (streq(key, "UserspaceImplementation")) {
                        r = set_string(&c->userspace_binary, value, NULL);
                } else {
                        log_error("%s:%u: unknown key '%s'", path, n, key);
                        r = -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        /* getline() ends at an error too (a directory: EISDIR): not the end of the file. */
        if (ferror(f)) {
                r = errno > 0 ? -errno : -EIO;
                log_error("Cannot read %s: %s", path, strerror(-r));
                return r;
        }
        return 0;
}
