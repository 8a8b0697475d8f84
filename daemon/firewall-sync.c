/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Keep the nftables table "inet wgnet" and IP forwarding in line with the active networks.
 * The ruleset text comes from lib/firewall.c; it is applied through libnftables in one
 * transaction, when it differs from what was applied last, when the table is gone (a "nft
 * flush ruleset"), or a minute after the last time (which repairs a rule changed behind
 * our back). Forwarding is switched on only once the table is in place. */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <nftables/libnftables.h>
#include <time.h>

#include "firewall.h"
#include "firewall-sync.h"
#include "log.h"
#include "manager.h"
#include "mesh.h"
#include "network.h"
#include "peer.h"

#define FIREWALL_REAPPLY_USEC (60ULL * 1000000ULL)

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

bool network_needs_forwarding(const Network *n) {
        /* Only host addresses (an imported client config: Address = 10.2.0.2/32): this host
         * is an end of the tunnel, not a router, as wg-quick would leave it. */
        bool hosts_only = true;
        for (size_t i = 0; i < n->n_subnets; i++)
                if (n->subnets[i].prefixlen < ip_family_bits(n->subnets[i].family))
                        hosts_only = false;
        if (hosts_only)
                return false;
        switch (n->mode) {
        case NETWORK_MODE_HUB:
                /* Clients reach each other through the hub unless isolated. */
                return !n->peer_isolation;
        case NETWORK_MODE_MESH:
                /* Members reach each other directly: only an exit node forwards. */
                return mesh_network_masquerades(n);
        default:
                return true;
        }
}

int write_sysctl(const char *path, const char *value) {
        _cleanup_(closep) int fd = open(path, O_RDWR | O_CLOEXEC);
        char cur[8] = { 0 };

        if (fd < 0)
                return -errno;
        if (read(fd, cur, sizeof cur - 1) > 0 && cur[0] == value[0])
                return 0;
        if (pwrite(fd, value, strlen(value), 0) < 0)
                return -errno;
        return 1;
}

static int read_sysctl_int(const char *path) {
        _cleanup_(closep) int fd = open(path, O_RDONLY | O_CLOEXEC);
        char cur[16] = { 0 };
        if (fd < 0 || read(fd, cur, sizeof cur - 1) <= 0)
                return -1;
        return atoi(cur);
}

/* With IPv6 forwarding on, the kernel takes router advertisements only on interfaces with
 * accept_ra=2, and drops the default routes it learned from them at once: a host whose
 * uplink is configured by the kernel's SLAAC (accept_ra=1) would lose its IPv6 default
 * route. Those interfaces (Ethernet-like, present now) get accept_ra=2 first, as they had
 * it in effect. (networkd and NetworkManager take advertisements themselves, with
 * accept_ra=0: left alone.) */
static void keep_router_advertisements(void) {
        DIR *d = opendir("/proc/sys/net/ipv6/conf");
        struct dirent *de;
        char path[PATH_MAX], fwd[PATH_MAX];

        if (!d)
                return;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || streq(de->d_name, "all") || streq(de->d_name, "default"))
                        continue;
                /* Ethernet-like uplinks only: not lo, not a WireGuard or tun interface (a peer
                 * whose AllowedIPs cover fe80:: would send advertisements through it). */
                snprintf(path, sizeof(path), "/sys/class/net/%s/type", de->d_name);
                if (read_sysctl_int(path) != 1)         /* ARPHRD_ETHER */
                        continue;
                snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_ra", de->d_name);
                snprintf(fwd, sizeof(fwd), "/proc/sys/net/ipv6/conf/%s/forwarding", de->d_name);
                if (read_sysctl_int(path) != 1 || read_sysctl_int(fwd) != 0)
                        continue;
                if (write_sysctl(path, "2") > 0)
                        log_notice("%s: accept_ra=2, so that it keeps taking router advertisements (and its "
                                   "default route) with IPv6 forwarding on", de->d_name);
        }
        closedir(d);
}

