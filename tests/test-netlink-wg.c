/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/netlink-wg: SET_DEVICE messages built into buffers of many sizes, turned into a
 * GET_DEVICE dump and parsed back; the splitting and flag rules checked message by
 * message; malformed dumps rejected. No kernel needed. */

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>

#include "macro.h"
#include "netlink-wg.h"
#include "test.h"

#define FAMILY 0x1d

/* ---- helpers ------------------------------------------------------------------------- */

typedef struct Stream {
        uint8_t *buf;
        size_t len, alloc;
        unsigned n_messages;
} Stream;

static void stream_free(Stream *s) {
        free(s->buf);
        *s = (Stream) { 0 };
}

static void *stream_reserve(Stream *s, size_t n) {
        if (s->len + n > s->alloc) {
                size_t a = MAX(s->alloc * 2, s->len + n);
                uint8_t *b = realloc(s->buf, a);
                if (!b)
                        abort();
                s->buf = b;
                s->alloc = a;
        }
        return s->buf + s->len;
}

/* All SET_DEVICE messages of d built with buffers of this size, concatenated. */
static int build_all(const WgDevice *d, size_t size, Stream *s) {
        WgNlSetCursor c = { 0 };
        uint8_t *tmp = malloc(size + 16);
        int r;

        if (!tmp)
                abort();
        for (;;) {
                r = wg_nl_set_device_next(d, FAMILY, 1000 + c.n_messages, tmp, size, &c);
                if (r <= 0)
                        break;
                if ((size_t) r > size || (size_t) r > WG_NL_MESSAGE_MAX) {
                        r = -E2BIG;
                        break;
                }
                memcpy(stream_reserve(s, (size_t) r), tmp, (size_t) r);
                s->len += (size_t) r;
                s->n_messages++;
                if (s->n_messages > 10000000) {
                        r = -ELOOP;
                        break;
                }
        }
        free(tmp);
        return r;
}

/* Make the SET_DEVICE stream look like the kernel's dump, then NLMSG_DONE. */
static void stream_to_dump(Stream *s) {
        int rem = (int) s->len;
        for (struct nlmsghdr *nlh = (struct nlmsghdr *) s->buf; mnl_nlmsg_ok(nlh, rem);
             nlh = mnl_nlmsg_next(nlh, &rem)) {
                struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
                g->cmd = WG_CMD_GET_DEVICE;
                nlh->nlmsg_flags = NLM_F_MULTI;
        }
        struct nlmsghdr *done = stream_reserve(s, MNL_NLMSG_HDRLEN + 4);
        memset(done, 0, MNL_NLMSG_HDRLEN + 4);
        done->nlmsg_len = MNL_NLMSG_HDRLEN + 4;
        done->nlmsg_type = NLMSG_DONE;
        done->nlmsg_flags = NLM_F_MULTI;
        s->len += MNL_NLMSG_HDRLEN + 4;
}

/* What the messages say, for the flag rules. */
typedef struct MsgInfo {
        unsigned n_messages;
        unsigned n_device_flags;        /* messages with WGDEVICE_A_FLAGS */
        unsigned replace_peers_at;      /* 1-based message index of REPLACE_PEERS, 0 none */
        unsigned n_replace_peers;
        unsigned n_private_key, n_listen_port;
        unsigned n_peer_nests;
        unsigned n_replace_allowedips;
        unsigned n_continuations;       /* peer nests repeating the previous key */
        unsigned n_continuation_bad;    /* continuations with REPLACE_ALLOWEDIPS or attributes */
        unsigned n_allowed_ips;
} MsgInfo;

