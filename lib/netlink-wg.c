/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Builders and parsers for the "wireguard" generic netlink family. See netlink-wg.h. */

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>

#include "macro.h"
#include "netlink-wg.h"

#define GENL_HDRLEN_ALIGNED MNL_ALIGN(sizeof(struct genlmsghdr))

/* ---- building ------------------------------------------------------------------------ */

static struct nlmsghdr *put_genl_header(void *buf, uint16_t type, uint16_t flags, uint32_t seq,
                                        uint8_t cmd, uint8_t version) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        nlh->nlmsg_seq = seq;
        struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->cmd = cmd;
        g->version = version;
        return nlh;
}

static int allowed_ip_check(const IpPrefix *ip) {
        if (ip->family != AF_INET && ip->family != AF_INET6)
                return -EINVAL;
        if (ip->prefixlen > ip_family_bits(ip->family))
                return -EINVAL;
        return 0;
}

static int request_check(const WgDevice *d) {
        size_t n = strnlen(d->name, sizeof(d->name));
        if (n == 0 || n >= sizeof(d->name))
                return -EINVAL;
        for (size_t i = 0; i < d->n_peers; i++) {
                const WgPeer *p = &d->peers[i];
                if (p->flags & WGPEER_HAS_ENDPOINT) {
                        int f = p->endpoint.sa.sa_family;
                        if (f != AF_INET && f != AF_INET6)
                                return -EINVAL;
                }
                if (p->n_allowed_ips > 0 && !p->allowed_ips)
                        return -EINVAL;
                for (size_t j = 0; j < p->n_allowed_ips; j++)
                        if (allowed_ip_check(&p->allowed_ips[j]) < 0)
                                return -EINVAL;
        }
        return 0;
}

static bool put_allowed_ip(struct nlmsghdr *nlh, size_t size, const IpPrefix *ip) {
        struct nlattr *nest = mnl_attr_nest_start_check(nlh, size, 0);
        if (!nest)
                return false;
        size_t alen = ip->family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);
        if (!mnl_attr_put_u16_check(nlh, size, WGALLOWEDIP_A_FAMILY, (uint16_t) ip->family) ||
            !mnl_attr_put_check(nlh, size, WGALLOWEDIP_A_IPADDR, alen, ip->addr.bytes) ||
            !mnl_attr_put_u8_check(nlh, size, WGALLOWEDIP_A_CIDR_MASK, ip->prefixlen)) {
                mnl_attr_nest_cancel(nlh, nest);
                return false;
        }
        mnl_attr_nest_end(nlh, nest);
        return true;
}

/* The peer's own attributes; a continuation carries only the public key and the flags
 * that still matter. */
static bool put_peer_header(struct nlmsghdr *nlh, size_t size, const WgPeer *p, bool continuation) {
        uint32_t flags = 0;

        /* A continuation never creates the peer: removed by someone else since the first
         * part, it would come back with only some of its allowed IPs and no key. */
        if ((p->flags & WGPEER_UPDATE_ONLY) || continuation)
                flags |= WGPEER_F_UPDATE_ONLY;
        if (!continuation) {
                if (p->flags & WGPEER_REMOVE_ME)
                        flags |= WGPEER_F_REMOVE_ME;
                if (p->flags & WGPEER_REPLACE_ALLOWEDIPS)
                        flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
        }

        if (!mnl_attr_put_check(nlh, size, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key))
                return false;
        if (flags != 0 && !mnl_attr_put_u32_check(nlh, size, WGPEER_A_FLAGS, flags))
                return false;
        if (continuation || (p->flags & WGPEER_REMOVE_ME))
                return true;

        if ((p->flags & WGPEER_HAS_PRESHARED_KEY) &&
            !mnl_attr_put_check(nlh, size, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, p->preshared_key))
                return false;
        if (p->flags & WGPEER_HAS_ENDPOINT) {
                size_t alen = p->endpoint.sa.sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                                  : sizeof(struct sockaddr_in6);
                if (!mnl_attr_put_check(nlh, size, WGPEER_A_ENDPOINT, alen, &p->endpoint))
                        return false;
        }
        if ((p->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE) &&
            !mnl_attr_put_u16_check(nlh, size, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
                                    p->persistent_keepalive))
                return false;
        return true;
}

