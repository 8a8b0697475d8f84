/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Transfer history: deltas of the device counters added up in memory and written when the
 * 5-minute bucket closes, counter restarts, peers that come and go or leave the device,
 * unread devices or idle networks, crashes, stops and failed writes, queries with steps,
 * retention, and a removed peer's rows deleted by the tick (the clock, the query bound and
 * long ticks: test-history-clock.c). The fixture is history-fixture.h's. */
#include "history-fixture.h"

TEST(deltas_into_buckets) {
        Fixture f = { 0 };
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n;

        fixture_setup(&f, 7, 90);
        set(f.peers[0], 1000, 500);             /* the first sample after the start is the baseline */
        tick(&f, T0 + 10 * SEC);
        set(f.peers[0], 1100, 520);
        tick(&f, T0 + 20 * SEC);
        set(f.peers[0], 1300, 600);
        tick(&f, T0 + 299 * SEC);
        /* in memory until the bucket closes, and in the answers meanwhile */
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine"), 0);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 299 * SEC), 300);
        set(f.peers[0], 1350, 610);             /* next 5-minute bucket: the first one is written */
        tick(&f, T0 + 300 * SEC);
        ASSERT_EQ(fine_rx(&f, 0, T0), 300);
        ASSERT_EQ(last_rx(&f, 0), 1300);        /* with the counters it reaches */
        set(f.peers[0], 50, 5);                 /* the device restarted: counts from 0 */
        tick(&f, T0 + 3700 * SEC);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine"), 2);

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

        /* idle peers wrote no rows, only the counters they were found with */
        query(&f, 1, T0, 0, T0 + 3800 * SEC, &pt, &n);
        ASSERT_EQ(n, 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine WHERE peer_id != 1"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_last"), 3);
        fixture_done(&f);
}

/* Only the closing of a bucket writes, and a bucket's peers are written in one
 * transaction with their counters: ticks in between write nothing. */
TEST(ticks_within_a_bucket_write_nothing) {
        Fixture f = { 0 };

        fixture_setup(&f, 7, 90);
        tick(&f, T0);
        tick(&f, T0 + SEC);                     /* the first tick records the counters found */
        sqlite3_int64 changes = sqlite3_total_changes64(db_handle(f.m->db));
        for (unsigned k = 2; k < 60; k++) {
                set(f.peers[0], k * 100, k * 10);
                set(f.peers[1], k * 7, k);
                tick(&f, T0 + k * 5 * SEC);
        }
        ASSERT_EQ(sqlite3_total_changes64(db_handle(f.m->db)), changes);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 299 * SEC), 5900);
        tick(&f, T0 + 300 * SEC);
        /* two rows and a record a peer that moved */
        ASSERT_EQ(sqlite3_total_changes64(db_handle(f.m->db)), changes + 6);
        ASSERT_EQ(fine_rx(&f, 0, T0), 5900);
        ASSERT_EQ(fine_rx(&f, 1, T0), 59 * 7);
        ASSERT_EQ(last_rx(&f, 0), 5900);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 300 * SEC), 5900);
        fixture_done(&f);
}

TEST(old_since_reads_hourly_and_retention_prunes) {
        Fixture f = { 0 };
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n;

        fixture_setup(&f, 1, 2);
        set(f.peers[1], 0, 0);
        tick(&f, T0);
        set(f.peers[1], 100, 0);
        tick(&f, T0 + 60 * SEC);
        set(f.peers[1], 300, 0);
        tick(&f, T0 + 86400 * SEC + 60 * SEC);
        /* since older than the 5-minute retention: the hourly level answers */
        query(&f, 1, T0, 0, T0 + 86400 * SEC + 120 * SEC, &pt, &n);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(pt[0].time, T0);
        ASSERT_EQ(pt[0].rx, 100);
        ASSERT_EQ(pt[1].time, T0 + 86400 * SEC);
        ASSERT_EQ(pt[1].rx, 200);
        /* since within the 5-minute retention: that level, whose first bucket (a day old)
         * was written and pruned in the same tick */
        query(&f, 1, T0 + 86000 * SEC, 300 * SEC, T0 + 86400 * SEC + 120 * SEC, &pt, &n);
        ASSERT_EQ(n, 1);
        ASSERT_EQ(pt[0].time, T0 + 86400 * SEC);
        ASSERT_EQ(pt[0].rx, 200);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse"), 1);
        set(f.peers[1], 301, 0);
        tick(&f, T0 + 3 * 86400 * SEC);
        query(&f, 1, T0, 3600 * SEC, T0 + 3 * 86400 * SEC, &pt, &n);
        ASSERT_EQ(n, 2);        /* day 1 and day 3; day 0 is gone */
        ASSERT_EQ(pt[0].time, T0 + 86400 * SEC);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse"), 1);
        fixture_done(&f);
}

