/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel backend at scale, against the real WireGuard module (run in the VM by
 * tests/integration/backend-kernel-vm.sh):
 *
 *   test-backend-kernel [N_PEERS]     (default 10000)
 *
 * 1. N peers (two allowed IPs each, PSKs, endpoints, keepalives) in one set request: many
 *    netlink messages; get_device returns exactly them.
 * 2. One peer gets 5000 allowed IPs in a one-peer request (split over messages, no
 *    REPLACE_PEERS): it has them all, the other peers are untouched.
 * 3. Dumps while another process keeps changing the device (NLM_F_DUMP_INTR): every
 *    successful get is whole.
 * 4. On a small device: REPLACE_PEERS with no peers empties it, delete removes it; a
 *    missing device and a link that is not WireGuard are -ENODEV (lo is not deleted).
 * The big device is left behind when N > 1000 (removing 10k peers takes the kernel one RCU
 * grace period each: minutes under TCG) unless TEST_BACKEND_KERNEL_CLEANUP is set.
 * Prints timings ("time set N peers: X ms") for the bench.
 *
 *   test-backend-kernel bench IFNAME N CONF
 *
 * For bench/bench-backend-kernel.sh: on a new device, time the set of N peers, the get
 * (median of 5) and a one-peer set (mean of 200), and write the same configuration to CONF
 * in wg(8) format so that wg setconf can be timed on another new device.
 *
 *   test-backend-kernel churn IFNAME COUNT
 *
 * Adds and removes COUNT single peers on an existing device (one-peer requests, never
 * REPLACE_PEERS), then checks that the peers it had before are exactly as they were: the
 * VM script runs it while a tunnel through one of those peers carries pings. Exit 0 ok, 1 failure, 77 when
 * the kernel has no WireGuard. */

#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>

#include "backend.h"
#include "macro.h"
#include "wgdevice.h"

#define IFNAME "wgbig0"
#define SMALL_IFNAME "wgsmall0"
#define BIG_PEER_IPS 5000

static WgBackend *backend;
static bool created;
static pid_t child;

