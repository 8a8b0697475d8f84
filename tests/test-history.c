/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Transfer history: deltas of the device counters into 5-minute and hourly buckets,
 * counter restarts, peers that come and go, queries with steps, retention, and a peer's
 * removal taking its history along. A real SQLite database in a temporary directory. */
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

static bool clock_unsynchronized(void) {
        return false;
}

static bool clock_synchronized(void) {
        return true;
}

typedef struct Fixture {
        char dir[64];
        Manager *m;
        Network *n;
        Peer *peers[3];
} Fixture;

static void fixture_setup(Fixture *f, int fine_days, int coarse_days) {
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

static void fixture_done(Fixture *f) {
        char cmd[128];
        f->m = manager_free(f->m);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", f->dir);
}

static long long count_rows(Fixture *f, const char *sql) {
        sqlite3_stmt *s;
        long long v = -1;
        if (sqlite3_prepare_v2(db_handle(f->m->db), sql, -1, &s, NULL) != SQLITE_OK)
                return -1;
        if (sqlite3_step(s) == SQLITE_ROW)
                v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return v;
}

static void set(Peer *p, uint64_t rx, uint64_t tx) {
        p->rx_bytes = rx;
        p->tx_bytes = tx;
}

static void query(Fixture *f, unsigned peer, uint64_t since, uint64_t step, uint64_t now, HistoryPoint **ret, size_t *ret_n) {
        free(*ret);
        *ret = NULL;
        ASSERT_OK(history_query(f->m->history, f->peers[peer]->id, since, step, now, ret, ret_n));
}

TEST(deltas_into_buckets) {
        Fixture f = { 0 };
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n;

        fixture_setup(&f, 7, 90);
        set(f.peers[0], 1000, 500);             /* the first sample after the start is the baseline */
        ASSERT_OK(history_sample(f.m->history, T0 + 10 * SEC, T0 + 10 * SEC));
        set(f.peers[0], 1100, 520);
        ASSERT_OK(history_sample(f.m->history, T0 + 20 * SEC, T0 + 20 * SEC));
        set(f.peers[0], 1300, 600);
        ASSERT_OK(history_sample(f.m->history, T0 + 299 * SEC, T0 + 299 * SEC));
        set(f.peers[0], 1350, 610);             /* next 5-minute bucket */
        ASSERT_OK(history_sample(f.m->history, T0 + 300 * SEC, T0 + 300 * SEC));
        set(f.peers[0], 50, 5);                 /* the device restarted: counts from 0 */
        ASSERT_OK(history_sample(f.m->history, T0 + 3700 * SEC, T0 + 3700 * SEC));

        query(&f, 0, T0, 0, T0 + 3800 * SEC, &pt, &n);
        ASSERT_EQ(n, 3);
        ASSERT_EQ(pt[0].time, T0);
        ASSERT_EQ(pt[0].rx, 300);
        ASSERT_EQ(pt[0].tx, 100);
        ASSERT_EQ(pt[1].time, T0 + 300 * SEC);
        ASSERT_EQ(pt[1].rx, 50);
        ASSERT_EQ(pt[1].tx, 10);
        ASSERT_EQ(pt[2].time, T0 + 3600 * SEC);
        ASSERT_EQ(pt[2].rx, 50);
        ASSERT_EQ(pt[2].tx, 5);

        /* 10-minute steps sum two buckets; hourly steps read the hourly level */
        query(&f, 0, T0, 600 * SEC, T0 + 3800 * SEC, &pt, &n);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(pt[0].rx, 350);
        query(&f, 0, T0, 3600 * SEC, T0 + 3800 * SEC, &pt, &n);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(pt[0].time, T0);
        ASSERT_EQ(pt[0].rx, 350);
        ASSERT_EQ(pt[0].tx, 110);
        ASSERT_EQ(pt[1].rx, 50);
        /* a step that is not a multiple of the bucket is rounded up */
        query(&f, 0, T0, 301 * SEC, T0 + 3800 * SEC, &pt, &n);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(pt[0].rx, 350);
        /* since in the middle of a bucket: from that bucket's start */
        query(&f, 0, T0 + 3650 * SEC, 0, T0 + 3800 * SEC, &pt, &n);
        ASSERT_EQ(n, 1);
        ASSERT_EQ(pt[0].time, T0 + 3600 * SEC);

        /* idle peers wrote nothing */
        query(&f, 1, T0, 0, T0 + 3800 * SEC, &pt, &n);
        ASSERT_EQ(n, 0);
        fixture_done(&f);
}

TEST(old_since_reads_hourly_and_retention_prunes) {
        Fixture f = { 0 };
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n;

        fixture_setup(&f, 1, 2);
        set(f.peers[1], 0, 0);
        ASSERT_OK(history_sample(f.m->history, T0, T0));
        set(f.peers[1], 100, 0);
        ASSERT_OK(history_sample(f.m->history, T0 + 60 * SEC, T0 + 60 * SEC));
        set(f.peers[1], 300, 0);
        ASSERT_OK(history_sample(f.m->history, T0 + 86400 * SEC + 60 * SEC, T0 + 86400 * SEC + 60 * SEC));
        /* since older than the 5-minute retention: the hourly level answers */
        query(&f, 1, T0, 0, T0 + 86400 * SEC + 120 * SEC, &pt, &n);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(pt[0].time, T0);
        ASSERT_EQ(pt[0].rx, 100);
        ASSERT_EQ(pt[1].time, T0 + 86400 * SEC);
        ASSERT_EQ(pt[1].rx, 200);
        /* since within the 5-minute retention: that level, whose first bucket (a day old)
         * was pruned */
        query(&f, 1, T0 + 86000 * SEC, 300 * SEC, T0 + 86400 * SEC + 120 * SEC, &pt, &n);
        ASSERT_EQ(n, 1);
        ASSERT_EQ(pt[0].time, T0 + 86400 * SEC);
        ASSERT_EQ(pt[0].rx, 200);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine"), 1);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse"), 2);
        set(f.peers[1], 301, 0);
        ASSERT_OK(history_sample(f.m->history, T0 + 3 * 86400 * SEC, T0 + 3 * 86400 * SEC));
        query(&f, 1, T0, 3600 * SEC, T0 + 3 * 86400 * SEC, &pt, &n);
        ASSERT_EQ(n, 2);        /* day 1 and day 3; day 0 is gone */
        ASSERT_EQ(pt[0].time, T0 + 86400 * SEC);
        fixture_done(&f);
}

