/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The backend against wireguard-tools on the same device in the same run:
 *
 *   bench-backend IFNAME [N_PEERS=10000] [TYPE=userspace]
 *
 * Creates IFNAME and times (median of REPEAT runs):
 *   set of N peers (replace_peers)   vs  wg setconf IFNAME FILE (the same configuration)
 *   get with N peers                 vs  wg show IFNAME dump >/dev/null
 *   one-peer set (update one peer)   vs  wg set IFNAME peer KEY persistent-keepalive K
 * and prints the ratios (ours / wg: below 1 means faster). Run it as root in a scratch
 * network namespace: bench/run-backend.sh does. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "keys.h"
#include "macro.h"

#define REPEAT 5
#define ONE_PEER_OPS 200
#define ONE_PEER_OPS_WG 50

static const char *ifname;
static WgBackend *backend;

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
        qsort(v, n, sizeof(double), cmp_double);
        return v[n / 2];
}

static void check(int r, const char *what) {
        if (r < 0) {
                fprintf(stderr, "bench-backend: %s: %s\n", what, strerror(-r));
                if (backend)
                        (void) wg_backend_delete(backend, ifname);
                exit(1);
        }
}

static void run(const char *cmd) {
        if (system(cmd) != 0) {
                fprintf(stderr, "bench-backend: '%s' failed\n", cmd);
                (void) wg_backend_delete(backend, ifname);
                exit(1);
        }
}

/* The device of N peers, as a WgDevice and as a wg(8) configuration file. */
static WgDevice *make_config(unsigned n, const char *path) {
        WgDevice *d = NULL;
        char k[WG_KEY_B64_SIZE], ep[WG_ENDPOINT_STRLEN];
        uint8_t priv[WG_KEY_LEN];

        check(wg_device_new(ifname, &d), "device");
        d->flags = WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_REPLACE_PEERS;
        check(wg_key_generate_private(d->private_key), "key");
        d->listen_port = 51999;

        FILE *f = fopen(path, "we");
        if (!f) {
                check(-errno, path);
        }
        wg_key_to_base64(k, d->private_key);
        fprintf(f, "[Interface]\nPrivateKey = %s\nListenPort = %u\n", k, d->listen_port);
        for (unsigned i = 0; i < n; i++) {
                uint8_t pub[WG_KEY_LEN];
                check(wg_key_generate_private(priv), "key");
                check(wg_key_public_from_private(pub, priv), "key");
                WgPeer *p = wg_device_add_peer(d, pub);
                if (!p)
                        check(-ENOMEM, "peer");
                p->flags = WGPEER_HAS_PRESHARED_KEY | WGPEER_HAS_ENDPOINT | WGPEER_HAS_PERSISTENT_KEEPALIVE |
                           WGPEER_REPLACE_ALLOWEDIPS;
                check(wg_key_generate_preshared(p->preshared_key), "psk");
                p->endpoint.in.sin_family = AF_INET;
                p->endpoint.in.sin_addr.s_addr = htonl(0xc6120000u + i + 1);  /* 198.18.0.0/15 */
                p->endpoint.in.sin_port = htons((uint16_t) (20000 + i % 40000));
                p->persistent_keepalive = 25;
                IpPrefix a = { .family = AF_INET, .prefixlen = 32 };
                a.addr.in.s_addr = htonl(0x0a400000u + i + 2);                 /* 10.64.0.0/10 */
                check(wg_peer_add_allowed_ip(p, &a), "allowed ip");
                IpPrefix b = { .family = AF_INET6, .prefixlen = 128 };
                b.addr.bytes[0] = 0xfd;
                b.addr.bytes[1] = 0x64;
                b.addr.bytes[13] = (uint8_t) ((i + 2) >> 16);
                b.addr.bytes[14] = (uint8_t) ((i + 2) >> 8);
                b.addr.bytes[15] = (uint8_t) (i + 2);
                check(wg_peer_add_allowed_ip(p, &b), "allowed ip");

                char s1[IP_PREFIX_STRLEN], s2[IP_PREFIX_STRLEN];
                wg_key_to_base64(k, pub);
                fprintf(f, "\n[Peer]\nPublicKey = %s\n", k);
                wg_key_to_base64(k, p->preshared_key);
                fprintf(f, "PresharedKey = %s\nEndpoint = %s\nPersistentKeepalive = 25\nAllowedIPs = %s, %s\n", k,
                        wg_endpoint_to_string(&p->endpoint, ep), ip_prefix_to_string(&a, s1),
                        ip_prefix_to_string(&b, s2));
        }
        wg_wipe(priv, sizeof(priv));
        if (fclose(f) != 0)
                check(-errno, path);
        return d;
}

static void clear_peers(void) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        check(wg_device_new(ifname, &d), "device");
        d->flags = WGDEVICE_REPLACE_PEERS;
        check(wg_backend_set_device(backend, d), "clear peers");
}

