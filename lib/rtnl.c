/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "macro.h"
#include "rtnl.h"
#include "rtnl-internal.h"


int rtnl_open(Rtnl **ret) {
        Rtnl *r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->buf = calloc(1, RTNL_BUF_SIZE);      /* no uninitialised padding reaches the kernel */
        if (!r->buf) {
                free(r);
                return -ENOMEM;
        }
        r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!r->nl) {
                int e = negative_errno();
                rtnl_close(r);
                return e;
        }
        int one = 1;
        /* extended acks and strict checking are nice to have, not required */
        (void) mnl_socket_setsockopt(r->nl, NETLINK_EXT_ACK, &one, sizeof(one));
        if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int e = negative_errno();
                rtnl_close(r);
                return e;
        }
        r->portid = mnl_socket_get_portid(r->nl);
        r->seq = (uint32_t) time(NULL);
        *ret = r;
        return 0;
}

Rtnl *rtnl_close(Rtnl *r) {
        if (!r)
                return NULL;
        if (r->nl)
                mnl_socket_close(r->nl);
        free(r->buf);
        free(r);
        return NULL;
}

struct nlmsghdr *rtnl_msg(Rtnl *r, uint16_t type, uint16_t flags) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = ++r->seq;
        return nlh;
}

int rtnl_call(Rtnl *r, struct nlmsghdr *nlh, mnl_cb_t cb, void *data) {
        uint32_t seq = nlh->nlmsg_seq;
        int ret;

        /* NLM_F_DUMP shares bits with NLM_F_REPLACE/NLM_F_EXCL: it means a dump only on a
         * GET request (rtnetlink GET types are 2 mod 4). */
        bool dump = (nlh->nlmsg_type & 3) == 2 && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
        if (!dump)
                nlh->nlmsg_flags |= NLM_F_ACK;
        /* Drop what an earlier, aborted exchange may have left behind: replies are
         * matched by sequence number, and a stale one would fail this call. The request
         * lives in r->buf, so drain into a small buffer of our own. */
        for (;;) {
                char junk[8192];
                ssize_t k = recv(mnl_socket_get_fd(r->nl), junk, sizeof(junk), MSG_DONTWAIT);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
        }
        if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();

        for (;;) {
                ssize_t n = mnl_socket_recvfrom(r->nl, r->buf, RTNL_BUF_SIZE);
                if (n < 0)
                        return negative_errno();
                ret = mnl_cb_run(r->buf, (size_t) n, seq, r->portid, cb, data);
                if (ret < 0)
                        return negative_errno();
                if (ret == MNL_CB_STOP)
                        return 0;
        }
}


/* ---- links ---- */

typedef struct LinkInfo {
        uint32_t ifindex;
        uint32_t flags;
        char kind[32];
        char name[IFNAMSIZ];
} LinkInfo;

static int linkinfo_cb(const struct nlattr *a, void *data) {
        LinkInfo *li = data;
        if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
                snprintf(li->kind, sizeof(li->kind), "%s", mnl_attr_get_str(a));
        return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data) {
        LinkInfo *li = data;
        switch (mnl_attr_get_type(a)) {
        case IFLA_IFNAME:
                if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
                        snprintf(li->name, sizeof(li->name), "%s", mnl_attr_get_str(a));
                break;
        case IFLA_LINKINFO:
                if (mnl_attr_validate(a, MNL_TYPE_NESTED) >= 0)
                        mnl_attr_parse_nested(a, linkinfo_cb, li);
                break;
        default:
                break;
        }
        return MNL_CB_OK;
}

static int link_parse(const struct nlmsghdr *nlh, LinkInfo *li) {
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
                return -EBADMSG;
        memset(li, 0, sizeof(*li));
        li->ifindex = (uint32_t) ifi->ifi_index;
        li->flags = ifi->ifi_flags;
        mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, li);
        return 0;
}

static int link_one_cb(const struct nlmsghdr *nlh, void *data) {
        /* never abort mid-reply: an unparsable message leaves ifindex 0 (-ENODEV) */
        (void) link_parse(nlh, data);
        return MNL_CB_OK;
}

static int check_name(const char *ifname) {
        size_t l = ifname ? strlen(ifname) : 0;
        return l == 0 || l >= IFNAMSIZ ? -EINVAL : 0;
}