_printf_(1, 2) __attribute__((noreturn)) static void die(const char *fmt, ...) {
        va_list ap;
        fputs("FAIL: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        if (child > 0)
                kill(child, SIGKILL);
        if (created)
                (void) wg_backend_delete(backend, IFNAME);
        exit(1);
}

#define CHECK(expr, ...)                  \
        do {                              \
                if (!(expr))              \
                        die(__VA_ARGS__); \
        } while (0)

#define CHECK_OK(expr)                                                                  \
        do {                                                                            \
                int _r = (expr);                                                        \
                if (_r < 0)                                                             \
                        die("%s:%d: %s: %s", __FILE__, __LINE__, #expr, strerror(-_r)); \
        } while (0)

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static void peer_key(uint8_t key[WG_KEY_LEN], uint32_t i) {
        /* Any 32 bytes are a public key to the kernel; these are distinct per i. */
        for (size_t j = 0; j < WG_KEY_LEN; j++)
                key[j] = (uint8_t) (i >> (8 * (j % 4))) ^ (uint8_t) (0x5a + j);
}

static IpPrefix peer_v4(uint32_t i) {
        IpPrefix p = { .family = AF_INET, .prefixlen = 32 };
        p.addr.in.s_addr = htonl(0x0a000000u + i + 2);
        return p;
}

static IpPrefix peer_v6(uint32_t i) {
        IpPrefix p = { .family = AF_INET6, .prefixlen = 128 };
        p.addr.bytes[0] = 0xfd;
        p.addr.bytes[1] = 0x10;
        memcpy(&p.addr.bytes[12], &(uint32_t) { htonl(i + 2) }, 4);
        return p;
}

static WgDevice *make_request(unsigned n) {
        WgDevice *d = NULL;
        CHECK_OK(wg_device_new(IFNAME, &d));
        d->flags = WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_REPLACE_PEERS;
        CHECK_OK(wg_key_generate_private(d->private_key));
        d->listen_port = 51999;
        for (unsigned i = 0; i < n; i++) {
                uint8_t key[WG_KEY_LEN];
                peer_key(key, i);
                WgPeer *p = wg_device_add_peer(d, key);
                CHECK(p, "out of memory");
                p->flags = WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PERSISTENT_KEEPALIVE;
                p->persistent_keepalive = (uint16_t) (i % 100);
                if (i % 2 == 0) {
                        p->flags |= WGPEER_HAS_PRESHARED_KEY;
                        peer_key(p->preshared_key, ~i);
                }
                if (i % 3 == 0) {
                        p->flags |= WGPEER_HAS_ENDPOINT;
                        p->endpoint.in.sin_family = AF_INET;
                        p->endpoint.in.sin_addr.s_addr = htonl(0xc0000200u + i % 200 + 1);
                        p->endpoint.in.sin_port = htons((uint16_t) (1024 + i % 50000));
                }
                IpPrefix a = peer_v4(i), b = peer_v6(i);
                CHECK_OK(wg_peer_add_allowed_ip(p, &a));
                CHECK_OK(wg_peer_add_allowed_ip(p, &b));
        }
        return d;
}

static int cmp_prefix(const void *a, const void *b) {
        return ip_prefix_compare(a, b);
}

/* The kernel keeps peers and their allowed IPs in its own order: compare as sets. */
static void check_peer(const WgPeer *want, const WgPeer *have, unsigned i) {
        CHECK(have, "peer %u missing", i);
        if (want->flags & WGPEER_HAS_PRESHARED_KEY)
                CHECK(memcmp(want->preshared_key, have->preshared_key, WG_KEY_LEN) == 0, "peer %u: psk differs", i);
        else
                CHECK(wg_key_is_zero(have->preshared_key), "peer %u: unexpected psk", i);
        CHECK(want->persistent_keepalive == have->persistent_keepalive, "peer %u: keepalive %u != %u", i,
              have->persistent_keepalive, want->persistent_keepalive);
        if (want->flags & WGPEER_HAS_ENDPOINT)
                CHECK(have->endpoint.in.sin_family == AF_INET &&
                      have->endpoint.in.sin_addr.s_addr == want->endpoint.in.sin_addr.s_addr &&
                      have->endpoint.in.sin_port == want->endpoint.in.sin_port, "peer %u: endpoint differs", i);
        else
                CHECK(!(have->flags & WGPEER_HAS_ENDPOINT), "peer %u: unexpected endpoint", i);
        CHECK(want->n_allowed_ips == have->n_allowed_ips, "peer %u: %zu allowed IPs, want %zu", i,
              have->n_allowed_ips, want->n_allowed_ips);
        IpPrefix *w = malloc(want->n_allowed_ips * sizeof(IpPrefix) + 1), *h = malloc(have->n_allowed_ips * sizeof(IpPrefix) + 1);
        CHECK(w && h, "out of memory");
        memcpy(w, want->allowed_ips, want->n_allowed_ips * sizeof(IpPrefix));
        memcpy(h, have->allowed_ips, have->n_allowed_ips * sizeof(IpPrefix));
        qsort(w, want->n_allowed_ips, sizeof(IpPrefix), cmp_prefix);
        qsort(h, have->n_allowed_ips, sizeof(IpPrefix), cmp_prefix);
        for (size_t j = 0; j < want->n_allowed_ips; j++)
                CHECK(ip_prefix_equal(&w[j], &h[j]), "peer %u: allowed IP %zu differs", i, j);
        free(w);
        free(h);
}

/* The peers of have, indexed by the number peer_key() made them from. */
static void check_device(const WgDevice *want, const WgDevice *have) {
        CHECK(have->n_peers == want->n_peers, "%zu peers, want %zu", have->n_peers, want->n_peers);
        CHECK(have->listen_port == want->listen_port, "listen port %u", have->listen_port);
        CHECK(memcmp(have->private_key, want->private_key, WG_KEY_LEN) == 0, "private key differs");
        const WgPeer **by_index = calloc(want->n_peers + 1, sizeof(WgPeer *));
        CHECK(by_index, "out of memory");
        for (size_t k = 0; k < have->n_peers; k++) {
                uint32_t i = 0;
                for (size_t j = 0; j < 4; j++)
                        i |= (uint32_t) (have->peers[k].public_key[j] ^ (uint8_t) (0x5a + j)) << (8 * j);
                CHECK(i < want->n_peers, "unknown peer in the dump");
                CHECK(!by_index[i], "peer %u twice in the dump", i);
                by_index[i] = &have->peers[k];
        }
        for (size_t i = 0; i < want->n_peers; i++)
                check_peer(&want->peers[i], by_index[i], (unsigned) i);
        free(by_index);
}

static WgDevice *get(void) {
        WgDevice *d = NULL;
        CHECK_OK(wg_backend_get_device(backend, IFNAME, &d));
        return d;
}

static int churn(const char *ifname, unsigned count) {
        _cleanup_(wg_device_freep) WgDevice *before = NULL, *after = NULL;
        int r = wg_backend_new(WG_BACKEND_KERNEL, NULL, &backend);
        if (r == -EPROTONOSUPPORT) {
                printf("SKIP: no WireGuard in this kernel\n");
                return 77;
        }
        CHECK_OK(r);
        CHECK_OK(wg_backend_get_device(backend, ifname, &before));
        double t = now_ms();
        for (unsigned k = 0; k < count; k++) {
                _cleanup_(wg_device_freep) WgDevice *one = NULL;
                uint8_t key[WG_KEY_LEN];
                CHECK_OK(wg_device_new(ifname, &one));
                /* Add peer k; remove peer k-1 (so one extra peer at a time, then none). */
                peer_key(key, 0x70000000u + k);
                WgPeer *p = wg_device_add_peer(one, key);
                CHECK(p, "out of memory");
                p->flags = WGPEER_REPLACE_ALLOWEDIPS;
                IpPrefix a = peer_v4(0x00630000u + k);   /* 10.99.x.y: not the tunnel's */
                CHECK_OK(wg_peer_add_allowed_ip(p, &a));
                if (k > 0) {
                        peer_key(key, 0x70000000u + k - 1);
                        p = wg_device_add_peer(one, key);
                        CHECK(p, "out of memory");
                        p->flags = WGPEER_REMOVE_ME;
                }
                CHECK_OK(wg_backend_set_device(backend, one));
        }
        {
                _cleanup_(wg_device_freep) WgDevice *last = NULL;
                uint8_t key[WG_KEY_LEN];
                CHECK_OK(wg_device_new(ifname, &last));
                peer_key(key, 0x70000000u + count - 1);
                WgPeer *p = wg_device_add_peer(last, key);
                CHECK(p, "out of memory");
                p->flags = WGPEER_REMOVE_ME;
                CHECK_OK(wg_backend_set_device(backend, last));
        }
        printf("time churn %u single-peer changes: %.1f ms\n", 2 * count, now_ms() - t);
        CHECK_OK(wg_backend_get_device(backend, ifname, &after));
        CHECK(after->n_peers == before->n_peers, "%zu peers after churn, %zu before", after->n_peers, before->n_peers);
        for (size_t i = 0; i < before->n_peers; i++) {
                const WgPeer *b = &before->peers[i];
                const WgPeer *a = wg_device_find_peer(after, b->public_key);
                CHECK(a, "peer %zu gone after churn", i);
                CHECK(a->n_allowed_ips == b->n_allowed_ips, "peer %zu: allowed IPs changed", i);
                for (size_t j = 0; j < b->n_allowed_ips; j++)
                        CHECK(ip_prefix_equal(&a->allowed_ips[j], &b->allowed_ips[j]), "peer %zu: allowed IP %zu changed", i, j);
                CHECK(memcmp(a->preshared_key, b->preshared_key, WG_KEY_LEN) == 0, "peer %zu: psk changed", i);
                CHECK(a->persistent_keepalive == b->persistent_keepalive, "peer %zu: keepalive changed", i);
        }
        printf("  %u peers added and removed one at a time; the %zu other peers unchanged\n", count, before->n_peers);
        backend = wg_backend_free(backend);
        return 0;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static int bench(const char *ifname, unsigned n, const char *conf) {
        _cleanup_(wg_device_freep) WgDevice *want = NULL;
        char k[WG_KEY_B64_SIZE], ep[WG_ENDPOINT_STRLEN], ip[IP_PREFIX_STRLEN];
        double t, times[5];
        int r = wg_backend_new(WG_BACKEND_KERNEL, NULL, &backend);
        if (r == -EPROTONOSUPPORT) {
                printf("SKIP: no WireGuard in this kernel\n");
                return 77;
        }
        CHECK_OK(r);
        want = make_request(n);
        strcpy(want->name, ifname);

        FILE *f = fopen(conf, "we");
        CHECK(f, "%s: %s", conf, strerror(errno));
        wg_key_to_base64(k, want->private_key);
        fprintf(f, "[Interface]\nPrivateKey = %s\nListenPort = %u\n", k, want->listen_port);
        for (size_t i = 0; i < want->n_peers; i++) {
                const WgPeer *p = &want->peers[i];
                wg_key_to_base64(k, p->public_key);
                fprintf(f, "\n[Peer]\nPublicKey = %s\n", k);
                if (p->flags & WGPEER_HAS_PRESHARED_KEY) {
                        wg_key_to_base64(k, p->preshared_key);
                        fprintf(f, "PresharedKey = %s\n", k);
                }
                if (p->flags & WGPEER_HAS_ENDPOINT)
                        fprintf(f, "Endpoint = %s\n", wg_endpoint_to_string(&p->endpoint, ep));
                fprintf(f, "PersistentKeepalive = %u\nAllowedIPs = ", p->persistent_keepalive);
                for (size_t j = 0; j < p->n_allowed_ips; j++)
                        fprintf(f, "%s%s", j ? ", " : "", ip_prefix_to_string(&p->allowed_ips[j], ip));
                fputc('\n', f);
        }
        CHECK(fclose(f) == 0, "%s: %s", conf, strerror(errno));

        CHECK_OK(wg_backend_create(backend, ifname));
        t = now_ms();
        CHECK_OK(wg_backend_set_device(backend, want));
        printf("ours set %u peers ms %.3f\n", n, now_ms() - t);
        for (int i = 0; i < 5; i++) {
                WgDevice *d = NULL;
                t = now_ms();
                CHECK_OK(wg_backend_get_device(backend, ifname, &d));
                times[i] = now_ms() - t;
                CHECK(d->n_peers == n, "get: %zu peers", d->n_peers);
                wg_device_free(d);
        }
        qsort(times, 5, sizeof(double), cmp_double);
        printf("ours get %u peers ms %.3f\n", n, times[2]);
        t = now_ms();
        for (unsigned j = 0; j < 200; j++) {
                _cleanup_(wg_device_freep) WgDevice *d = NULL;
                CHECK_OK(wg_device_new(ifname, &d));
                WgPeer *p = wg_device_add_peer(d, want->peers[(j * 7919) % n].public_key);
                CHECK(p, "out of memory");
                p->flags = WGPEER_UPDATE_ONLY | WGPEER_HAS_PERSISTENT_KEEPALIVE;
                p->persistent_keepalive = (uint16_t) (10 + j % 50);
                CHECK_OK(wg_backend_set_device(backend, d));
        }
        printf("ours one-peer set ms %.3f\n", (now_ms() - t) / 200);
        backend = wg_backend_free(backend);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 5 && streq(argv[1], "bench"))
                return bench(argv[2], (unsigned) strtoul(argv[3], NULL, 10), argv[4]);
        if (argc == 4 && streq(argv[1], "churn"))
                return churn(argv[2], (unsigned) strtoul(argv[3], NULL, 10));

        unsigned n = argc > 1 ? (unsigned) strtoul(argv[1], NULL, 10) : 10000;
        _cleanup_(wg_device_freep) WgDevice *want = NULL, *have = NULL;
        double t;
        int r;

        CHECK(n >= 10 && n < 1000000, "bad peer count");
        r = wg_backend_new(WG_BACKEND_KERNEL, NULL, &backend);
        if (r == -EPROTONOSUPPORT) {
                printf("SKIP: no WireGuard in this kernel\n");
                return 77;
        }
        CHECK_OK(r);
        CHECK(wg_backend_type(backend) == WG_BACKEND_KERNEL, "not the kernel backend");
        if (wg_backend_exists(backend, IFNAME))
                CHECK_OK(wg_backend_delete(backend, IFNAME));
        CHECK_OK(wg_backend_create(backend, IFNAME));
        created = true;
        /* The link stays down: up, the kernel would start handshakes with every peer that
         * has an endpoint and a keepalive, and time those instead of the configuration. */

        /* 1. N peers in one request. */
        want = make_request(n);
        t = now_ms();
        CHECK_OK(wg_backend_set_device(backend, want));
        printf("time set %u peers: %.1f ms\n", n, now_ms() - t);
        t = now_ms();
        have = get();
        printf("time get %u peers: %.1f ms\n", n, now_ms() - t);
        check_device(want, have);
        printf("  %u peers set and read back\n", n);
        have = wg_device_free(have);

        /* 2. One peer, 5000 allowed IPs, no REPLACE_PEERS. */
        {
                _cleanup_(wg_device_freep) WgDevice *one = NULL;
                CHECK_OK(wg_device_new(IFNAME, &one));
                WgPeer *p = wg_device_add_peer(one, want->peers[7].public_key);
                CHECK(p, "out of memory");
                p->flags = WGPEER_REPLACE_ALLOWEDIPS | WGPEER_UPDATE_ONLY;
                WgPeer *w = &want->peers[7];
                w->n_allowed_ips = 0;
                for (uint32_t j = 0; j < BIG_PEER_IPS; j++) {
                        IpPrefix a = { .family = AF_INET6, .prefixlen = 128 };
                        a.addr.bytes[0] = 0xfd;
                        a.addr.bytes[1] = 0x77;
                        memcpy(&a.addr.bytes[12], &(uint32_t) { htonl(j) }, 4);
                        CHECK_OK(wg_peer_add_allowed_ip(p, &a));
                        CHECK_OK(wg_peer_add_allowed_ip(w, &a));
                }
                t = now_ms();
                CHECK_OK(wg_backend_set_device(backend, one));
                printf("time set 1 peer with %u allowed IPs: %.1f ms\n", BIG_PEER_IPS, now_ms() - t);
        }
        have = get();
        check_device(want, have);
        printf("  one peer with %u allowed IPs, %u others unchanged\n", BIG_PEER_IPS, n - 1);
        have = wg_device_free(have);

        /* 3. Dumps racing with changes. */
        {
                pid_t pid = fork();
                CHECK(pid >= 0, "fork: %s", strerror(errno));
                if (pid == 0) {
                        /* A fresh socket: the parent's is not ours to share. */
                        WgBackend *b = NULL;
                        WgDevice *one = NULL;
                        r = wg_backend_new(WG_BACKEND_KERNEL, NULL, &b);
                        if (r < 0 || wg_device_new(IFNAME, &one) < 0) {
                                fprintf(stderr, "child: backend: %s\n", strerror(-r));
                                _exit(1);
                        }
                        WgPeer *p = wg_device_add_peer(one, want->peers[1].public_key);
                        if (!p)
                                _exit(1);
                        p->flags = WGPEER_UPDATE_ONLY | WGPEER_HAS_PERSISTENT_KEEPALIVE;
                        /* A few changes, spaced about as long as a dump takes: each may
                         * interrupt a dump; the backend restarts it. */
                        for (unsigned k = 0; k < 4; k++) {
                                p->persistent_keepalive = want->peers[1].persistent_keepalive + (k % 2);
                                r = wg_backend_set_device(b, one);
                                if (r < 0) {
                                        fprintf(stderr, "child: set: %s\n", strerror(-r));
                                        _exit(1);
                                }
                                usleep(150000);
                        }
                        _exit(0);
                }
                child = pid;
                unsigned ok = 0;
                int st = 0;
                for (bool running = true; running;) {
                        running = waitpid(pid, &st, WNOHANG) == 0;
                        WgDevice *d = NULL;
                        CHECK_OK(wg_backend_get_device(backend, IFNAME, &d));
                        CHECK(d->n_peers == n, "racing dump: %zu peers", d->n_peers);
                        size_t ips = 0;
                        for (size_t i = 0; i < d->n_peers; i++)
                                ips += d->peers[i].n_allowed_ips;
                        CHECK(ips == 2 * (size_t) n - 2 + BIG_PEER_IPS, "racing dump: %zu allowed IPs", ips);
                        wg_device_free(d);
                        ok++;
                }
                child = 0;
                CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the changing process failed");
                printf("  %u whole dumps while the device changed\n", ok);
        }

        /* 4. Replace with nothing, delete; errors. On a small device: the kernel takes
         * one RCU grace period per removed peer, minutes for 10k peers under TCG. */
        {
                _cleanup_(wg_device_freep) WgDevice *small = make_request(10), *none = NULL;
                strcpy(small->name, SMALL_IFNAME);
                CHECK_OK(wg_backend_create(backend, SMALL_IFNAME));
                CHECK_OK(wg_backend_set_device(backend, small));
                CHECK_OK(wg_device_new(SMALL_IFNAME, &none));
                none->flags = WGDEVICE_REPLACE_PEERS;
                CHECK_OK(wg_backend_set_device(backend, none));
                WgDevice *d = NULL;
                CHECK_OK(wg_backend_get_device(backend, SMALL_IFNAME, &d));
                CHECK(d->n_peers == 0, "%zu peers left after replacing with none", d->n_peers);
                wg_device_free(d);
                CHECK_OK(wg_backend_delete(backend, SMALL_IFNAME));
                CHECK(!wg_backend_exists(backend, SMALL_IFNAME), "still exists after delete");
                CHECK(wg_backend_delete(backend, SMALL_IFNAME) == -ENODEV, "second delete");
        }
        {
                WgDevice *d = NULL;
                CHECK(wg_backend_get_device(backend, "wgmissing0", &d) == -ENODEV, "get of a missing device");
                CHECK(wg_backend_get_device(backend, "lo", &d) == -ENODEV, "get of lo");
                _cleanup_(wg_device_freep) WgDevice *m = NULL;
                CHECK_OK(wg_device_new("wgmissing0", &m));
                CHECK(wg_backend_set_device(backend, m) == -ENODEV, "set of a missing device");
                CHECK(wg_backend_delete(backend, "lo") == -ENODEV, "delete of lo");
                CHECK(!wg_backend_exists(backend, "lo"), "lo is not WireGuard");
                printf("  replace-with-none, delete, and -ENODEV cases ok\n");
        }

        if (n <= 1000 || getenv("TEST_BACKEND_KERNEL_CLEANUP")) {
                CHECK_OK(wg_backend_delete(backend, IFNAME));
                CHECK(!wg_backend_exists(backend, IFNAME), "still exists after delete");
        } else
                printf("  %s left with its %u peers (the VM is thrown away; set TEST_BACKEND_KERNEL_CLEANUP=1 to delete)\n", IFNAME, n);
        created = false;
        backend = wg_backend_free(backend);
        printf("ok\n");
        return 0;
}