static bool put_device_attrs(struct nlmsghdr *nlh, size_t size, const WgDevice *d) {
        if ((d->flags & WGDEVICE_REPLACE_PEERS) &&
            !mnl_attr_put_u32_check(nlh, size, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS))
                return false;
        if ((d->flags & WGDEVICE_HAS_PRIVATE_KEY) &&
            !mnl_attr_put_check(nlh, size, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, d->private_key))
                return false;
        if ((d->flags & WGDEVICE_HAS_LISTEN_PORT) &&
            !mnl_attr_put_u16_check(nlh, size, WGDEVICE_A_LISTEN_PORT, d->listen_port))
                return false;
        if ((d->flags & WGDEVICE_HAS_FWMARK) &&
            !mnl_attr_put_u32_check(nlh, size, WGDEVICE_A_FWMARK, d->fwmark))
                return false;
        return true;
}

int wg_nl_set_device_next(const WgDevice *d, uint16_t family_id, uint32_t seq,
                          void *buf, size_t size, WgNlSetCursor *cursor) {
        if (!d || !buf || !cursor)
                return -EINVAL;

        bool first = cursor->n_messages == 0;
        if (!first && cursor->peer >= d->n_peers)
                return 0;
        if (first) {
                int r = request_check(d);
                if (r < 0)
                        return r;
        }

        size = MIN(size, (size_t) WG_NL_MESSAGE_MAX);
        if (size < MNL_NLMSG_HDRLEN + GENL_HDRLEN_ALIGNED)
                return -EMSGSIZE;

        struct nlmsghdr *nlh = put_genl_header(buf, family_id, NLM_F_REQUEST | NLM_F_ACK, seq,
                                               WG_CMD_SET_DEVICE, WG_GENL_VERSION);
        if (!mnl_attr_put_strz_check(nlh, size, WGDEVICE_A_IFNAME, d->name))
                return -EMSGSIZE;
        if (first && !put_device_attrs(nlh, size, d))
                return -EMSGSIZE;

        /* Work on a copy: the caller's cursor moves only when a message is returned. */
        WgNlSetCursor c = *cursor;
        bool progress = first, any_peer = false;

        if (c.peer < d->n_peers) {
                struct nlattr *peers = mnl_attr_nest_start_check(nlh, size, WGDEVICE_A_PEERS);
                if (!peers)
                        return -EMSGSIZE;

                while (c.peer < d->n_peers) {
                        const WgPeer *p = &d->peers[c.peer];
                        struct nlattr *pn = mnl_attr_nest_start_check(nlh, size, 0);
                        if (!pn)
                                break;
                        if (!put_peer_header(nlh, size, p, c.peer_started)) {
                                mnl_attr_nest_cancel(nlh, pn);
                                break;
                        }

                        if (!(p->flags & WGPEER_REMOVE_ME) && c.allowed_ip < p->n_allowed_ips) {
                                size_t k = 0;
                                struct nlattr *an = mnl_attr_nest_start_check(nlh, size, WGPEER_A_ALLOWEDIPS);
                                if (an) {
                                        while (c.allowed_ip + k < p->n_allowed_ips &&
                                               put_allowed_ip(nlh, size, &p->allowed_ips[c.allowed_ip + k]))
                                                k++;
                                        if (k > 0)
                                                mnl_attr_nest_end(nlh, an);
                                        else
                                                mnl_attr_nest_cancel(nlh, an);
                                }
                                if (k == 0) {
                                        /* Not even one allowed IP fits after the header: the
                                         * whole peer goes into the next message. */
                                        mnl_attr_nest_cancel(nlh, pn);
                                        break;
                                }
                                mnl_attr_nest_end(nlh, pn);
                                progress = any_peer = true;
                                c.allowed_ip += k;
                                if (c.allowed_ip < p->n_allowed_ips) {
                                        c.peer_started = true;   /* continues in the next message */
                                        break;
                                }
                        } else {
                                mnl_attr_nest_end(nlh, pn);
                                progress = any_peer = true;
                        }

                        c.peer++;
                        c.allowed_ip = 0;
                        c.peer_started = false;
                }

                if (!progress)
                        return -EMSGSIZE;
                if (any_peer)
                        mnl_attr_nest_end(nlh, peers);
                else
                        mnl_attr_nest_cancel(nlh, peers);
        }

        c.n_messages++;
        *cursor = c;
        return (int) nlh->nlmsg_len;
}