static int link_get(Rtnl *r, const char *ifname, LinkInfo *li) {
        int k = check_name(ifname);
        if (k < 0)
                return k;

        struct nlmsghdr *nlh = rtnl_msg(r, RTM_GETLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
        k = rtnl_call(r, nlh, link_one_cb, li);
        if (k == -ENODEV || k == -ENOENT)
                return -ENODEV;
        if (k < 0)
                return k;
        return li->ifindex == 0 ? -ENODEV : 0;
}

int rtnl_link_ifindex(Rtnl *r, const char *ifname, uint32_t *ret) {
        LinkInfo li = { 0 };
        int k = link_get(r, ifname, &li);
        if (k < 0)
                return k;
        if (ret)
                *ret = li.ifindex;
        return 0;
}

int rtnl_link_is_kind(Rtnl *r, const char *ifname, const char *kind) {
        LinkInfo li = { 0 };
        int k = link_get(r, ifname, &li);
        if (k == -ENODEV)
                return 0;
        if (k < 0)
                return k;
        return streq(li.kind, kind);
}

int rtnl_link_is_up(Rtnl *r, const char *ifname) {
        LinkInfo li = { 0 };
        int k = link_get(r, ifname, &li);
        if (k < 0)
                return k;
        return !!(li.flags & IFF_UP);
}

int rtnl_link_create(Rtnl *r, const char *ifname, const char *kind) {
        int k = check_name(ifname);
        if (k < 0 || isempty(kind))
                return -EINVAL;

        struct nlmsghdr *nlh = rtnl_msg(r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
        struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
        mnl_attr_nest_end(nlh, li);
        return rtnl_call(r, nlh, NULL, NULL);
}

int rtnl_link_delete(Rtnl *r, const char *ifname) {
        uint32_t idx;
        int k = rtnl_link_ifindex(r, ifname, &idx);
        if (k < 0)
                return k;

        struct nlmsghdr *nlh = rtnl_msg(r, RTM_DELLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = (int) idx;
        k = rtnl_call(r, nlh, NULL, NULL);
        return k == -ENOENT ? -ENODEV : k;
}

static int link_change(Rtnl *r, const char *ifname, bool set_flags, bool up, uint32_t mtu) {
        uint32_t idx;
        int k = rtnl_link_ifindex(r, ifname, &idx);
        if (k < 0)
                return k;

        struct nlmsghdr *nlh = rtnl_msg(r, RTM_NEWLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = (int) idx;
        if (set_flags) {
                ifi->ifi_change = IFF_UP;
                ifi->ifi_flags = up ? IFF_UP : 0;
        }
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        return rtnl_call(r, nlh, NULL, NULL);
}

int rtnl_link_set_up(Rtnl *r, const char *ifname, bool up) {
        return link_change(r, ifname, true, up, 0);
}

int rtnl_link_set_mtu(Rtnl *r, const char *ifname, uint32_t mtu) {
        if (mtu == 0)
                return -EINVAL;
        return link_change(r, ifname, false, false, mtu);
}

typedef struct KindList {
        const char *kind;
        char **names;
        size_t n;
        int err;
} KindList;

static int link_kind_cb(const struct nlmsghdr *nlh, void *data) {
        KindList *kl = data;
        LinkInfo li;

        if (link_parse(nlh, &li) < 0 || !streq(li.kind, kl->kind) || li.name[0] == 0)
                return MNL_CB_OK;
        char **nl = realloc(kl->names, (kl->n + 2) * sizeof(char *));
        if (!nl) {
                kl->err = -ENOMEM;
                return MNL_CB_OK;
        }
        kl->names = nl;
        kl->names[kl->n] = strdup(li.name);
        if (!kl->names[kl->n]) {
                kl->err = -ENOMEM;
                return MNL_CB_OK;
        }
        kl->names[++kl->n] = NULL;
        return MNL_CB_OK;
}

int rtnl_link_list_kind(Rtnl *r, const char *kind, char ***ret) {
        KindList kl = { .kind = kind };
        int k;

        if (isempty(kind) || !ret)
                return -EINVAL;
        /* A dump is interrupted (NLM_F_DUMP_INTR, -EINTR) when a link comes or goes
         * meanwhile: asked again, a few times. */
        for (int attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
                strv_free(kl.names);
                kl = (KindList) { .kind = kind };
                struct nlmsghdr *nlh = rtnl_msg(r, RTM_GETLINK, NLM_F_DUMP);
                struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
                ifi->ifi_family = AF_UNSPEC;
                mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
                k = rtnl_call(r, nlh, link_kind_cb, &kl);
                if (k != -EINTR)
                        break;
        }
        if (k >= 0 && kl.err < 0)
                k = kl.err;
        if (k >= 0 && !kl.names) {
                kl.names = calloc(1, sizeof(char *));
                if (!kl.names)
                        k = -ENOMEM;
        }
        if (k < 0) {
                strv_free(kl.names);
                return k;
        }
        *ret = kl.names;
        return 0;
}

/* ---- addresses ---- */


static int check_prefix(const IpPrefix *a) {
        if (!a || (a->family != AF_INET && a->family != AF_INET6) || a->prefixlen > ip_family_bits(a->family))
                return -EINVAL;
        return 0;
}

static int addr_change(Rtnl *r, uint16_t type, const char *ifname, const IpPrefix *a) {
        uint32_t idx;
        int k = check_prefix(a);
        if (k < 0)
                return k;
        k = rtnl_link_ifindex(r, ifname, &idx);
        if (k < 0)
                return k;

        struct nlmsghdr *nlh = rtnl_msg(r, type, type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_REPLACE : 0);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = (uint8_t) a->family;
        ifa->ifa_prefixlen = a->prefixlen;
        ifa->ifa_index = idx;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        mnl_attr_put(nlh, IFA_LOCAL, rtnl_addr_len(a->family), a->addr.bytes);
        mnl_attr_put(nlh, IFA_ADDRESS, rtnl_addr_len(a->family), a->addr.bytes);
        return rtnl_call(r, nlh, NULL, NULL);
}

int rtnl_addr_add(Rtnl *r, const char *ifname, const IpPrefix *a) {
        int k = addr_change(r, RTM_NEWADDR, ifname, a);
        return k == -EEXIST ? 0 : k;
}

int rtnl_addr_del(Rtnl *r, const char *ifname, const IpPrefix *a) {
        int k = addr_change(r, RTM_DELADDR, ifname, a);
        return k == -EADDRNOTAVAIL || k == -ENOENT || k == -ESRCH ? 0 : k;
}

typedef struct AddrList {
        uint32_t ifindex;
        IpPrefix *a;
        size_t n, alloc;
        int err;
} AddrList;

typedef struct AddrAttrs {
        const struct nlattr *local, *address;
} AddrAttrs;

static int addr_attr_cb(const struct nlattr *a, void *data) {
        AddrAttrs *at = data;
        if (mnl_attr_get_type(a) == IFA_LOCAL)
                at->local = a;
        else if (mnl_attr_get_type(a) == IFA_ADDRESS)
                at->address = a;
        return MNL_CB_OK;
}

static int addr_list_cb(const struct nlmsghdr *nlh, void *data) {
        AddrList *al = data;
        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
        AddrAttrs at = { 0 };

        if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
                return MNL_CB_OK;
        if (ifa->ifa_index != al->ifindex || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
                return MNL_CB_OK;
        mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, &at);
        /* IPv4: IFA_LOCAL is the address (IFA_ADDRESS the peer on point-to-point links) */
        const struct nlattr *x = at.local ? at.local : at.address;
        if (!x || mnl_attr_get_payload_len(x) != rtnl_addr_len(ifa->ifa_family))
                return MNL_CB_OK;
        if (ifa->ifa_prefixlen > ip_family_bits(ifa->ifa_family))
                return MNL_CB_OK;

        if (al->n == al->alloc) {
                size_t na = al->alloc ? al->alloc * 2 : 8;
                IpPrefix *p = realloc(al->a, na * sizeof(IpPrefix));
                if (!p) {
                        al->err = -ENOMEM;
                        return MNL_CB_OK;
                }
                al->a = p;
                al->alloc = na;
        }
        IpPrefix *p = &al->a[al->n++];
        memset(p, 0, sizeof(*p));
        p->family = ifa->ifa_family;
        p->prefixlen = ifa->ifa_prefixlen;
        memcpy(p->addr.bytes, mnl_attr_get_payload(x), rtnl_addr_len(ifa->ifa_family));
        return MNL_CB_OK;
}

int rtnl_addr_list(Rtnl *r, const char *ifname, IpPrefix **ret, size_t *ret_n) {
        AddrList al = { 0 };
        int k = rtnl_link_ifindex(r, ifname, &al.ifindex);
        if (k < 0)
                return k;

        for (int attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
                free(al.a);
                al = (AddrList) { .ifindex = al.ifindex };
                struct nlmsghdr *nlh = rtnl_msg(r, RTM_GETADDR, NLM_F_DUMP);
                struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
                ifa->ifa_family = AF_UNSPEC;
                k = rtnl_call(r, nlh, addr_list_cb, &al);
                if (k != -EINTR)        /* interrupted by an address change: again */
                        break;
        }
        if (k >= 0 && al.err < 0)
                k = al.err;
        if (k < 0) {
                free(al.a);
                return k;
        }
        *ret = al.a;
        *ret_n = al.n;
        return 0;
}

/* ---- routes ---- */

static int route_change(Rtnl *r, uint16_t type, const char *ifname, const IpPrefix *dst) {
        uint32_t idx;
        int k = check_prefix(dst);
        if (k < 0)
                return k;
        k = rtnl_link_ifindex(r, ifname, &idx);
        if (k < 0)
                return k;
        IpPrefix d = *dst;
        ip_prefix_mask(&d);

        /* EXCL: never prepend ahead of a route another interface has for the prefix. */
        struct nlmsghdr *nlh = rtnl_msg(r, type, type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = (uint8_t) d.family;
        rtm->rtm_dst_len = d.prefixlen;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = type == RTM_NEWROUTE ? RTPROT_STATIC : 0;
        rtm->rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
        rtm->rtm_type = RTN_UNICAST;
        if (d.prefixlen > 0)
                mnl_attr_put(nlh, RTA_DST, rtnl_addr_len(d.family), d.addr.bytes);
        mnl_attr_put_u32(nlh, RTA_OIF, idx);
        return rtnl_call(r, nlh, NULL, NULL);
}

typedef struct RouteFind {
        IpPrefix dst;
        uint32_t oif;
        bool ours, other;
        uint32_t other_oif;
} RouteFind;

static int route_attr_cb(const struct nlattr *a, void *data) {
        const struct nlattr **tb = data;
        uint16_t type = mnl_attr_get_type(a);
        if (type <= RTA_MAX)
                tb[type] = a;
        return MNL_CB_OK;
}

static int route_find_cb(const struct nlmsghdr *nlh, void *data) {
        RouteFind *f = data;
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[RTA_MAX + 1] = { 0 };

        if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
                return MNL_CB_OK;
        if (rtm->rtm_family != f->dst.family || rtm->rtm_dst_len != f->dst.prefixlen)
                return MNL_CB_OK;
        mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb);
        uint32_t table = tb[RTA_TABLE] && mnl_attr_get_payload_len(tb[RTA_TABLE]) == 4 ? mnl_attr_get_u32(tb[RTA_TABLE])
                                                                                       : rtm->rtm_table;
        if (table != RT_TABLE_MAIN)
                return MNL_CB_OK;
        if (f->dst.prefixlen > 0 && (!tb[RTA_DST] || mnl_attr_get_payload_len(tb[RTA_DST]) != rtnl_addr_len(f->dst.family) ||
                                     memcmp(mnl_attr_get_payload(tb[RTA_DST]), f->dst.addr.bytes, rtnl_addr_len(f->dst.family)) != 0))
                return MNL_CB_OK;
        /* A blackhole, unreachable or prohibit route, or a multipath one (no RTA_OIF), is
         * another's too. */
        uint32_t oif = tb[RTA_OIF] && mnl_attr_get_payload_len(tb[RTA_OIF]) == 4 ? mnl_attr_get_u32(tb[RTA_OIF]) : 0;
        if (rtm->rtm_type == RTN_UNICAST && oif != 0 && oif == f->oif)
                f->ours = true;
        else {
                f->other = true;
                f->other_oif = oif;
        }
        return MNL_CB_OK;
}

/* The main table's routes for exactly f->dst: this interface's (ours), another's (other). */
static int route_find(Rtnl *r, RouteFind *f) {
        int k = 0;
        for (int attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
                f->ours = f->other = false;
                struct nlmsghdr *nlh = rtnl_msg(r, RTM_GETROUTE, NLM_F_DUMP);
                struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
                rtm->rtm_family = (uint8_t) f->dst.family;
                k = rtnl_call(r, nlh, route_find_cb, f);
                if (k != -EINTR)        /* interrupted by a route change: again */
                        break;
        }
        return k;
}

/* Ask the kernel which route it picks for an address of the prefix (the FIB entry itself,
 * RTM_F_FIB_MATCH): the prefix's second address, since the kernel answers no lookup of
 * 0.0.0.0. The answer goes to cb. */
static int fib_match(Rtnl *r, const IpPrefix *dst, mnl_cb_t cb, void *data) {
        IpPrefix a = *dst;
        size_t bits = ip_family_bits(a.family);
        if (a.prefixlen < bits)
                a.addr.bytes[bits / 8 - 1] |= 1;
        struct nlmsghdr *nlh = rtnl_msg(r, RTM_GETROUTE, 0);
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = (uint8_t) a.family;
        rtm->rtm_dst_len = (uint8_t) bits;
        rtm->rtm_flags = RTM_F_FIB_MATCH;
        mnl_attr_put(nlh, RTA_DST, rtnl_addr_len(a.family), a.addr.bytes);
        return rtnl_call(r, nlh, cb, data);
}

/* Is the route the kernel picks for the prefix this prefix through this interface? */
static bool route_is_ours(Rtnl *r, const RouteFind *f) {
        RouteFind m = { .dst = f->dst, .oif = f->oif };
        return fib_match(r, &f->dst, route_find_cb, &m) >= 0 && m.ours && !m.other;
}

typedef struct RouteMatch {
        bool found;
        uint8_t dst_len, type;
        uint32_t table, oif;
} RouteMatch;

static int route_match_cb(const struct nlmsghdr *nlh, void *data) {
        RouteMatch *m = data;
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[RTA_MAX + 1] = { 0 };

        if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
                return MNL_CB_OK;
        mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb);
        m->found = true;
        m->dst_len = rtm->rtm_dst_len;
        m->type = rtm->rtm_type;
        m->table = tb[RTA_TABLE] && mnl_attr_get_payload_len(tb[RTA_TABLE]) == 4 ? mnl_attr_get_u32(tb[RTA_TABLE])
                                                                               : rtm->rtm_table;
        m->oif = tb[RTA_OIF] && mnl_attr_get_payload_len(tb[RTA_OIF]) == 4 ? mnl_attr_get_u32(tb[RTA_OIF]) : 0;
        return MNL_CB_OK;
}

int rtnl_route_other(Rtnl *r, const char *ifname, const IpPrefix *dst, uint32_t *ret_oif) {
        RouteFind f = { .dst = *dst };
        RouteMatch m = { 0 };
        int k = check_prefix(dst);
        if (k < 0)
                return k;
        if (rtnl_link_ifindex(r, ifname, &f.oif) < 0)
                f.oif = 0;      /* not there yet: every route is another's */
        ip_prefix_mask(&f.dst);
        /* The kernel's pick first (one request; a dump of every route only when needed: this
         * runs before polkit, for each site network of an AddPeers). */
        k = fib_match(r, &f.dst, route_match_cb, &m);
        if (k >= 0 && m.found) {
                bool mine = m.type == RTN_UNICAST && m.oif != 0 && m.oif == f.oif;
                /* The default route, or half of it: a full-tunnel VPN's pair of /1 routes
                 * (OpenVPN's def1, a mesh exit node's) is a default route too. The prefix is
                 * nobody's yet. */
                if (m.table == RT_TABLE_MAIN && (m.dst_len == 0 || (m.dst_len == 1 && f.dst.prefixlen > 1)))
                        return 0;
                /* Another interface's route for the prefix or a wider one (a LAN's /16 around
                 * a /24): a route for the prefix would take that part of its traffic. */
                if (m.table == RT_TABLE_MAIN && !mine && m.dst_len <= f.dst.prefixlen) {
                        *ret_oif = m.oif;
                        return 1;
                }
        }
        /* Ours, a narrower one, another table's, or no answer (the kernel answers a lookup
         * that ends in a blackhole or nowhere with an error): another interface may still
         * route exactly the prefix, with a higher metric, or as a blackhole. */
        k = route_find(r, &f);
        if (k < 0 || !f.other)
                return k;
        *ret_oif = f.other_oif;
        return 1;
}

int rtnl_route_add(Rtnl *r, const char *ifname, const IpPrefix *dst) {
        RouteFind f = { .dst = *dst };
        int k = check_prefix(dst);
        if (k >= 0)
                k = rtnl_link_ifindex(r, ifname, &f.oif);
        if (k < 0)
                return k;
        ip_prefix_mask(&f.dst);
        /* Each tick: one lookup finds the route in place. */
        if (route_is_ours(r, &f))
                return 0;
        /* Another interface's route for the same prefix, whatever its metric, is left
         * alone: a route of ours would take its traffic (a LAN, a VPN) into the tunnel. */
        k = route_find(r, &f);
        if (k < 0)
                return k;
        if (f.other) {
                /* Ours next to it (made before the other): it would be a silent fallback
                 * that nothing tracks any more. */
                if (f.ours)
                        (void) route_change(r, RTM_DELROUTE, ifname, dst);
                return -EADDRINUSE;
        }
        if (f.ours)
                return 0;
        /* Nothing for the prefix in the dump: an EEXIST now is a route made meanwhile. */
        k = route_change(r, RTM_NEWROUTE, ifname, dst);
        return k == -EEXIST ? -EADDRINUSE : k;
}

int rtnl_route_del(Rtnl *r, const char *ifname, const IpPrefix *dst) {
        int k = route_change(r, RTM_DELROUTE, ifname, dst);
        return k == -ESRCH || k == -ENOENT ? 0 : k;
}