static void inspect(const Stream *s, MsgInfo *ret) {
        MsgInfo m = { 0 };
        uint8_t last_key[WG_KEY_LEN] = { 0 };
        bool have_last = false;
        int rem = (int) s->len;

        for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) s->buf; mnl_nlmsg_ok(nlh, rem);
             nlh = mnl_nlmsg_next(nlh, &rem)) {
                const struct nlattr *a;
                if (nlh->nlmsg_type != FAMILY)
                        continue;
                m.n_messages++;
                bool first_peer_of_msg = true;
                mnl_attr_for_each(a, nlh, MNL_ALIGN(sizeof(struct genlmsghdr))) {
                        switch (mnl_attr_get_type(a)) {
                        case WGDEVICE_A_FLAGS:
                                m.n_device_flags++;
                                if (mnl_attr_get_u32(a) & WGDEVICE_F_REPLACE_PEERS) {
                                        m.n_replace_peers++;
                                        m.replace_peers_at = m.n_messages;
                                }
                                break;
                        case WGDEVICE_A_PRIVATE_KEY:
                                m.n_private_key++;
                                break;
                        case WGDEVICE_A_LISTEN_PORT:
                                m.n_listen_port++;
                                break;
                        case WGDEVICE_A_PEERS: {
                                const struct nlattr *p;
                                mnl_attr_for_each_nested(p, a) {
                                        const struct nlattr *pa;
                                        const uint8_t *key = NULL;
                                        uint32_t flags = 0;
                                        unsigned n_other = 0;
                                        m.n_peer_nests++;
                                        mnl_attr_for_each_nested(pa, p) {
                                                switch (mnl_attr_get_type(pa)) {
                                                case WGPEER_A_PUBLIC_KEY:
                                                        key = mnl_attr_get_payload(pa);
                                                        break;
                                                case WGPEER_A_FLAGS:
                                                        flags = mnl_attr_get_u32(pa);
                                                        break;
                                                case WGPEER_A_ALLOWEDIPS: {
                                                        const struct nlattr *ai;
                                                        mnl_attr_for_each_nested(ai, pa)
                                                                m.n_allowed_ips++;
                                                        break;
                                                }
                                                default:
                                                        n_other++;
                                                }
                                        }
                                        if (flags & WGPEER_F_REPLACE_ALLOWEDIPS)
                                                m.n_replace_allowedips++;
                                        if (key && have_last && memcmp(key, last_key, WG_KEY_LEN) == 0) {
                                                m.n_continuations++;
                                                if (!first_peer_of_msg || (flags & WGPEER_F_REPLACE_ALLOWEDIPS) || n_other > 0)
                                                        m.n_continuation_bad++;
                                        }
                                        if (key) {
                                                memcpy(last_key, key, WG_KEY_LEN);
                                                have_last = true;
                                        }
                                        first_peer_of_msg = false;
                                }
                                break;
                        }
                        default:
                                break;
                        }
                }
        }
        *ret = m;
}

static void make_key(uint8_t key[WG_KEY_LEN], uint32_t seed, uint8_t tag) {
        for (size_t i = 0; i < WG_KEY_LEN; i++)
                key[i] = (uint8_t) (seed >> (8 * (i % 4))) ^ (uint8_t) (i * 37) ^ tag;
}

static IpPrefix v4(uint32_t host, uint8_t len) {
        IpPrefix p = { .family = AF_INET, .prefixlen = len };
        p.addr.in.s_addr = htonl(host);
        return p;
}

static IpPrefix v6(uint32_t n, uint8_t len) {
        IpPrefix p = { .family = AF_INET6, .prefixlen = len };
        p.addr.bytes[0] = 0xfd;
        p.addr.bytes[1] = 0x42;
        p.addr.bytes[12] = (uint8_t) (n >> 24);
        p.addr.bytes[13] = (uint8_t) (n >> 16);
        p.addr.bytes[14] = (uint8_t) (n >> 8);
        p.addr.bytes[15] = (uint8_t) n;
        return p;
}

/* A device with n_peers peers and n_ips allowed IPs each (alternating v4/v6), all the
 * optional attributes on some of them. */
static WgDevice *make_device(size_t n_peers, size_t n_ips, uint32_t dflags, uint32_t pflags) {
        WgDevice *d = NULL;
        if (wg_device_new("wgtest0", &d) < 0)
                abort();
        d->flags = dflags;
        make_key(d->private_key, 7, 0xaa);
        d->listen_port = 51820;
        d->fwmark = 0x1234;
        for (size_t i = 0; i < n_peers; i++) {
                uint8_t key[WG_KEY_LEN];
                make_key(key, (uint32_t) i, 0x55);
                WgPeer *p = wg_device_add_peer(d, key);
                if (!p)
                        abort();
                p->flags = pflags;
                if (i % 3 == 0) {
                        p->flags |= WGPEER_HAS_PRESHARED_KEY | WGPEER_HAS_PERSISTENT_KEEPALIVE;
                        make_key(p->preshared_key, (uint32_t) i, 0x99);
                        p->persistent_keepalive = (uint16_t) (i % 65535);
                }
                if (i % 2 == 0) {
                        p->flags |= WGPEER_HAS_ENDPOINT;
                        p->endpoint.in.sin_family = AF_INET;
                        p->endpoint.in.sin_port = htons((uint16_t) (1000 + i % 60000));
                        p->endpoint.in.sin_addr.s_addr = htonl(0xc0000200u + (uint32_t) (i % 250));
                } else if (i % 5 == 1) {
                        p->flags |= WGPEER_HAS_ENDPOINT;
                        p->endpoint.in6.sin6_family = AF_INET6;
                        p->endpoint.in6.sin6_port = htons(51820);
                        p->endpoint.in6.sin6_addr.s6_addr[0] = 0x20;
                        p->endpoint.in6.sin6_addr.s6_addr[1] = 0x01;
                        p->endpoint.in6.sin6_addr.s6_addr[15] = (uint8_t) i;
                }
                for (size_t j = 0; j < n_ips; j++) {
                        uint32_t k = (uint32_t) (i * n_ips + j);
                        IpPrefix ip = j % 2 == 0 ? v4(0x0a000000u + k, 32) : v6(k, 128);
                        if (wg_peer_add_allowed_ip(&d->peers[i], &ip) < 0)
                                abort();
                }
        }
        return d;
}

