/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/timex.h>
#include <unistd.h>

#include "db.h"
#include "hashmap.h"
#include "history.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "peer.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define SEC_PER_DAY UINT64_C(86400)

typedef struct PeerCounters {
        uint64_t id;                    /* the key */
        uint64_t rx, tx;                /* at the last sample */
        uint64_t generation;
        bool recorded;                  /* rx, tx read from the database, not yet checked against the device */
} PeerCounters;

struct History {
        Manager *manager;
        DbHistory *db;
        Hashmap *last;                  /* peer id -> PeerCounters */
        uint64_t generation;
        uint64_t keep[2];               /* seconds, 0 = level off */
        uint64_t last_prune_hour;
        bool primed;                    /* a first sample was taken since the start or a failed tick */
        /* The prune's clock: the wall clock, but never ahead of anchor_sec plus the time
         * CLOCK_BOOTTIME counted since anchor_boot (prune_now). */
        bool anchored, clock_warned;
        uint64_t anchor_sec, anchor_boot;
        bool (*clock_synchronized)(void);
};

/* Is the wall clock synchronized (NTP)? The kernel says so unless the sandbox forbids
 * asking (ProtectClock= filters adjtimex), then systemd-timesyncd's flag file does. */
static bool clock_synchronized(void) {
        struct timex tx = { 0 };
        int r = adjtimex(&tx);
        if (r >= 0)
                return r != TIME_ERROR && !(tx.status & STA_UNSYNC);
        return access("/run/systemd/timesync/synchronized", F_OK) == 0;
}

void history_set_clock_check(History *h, bool (*synchronized)(void)) {
        h->clock_synchronized = synchronized;
}

static const uint64_t level_step[2] = { HISTORY_FINE_STEP, HISTORY_COARSE_STEP };

int history_new(Manager *m, History **ret) {
        _cleanup_(history_freep) History *h = calloc(1, sizeof(History));
        int r;

        if (!h)
                return -ENOMEM;
        h->manager = m;
        h->clock_synchronized = clock_synchronized;
        h->keep[0] = (uint64_t) m->config.history_fine_days * SEC_PER_DAY;
        h->keep[1] = (uint64_t) m->config.history_coarse_days * SEC_PER_DAY;
        h->last = hashmap_new(uint64_hash_func, uint64_equal_func);
        if (!h->last)
                return -ENOMEM;
        r = db_history_open(m->db, &h->db);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(h);
        return 0;
}

static void forget_all(History *h) {
        PeerCounters *c;
        HASHMAP_FOREACH(c, h->last, i)
                free(c);
        hashmap_clear(h->last);
}

History *history_free(History *h) {
        if (!h)
                return NULL;
        forget_all(h);
        hashmap_free(h->last);
        db_history_close(h->db);
        free(h);
        return NULL;
}

static bool history_enabled(const History *h) {
        return h->keep[0] > 0 || h->keep[1] > 0;
}

/* Counters only grow while the device lives; a smaller value means it restarted from 0. */
static uint64_t delta(uint64_t now, uint64_t before) {
        return now >= before ? now - before : now;
}

/* The bytes into the buckets and the counters they were taken at, in one transaction. */
static int record(History *h, const Peer *p, uint64_t sec, uint64_t rx, uint64_t tx) {
        for (int l = 0; l < 2; l++) {
                if (h->keep[l] == 0)
                        continue;
                int r = db_history_add(h->db, l, p->id, sec - sec % level_step[l], rx, tx);
                if (r < 0)
                        return r;
        }
        return db_history_last_set(h->db, p->id, p->rx_bytes, p->tx_bytes, sec);
}

typedef struct LoadState {
        History *h;
        uint64_t newest;
} LoadState;

static int load_one(uint64_t peer_id, uint64_t rx, uint64_t tx, uint64_t at, void *userdata) {
        LoadState *st = userdata;
        PeerCounters *c = malloc(sizeof(PeerCounters));
        if (!c)
                return -ENOMEM;
        *c = (PeerCounters) { .id = peer_id, .rx = rx, .tx = tx, .recorded = true };
        int r = hashmap_put(st->h->last, &c->id, c);
        if (r < 0) {
                free(c);
                return r;
        }
        st->newest = MAX(st->newest, at);
        return 0;
}

