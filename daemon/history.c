/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
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

/* Writes of one tick: at most this many peers' closed buckets and as many peers' prunes,
 * or a tenth of the peers when that is more, so that a pass over every peer takes about
 * ten ticks. Each peer's write dirties a leaf page of its own in each table (about 9 KiB of
 * WAL); 1,000 peers took 55-90 ms with a week of history (docs/bench-history.md). */
#define PEERS_PER_TICK_MIN 1000
#define TICKS_PER_PASS 10
/* Rows of removed peers deleted a tick (history_gone). */
#define GONE_ROWS_PER_TICK 50000

typedef struct Bytes {
        uint64_t rx, tx;
} Bytes;

#define BYTES_ZERO ((Bytes) { 0, 0 })

static bool bytes_zero(Bytes b) {
        return b.rx == 0 && b.tx == 0;
}

static bool bytes_equal(Bytes a, Bytes b) {
        return a.rx == b.rx && a.tx == b.tx;
}

typedef enum CountersState {
        COUNTERS_LIVE,                  /* counted up to base */
        COUNTERS_RECORDED,              /* rec loaded from the database, not yet held against a read */
        COUNTERS_UNKNOWN,               /* there at the start without a record: the first read is the base */
} CountersState;

enum {
        WROTE_BUCKET = 1 << 0,          /* closed bytes and closed_at, in the running transaction */
        WROTE_RECORD = 1 << 1,          /* want */
        WROTE_PRUNE = 1 << 2,
};

/* One peer. What the database holds for it: rows complete up to the device counters `rec`
 * (history_last). What memory adds: the bytes counted since, in `closed` (an earlier
 * bucket, waiting for its write) and `open` (the open bucket). rec only moves in the
 * transaction that writes the bytes up to it, so a crash loses no byte that the device
 * still counts: the next start counts again from rec. */
typedef struct PeerCounters {
        uint64_t id;                    /* the key */
        Bytes base;                     /* the device counters counted up to; 0 off the device */
        uint64_t seen;                  /* the peer's status_usec at the last read counted */
        Bytes open;                     /* bytes of the open bucket (History.bucket) */
        uint64_t closed_bucket;         /* 5-minute bucket of closed_bytes */
        Bytes closed_bytes;
        Bytes closed_at;                /* the counters the rows reach once closed_bytes are written */
        Bytes want;                     /* the counters the rows reach now (history_last's due value) */
        Bytes rec;                      /* history_last as written */
        uint64_t generation;
        uint32_t pruned_hour;           /* hours since the epoch */
        CountersState state;            /* (the small ones together: one per peer, 100,000 peers) */
        uint8_t wrote;                  /* WROTE_* */
        bool closed;
        bool has_rec;
} PeerCounters;