static void assert_same_config(const WgDevice *a, const WgDevice *b) {
        ASSERT_STREQ(a->name, b->name);
        ASSERT_EQ(a->n_peers, b->n_peers);
        if (a->flags & WGDEVICE_HAS_PRIVATE_KEY) {
                ASSERT_TRUE(b->flags & WGDEVICE_HAS_PRIVATE_KEY);
                ASSERT_MEMEQ(a->private_key, b->private_key, WG_KEY_LEN);
        }
        if (a->flags & WGDEVICE_HAS_LISTEN_PORT)
                ASSERT_EQ(a->listen_port, b->listen_port);
        if (a->flags & WGDEVICE_HAS_FWMARK)
                ASSERT_EQ(a->fwmark, b->fwmark);
        for (size_t i = 0; i < a->n_peers; i++) {
                const WgPeer *p = &a->peers[i], *q = &b->peers[i];
                ASSERT_MEMEQ(p->public_key, q->public_key, WG_KEY_LEN);
                uint32_t m = WGPEER_HAS_PRESHARED_KEY | WGPEER_HAS_PERSISTENT_KEEPALIVE | WGPEER_HAS_ENDPOINT;
                if (p->flags & WGPEER_REMOVE_ME)
                        continue;
                ASSERT_EQ(p->flags & m, q->flags & m);
                if (p->flags & WGPEER_HAS_PRESHARED_KEY)
                        ASSERT_MEMEQ(p->preshared_key, q->preshared_key, WG_KEY_LEN);
                if (p->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE)
                        ASSERT_EQ(p->persistent_keepalive, q->persistent_keepalive);
                if (p->flags & WGPEER_HAS_ENDPOINT) {
                        size_t l = p->endpoint.sa.sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                                       : sizeof(struct sockaddr_in6);
                        ASSERT_MEMEQ(&p->endpoint, &q->endpoint, l);
                }
                ASSERT_EQ(p->n_allowed_ips, q->n_allowed_ips);
                for (size_t j = 0; j < p->n_allowed_ips; j++)
                        ASSERT_TRUE(ip_prefix_equal(&p->allowed_ips[j], &q->allowed_ips[j]));
        }
}

/* Build with this buffer size, check the message rules, parse back, compare. */
static void round_trip(const WgDevice *d, size_t size, MsgInfo *ret_info) {
        Stream s = { 0 };
        WgDevice *out = NULL;
        MsgInfo m;

        ASSERT_OK(build_all(d, size, &s));
        inspect(&s, &m);
        ASSERT_EQ(m.n_messages, s.n_messages);
        ASSERT_TRUE(m.n_messages >= 1);
        /* REPLACE_PEERS exactly when asked, and only in the first message. */
        if (d->flags & WGDEVICE_REPLACE_PEERS) {
                ASSERT_EQ(m.n_replace_peers, 1);
                ASSERT_EQ(m.replace_peers_at, 1);
        } else
                ASSERT_EQ(m.n_replace_peers, 0);
        ASSERT_EQ(m.n_private_key, !!(d->flags & WGDEVICE_HAS_PRIVATE_KEY));
        ASSERT_EQ(m.n_listen_port, !!(d->flags & WGDEVICE_HAS_LISTEN_PORT));
        ASSERT_EQ(m.n_continuation_bad, 0);
        ASSERT_EQ(m.n_peer_nests, d->n_peers + m.n_continuations);

        size_t total_ips = 0, n_replace = 0;
        for (size_t i = 0; i < d->n_peers; i++) {
                if (!(d->peers[i].flags & WGPEER_REMOVE_ME))
                        total_ips += d->peers[i].n_allowed_ips;
                if ((d->peers[i].flags & (WGPEER_REPLACE_ALLOWEDIPS | WGPEER_REMOVE_ME)) == WGPEER_REPLACE_ALLOWEDIPS)
                        n_replace++;
        }
        ASSERT_EQ(m.n_allowed_ips, total_ips);
        ASSERT_EQ(m.n_replace_allowedips, n_replace);

        stream_to_dump(&s);
        ASSERT_OK(wg_device_new("x", &out));
        ASSERT_EQ(wg_nl_parse_dump(s.buf, s.len, FAMILY, out), 1);
        assert_same_config(d, out);
        wg_device_free(out);
        stream_free(&s);
        if (ret_info)
                *ret_info = m;
}

/* ---- tests --------------------------------------------------------------------------- */

