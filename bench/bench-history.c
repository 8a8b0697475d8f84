/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tick at N peers (default 10000) with a realistic transfer history: DAYS (default 7)
 * days of 5-minute and hourly rows of every peer already in the database, and a simulated
 * clock that moves 5 s a tick across buckets and hours.
 *
 * A real device: the userspace backend (wireguard-go) with N peers, in the network
 * namespace the bench is started in (run it as root inside `ip netns exec`, see
 * docs/bench-history.md), and a real SQLite database (WAL, synchronous=FULL) in a temporary
 * directory. The tick is what on_tick() does: reconcile every active network (read the
 * device, compare, refresh each peer's status), then history_sample(). After the read the
 * bench sets each peer's counters to its own (wireguard-go's are 0 without traffic).
 *
 * Every commit's WAL frames are counted by a WAL hook that also does what SQLite's default
 * one does (a passive checkpoint at 1,000 pages).
 *
 * Each round is one simulated hour:
 *   settle     one bucket of idle ticks
 *   hour       the first 12 ticks of an hour, idle: the hourly prune
 *   idle       one bucket (60 ticks) of warm-up, then one measured: no peer moved bytes
 *   keepalive  the same, a fifth of the peers moved bytes each tick (a keepalive every 25 s)
 *   busy       the same, every peer moved bytes every tick
 * The measured bucket holds the writes of the warm-up's bucket where they are deferred.
 * At the end the network is deleted (db_network_delete() as DeleteNetwork does), and up to
 * 20 ticks after it are timed (the rows a removed peer leaves, if the tick deletes them).
 *
 * Usage: bench-history [PEERS [ROUNDS [DAYS]]] */
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "history.h"
#include "manager.h"
#include "network.h"
#include "peer.h"

#define SEC UINT64_C(1000000)
#define TICK_SEC 5
#define BUCKET_TICKS (HISTORY_FINE_STEP / TICK_SEC)
#define PAGE_BYTES 4096

static uint64_t mono_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static void die(const char *what, int r) {
        fprintf(stderr, "%s: %s\n", what, strerror(-r));
        exit(1);
}

/* WAL frames of every commit (the WAL hook sees the frame count after each). */
typedef struct Wal {
        uint64_t frames;                /* written so far */
        int prev;                       /* frames in the WAL after the last commit */
        uint64_t checkpoints;
} Wal;

static int wal_hook(void *userdata, sqlite3 *db, const char *name, int pages) {
        Wal *w = userdata;
        w->frames += (uint64_t) (pages >= w->prev ? pages - w->prev : pages);
        w->prev = pages;
        if (pages >= 1000) {
                /* SQLite's default hook: a passive checkpoint at 1,000 pages; once it has
                 * copied every frame, the next write starts the WAL from its beginning */
                int log = 0, done = 0;
                if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done) == SQLITE_OK &&
                    log == done) {
                        w->prev = 0;
                        w->checkpoints++;
                }
        }
        return SQLITE_OK;
}

typedef struct Bench {
        Manager *m;
        Network *n;
        unsigned n_peers;
        uint64_t *rx, *tx;              /* the bench's counters, by peer index */
        uint64_t now;                   /* simulated wall clock, µs */
        uint64_t ticks;
        Wal wal;
        char wal_path[160];
} Bench;

/* What a series of ticks cost. */
typedef struct Series {
        unsigned n, alloc;
        uint64_t *tick, *reconcile, *sample, *frames;
} Series;

static void series_add(Series *s, uint64_t tick, uint64_t reconcile, uint64_t sample, uint64_t frames) {
        if (s->n == s->alloc) {
                s->alloc = s->alloc ? 2 * s->alloc : 64;
                s->tick = realloc(s->tick, s->alloc * sizeof(uint64_t));
                s->reconcile = realloc(s->reconcile, s->alloc * sizeof(uint64_t));
                s->sample = realloc(s->sample, s->alloc * sizeof(uint64_t));
                s->frames = realloc(s->frames, s->alloc * sizeof(uint64_t));
                if (!s->tick || !s->reconcile || !s->sample || !s->frames)
                        die("series", -ENOMEM);
        }
        s->tick[s->n] = tick;
        s->reconcile[s->n] = reconcile;
        s->sample[s->n] = sample;
        s->frames[s->n] = frames;
        s->n++;
}