/* A removed peer: its rows are deleted by the ticks after the removal, at most 50,000 a
 * tick, and its id is not given again meanwhile. */
static void remove_peer(Fixture *f, unsigned i) {
        ASSERT_OK(db_begin(f->m->db));
        ASSERT_OK(db_peer_delete(f->m->db, f->peers[i]->id));
        ASSERT_OK(db_commit(f->m->db));
        network_unlink_peer(f->n, f->peers[i]);
        f->peers[i] = peer_free(f->peers[i]);
}

TEST(removed_peer_rows_go_a_part_a_tick) {
        Fixture f = { 0 };
        uint64_t max_network, max_peer;

        fixture_setup(&f, 7, 90);
        ASSERT_EQ(count_rows(&f, "PRAGMA user_version"), 11);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM pragma_foreign_key_list('history_fine')"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM pragma_foreign_key_list('history_coarse')"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM pragma_foreign_key_list('history_last')"), 1);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
        /* 120,000 rows of peer 3 (the newest), one of peer 1 */
        ASSERT_EQ(sqlite3_exec(db_handle(f.m->db),
                               "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 119999)"
                               " INSERT INTO history_fine SELECT 3, 1000000000 + i * 300, 1, 1 FROM k;"
                               "INSERT INTO history_coarse VALUES (3, 1000000000, 5, 5), (1, 1800000000, 5, 5);",
                               NULL, NULL, NULL), SQLITE_OK);
        tick(&f, T0);
        remove_peer(&f, 2);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_gone"), 1);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine"), 120000);
        ASSERT_OK(db_max_ids(f.m->db, &max_network, &max_peer));
        ASSERT_TRUE(max_peer >= 3);             /* still taken */
        tick(&f, T0 + SEC);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine"), 70000);
        tick(&f, T0 + 2 * SEC);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine"), 20000);
        tick(&f, T0 + 3 * SEC);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse WHERE peer_id = 3"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_gone"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse"), 1);    /* peer 1's */

        /* the network's removal (DeleteNetwork) notes all of its peers */
        ASSERT_OK(db_begin(f.m->db));
        ASSERT_OK(db_network_delete(f.m->db, f.n->id));
        ASSERT_OK(db_commit(f.m->db));
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_gone"), 2);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_last"), 0);
        network_detach(f.n);
        f.n = network_free(f.n);
        ASSERT_OK(history_sample(f.m->history, T0 + 4 * SEC, T0 + 4 * SEC));
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_gone"), 0);
        fixture_done(&f);
}

/* History turned off: a removed peer's rows of before still go. */
TEST(off_still_deletes_removed_peers_rows) {
        Fixture f = { 0 };

        fixture_setup(&f, 0, 0);
        ASSERT_EQ(sqlite3_exec(db_handle(f.m->db), "INSERT INTO history_fine VALUES (3, 1800000000, 1, 1);",
                               NULL, NULL, NULL), SQLITE_OK);
        tick(&f, T0);
        remove_peer(&f, 2);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_gone"), 1);
        tick(&f, T0 + SEC);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_gone"), 0);
        fixture_done(&f);
}

TEST(peer_gone_and_back_is_a_new_baseline) {
        Fixture f = { 0 };
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n;

        fixture_setup(&f, 7, 90);
        set(f.peers[2], 1000, 1000);
        tick(&f, T0);
        f.n->active = false;                    /* network down: the device is gone */
        tick(&f, T0 + 60 * SEC);
        f.n->active = true;                     /* the device is new: its counters start at 0 */
        set(f.peers[2], 5000, 5000);
        tick(&f, T0 + 120 * SEC);
        set(f.peers[2], 5001, 5002);
        tick(&f, T0 + 180 * SEC);
        query(&f, 2, T0, 0, T0 + 200 * SEC, &pt, &n);
        ASSERT_EQ(n, 1);
        ASSERT_EQ(pt[0].rx, 5001);
        ASSERT_EQ(pt[0].tx, 5002);
        fixture_done(&f);
}

/* A disabled peer is off the device but keeps its last counters in Peer: they are not
 * counted again when its network goes down and up (they were: 10,000 became 20,000). */
