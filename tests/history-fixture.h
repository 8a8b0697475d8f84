/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The transfer history tests' fixture (test-history.c, test-history-clock.c): a manager
 * with one network of three peers and a real SQLite database in a temporary directory;
 * read_device() does to the peers what update_status() in daemon/network.c does. */
#pragma once

#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "db.h"
#include "history.h"
#include "manager.h"
#include "network.h"
#include "peer.h"
#include "test.h"

#define SEC UINT64_C(1000000)
#define T0 (UINT64_C(1800000000) * SEC)         /* a multiple of an hour */

static inline bool clock_unsynchronized(void) {
        return false;
}

static inline bool clock_synchronized(void) {
        return true;
}

typedef struct Fixture {
        char dir[64];
        Manager *m;
        Network *n;
        Peer *peers[3];
        uint64_t reads;
} Fixture;

static inline void fixture_setup(Fixture *f, int fine_days, int coarse_days) {
        ManagerConfig c = { .state_dir = (char *) "/nonexistent", .tick_usec = SEC,
                            .history_fine_days = fine_days, .history_coarse_days = coarse_days };
        char path[128];

        snprintf(f->dir, sizeof(f->dir), "/tmp/wgnet-test-history-XXXXXX");
        ASSERT_TRUE(mkdtemp(f->dir));
        snprintf(path, sizeof(path), "%s/wgnet.db", f->dir);
        ASSERT_OK(manager_new(&c, &f->m));
        ASSERT_OK(db_open(path, &f->m->db));
        ASSERT_OK(network_new(f->m, 1, "office", "wg0", &f->n));
        ASSERT_OK(network_attach(f->n));
        f->n->active = true;
        ASSERT_OK(db_network_insert(f->m->db, f->n));
        for (unsigned i = 0; i < ELEMENTSOF(f->peers); i++) {
                char name[16];
                Peer *p;
                snprintf(name, sizeof(name), "p%u", i);
                ASSERT_OK(peer_new(f->n, i + 1, name, &p));
                p->public_key[0] = (uint8_t) (i + 1);
                network_link_peer(f->n, p);
                ASSERT_OK(db_peer_insert(f->m->db, p, NULL, 0));
                f->peers[i] = p;
        }
        ASSERT_OK(history_new(f->m, &f->m->history));
        history_set_clock_check(f->m->history, clock_unsynchronized);
}

static inline void fixture_done(Fixture *f) {
        char cmd[128];
        f->m = manager_free(f->m);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", f->dir);
}

static inline long long count_rows(Fixture *f, const char *sql) {
        sqlite3_stmt *s;
        long long v = -1;
        if (sqlite3_prepare_v2(db_handle(f->m->db), sql, -1, &s, NULL) != SQLITE_OK)
                return -1;
        if (sqlite3_step(s) == SQLITE_ROW)
                v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return v;
}

/* What the device counts for a peer; the next read_device() shows it. */
static inline void set(Peer *p, uint64_t rx, uint64_t tx) {
        p->rx_bytes = rx;
        p->tx_bytes = tx;
}

/* A read of the device: it lists the enabled peers (update_status() sets their counters
 * and status_usec); a disabled one keeps what it had. */
static inline void read_device(Fixture *f) {
        f->n->status_usec = ++f->reads;
        for (Peer *p = f->n->peers; p; p = p->next)
                if (p->enabled)
                        p->status_usec = f->n->status_usec;
}

/* A tick: the device read (when the network is up), then the sample; wall clock and
 * CLOCK_BOOTTIME in step. */
static inline void tick(Fixture *f, uint64_t t) {
        if (f->n->active)
                read_device(f);
        ASSERT_OK(history_sample(f->m->history, t, t));
}

static inline void query(Fixture *f, unsigned peer, uint64_t since, uint64_t step, uint64_t now, HistoryPoint **ret, size_t *ret_n) {
        free(*ret);
        *ret = NULL;
        ASSERT_OK(history_query(f->m->history, f->peers[peer]->id, since, step, now, ret, ret_n));
}

static inline uint64_t sum_rx(Fixture *f, unsigned peer, uint64_t now) {
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n = 0;
        uint64_t rx = 0;
        query(f, peer, now - 6 * 86400 * SEC, 0, now, &pt, &n);
        for (size_t i = 0; i < n; i++)
                rx += pt[i].rx;
        return rx;
}

/* A stop without a write: what memory held is gone, the database stays. */
static inline void crash(Fixture *f) {
        f->m->history = history_free(f->m->history);
        ASSERT_OK(history_new(f->m, &f->m->history));
        history_set_clock_check(f->m->history, clock_unsynchronized);
}

/* A start after a crash: the peers as db_load() makes them, nothing read yet. */
static inline void restart(Fixture *f) {
        crash(f);
        f->n->status_usec = 0;
        for (Peer *p = f->n->peers; p; p = p->next) {
                p->status_usec = 0;
                set(p, 0, 0);
        }
}

static inline long long fine_rx(Fixture *f, unsigned peer, uint64_t bucket) {
        char sql[160];
        snprintf(sql, sizeof(sql), "SELECT IFNULL(SUM(rx), -1) FROM history_fine WHERE peer_id = %" PRIu64 " AND bucket = %" PRIu64,
                 f->peers[peer]->id, bucket / SEC);
        return count_rows(f, sql);
}

static inline long long last_rx(Fixture *f, unsigned peer) {
        char sql[96];
        snprintf(sql, sizeof(sql), "SELECT IFNULL(MAX(rx), -1) FROM history_last WHERE peer_id = %" PRIu64,
                 f->peers[peer]->id);
        return count_rows(f, sql);
}
