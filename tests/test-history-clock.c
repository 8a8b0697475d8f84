/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Transfer history and the clock: a wall clock that jumps ahead or starts past every row,
 * NTP saying it is synchronized, the bound on a query's points, history switched off, and
 * a long tick that must still write every peer within a bucket. The fixture is
 * history-fixture.h's. */
#include "history-fixture.h"

static void first_minute(Fixture *f) {
        fixture_setup(f, 1, 2);
        set(f->peers[0], 0, 0);
        tick(f, T0);
        set(f->peers[0], 100, 100);
        tick(f, T0 + 60 * SEC);
        tick(f, T0 + 300 * SEC);
        ASSERT_EQ(fine_rx(f, 0, T0), 100);
}

/* The wall clock set 400 days ahead while running: nothing is pruned until the time the
 * system counted (CLOCK_BOOTTIME) passes the retention, and the bytes go to the buckets of
 * that time, not to ones 400 days ahead. */
TEST(clock_jump_ahead_keeps_history) {
        Fixture f = { 0 };
        _cleanup_(freep) HistoryPoint *pt = NULL;
        const uint64_t jump = 400 * 86400 * SEC;
        size_t n;

        first_minute(&f);
        set(f.peers[0], 150, 150);
        read_device(&f);
        ASSERT_OK(history_sample(f.m->history, T0 + jump + 3600 * SEC, T0 + 360 * SEC));
        set(f.peers[0], 170, 170);
        read_device(&f);
        ASSERT_OK(history_sample(f.m->history, T0 + jump + 3900 * SEC, T0 + 660 * SEC));
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine WHERE bucket = 1800000000"), 1);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse WHERE bucket = 1800000000"), 1);
        ASSERT_EQ(fine_rx(&f, 0, T0 + 300 * SEC), 50);  /* by the boot clock */
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine WHERE bucket > 1800003600"), 0);
        query(&f, 0, T0, 0, T0 + 3600 * SEC, &pt, &n);
        ASSERT_EQ(n, 3);
        ASSERT_EQ(pt[2].time, T0 + 600 * SEC);
        ASSERT_EQ(pt[2].rx, 20);

        /* the retention passes by the system's count: pruned then */
        set(f.peers[0], 180, 180);
        read_device(&f);
        ASSERT_OK(history_sample(f.m->history, T0 + jump + 3 * 86400 * SEC, T0 + 3 * 86400 * SEC));
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine WHERE bucket = 1800000000"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse WHERE bucket = 1800000000"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine WHERE bucket > 1800000000 + 3 * 86400"), 0);
        fixture_done(&f);
}

/* Started with a clock that says every row expired long ago: they are kept, and pruned as
 * the time since the start passes. */
TEST(start_with_clock_past_every_row_keeps_them) {
        Fixture f = { 0 };
        const uint64_t later = 400 * 86400 * SEC;

        first_minute(&f);

        crash(&f);                              /* a new boot: CLOCK_BOOTTIME from 0 */
        read_device(&f);
        ASSERT_OK(history_sample(f.m->history, T0 + later, 5 * SEC));
        set(f.peers[0], 120, 120);
        read_device(&f);
        ASSERT_OK(history_sample(f.m->history, T0 + later + 3600 * SEC, 3605 * SEC));
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse WHERE bucket = 1800000000"), 1);
        ASSERT_EQ(sum_rx(&f, 0, T0 + later + 7200 * SEC), 20);  /* the start's bucket */
        ASSERT_EQ(count_rows(&f, "SELECT SUM(rx) FROM history_coarse"), 100);
        set(f.peers[0], 130, 130);
        read_device(&f);
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
        read_device(&f);
        ASSERT_OK(history_sample(f.m->history, T0 + jump + 3600 * SEC, T0 + 360 * SEC));
        /* 30 days ahead, trusted: the first day's rows are past both retentions */
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine WHERE bucket = 1800000000"), 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_coarse WHERE bucket = 1800000000"), 0);
        ASSERT_EQ(sum_rx(&f, 0, T0 + jump + 4000 * SEC), 50);
        fixture_done(&f);
}

/* A query whose range can hold more than 10,000 points is refused, with the smallest step
 * that fits; a retention of 10 years would otherwise answer a million. */
