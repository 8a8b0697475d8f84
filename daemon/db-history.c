/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sqlite3.h>

#include "db-history.h"
#include "db-util.h"
#include "macro.h"

enum {
        H_ADD,
        H_PRUNE,
        H_QUERY,
        H_DELETE_SOME,
        _H_MAX,
};

static const char *const sql[2][_H_MAX] = {
        {
                [H_ADD] = "INSERT INTO history_fine (peer_id, bucket, rx, tx) VALUES (?1, ?2, ?3, ?4)"
                          " ON CONFLICT (peer_id, bucket) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx",
                [H_PRUNE] = "DELETE FROM history_fine WHERE peer_id = ?1 AND bucket < ?2",
                [H_QUERY] = "SELECT ?3 + ((bucket - ?3) / ?4) * ?4 AS slot, SUM(rx), SUM(tx) FROM history_fine"
                            " WHERE peer_id = ?1 AND bucket >= ?2 GROUP BY slot ORDER BY slot LIMIT ?5",
                /* a removed peer's oldest ?2 rows: a range of the key */
                [H_DELETE_SOME] = "DELETE FROM history_fine WHERE peer_id = ?1 AND bucket IN"
                                  " (SELECT bucket FROM history_fine WHERE peer_id = ?1 ORDER BY bucket LIMIT ?2)",
        },
        {
                [H_ADD] = "INSERT INTO history_coarse (peer_id, bucket, rx, tx) VALUES (?1, ?2, ?3, ?4)"
                          " ON CONFLICT (peer_id, bucket) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx",
                [H_PRUNE] = "DELETE FROM history_coarse WHERE peer_id = ?1 AND bucket < ?2",
                [H_QUERY] = "SELECT ?3 + ((bucket - ?3) / ?4) * ?4 AS slot, SUM(rx), SUM(tx) FROM history_coarse"
                            " WHERE peer_id = ?1 AND bucket >= ?2 GROUP BY slot ORDER BY slot LIMIT ?5",
                [H_DELETE_SOME] = "DELETE FROM history_coarse WHERE peer_id = ?1 AND bucket IN"
                                  " (SELECT bucket FROM history_coarse WHERE peer_id = ?1 ORDER BY bucket LIMIT ?2)",
        },
};

enum {
        LAST_UPDATE,
        LAST_INSERT,
        LAST_LOAD,
        GONE_FIRST,
        GONE_DONE,
        _LAST_MAX,
};

static const char *const last_sql[_LAST_MAX] = {
        /* an UPDATE of the row that is there nearly always, cheaper than an upsert */
        [LAST_UPDATE] = "UPDATE history_last SET rx = ?2, tx = ?3, at = ?4 WHERE peer_id = ?1",
        [LAST_INSERT] = "INSERT INTO history_last (peer_id, rx, tx, at) VALUES (?1, ?2, ?3, ?4)",
        [LAST_LOAD] = "SELECT peer_id, rx, tx, at FROM history_last",
        [GONE_FIRST] = "SELECT peer_id FROM history_gone ORDER BY peer_id LIMIT 1",
        [GONE_DONE] = "DELETE FROM history_gone WHERE peer_id = ?1",
};

struct DbHistory {
        sqlite3_stmt *stmts[2][_H_MAX];
        sqlite3_stmt *last[_LAST_MAX];
};

int db_history_open(Db *db, DbHistory **ret) {
        DbHistory *h = calloc(1, sizeof(DbHistory));
        if (!h)
                return -ENOMEM;
        for (int l = 0; l < 2; l++)
                for (int i = 0; i < _H_MAX; i++)
                        if (sqlite3_prepare_v3(db_handle(db), sql[l][i], -1, SQLITE_PREPARE_PERSISTENT,
                                               &h->stmts[l][i], NULL) != SQLITE_OK) {
                                db_history_close(h);
                                return -EIO;
                        }
        for (int i = 0; i < _LAST_MAX; i++)
                if (sqlite3_prepare_v3(db_handle(db), last_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                       &h->last[i], NULL) != SQLITE_OK) {
                        db_history_close(h);
                        return -EIO;
                }
        *ret = h;
        return 0;
}

DbHistory *db_history_close(DbHistory *h) {
        if (!h)
                return NULL;
        for (int l = 0; l < 2; l++)
                for (int i = 0; i < _H_MAX; i++)
                        sqlite3_finalize(h->stmts[l][i]);
        for (int i = 0; i < _LAST_MAX; i++)
                sqlite3_finalize(h->last[i]);
        free(h);
        return NULL;
}

static int finish(sqlite3_stmt *s, int rc) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return db_sqlite_errno(rc);     /* extended codes too (SQLITE_BUSY_SNAPSHOT, ...) */
}

static bool bind_u64(sqlite3_stmt *s, int i, uint64_t v) {
        return sqlite3_bind_int64(s, i, (sqlite3_int64) MIN(v, (uint64_t) INT64_MAX)) == SQLITE_OK;
}