int wg_nl_get_device_request(const char *ifname, uint16_t family_id, uint32_t seq,
                             void *buf, size_t size) {
        if (!ifname || !buf)
                return -EINVAL;
        size_t n = strlen(ifname);
        if (n == 0 || n >= IFNAMSIZ)
                return -EINVAL;
        size = MIN(size, (size_t) WG_NL_MESSAGE_MAX);
        if (size < MNL_NLMSG_HDRLEN + GENL_HDRLEN_ALIGNED)
                return -EMSGSIZE;
        struct nlmsghdr *nlh = put_genl_header(buf, family_id, NLM_F_REQUEST | NLM_F_DUMP, seq,
                                               WG_CMD_GET_DEVICE, WG_GENL_VERSION);
        if (!mnl_attr_put_strz_check(nlh, size, WGDEVICE_A_IFNAME, ifname))
                return -EMSGSIZE;
        return (int) nlh->nlmsg_len;
}

int wg_nl_getfamily_request(const char *name, uint32_t seq, void *buf, size_t size) {
        if (!name || !buf || isempty(name) || strlen(name) >= GENL_NAMSIZ)
                return -EINVAL;
        size = MIN(size, (size_t) WG_NL_MESSAGE_MAX);
        if (size < MNL_NLMSG_HDRLEN + GENL_HDRLEN_ALIGNED)
                return -EMSGSIZE;
        struct nlmsghdr *nlh = put_genl_header(buf, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq,
                                               CTRL_CMD_GETFAMILY, 1);
        if (!mnl_attr_put_strz_check(nlh, size, CTRL_ATTR_FAMILY_NAME, name))
                return -EMSGSIZE;
        return (int) nlh->nlmsg_len;
}

/* ---- parsing ------------------------------------------------------------------------- */

/* Attributes are read with memcpy: a fuzzer's buffer need not be aligned. */
static int attr_get_exact(const struct nlattr *a, void *ret, size_t len) {
        if (mnl_attr_get_payload_len(a) != len)
                return -EBADMSG;
        memcpy(ret, mnl_attr_get_payload(a), len);
        return 0;
}

/* After an mnl_attr_for_each* loop: did the attributes fill their space exactly? Anything
 * left over (a truncated attribute) is an error. */
static int attrs_consumed(const struct nlattr *a, const void *end) {
        return (const char *) a >= (const char *) end ? 0 : -EBADMSG;
}

/* Is there a whole attribute at a, before end? */
static bool attr_ok(const struct nlattr *a, const void *end) {
        if ((const uint8_t *) a >= (const uint8_t *) end)
                return false;
        return mnl_attr_ok(a, (int) ((const uint8_t *) end - (const uint8_t *) a));
}

static const void *nest_end(const struct nlattr *nest) {
        return (const char *) mnl_attr_get_payload(nest) + mnl_attr_get_payload_len(nest);
}

static int parse_allowed_ip(const struct nlattr *nest, IpPrefix *ret) {
        const struct nlattr *a;
        bool have_family = false, have_addr = false, have_cidr = false;
        uint16_t family = 0;
        uint8_t cidr = 0, addr[16] = { 0 };
        size_t alen = 0;

        mnl_attr_for_each_nested(a, nest) {
                switch (mnl_attr_get_type(a)) {
                case WGALLOWEDIP_A_FAMILY:
                        if (attr_get_exact(a, &family, sizeof(family)) < 0)
                                return -EBADMSG;
                        have_family = true;
                        break;
                case WGALLOWEDIP_A_IPADDR:
                        alen = mnl_attr_get_payload_len(a);
                        if (alen != sizeof(struct in_addr) && alen != sizeof(struct in6_addr))
                                return -EBADMSG;
                        memcpy(addr, mnl_attr_get_payload(a), alen);
                        have_addr = true;
                        break;
                case WGALLOWEDIP_A_CIDR_MASK:
                        if (attr_get_exact(a, &cidr, sizeof(cidr)) < 0)
                                return -EBADMSG;
                        have_cidr = true;
                        break;
                default:
                        break;
                }
        }
        if (attrs_consumed(a, nest_end(nest)) < 0)
                return -EBADMSG;
        if (!have_family || !have_addr || !have_cidr)
                return -EBADMSG;
        if (!((family == AF_INET && alen == sizeof(struct in_addr)) ||
              (family == AF_INET6 && alen == sizeof(struct in6_addr))))
                return -EBADMSG;
        if (cidr > ip_family_bits(family))
                return -EBADMSG;

        *ret = (IpPrefix) { .family = family, .prefixlen = cidr };
        memcpy(ret->addr.bytes, addr, alen);
        return 0;
}