TEST(disabled_peer_across_network_down_up) {
        Fixture f = { 0 };

        fixture_setup(&f, 7, 90);
        tick(&f, T0);
        set(f.peers[0], 10000, 10000);
        tick(&f, T0 + 5 * SEC);
        f.peers[0]->enabled = false;            /* off the device; Peer keeps 10,000 */
        tick(&f, T0 + 10 * SEC);
        /* leaving the device writes its bytes at once: the device no longer holds them */
        ASSERT_EQ(fine_rx(&f, 0, T0), 10000);
        ASSERT_EQ(last_rx(&f, 0), 0);
        for (unsigned k = 0; k < 3; k++) {
                f.n->active = false;
                tick(&f, T0 + (20 + 20 * k) * SEC);
                f.n->active = true;             /* a new device, without the disabled peer */
                tick(&f, T0 + (30 + 20 * k) * SEC);
        }
        tick(&f, T0 + 400 * SEC);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 400 * SEC), 10000);
        /* enabled: on the device as a new peer, from 0 */
        f.peers[0]->enabled = true;
        set(f.peers[0], 300, 300);
        tick(&f, T0 + 405 * SEC);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 405 * SEC), 10300);
        /* a restart while it is disabled again: nothing counted twice either */
        f.peers[0]->enabled = false;
        tick(&f, T0 + 410 * SEC);
        restart(&f);
        set(f.peers[0], 300, 300);              /* what Peer held, not on the device */
        ASSERT_OK(history_sample(f.m->history, T0 + 500 * SEC, T0 + 500 * SEC));
        tick(&f, T0 + 505 * SEC);
        tick(&f, T0 + 900 * SEC);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 900 * SEC), 10300);
        fixture_done(&f);
}

/* A network down for days: its peers' state leaves memory once their bytes are written, their
 * rows are still pruned (from the hourly list of idle peers), and when the network is up
 * again the counters Peer kept from the old device are not counted again, even at a sample
 * before the new device was read. */
TEST(idle_network_leaves_memory) {
        Fixture f = { 0 };

        fixture_setup(&f, 1, 90);
        tick(&f, T0);
        set(f.peers[0], 5000, 5000);
        tick(&f, T0 + 5 * SEC);
        f.n->active = false;
        for (unsigned k = 1; k <= 4; k++)
                tick(&f, T0 + 5 * SEC + k * 10 * SEC);
        ASSERT_EQ(fine_rx(&f, 0, T0), 5000);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 60 * SEC), 5000);
        ASSERT_EQ(history_peers_held(f.m->history), 0);         /* every peer of the network left memory */
        /* two days later, an hour's ticks: the 5-minute rows (a day kept) are gone, the
         * hourly ones stay: pruned from the idle list, no peer being held */
        for (unsigned k = 0; k < 12; k++)
                tick(&f, T0 + 2 * 86400 * SEC + k * 300 * SEC);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse WHERE rx = 5000"), 1);
        ASSERT_EQ(history_peers_held(f.m->history), 0);
        /* up again: a sample before the new device's first read counts nothing */
        uint64_t t = T0 + 2 * 86400 * SEC + 3600 * SEC;
        f.n->active = true;
        ASSERT_OK(history_sample(f.m->history, t, t));
        set(f.peers[0], 700, 700);                /* the new device, from 0 */
        tick(&f, t + 5 * SEC);
        tick(&f, t + 400 * SEC);
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n = 0;
        query(&f, 0, T0, 3600 * SEC, t + 400 * SEC, &pt, &n);
        uint64_t rx = 0;
        for (size_t i = 0; i < n; i++)
                rx += pt[i].rx;
        ASSERT_EQ(rx, 5700);
        fixture_done(&f);
}

/* The start's read of a device failed: its peers still say 0, which is not "the device was
 * made anew" (that counted the device's whole lifetime twice); they are counted from the
 * first read that lists them. */
TEST(start_with_an_unread_device) {
        Fixture f = { 0 };

        fixture_setup(&f, 7, 90);
        tick(&f, T0);
        set(f.peers[0], 5000, 5000);
        tick(&f, T0 + 5 * SEC);
        tick(&f, T0 + 300 * SEC);               /* written, recorded at 5,000 */
        ASSERT_EQ(last_rx(&f, 0), 5000);

        restart(&f);
        ASSERT_OK(history_sample(f.m->history, T0 + 400 * SEC, T0 + 400 * SEC));       /* no read */
        ASSERT_OK(history_sample(f.m->history, T0 + 405 * SEC, T0 + 405 * SEC));       /* no read */
        ASSERT_OK(history_sample(f.m->history, T0 + 600 * SEC, T0 + 600 * SEC));       /* nor at the close */
        ASSERT_EQ(last_rx(&f, 0), 5000);
        set(f.peers[0], 5600, 5600);            /* the device is read at last */
        tick(&f, T0 + 605 * SEC);
        tick(&f, T0 + 900 * SEC);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 900 * SEC), 5600);
        ASSERT_EQ(last_rx(&f, 0), 5600);
        fixture_done(&f);
}