TEST(round_trip_small) {
        static const size_t sizes[] = { WG_NL_MESSAGE_MIN, 300, 512, 1000, 4096, 8192, 32768, 1 << 20 };
        WgDevice *d = make_device(7, 5, WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT |
                                        WGDEVICE_HAS_FWMARK | WGDEVICE_REPLACE_PEERS,
                                  WGPEER_REPLACE_ALLOWEDIPS);
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
                round_trip(d, sizes[i], NULL);
        wg_device_free(d);
}

TEST(round_trip_empty) {
        WgDevice *d = make_device(0, 0, WGDEVICE_REPLACE_PEERS, 0);
        MsgInfo m;
        round_trip(d, WG_NL_MESSAGE_MIN, &m);
        ASSERT_EQ(m.n_messages, 1);   /* "remove every peer" still goes out */
        ASSERT_EQ(m.n_peer_nests, 0);
        wg_device_free(d);

        d = make_device(0, 0, 0, 0);
        round_trip(d, 4096, &m);
        ASSERT_EQ(m.n_messages, 1);
        ASSERT_EQ(m.n_device_flags, 0);
        wg_device_free(d);
}

TEST(ten_thousand_peers) {
        static const size_t sizes[] = { 1000, 8192, 65536 };
        WgDevice *d = make_device(10000, 2, WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT |
                                            WGDEVICE_REPLACE_PEERS, WGPEER_REPLACE_ALLOWEDIPS);
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                MsgInfo m;
                round_trip(d, sizes[i], &m);
                ASSERT_TRUE(m.n_messages > 10);
        }
        wg_device_free(d);
}

TEST(one_peer_5000_allowed_ips) {
        static const size_t sizes[] = { WG_NL_MESSAGE_MIN, 333, 1024, 8192, 65536 };
        WgDevice *d = make_device(1, 5000, 0, WGPEER_REPLACE_ALLOWEDIPS);
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                MsgInfo m;
                round_trip(d, sizes[i], &m);
                ASSERT_TRUE(m.n_messages > 1);
                ASSERT_EQ(m.n_continuations, m.n_messages - 1);
                ASSERT_EQ(m.n_replace_allowedips, 1);
                ASSERT_EQ(m.n_replace_peers, 0);
        }
        wg_device_free(d);
}

TEST(big_peers_between_small_ones) {
        /* Peers with many allowed IPs between peers with none: every split point. */
        WgDevice *d = make_device(40, 0, WGDEVICE_REPLACE_PEERS, WGPEER_REPLACE_ALLOWEDIPS);
        for (size_t i = 0; i < d->n_peers; i += 3)
                for (uint32_t j = 0; j < 100 + i * 7; j++) {
                        IpPrefix ip = v6((uint32_t) (i << 16) + j, 120);
                        ASSERT_OK(wg_peer_add_allowed_ip(&d->peers[i], &ip));
                }
        d->peers[5].flags = WGPEER_REMOVE_ME;
        d->peers[6].flags |= WGPEER_UPDATE_ONLY;
        for (size_t size = WG_NL_MESSAGE_MIN; size < 3000; size += 97)
                round_trip(d, size, NULL);
        wg_device_free(d);
}

TEST(one_peer_change_never_replaces_peers) {
        /* What the daemon sends for AddPeer / RemovePeer. */
        WgDevice *d = make_device(1, 2, 0, WGPEER_REPLACE_ALLOWEDIPS);
        MsgInfo m;
        round_trip(d, 8192, &m);
        ASSERT_EQ(m.n_messages, 1);
        ASSERT_EQ(m.n_device_flags, 0);
        ASSERT_EQ(m.n_replace_peers, 0);
        ASSERT_EQ(m.n_private_key, 0);

        d->peers[0].flags = WGPEER_REMOVE_ME;
        round_trip(d, 8192, &m);
        ASSERT_EQ(m.n_messages, 1);
        ASSERT_EQ(m.n_device_flags, 0);
        ASSERT_EQ(m.n_allowed_ips, 0);   /* a removed peer carries nothing else */
        wg_device_free(d);
}

/* Every continuation carries UPDATE_ONLY, whatever the peer's own flags: removed by
 * someone else between two messages, the peer must not come back half made. The first
 * part carries it only when asked. */
static void check_continuations_update_only(uint32_t peer_flags) {
        WgDevice *d = make_device(1, 300, 0, peer_flags);
        Stream s = { 0 };
        ASSERT_OK(build_all(d, 512, &s));
        ASSERT_TRUE(s.n_messages > 2);
        unsigned n_update_only = 0, n_flags = 0;
        int rem = (int) s.len;
        for (const struct nlmsghdr *nlh = (const void *) s.buf; mnl_nlmsg_ok(nlh, rem);
             nlh = mnl_nlmsg_next(nlh, &rem)) {
                const struct nlattr *a, *p, *pa;
                mnl_attr_for_each(a, nlh, MNL_ALIGN(sizeof(struct genlmsghdr)))
                        if (mnl_attr_get_type(a) == WGDEVICE_A_PEERS)
                                mnl_attr_for_each_nested(p, a)
                                        mnl_attr_for_each_nested(pa, p)
                                                if (mnl_attr_get_type(pa) == WGPEER_A_FLAGS) {
                                                        n_flags++;
                                                        if (mnl_attr_get_u32(pa) & WGPEER_F_UPDATE_ONLY)
                                                                n_update_only++;
                                                }
        }
        ASSERT_EQ(n_flags, s.n_messages);
        ASSERT_EQ(n_update_only, (peer_flags & WGPEER_UPDATE_ONLY) ? s.n_messages : s.n_messages - 1);
        stream_free(&s);
        wg_device_free(d);
}