static int parse_endpoint(const struct nlattr *a, WgEndpoint *ret) {
        size_t len = mnl_attr_get_payload_len(a);
        WgEndpoint e = { 0 };

        if (len != sizeof(struct sockaddr_in) && len != sizeof(struct sockaddr_in6))
                return -EBADMSG;
        memcpy(&e, mnl_attr_get_payload(a), len);
        if (!((len == sizeof(struct sockaddr_in) && e.sa.sa_family == AF_INET) ||
              (len == sizeof(struct sockaddr_in6) && e.sa.sa_family == AF_INET6)))
                return -EBADMSG;
        *ret = e;
        return 0;
}

static int parse_peer(const struct nlattr *nest, WgDevice *d) {
        const struct nlattr *a, *public_key = NULL, *psk = NULL, *endpoint = NULL,
                *keepalive = NULL, *handshake = NULL, *rx = NULL, *tx = NULL, *allowed = NULL;

        /* First pass: find and check the attributes, so that nothing is half-applied
         * because of a bad length. */
        mnl_attr_for_each_nested(a, nest) {
                const struct nlattr **slot = NULL;
                size_t want = 0;   /* exact payload length, 0 = checked elsewhere */
                switch (mnl_attr_get_type(a)) {
                case WGPEER_A_PUBLIC_KEY:
                        slot = &public_key, want = WG_KEY_LEN;
                        break;
                case WGPEER_A_PRESHARED_KEY:
                        slot = &psk, want = WG_KEY_LEN;
                        break;
                case WGPEER_A_ENDPOINT:
                        slot = &endpoint;
                        break;
                case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
                        slot = &keepalive, want = sizeof(uint16_t);
                        break;
                case WGPEER_A_LAST_HANDSHAKE_TIME:
                        slot = &handshake, want = sizeof(struct __kernel_timespec);
                        break;
                case WGPEER_A_RX_BYTES:
                        slot = &rx, want = sizeof(uint64_t);
                        break;
                case WGPEER_A_TX_BYTES:
                        slot = &tx, want = sizeof(uint64_t);
                        break;
                case WGPEER_A_ALLOWEDIPS:
                        slot = &allowed;
                        break;
                case WGPEER_A_PROTOCOL_VERSION:
                case WGPEER_A_FLAGS:
                        if (mnl_attr_get_payload_len(a) != sizeof(uint32_t))
                                return -EBADMSG;
                        break;
                default:
                        break;
                }
                if (!slot)
                        continue;
                if (*slot)
                        return -EBADMSG;   /* twice */
                if (want > 0 && mnl_attr_get_payload_len(a) != want)
                        return -EBADMSG;
                *slot = a;
        }
        if (attrs_consumed(a, nest_end(nest)) < 0)
                return -EBADMSG;
        if (!public_key)
                return -EBADMSG;

        WgEndpoint ep;
        if (endpoint && parse_endpoint(endpoint, &ep) < 0)
                return -EBADMSG;

        uint64_t handshake_usec = 0;
        if (handshake) {
                struct __kernel_timespec ts;
                memcpy(&ts, mnl_attr_get_payload(handshake), sizeof(ts));
                if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000 ||
                    (uint64_t) ts.tv_sec > (UINT64_MAX - 999999) / 1000000)
                        return -EBADMSG;
                handshake_usec = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
        }

        const uint8_t *key = mnl_attr_get_payload(public_key);
        WgPeer *p;
        if (d->n_peers > 0 && memcmp(d->peers[d->n_peers - 1].public_key, key, WG_KEY_LEN) == 0)
                p = &d->peers[d->n_peers - 1];   /* continuation of a split peer */
        else {
                uint8_t k[WG_KEY_LEN];
                memcpy(k, key, WG_KEY_LEN);
                p = wg_device_add_peer(d, k);
                if (!p)
                        return -ENOMEM;
        }

        if (psk) {
                memcpy(p->preshared_key, mnl_attr_get_payload(psk), WG_KEY_LEN);
                p->flags |= WGPEER_HAS_PRESHARED_KEY;
        }
        if (endpoint) {
                p->endpoint = ep;
                p->flags |= WGPEER_HAS_ENDPOINT;
        }
        if (keepalive) {
                (void) attr_get_exact(keepalive, &p->persistent_keepalive, sizeof(uint16_t));
                p->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
        }
        if (handshake)
                p->last_handshake_usec = handshake_usec;
        if (rx)
                (void) attr_get_exact(rx, &p->rx_bytes, sizeof(uint64_t));
        if (tx)
                (void) attr_get_exact(tx, &p->tx_bytes, sizeof(uint64_t));

        if (allowed) {
                mnl_attr_for_each_nested(a, allowed) {
                        IpPrefix ip;
                        int r = parse_allowed_ip(a, &ip);
                        if (r < 0)
                                return r;
                        r = wg_peer_add_allowed_ip(p, &ip);
                        if (r < 0)
                                return r;
                }
                if (attrs_consumed(a, nest_end(allowed)) < 0)
                        return -EBADMSG;
        }
        return 0;
}

