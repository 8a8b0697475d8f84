/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* SQL of the transfer history (daemon/history.c): two tables of per-peer byte counts per
 * bucket, level 0 (fine, 5 minutes) and level 1 (coarse, hourly). Rows are keyed
 * (peer_id, bucket) without rowid, so a peer's history is one range. A removed peer's
 * rows are deleted by the tick, a bounded number at a time (history_gone), not by the
 * removal's transaction. */

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

/* 10: the rows of the two tables no longer go with their peer in the removal's transaction
 * (a cascade through 21.8 M rows held DeleteNetwork 28 s): the foreign key is taken off the
 * tables' definitions (SQLite's documented way for dropping a constraint, which does not
 * change how rows are stored: writable_schema, then a reload), and a trigger notes every
 * removed peer in history_gone, whose rows the tick deletes a few thousand at a time.
 * history_last keeps its cascade (one row a peer). The CREATE TABLE after the reload bumps
 * the schema cookie, so other connections read the new schema. */
#define DB_HISTORY_GONE_MIGRATION_SQL                                                   \
        "PRAGMA writable_schema = ON;"                                                  \
        "UPDATE sqlite_schema SET sql = 'CREATE TABLE history_fine ("                   \
        "  peer_id INTEGER NOT NULL,"                                                   \
        "  bucket INTEGER NOT NULL,"                                                    \
        "  rx INTEGER NOT NULL DEFAULT 0,"                                              \
        "  tx INTEGER NOT NULL DEFAULT 0,"                                              \
        "  PRIMARY KEY (peer_id, bucket)"                                               \
        ") WITHOUT ROWID' WHERE type = 'table' AND name = 'history_fine';"              \
        "UPDATE sqlite_schema SET sql = 'CREATE TABLE history_coarse ("                 \
        "  peer_id INTEGER NOT NULL,"                                                   \
        "  bucket INTEGER NOT NULL,"                                                    \
        "  rx INTEGER NOT NULL DEFAULT 0,"                                              \
        "  tx INTEGER NOT NULL DEFAULT 0,"                                              \
        "  PRIMARY KEY (peer_id, bucket)"                                               \
        ") WITHOUT ROWID' WHERE type = 'table' AND name = 'history_coarse';"            \
        "PRAGMA writable_schema = RESET;"                                               \
        "CREATE TABLE history_gone (peer_id INTEGER PRIMARY KEY);"                      \
        "CREATE TRIGGER history_peer_gone AFTER DELETE ON peers BEGIN"                  \
        "  INSERT OR IGNORE INTO history_gone (peer_id) VALUES (old.id);"               \
        "END;"

/* A removed peer's id stays taken while history_gone holds it (db_max_ids): a new peer
 * with that id would get the old rows, and lose its own to the cleanup. */
#define DB_HISTORY_GONE_MAX_ID_SQL "(SELECT IFNULL(MAX(peer_id), 0) FROM history_gone)"

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
/* Sums per step-wide slot from `since` on (slots start at since + k * step), in time order,
 * at most `limit` of them. *ret is malloc'd. */
int db_history_query(DbHistory *h, int level, uint64_t peer_id, uint64_t since, uint64_t step, size_t limit,
                     HistoryPoint **ret, size_t *ret_n);
/* Does history_gone name a removed peer whose rows are still there? */
int db_history_gone_any(DbHistory *h);
/* Delete at most `max_rows` rows of removed peers, in the caller's transaction, lowest
 * peer id first; a peer leaves history_gone with its last row. *ret_deleted: how many. */
int db_history_gone_delete(DbHistory *h, uint64_t max_rows, uint64_t *ret_deleted);
