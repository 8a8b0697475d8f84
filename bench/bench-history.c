/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tick at N peers (default 10000), with and without the transfer history.
 *
 * A real device: the userspace backend (wireguard-go) with N peers, in the network
 * namespace the bench is started in (run it as root inside `ip netns exec`, see
 * docs/bench-history.md), and a real SQLite database (WAL, synchronous=FULL) in a temporary
 * directory. The tick is what on_tick() does: reconcile every active network (read the
 * device, compare, refresh each peer's status), then, with history, history_sample().
 *
 * Three ticks are timed, ROUNDS times each (median and max printed):
 *   baseline   reconcile only (history off)
 *   idle       reconcile + history, no peer moved bytes (no transaction at all)
 *   busy       reconcile + history, every peer moved bytes since the last tick (the
 *              counters are bumped after the device read: N upserts into two tables in
 *              one transaction, the worst case)
 * plus the hourly prune of N peers' old buckets, timed on its own.
 *
 * Usage: bench-history [PEERS [ROUNDS]] */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "history.h"
#include "manager.h"
#include "network.h"
#include "peer.h"

static uint64_t mono_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *t, unsigned n, double *ret_median_ms) {
        qsort(t, n, sizeof(uint64_t), cmp_u64);
        double med = t[n / 2] / 1000.0;
        printf("%-10s median %8.2f ms   min %8.2f ms   max %8.2f ms\n", what, med, t[0] / 1000.0, t[n - 1] / 1000.0);
        if (ret_median_ms)
                *ret_median_ms = med;
}

static void die(const char *what, int r) {
        fprintf(stderr, "%s: %s\n", what, strerror(-r));
        exit(1);
}

int main(int argc, char **argv) {
        unsigned n_peers = argc > 1 ? (unsigned) atoi(argv[1]) : 10000;
        unsigned rounds = argc > 2 ? (unsigned) atoi(argv[2]) : 15;
        char dir[] = "/tmp/wgnet-bench-history-XXXXXX", path[128], ifname[16];
        ManagerConfig c = { .state_dir = dir, .tick_usec = 1000000, .backend = WG_BACKEND_USERSPACE,
                            .firewall = 0, .history_fine_days = HISTORY_FINE_KEEP_DAYS,
                            .history_coarse_days = HISTORY_COARSE_KEEP_DAYS };
        WgBackendOptions bopts = { .userspace_log_fd = -1 };
        uint8_t priv[WG_KEY_LEN];
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
        snprintf(ifname, sizeof(ifname), "wgbh%u", (unsigned) getpid() % 100000);
        if ((r = wg_crypto_init()) < 0)
                die("libsodium", r);
        if ((r = manager_new(&c, &m)) < 0)
                die("manager", r);
        randombytes_buf(m->secret_key, sizeof(m->secret_key));
        if ((r = db_open(path, &m->db)) < 0)
                die("database", r);
        if ((r = wg_backend_new(WG_BACKEND_USERSPACE, &bopts, &m->backend)) < 0)
                die("backend", r);

        if ((r = network_new(m, 1, "bench", ifname, &n)) < 0 || (r = network_attach(n)) < 0)
                die("network", r);
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
        if ((r = history_new(m, &m->history)) < 0)
                die("history", r);

        uint64_t t0 = mono_usec();
        if ((r = network_apply(n, false)) < 0)
                die("bring up the device", r);
        printf("%u peers on %s (wireguard-go) in %.2f s\n", n_peers, ifname, (mono_usec() - t0) / 1e6);
        manager_reconcile_all(m, false);        /* warm up */

        uint64_t now = (uint64_t) time(NULL) * 1000000;
        double base_ms, idle_ms, busy_ms;
        now -= now % (3600 * UINT64_C(1000000));
        now += 60 * UINT64_C(1000000);          /* a minute past the hour */

        /* the first sample sets the baselines and prunes (a new hour): timed apart */
        t0 = mono_usec();
        if ((r = history_sample(m->history, now, now)) < 0)
                die("sample", r);
        printf("first sample (baselines + prune of %u peers): %.2f ms\n", n_peers, (mono_usec() - t0) / 1000.0);

        /* The three kinds of tick interleaved, so that the load of a shared machine hits
         * them alike. */
        uint64_t *ts[5];
        for (unsigned j = 0; j < 5; j++)
                ts[j] = calloc(rounds, sizeof(uint64_t));
        for (unsigned k = 0; k < rounds; k++) {
                t0 = mono_usec();
                manager_reconcile_all(m, false);
                ts[0][k] = mono_usec() - t0;

                now += 1000000;
                t0 = mono_usec();
                manager_reconcile_all(m, false);
                uint64_t t1 = mono_usec();
                r = history_sample(m->history, now, now);
                ts[1][k] = mono_usec() - t0;
                ts[3][k] = mono_usec() - t1;
                if (r < 0)
                        die("sample", r);

                now += 1000000;
                t0 = mono_usec();
                manager_reconcile_all(m, false);
                /* traffic on every peer since the last tick (the device read just set the
                 * real counters, which are 0 without traffic) */
                for (Peer *p = n->peers; p; p = p->next) {
                        p->rx_bytes = (k + 1) * 1000 + p->id;
                        p->tx_bytes = (k + 1) * 2000 + p->id;
                }
                t1 = mono_usec();
                r = history_sample(m->history, now, now);
                ts[2][k] = mono_usec() - t0;
                ts[4][k] = mono_usec() - t1;
                if (r < 0)
                        die("sample", r);
                /* the next idle tick must see no traffic: the device read resets the
                 * counters to the device's, so count them as moved back (a restart) */
                manager_reconcile_all(m, false);
                (void) history_sample(m->history, now, now);
        }
        report("baseline", ts[0], rounds, &base_ms);
        report("idle", ts[1], rounds, &idle_ms);
        report("busy", ts[2], rounds, &busy_ms);
        double hi, hb;
        report("sample idle", ts[3], rounds, &hi);
        report("sample busy", ts[4], rounds, &hb);

        t0 = mono_usec();
        now += 3600 * UINT64_C(1000000);
        r = history_sample(m->history, now, now);    /* next hour: prune pass, counters unchanged */
        printf("hourly prune pass: %.2f ms\n", (mono_usec() - t0) / 1000.0);

        printf("ratio idle/baseline %.2f, busy/baseline %.2f\n", idle_ms / base_ms, busy_ms / base_ms);

        (void) network_deactivate_device(n);
        for (unsigned j = 0; j < 5; j++)
                free(ts[j]);
        manager_free(m);
        snprintf(path, sizeof(path), "rm -rf '%s'", dir);
        return system(path) == 0 ? 0 : 1;
}