/* The counters as last recorded: the baseline after a start or a failed tick, so that the
 * bytes moved in between are counted. *newest: the newest sample's time, 0 if none. */
static int load_recorded(History *h, uint64_t *newest) {
        LoadState st = { .h = h };
        forget_all(h);
        int r = db_history_last_load(h->db, load_one, &st);
        if (r < 0) {
                forget_all(h);
                return r;
        }
        *newest = st.newest;
        return 0;
}

/* What the prune takes as now. A wall clock set far ahead by mistake (a bad RTC, a typo
 * in `date -s`) would otherwise drop every row at once: the prune's now advances no faster
 * than CLOCK_BOOTTIME (which counts suspend too) since the first sample. */
static uint64_t prune_now(History *h, uint64_t sec, uint64_t boot) {
        uint64_t bound = h->anchor_sec + (boot - h->anchor_boot) / USEC_PER_SEC;
        if (sec <= bound)
                return sec;
        /* Ahead, and synchronized: the clock was behind before (a start before NTP, a
         * machine without a hardware clock), it is right now. */
        if (sec - bound > 3600 && h->clock_synchronized && h->clock_synchronized()) {
                log_info("The clock is synchronized: the transfer history is pruned by it again");
                h->anchor_sec = sec;
                h->anchor_boot = boot;
                h->clock_warned = false;
                return sec;
        }
        if (sec - bound > 3600 && !h->clock_warned) {
                log_warning("The clock jumped %" PRIu64 " s ahead: the transfer history is pruned only as "
                            "the time since the start passes", sec - bound);
                h->clock_warned = true;
        }
        return bound;
}

static void anchor(History *h, uint64_t sec, uint64_t boot, uint64_t newest) {
        uint64_t keep = MAX(h->keep[0], h->keep[1]);

        h->anchor_sec = sec;
        h->anchor_boot = boot;
        h->anchored = true;
        /* Every row expired by the clock is either a long time off or a clock far ahead:
         * unless NTP vouches for the clock, keep them, and let the prune's now start at the
         * newest row. */
        if (newest > 0 && sec > newest + keep && !(h->clock_synchronized && h->clock_synchronized())) {
                log_warning("The clock is %" PRIu64 " days past the newest transfer history: the history "
                            "is pruned only as the time since the start passes", (sec - newest) / SEC_PER_DAY);
                h->anchor_sec = newest;
                h->clock_warned = true;
        }
}