TEST(peer_gone_and_back_is_a_new_baseline) {
        Fixture f = { 0 };
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n;

        fixture_setup(&f, 7, 90);
        set(f.peers[2], 1000, 1000);
        ASSERT_OK(history_sample(f.m->history, T0, T0));
        f.n->active = false;                    /* network down: not sampled, baseline forgotten */
        ASSERT_OK(history_sample(f.m->history, T0 + 60 * SEC, T0 + 60 * SEC));
        f.n->active = true;                     /* the device is new: its counters start at 0 */
        set(f.peers[2], 5000, 5000);
        ASSERT_OK(history_sample(f.m->history, T0 + 120 * SEC, T0 + 120 * SEC));
        set(f.peers[2], 5001, 5002);
        ASSERT_OK(history_sample(f.m->history, T0 + 180 * SEC, T0 + 180 * SEC));
        query(&f, 2, T0, 0, T0 + 200 * SEC, &pt, &n);
        ASSERT_EQ(n, 1);
        ASSERT_EQ(pt[0].rx, 5001);
        ASSERT_EQ(pt[0].tx, 5002);
        /* removing the peer removes its history (foreign key) */
        ASSERT_OK(db_peer_delete(f.m->db, f.peers[2]->id));
        query(&f, 2, T0, 0, T0 + 200 * SEC, &pt, &n);
        ASSERT_EQ(n, 0);
        fixture_done(&f);
}

TEST(peer_added_after_the_start_counts_from_zero) {
        Fixture f = { 0 };
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n;
        Peer *p;

        fixture_setup(&f, 7, 90);
        set(f.peers[0], 7000, 7000);            /* bytes of before the restart: not counted */
        ASSERT_OK(history_sample(f.m->history, T0, T0));
        ASSERT_OK(peer_new(f.n, 4, "late", &p));
        p->public_key[0] = 4;
        network_link_peer(f.n, p);
        ASSERT_OK(db_peer_insert(f.m->db, p, NULL, 0));
        set(p, 300, 200);                       /* its first handshake and pings before the tick */
        ASSERT_OK(history_sample(f.m->history, T0 + SEC, T0 + SEC));
        free(pt);
        pt = NULL;
        ASSERT_OK(history_query(f.m->history, 4, T0, 0, T0 + 2 * SEC, &pt, &n));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(pt[0].rx, 300);
        ASSERT_EQ(pt[0].tx, 200);
        query(&f, 0, T0, 0, T0 + 2 * SEC, &pt, &n);
        ASSERT_EQ(n, 0);
        fixture_done(&f);
}