/* A failure is logged when it is new (a read-only /proc/sys in a container would otherwise
 * log on every tick). */
static void enable_forwarding(Manager *m, bool v4, bool v6) {
        static const struct {
                const char *path, *what;
        } sysctl[2] = {
                { "/proc/sys/net/ipv4/ip_forward", "IPv4 forwarding (net.ipv4.ip_forward=1)" },
                { "/proc/sys/net/ipv6/conf/all/forwarding", "IPv6 forwarding (net.ipv6.conf.all.forwarding=1)" },
        };
        for (int i = 0; i < 2; i++) {
                if (!(i == 0 ? v4 : v6))
                        continue;
                if (i == 1 && read_sysctl_int(sysctl[i].path) == 0)
                        keep_router_advertisements();
                int r = write_sysctl(sysctl[i].path, "1");
                if (r > 0)
                        log_notice("Switched on %s for wgnet's networks", sysctl[i].what);
                else if (r < 0 && r != m->forwarding_error[i])
                        log_warning("Cannot switch on %s: %s", sysctl[i].what, strerror(-r));
                m->forwarding_error[i] = r < 0 ? r : 0;
        }
}

/* libnftables exits the process when it cannot open its netlink socket: check first. */
static int nft_available(void) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
        if (fd < 0)
                return -errno;
        close(fd);
        return 0;
}

/* Does table inet wgnet exist? (A "nft flush ruleset", or nftables.service reloading its
 * /etc/nftables.conf, removes it behind wgnet's back.) */
static bool nft_table_exists(void) {
        struct nft_ctx *ctx = nft_available() < 0 ? NULL : nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return true;    /* cannot tell: the periodic reapply stays the repair */
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        bool exists = nft_run_cmd_from_buffer(ctx, "list table inet " FIREWALL_TABLE) == 0;
        nft_ctx_free(ctx);
        return exists;
}

static int nft_apply(const char *script, char **ret_error) {
        struct nft_ctx *ctx;
        int r;

        r = nft_available();
        if (r < 0) {
                *ret_error = strdup("nf_tables is not available in this kernel (no NETLINK_NETFILTER socket)");
                return r;
        }
        ctx = nft_ctx_new(NFT_CTX_DEFAULT);

        if (!ctx)
                return -ENOMEM;
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        r = nft_run_cmd_from_buffer(ctx, script);
        if (r != 0) {
                const char *e = nft_ctx_get_error_buffer(ctx);
                *ret_error = strdup(e && *e ? e : "unknown error");
                r = -EIO;
        }
        nft_ctx_free(ctx);
        return r;
}

/* The address families a network forwards: its subnets', and the routes through it (extra
 * routes, site networks behind gateways: an IPv4 network may carry a site's IPv6 LAN). */
static void forwarded_families(const Network *net, bool *v4, bool *v6) {
        for (size_t k = 0; k < net->n_subnets; k++) {
                *v4 = *v4 || net->subnets[k].family == AF_INET;
                *v6 = *v6 || net->subnets[k].family == AF_INET6;
        }
        for (size_t k = 0; k < net->n_extra_routes; k++) {
                *v4 = *v4 || net->extra_routes[k].family == AF_INET;
                *v6 = *v6 || net->extra_routes[k].family == AF_INET6;
        }
        if (net->mode == NETWORK_MODE_MESH || (*v4 && *v6))
                return;
        for (const Peer *p = net->peers; p; p = p->next)
                for (size_t k = 0; k < p->n_site_networks; k++) {
                        *v4 = *v4 || p->site_networks[k].family == AF_INET;
                        *v6 = *v6 || p->site_networks[k].family == AF_INET6;
                }
}