static void verify_count(size_t want) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        check(wg_backend_get_device(backend, ifname, &d), "get");
        if (d->n_peers != want) {
                fprintf(stderr, "bench-backend: %zu peers on the device, %zu expected\n", d->n_peers, want);
                exit(1);
        }
}

static void line(const char *what, double ours, const char *base_name, double base, const char *unit, double scale) {
        printf("%-22s ours %9.3f %s   %-22s %9.3f %s   ratio %.2f  (%.1fx %s)\n", what, ours * scale, unit,
               base_name, base * scale, unit, ours / base, ours < base ? base / ours : ours / base,
               ours < base ? "faster" : "slower");
}

int main(int argc, char **argv) {
        _cleanup_(wg_device_freep) WgDevice *cfg = NULL;
        char dir[] = "/tmp/bench-backend.XXXXXX", path[128], cmd[512];
        double t_ours[REPEAT], t_wg[REPEAT];
        unsigned n = 10000;
        int type = WG_BACKEND_USERSPACE;

        if (argc < 2 || argc > 4) {
                fprintf(stderr, "usage: %s IFNAME [N_PEERS] [TYPE]\n", argv[0]);
                return 2;
        }
        ifname = argv[1];
        if (argc > 2)
                n = (unsigned) strtoul(argv[2], NULL, 10);
        if (argc > 3)
                type = wg_backend_type_from_string(argv[3]);
        if (n == 0 || n > 100000 || type < 0) {
                fprintf(stderr, "bad arguments\n");
                return 2;
        }
        check(wg_crypto_init(), "crypto");
        check(wg_backend_new((WgBackendType) type, NULL, &backend), "backend");
        check(wg_backend_create(backend, ifname), "create");
        if (!mkdtemp(dir))
                check(-errno, "mkdtemp");
        snprintf(path, sizeof(path), "%s/wg.conf", dir);
        cfg = make_config(n, path);
        printf("backend %s, %s, %u peers (2 allowed IPs, PSK, endpoint, keepalive each), median of %d\n",
               wg_backend_type_to_string(wg_backend_type(backend)), ifname, n, REPEAT);

        /* set of N peers: from an empty device each time */
        for (int i = 0; i < REPEAT; i++) {
                /* alternate which goes first */
                for (int w = 0; w < 2; w++) {
                        bool ours = (w + i) % 2 == 0;
                        clear_peers();
                        double t0 = now();
                        if (ours)
                                check(wg_backend_set_device(backend, cfg), "set");
                        else {
                                snprintf(cmd, sizeof(cmd), "wg setconf '%s' '%s'", ifname, path);
                                run(cmd);
                        }
                        (ours ? t_ours : t_wg)[i] = now() - t0;
                        verify_count(n);
                }
        }
        line("set N peers", median(t_ours, REPEAT), "wg setconf", median(t_wg, REPEAT), "s", 1);

        /* get with N peers */
        for (int i = 0; i < REPEAT; i++) {
                WgDevice *d = NULL;
                double t0 = now();
                check(wg_backend_get_device(backend, ifname, &d), "get");
                t_ours[i] = now() - t0;
                wg_device_free(d);

                snprintf(cmd, sizeof(cmd), "wg show '%s' dump >/dev/null", ifname);
                t0 = now();
                run(cmd);
                t_wg[i] = now() - t0;
        }
        line("get N peers", median(t_ours, REPEAT), "wg show dump", median(t_wg, REPEAT), "ms", 1e3);

        /* one-peer set on the full device */
        for (int i = 0; i < REPEAT; i++) {
                double t0 = now();
                for (unsigned j = 0; j < ONE_PEER_OPS; j++) {
                        _cleanup_(wg_device_freep) WgDevice *d = NULL;
                        check(wg_device_new(ifname, &d), "device");
                        WgPeer *p = wg_device_add_peer(d, cfg->peers[(j * 7919) % n].public_key);
                        if (!p)
                                check(-ENOMEM, "peer");
                        p->flags = WGPEER_UPDATE_ONLY | WGPEER_HAS_PERSISTENT_KEEPALIVE;
                        p->persistent_keepalive = (uint16_t) (10 + j % 50);
                        check(wg_backend_set_device(backend, d), "set one");
                }
                t_ours[i] = (now() - t0) / ONE_PEER_OPS;

                t0 = now();
                for (unsigned j = 0; j < ONE_PEER_OPS_WG; j++) {
                        char k[WG_KEY_B64_SIZE];
                        wg_key_to_base64(k, cfg->peers[(j * 7919) % n].public_key);
                        snprintf(cmd, sizeof(cmd), "wg set '%s' peer '%s' persistent-keepalive %u", ifname, k,
                                 10 + j % 50);
                        run(cmd);
                }
                t_wg[i] = (now() - t0) / ONE_PEER_OPS_WG;
        }
        line("one-peer set", median(t_ours, REPEAT), "wg set (per peer)", median(t_wg, REPEAT), "ms", 1e3);
        verify_count(n);

        unlink(path);
        rmdir(dir);
        check(wg_backend_delete(backend, ifname), "delete");
        backend = wg_backend_free(backend);
        return 0;
}
