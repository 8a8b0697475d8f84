/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* wgnetctl's pure helpers: human units, times, and the parsing of command-line values.
 * No D-Bus, no output: everything here is unit-tested (tests/test-client-format.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USEC_PER_SEC UINT64_C(1000000)
#define FORMAT_BYTES_MAX 16
#define FORMAT_RELATIVE_MAX 32
#define FORMAT_TIMESTAMP_MAX 64

/* "0 B", "1023 B", "1.0 KiB", "12.3 MiB", … up to EiB. Returns buf. */
char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes);

/* The time between usec and now_usec, both µs since the epoch: "now", "12 s ago",
 * "3 min ago", "2 h ago", "1 day ago", "5 days ago", "3 months ago", "2 years ago"; a time
 * in the future gives "in 3 min". usec 0 gives "never". Returns buf. */
char *format_relative(char buf[static FORMAT_RELATIVE_MAX], uint64_t usec, uint64_t now_usec);

/* "2026-11-29 04:30:01 UTC" in local time with its zone; usec 0 gives "never". */
char *format_timestamp(char buf[static FORMAT_TIMESTAMP_MAX], uint64_t usec);

/* Keepalive seconds: "off" for 0, else "25 s". */
char *format_keepalive(char buf[static FORMAT_RELATIVE_MAX], unsigned seconds);

/* The online dot: "●" online, "○" offline; "*" and "o" when the terminal is not UTF-8. */
const char *online_dot(bool online, bool utf8);

uint64_t now_realtime_usec(void);

/* yes/no, true/false, on/off, 1/0 (case-insensitive). 1, 0 or -EINVAL. */
int parse_bool(const char *s);

/* A decimal unsigned number in [min, max]: no sign, no blanks, no trailing junk.
 * -EINVAL if not a number, -ERANGE if out of range. */
int parse_unsigned(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* Persistent keepalive: "off" or 0-65535 seconds, optionally with an "s" suffix. */
int parse_keepalive(const char *s, uint16_t *ret);

/* Expiry time as µs since the epoch: "never" (0), "+30d" / "+12h" / "+90min" / "+45s" /
 * "+2w" relative to now_usec, "@1767225600" (epoch seconds), "YYYY-MM-DD" (midnight local
 * time), "YYYY-MM-DD HH:MM[:SS]" or the same with a 'T' between date and time. The unit
 * "m" is refused with -EDOM (minutes or months?). */
int parse_expiry(const char *s, uint64_t now_usec, uint64_t *ret);

/* A duration in seconds: "off", "never" or "0" (0), "3600" (seconds), or a number with a
 * unit: "45s", "90min", "12h", "30d", "2w". "m" is refused with -EDOM, as for expiries. */
int parse_duration(const char *s, uint64_t *ret_seconds);

/* A duration for people: "off" for 0, else the largest unit that divides it, e.g.
 * "30 days", "1 day", "12 h", "90 min", "45 s". */
char *format_duration(char buf[static FORMAT_RELATIVE_MAX], uint64_t seconds);

/* True when s looks like an object path under prefix ("/org/wgnet1/peer/7" for
 * "/org/wgnet1/peer"): the prefix, a slash, then one non-empty element of
 * [A-Za-z0-9_]. */
bool object_path_under(const char *s, const char *prefix);

/* Append a copy of s to the NULL-terminated list *l. */
int strv_push(char ***l, const char *s);

/* A list option (--dns, --address, --route, ...): repeatable; values may also be comma-
 * or blank-separated; an empty value clears the list (--dns=1.1.1.1 --dns= gives an empty
 * list, --dns= --dns=9.9.9.9 gives 9.9.9.9). *l is a list (maybe empty) afterwards. */
int list_option(char ***l, const char *value);
