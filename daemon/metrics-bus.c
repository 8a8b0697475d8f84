/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Network.GetMetrics (in network_vtable): everything the Prometheus exporter needs about a
 * network's peers in one call, from the state the tick refreshed (no device read, unlike
 * GetStats: a scrape must not cost a UAPI dump of 10,000 peers). Read access, no secrets. */
#include "bus-util.h"
#include "manager.h"
#include "network.h"
#include "peer.h"

int network_method_get_metrics(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ossstttbbb)");
        for (Peer *p = n->peers; r >= 0 && p; p = p->next) {
                _cleanup_(freep) IpPrefix *ips = NULL;
                char key[WG_KEY_B64_SIZE], allowed[2048] = "";
                size_t n_ips = 0, w = 0;

                wg_key_to_base64(key, p->public_key);
                r = peer_server_allowed_ips(p, &ips, &n_ips);
                for (size_t i = 0; r >= 0 && i < n_ips; i++) {
                        char buf[IP_PREFIX_STRLEN];
                        int k = snprintf(allowed + w, sizeof(allowed) - w, "%s%s", i ? "," : "",
                                         ip_prefix_to_string(&ips[i], buf));
                        if (k < 0 || (size_t) k >= sizeof(allowed) - w)
                                break;  /* a very long list is cut at a whole prefix */
                        w += (size_t) k;
                }
                if (r >= 0)
                        r = sd_bus_message_append(reply, "(ossstttbbb)", p->path, p->name, key, allowed,
                                                  p->last_handshake, p->rx_bytes, p->tx_bytes, p->online, p->enabled,
                                                  p->rotation_pending);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
