/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Keep the nftables table "inet wgnet" and IP forwarding in line with the active networks.
 * The ruleset text comes from lib/firewall.c; it is applied through libnftables in one
 * transaction, and only when it differs from what was applied last (or a minute passed,
 * which repairs a table removed behind our back). */

#include <fcntl.h>
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
        default:
                return true;
        }
}

static int write_sysctl(const char *path, const char *value) {
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

static void enable_forwarding(bool v4, bool v6) {
        int r;
        if (v4) {
                r = write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
                if (r > 0)
                        log_notice("Switched on IPv4 forwarding (net.ipv4.ip_forward=1) for wgnet's networks");
                else if (r < 0)
                        log_warning("Cannot switch on IPv4 forwarding: %s", strerror(-r));
        }
        if (v6) {
                r = write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
                if (r > 0)
                        log_notice("Switched on IPv6 forwarding (net.ipv6.conf.all.forwarding=1) for wgnet's networks");
                else if (r < 0)
                        log_warning("Cannot switch on IPv6 forwarding: %s", strerror(-r));
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

int manager_firewall_sync(Manager *m, bool force) {
        _cleanup_(freep) FirewallNetwork *nets = NULL;
        _cleanup_(freep) char *script = NULL, *error = NULL;
        size_t n = 0, i = 0;
        bool v4 = false, v6 = false;
        Network *net;
        int r;

        if (!m->firewall_enabled)
                return 0;

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
                        .nat_ifname = nat ? net->nat_interface : NULL,
                        .subnets = net->subnets,
                        .n_subnets = net->n_subnets,
                };
                if (network_needs_forwarding(net))
                        for (size_t k = 0; k < net->n_subnets; k++) {
                                v4 = v4 || net->subnets[k].family == AF_INET;
                                v6 = v6 || net->subnets[k].family == AF_INET6;
                        }
        }

        /* Hash order is not stable: sort by interface name so equal states give equal text. */
        for (size_t a = 1; a < i; a++)
                for (size_t b = a; b > 0 && strcmp(nets[b - 1].ifname, nets[b].ifname) > 0; b--) {
                        FirewallNetwork t = nets[b];
                        nets[b] = nets[b - 1];
                        nets[b - 1] = t;
                }

        enable_forwarding(v4, v6);
        /* Nothing to remove where nf_tables does not exist. */
        if (i == 0 && nft_available() < 0)
                return 0;

        r = firewall_ruleset(nets, i, &script);
        if (r < 0) {
                log_error("Cannot build the firewall ruleset: %s", strerror(-r));
                return r;
        }
        uint64_t now = now_usec();
        if (!force && m->firewall_applied && streq(m->firewall_applied, script) &&
            now - m->firewall_applied_usec < FIREWALL_REAPPLY_USEC)
                return 0;

        r = nft_apply(script, &error);
        if (r < 0) {
                /* Logged once per change of the ruleset (or a minute): retried then. */
                log_error("Cannot apply the nftables table inet " FIREWALL_TABLE ": %s", error ? error : strerror(-r));
                free(m->firewall_applied);
                m->firewall_applied = TAKE_PTR(script);
                m->firewall_applied_usec = now;
                return r;
        }
        if (!m->firewall_applied || !streq(m->firewall_applied, script))
                log_info("Applied nftables table inet " FIREWALL_TABLE " for %zu active network(s)", i);
        free(m->firewall_applied);
        m->firewall_applied = TAKE_PTR(script);
        m->firewall_applied_usec = now;
        return 0;
}
