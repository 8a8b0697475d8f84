/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Full-tunnel routing with policy rules, the way wg-quick(8) does it. The device marks its
 * own (encrypted) packets with fwmark T; for each family, table T holds the default route
 * through the device, and two rules send every unmarked packet there:
 *
 *   32764: not fwmark T lookup main suppress_prefixlength 0
 *   32765: not fwmark T lookup T
 *
 * The first lets the main table's routes other than its default route (the LAN, the
 * endpoints' host routes) win; the second takes everything else into the tunnel. The
 * device's own packets skip both and leave by the main table's default route, whatever
 * uplink it names at the time (a laptop that changes networks keeps working). wg-quick
 * puts its suppress rule on every packet; here it carries the mark test too, so that each
 * network's pair of rules differs from any other's. */

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "macro.h"
#include "rtnl-internal.h"

static void put_table(struct nlmsghdr *nlh, uint8_t *hdr_table, uint16_t attr, uint32_t table) {
        *hdr_table = table < 256 ? (uint8_t) table : RT_TABLE_UNSPEC;
        mnl_attr_put_u32(nlh, attr, table);
}

static int rule_change(Rtnl *r, uint16_t type, int family, uint32_t mark, uint32_t priority, uint32_t table,
                       bool suppress_default) {
        struct nlmsghdr *nlh = rtnl_msg(r, type, type == RTM_NEWRULE ? NLM_F_CREATE | NLM_F_EXCL : 0);
        struct fib_rule_hdr *h = mnl_nlmsg_put_extra_header(nlh, sizeof(*h));
        h->family = (uint8_t) family;
        h->action = FR_ACT_TO_TBL;
        h->flags = FIB_RULE_INVERT;
        mnl_attr_put_u32(nlh, FRA_PRIORITY, priority);
        mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
        mnl_attr_put_u32(nlh, FRA_FWMASK, UINT32_MAX);
        put_table(nlh, &h->table, FRA_TABLE, table);
        if (suppress_default)
                mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, 0);
        return rtnl_call(r, nlh, NULL, NULL);
}

static int default_route_change(Rtnl *r, uint16_t type, const char *ifname, int family, uint32_t table) {
        uint32_t idx;
        int k = rtnl_link_ifindex(r, ifname, &idx);
        if (k < 0)
                return k;
        struct nlmsghdr *nlh = rtnl_msg(r, type, type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = (uint8_t) family;
        rtm->rtm_protocol = type == RTM_NEWROUTE ? RTPROT_STATIC : 0;
        rtm->rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
        rtm->rtm_type = RTN_UNICAST;
        put_table(nlh, &rtm->rtm_table, RTA_TABLE, table);
        mnl_attr_put_u32(nlh, RTA_OIF, idx);
        return rtnl_call(r, nlh, NULL, NULL);
}

/* An addition that finds its twin in place (EEXIST) changed nothing; a removal that finds
 * nothing (ENOENT, ESRCH) neither. */
static int note(int k, bool adding, unsigned *changed) {
        if (k >= 0) {
                (*changed)++;
                return 0;
        }
        if (adding ? k == -EEXIST : (k == -ENOENT || k == -ESRCH || k == -ENODEV))
                return 0;
        return k;
}

typedef struct DefaultRouteFind {
        uint32_t table;
        bool found;
        uint32_t oif;
} DefaultRouteFind;

static int default_route_cb(const struct nlmsghdr *nlh, void *data) {
        DefaultRouteFind *f = data;
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;
        uint32_t table, oif = 0;

        if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm) || rtm->rtm_dst_len != 0)
                return MNL_CB_OK;
        table = rtm->rtm_table;
        mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
                if (mnl_attr_get_payload_len(a) != 4)
                        continue;
                if (mnl_attr_get_type(a) == RTA_TABLE)
                        table = mnl_attr_get_u32(a);
                else if (mnl_attr_get_type(a) == RTA_OIF)
                        oif = mnl_attr_get_u32(a);
        }
        if (table == f->table) {
                f->found = true;
                f->oif = oif;
        }
        return MNL_CB_OK;
}

/* The table's default route leads through ifname (1), elsewhere (0). */
static int default_route_is_ours(Rtnl *r, const char *ifname, int family, uint32_t table) {
        DefaultRouteFind f = { .table = table };
        uint32_t idx;
        int k = rtnl_link_ifindex(r, ifname, &idx);
        for (int attempt = 0; k >= 0 && attempt < DUMP_ATTEMPTS; attempt++) {
                f.found = false;
                struct nlmsghdr *nlh = rtnl_msg(r, RTM_GETROUTE, NLM_F_DUMP);
                struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
                rtm->rtm_family = (uint8_t) family;
                k = rtnl_call(r, nlh, default_route_cb, &f);
                if (k != -EINTR)
                        break;
        }
        if (k < 0)
                return k;
        return f.found && f.oif == idx;
}