static int prune(History *h, uint64_t now) {
        Peer *p;
        HASHMAP_FOREACH(p, h->manager->peers_by_id, i)
                for (int l = 0; l < 2; l++) {
                        if (h->keep[l] == 0 || now < h->keep[l])
                                continue;
                        int r = db_history_prune(h->db, l, p->id, now - h->keep[l]);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* Forget the counters of peers that were not seen in this sample (removed, or their
 * network went down): when they come back, their first sample is a new baseline. */
static void sweep(History *h) {
        _cleanup_(freep) uint64_t *stale = NULL;
        size_t n = 0;
        PeerCounters *c;

        if (hashmap_size(h->last) == 0)
                return;
        stale = malloc(hashmap_size(h->last) * sizeof(uint64_t));
        if (!stale)
                return;
        HASHMAP_FOREACH(c, h->last, i)
                if (c->generation != h->generation)
                        stale[n++] = c->id;
        for (size_t i = 0; i < n; i++)
                free(hashmap_remove(h->last, &stale[i]));
}

/* The baseline of a peer at the first sample after a start or a failed tick. */
static void take_baseline(PeerCounters *c, const Peer *p) {
        if (!c->recorded) {
                /* Never recorded: bytes of before are unknown, the device's counters as
                 * found are the baseline. */
                c->rx = p->rx_bytes;
                c->tx = p->tx_bytes;
                return;
        }
        /* Recorded: the device moved on since (wgnetd was stopped, or a tick failed) and
         * those bytes count; counters below the record mean the device was made anew
         * since, and all of its bytes count. */
        if (p->rx_bytes < c->rx || p->tx_bytes < c->tx)
                c->rx = c->tx = 0;
        c->recorded = false;
}

int history_sample(History *h, uint64_t now, uint64_t boot) {
        Manager *m = h->manager;
        uint64_t sec = now / USEC_PER_SEC, hour = sec / 3600;
        bool in_transaction = false;
        size_t seen = 0;
        Network *n;
        int r = 0;

        if (!history_enabled(h))
                return 0;
        if (!h->primed) {
                uint64_t newest;
                r = load_recorded(h, &newest);
                if (r < 0)
                        return r;
                if (!h->anchored)
                        anchor(h, sec, boot, newest);
        }
        h->generation++;
        HASHMAP_FOREACH(n, m->networks_by_id, i) {
                if (!n->active)
                        continue;
                for (Peer *p = n->peers; p; p = p->next) {
                        PeerCounters *c = hashmap_get(h->last, &p->id);
                        if (!c) {
                                c = calloc(1, sizeof(PeerCounters));
                                if (!c) {
                                        r = -ENOMEM;
                                        goto fail;      /* a transaction may be open */
                                }
                                /* A peer that shows up after the first sample (added, its
                                 * network brought up) started from 0 on the device: all of
                                 * its bytes count. */
                                *c = (PeerCounters) { .id = p->id };
                                r = hashmap_put(h->last, &c->id, c);
                                if (r < 0) {
                                        free(c);
                                        goto fail;
                                }
                        }
                        if (!h->primed)
                                take_baseline(c, p);
                        c->generation = h->generation;
                        seen++;
                        /* The first sample only takes the baselines: the start is not
                         * delayed by a commit, the next tick writes the bytes since. */
                        if (!h->primed)
                                continue;
                        uint64_t drx = delta(p->rx_bytes, c->rx), dtx = delta(p->tx_bytes, c->tx);
                        if (drx == 0 && dtx == 0)
                                continue;
                        if (!in_transaction) {
                                r = db_begin(m->db);
                                if (r < 0)
                                        goto fail;
                                in_transaction = true;
                        }
                        r = record(h, p, sec, drx, dtx);
                        if (r < 0)
                                goto fail;
                        /* In memory only once written; a failed tick is retried by the next. */
                        c->rx = p->rx_bytes;
                        c->tx = p->tx_bytes;
                }
        }
        /* Pruned from the first tick on, not at the start: the start's sample only takes
         * the baseline, and a prune (the first commit after a start, with the checkpoint
         * of the WAL the last run left) would delay taking the bus name. */
        if (h->primed && hour != h->last_prune_hour) {
                if (!in_transaction) {
                        r = db_begin(m->db);
                        if (r < 0)
                                goto fail;
                        in_transaction = true;
                }
                r = prune(h, prune_now(h, sec, boot));
                if (r < 0)
                        goto fail;
        }
        if (in_transaction) {
                r = db_commit(m->db);
                if (r < 0)
                        goto fail;
        }
        if (h->primed)
                h->last_prune_hour = hour;
        h->primed = true;
        if (seen < hashmap_size(h->last))
                sweep(h);
        return 0;
fail:
        if (in_transaction)
                db_rollback(m->db);
        /* The counters of the peers written before the failure moved on in memory, the
         * database's did not: the next sample takes its baselines from the database again,
         * and counts the bytes of this tick then. */
        forget_all(h);
        h->primed = false;
        return r;
}

int history_query(History *h, uint64_t peer_id, uint64_t since, uint64_t step, uint64_t now,
                  HistoryPoint **ret, size_t *ret_n) {
        uint64_t s = since / USEC_PER_SEC, st = step / USEC_PER_SEC, nsec = now / USEC_PER_SEC;
        HistoryPoint *points = NULL;
        size_t n = 0;
        int level, r;

        if (!history_enabled(h)) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (h->keep[0] == 0)
                level = 1;
        else if (h->keep[1] == 0)
                level = 0;
        else
                level = st >= HISTORY_COARSE_STEP || s + h->keep[0] < nsec ? 1 : 0;
        uint64_t lst = level_step[level];
        s -= s % lst;
        if (st < lst)
                st = lst;
        st = (st + lst - 1) / lst * lst;
        r = db_history_query(h->db, level, peer_id, s, st, &points, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                points[i].time *= USEC_PER_SEC;
        *ret = points;
        *ret_n = n;
        return 0;
}