static uint64_t median(uint64_t *v, unsigned n) {
        uint64_t *c = malloc(n * sizeof(uint64_t));
        if (!c)
                die("median", -ENOMEM);
        memcpy(c, v, n * sizeof(uint64_t));
        qsort(c, n, sizeof(uint64_t), cmp_u64);
        uint64_t m = c[n / 2];
        free(c);
        return m;
}

static uint64_t maximum(const uint64_t *v, unsigned n) {
        uint64_t m = 0;
        for (unsigned i = 0; i < n; i++)
                m = MAX(m, v[i]);
        return m;
}

static uint64_t sum(const uint64_t *v, unsigned n) {
        uint64_t s = 0;
        for (unsigned i = 0; i < n; i++)
                s += v[i];
        return s;
}

static double mib(uint64_t frames) {
        return frames * (PAGE_BYTES + 24) / (1024.0 * 1024.0);
}

static void series_report(const char *what, Series *s, unsigned per_bucket) {
        if (s->n == 0)
                return;
        double buckets = (double) s->n / per_bucket;
        printf("%-9s ticks %4u  tick median %7.2f max %7.2f ms (reconcile median %6.2f)  sample median %7.2f "
               "max %7.2f ms  WAL/tick mean %7.1f KiB max %6.2f MiB (%5" PRIu64 " pages)  WAL/5 min %7.2f MiB\n",
               what, s->n, median(s->tick, s->n) / 1000.0, maximum(s->tick, s->n) / 1000.0,
               median(s->reconcile, s->n) / 1000.0, median(s->sample, s->n) / 1000.0,
               maximum(s->sample, s->n) / 1000.0, mib(sum(s->frames, s->n)) * 1024 / s->n,
               mib(maximum(s->frames, s->n)), maximum(s->frames, s->n), mib(sum(s->frames, s->n)) / buckets);
        printf("RESULT %s tick_med_ms=%.2f tick_max_ms=%.2f reconcile_med_ms=%.2f sample_med_ms=%.2f "
               "sample_max_ms=%.2f sample_sum_ms=%.1f wal_tick_mean_kib=%.1f wal_tick_max_mib=%.2f wal_5min_mib=%.2f\n",
               what, median(s->tick, s->n) / 1000.0, maximum(s->tick, s->n) / 1000.0,
               median(s->reconcile, s->n) / 1000.0, median(s->sample, s->n) / 1000.0,
               maximum(s->sample, s->n) / 1000.0, sum(s->sample, s->n) / 1000.0,
               mib(sum(s->frames, s->n)) * 1024 / s->n, mib(maximum(s->frames, s->n)),
               mib(sum(s->frames, s->n)) / buckets);
}

typedef enum Traffic {
        TRAFFIC_NONE,
        TRAFFIC_KEEPALIVE,              /* a fifth of the peers a tick */
        TRAFFIC_ALL,
} Traffic;