TEST(continuation_keeps_update_only) {
        check_continuations_update_only(WGPEER_REPLACE_ALLOWEDIPS | WGPEER_UPDATE_ONLY);
}

TEST(continuation_of_a_new_peer_is_update_only) {
        check_continuations_update_only(WGPEER_REPLACE_ALLOWEDIPS);
}

TEST(bad_requests) {
        uint8_t buf[4096];
        WgNlSetCursor c = { 0 };
        WgDevice *d = make_device(2, 1, 0, 0);

        /* Buffers too small for what must go together. */
        ASSERT_ERR(wg_nl_set_device_next(d, FAMILY, 1, buf, 16, &c), EMSGSIZE);
        ASSERT_EQ(c.n_messages, 0);   /* the cursor did not move */
        /* Room for the device part but not for one peer: the first message goes out, the
         * second cannot be built. */
        ASSERT_TRUE(wg_nl_set_device_next(d, FAMILY, 1, buf, 60, &c) > 0);
        ASSERT_ERR(wg_nl_set_device_next(d, FAMILY, 2, buf, 60, &c), EMSGSIZE);
        ASSERT_EQ(c.n_messages, 1);
        c = (WgNlSetCursor) { 0 };

        d->peers[1].allowed_ips[0].prefixlen = 33;
        ASSERT_ERR(wg_nl_set_device_next(d, FAMILY, 1, buf, sizeof(buf), &c), EINVAL);
        d->peers[1].allowed_ips[0].prefixlen = 32;
        d->peers[1].allowed_ips[0].family = AF_UNIX;
        ASSERT_ERR(wg_nl_set_device_next(d, FAMILY, 1, buf, sizeof(buf), &c), EINVAL);
        d->peers[1].allowed_ips[0].family = AF_INET;
        d->peers[1].flags |= WGPEER_HAS_ENDPOINT;
        d->peers[1].endpoint.sa.sa_family = AF_UNSPEC;
        ASSERT_ERR(wg_nl_set_device_next(d, FAMILY, 1, buf, sizeof(buf), &c), EINVAL);
        d->peers[1].flags &= ~(uint32_t) WGPEER_HAS_ENDPOINT;
        d->name[0] = 0;
        ASSERT_ERR(wg_nl_set_device_next(d, FAMILY, 1, buf, sizeof(buf), &c), EINVAL);
        strcpy(d->name, "wg1");

        ASSERT_TRUE(wg_nl_set_device_next(d, FAMILY, 1, buf, sizeof(buf), &c) > 0);
        ASSERT_EQ(wg_nl_set_device_next(d, FAMILY, 2, buf, sizeof(buf), &c), 0);
        ASSERT_EQ(wg_nl_set_device_next(d, FAMILY, 3, buf, sizeof(buf), &c), 0);
        wg_device_free(d);

        ASSERT_ERR(wg_nl_get_device_request("", FAMILY, 1, buf, sizeof(buf)), EINVAL);
        ASSERT_ERR(wg_nl_get_device_request("0123456789abcdef", FAMILY, 1, buf, sizeof(buf)), EINVAL);
        ASSERT_ERR(wg_nl_get_device_request("wg0", FAMILY, 1, buf, 20), EMSGSIZE);
}

TEST(get_request) {
        uint8_t buf[256];
        int r = wg_nl_get_device_request("wg0", FAMILY, 77, buf, sizeof(buf));
        ASSERT_TRUE(r > 0);
        const struct nlmsghdr *nlh = (const void *) buf;
        ASSERT_EQ(nlh->nlmsg_len, r);
        ASSERT_EQ(nlh->nlmsg_type, FAMILY);
        ASSERT_EQ(nlh->nlmsg_seq, 77);
        ASSERT_TRUE(nlh->nlmsg_flags & NLM_F_DUMP);
        const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
        ASSERT_EQ(g->cmd, WG_CMD_GET_DEVICE);
        const struct nlattr *a = (const void *) ((const uint8_t *) g + MNL_ALIGN(sizeof(*g)));
        ASSERT_EQ(mnl_attr_get_type(a), WGDEVICE_A_IFNAME);
        ASSERT_STREQ(mnl_attr_get_str(a), "wg0");
}