TEST(peer_added_after_the_start_counts_from_zero) {
        Fixture f = { 0 };
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n;
        Peer *p;

        fixture_setup(&f, 7, 90);
        set(f.peers[0], 7000, 7000);            /* bytes of before the restart: not counted */
        tick(&f, T0);
        ASSERT_OK(peer_new(f.n, 4, "late", &p));
        p->public_key[0] = 4;
        network_link_peer(f.n, p);
        ASSERT_OK(db_peer_insert(f.m->db, p, NULL, 0));
        set(p, 300, 200);                       /* its first handshake and pings before the tick */
        tick(&f, T0 + SEC);
        free(pt);
        pt = NULL;
        ASSERT_OK(history_query(f.m->history, 4, T0, 0, T0 + 2 * SEC, &pt, &n));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(pt[0].rx, 300);
        ASSERT_EQ(pt[0].tx, 200);
        query(&f, 0, T0, 0, T0 + 2 * SEC, &pt, &n);
        ASSERT_EQ(n, 0);
        /* recorded at once at 0: a crash before its first bucket is written loses nothing */
        ASSERT_EQ(count_rows(&f, "SELECT rx FROM history_last WHERE peer_id = 4"), 0);
        crash(&f);
        set(p, 350, 250);
        tick(&f, T0 + 10 * SEC);
        free(pt);
        pt = NULL;
        ASSERT_OK(history_query(f.m->history, 4, T0, 0, T0 + 20 * SEC, &pt, &n));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(pt[0].rx, 350);
        fixture_done(&f);
}

/* A write that fails loses nothing: memory keeps the bytes and the counters they reach
 * until a later tick writes them, and never counts them twice. */
TEST(failed_write_is_retried) {
        Fixture f = { 0 };

        fixture_setup(&f, 7, 90);
        set(f.peers[0], 1000, 1000);            /* the start's baseline */
        tick(&f, T0);
        set(f.peers[0], 1500, 1500);
        tick(&f, T0 + SEC);
        ASSERT_OK(db_begin(f.m->db));           /* another transaction: the close cannot begin */
        set(f.peers[0], 1800, 1800);
        read_device(&f);
        ASSERT_TRUE(history_sample(f.m->history, T0 + 300 * SEC, T0 + 300 * SEC) < 0);
        db_rollback(f.m->db);
        ASSERT_EQ(fine_rx(&f, 0, T0), -1);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 300 * SEC), 800);
        set(f.peers[0], 2000, 2000);
        tick(&f, T0 + 305 * SEC);
        ASSERT_EQ(fine_rx(&f, 0, T0), 500);
        ASSERT_EQ(last_rx(&f, 0), 1500);
        set(f.peers[0], 2100, 2100);
        tick(&f, T0 + 600 * SEC);
        ASSERT_EQ(fine_rx(&f, 0, T0 + 300 * SEC), 500);
        ASSERT_EQ(last_rx(&f, 0), 2000);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 600 * SEC), 1100);
        fixture_done(&f);
}

/* A clean stop writes the open bucket (a crash leaves it to the next start, which files it
 * in a later bucket); the next start counts from there, nothing twice. */
TEST(clean_stop_writes_the_open_bucket) {
        Fixture f = { 0 };

        fixture_setup(&f, 7, 90);
        tick(&f, T0);
        set(f.peers[0], 100, 10);
        tick(&f, T0 + 5 * SEC);
        set(f.peers[1], 40, 4);
        tick(&f, T0 + 10 * SEC);
        ASSERT_EQ(fine_rx(&f, 0, T0), -1);      /* the bucket is open */
        ASSERT_OK(history_stop(f.m->history, T0 + 12 * SEC, T0 + 12 * SEC));
        ASSERT_EQ(fine_rx(&f, 0, T0), 100);
        ASSERT_EQ(fine_rx(&f, 1, T0), 40);
        ASSERT_EQ(last_rx(&f, 0), 100);
        crash(&f);                              /* the process ends; the device lives on */
        set(f.peers[0], 130, 13);
        tick(&f, T0 + 600 * SEC);
        tick(&f, T0 + 900 * SEC);
        ASSERT_EQ(fine_rx(&f, 0, T0), 100);
        ASSERT_EQ(fine_rx(&f, 0, T0 + 600 * SEC), 30);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 900 * SEC), 130);
        ASSERT_EQ(sum_rx(&f, 1, T0 + 900 * SEC), 40);
        fixture_done(&f);
}

