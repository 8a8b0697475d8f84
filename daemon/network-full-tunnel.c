/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Full-tunnel clients. A network whose peer carries a default route (a VPN provider's or a
 * gateway's client config, imported) sends the host's own traffic through it when its
 * DefaultRoute is on, the way wg-quick(8) does: the device marks its encrypted packets with
 * the network's table number, table T holds the default route through the device, and two
 * policy rules send every unmarked packet there while the main table's more specific routes
 * (the LAN) still win (lib/rtnl-policy.c). The tunnel's own packets leave by whatever
 * default route the main table has at the time, so a laptop that changes uplinks keeps
 * its tunnel. */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "bus-util.h"
#include "firewall-sync.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "peer.h"
#include "rtnl.h"

#define FULL_TUNNEL_TABLE_FIRST 51820u  /* wg-quick's first choice */
#define FULL_TUNNEL_TABLE_TRIES 4096u

bool peer_has_default_route(const Peer *p) {
        for (size_t i = 0; i < p->n_site_networks; i++)
                if (p->site_networks[i].prefixlen == 0)
                        return true;
        return false;
}

/* Does an enabled, unexpired peer route the whole of this family through the tunnel? */
static bool family_wanted(const Network *n, int family) {
        uint64_t now = now_usec();
        for (const Peer *p = n->peers; p; p = p->next) {
                if (!p->enabled || (p->expires_at > 0 && now >= p->expires_at))
                        continue;
                for (size_t i = 0; i < p->n_site_networks; i++)
                        if (p->site_networks[i].prefixlen == 0 && p->site_networks[i].family == family)
                                return true;
        }
        return false;
}

uint32_t network_full_tunnel_fwmark(const Network *n, uint32_t have) {
        if (n->default_route && n->route_table != 0)
                return n->route_table;
        return n->route_table != 0 && have == n->route_table ? 0 : have;
}

int network_full_tunnel_apply(Network *n, bool log_repairs) {
        WgBackend *b = n->manager->backend;
        static const int families[] = { AF_INET, AF_INET6 };
        int r = 0;

        if (!n->active || n->route_table == 0)
                return 0;
        for (size_t i = 0; i < 2; i++) {
                bool on = n->default_route && family_wanted(n, families[i]);
                unsigned changed = 0;
                int k = wg_backend_full_tunnel_set(b, n->ifname, families[i], n->route_table, on, &changed);
                const char *fam = families[i] == AF_INET ? "IPv4" : "IPv6";
                if (k < 0) {
                        log_warning("%s: cannot %s the %s default route through the tunnel (table %u): %s", n->ifname,
                                    on ? "set up" : "take away", fam, n->route_table, strerror(-k));
                        r = r < 0 ? r : k;
                        continue;
                }
                if (on && families[i] == AF_INET) {
                        /* The rules match marks on replies too (wg-quick sets it as well). */
                        k = write_sysctl("/proc/sys/net/ipv4/conf/all/src_valid_mark", "1");
                        if (k > 0)
                                log_info("Switched on net.ipv4.conf.all.src_valid_mark for %s's default route", n->ifname);
                }
                if (changed > 0 && (log_repairs || !on))
                        log_notice("%s: %s default route through the tunnel %s (table %u, rules %u/%u)", n->ifname, fam,
                                   on ? (log_repairs ? "missing, repaired" : "set up") : "taken away", n->route_table,
                                   RTNL_FULL_TUNNEL_PRIORITY, RTNL_FULL_TUNNEL_PRIORITY + 1);
                else if (changed > 0)
                        log_info("%s: %s default route through the tunnel set up (table %u)", n->ifname, fam,
                                 n->route_table);
        }
        return r;
}

void network_full_tunnel_remove(Network *n) {
        if (n->route_table == 0)
                return;
        for (int family = AF_INET; family != 0; family = family == AF_INET ? AF_INET6 : 0) {
                unsigned changed = 0;
                int k = wg_backend_full_tunnel_set(n->manager->backend, n->ifname, family, n->route_table, false, &changed);
                if (k < 0)
                        log_warning("%s: cannot take the policy rules of table %u away: %s", n->ifname, n->route_table,
                                    strerror(-k));
                else if (changed > 0)
                        log_info("%s: default route through the tunnel taken away (%s)", n->ifname,
                                 family == AF_INET ? "IPv4" : "IPv6");
        }
}

static bool table_taken(const Manager *m, const Network *self, uint32_t table) {
        Network *o;
        HASHMAP_FOREACH(o, m->networks_by_id, it)
                if (o != self && o->route_table == table)
                        return true;
        return false;
}

int network_full_tunnel_choose_table(Network *n) {
        Manager *m = n->manager;
        int r;

        if (n->route_table != 0)
                return 0;
        /* An interface wg-quick brought up has its table as its mark: keep both, so that its
         * rules and ours agree instead of sending the tunnel's packets into the tunnel. */
        if (wg_backend_exists(m->backend, n->ifname)) {
                _cleanup_(wg_device_freep) WgDevice *d = NULL;
                if (wg_backend_get_device(m->backend, n->ifname, &d) >= 0 && d->fwmark > 255 && !table_taken(m, n, d->fwmark)) {
                        n->route_table = d->fwmark;
                        return 0;
                }
        }
        for (uint32_t t = FULL_TUNNEL_TABLE_FIRST; t < FULL_TUNNEL_TABLE_FIRST + FULL_TUNNEL_TABLE_TRIES; t++) {
                if (table_taken(m, n, t))
                        continue;
                r = wg_backend_table_in_use(m->backend, t);
                if (r < 0)
                        return r;
                if (r == 0) {
                        n->route_table = t;
                        return 0;
                }
        }
        return -ENOSPC;
}