static void test_query_bound_one(Fixture *f, uint64_t since, uint64_t step, uint64_t now, int expect,
                                 uint64_t expect_points, uint64_t expect_min_step) {
        uint64_t points, min_step;
        HistoryPoint *pt = NULL;
        size_t n;

        ASSERT_EQ(history_query_check(f->m->history, since, step, now, &points, &min_step), expect);
        ASSERT_EQ(points, expect_points);
        ASSERT_EQ(min_step, expect_min_step);
        ASSERT_EQ(history_query(f->m->history, 1, since, step, now, &pt, &n), expect);
        free(pt);
        if (expect_min_step > 0)
                ASSERT_OK(history_query_check(f->m->history, since, expect_min_step, now, &points, &min_step));
}

TEST(query_bound) {
        Fixture f = { 0 };
        const uint64_t day = 86400 * SEC, now = T0 + 3600 * SEC;

        fixture_setup(&f, 3650, 3650);
        test_query_bound_one(&f, now - 30 * day, 0, now, 0, 30 * 288 + 1, 0);
        test_query_bound_one(&f, now - 40 * day, 0, now, -E2BIG, 40 * 288 + 1, 600 * SEC);
        test_query_bound_one(&f, now - 40 * day, 600 * SEC, now, 0, 40 * 144 + 1, 0);
        /* since 0: the hourly level, back to its retention */
        test_query_bound_one(&f, 0, 0, now, -E2BIG, 3650 * 24 + 1, 9 * 3600 * SEC);
        test_query_bound_one(&f, 0, 86400 * SEC, now, 0, 3650 + 1, 0);
        test_query_bound_one(&f, now + day, 0, now, 0, 1, 0);
        fixture_done(&f);

        fixture_setup(&f, 7, 90);               /* the defaults: anything goes */
        test_query_bound_one(&f, 0, 0, now, 0, 90 * 24 + 1, 0);
        test_query_bound_one(&f, 0, 1, now, 0, 90 * 24 + 1, 0);
        test_query_bound_one(&f, now - 6 * day, 1, now, 0, 6 * 288 + 1, 0);
        fixture_done(&f);
}

TEST(off) {
        Fixture f = { 0 };
        _cleanup_(freep) HistoryPoint *pt = NULL;
        size_t n = 1;

        fixture_setup(&f, 0, 0);
        set(f.peers[0], 1, 1);
        tick(&f, T0);
        set(f.peers[0], 2, 2);
        tick(&f, T0 + SEC);
        tick(&f, T0 + 600 * SEC);
        query(&f, 0, 0, 0, T0 + 2 * SEC, &pt, &n);
        ASSERT_EQ(n, 0);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_last"), 0);
        fixture_done(&f);
}

/* A long tick (150 s: two a bucket): every peer closed at a bucket's end is written
 * before the next end, not the first thousand of each tick while the others wait for good. */
TEST(long_tick_writes_every_peer) {
        Fixture f = { 0 };
        enum { EXTRA = 2500 };

        fixture_setup(&f, 7, 90);
        f.m->config.tick_usec = 150 * SEC;
        ASSERT_OK(db_begin(f.m->db));
        for (unsigned i = 0; i < EXTRA; i++) {
                char name[16];
                Peer *p;
                snprintf(name, sizeof(name), "x%u", i);
                ASSERT_OK(peer_new(f.n, 100 + i, name, &p));
                p->public_key[0] = (uint8_t) i;
                p->public_key[1] = (uint8_t) (i >> 8);
                p->public_key[2] = 0xee;
                network_link_peer(f.n, p);
                ASSERT_OK(db_peer_insert(f.m->db, p, NULL, 0));
        }
        ASSERT_OK(db_commit(f.m->db));
        tick(&f, T0);
        for (Peer *p = f.n->peers; p; p = p->next)
                set(p, 100, 100);
        tick(&f, T0 + 150 * SEC);
        tick(&f, T0 + 300 * SEC);               /* bucket T0 closes */
        tick(&f, T0 + 450 * SEC);
        ASSERT_EQ(count_rows(&f, "SELECT count(*) FROM history_fine"), EXTRA + 3);
        fixture_done(&f);
}

TEST_MAIN()