/* A crash loses what memory held, and the next start counts it again from the recorded
 * counters: nothing that the device still counts is lost, nothing is counted twice. */
TEST(crash_loses_nothing_counts_nothing_twice) {
        Fixture f = { 0 };

        fixture_setup(&f, 7, 90);
        tick(&f, T0);
        set(f.peers[0], 100, 10);
        tick(&f, T0 + 5 * SEC);
        set(f.peers[0], 200, 20);
        tick(&f, T0 + 10 * SEC);
        set(f.peers[0], 300, 30);
        tick(&f, T0 + 300 * SEC);               /* bucket T0 written: 200, recorded at 200 */
        set(f.peers[0], 450, 45);
        tick(&f, T0 + 305 * SEC);               /* 250 in memory */
        ASSERT_EQ(last_rx(&f, 0), 200);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 305 * SEC), 450);

        crash(&f);                              /* the device lives on */
        set(f.peers[0], 500, 50);
        tick(&f, T0 + 400 * SEC);               /* the start: 300 from the record */
        ASSERT_EQ(sum_rx(&f, 0, T0 + 400 * SEC), 500);
        tick(&f, T0 + 600 * SEC);
        ASSERT_EQ(fine_rx(&f, 0, T0), 200);
        ASSERT_EQ(fine_rx(&f, 0, T0 + 300 * SEC), 300);
        ASSERT_EQ(last_rx(&f, 0), 500);

        /* a crash right after the write, then starts that read nothing: no change */
        crash(&f);
        tick(&f, T0 + 700 * SEC);
        crash(&f);
        ASSERT_OK(history_sample(f.m->history, T0 + 800 * SEC, T0 + 800 * SEC));
        tick(&f, T0 + 1200 * SEC);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 1200 * SEC), 500);
        ASSERT_EQ(count_rows(&f, "SELECT SUM(rx) FROM history_fine"), 500);
        ASSERT_EQ(count_rows(&f, "SELECT SUM(rx) FROM history_coarse"), 500);
        fixture_done(&f);
}

/* Bytes moved while wgnetd was stopped count after the start: from the counters recorded
 * when the device lived on, from 0 when it was made anew; a peer without a record (a
 * database from before the records) starts from the counters found. */
TEST(bytes_moved_while_stopped_count) {
        Fixture f = { 0 };

        fixture_setup(&f, 7, 90);
        set(f.peers[0], 1000, 1000);
        set(f.peers[1], 100, 100);
        tick(&f, T0);
        set(f.peers[0], 1500, 1500);
        set(f.peers[1], 300, 300);
        tick(&f, T0 + 300 * SEC);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_last"), 3);
        ASSERT_EQ(sqlite3_exec(db_handle(f.m->db), "DELETE FROM history_last WHERE peer_id = 3", NULL, NULL, NULL),
                  SQLITE_OK);

        crash(&f);
        set(f.peers[0], 2500, 2500);            /* the device lived on: 1000 more while stopped */
        set(f.peers[1], 40, 40);                /* the device was made anew: 40 since */
        set(f.peers[2], 9000, 9000);            /* no record: bytes of before unknown */
        tick(&f, T0 + 600 * SEC);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 700 * SEC), 500 + 1000);
        set(f.peers[0], 2600, 2600);
        set(f.peers[1], 50, 50);
        set(f.peers[2], 9010, 9010);
        tick(&f, T0 + 660 * SEC);
        ASSERT_EQ(sum_rx(&f, 0, T0 + 700 * SEC), 500 + 1100);
        /* the 200 it moved before were in memory, and the device that counted them is gone */
        ASSERT_EQ(sum_rx(&f, 1, T0 + 700 * SEC), 50);
        ASSERT_EQ(sum_rx(&f, 2, T0 + 700 * SEC), 10);
        fixture_done(&f);
}

/* Retention 1 day (5-minute) and 2 days (hourly); peer 0 moved 100 bytes each way in the
 * first minute at T0, written when the bucket closed at T0 + 300 s, with the wall clock and
 * CLOCK_BOOTTIME in step. */
TEST_MAIN()