/* A tick whose write fails loses nothing: the next sample takes its baselines from the
 * counters recorded with the last written tick, and never counts a peer's whole lifetime
 * again. */
TEST(failed_tick_does_not_count_twice) {
        Fixture f = { 0 };
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n;

        fixture_setup(&f, 7, 90);
        set(f.peers[0], 1000, 1000);            /* the start's baseline */
        ASSERT_OK(history_sample(f.m->history, T0, T0));
        set(f.peers[0], 1500, 1500);
        ASSERT_OK(history_sample(f.m->history, T0 + SEC, T0 + SEC));
        ASSERT_OK(db_begin(f.m->db));           /* another writer: the tick cannot begin */
        set(f.peers[0], 1800, 1800);
        ASSERT_TRUE(history_sample(f.m->history, T0 + 2 * SEC, T0 + 2 * SEC) < 0);
        db_rollback(f.m->db);
        set(f.peers[0], 2000, 2000);
        ASSERT_OK(history_sample(f.m->history, T0 + 3 * SEC, T0 + 3 * SEC));
        set(f.peers[0], 2100, 2100);
        ASSERT_OK(history_sample(f.m->history, T0 + 4 * SEC, T0 + 4 * SEC));
        query(&f, 0, T0, 0, T0 + 5 * SEC, &pt, &n);
        ASSERT_EQ(n, 1);
        ASSERT_EQ(pt[0].rx, 1100);              /* 500, then 1500 -> 2100 counted after the failure */
        ASSERT_EQ(pt[0].tx, 1100);
        fixture_done(&f);
}

static void restart(Fixture *f) {
        f->m->history = history_free(f->m->history);
        ASSERT_OK(history_new(f->m, &f->m->history));
        history_set_clock_check(f->m->history, clock_unsynchronized);
}

static uint64_t sum_rx(Fixture *f, unsigned peer, uint64_t now) {
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n = 0;
        uint64_t rx = 0;
        query(f, peer, 0, 0, now, &pt, &n);
        for (size_t i = 0; i < n; i++)
                rx += pt[i].rx;
        return rx;
}

/* Bytes moved while wgnetd was stopped count after the start: from the counters recorded
 * with the last tick when the device lived on, from 0 when it was made anew. */
TEST(bytes_moved_while_stopped_count) {
        Fixture f = { 0 };

        fixture_setup(&f, 7, 90);
        set(f.peers[0], 1000, 1000);
        set(f.peers[1], 100, 100);
        ASSERT_OK(history_sample(f.m->history, T0, T0));
        set(f.peers[0], 1500, 1500);
        set(f.peers[1], 300, 300);
        ASSERT_OK(history_sample(f.m->history, T0 + 60 * SEC, T0 + 60 * SEC));
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_last"), 2);

        restart(&f);
        set(f.peers[0], 2500, 2500);            /* the device lived on: 1000 more while stopped */
        set(f.peers[1], 40, 40);                /* the device was made anew: 40 since */
        set(f.peers[2], 9000, 9000);            /* never recorded: bytes of before unknown */
        ASSERT_OK(history_sample(f.m->history, T0 + 600 * SEC, T0 + 600 * SEC));
        ASSERT_EQ(sum_rx(&f, 0, T0 + 700 * SEC), 500);  /* the start's sample writes nothing */
        set(f.peers[0], 2600, 2600);
        set(f.peers[1], 50, 50);
        set(f.peers[2], 9010, 9010);
        ASSERT_OK(history_sample(f.m->history, T0 + 660 * SEC, T0 + 660 * SEC));
        ASSERT_EQ(sum_rx(&f, 0, T0 + 700 * SEC), 500 + 1100);
        ASSERT_EQ(sum_rx(&f, 1, T0 + 700 * SEC), 200 + 50);
        ASSERT_EQ(sum_rx(&f, 2, T0 + 700 * SEC), 10);

        /* a peer removed takes its recorded counters along */
        ASSERT_OK(db_peer_delete(f.m->db, f.peers[2]->id));
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_last"), 2);
        fixture_done(&f);
}