TEST(getfamily) {
        uint8_t buf[512];
        int r = wg_nl_getfamily_request(WG_GENL_NAME, 5, buf, sizeof(buf));
        ASSERT_TRUE(r > 0);
        ASSERT_EQ(((struct nlmsghdr *) buf)->nlmsg_type, GENL_ID_CTRL);

        /* A reply. */
        memset(buf, 0, sizeof(buf));
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = GENL_ID_CTRL;
        struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->cmd = CTRL_CMD_NEWFAMILY;
        mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
        mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 0x22);
        uint16_t id = 0;
        ASSERT_OK(wg_nl_getfamily_parse(buf, nlh->nlmsg_len, &id));
        ASSERT_EQ(id, 0x22);

        /* An error: unknown family. */
        memset(buf, 0, sizeof(buf));
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = NLMSG_ERROR;
        struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
        e->error = -ENOENT;
        ASSERT_ERR(wg_nl_getfamily_parse(buf, nlh->nlmsg_len, &id), ENOENT);
        ASSERT_ERR(wg_nl_getfamily_parse(buf, 3, &id), EBADMSG);
}

/* ---- malformed dumps ----------------------------------------------------------------- */

typedef struct Msg {
        uint8_t buf[2048];
        struct nlmsghdr *nlh;
} Msg;

static void msg_init(Msg *m) {
        memset(m->buf, 0, sizeof(m->buf));
        m->nlh = mnl_nlmsg_put_header(m->buf);
        m->nlh->nlmsg_type = FAMILY;
        m->nlh->nlmsg_flags = NLM_F_MULTI;
        struct genlmsghdr *g = mnl_nlmsg_put_extra_header(m->nlh, sizeof(*g));
        g->cmd = WG_CMD_GET_DEVICE;
        g->version = WG_GENL_VERSION;
}

static int msg_parse(Msg *m) {
        WgDevice *d = NULL;
        if (wg_device_new("wg0", &d) < 0)
                abort();
        int r = wg_nl_parse_dump(m->buf, m->nlh->nlmsg_len, FAMILY, d);
        wg_device_free(d);
        return r;
}

/* One byte longer than a key: the too-long PSK case reads 33 bytes. */
static const uint8_t key_a[WG_KEY_LEN + 1] = { 1, 2, 3 };

/* Each case builds one peer (or device attribute) and expects this error. */
typedef enum Case {
        CASE_OK,
        CASE_NO_PUBLIC_KEY,
        CASE_SHORT_PUBLIC_KEY,
        CASE_SHORT_PSK,
        CASE_CIDR_TOO_LONG,
        CASE_V4_WITH_16_BYTES,
        CASE_MISSING_CIDR,
        CASE_MISSING_FAMILY,
        CASE_BAD_FAMILY,
        CASE_ENDPOINT_BAD_LEN,
        CASE_ENDPOINT_FAMILY_MISMATCH,
        CASE_KEEPALIVE_BAD_LEN,
        CASE_HANDSHAKE_BAD_NSEC,
        CASE_RX_BAD_LEN,
        CASE_TWO_PUBLIC_KEYS,
        _CASE_MAX,
} Case;