int db_history_add(DbHistory *h, int level, uint64_t peer_id, uint64_t bucket, uint64_t rx, uint64_t tx) {
        sqlite3_stmt *s = h->stmts[level][H_ADD];
        if (!bind_u64(s, 1, peer_id) || !bind_u64(s, 2, bucket) || !bind_u64(s, 3, rx) || !bind_u64(s, 4, tx))
                return finish(s, SQLITE_ERROR);
        return finish(s, sqlite3_step(s));
}

int db_history_prune(DbHistory *h, int level, uint64_t peer_id, uint64_t before) {
        sqlite3_stmt *s = h->stmts[level][H_PRUNE];
        if (!bind_u64(s, 1, peer_id) || !bind_u64(s, 2, before))
                return finish(s, SQLITE_ERROR);
        return finish(s, sqlite3_step(s));
}

int db_history_last_set(DbHistory *h, uint64_t peer_id, uint64_t rx, uint64_t tx, uint64_t at) {
        for (int i = LAST_UPDATE; i <= LAST_INSERT; i++) {
                sqlite3_stmt *s = h->last[i];
                if (!bind_u64(s, 1, peer_id) || !bind_u64(s, 2, rx) || !bind_u64(s, 3, tx) || !bind_u64(s, 4, at))
                        return finish(s, SQLITE_ERROR);
                int r = finish(s, sqlite3_step(s));
                if (r < 0 || sqlite3_changes(sqlite3_db_handle(s)) > 0)
                        return r;
        }
        return -EIO;
}

int db_history_last_load(DbHistory *h, int (*f)(uint64_t peer_id, uint64_t rx, uint64_t tx, uint64_t at, void *userdata),
                         void *userdata) {
        sqlite3_stmt *s = h->last[LAST_LOAD];
        int rc;

        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                int r = f((uint64_t) sqlite3_column_int64(s, 0), (uint64_t) sqlite3_column_int64(s, 1),
                          (uint64_t) sqlite3_column_int64(s, 2), (uint64_t) sqlite3_column_int64(s, 3), userdata);
                if (r < 0) {
                        sqlite3_reset(s);
                        return r;
                }
        }
        return finish(s, rc);
}

int db_history_query(DbHistory *h, int level, uint64_t peer_id, uint64_t since, uint64_t step, size_t limit,
                     HistoryPoint **ret, size_t *ret_n) {
        sqlite3_stmt *s = h->stmts[level][H_QUERY];
        _cleanup_(freep) HistoryPoint *points = NULL;
        size_t n = 0, alloc = 0;
        int rc;

        if (step == 0)
                return -EINVAL;
        if (!bind_u64(s, 1, peer_id) || !bind_u64(s, 2, since) || !bind_u64(s, 3, since) || !bind_u64(s, 4, step) ||
            !bind_u64(s, 5, limit))
                return finish(s, SQLITE_ERROR);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                if (n == alloc) {
                        alloc = alloc ? alloc * 2 : 64;
                        HistoryPoint *np = realloc(points, alloc * sizeof(HistoryPoint));
                        if (!np)
                                return finish(s, SQLITE_NOMEM);
                        points = np;
                }
                points[n++] = (HistoryPoint) {
                        .time = (uint64_t) sqlite3_column_int64(s, 0),
                        .rx = (uint64_t) sqlite3_column_int64(s, 1),
                        .tx = (uint64_t) sqlite3_column_int64(s, 2),
                };
        }
        int r = finish(s, rc);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(points);
        *ret_n = n;
        return 0;
}

/* The first peer id in history_gone: 1 and *ret_id, 0 when empty. */
static int gone_first(DbHistory *h, uint64_t *ret_id) {
        sqlite3_stmt *s = h->last[GONE_FIRST];
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
                *ret_id = (uint64_t) sqlite3_column_int64(s, 0);
                sqlite3_reset(s);
                return 1;
        }
        return finish(s, rc);
}

int db_history_gone_any(DbHistory *h) {
        uint64_t id = 0;
        return gone_first(h, &id);
}

int db_history_gone_delete(DbHistory *h, uint64_t max_rows, uint64_t *ret_deleted) {
        uint64_t deleted = 0, id = 0;
        int r;

        while (deleted < max_rows) {
                r = gone_first(h, &id);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                /* Each level's oldest rows, as many as the budget leaves. */
                bool more = false;
                for (int l = 0; l < 2 && !more; l++) {
                        sqlite3_stmt *s = h->stmts[l][H_DELETE_SOME];
                        uint64_t want = max_rows - deleted;
                        if (!bind_u64(s, 1, id) || !bind_u64(s, 2, want))
                                return finish(s, SQLITE_ERROR);
                        r = finish(s, sqlite3_step(s));
                        if (r < 0)
                                return r;
                        uint64_t n = (uint64_t) sqlite3_changes(sqlite3_db_handle(s));
                        deleted += n;
                        more = n == want;       /* the budget ran out: rows may be left */
                }
                if (more)
                        break;                  /* the next call goes on with this peer */
                sqlite3_stmt *s = h->last[GONE_DONE];
                if (!bind_u64(s, 1, id))
                        return finish(s, SQLITE_ERROR);
                r = finish(s, sqlite3_step(s));
                if (r < 0)
                        return r;
        }
        *ret_deleted = deleted;
        return 0;
}
