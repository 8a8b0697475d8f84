/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

#define WGNETD_CONFIG_FILE "/etc/wgnet/wgnetd.conf"
#define WGNETD_STATE_DIR "/var/lib/wgnet"
#define WGNETD_TICK_USEC (5 * UINT64_C(1000000))

/* Read a config file of "Key=Value" lines ('#' comments): StateDirectory=, TickSeconds=,
 * Backend= (auto|kernel|userspace), UserspaceImplementation=, Firewall= (yes|no),
 * HistoryRetention5Min= and HistoryRetentionHourly= (days; 0 = off). A missing file is fine
 * unless required. Errors name the line. */
int config_parse_file(const char *path, bool required, ManagerConfig *c);
/* Parse a retention in days ("7" or "7d", 0-3650). */
int config_parse_days(const char *s, int *ret_days);
/* Parse a tick in seconds (decimal, 0.1-3600). */
int config_parse_tick(const char *s, uint64_t *ret_usec);
