/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging to stderr with syslog level prefixes, which journald understands. Secrets never
 * go through here. */

#include <stdio.h>

#include "macro.h"

void log_set_max_level(int level);
void log_msg(int level, const char *fmt, ...) _printf_(2, 3);

#define log_debug(...) log_msg(7, __VA_ARGS__)
#define log_info(...) log_msg(6, __VA_ARGS__)
#define log_notice(...) log_msg(5, __VA_ARGS__)
#define log_warning(...) log_msg(4, __VA_ARGS__)
#define log_error(...) log_msg(3, __VA_ARGS__)
