/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Plain text helpers of the applet, free of GTK so that a unit test links them alone. */

#define APPLET_BYTES_STRLEN 16
#define APPLET_AGO_STRLEN 32

/* 1536 -> "1.5 KiB"; 0 -> "0 B". Returns buf. */
const char *applet_format_bytes(uint64_t bytes, char buf[static APPLET_BYTES_STRLEN]);

/* then_usec and now_usec in µs since the epoch; then 0 -> "never"; a time in the future or
 * less than 5 s ago -> "just now"; "42 s ago", "3 min ago", "5 h ago", "2 days ago". */
const char *applet_format_ago(uint64_t then_usec, uint64_t now_usec, char buf[static APPLET_AGO_STRLEN]);

/* A rate in bytes per second: "0 B/s", "12.0 KiB/s". */
const char *applet_format_rate(double bytes_per_second, char buf[static APPLET_BYTES_STRLEN + 2]);
