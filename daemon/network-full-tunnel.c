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

/* Does an enabled, unexpired peer (other than `except`, which is going) route the whole of
 * this family through the tunnel? */
static bool family_wanted(const Network *n, int family, const Peer *except) {
        uint64_t now = now_usec();
        for (const Peer *p = n->peers; p; p = p->next) {
                if (p == except || !p->enabled || peer_expired(p, now))
                        continue;
                for (size_t i = 0; i < p->n_site_networks; i++)
                        if (p->site_networks[i].prefixlen == 0 && p->site_networks[i].family == family)
                                return true;
        }
        return false;
}

static bool wants_full_tunnel(const Network *n) {
        return n->active && n->default_route && n->route_table != 0 &&
               (family_wanted(n, AF_INET, NULL) || family_wanted(n, AF_INET6, NULL));
}

Network *manager_full_tunnel_owner(Manager *m, const Network *except) {
        /* One network at a time: two would each send the other's encrypted packets into
         * itself (each one's rules take the other's marks). The oldest one wins. */
        Network *o, *owner = NULL;
        HASHMAP_FOREACH(o, m->networks_by_id, it)
                if (o != except && wants_full_tunnel(o) && (!owner || o->id < owner->id))
                        owner = o;
        return owner;
}

uint32_t network_full_tunnel_fwmark(const Network *n, uint32_t have) {
        if (n->default_route && n->route_table != 0)
                return n->route_table;
        return n->route_table != 0 && have == n->route_table ? 0 : have;
}

static const int families[] = { AF_INET, AF_INET6 };

static const char *family_name(int family) {
        return family == AF_INET ? "IPv4" : "IPv6";
}

int network_full_tunnel_apply_except(Network *n, const Peer *except, bool log_repairs) {
        WgBackend *b = n->manager->backend;
        int r = 0;

        if (!n->active || n->route_table == 0)
                return 0;
        Network *owner = n->default_route ? manager_full_tunnel_owner(n->manager, NULL) : NULL;
        bool blocked = owner && owner != n && owner->id < n->id;
        if (blocked && !n->full_tunnel_blocked_logged)
                log_warning("%s: network '%s' sends this host's traffic through its tunnel already: '%s' does not",
                            n->ifname, owner->name, n->name);
        n->full_tunnel_blocked_logged = blocked;
        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                int family = families[i];
                unsigned bit = 1u << i, changed = 0;
                bool on = n->default_route && !blocked && family_wanted(n, family, except);
                /* Parts are taken away when they were made, and once after the start (from an
                 * earlier run): not on every tick, since the table may be another program's
                 * by then. */
                if (!on && !(n->full_tunnel_families & bit) && n->full_tunnel_checked)
                        continue;
                int k = wg_backend_full_tunnel_set(b, n->ifname, family, n->route_table, on, &changed);
                if (k < 0) {
                        log_warning("%s: cannot %s the %s default route through the tunnel (table %u): %s", n->ifname,
                                    on ? "set up" : "take away", family_name(family), n->route_table,
                                    k == -EADDRINUSE ? "another interface's default route is in that table"
                                                     : strerror(-k));
                        r = r < 0 ? r : k;
                        if (on)
                                n->full_tunnel_families &= ~bit;
                        continue;
                }
                if (on)
                        n->full_tunnel_families |= bit;
                else
                        n->full_tunnel_families &= ~bit;
                if (on && family == AF_INET) {
                        /* The rules see the marks that replies get back from conntrack (the
                         * firewall's full-tunnel chains), also in the reverse-path check. */
                        k = write_sysctl("/proc/sys/net/ipv4/conf/all/src_valid_mark", "1");
                        if (k > 0)
                                log_info("Switched on net.ipv4.conf.all.src_valid_mark for %s's default route", n->ifname);
                        else if (k < 0)
                                log_warning("Cannot switch on net.ipv4.conf.all.src_valid_mark: %s (with a strict "
                                            "rp_filter, the tunnel's replies may be dropped)", strerror(-k));
                }
                if (changed > 0 && (log_repairs || !on))
                        log_notice("%s: %s default route through the tunnel %s (table %u, rules %u/%u)", n->ifname,
                                   family_name(family), on ? (log_repairs ? "missing, repaired" : "set up") : "taken away",
                                   n->route_table, RTNL_FULL_TUNNEL_PRIORITY, RTNL_FULL_TUNNEL_PRIORITY + 1);
                else if (changed > 0)
                        log_info("%s: %s default route through the tunnel set up (table %u)", n->ifname,
                                 family_name(family), n->route_table);
        }
        n->full_tunnel_checked = true;
        if (r >= 0 && blocked && n->default_route && (family_wanted(n, AF_INET, except) || family_wanted(n, AF_INET6, except)))
                return -EBUSY;
        return r;
}

int network_full_tunnel_apply(Network *n, bool log_repairs) {
        return network_full_tunnel_apply_except(n, NULL, log_repairs);
}

void network_full_tunnel_remove(Network *n) {
        if (n->route_table == 0)
                return;
        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                unsigned changed = 0;
                int k = wg_backend_full_tunnel_set(n->manager->backend, n->ifname, families[i], n->route_table, false,
                                                   &changed);
                if (k < 0)
                        log_warning("%s: cannot take the policy rules of table %u away: %s", n->ifname, n->route_table,
                                    strerror(-k));
                else if (changed > 0)
                        log_info("%s: default route through the tunnel taken away (%s)", n->ifname,
                                 family_name(families[i]));
        }
        n->full_tunnel_families = 0;
}

void network_full_tunnel_undo(Network *n) {
        network_full_tunnel_remove(n);
        if (!n->active || n->route_table == 0)
                return;
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        if (wg_device_new(n->ifname, &d) < 0)
                return;
        d->fwmark = 0;
        d->flags |= WGDEVICE_HAS_FWMARK;
        if (wg_backend_set_device(n->manager->backend, d) < 0)
                log_warning("%s: cannot take the fwmark %u off the device", n->ifname, n->route_table);
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
                if (wg_backend_get_device(m->backend, n->ifname, &d) >= 0 && d->fwmark > 255 &&
                    !table_taken(m, n, d->fwmark)) {
                        n->route_table = d->fwmark;
                        return 0;
                }
        }
        _cleanup_(freep) uint8_t *used = malloc(FULL_TUNNEL_TABLE_TRIES);
        if (!used)
                return -ENOMEM;
        r = wg_backend_tables_in_use(m->backend, FULL_TUNNEL_TABLE_FIRST, FULL_TUNNEL_TABLE_TRIES, used);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < FULL_TUNNEL_TABLE_TRIES; i++)
                if (!used[i] && !table_taken(m, n, FULL_TUNNEL_TABLE_FIRST + i)) {
                        n->route_table = FULL_TUNNEL_TABLE_FIRST + i;
                        return 0;
                }
        return -ENOSPC;
}
