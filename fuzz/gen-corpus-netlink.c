/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes the seed corpus of fuzz-netlink into DIR: GET_DEVICE dumps made by the SET_DEVICE
 * builder (the attribute layout is the same, only the command differs), a peer split
 * over several messages, an interrupted dump, an error.
 *
 *   gen-corpus-netlink DIR */

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-netlink.h"
#include "netlink-wg.h"

typedef struct Out {
        uint8_t buf[1 << 16];
        size_t len;
} Out;

static void append(Out *o, const void *p, size_t n) {
        if (o->len + n > sizeof(o->buf)) {
                fprintf(stderr, "seed too large\n");
                exit(1);
        }
        memcpy(o->buf + o->len, p, n);
        o->len += n;
}

static void append_done(Out *o, uint16_t flags, int32_t error) {
        struct {
                struct nlmsghdr h;
                int32_t error;
        } done = { { sizeof(done), NLMSG_DONE, flags, 1, 0 }, error };
        append(o, &done, sizeof(done));
}

/* The dump of d as the kernel would send it, built with messages of at most size bytes. */
static void dump_of(const WgDevice *d, size_t size, uint16_t extra_flags, Out *o) {
        uint8_t msg[1 << 15];
        WgNlSetCursor c = { 0 };
        int r;

        while ((r = wg_nl_set_device_next(d, FUZZ_NETLINK_FAMILY, 1, msg, size, &c)) > 0) {
                struct nlmsghdr *nlh = (struct nlmsghdr *) msg;
                nlh->nlmsg_flags = NLM_F_MULTI | extra_flags;
                ((struct genlmsghdr *) (nlh + 1))->cmd = WG_CMD_GET_DEVICE;
                append(o, msg, (size_t) r);
        }
        if (r < 0) {
                fprintf(stderr, "build failed: %d\n", r);
                exit(1);
        }
        append_done(o, NLM_F_MULTI | extra_flags, 0);
}

static void write_seed(const char *dir, const char *name, const Out *o) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "we");
        if (!f || fwrite(o->buf, 1, o->len, f) != o->len || fclose(f) != 0) {
                perror(path);
                exit(1);
        }
}

static WgDevice *device(size_t n_peers, size_t n_ips) {
        WgDevice *d = NULL;
        if (wg_device_new("wg0", &d) < 0)
                exit(1);
        d->flags = WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_HAS_FWMARK;
        memset(d->private_key, 0x41, WG_KEY_LEN);
        d->listen_port = 51820;
        d->fwmark = 7;
        for (size_t i = 0; i < n_peers; i++) {
                uint8_t key[WG_KEY_LEN];
                memset(key, (int) (0x10 + i), WG_KEY_LEN);
                WgPeer *p = wg_device_add_peer(d, key);
                if (!p)
                        exit(1);
                p->flags = WGPEER_HAS_PRESHARED_KEY | WGPEER_HAS_PERSISTENT_KEEPALIVE | WGPEER_HAS_ENDPOINT;
                memset(p->preshared_key, 0x22, WG_KEY_LEN);
                p->persistent_keepalive = 25;
                if (i % 2) {
                        p->endpoint.in6.sin6_family = AF_INET6;
                        p->endpoint.in6.sin6_port = htons(51820);
                        inet_pton(AF_INET6, "2001:db8::1", &p->endpoint.in6.sin6_addr);
                } else {
                        p->endpoint.in.sin_family = AF_INET;
                        p->endpoint.in.sin_port = htons(51820);
                        inet_pton(AF_INET, "192.0.2.1", &p->endpoint.in.sin_addr);
                }
                for (size_t j = 0; j < n_ips; j++) {
                        IpPrefix ip = { .family = j % 2 ? AF_INET6 : AF_INET, .prefixlen = j % 2 ? 128 : 32 };
                        ip.addr.bytes[0] = 10;
                        ip.addr.bytes[2] = (uint8_t) i;
                        ip.addr.bytes[3] = (uint8_t) j;
                        if (wg_peer_add_allowed_ip(&d->peers[i], &ip) < 0)
                                exit(1);
                }
        }
        return d;
}

int main(int argc, char **argv) {
        static Out o;

        if (argc != 2) {
                fprintf(stderr, "usage: %s DIR\n", argv[0]);
                return 2;
        }

        static const struct {
                const char *name;
                size_t peers, ips, size;
                uint16_t flags;
        } seeds[] = {
                { "empty-device", 0, 0, 4096, 0 },
                { "one-peer", 1, 2, 4096, 0 },
                { "three-peers", 3, 3, 4096, 0 },
                { "peers-split", 6, 4, 300, 0 },
                { "one-peer-many-ips-split", 1, 40, 300, 0 },
                { "interrupted", 2, 2, 4096, NLM_F_DUMP_INTR },
        };
        for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
                WgDevice *d = device(seeds[i].peers, seeds[i].ips);
                o.len = 0;
                dump_of(d, seeds[i].size, seeds[i].flags, &o);
                write_seed(argv[1], seeds[i].name, &o);
                wg_device_free(d);
        }

        /* An error instead of a dump: no such device. */
        struct {
                struct nlmsghdr h;
                struct nlmsgerr e;
        } err = { { sizeof(err), NLMSG_ERROR, 0, 1, 0 }, { -19, { 0 } } };
        o.len = 0;
        append(&o, &err, sizeof(err));
        write_seed(argv[1], "error-enodev", &o);

        /* A family lookup reply (the harness feeds the same bytes to that parser). */
        uint8_t fam[64] = { 0 };
        struct nlmsghdr *nlh = (struct nlmsghdr *) fam;
        struct genlmsghdr *g = (struct genlmsghdr *) (nlh + 1);
        struct nlattr *a = (struct nlattr *) (g + 1);
        g->cmd = CTRL_CMD_NEWFAMILY;
        a->nla_type = CTRL_ATTR_FAMILY_ID;
        a->nla_len = 6;
        uint16_t id = FUZZ_NETLINK_FAMILY;
        memcpy(a + 1, &id, 2);
        nlh->nlmsg_type = GENL_ID_CTRL;
        nlh->nlmsg_len = sizeof(*nlh) + sizeof(*g) + 8;
        o.len = 0;
        append(&o, fam, nlh->nlmsg_len);
        write_seed(argv[1], "getfamily-reply", &o);
        return 0;
}