int manager_firewall_sync(Manager *m, bool force) {
        _cleanup_(freep) FirewallNetwork *nets = NULL;
        _cleanup_(freep) char *script = NULL, *error = NULL;
        size_t n = 0, i = 0;
        bool v4 = false, v6 = false;
        Network *net;
        int r;

        if (!m->firewall_enabled) {
                if (m->firewall_remove_stale) {
                        /* Firewall=no: a table left by an earlier run with the firewall on
                         * would go on masquerading and dropping for networks it no longer
                         * follows. */
                        m->firewall_remove_stale = false;
                        if (nft_available() >= 0 && nft_table_exists() &&
                            nft_apply("delete table inet " FIREWALL_TABLE "\n", &error) >= 0)
                                log_notice("Removed the nftables table inet " FIREWALL_TABLE
                                           " of an earlier run: the firewall is off");
                }
                return 0;
        }

        HASHMAP_FOREACH(net, m->networks_by_id, it)
                n += net->active;
        nets = calloc(MAX(n, 1u), sizeof *nets);
        if (!nets)
                return -ENOMEM;

        HASHMAP_FOREACH(net, m->networks_by_id, it2) {
                if (!net->active || i >= n)
                        continue;
                bool nat = net->mode == NETWORK_MODE_GATEWAY || net->mode == NETWORK_MODE_SPLIT ||
                           mesh_network_masquerades(net);      /* a mesh exit node */
                nets[i++] = (FirewallNetwork) {
                        .ifname = net->ifname,
                        .isolation = net->peer_isolation,
                        .hub = net->mode == NETWORK_MODE_HUB,
                        .nat_ifname = nat ? net->nat_interface : NULL,
                        .subnets = net->subnets,
                        .n_subnets = net->n_subnets,
                        .full_tunnel_mark = net->full_tunnel_families ? net->route_table : 0,
                };
                if (network_needs_forwarding(net))
                        forwarded_families(net, &v4, &v6);
        }

        /* Hash order is not stable: sort by interface name so equal states give equal text. */
        for (size_t a = 1; a < i; a++)
                for (size_t b = a; b > 0 && strcmp(nets[b - 1].ifname, nets[b].ifname) > 0; b--) {
                        FirewallNetwork t = nets[b];
                        nets[b] = nets[b - 1];
                        nets[b - 1] = t;
                }

        /* Nothing to remove where nf_tables does not exist. */
        if (i == 0 && nft_available() < 0)
                return 0;

        r = firewall_ruleset(nets, i, &script);
        if (r < 0) {
                log_error("Cannot build the firewall ruleset: %s", strerror(-r));
                return r;
        }
        uint64_t now = now_usec();
        bool same = m->firewall_applied && streq(m->firewall_applied, script);
        if (!force && same && now - m->firewall_applied_usec < FIREWALL_REAPPLY_USEC) {
                if (i == 0 || nft_table_exists()) {
                        enable_forwarding(m, v4, v6);
                        return 0;
                }
                log_notice("The nftables table inet " FIREWALL_TABLE " was removed by another program: restoring it");
        }

        r = nft_apply(script, &error);
        if (r < 0) {
                /* Fails closed: no forwarding switched on without the table's drops. Logged
                 * once per ruleset, retried on every tick. */
                if (!m->firewall_failed || !streq(m->firewall_failed, script))
                        log_error("Cannot apply the nftables table inet " FIREWALL_TABLE ": %s; IP forwarding "
                                  "is not switched on until it applies", error ? error : strerror(-r));
                free(m->firewall_failed);
                m->firewall_failed = TAKE_PTR(script);
                free(m->firewall_applied);
                m->firewall_applied = NULL;
                return r;
        }
        if (!same)
                log_info("Applied nftables table inet " FIREWALL_TABLE " for %zu active network(s)", i);
        free(m->firewall_failed);
        m->firewall_failed = NULL;
        free(m->firewall_applied);
        m->firewall_applied = TAKE_PTR(script);
        m->firewall_applied_usec = now;
        enable_forwarding(m, v4, v6);
        return 0;
}
