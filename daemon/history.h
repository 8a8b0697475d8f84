/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Transfer history per peer. The tick calls history_sample() after the status refresh. The
 * bytes each peer moved since the last read that listed it (device counters are
 * cumulative; a counter that went down restarted from 0; a peer added while wgnetd runs
 * counts from 0) are added up in memory for the open 5-minute bucket. When the bucket
 * closes, each peer's bytes are written to its 5-minute and hourly rows in one transaction
 * with the counters they reach (history_last), spread over the next ticks (at most 1,000
 * peers, or a tenth of them, a tick); a peer that leaves its device (disabled, expired, its
 * network down) is written by the next ticks without waiting for the close. The recorded
 * counters only move with the rows, so a crash or a stop loses no byte a device still
 * counts: the next start counts from them again (in its first bucket), as it counts what
 * the devices moved while wgnetd was stopped; a peer never recorded starts from the
 * device's counters as found. A peer is
 * counted only from reads that listed it: a device that could not be read is not mistaken
 * for one made anew, and a disabled peer's stale counters are never counted again.
 * Old buckets are pruned once an hour (spread like the writes) by a clock that advances
 * no faster than CLOCK_BOOTTIME; the buckets follow that clock too: a wall clock set far
 * ahead neither empties the history nor files bytes in the future (one that jumped ahead
 * while NTP says it is synchronized is trusted again). A removed peer's rows are deleted
 * by the ticks after the removal, a bounded number a tick (history_gone). Retention:
 * HistoryRetention5Min= / HistoryRetentionHourly= (days) in the config file; 0 turns a
 * level off, both 0 turn history off. */

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
/* GetTransferHistory answers at most this many points (refused above, see
 * history_query_check()). */
#define HISTORY_QUERY_POINTS_MAX 10000

int history_new(Manager *m, History **ret);
History *history_free(History *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(History *, history_free)

/* One sample of every peer of every active network; now in µs since the epoch, boot
 * CLOCK_BOOTTIME in µs. */
int history_sample(History *h, uint64_t now, uint64_t boot);

/* A clean stop: every byte counted so far written into its bucket, in one transaction
 * (a crash leaves them to the next start, which counts them into a later bucket). */
int history_stop(History *h, uint64_t now, uint64_t boot);

/* How many peers have counters in memory (those of active networks, and idle ones whose
 * bytes are still to be written). */
size_t history_peers_held(const History *h);

/* Tests: how the prune asks whether the wall clock is synchronized (NTP); by default the
 * kernel, or systemd-timesyncd's flag file. */
void history_set_clock_check(History *h, bool (*synchronized)(void));

/* Points from since (µs since the epoch) on, step µs wide (0: the level's own bucket;
 * rounded up to a multiple of it). The level is the 5-minute one when it still covers
 * since and the step is below an hour, else the hourly one. Point times are in µs. The
 * bytes not yet written (the open bucket) are in the answer too. -E2BIG when the range
 * could hold more than HISTORY_QUERY_POINTS_MAX points (history_query_check()). */
int history_query(History *h, uint64_t peer_id, uint64_t since, uint64_t step, uint64_t now,
                  HistoryPoint **ret, size_t *ret_n);
/* How many points a query can answer at most: from since, or the level's retention when
 * that is later, to now, one a step. -E2BIG above HISTORY_QUERY_POINTS_MAX, with the
 * smallest step (µs) that fits in *ret_min_step. */
int history_query_check(History *h, uint64_t since, uint64_t step, uint64_t now,
                        uint64_t *ret_points, uint64_t *ret_min_step);