int wg_nl_parse_get_device(const struct nlmsghdr *nlh, WgDevice *d) {
        const struct nlattr *a;

        if (!nlh || !d)
                return -EINVAL;
        if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + GENL_HDRLEN_ALIGNED)
                return -EBADMSG;
        const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
        if (g->cmd != WG_CMD_GET_DEVICE)
                return -EBADMSG;

        /* Not mnl_attr_for_each(): it ends at the aligned length, past an unaligned
         * message's last byte. */
        const uint8_t *attrs = (const uint8_t *) mnl_nlmsg_get_payload(nlh) + GENL_HDRLEN_ALIGNED;
        size_t attrs_len = nlh->nlmsg_len - MNL_NLMSG_HDRLEN - GENL_HDRLEN_ALIGNED;
        for (a = (const void *) attrs; attr_ok(a, attrs + attrs_len); a = mnl_attr_next(a)) {
                uint16_t len = mnl_attr_get_payload_len(a);
                const void *v = mnl_attr_get_payload(a);
                int r;

                switch (mnl_attr_get_type(a)) {
                case WGDEVICE_A_IFINDEX:
                        if (attr_get_exact(a, &d->ifindex, sizeof(d->ifindex)) < 0)
                                return -EBADMSG;
                        break;
                case WGDEVICE_A_IFNAME:
                        if (len < 2 || len > IFNAMSIZ || strnlen(v, len) != (size_t) len - 1)
                                return -EBADMSG;
                        memcpy(d->name, v, len);
                        break;
                case WGDEVICE_A_PRIVATE_KEY:
                        if (attr_get_exact(a, d->private_key, WG_KEY_LEN) < 0)
                                return -EBADMSG;
                        d->flags |= WGDEVICE_HAS_PRIVATE_KEY;
                        break;
                case WGDEVICE_A_PUBLIC_KEY:
                        if (attr_get_exact(a, d->public_key, WG_KEY_LEN) < 0)
                                return -EBADMSG;
                        d->flags |= WGDEVICE_HAS_PUBLIC_KEY;
                        break;
                case WGDEVICE_A_LISTEN_PORT:
                        if (attr_get_exact(a, &d->listen_port, sizeof(d->listen_port)) < 0)
                                return -EBADMSG;
                        d->flags |= WGDEVICE_HAS_LISTEN_PORT;
                        break;
                case WGDEVICE_A_FWMARK:
                        if (attr_get_exact(a, &d->fwmark, sizeof(d->fwmark)) < 0)
                                return -EBADMSG;
                        d->flags |= WGDEVICE_HAS_FWMARK;
                        break;
                case WGDEVICE_A_PEERS: {
                        const struct nlattr *pa;
                        mnl_attr_for_each_nested(pa, a) {
                                r = parse_peer(pa, d);
                                if (r < 0)
                                        return r;
                        }
                        if (attrs_consumed(pa, nest_end(a)) < 0)
                                return -EBADMSG;
                        break;
                }
                default:
                        break;
                }
        }
        return attrs_consumed(a, attrs + attrs_len);
}

