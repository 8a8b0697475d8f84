/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Backend check against a real device, run by the rigs (a netns for userspace, the VM for
 * the kernel):
 *
 *   test-backend IFNAME auto|kernel|userspace [N_PEERS]
 *
 * Creates IFNAME, sets N_PEERS (1000) peers with allowed IPs, PSKs, endpoints and
 * keepalives in one set, compares get_device with the set request and with
 * `wg show IFNAME dump` field by field, then updates, adds and removes single peers (no
 * replace_peers) and checks that every other peer stayed as it was. Deletes IFNAME.
 * Exit 0 on success, 1 on failure, 77 if it cannot run here. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "keys.h"
#include "macro.h"
#include "wgdevice.h"

static const char *ifname;
static WgBackend *backend;
static bool created;

_printf_(1, 2) __attribute__((noreturn)) static void die(const char *fmt, ...) {
        va_list ap;
        fputs("FAIL: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        if (created)
                (void) wg_backend_delete(backend, ifname);
        exit(1);
}

#define CHECK(expr, ...)                          \
        do {                                      \
                if (!(expr))                      \
                        die(__VA_ARGS__);         \
        } while (0)

#define CHECK_OK(expr)                                                                  \
        do {                                                                            \
                int _r = (expr);                                                        \
                if (_r < 0)                                                             \
                        die("%s:%d: %s: %s", __FILE__, __LINE__, #expr, strerror(-_r));  \
        } while (0)

static void make_peer(WgDevice *d, unsigned i) {
        uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
        IpPrefix a = { 0 };

        CHECK_OK(wg_key_generate_private(priv));
        CHECK_OK(wg_key_public_from_private(pub, priv));
        WgPeer *p = wg_device_add_peer(d, pub);
        CHECK(p, "out of memory");
        p->flags |= WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PERSISTENT_KEEPALIVE;
        if (i % 2 == 0) {
                CHECK_OK(wg_key_generate_preshared(p->preshared_key));
                p->flags |= WGPEER_HAS_PRESHARED_KEY;
        }
        p->persistent_keepalive = i % 3 == 0 ? 0 : (uint16_t) (1 + i % 600);
        switch (i % 3) {
        case 0:
                p->flags |= WGPEER_HAS_ENDPOINT;
                p->endpoint.in.sin_family = AF_INET;
                p->endpoint.in.sin_addr.s_addr = htonl(0xc6336400u + (i % 250) + 1); /* 198.51.100.x */
                p->endpoint.in.sin_port = htons((uint16_t) (10000 + i));
                break;
        case 1: {
                char s[64];
                snprintf(s, sizeof(s), "[2001:db8::%x:%x]:%u", i >> 8, i & 0xff, 20000 + i);
                p->flags |= WGPEER_HAS_ENDPOINT;
                CHECK_OK(wg_endpoint_parse(s, &p->endpoint));
                break;
        }
        default:
                break;
        }
        a.family = AF_INET;
        a.prefixlen = 32;
        a.addr.in.s_addr = htonl(0x0a000000u + i + 2);                           /* 10.0.x.y */
        CHECK_OK(wg_peer_add_allowed_ip(p, &a));
        memset(&a, 0, sizeof(a));
        a.family = AF_INET6;
        a.prefixlen = 128;
        a.addr.in6.s6_addr[0] = 0xfd;
        a.addr.in6.s6_addr[14] = (uint8_t) ((i + 2) >> 8);
        a.addr.in6.s6_addr[15] = (uint8_t) (i + 2);
        CHECK_OK(wg_peer_add_allowed_ip(p, &a));
        if (i % 10 == 0) {
                memset(&a, 0, sizeof(a));
                a.family = AF_INET;
                a.prefixlen = 24;
                a.addr.in.s_addr = htonl(0xac100000u + (i << 8));                /* 172.16.x.0/24 */
                CHECK_OK(wg_peer_add_allowed_ip(p, &a));
        }
        wg_wipe(priv, sizeof(priv));
}

static int prefix_cmp(const void *a, const void *b) {
        return ip_prefix_compare(a, b);
}

/* Same configuration (not counters): what was set against what was read. */
static const char *peer_config_diff(const WgPeer *want, const WgPeer *have) {
        static const uint8_t zero[WG_KEY_LEN];
        const uint8_t *wpsk = want->flags & WGPEER_HAS_PRESHARED_KEY ? want->preshared_key : zero;
        IpPrefix a[64], b[64];

        if (!wg_key_equal(wpsk, have->preshared_key))
                return "preshared key";
        if (want->persistent_keepalive != have->persistent_keepalive)
                return "persistent keepalive";
        if (want->endpoint.sa.sa_family != have->endpoint.sa.sa_family)
                return "endpoint family";
        char e1[WG_ENDPOINT_STRLEN], e2[WG_ENDPOINT_STRLEN];
        if (!streq(wg_endpoint_to_string(&want->endpoint, e1), wg_endpoint_to_string(&have->endpoint, e2)))
                return "endpoint";
        if (want->n_allowed_ips != have->n_allowed_ips || want->n_allowed_ips > 64)
                return "number of allowed IPs";
        memcpy(a, want->allowed_ips, want->n_allowed_ips * sizeof(IpPrefix));
        memcpy(b, have->allowed_ips, have->n_allowed_ips * sizeof(IpPrefix));
        qsort(a, want->n_allowed_ips, sizeof(IpPrefix), prefix_cmp);
        qsort(b, have->n_allowed_ips, sizeof(IpPrefix), prefix_cmp);
        for (size_t i = 0; i < want->n_allowed_ips; i++)
                if (!ip_prefix_equal(&a[i], &b[i]))
                        return "allowed IPs";
        return NULL;
}

static void check_device_config(const WgDevice *want, const WgDevice *have) {
        CHECK(have->n_peers == want->n_peers, "%zu peers on the device, %zu expected", have->n_peers, want->n_peers);
        for (size_t i = 0; i < want->n_peers; i++) {
                const WgPeer *w = &want->peers[i];
                const WgPeer *h = wg_device_find_peer(have, w->public_key);
                char k[WG_KEY_B64_SIZE];
                wg_key_to_base64(k, w->public_key);
                CHECK(h, "peer %s missing", k);
                const char *why = peer_config_diff(w, h);
                CHECK(!why, "peer %s: %s differs", k, why);
        }
}

/* Split a line at tabs, in place. */
static size_t split_tabs(char *line, char **f, size_t max) {
        size_t n = 0;
        line[strcspn(line, "\n")] = 0;
        for (char *s = line; n < max;) {
                f[n++] = s;
                char *t = strchr(s, '\t');
                if (!t)
                        break;
                *t = 0;
                s = t + 1;
        }
        return n;
}

/* Field by field against `wg show IF dump`. */
static void check_against_wg_dump(const WgDevice *d) {
        char cmd[128], *line = NULL, *f[16];
        size_t cap = 0, n_peers = 0;
        char k[WG_KEY_B64_SIZE], buf[256];

        snprintf(cmd, sizeof(cmd), "wg show '%s' dump", d->name);
        FILE *p = popen(cmd, "re");
        CHECK(p, "popen(%s): %s", cmd, strerror(errno));

        CHECK(getline(&line, &cap, p) > 0, "wg show dump: no output");
        CHECK(split_tabs(line, f, 16) == 4, "wg show dump: bad interface line");
        wg_key_to_base64(k, d->private_key);
        CHECK(streq(f[0], k), "dump: private key differs");
        wg_key_to_base64(k, d->public_key);
        CHECK(streq(f[1], k), "dump: public key differs");
        snprintf(buf, sizeof(buf), "%u", d->listen_port);
        CHECK(streq(f[2], buf), "dump: listen port %s, ours %s", f[2], buf);
        if (d->fwmark)
                snprintf(buf, sizeof(buf), "0x%" PRIx32, d->fwmark);
        else
                snprintf(buf, sizeof(buf), "off");
        CHECK(streq(f[3], buf), "dump: fwmark %s, ours %s", f[3], buf);

        while (getline(&line, &cap, p) > 0) {
                uint8_t key[WG_KEY_LEN];
                CHECK(split_tabs(line, f, 16) == 8, "dump: bad peer line");
                CHECK(wg_key_from_base64(key, f[0]) >= 0, "dump: bad key %s", f[0]);
                const WgPeer *wp = wg_device_find_peer(d, key);
                CHECK(wp, "dump: peer %s not in get_device", f[0]);
                n_peers++;

                if (wg_key_is_zero(wp->preshared_key))
                        snprintf(k, sizeof(k), "(none)");
                else
                        wg_key_to_base64(k, wp->preshared_key);
                CHECK(streq(f[1], k), "dump: peer %s: preshared key differs", f[0]);

                char ep[WG_ENDPOINT_STRLEN];
                wg_endpoint_to_string(&wp->endpoint, ep);
                CHECK(streq(f[2], isempty(ep) ? "(none)" : ep), "dump: peer %s: endpoint %s, ours '%s'", f[0], f[2], ep);

                char ips[4096] = "";
                size_t o = 0;
                for (size_t j = 0; j < wp->n_allowed_ips; j++) {
                        char s[IP_PREFIX_STRLEN];
                        o += (size_t) snprintf(ips + o, sizeof(ips) - o, "%s%s", j ? "," : "",
                                               ip_prefix_to_string(&wp->allowed_ips[j], s));
                        CHECK(o < sizeof(ips), "too many allowed IPs");
                }
                CHECK(streq(f[3], o ? ips : "(none)"), "dump: peer %s: allowed IPs %s, ours %s", f[0], f[3], ips);

                snprintf(buf, sizeof(buf), "%" PRIu64, wp->last_handshake_usec / 1000000);
                CHECK(streq(f[4], buf), "dump: peer %s: handshake %s, ours %s", f[0], f[4], buf);
                /* counters may move between the two reads only with traffic: none here */
                snprintf(buf, sizeof(buf), "%" PRIu64, wp->rx_bytes);
                CHECK(streq(f[5], buf), "dump: peer %s: rx %s, ours %s", f[0], f[5], buf);
                snprintf(buf, sizeof(buf), "%" PRIu64, wp->tx_bytes);
                CHECK(streq(f[6], buf), "dump: peer %s: tx %s, ours %s", f[0], f[6], buf);
                if (wp->persistent_keepalive)
                        snprintf(buf, sizeof(buf), "%u", wp->persistent_keepalive);
                else
                        snprintf(buf, sizeof(buf), "off");
                CHECK(streq(f[7], buf), "dump: peer %s: keepalive %s, ours %s", f[0], f[7], buf);
        }
        free(line);
        int st = pclose(p);
        CHECK(st == 0, "wg show dump failed (%d)", st);
        CHECK(n_peers == d->n_peers, "dump: %zu peers, get_device %zu", n_peers, d->n_peers);
        printf("  wg show dump agrees on the device and %zu peers\n", n_peers);
}

/* Copy a peer's configuration into a fresh entry of d. */
static WgPeer *copy_peer(WgDevice *d, const WgPeer *src) {
        WgPeer *p = wg_device_add_peer(d, src->public_key);
        CHECK(p, "out of memory");
        p->flags = src->flags | WGPEER_HAS_PRESHARED_KEY;
        memcpy(p->preshared_key, src->preshared_key, WG_KEY_LEN);
        p->endpoint = src->endpoint;
        p->persistent_keepalive = src->persistent_keepalive;
        for (size_t j = 0; j < src->n_allowed_ips; j++)
                CHECK_OK(wg_peer_add_allowed_ip(p, &src->allowed_ips[j]));
        return p;
}

int main(int argc, char **argv) {
        _cleanup_(wg_device_freep) WgDevice *want = NULL, *have = NULL, *req = NULL, *expect = NULL;
        unsigned n = 1000;
        int type;

        if (argc < 3 || argc > 4) {
                fprintf(stderr, "usage: %s IFNAME auto|kernel|userspace [N_PEERS]\n", argv[0]);
                return 2;
        }
        ifname = argv[1];
        type = wg_backend_type_from_string(argv[2]);
        if (type < 0) {
                fprintf(stderr, "unknown backend type '%s'\n", argv[2]);
                return 2;
        }
        if (argc == 4)
                n = (unsigned) strtoul(argv[3], NULL, 10);
        if (n < 4 || n > 60000) {
                fprintf(stderr, "N_PEERS must be 4..60000\n");
                return 2;
        }
        if (geteuid() != 0) {
                printf("skip: needs root\n");
                return 77;
        }
        CHECK_OK(wg_crypto_init());
        int r = wg_backend_new((WgBackendType) type, NULL, &backend);
        if (r == -EPROTONOSUPPORT) {
                printf("skip: backend %s not available\n", argv[2]);
                return 77;
        }
        CHECK_OK(r);
        printf("backend %s, interface %s, %u peers\n", wg_backend_type_to_string(wg_backend_type(backend)), ifname, n);

        CHECK(!wg_backend_exists(backend, ifname), "%s exists already", ifname);
        CHECK_OK(wg_backend_create(backend, ifname));
        created = true;
        CHECK(wg_backend_exists(backend, ifname), "%s does not exist after create", ifname);
        CHECK(wg_backend_create(backend, ifname) == -EEXIST, "second create is not -EEXIST");
        {
                _cleanup_(strv_freep) char **l = NULL;
                bool found = false;
                CHECK_OK(wg_backend_list(backend, &l));
                for (char **i = l; *i; i++)
                        found = found || streq(*i, ifname);
                CHECK(found, "%s not listed", ifname);
        }

        /* 1. everything in one set */
        CHECK_OK(wg_device_new(ifname, &want));
        want->flags = WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_HAS_FWMARK | WGDEVICE_REPLACE_PEERS;
        CHECK_OK(wg_key_generate_private(want->private_key));
        /* explicit: with port 0 the kernel picks one only when the link goes up */
        want->listen_port = (uint16_t) (40000 + getpid() % 20000);
        want->fwmark = 0x1234;
        for (unsigned i = 0; i < n; i++)
                make_peer(want, i);
        CHECK_OK(wg_backend_set_device(backend, want));
        CHECK_OK(wg_backend_get_device(backend, ifname, &have));
        CHECK(have->flags & WGDEVICE_HAS_PUBLIC_KEY, "no public key");
        CHECK(wg_key_equal(have->private_key, want->private_key), "private key differs");
        uint8_t pub[WG_KEY_LEN];
        CHECK_OK(wg_key_public_from_private(pub, want->private_key));
        CHECK(wg_key_equal(have->public_key, pub), "public key differs");
        CHECK(have->fwmark == want->fwmark, "fwmark differs");
        CHECK(have->listen_port == want->listen_port, "listen port %u, %u set", have->listen_port, want->listen_port);
        check_device_config(want, have);
        printf("  get_device matches the set request (%zu peers)\n", have->n_peers);
        check_against_wg_dump(have);

        /* 2. single-peer changes, no replace_peers */
        CHECK_OK(wg_device_new(ifname, &req));
        CHECK_OK(wg_device_new(ifname, &expect));
        for (size_t i = 0; i < want->n_peers; i++)
                if (i != 1)
                        copy_peer(expect, &want->peers[i]);
        /* update peer 0: endpoint, keepalive, one more allowed IP, not replacing them */
        WgPeer *u = wg_device_add_peer(req, want->peers[0].public_key);
        CHECK(u, "out of memory");
        u->flags = WGPEER_UPDATE_ONLY | WGPEER_HAS_ENDPOINT | WGPEER_HAS_PERSISTENT_KEEPALIVE;
        CHECK_OK(wg_endpoint_parse("192.0.2.7:4242", &u->endpoint));
        u->persistent_keepalive = 42;
        IpPrefix extra;
        CHECK_OK(ip_prefix_parse("192.168.77.0/24", false, &extra));
        CHECK_OK(wg_peer_add_allowed_ip(u, &extra));
        WgPeer *e0 = wg_device_find_peer(expect, want->peers[0].public_key);
        e0->endpoint = u->endpoint;
        e0->persistent_keepalive = 42;
        CHECK_OK(wg_peer_add_allowed_ip(e0, &extra));
        /* remove peer 1 */
        WgPeer *rm = wg_device_add_peer(req, want->peers[1].public_key);
        CHECK(rm, "out of memory");
        rm->flags = WGPEER_REMOVE_ME;
        /* add a new peer */
        make_peer(req, n + 5);
        copy_peer(expect, &req->peers[req->n_peers - 1]);
        /* update_only of an unknown peer creates nothing */
        uint8_t ghost[WG_KEY_LEN], ghost_priv[WG_KEY_LEN];
        CHECK_OK(wg_key_generate_private(ghost_priv));
        CHECK_OK(wg_key_public_from_private(ghost, ghost_priv));
        WgPeer *g = wg_device_add_peer(req, ghost);
        CHECK(g, "out of memory");
        g->flags = WGPEER_UPDATE_ONLY | WGPEER_HAS_PERSISTENT_KEEPALIVE;
        g->persistent_keepalive = 7;

        CHECK_OK(wg_backend_set_device(backend, req));
        have = wg_device_free(have);
        CHECK_OK(wg_backend_get_device(backend, ifname, &have));
        CHECK(!wg_device_find_peer(have, want->peers[1].public_key), "removed peer still there");
        CHECK(!wg_device_find_peer(have, ghost), "update_only created a peer");
        check_device_config(expect, have);
        printf("  single-peer update/add/remove applied, the other %zu peers unchanged\n", have->n_peers - 2);
        check_against_wg_dump(have);

        /* 3. a set refused at its first line, larger than the socket buffer: the listen port is
         * held by another socket. The implementation's errno, not a broken pipe (wireguard-go
         * answers at once and closes); nothing of the request applied. (The kernel binds only
         * while the link is up, and its netlink set has no pipe to break.) */
        if (wg_backend_type(backend) == WG_BACKEND_USERSPACE) {
                uint16_t port = (uint16_t) (want->listen_port + 1);
                int h4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), h6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port) };
                struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
                int one = 1;
                CHECK(h4 >= 0 && h6 >= 0, "socket: %s", strerror(errno));
                (void) setsockopt(h6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                CHECK(bind(h4, (struct sockaddr *) &a4, sizeof(a4)) == 0, "bind %u: %s", port, strerror(errno));
                CHECK(bind(h6, (struct sockaddr *) &a6, sizeof(a6)) == 0, "bind [::]:%u: %s", port, strerror(errno));
                _cleanup_(wg_device_freep) WgDevice *big = NULL;
                CHECK_OK(wg_device_new(ifname, &big));
                big->flags = WGDEVICE_HAS_LISTEN_PORT;
                big->listen_port = port;
                for (unsigned i = 0; i < 20000; i++)
                        make_peer(big, n + 100 + i);
                r = wg_backend_set_device(backend, big);
                CHECK(r == -EADDRINUSE, "set with a held port: %s, not EADDRINUSE", strerror(-r));
                close(h4);
                close(h6);
                size_t before = have->n_peers;
                have = wg_device_free(have);
                CHECK_OK(wg_backend_get_device(backend, ifname, &have));
                CHECK(have->n_peers == before, "%zu peers after the refused set, %zu before", have->n_peers, before);
                /* wireguard-go has closed its own socket before it tried the new port (it
                 * reports 0): wgnetd checks a port before it sets one. */
                CHECK(have->listen_port == want->listen_port || have->listen_port == 0,
                      "listen port %u after the refused set", have->listen_port);
                printf("  a refused set of %zu peers: EADDRINUSE, no peer added (listen port %u)\n", big->n_peers,
                       have->listen_port);
        }

        /* 4. gone after delete */
        CHECK_OK(wg_backend_delete(backend, ifname));
        created = false;
        CHECK(!wg_backend_exists(backend, ifname), "%s still exists after delete", ifname);
        CHECK(wg_backend_delete(backend, ifname) == -ENODEV, "second delete is not -ENODEV");
        uint32_t idx;
        CHECK(wg_backend_link_ifindex(backend, ifname, &idx) == -ENODEV, "link still there");
        backend = wg_backend_free(backend);
        printf("ok\n");
        return 0;
}