static void build_case(Msg *m, Case c) {
        msg_init(m);
        mnl_attr_put_strz(m->nlh, WGDEVICE_A_IFNAME, "wg0");
        struct nlattr *peers = mnl_attr_nest_start(m->nlh, WGDEVICE_A_PEERS);
        struct nlattr *peer = mnl_attr_nest_start(m->nlh, 0);
        if (c != CASE_NO_PUBLIC_KEY)
                mnl_attr_put(m->nlh, WGPEER_A_PUBLIC_KEY, c == CASE_SHORT_PUBLIC_KEY ? 31 : WG_KEY_LEN, key_a);
        if (c == CASE_TWO_PUBLIC_KEYS)
                mnl_attr_put(m->nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, key_a);
        mnl_attr_put(m->nlh, WGPEER_A_PRESHARED_KEY, c == CASE_SHORT_PSK ? 33 : WG_KEY_LEN, key_a);

        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
        if (c == CASE_ENDPOINT_BAD_LEN)
                mnl_attr_put(m->nlh, WGPEER_A_ENDPOINT, 10, &sin6);
        else if (c == CASE_ENDPOINT_FAMILY_MISMATCH)
                mnl_attr_put(m->nlh, WGPEER_A_ENDPOINT, sizeof(struct sockaddr_in), &sin6);
        else
                mnl_attr_put(m->nlh, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);

        if (c == CASE_KEEPALIVE_BAD_LEN)
                mnl_attr_put_u32(m->nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
        else
                mnl_attr_put_u16(m->nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
        struct __kernel_timespec ts = { .tv_sec = 1700000000, .tv_nsec = c == CASE_HANDSHAKE_BAD_NSEC ? 1000000000 : 5000 };
        mnl_attr_put(m->nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), &ts);
        if (c == CASE_RX_BAD_LEN)
                mnl_attr_put_u32(m->nlh, WGPEER_A_RX_BYTES, 1);
        else
                mnl_attr_put_u64(m->nlh, WGPEER_A_RX_BYTES, 1234);
        mnl_attr_put_u64(m->nlh, WGPEER_A_TX_BYTES, 5678);
        mnl_attr_put_u32(m->nlh, WGPEER_A_PROTOCOL_VERSION, 1);

        struct nlattr *ips = mnl_attr_nest_start(m->nlh, WGPEER_A_ALLOWEDIPS);
        struct nlattr *ip = mnl_attr_nest_start(m->nlh, 0);
        uint8_t addr[16] = { 10, 0, 0, 1 };
        if (c != CASE_MISSING_FAMILY)
                mnl_attr_put_u16(m->nlh, WGALLOWEDIP_A_FAMILY, c == CASE_BAD_FAMILY ? AF_UNIX : AF_INET);
        mnl_attr_put(m->nlh, WGALLOWEDIP_A_IPADDR, c == CASE_V4_WITH_16_BYTES ? 16 : 4, addr);
        if (c != CASE_MISSING_CIDR)
                mnl_attr_put_u8(m->nlh, WGALLOWEDIP_A_CIDR_MASK, c == CASE_CIDR_TOO_LONG ? 33 : 32);
        mnl_attr_nest_end(m->nlh, ip);
        mnl_attr_nest_end(m->nlh, ips);
        mnl_attr_nest_end(m->nlh, peer);
        mnl_attr_nest_end(m->nlh, peers);
}

TEST(malformed_peers_rejected) {
        for (Case c = 0; c < _CASE_MAX; c++) {
                Msg m;
                build_case(&m, c);
                int r = msg_parse(&m);
                if (c == CASE_OK) {
                        ASSERT_EQ(r, 0);   /* no NLMSG_DONE yet */
                        continue;
                }
                if (r != -EBADMSG)
                        TEST_FAIL("case %d: expected -EBADMSG, got %d", (int) c, r);
        }
}

TEST(parsed_fields) {
        Msg m;
        WgDevice *d = NULL;
        build_case(&m, CASE_OK);
        mnl_attr_put_u32(m.nlh, WGDEVICE_A_IFINDEX, 42);
        mnl_attr_put_u16(m.nlh, WGDEVICE_A_LISTEN_PORT, 51820);
        mnl_attr_put(m.nlh, WGDEVICE_A_PUBLIC_KEY, WG_KEY_LEN, key_a);
        mnl_attr_put_u32(m.nlh, 200, 7);   /* unknown: ignored */
        ASSERT_OK(wg_device_new("wg0", &d));
        ASSERT_OK(wg_nl_parse_get_device(m.nlh, d));
        ASSERT_EQ(d->ifindex, 42);
        ASSERT_EQ(d->listen_port, 51820);
        ASSERT_TRUE(d->flags & WGDEVICE_HAS_PUBLIC_KEY);
        ASSERT_FALSE(d->flags & WGDEVICE_HAS_PRIVATE_KEY);
        ASSERT_EQ(d->n_peers, 1);
        const WgPeer *p = &d->peers[0];
        ASSERT_MEMEQ(p->public_key, key_a, WG_KEY_LEN);
        ASSERT_EQ(p->last_handshake_usec, 1700000000ull * 1000000 + 5);
        ASSERT_EQ(p->rx_bytes, 1234);
        ASSERT_EQ(p->tx_bytes, 5678);
        ASSERT_EQ(p->persistent_keepalive, 25);
        ASSERT_EQ(p->endpoint.sa.sa_family, AF_INET6);
        ASSERT_EQ(p->n_allowed_ips, 1);
        ASSERT_EQ(p->allowed_ips[0].prefixlen, 32);

        /* The same peer again (as the next message would carry it): joined. */
        ASSERT_OK(wg_nl_parse_get_device(m.nlh, d));
        ASSERT_EQ(d->n_peers, 1);
        ASSERT_EQ(d->peers[0].n_allowed_ips, 2);
        wg_device_free(d);
}

TEST(malformed_messages_rejected) {
        Msg m;
        WgDevice *d = NULL;

        /* Name not NUL-terminated, too long, empty. */
        msg_init(&m);
        mnl_attr_put(m.nlh, WGDEVICE_A_IFNAME, 3, "wg0");
        ASSERT_ERR(msg_parse(&m), EBADMSG);
        msg_init(&m);
        mnl_attr_put_strz(m.nlh, WGDEVICE_A_IFNAME, "0123456789abcdefg");
        ASSERT_ERR(msg_parse(&m), EBADMSG);
        msg_init(&m);
        mnl_attr_put_strz(m.nlh, WGDEVICE_A_IFNAME, "");
        ASSERT_ERR(msg_parse(&m), EBADMSG);
        /* Short private key. */
        msg_init(&m);
        mnl_attr_put(m.nlh, WGDEVICE_A_PRIVATE_KEY, 16, key_a);
        ASSERT_ERR(msg_parse(&m), EBADMSG);
        /* Wrong command. */
        msg_init(&m);
        ((struct genlmsghdr *) mnl_nlmsg_get_payload(m.nlh))->cmd = WG_CMD_SET_DEVICE;
        ASSERT_ERR(msg_parse(&m), EBADMSG);
        /* Another family. */
        msg_init(&m);
        m.nlh->nlmsg_type = FAMILY + 1;
        ASSERT_ERR(msg_parse(&m), EBADMSG);
        /* No genl header. */
        msg_init(&m);
        m.nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
        ASSERT_ERR(msg_parse(&m), EBADMSG);
        /* An attribute running past the message end. */
        build_case(&m, CASE_OK);
        struct nlattr *last = (struct nlattr *) ((uint8_t *) m.nlh + MNL_NLMSG_HDRLEN + 4);
        last->nla_len += 8;   /* the ifname attribute now overlaps the peers */
        ASSERT_ERR(msg_parse(&m), EBADMSG);
        /* A truncated message: the buffer is shorter than nlmsg_len. */
        build_case(&m, CASE_OK);
        ASSERT_OK(wg_device_new("wg0", &d));
        ASSERT_ERR(wg_nl_parse_dump(m.buf, m.nlh->nlmsg_len - 8, FAMILY, d), EBADMSG);
        wg_device_free(d);
        /* Garbage after the last whole attribute inside the peers nest. */
        build_case(&m, CASE_OK);
        {
                struct nlattr *peers = (struct nlattr *) ((uint8_t *) m.nlh + MNL_NLMSG_HDRLEN + 4 + 8);
                ASSERT_EQ(mnl_attr_get_type(peers), WGDEVICE_A_PEERS);
                uint8_t *tail = (uint8_t *) m.nlh + m.nlh->nlmsg_len;
                memset(tail, 0xff, 4);   /* an attribute header claiming 65535 bytes */
                peers->nla_len += 4;
                m.nlh->nlmsg_len += 4;
                ASSERT_ERR(msg_parse(&m), EBADMSG);
        }
}

TEST(dump_control_messages) {
        uint8_t buf[256] = { 0 };
        WgDevice *d = NULL;
        struct nlmsghdr *nlh;

        ASSERT_OK(wg_device_new("wg0", &d));
        /* NLMSG_ERROR -ENODEV (no such device) and -EOPNOTSUPP (not WireGuard). */
        static const int errs[] = { ENODEV, EOPNOTSUPP, EPERM };
        for (size_t i = 0; i < ELEMENTSOF(errs); i++) {
                memset(buf, 0, sizeof(buf));
                nlh = mnl_nlmsg_put_header(buf);
                nlh->nlmsg_type = NLMSG_ERROR;
                struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
                e->error = -errs[i];
                ASSERT_EQ(wg_nl_parse_dump(buf, nlh->nlmsg_len, FAMILY, d), -errs[i]);
        }
        /* NLMSG_DONE, plain and with an error. */
        memset(buf, 0, sizeof(buf));
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = NLMSG_DONE;
        int32_t *err = mnl_nlmsg_put_extra_header(nlh, sizeof(int32_t));
        ASSERT_EQ(wg_nl_parse_dump(buf, nlh->nlmsg_len, FAMILY, d), 1);
        *err = -ENODEV;
        ASSERT_ERR(wg_nl_parse_dump(buf, nlh->nlmsg_len, FAMILY, d), ENODEV);
        *err = 0;
        /* The dump was interrupted: restart. */
        nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
        ASSERT_ERR(wg_nl_parse_dump(buf, nlh->nlmsg_len, FAMILY, d), EINTR);
        /* A length of 2^31 or more (libmnl's own check takes it as negative). */
        nlh->nlmsg_flags = 0;
        nlh->nlmsg_len = 0x80000000u;
        ASSERT_ERR(wg_nl_parse_dump(buf, 64, FAMILY, d), EBADMSG);
        ASSERT_ERR(wg_nl_getfamily_parse(buf, 64, &(uint16_t) { 0 }), EBADMSG);
        nlh->nlmsg_len = 0xfffffffeu;
        ASSERT_ERR(wg_nl_parse_dump(buf, 64, FAMILY, d), EBADMSG);
        /* Empty buffer: more to come. */
        ASSERT_EQ(wg_nl_parse_dump(buf, 0, FAMILY, d), 0);
        ASSERT_EQ(d->n_peers, 0);
        wg_device_free(d);
}

TEST_MAIN()