/* Retention 1 day (5-minute) and 2 days (hourly); peer 0 moved 100 bytes each way in the
 * first minute at T0, with the wall clock and CLOCK_BOOTTIME in step. */
static void first_minute(Fixture *f) {
        fixture_setup(f, 1, 2);
        set(f->peers[0], 0, 0);
        ASSERT_OK(history_sample(f->m->history, T0, T0));
        set(f->peers[0], 100, 100);
        ASSERT_OK(history_sample(f->m->history, T0 + 60 * SEC, T0 + 60 * SEC));
}

/* The wall clock set 400 days ahead while running: nothing is pruned until the time the
 * system counted (CLOCK_BOOTTIME) passes the retention. */
TEST(clock_jump_ahead_keeps_history) {
        Fixture f = { 0 };
        const uint64_t jump = 400 * 86400 * SEC;

        first_minute(&f);
        set(f.peers[0], 150, 150);
        ASSERT_OK(history_sample(f.m->history, T0 + jump + 3600 * SEC, T0 + 120 * SEC));
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine WHERE bucket = 1800000000"), 1);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse WHERE bucket = 1800000000"), 1);
        ASSERT_EQ(sum_rx(&f, 0, T0 + jump + 4000 * SEC), 150);

        /* the retention passes by the system's count: pruned then */
        set(f.peers[0], 160, 160);
        ASSERT_OK(history_sample(f.m->history, T0 + jump + 3 * 86400 * SEC, T0 + 3 * 86400 * SEC));
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine WHERE bucket = 1800000000"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse WHERE bucket = 1800000000"), 0);
        fixture_done(&f);
}

/* Started with a clock that says every row expired long ago: they are kept, and pruned as
 * the time since the start passes. */
TEST(start_with_clock_past_every_row_keeps_them) {
        Fixture f = { 0 };
        const uint64_t later = 400 * 86400 * SEC;

        first_minute(&f);

        restart(&f);                            /* a new boot: CLOCK_BOOTTIME from 0 */
        ASSERT_OK(history_sample(f.m->history, T0 + later, 5 * SEC));
        set(f.peers[0], 120, 120);
        ASSERT_OK(history_sample(f.m->history, T0 + later + 3600 * SEC, 3605 * SEC));
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse WHERE bucket = 1800000000"), 1);
        ASSERT_EQ(sum_rx(&f, 0, T0 + later + 7200 * SEC), 120);
        set(f.peers[0], 130, 130);
        ASSERT_OK(history_sample(f.m->history, T0 + later + 3 * 86400 * SEC, 3 * 86400 * SEC + 5 * SEC));
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse WHERE bucket = 1800000000"), 0);
        fixture_done(&f);
}

/* Started with a clock behind (before NTP, no hardware clock), then synchronized: the jump
 * ahead is trusted, and the retention holds by the wall clock again. */
TEST(clock_synchronized_after_a_late_start) {
        Fixture f = { 0 };
        const uint64_t jump = 30 * 86400 * SEC;

        first_minute(&f);
        history_set_clock_check(f.m->history, clock_synchronized);
        set(f.peers[0], 150, 150);
        ASSERT_OK(history_sample(f.m->history, T0 + jump + 3600 * SEC, T0 + 120 * SEC));
        /* 30 days ahead, trusted: the first day's rows are past both retentions */
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine WHERE bucket = 1800000000"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse WHERE bucket = 1800000000"), 0);
        ASSERT_EQ(sum_rx(&f, 0, T0 + jump + 4000 * SEC), 50);
        fixture_done(&f);
}

TEST(off) {
        Fixture f = { 0 };
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n = 1;

        fixture_setup(&f, 0, 0);
        set(f.peers[0], 1, 1);
        ASSERT_OK(history_sample(f.m->history, T0, T0));
        set(f.peers[0], 2, 2);
        ASSERT_OK(history_sample(f.m->history, T0 + SEC, T0 + SEC));
        query(&f, 0, 0, 0, T0 + 2 * SEC, &pt, &n);
        ASSERT_EQ(n, 0);
        fixture_done(&f);
}

TEST_MAIN()