int rtnl_full_tunnel_set(Rtnl *r, const char *ifname, int family, uint32_t table, bool on, unsigned *ret_changed) {
        unsigned changed = 0;
        int k, e = 0;

        if ((family != AF_INET && family != AF_INET6) || table == 0 || table == RT_TABLE_MAIN ||
            table == RT_TABLE_LOCAL || table == RT_TABLE_DEFAULT)
                return -EINVAL;
        if (on) {
                /* The route first: a rule into an empty table would send the traffic on to
                 * the main table anyway, but not the other way round. A default route of
                 * another interface in the table is another program's: not taken over. */
                k = default_route_change(r, RTM_NEWROUTE, ifname, family, table);
                if (k == -EEXIST) {
                        k = default_route_is_ours(r, ifname, family, table);
                        k = k < 0 ? k : k == 0 ? -EADDRINUSE : -EEXIST;
                }
                k = note(k, true, &changed);
                /* Then the rule that lets the LAN's routes win, so that no moment sends the
                 * LAN into the tunnel. */
                if (k >= 0)
                        k = note(rule_change(r, RTM_NEWRULE, family, table, RTNL_FULL_TUNNEL_PRIORITY, RT_TABLE_MAIN, true),
                                 true, &changed);
                if (k >= 0)
                        k = note(rule_change(r, RTM_NEWRULE, family, table, RTNL_FULL_TUNNEL_PRIORITY + 1, table, false),
                                 true, &changed);
                e = k;
        } else {
                /* Every part, whatever the others answer: the rules first, so that no packet
                 * meets the table without them; the one into the table before the other. */
                k = note(rule_change(r, RTM_DELRULE, family, table, RTNL_FULL_TUNNEL_PRIORITY + 1, table, false),
                         false, &changed);
                e = e < 0 ? e : k;
                k = note(rule_change(r, RTM_DELRULE, family, table, RTNL_FULL_TUNNEL_PRIORITY, RT_TABLE_MAIN, true),
                         false, &changed);
                e = e < 0 ? e : k;
                if (ifname) {
                        k = note(default_route_change(r, RTM_DELROUTE, ifname, family, table), false, &changed);
                        e = e < 0 ? e : k;
                }
        }
        if (ret_changed)
                *ret_changed = changed;
        return e;
}

/* Marks in used[] (one byte a table, from first) the tables that a route or a rule names. */
typedef struct TablesUse {
        uint32_t first, n;
        uint8_t *used;
} TablesUse;

static void mark_used(TablesUse *u, uint32_t table) {
        if (table >= u->first && table - u->first < u->n)
                u->used[table - u->first] = 1;
}

static int tables_route_cb(const struct nlmsghdr *nlh, void *data) {
        TablesUse *u = data;
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;

        if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
                return MNL_CB_OK;
        mark_used(u, rtm->rtm_table);
        mnl_attr_for_each(a, nlh, sizeof(*rtm))
                if (mnl_attr_get_type(a) == RTA_TABLE && mnl_attr_get_payload_len(a) == 4)
                        mark_used(u, mnl_attr_get_u32(a));
        return MNL_CB_OK;
}

static int tables_rule_cb(const struct nlmsghdr *nlh, void *data) {
        TablesUse *u = data;
        const struct fib_rule_hdr *h = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;

        if (nlh->nlmsg_type != RTM_NEWRULE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*h))
                return MNL_CB_OK;
        mark_used(u, h->table);
        /* A rule's table, and its mark: wg-quick's marks are its tables. */
        mnl_attr_for_each(a, nlh, sizeof(*h))
                if ((mnl_attr_get_type(a) == FRA_TABLE || mnl_attr_get_type(a) == FRA_FWMARK) &&
                    mnl_attr_get_payload_len(a) == 4)
                        mark_used(u, mnl_attr_get_u32(a));
        return MNL_CB_OK;
}

int rtnl_tables_in_use(Rtnl *r, uint32_t first, uint32_t n, uint8_t *used) {
        TablesUse u = { .first = first, .n = n, .used = used };
        static const struct { uint16_t type; mnl_cb_t cb; } dumps[] = {
                { RTM_GETROUTE, tables_route_cb },
                { RTM_GETRULE, tables_rule_cb },
        };
        memset(used, 0, n);
        for (size_t d = 0; d < ELEMENTSOF(dumps); d++)
                for (int family = AF_INET; family != 0; family = family == AF_INET ? AF_INET6 : 0) {
                        int k = 0;
                        for (int attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
                                /* (An interrupted dump marked what it saw: more, never less.) */
                                struct nlmsghdr *nlh = rtnl_msg(r, dumps[d].type, NLM_F_DUMP);
                                struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg));
                                g->rtgen_family = (uint8_t) family;
                                k = rtnl_call(r, nlh, dumps[d].cb, &u);
                                if (k != -EINTR)
                                        break;
                        }
                        /* A host without IPv6 has no such dump: nothing of it is in use. */
                        if (k == -EAFNOSUPPORT)
                                continue;
                        if (k < 0)
                                return k;
                }
        return 0;
}
