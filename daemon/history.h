/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Transfer history per peer. The tick calls history_sample() after the status refresh:
 * the bytes each peer moved since the last sample (device counters are cumulative; a
 * counter that went down restarted from 0; a peer seen after the first sample counts from
 * 0) are added to the current 5-minute and hourly buckets, in one transaction with each
 * peer's counters, only for peers that moved bytes. The first sample after the start (or
 * after a failed tick) takes its baselines from those recorded counters, so the bytes moved
 * while wgnetd was stopped count too; a peer never recorded starts from the device's
 * counters as found. Old buckets are pruned once an hour, by a clock that advances no
 * faster than CLOCK_BOOTTIME: a wall clock set far ahead does not empty the history (one
 * that jumped ahead while NTP says it is synchronized is trusted again). Retention: HistoryRetention5Min= / HistoryRetentionHourly= (days) in the config
 * file; 0 turns a level off, both 0 turn history off. */

#include <stdbool.h>
#include <stdint.h>

#include "db-history.h"
#include "macro.h"

typedef struct Manager Manager;
typedef struct History History;

#define HISTORY_FINE_STEP 300           /* seconds */
#define HISTORY_COARSE_STEP 3600
#define HISTORY_FINE_KEEP_DAYS 7
#define HISTORY_COARSE_KEEP_DAYS 90

int history_new(Manager *m, History **ret);
History *history_free(History *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(History *, history_free)

/* One sample of every peer of every active network; now in µs since the epoch, boot
 * CLOCK_BOOTTIME in µs. */
int history_sample(History *h, uint64_t now, uint64_t boot);

/* Tests: how the prune asks whether the wall clock is synchronized (NTP); by default the
 * kernel, or systemd-timesyncd's flag file. */
void history_set_clock_check(History *h, bool (*synchronized)(void));

/* Points from since (µs since the epoch) on, step µs wide (0: the level's own bucket;
 * rounded up to a multiple of it). The level is the 5-minute one when it still covers
 * since and the step is below an hour, else the hourly one. Point times are in µs. */
int history_query(History *h, uint64_t peer_id, uint64_t since, uint64_t step, uint64_t now,
                  HistoryPoint **ret, size_t *ret_n);