/* mnl_nlmsg_ok() casts nlmsg_len to int: a length of 2^31 or more passes it, and
 * mnl_nlmsg_next() then wraps around. These do the same with sizes. */
static bool nlmsg_ok(const struct nlmsghdr *nlh, size_t rem) {
        return rem >= sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) && nlh->nlmsg_len <= rem;
}

static const struct nlmsghdr *nlmsg_next(const struct nlmsghdr *nlh, size_t *rem) {
        size_t step = MNL_ALIGN((size_t) nlh->nlmsg_len);
        if (step > *rem)
                step = *rem;
        *rem -= step;
        return (const struct nlmsghdr *) ((const uint8_t *) nlh + step);
}

/* The error of an NLMSG_ERROR message: 0 for an ack, negative errno, or -EBADMSG. */
static int nlmsg_error(const struct nlmsghdr *nlh) {
        struct nlmsgerr e;
        if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(e))
                return -EBADMSG;
        memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
        if (e.error > 0 || e.error < -4095)
                return -EBADMSG;
        return e.error;
}

int wg_nl_parse_dump(const void *buf, size_t len, uint16_t family_id, WgDevice *d) {
        if (!buf || !d)
                return -EINVAL;

        size_t rem = len;
        bool intr = false;
        const struct nlmsghdr *nlh = buf;

        for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next(nlh, &rem)) {
                int r;

                if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                        intr = true;

                switch (nlh->nlmsg_type) {
                case NLMSG_NOOP:
                        continue;
                case NLMSG_DONE: {
                        int32_t err = 0;
                        if (nlh->nlmsg_len >= MNL_NLMSG_HDRLEN + sizeof(err))
                                memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
                        if (err < 0)
                                return err < -4095 ? -EBADMSG : err;
                        return intr ? -EINTR : 1;
                }
                case NLMSG_ERROR:
                        r = nlmsg_error(nlh);
                        if (r < 0)
                                return r;
                        continue;   /* an ack */
                default:
                        if (nlh->nlmsg_type != family_id)
                                return -EBADMSG;
                        r = wg_nl_parse_get_device(nlh, d);
                        if (r < 0)
                                return r;
                }
        }
        if (rem > 0)
                return -EBADMSG;   /* a truncated message */
        return intr ? -EINTR : 0;
}

int wg_nl_getfamily_parse(const void *buf, size_t len, uint16_t *ret_family_id) {
        if (!buf || !ret_family_id)
                return -EINVAL;

        size_t rem = len;
        const struct nlmsghdr *nlh = buf;
        bool found = false;
        uint16_t id = 0;

        for (; nlmsg_ok(nlh, rem); nlh = nlmsg_next(nlh, &rem)) {
                const struct nlattr *a;
                int r;

                if (nlh->nlmsg_type == NLMSG_ERROR) {
                        r = nlmsg_error(nlh);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (nlh->nlmsg_type != GENL_ID_CTRL ||
                    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + GENL_HDRLEN_ALIGNED)
                        continue;
                const uint8_t *attrs = (const uint8_t *) mnl_nlmsg_get_payload(nlh) + GENL_HDRLEN_ALIGNED;
                const uint8_t *end = (const uint8_t *) nlh + nlh->nlmsg_len;
                for (a = (const void *) attrs; attr_ok(a, end); a = mnl_attr_next(a))
                        if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID) {
                                if (attr_get_exact(a, &id, sizeof(id)) < 0)
                                        return -EBADMSG;
                                found = true;
                        }
        }
        if (!found)
                return -EBADMSG;
        *ret_family_id = id;
        return 0;
}
