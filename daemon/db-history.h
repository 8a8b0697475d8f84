/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* SQL of the transfer history (daemon/history.c): two tables of per-peer byte counts per
 * bucket, level 0 (fine, 5 minutes) and level 1 (coarse, hourly). Rows are keyed
 * (peer_id, bucket) without rowid, so a peer's history is one range and removing a peer
 * removes its history (foreign key, cascade). */

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define DB_HISTORY_MIGRATION_SQL                                                        \
        "CREATE TABLE history_fine ("                                                   \
        "  peer_id INTEGER NOT NULL REFERENCES peers(id) ON DELETE CASCADE,"            \
        "  bucket INTEGER NOT NULL,"                                                    \
        "  rx INTEGER NOT NULL DEFAULT 0,"                                              \
        "  tx INTEGER NOT NULL DEFAULT 0,"                                              \
        "  PRIMARY KEY (peer_id, bucket)"                                               \
        ") WITHOUT ROWID;"                                                              \
        "CREATE TABLE history_coarse ("                                                 \
        "  peer_id INTEGER NOT NULL REFERENCES peers(id) ON DELETE CASCADE,"            \
        "  bucket INTEGER NOT NULL,"                                                    \
        "  rx INTEGER NOT NULL DEFAULT 0,"                                              \
        "  tx INTEGER NOT NULL DEFAULT 0,"                                              \
        "  PRIMARY KEY (peer_id, bucket)"                                               \
        ") WITHOUT ROWID;"

/* Each peer's device counters at its last recorded sample and that sample's time (seconds
 * since the epoch), written in the same transaction as the buckets: after a restart, the
 * bytes moved while wgnetd was stopped are counted from them, and the newest time tells a
 * clock that jumped far ahead (history.c). */
#define DB_HISTORY_LAST_MIGRATION_SQL                                                   \
        "CREATE TABLE history_last ("                                                   \
        "  peer_id INTEGER PRIMARY KEY REFERENCES peers(id) ON DELETE CASCADE,"         \
        "  rx INTEGER NOT NULL,"                                                        \
        "  tx INTEGER NOT NULL,"                                                        \
        "  at INTEGER NOT NULL"                                                         \
        ");"

typedef struct DbHistory DbHistory;

typedef struct HistoryPoint {
        uint64_t time;                  /* bucket start, seconds since the epoch */
        uint64_t rx, tx;
} HistoryPoint;

int db_history_open(Db *db, DbHistory **ret);
DbHistory *db_history_close(DbHistory *h);

/* Add bytes to (peer, bucket) of a level (0 fine, 1 coarse), creating the row. Inside a
 * transaction of the caller (db_begin/db_commit). */
int db_history_add(DbHistory *h, int level, uint64_t peer_id, uint64_t bucket, uint64_t rx, uint64_t tx);
/* Drop a peer's rows older than bucket `before`. */
int db_history_prune(DbHistory *h, int level, uint64_t peer_id, uint64_t before);
/* Record a peer's counters at the sample of time `at`, in the caller's transaction. */
int db_history_last_set(DbHistory *h, uint64_t peer_id, uint64_t rx, uint64_t tx, uint64_t at);
/* Call f for every peer's recorded counters, in no particular order; stops at f's first
 * negative return and returns it. */
int db_history_last_load(DbHistory *h, int (*f)(uint64_t peer_id, uint64_t rx, uint64_t tx, uint64_t at, void *userdata),
                         void *userdata);
/* Sums per step-wide slot from `since` on (slots start at since + k * step), in time order.
 * *ret is malloc'd. */
int db_history_query(DbHistory *h, int level, uint64_t peer_id, uint64_t since, uint64_t step,
                     HistoryPoint **ret, size_t *ret_n);