struct History {
        Manager *manager;
        DbHistory *db;
        Hashmap *last;                  /* peer id -> PeerCounters */
        /* Peers of inactive networks have no PeerCounters once their bytes are written (at
         * 100,000 peers that is tens of MiB): their rows are pruned from a list of their ids
         * made once an hour, a budget a tick. */
        uint64_t *idle_ids;
        size_t n_idle, idle_pos;
        uint32_t idle_hour;
        uint64_t reads_seen;            /* the newest device read (status_usec) of the last sample */
        uint64_t generation;
        uint64_t keep[2];               /* seconds, 0 = level off */
        uint64_t bucket;                /* the open 5-minute bucket, seconds */
        bool primed;                    /* the start's sample was taken */
        /* The history's clock: the wall clock, but never ahead of an anchor plus the time
         * CLOCK_BOOTTIME counted since anchor_boot. Buckets go by bucket_anchor_sec (the
         * wall clock at the start), the prune by anchor_sec (the same, or the newest row
         * when the start's clock said every row expired). */
        bool anchored, clock_warned;
        uint64_t anchor_sec, bucket_anchor_sec, anchor_boot;
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

static uint64_t *mfree_u64(uint64_t *p) {
        free(p);
        return NULL;
}

static void forget_all(History *h) {
        PeerCounters *c;
        HASHMAP_FOREACH(c, h->last, i)
                free(c);
        hashmap_clear(h->last);
}

/* Nothing is written here: what memory holds is counted again by the next start, from the
 * recorded counters. */
History *history_free(History *h) {
        if (!h)
                return NULL;
        forget_all(h);
        hashmap_free(h->last);
        free(h->idle_ids);
        db_history_close(h->db);
        free(h);
        return NULL;
}

static bool history_enabled(const History *h) {
        return h->keep[0] > 0 || h->keep[1] > 0;
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
        *c = (PeerCounters) {
                .id = peer_id,
                .state = COUNTERS_RECORDED,
                .rec = { rx, tx },
                .want = { rx, tx },
                .has_rec = true,
        };
        int r = hashmap_put(st->h->last, &c->id, c);
        if (r < 0) {
                free(c);
                return r;
        }
        st->newest = MAX(st->newest, at);
        return 0;
}

/* The counters as last recorded: the base after a start, so that the bytes moved while
 * wgnetd was stopped are counted. *newest: the newest record's time, 0 if none. */
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

static void anchor(History *h, uint64_t sec, uint64_t boot, uint64_t newest) {
        uint64_t keep = MAX(h->keep[0], h->keep[1]);

        h->anchor_sec = h->bucket_anchor_sec = sec;
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

/* What the prune and the buckets take as now. A wall clock set far ahead by mistake (a bad
 * RTC, a typo in `date -s`) would otherwise drop every row at once and file the bytes in
 * buckets of the future: both advance no faster than CLOCK_BOOTTIME (which counts suspend
 * too) since the start, unless NTP says the clock is synchronized. */
static void history_clock(History *h, uint64_t sec, uint64_t boot, uint64_t *ret_prune, uint64_t *ret_bucket) {
        uint64_t elapsed = boot > h->anchor_boot ? (boot - h->anchor_boot) / USEC_PER_SEC : 0;
        /* 2 s: both clocks are cut to whole seconds */
        uint64_t bound = h->anchor_sec + elapsed, bucket_bound = h->bucket_anchor_sec + elapsed + 2;

        if (sec > bucket_bound || sec > bound + 3600) {
                uint64_t ahead = sec - MIN(bound, bucket_bound);
                /* Ahead, and synchronized: the clock was behind before (a start before NTP,
                 * a machine without a hardware clock), or NTP stepped it; it is right now. */
                if (h->clock_synchronized && h->clock_synchronized()) {
                        if (ahead > 3600)
                                log_info("The clock is synchronized: the transfer history follows it again");
                        h->anchor_sec = h->bucket_anchor_sec = sec;
                        h->anchor_boot = boot;
                        h->clock_warned = false;
                        *ret_prune = *ret_bucket = sec;
                        return;
                }
                if (ahead > 3600 && !h->clock_warned) {
                        log_warning("The clock jumped %" PRIu64 " s ahead: the transfer history keeps the time "
                                    "counted since the start, for its buckets and its pruning", ahead);
                        h->clock_warned = true;
                }
        }
        *ret_prune = MIN(sec, bound);
        *ret_bucket = MIN(sec, bucket_bound);
}

/* The open bytes become the closed ones (the earlier bucket's, if those still wait). */
static void close_one(History *h, PeerCounters *c) {
        if (!c->closed) {
                c->closed = true;
                c->closed_bucket = h->bucket;
                c->closed_bytes = BYTES_ZERO;
        }
        c->closed_bytes.rx += c->open.rx;
        c->closed_bytes.tx += c->open.tx;
        c->closed_at = c->base;
        c->open = BYTES_ZERO;
}

static void close_all(History *h) {
        PeerCounters *c;
        HASHMAP_FOREACH(c, h->last, i)
                if (!bytes_zero(c->open))
                        close_one(h, c);
}

/* The device now counts from 0 for this peer (made anew, or the peer left it and comes back
 * as a new peer): the counters held so far belong to a device that is gone. */
static void counts_from_zero(PeerCounters *c) {
        c->want = BYTES_ZERO;
        if (c->closed)
                c->closed_at = BYTES_ZERO;
}

/* A read of the device listed the peer with these counters. */
static void observe(PeerCounters *c, Bytes v) {
        switch (c->state) {
        case COUNTERS_UNKNOWN:
                /* Never recorded: bytes of before are unknown, the counters as found are the
                 * base. */
                c->state = COUNTERS_LIVE;
                c->base = c->want = v;
                return;
        case COUNTERS_RECORDED:
                /* The device moved on since the record (wgnetd was stopped) and those bytes
                 * count; counters below the record mean the device was made anew since, and
                 * all of its bytes count. */
                c->state = COUNTERS_LIVE;
                if (v.rx < c->rec.rx || v.tx < c->rec.tx)
                        c->base = c->want = BYTES_ZERO;
                else
                        c->base = c->rec;
                break;
        case COUNTERS_LIVE:
                break;
        }
        Bytes d;
        if (v.rx < c->base.rx || v.tx < c->base.tx) {
                /* Counters only grow while the device lives: it restarted from 0. */
                d = v;
                counts_from_zero(c);
        } else
                d = (Bytes) { v.rx - c->base.rx, v.tx - c->base.tx };
        c->open.rx += d.rx;
        c->open.tx += d.tx;
        c->base = v;
}

/* The peer is not on a device (disabled, expired, its network down): when it comes back it
 * starts from 0, and the counters it had may stay in Peer (update_status only touches peers
 * it reads) but are not counted again. Its bytes are closed now and written by the next
 * ticks: the device no longer holds them for a start to count. */
static void left_device(History *h, PeerCounters *c) {
        if (c->state != COUNTERS_LIVE) {
                c->state = COUNTERS_LIVE;
                c->base = c->want = BYTES_ZERO;
                return;
        }
        c->base = BYTES_ZERO;
        if (!bytes_zero(c->open))
                close_one(h, c);
        counts_from_zero(c);
}

/* Forget the peers not seen in this sample: removed (their rows go by history_gone). */
static void sweep(History *h) {
        _cleanup_(freep) uint64_t *stale = NULL;
        size_t n = 0;
        PeerCounters *c;

        stale = malloc(hashmap_size(h->last) * sizeof(uint64_t));
        if (!stale)
                return;
        HASHMAP_FOREACH(c, h->last, i)
                if (c->generation != h->generation)
                        stale[n++] = c->id;
        for (size_t i = 0; i < n; i++)
                free(hashmap_remove(h->last, &stale[i]));
}

static bool record_due(const PeerCounters *c) {
        return !c->closed && c->state == COUNTERS_LIVE && (!c->has_rec || !bytes_equal(c->want, c->rec));
}

/* Off the device with every byte and the record written: nothing left that memory adds to
 * the rows (the prune goes by the idle list). */
static bool idle(const PeerCounters *c) {
        return c->state == COUNTERS_LIVE && !c->closed && bytes_zero(c->open) && !record_due(c) && c->wrote == 0;
}

/* Every peer of every network: what the reads since the last sample say. A peer is counted
 * only from a read that listed it (Peer.status_usec newer than the last one counted): a
 * device that could not be read at the start leaves its recorded counters unchecked until
 * it can be. */
static int observe_all(History *h, bool start) {
        Manager *m = h->manager;
        size_t seen = 0;
        Network *n;

        uint64_t reads = h->reads_seen;
        h->generation++;
        HASHMAP_FOREACH(n, m->networks_by_id, i) {
                reads = MAX(reads, n->status_usec);
                for (Peer *p = n->peers; p; p = p->next) {
                        PeerCounters *c = hashmap_get(h->last, &p->id);
                        if (!c && !n->active)
                                continue;       /* idle, nothing to write: the next activation counts from 0 */
                        if (!c) {
                                c = calloc(1, sizeof(PeerCounters));
                                if (!c)
                                        return -ENOMEM;
                                /* A peer that shows up after the start (added, or its network
                                 * active again) started from 0 on the device: all of its bytes
                                 * count, from reads after the last sample (an idle peer's
                                 * counters are those of the device it left). */
                                *c = (PeerCounters) { .id = p->id,
                                                      .state = start ? COUNTERS_UNKNOWN : COUNTERS_LIVE,
                                                      .seen = start ? 0 : h->reads_seen };
                                int r = hashmap_put(h->last, &c->id, c);
                                if (r < 0) {
                                        free(c);
                                        return r;
                                }
                        }
                        c->generation = h->generation;
                        seen++;
                        if (n->active && p->status_usec > c->seen) {
                                c->seen = p->status_usec;
                                observe(c, (Bytes) { p->rx_bytes, p->tx_bytes });
                        }
                        if (!n->active || p->status_usec < n->status_usec)
                                left_device(h, c);
                        if (!n->active && idle(c)) {
                                hashmap_remove(h->last, &c->id);
                                free(c);
                                seen--;
                        }
                }
        }
        h->reads_seen = reads;
        if (seen < hashmap_size(h->last))
                sweep(h);
        return 0;
}

static int write_bucket(History *h, PeerCounters *c, uint64_t sec) {
        if (!bytes_zero(c->closed_bytes))
                for (int l = 0; l < 2; l++) {
                        if (h->keep[l] == 0)
                                continue;
                        int r = db_history_add(h->db, l, c->id, c->closed_bucket - c->closed_bucket % level_step[l],
                                               c->closed_bytes.rx, c->closed_bytes.tx);
                        if (r < 0)
                                return r;
                }
        if (c->has_rec && bytes_equal(c->closed_at, c->rec))
                return 0;
        return db_history_last_set(h->db, c->id, c->closed_at.rx, c->closed_at.tx, sec);
}

/* A peer's closed bucket (when bucket allows) or its due record, in the running
 * transaction: 1 when a bucket was written, 2 a record, 0 nothing. */
static int write_peer(History *h, PeerCounters *c, uint64_t sec, bool bucket) {
        int r;
        if (c->closed) {
                if (!bucket)
                        return 0;
                r = write_bucket(h, c, sec);
                if (r < 0)
                        return r;
                c->wrote |= WROTE_BUCKET;
                return 1;
        }
        if (!record_due(c))
                return 0;
        r = db_history_last_set(h->db, c->id, c->want.rx, c->want.tx, sec);
        if (r < 0)
                return r;
        c->wrote |= WROTE_RECORD;
        return 2;
}

static int prune_one(History *h, uint64_t id, uint64_t now) {
        for (int l = 0; l < 2; l++) {
                if (h->keep[l] == 0 || now < h->keep[l])
                        continue;
                int r = db_history_prune(h->db, l, id, now - h->keep[l]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* After the commit: memory follows what is now on disk; after a rollback nothing changed
 * and the next tick tries again. */
static void wrote_done(History *h, bool committed, uint64_t prune_hour) {
        PeerCounters *c;
        HASHMAP_FOREACH(c, h->last, i) {
                if (c->wrote == 0)
                        continue;
                if (committed && (c->wrote & WROTE_BUCKET)) {
                        c->rec = c->want = c->closed_at;
                        c->has_rec = true;
                        c->closed = false;
                        c->closed_bytes = BYTES_ZERO;
                }
                if (committed && (c->wrote & WROTE_RECORD)) {
                        c->rec = c->want;
                        c->has_rec = true;
                }
                if (committed && (c->wrote & WROTE_PRUNE))
                        c->pruned_hour = (uint32_t) prune_hour;
                c->wrote = 0;
        }
}

/* Once an hour, the peers without PeerCounters (inactive networks), listed when the hour
 * starts and pruned a budget a tick. *pos: where this tick ends, taken by the caller once
 * the transaction commits. */
static int prune_idle(History *h, uint32_t prune_hour, uint64_t prune_sec, size_t *pos) {
        Manager *m = h->manager;
        if (h->idle_hour != prune_hour) {
                Network *n;
                size_t count = 0, k = 0;
                h->idle_ids = mfree_u64(h->idle_ids);
                h->n_idle = h->idle_pos = 0;
                HASHMAP_FOREACH(n, m->networks_by_id, i)
                        count += n->active ? 0 : n->n_peers;
                if (count > 0 && !(h->idle_ids = malloc(count * sizeof(uint64_t))))
                        return -ENOMEM;         /* (the next tick lists them again) */
                HASHMAP_FOREACH(n, m->networks_by_id, i2)
                        for (Peer *p = n->active ? NULL : n->peers; p && k < count; p = p->next)
                                h->idle_ids[k++] = p->id;
                h->n_idle = k;
                h->idle_hour = prune_hour;
        }
        size_t budget = MAX((size_t) PEERS_PER_TICK_MIN, h->n_idle / TICKS_PER_PASS);
        *pos = h->idle_pos;
        for (size_t done = 0; *pos < h->n_idle && done < budget; (*pos)++) {
                uint64_t id = h->idle_ids[*pos];
                /* Removed meanwhile (history_gone has its rows), or counted again (active): */
                if (!hashmap_get(m->peers_by_id, &id) || hashmap_get(h->last, &id))
                        continue;
                int r = prune_one(h, id, prune_sec);
                if (r < 0)
                        return r;
                done++;
        }
        return 0;
}

/* One transaction: the closed buckets of up to `budget` peers with their counters, the
 * records that are due (new peers, a device made anew: rare), up to `budget` peers' prunes
 * once an hour, and a bounded part of removed peers' rows. */
static int write_due(History *h, uint64_t sec, uint64_t prune_sec) {
        Manager *m = h->manager;
        uint64_t prune_hour = prune_sec / 3600;
        /* Spread over ten ticks, but never over more ticks than a bucket has (a tick of 60 s
         * gives five): every peer closed at a bucket's end is written before the next end. */
        size_t n = hashmap_size(h->last);
        uint64_t tick_sec = MAX(m->config.tick_usec / 1000000, (uint64_t) 1);
        size_t ticks = (size_t) MAX(HISTORY_FINE_STEP / tick_sec, (uint64_t) 2) - 1;
        size_t budget = MAX((size_t) PEERS_PER_TICK_MIN, MAX(n / TICKS_PER_PASS, (n + ticks - 1) / ticks));
        size_t flushed = 0, pruned = 0;
        bool work = false;
        PeerCounters *c;
        int r;

        bool idle_due = h->idle_hour != (uint32_t) prune_hour || h->idle_pos < h->n_idle;
        work = idle_due;
        HASHMAP_FOREACH(c, h->last, i) {
                if (work)
                        break;
                work = c->closed || record_due(c) || c->pruned_hour != (uint32_t) prune_hour;
        }
        if (!work) {
                r = db_history_gone_any(h->db);
                if (r <= 0)
                        return r;
        }

        r = db_begin(m->db);
        if (r < 0)
                return r;
        HASHMAP_FOREACH(c, h->last, i) {
                /* Peers removed since the sample have no row to refer to (none are: only
                 * the sample forgets peers, and db_begin's hook only adds). */
                if (!hashmap_get(m->peers_by_id, &c->id))
                        continue;
                r = write_peer(h, c, sec, flushed < budget);
                if (r < 0)
                        goto fail;
                if (r == 1)
                        flushed++;
                if (c->pruned_hour != (uint32_t) prune_hour && pruned < budget) {
                        r = prune_one(h, c->id, prune_sec);
                        if (r < 0)
                                goto fail;
                        c->wrote |= WROTE_PRUNE;
                        pruned++;
                }
        }
        size_t idle_pos = h->idle_pos;
        if (idle_due) {
                r = prune_idle(h, (uint32_t) prune_hour, prune_sec, &idle_pos);
                if (r < 0)
                        goto fail;
        }
        uint64_t deleted;
        r = db_history_gone_delete(h->db, GONE_ROWS_PER_TICK, &deleted);
        if (r < 0)
                goto fail;
        r = db_commit(m->db);
        if (r < 0)
                goto fail;
        wrote_done(h, true, prune_hour);
        h->idle_pos = idle_pos;
        if (h->idle_pos >= h->n_idle) {
                h->idle_ids = mfree_u64(h->idle_ids);
                h->n_idle = h->idle_pos = 0;
        }
        return 0;
fail:
        db_rollback(m->db);
        wrote_done(h, false, prune_hour);
        return r;
}

size_t history_peers_held(const History *h) {
        return hashmap_size(h->last);
}

int history_stop(History *h, uint64_t now, uint64_t boot) {
        Manager *m = h->manager;
        uint64_t prune_sec, bucket_sec;
        size_t written = 0;
        PeerCounters *c;
        int r;

        if (!history_enabled(h) || !h->primed)
                return 0;
        /* The open bucket's bytes into their bucket now, not into a later one by the next
         * start (which would count them again from the recorded counters). */
        history_clock(h, now / USEC_PER_SEC, boot, &prune_sec, &bucket_sec);
        close_all(h);
        r = db_begin(m->db);
        if (r < 0)
                return r;
        HASHMAP_FOREACH(c, h->last, i) {
                if (!hashmap_get(m->peers_by_id, &c->id))
                        continue;
                r = write_peer(h, c, bucket_sec, true);
                if (r < 0)
                        break;
                written += r > 0;
        }
        if (r >= 0)
                r = db_commit(m->db);
        if (r < 0)
                db_rollback(m->db);
        wrote_done(h, r >= 0, prune_sec / 3600);
        if (r >= 0 && written > 0)
                log_debug("Transfer history: %zu peers written at the stop", written);
        return r;
}

int history_sample(History *h, uint64_t now, uint64_t boot) {
        uint64_t sec = now / USEC_PER_SEC, prune_sec, bucket_sec;
        bool start = !h->primed;
        int r;

        if (!history_enabled(h)) {
                /* Off: only removed peers' rows of an earlier configuration go. */
                h->primed = true;
                if (start)
                        return 0;
                r = db_history_gone_any(h->db);
                if (r <= 0)
                        return r;
                uint64_t deleted;
                r = db_begin(h->manager->db);
                if (r >= 0)
                        r = db_history_gone_delete(h->db, GONE_ROWS_PER_TICK, &deleted);
                if (r >= 0)
                        r = db_commit(h->manager->db);
                if (r < 0)
                        db_rollback(h->manager->db);
                return r;
        }
        if (start) {
                uint64_t newest;
                r = load_recorded(h, &newest);
                if (r < 0)
                        return r;
                if (!h->anchored)
                        anchor(h, sec, boot, newest);
        }
        history_clock(h, sec, boot, &prune_sec, &bucket_sec);
        uint64_t bucket = bucket_sec - bucket_sec % HISTORY_FINE_STEP;
        /* This sample's bytes belong to its bucket: the open one closes first. */
        if (!start && bucket != h->bucket)
                close_all(h);
        h->bucket = bucket;
        r = observe_all(h, start);
        if (r < 0)
                return r;
        h->primed = true;
        /* The start writes nothing: taking the bus name waits for no commit (nor for the
         * checkpoint of the WAL the last run left). */
        if (start)
                return 0;
        return write_due(h, bucket_sec, prune_sec);
}

/* The level a query reads, with its since and step in whole buckets of it (seconds). */
static int query_level(const History *h, uint64_t since, uint64_t step, uint64_t now,
                       uint64_t *ret_since, uint64_t *ret_step) {
        uint64_t s = since / USEC_PER_SEC, st = step / USEC_PER_SEC, nsec = now / USEC_PER_SEC;
        int level;

        if (h->keep[0] == 0)
                level = 1;
        else if (h->keep[1] == 0)
                level = 0;
        else
                level = st >= HISTORY_COARSE_STEP || s + h->keep[0] < nsec ? 1 : 0;
        uint64_t lst = level_step[level];
        if (st < lst)
                st = lst;
        *ret_step = (st + lst - 1) / lst * lst;
        *ret_since = s - s % lst;
        return level;
}

int history_query_check(History *h, uint64_t since, uint64_t step, uint64_t now,
                        uint64_t *ret_points, uint64_t *ret_min_step) {
        uint64_t nsec = now / USEC_PER_SEC, s, st;

        *ret_points = *ret_min_step = 0;
        if (!history_enabled(h))
                return 0;
        int level = query_level(h, since, step, now, &s, &st);
        uint64_t lst = level_step[level];
        /* The level keeps nothing older than its retention. */
        uint64_t first = MAX(s, nsec > h->keep[level] ? nsec - h->keep[level] : 0);
        first -= first % lst;
        uint64_t points = first <= nsec ? (nsec - first) / st + 1 : 1;
        *ret_points = points;
        if (points <= HISTORY_QUERY_POINTS_MAX)
                return 0;
        /* the smallest step, in whole buckets, that fits */
        uint64_t min_step = (nsec - first + HISTORY_QUERY_POINTS_MAX - 2) / (HISTORY_QUERY_POINTS_MAX - 1);
        *ret_min_step = (min_step + lst - 1) / lst * lst * USEC_PER_SEC;
        return -E2BIG;
}

/* Add bytes of a bucket still in memory to the answer's slot. */
static int merge_point(HistoryPoint **points, size_t *n, uint64_t time, Bytes b) {
        size_t i = 0;
        while (i < *n && (*points)[i].time < time)
                i++;
        if (i < *n && (*points)[i].time == time) {
                (*points)[i].rx += b.rx;
                (*points)[i].tx += b.tx;
                return 0;
        }
        HistoryPoint *np = realloc(*points, (*n + 1) * sizeof(HistoryPoint));
        if (!np)
                return -ENOMEM;
        *points = np;
        memmove(np + i + 1, np + i, (*n - i) * sizeof(HistoryPoint));
        np[i] = (HistoryPoint) { .time = time, .rx = b.rx, .tx = b.tx };
        (*n)++;
        return 0;
}

int history_query(History *h, uint64_t peer_id, uint64_t since, uint64_t step, uint64_t now,
                  HistoryPoint **ret, size_t *ret_n) {
        _cleanup_(freep) HistoryPoint *points = NULL;
        uint64_t s, st, max_points, min_step;
        size_t n = 0;
        int r;

        r = history_query_check(h, since, step, now, &max_points, &min_step);
        if (r < 0)
                return r;
        if (!history_enabled(h)) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        int level = query_level(h, since, step, now, &s, &st);
        uint64_t lst = level_step[level];
        /* Rows kept past the retention (by a clock that jumped ahead) can be more than the
         * check counted: what is read is bounded all the same. */
        r = db_history_query(h->db, level, peer_id, s, st, 2 * HISTORY_QUERY_POINTS_MAX + 1, &points, &n);
        if (r < 0)
                return r;
        /* The bytes not written yet: a closed bucket waiting for its write, the open one. */
        PeerCounters *c = hashmap_get(h->last, &peer_id);
        if (c) {
                const struct {
                        bool any;
                        uint64_t bucket;
                        Bytes b;
                } mem[2] = {
                        { c->closed && !bytes_zero(c->closed_bytes), c->closed_bucket, c->closed_bytes },
                        { !bytes_zero(c->open), h->bucket, c->open },
                };
                for (size_t k = 0; k < ELEMENTSOF(mem); k++) {
                        uint64_t b = mem[k].bucket - mem[k].bucket % lst;
                        if (!mem[k].any || b < s)
                                continue;
                        r = merge_point(&points, &n, s + (b - s) / st * st, mem[k].b);
                        if (r < 0)
                                return r;
                }
        }
        if (n > 2 * HISTORY_QUERY_POINTS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                points[i].time *= USEC_PER_SEC;
        *ret = TAKE_PTR(points);
        *ret_n = n;
        return 0;
}