/* One tick: reconcile, the bench's counters (moved as traffic says), history_sample(). */
static void tick(Bench *b, Traffic traffic, Series *s) {
        uint64_t frames = b->wal.frames, t0 = mono_usec();
        manager_reconcile_all(b->m, false);
        uint64_t t1 = mono_usec();
        unsigned i = 0;
        for (Peer *p = b->n ? b->n->peers : NULL; p; p = p->next, i++) {
                if (traffic == TRAFFIC_ALL || (traffic == TRAFFIC_KEEPALIVE && i % 5 == b->ticks % 5)) {
                        b->rx[i] += 148;        /* a keepalive each way and some */
                        b->tx[i] += 1000 + i;
                }
                p->rx_bytes = b->rx[i];
                p->tx_bytes = b->tx[i];
        }
        uint64_t t2 = mono_usec();
        int r = history_sample(b->m->history, b->now, b->now);
        uint64_t t3 = mono_usec();
        if (r < 0)
                die("sample", r);
        if (s)
                series_add(s, (t1 - t0) + (t3 - t2), t1 - t0, t3 - t2, b->wal.frames - frames);
        b->now += TICK_SEC * SEC;
        b->ticks++;
}

static void ticks(Bench *b, unsigned n, Traffic traffic, Series *s) {
        for (unsigned i = 0; i < n; i++)
                tick(b, traffic, s);
}

static int64_t query_int(Bench *b, const char *sql) {
        sqlite3_stmt *s;
        int64_t v = -1;
        if (sqlite3_prepare_v2(db_handle(b->m->db), sql, -1, &s, NULL) != SQLITE_OK)
                return -1;
        if (sqlite3_step(s) == SQLITE_ROW)
                v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return v;
}

