/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Network.GetMetrics and Network.GetMetricsColumns (in network_vtable): everything the
 * Prometheus exporter needs about a network's peers in one call, from the state the tick
 * refreshed (no device read, unlike GetStats: a scrape must not cost a UAPI dump of 10,000
 * peers). Read access, no secrets. */
#include "bus-util.h"
#include "manager.h"
#include "network.h"
#include "peer.h"
#include "wgnet-error.h"

/* A peer's server-side AllowedIPs, comma-separated; a very long list is cut at a whole
 * prefix. */
static void peer_allowed_ips_string(const Peer *p, char *buf, size_t size) {
        size_t w = 0;

        buf[0] = 0;
        for (size_t i = 0; i < p->n_addresses + p->n_site_networks; i++) {
                const IpPrefix *a = i < p->n_addresses ? &p->addresses[i] : &p->site_networks[i - p->n_addresses];
                char s[IP_PREFIX_STRLEN];
                int k = snprintf(buf + w, size - w, "%s%s", i ? "," : "", ip_prefix_to_string(a, s));
                if (k < 0 || (size_t) k >= size - w) {
                        buf[w] = 0;
                        break;
                }
                w += (size_t) k;
        }
}

int network_method_get_metrics(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ossstttbbb)");
        for (Peer *p = n->peers; r >= 0 && p; p = p->next) {
                char key[WG_KEY_B64_SIZE], allowed[2048];

                wg_key_to_base64(key, p->public_key);
                peer_allowed_ips_string(p, allowed, sizeof(allowed));
                r = sd_bus_message_append(reply, "(ossstttbbb)", p->path, p->name, key, allowed, p->last_handshake,
                                          p->rx_bytes, p->tx_bytes, p->online, p->enabled, p->rotation_pending);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The same data by column, for the exporter: a few large arrays instead of 10 values per
 * peer, which is what costs (sd-bus appending and reading them one by one, dbus-daemon
 * validating them): names, public keys (32 bytes each, one after the other), AllowedIPs,
 * last handshake µs, rx, tx, flags (WGNET_METRICS_*). Row i of each column is one peer. */
int network_method_get_metrics_columns(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) uint8_t *keys = NULL, *flags = NULL;
        _cleanup_(freep) uint64_t *numbers = NULL;
        size_t k = 0, i;
        Peer *p;
        int r;

        for (p = n->peers; p; p = p->next)
                k++;
        keys = malloc(k * WG_KEY_LEN + 1);
        flags = malloc(k + 1);
        numbers = malloc(3 * (k + 1) * sizeof(uint64_t));
        if (!keys || !flags || !numbers)
                return -ENOMEM;
        uint64_t *hs = numbers, *rx = numbers + k, *tx = numbers + 2 * k;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "s");
        for (p = n->peers, i = 0; r >= 0 && p; p = p->next, i++) {
                r = sd_bus_message_append_basic(reply, 's', p->name);
                memcpy(keys + i * WG_KEY_LEN, p->public_key, WG_KEY_LEN);
                hs[i] = p->last_handshake;
                rx[i] = p->rx_bytes;
                tx[i] = p->tx_bytes;
                flags[i] = (p->online ? WGNET_METRICS_ONLINE : 0) | (p->enabled ? WGNET_METRICS_ENABLED : 0) |
                           (p->rotation_pending ? WGNET_METRICS_ROTATION_PENDING : 0);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', keys, k * WG_KEY_LEN);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "s");
        for (p = n->peers; r >= 0 && p; p = p->next) {
                char allowed[2048];
                peer_allowed_ips_string(p, allowed, sizeof(allowed));
                r = sd_bus_message_append_basic(reply, 's', allowed);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 't', hs, k * sizeof(uint64_t));
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 't', rx, k * sizeof(uint64_t));
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 't', tx, k * sizeof(uint64_t));
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', flags, k);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
