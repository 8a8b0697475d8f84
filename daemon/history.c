/* SPDX-License-Identifier: LGPL-2.1-or-later */
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
} PeerCounters;

struct History {
        Manager *manager;
        DbHistory *db;
        Hashmap *last;                  /* peer id -> PeerCounters */
        uint64_t generation;
        uint64_t keep[2];               /* seconds, 0 = level off */
        uint64_t last_prune_hour;
        bool primed;                    /* a first sample was taken since the start */
};

static const uint64_t level_step[2] = { HISTORY_FINE_STEP, HISTORY_COARSE_STEP };

int history_new(Manager *m, History **ret) {
        _cleanup_(history_freep) History *h = calloc(1, sizeof(History));
        int r;

        if (!h)
                return -ENOMEM;
        h->manager = m;
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

History *history_free(History *h) {
        if (!h)
                return NULL;
        PeerCounters *c;
        HASHMAP_FOREACH(c, h->last, i)
                free(c);
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

static int add(History *h, const Peer *p, uint64_t sec, uint64_t rx, uint64_t tx) {
        for (int l = 0; l < 2; l++) {
                if (h->keep[l] == 0)
                        continue;
                int r = db_history_add(h->db, l, p->id, sec - sec % level_step[l], rx, tx);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int prune(History *h, uint64_t sec) {
        Peer *p;
        HASHMAP_FOREACH(p, h->manager->peers_by_id, i)
                for (int l = 0; l < 2; l++) {
                        if (h->keep[l] == 0 || sec < h->keep[l])
                                continue;
                        int r = db_history_prune(h->db, l, p->id, sec - h->keep[l]);
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

int history_sample(History *h, uint64_t now) {
        Manager *m = h->manager;
        uint64_t sec = now / USEC_PER_SEC, hour = sec / 3600;
        bool in_transaction = false;
        size_t seen = 0;
        Network *n;
        int r = 0;

        if (!history_enabled(h))
                return 0;
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
                                /* At the start, the device's counters hold bytes of before the
                                 * restart, already recorded: they are the baseline. A peer that
                                 * shows up later (added, its network brought up) started from
                                 * 0 on the device: all of its bytes count. */
                                *c = (PeerCounters) { .id = p->id };
                                if (!h->primed) {
                                        c->rx = p->rx_bytes;
                                        c->tx = p->tx_bytes;
                                }
                                r = hashmap_put(h->last, &c->id, c);
                                if (r < 0) {
                                        free(c);
                                        goto fail;
                                }
                        }
                        c->generation = h->generation;
                        seen++;
                        uint64_t drx = delta(p->rx_bytes, c->rx), dtx = delta(p->tx_bytes, c->tx);
                        if (drx == 0 && dtx == 0)
                                continue;
                        if (!in_transaction) {
                                r = db_begin(m->db);
                                if (r < 0)
                                        goto fail;
                                in_transaction = true;
                        }
                        r = add(h, p, sec, drx, dtx);
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
                r = prune(h, sec);
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
        /* The counters of the peers written before the failure moved on in memory: reload
         * every baseline at the next sample rather than count bytes twice or never. */
        PeerCounters *c;
        HASHMAP_FOREACH(c, h->last, i)
                c->generation = 0;
        sweep(h);
        /* ... from the device's counters as they are then: primed, the emptied table would
         * make every peer start from 0 and count its whole lifetime again. */
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