static int exec_sql(Bench *b, const char *sql) {
        return sqlite3_exec(db_handle(b->m->db), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* DAYS of rows of every peer before `end` (seconds): 5-minute ones for up to 7 days,
 * hourly ones for up to 90, and each peer's recorded counters (0: the device is new). The
 * rows go in in time order, bucket by bucket as the tick writes them, so that the tables'
 * pages fill the way they do in use (a sorted bulk insert would pack them full). */
static void prefill(Bench *b, unsigned days, uint64_t end) {
        sqlite3 *db = db_handle(b->m->db);
        sqlite3_stmt *st[2], *last;
        uint64_t rows = 0, t0 = mono_usec();
        unsigned fine_days = MIN(days, HISTORY_FINE_KEEP_DAYS), coarse_days = MIN(days, HISTORY_COARSE_KEEP_DAYS);
        uint64_t fine_from = end - (uint64_t) fine_days * 86400, coarse_from = end - (uint64_t) coarse_days * 86400;

        if (sqlite3_prepare_v2(db, "INSERT INTO history_fine (peer_id, bucket, rx, tx) VALUES (?1, ?2, ?3, ?4)", -1,
                               &st[0], NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(db, "INSERT INTO history_coarse (peer_id, bucket, rx, tx) VALUES (?1, ?2, ?3, ?4)", -1,
                               &st[1], NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(db, "INSERT INTO history_last (peer_id, rx, tx, at) VALUES (?1, 0, 0, ?2)", -1, &last,
                               NULL) != SQLITE_OK)
                die("prefill statements", -EIO);
        if (exec_sql(b, "PRAGMA cache_size = -4000000") < 0)      /* the whole database in memory meanwhile */
                die("prefill cache", -EIO);
        bool in_transaction = false;
        for (uint64_t t = MIN(fine_from, coarse_from); t < end; t += HISTORY_FINE_STEP) {
                if (!in_transaction && exec_sql(b, "BEGIN") < 0)
                        die("prefill begin", -EIO);
                in_transaction = true;
                for (int l = 0; l < 2; l++) {
                        if (t < (l == 0 ? fine_from : coarse_from) || (l == 1 && t % 3600 != 0))
                                continue;
                        for (unsigned i = 0; i < b->n_peers; i++) {
                                sqlite3_stmt *s = st[l];
                                sqlite3_bind_int64(s, 1, (sqlite3_int64) i + 1);
                                sqlite3_bind_int64(s, 2, (sqlite3_int64) t);
                                /* 20 kB to 30 MB a bucket */
                                uint64_t v = (t / 300 * 2654435761u + i * 40503u) % 30000000;
                                sqlite3_bind_int64(s, 3, (sqlite3_int64) ((20000 + v) * (l ? 12 : 1)));
                                sqlite3_bind_int64(s, 4, (sqlite3_int64) ((20000 + v / 3) * (l ? 12 : 1)));
                                if (sqlite3_step(s) != SQLITE_DONE)
                                        die("prefill insert", -EIO);
                                sqlite3_reset(s);
                                rows++;
                        }
                }
                if (t % 3600 == 3300 || t + HISTORY_FINE_STEP >= end) {
                        if (exec_sql(b, "COMMIT") < 0)
                                die("prefill commit", -EIO);
                        in_transaction = false;
                }
        }
        if (exec_sql(b, "BEGIN") < 0)
                die("prefill begin", -EIO);
        for (unsigned i = 0; i < b->n_peers; i++) {
                sqlite3_bind_int64(last, 1, (sqlite3_int64) i + 1);
                sqlite3_bind_int64(last, 2, (sqlite3_int64) end - HISTORY_FINE_STEP);
                if (sqlite3_step(last) != SQLITE_DONE)
                        die("prefill last", -EIO);
                sqlite3_reset(last);
        }
        if (exec_sql(b, "COMMIT") < 0 || exec_sql(b, "PRAGMA cache_size = -2000") < 0)
                die("prefill commit", -EIO);
        sqlite3_finalize(st[0]);
        sqlite3_finalize(st[1]);
        sqlite3_finalize(last);
        (void) sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        b->wal.prev = 0;
        int64_t pages = query_int(b, "PRAGMA page_count");
        printf("prefill: %u days, %" PRIu64 " rows in %.1f s; database %" PRId64 " bytes (%.1f MB, %.1f bytes a row)\n",
               days, rows, (mono_usec() - t0) / 1e6, pages * PAGE_BYTES, pages * PAGE_BYTES / 1e6,
               rows ? (double) pages * PAGE_BYTES / rows : 0.0);
}

static long long wal_file_size(Bench *b) {
        struct stat st;
        return stat(b->wal_path, &st) < 0 ? -1 : (long long) st.st_size;
}

int main(int argc, char **argv) {
        unsigned n_peers = argc > 1 ? (unsigned) atoi(argv[1]) : 10000;
        unsigned rounds = argc > 2 ? (unsigned) atoi(argv[2]) : 3;
        unsigned days = argc > 3 ? (unsigned) atoi(argv[3]) : 7;
        char dir[] = "/tmp/wgnet-bench-history-XXXXXX", path[128], ifname[16];
        ManagerConfig c = { .state_dir = dir, .tick_usec = TICK_SEC * SEC, .backend = WG_BACKEND_USERSPACE,
                            .firewall = 0, .history_fine_days = HISTORY_FINE_KEEP_DAYS,
                            .history_coarse_days = HISTORY_COARSE_KEEP_DAYS };
        WgBackendOptions bopts = { .userspace_log_fd = -1 };
        uint8_t priv[WG_KEY_LEN];
        Bench b = { .n_peers = n_peers };
        size_t len;
        Manager *m;
        Network *n;
        int r;

        if (geteuid() != 0) {
                fprintf(stderr, "needs root: run it in a network namespace, see docs/bench-history.md\n");
                return 77;
        }
        if (n_peers == 0 || n_peers > 65000 || rounds == 0)
                return 2;
        if (!mkdtemp(dir))
                return 1;
        snprintf(path, sizeof(path), "%s/wgnet.db", dir);
        snprintf(b.wal_path, sizeof(b.wal_path), "%s-wal", path);
        snprintf(ifname, sizeof(ifname), "wgbh%u", (unsigned) getpid() % 100000);
        if ((r = wg_crypto_init()) < 0)
                die("libsodium", r);
        if ((r = manager_new(&c, &m)) < 0)
                die("manager", r);
        b.m = m;
        randombytes_buf(m->secret_key, sizeof(m->secret_key));
        if ((r = db_open(path, &m->db)) < 0)
                die("database", r);
        if ((r = wg_backend_new(WG_BACKEND_USERSPACE, &bopts, &m->backend)) < 0)
                die("backend", r);

        if ((r = network_new(m, 1, "bench", ifname, &n)) < 0 || (r = network_attach(n)) < 0)
                die("network", r);
        b.n = n;
        ip_prefix_parse("10.64.0.1/16", false, &n->subnets[0]);
        n->n_subnets = 1;
        n->listen_port = 0;
        n->online_threshold = 180;
        n->active = true;
        wg_key_generate_private(priv);
        wg_key_public_from_private(n->public_key, priv);
        if ((r = manager_seal(m, "networks.private_key", n->id, priv, n->private_key_sealed,
                              sizeof(n->private_key_sealed), &len)) < 0)
                die("seal", r);
        if ((r = db_begin(m->db)) < 0 || (r = db_network_insert(m->db, n)) < 0)
                die("insert network", r);
        for (unsigned i = 0; i < n_peers; i++) {
                char name[16], addr[32];
                Peer *p;
                snprintf(name, sizeof(name), "peer%05u", i);
                if ((r = peer_new(n, i + 1, name, &p)) < 0)
                        die("peer", r);
                wg_key_generate_private(priv);
                wg_key_public_from_private(p->public_key, priv);
                p->addresses = calloc(1, sizeof(IpPrefix));
                snprintf(addr, sizeof(addr), "10.64.%u.%u/32", (i + 2) / 256, (i + 2) % 256);
                ip_prefix_parse(addr, false, &p->addresses[0]);
                p->n_addresses = 1;
                network_link_peer(n, p);
                if ((r = db_peer_insert(m->db, p, NULL, 0)) < 0)
                        die("insert peer", r);
        }
        if ((r = db_commit(m->db)) < 0)
                die("commit", r);
        b.rx = calloc(n_peers, sizeof(uint64_t));
        b.tx = calloc(n_peers, sizeof(uint64_t));
        if (!b.rx || !b.tx)
                die("counters", -ENOMEM);

        /* The simulated clock starts a bucket before a full hour; the rows end there. */
        uint64_t hour0 = (uint64_t) time(NULL) / 3600 * 3600;
        b.now = (hour0 - HISTORY_FINE_STEP) * SEC;
        prefill(&b, days, hour0 - HISTORY_FINE_STEP);
        sqlite3_wal_hook(db_handle(m->db), wal_hook, &b.wal);
        if ((r = history_new(m, &m->history)) < 0)
                die("history", r);

        uint64_t t0 = mono_usec();
        if ((r = network_apply(n, false)) < 0)
                die("bring up the device", r);
        printf("%u peers on %s (wireguard-go) in %.2f s\n", n_peers, ifname, (mono_usec() - t0) / 1e6);
        manager_reconcile_all(m, false);        /* warm up */

        /* the start's sample: the baselines */
        t0 = mono_usec();
        if ((r = history_sample(m->history, b.now, b.now)) < 0)
                die("sample", r);
        printf("first sample (baselines): %.2f ms\n", (mono_usec() - t0) / 1000.0);
        b.now += TICK_SEC * SEC;

        Series hour = { 0 }, idle = { 0 }, keepalive = { 0 }, busy = { 0 };
        for (unsigned k = 0; k < rounds; k++) {
                /* to a bucket before the next full hour, then a quiet bucket */
                uint64_t next_hour = (b.now / SEC / 3600 + 1) * 3600;
                b.now = MAX(b.now, (next_hour - HISTORY_FINE_STEP) * SEC + SEC);
                ticks(&b, BUCKET_TICKS - 1, TRAFFIC_NONE, NULL);
                b.now = next_hour * SEC + SEC;
                ticks(&b, 12, TRAFFIC_NONE, &hour);
                ticks(&b, BUCKET_TICKS - 12, TRAFFIC_NONE, NULL);
                ticks(&b, BUCKET_TICKS, TRAFFIC_NONE, &idle);
                ticks(&b, BUCKET_TICKS, TRAFFIC_KEEPALIVE, NULL);
                ticks(&b, BUCKET_TICKS, TRAFFIC_KEEPALIVE, &keepalive);
                ticks(&b, BUCKET_TICKS, TRAFFIC_ALL, NULL);
                ticks(&b, BUCKET_TICKS, TRAFFIC_ALL, &busy);
                ticks(&b, BUCKET_TICKS, TRAFFIC_NONE, NULL);
                printf("round %u done (WAL file %lld bytes, %" PRIu64 " checkpoints)\n", k + 1, wal_file_size(&b),
                       b.wal.checkpoints);
                fflush(stdout);
        }
        printf("\n%u peers, %u rounds, %u days of history; WAL frames of %d bytes\n", n_peers, rounds, days,
               PAGE_BYTES + 24);
        series_report("hour", &hour, 12);
        series_report("idle", &idle, BUCKET_TICKS);
        series_report("keepalive", &keepalive, BUCKET_TICKS);
        series_report("busy", &busy, BUCKET_TICKS);
        printf("ratio tick/reconcile (medians): idle %.2f, keepalive %.2f, busy %.2f\n",
               (double) median(idle.tick, idle.n) / median(idle.reconcile, idle.n),
               (double) median(keepalive.tick, keepalive.n) / median(keepalive.reconcile, keepalive.n),
               (double) median(busy.tick, busy.n) / median(busy.reconcile, busy.n));
        printf("WAL file after the rounds: %lld bytes\n", wal_file_size(&b));

        /* DeleteNetwork's transaction, then the ticks after it */
        int64_t rows = query_int(&b, "SELECT (SELECT count(*) FROM history_fine) + (SELECT count(*) FROM history_coarse)");
        uint64_t frames = b.wal.frames;
        t0 = mono_usec();
        if ((r = db_begin(m->db)) < 0 || (r = db_network_delete(m->db, n->id)) < 0 || (r = db_commit(m->db)) < 0)
                die("delete network", r);
        uint64_t delete_usec = mono_usec() - t0;
        int64_t left = query_int(&b, "SELECT (SELECT count(*) FROM history_fine) + (SELECT count(*) FROM history_coarse)");
        printf("DeleteNetwork's transaction with %" PRId64 " rows of history: %.1f ms, WAL %.1f MiB; %" PRId64
               " rows left for the ticks\n", rows, delete_usec / 1000.0, mib(b.wal.frames - frames), left);
        printf("RESULT delete ms=%.1f wal_mib=%.1f rows=%" PRId64 " left=%" PRId64 "\n", delete_usec / 1000.0,
               mib(b.wal.frames - frames), rows, left);
        (void) network_deactivate_device(n);
        network_detach(n);
        network_free(n);
        b.n = NULL;
        if (left > 0) {
                Series after = { 0 };
                ticks(&b, 20, TRAFFIC_NONE, &after);
                int64_t left2 = query_int(&b, "SELECT (SELECT count(*) FROM history_fine) + "
                                              "(SELECT count(*) FROM history_coarse)");
                series_report("cleanup", &after, 20);
                double per_tick = (double) (left - left2) / after.n;
                printf("cleanup: %.0f rows a tick; all %" PRId64 " rows in %.0f ticks (%.0f min at a 5 s tick)\n",
                       per_tick, left, per_tick > 0 ? left / per_tick : 0.0,
                       per_tick > 0 ? left / per_tick * TICK_SEC / 60 : 0.0);
        }
        printf("WAL file at the end: %lld bytes\n", wal_file_size(&b));

        free(b.rx);
        free(b.tx);
        manager_free(m);
        snprintf(path, sizeof(path), "rm -rf '%s'", dir);
        return system(path) == 0 ? 0 : 1;
}
