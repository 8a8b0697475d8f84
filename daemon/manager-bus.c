/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <net/if.h>

#include "audit.h"
#include "bus-util.h"
#include "db-mesh.h"
#include "db.h"
#include "firewall-sync.h"
#include "log.h"
#include "manager.h"
#include "network-options.h"
#include "network.h"
#include "peer-add.h"
#include "peer.h"
#include "polkit.h"
#include "mesh.h"
#include "tunnel.h"
#include "validate.h"
#include "wgconf.h"
#include "wgnet-error.h"

int network_set_active(Network *n, bool active, sd_bus_error *error);

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", WGNET_VERSION);
}

static int property_get_backend(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", wg_backend_type_to_string(wg_backend_type(m->backend)));
}

/* BEGIN, then the network's row: NetworkExists when its name or interface is taken. On
 * success the transaction stays open for the caller's further rows; on failure it is
 * rolled back. */
int manager_insert_network(Manager *m, Network *n, sd_bus_error *error) {
        int r = db_begin(m->db);
        if (r < 0)
                return r;
        r = db_network_insert(m->db, n);
        if (r < 0)
                db_rollback(m->db);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NetworkExists",
                                         "A network with name '%s' or interface '%s' exists", n->name, n->ifname);
        return r;
}

/* A new network's interface: the option Interface, or its name. */
static const char *network_ifname(const char *name, const BusOption *opts) {
        return opts[NETOPT_INTERFACE].set ? opts[NETOPT_INTERFACE].s : name;
}

/* Create, persist and (optionally) activate a network. private_key: NULL = generate. */
static int network_create(Manager *m, const char *name, BusOption *opts, NetworkSettings *s,
                          const uint8_t *private_key, Network **ret, sd_bus_error *error) {
        _cleanup_(network_freep) Network *n = NULL;
        const char *changed[17];
        uint8_t key[WG_KEY_LEN];
        size_t len;
        int r;

        r = network_new(m, m->next_network_id, name,
                        network_ifname(name, opts), &n);
        if (r < 0)
                return r;
        n->created_at = now_usec();
        n->listen_port = manager_free_listen_port(m);
        r = network_settings_apply(n, opts, s, changed);
        if (r < 0)
                return r;
        if (private_key)
                memcpy(key, private_key, WG_KEY_LEN);
        else if ((r = wg_key_generate_private(key)) < 0)
                return r;
        r = wg_key_public_from_private(n->public_key, key);
        if (r >= 0)
                r = manager_seal(m, "networks.private_key", n->id, key, n->private_key_sealed,
                                 sizeof(n->private_key_sealed), &len);
        wg_wipe(key, sizeof(key));
        if (r < 0)
                return r;
        n->active = opts[NETOPT_ACTIVATE].set ? opts[NETOPT_ACTIVATE].b : true;

        r = manager_insert_network(m, n, error);
        if (r < 0)
                return r;
        if (n->mode == NETWORK_MODE_MESH) {
                /* The mesh's row in the network's transaction: a network in mode mesh
                 * without it would load none of its members after a restart. */
                Mesh *mesh = network_mesh(n);
                r = mesh ? db_mesh_save(m->db, mesh) : -ENOMEM;
                if (r < 0) {
                        db_rollback(m->db);
                        return r;
                }
        }
        *ret = n;       /* the caller inserts peers (import) in the same transaction, then commits */
        TAKE_PTR(n);
        return 0;
}

static int network_finish_create(Manager *m, Network *n, sd_bus_error *error) {
        /* An imported interface that already runs is adopted; on failure only an interface
         * this call created is removed, never a running one. */
        bool existed = n->active && wg_backend_exists(m->backend, n->ifname);
        bool intent = false;
        int r;

        if (n->active) {
                /* A crash between the device and the commit would leave an interface no
                 * network owns: the intent, on disk first, has the next start remove it. */
                if (!existed) {
                        r = manager_creating_interface(m, n->ifname, true);
                        if (r < 0) {
                                db_rollback(m->db);
                                return bus_reply_errno(error, r, "Cannot record the creation of %s", n->ifname);
                        }
                        intent = true;
                }
                r = network_apply(n, false);
                if (r < 0) {
                        db_rollback(m->db);
                        if (!existed)
                                (void) network_deactivate_device(n);
                        if (intent)
                                (void) manager_creating_interface(m, n->ifname, false);
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed",
                                                 "Cannot bring up interface %s: %s", n->ifname, strerror(-r));
                }
        }
        r = db_commit(m->db);
        if (r < 0) {
                db_rollback(m->db);
                if (n->active && !existed)
                        (void) network_deactivate_device(n);
        }
        if (intent)
                (void) manager_creating_interface(m, n->ifname, false);
        return r;
}

static int check_new_network(Manager *m, const char *name, BusOption *opts, sd_bus_error *error) {
        if (!network_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid network name '%s': 1-64 characters of letters, digits, '_.@+-' and inner spaces",
                                         name);
        if (hashmap_get(m->networks_by_name, name))
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NetworkExists", "Network '%s' exists", name);
        const char *ifn = network_ifname(name, opts);
        if (!opts[NETOPT_INTERFACE].set && !ifname_is_valid(ifn))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Network name '%s' is not a valid interface name: give the option Interface", name);
        Network *o;
        HASHMAP_FOREACH(o, m->networks_by_id, i)
                if (streq(o->ifname, ifn))
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InterfaceInUse",
                                                 "Interface '%s' is used by network '%s'", ifn, o->name);
        Tunnel *t = manager_tunnel_by_ifname(m, ifn);
        if (t)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InterfaceInUse",
                                         "Interface '%s' is used by tunnel '%s'", ifn, t->name);
        /* An Ethernet port, a bridge: the device could never be made (it was committed all
         * the same, inactive, and no Activate could succeed). */
        if (m->backend && if_nametoindex(ifn) > 0 && !wg_backend_exists(m->backend, ifn))
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InterfaceInUse",
                                         "Interface '%s' exists and is not a WireGuard interface", ifn);
        return 0;
}

static int network_publish(Manager *m, Network *n) {
        int r = network_attach(n);
        if (r < 0)
                return r;
        m->next_network_id++;
        (void) sd_bus_emit_object_added(m->bus, n->path);
        log_debug("%s: network published (interface %s, %s mode)", n->name, n->ifname, network_mode_to_string(n->mode));
        /* Forwarding, isolation and NAT from the first packet, not from the next tick. */
        (void) manager_firewall_sync(m, false);
        return 0;
}

static int method_create_network(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        BusOption opts[_NETOPT_MAX] = NETWORK_OPTIONS_INIT;
        NetworkSettings s = {0};
        Network *n = NULL;
        const char *name;
        int r;

        /* The subnet checks must see the queued AddPeer calls' site networks (once allowed). */
        manager_flush_adds_if_allowed(mgr, m);
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &name);
        if (r >= 0)
                r = bus_read_options(m, opts, _NETOPT_MAX, error);
        if (r >= 0)
                r = check_new_network(mgr, name, opts, error);
        if (r >= 0) {
                /* A WireGuard interface that runs without wgnet is someone's: creating would
                 * overwrite its key and drop its peers. ImportNetwork adopts it. */
                const char *ifn = network_ifname(name, opts);
                if (wg_backend_exists(mgr->backend, ifn))
                        r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InterfaceInUse",
                                              "Interface '%s' exists and is not managed by wgnet: "
                                              "use ImportNetwork to adopt it", ifn);
        }
        if (r >= 0)
                r = network_settings_check(mgr, NULL, network_ifname(name, opts), opts, NETWORK_CHECK_CREATE, &s, error);
        if (r >= 0) {
                r = manager_verify(mgr, m, error);
                if (r == 0) {
                        r = 1;
                        goto finish;
                }
        }
        if (r >= 0)
                r = network_create(mgr, name, opts, &s, NULL, &n, error);
        if (r >= 0) {
                r = network_finish_create(mgr, n, error);
                if (r < 0)
                        n = network_free(n);
        }
        if (r >= 0)
                r = network_publish(mgr, n);
        if (r >= 0) {
                audit_log(m, AUDIT_NETWORK_CREATED, n, NULL, "%s: network created (interface %s, %s mode)",
                          n->name, n->ifname, network_mode_to_string(n->mode));
                r = sd_bus_reply_method_return(m, "o", n->path);
        }
        else
                r = bus_reply_errno(error, r, "Cannot create network '%s'", name);
finish:
        bus_options_done(opts, _NETOPT_MAX);
        network_settings_done(&s);
        return r;
}

/* ImportNetwork: an existing wg-quick config (typically /etc/wireguard/IF.conf) becomes a
 * network; its peers are adopted with their keys. A peer's AllowedIPs that are single
 * addresses inside the network's subnets become its addresses, the rest its site networks
 * (routes through it): a client-side config (Address 10.0.0.2/32, one server peer with
 * AllowedIPs 0.0.0.0/0) is a network of one host address and one site-gateway peer. The
 * device ends up holding what `wg-quick up` would give it. An interface that is already up
 * is adopted: activation only applies differences, so traffic keeps flowing. */

typedef struct ImportPrefix {
        IpPrefix prefix;        /* masked, as wg keeps it */
        size_t peer;            /* index in the config */
        size_t order;
} ImportPrefix;

static int import_prefix_cmp(const void *a, const void *b) {
        const ImportPrefix *x = a, *y = b;
        int c = ip_prefix_compare(&x->prefix, &y->prefix);
        if (c != 0)
                return c;
        return x->order < y->order ? -1 : x->order > y->order;
}

/* wg keeps an allowed IP on the last peer that names it (a later peer takes it over). Marks
 * in keep[] (one flag per allowed IP, in config order) the entries that stay. */
static int import_dedup_allowed_ips(WgConf *c, bool **ret_keep, size_t *ret_total) {
        size_t total = 0, k = 0;
        for (size_t i = 0; i < c->n_peers; i++)
                total += c->peers[i].n_allowed_ips;
        _cleanup_(freep) ImportPrefix *all = calloc(total + 1, sizeof(ImportPrefix));
        _cleanup_(freep) bool *keep = calloc(total + 1, sizeof(bool));
        if (!all || !keep)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_peers; i++)
                for (size_t a = 0; a < c->peers[i].n_allowed_ips; a++, k++) {
                        all[k] = (ImportPrefix) { .prefix = c->peers[i].allowed_ips[a], .peer = i, .order = k };
                        ip_prefix_mask(&all[k].prefix);
                }
        qsort(all, total, sizeof(ImportPrefix), import_prefix_cmp);
        for (size_t i = 0; i < total; i++) {
                bool last = i + 1 == total || !ip_prefix_equal(&all[i].prefix, &all[i + 1].prefix);
                if (last)
                        keep[all[i].order] = true;
                else if (all[i].peer != all[i + 1].peer) {
                        char buf[IP_PREFIX_STRLEN];
                        log_notice("import: AllowedIPs %s of peer %zu is taken over by peer %zu, as wg does",
                                   ip_prefix_to_string(&all[i].prefix, buf), all[i].peer + 1, all[i + 1].peer + 1);
                }
        }
        *ret_keep = TAKE_PTR(keep);
        *ret_total = total;
        return 0;
}

static int import_peers(Network *n, WgConf *c, sd_bus_error *error) {
        Manager *m = n->manager;
        uint64_t now = now_usec();
        _cleanup_(freep) bool *keep = NULL;
        _cleanup_(strv_freep) char **names = NULL;
        size_t total, k = 0;
        int r;

        r = import_dedup_allowed_ips(c, &keep, &total);
        if (r < 0)
                return r;
        /* the network is new: the file's peers are the only ones whose names count */
        r = peer_import_names(c, &names);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_peers; i++) {
                WgConfPeer *cp = &c->peers[i];
                _cleanup_(peer_freep) Peer *p = NULL;
                const char *pname = names[i];
                size_t len;

                if (wg_key_is_zero(cp->public_key) || wg_key_equal(cp->public_key, n->public_key)) {
                        char key[WG_KEY_B64_SIZE];
                        wg_key_to_base64(key, cp->public_key);
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InvalidKey",
                                                 "Peer %zu: public key '%s' cannot be used for a peer (%s)", i + 1, key,
                                                 wg_key_is_zero(cp->public_key) ? "all zero" :
                                                 "it is the interface's own key");
                }
                if (hashmap_get(n->peers_by_key, cp->public_key)) {
                        char key[WG_KEY_B64_SIZE];
                        wg_key_to_base64(key, cp->public_key);
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PeerExists",
                                                 "Public key '%s' appears twice in the config", key);
                }
                r = peer_new(n, m->next_peer_id, pname, &p);
                if (r < 0)
                        return r;
                memcpy(p->public_key, cp->public_key, WG_KEY_LEN);
                p->created_at = p->updated_at = now;
                if (cp->endpoint) {
                        free(p->remote_endpoint);
                        p->remote_endpoint = strdup(cp->endpoint);
                        if (!p->remote_endpoint)
                                return -ENOMEM;
                }
                if (cp->has_preshared_key) {
                        r = manager_seal(m, "peers.preshared_key", p->id, cp->preshared_key, p->psk_sealed,
                                         sizeof(p->psk_sealed), &len);
                        if (r < 0)
                                return r;
                        p->has_psk = true;
                }
                p->addresses = calloc(cp->n_allowed_ips + 1, sizeof(IpPrefix));
                p->site_networks = calloc(cp->n_allowed_ips + 1, sizeof(IpPrefix));
                if (!p->addresses || !p->site_networks)
                        return -ENOMEM;
                for (size_t a = 0; a < cp->n_allowed_ips; a++) {
                        IpPrefix masked = cp->allowed_ips[a];
                        bool inside = false;
                        if (!keep[k++])
                                continue;
                        ip_prefix_mask(&masked);
                        for (size_t j = 0; j < n->n_subnets; j++)
                                inside = inside || ip_prefix_contains(&n->subnets[j], &masked);
                        /* A single address in a subnet is the peer's own (unless it is the
                         * server's, or reserved); anything else is routed through the peer. */
                        if (inside && masked.prefixlen == ip_family_bits(masked.family) &&
                            network_reserve_addresses(n, &masked, 1) >= 0)
                                p->addresses[p->n_addresses++] = masked;
                        else
                                p->site_networks[p->n_site_networks++] = masked;
                }
                if (p->n_site_networks > 0)
                        p->role = PEER_ROLE_SITE_GATEWAY;
                /* The device gets the keepalive the config gives, whatever the role; without
                 * one, a client peer keeps wgnet's default for its own config. */
                p->keepalive_on_device = cp->has_persistent_keepalive;
                p->keepalive = cp->has_persistent_keepalive ? cp->persistent_keepalive
                             : p->role == PEER_ROLE_SITE_GATEWAY ? 0 : PEER_DEFAULT_KEEPALIVE;
                r = db_peer_insert(m->db, p, NULL, 0);
                if (r < 0) {
                        network_release_addresses(n, p->addresses, p->n_addresses);
                        return r == -EEXIST ? sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PeerExists",
                                                                "Peer '%s' appears twice", pname) : r;
                }
                m->next_peer_id++;
                network_link_peer(n, TAKE_PTR(p));
        }
        return 0;
}

/* What wg-quick does beyond WireGuard and the address (scripts, a routing table of its own,
 * fwmark, SaveConfig) has no place in a network; the import says so in the journal.
 * (`Table = off` is kept: PeerRoutes and DefaultRoute off.) */
static void import_log_ignored(const char *name, const WgConf *c) {
        const char *what[8];
        size_t k = 0;
        if (c->n_pre_up + c->n_post_up + c->n_pre_down + c->n_post_down > 0 || c->hooks_dropped)
                what[k++] = "PreUp/PostUp/PreDown/PostDown";
        if (c->table && !streq(c->table, "auto") && !streq(c->table, "off"))
                what[k++] = "Table";
        if (c->has_fwmark && c->fwmark != 0)
                what[k++] = "FwMark";
        if (c->save_config >= 0)
                what[k++] = "SaveConfig";
        for (size_t i = 0; i < k; i++)
                log_notice("%s: the imported config's %s is not carried over (wg-quick only)", name, what[i]);
}

static int method_import_network(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        BusOption opts[_NETOPT_MAX] = NETWORK_OPTIONS_INIT;
        NetworkSettings s = {0};
        _cleanup_(wgconf_freep) WgConf *c = NULL;
        _cleanup_(freep) char *parse_error = NULL;
        char **subnets = NULL;
        Network *n = NULL;
        const char *name, *text;
        int r;

        bus_message_carries_secret(m);
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_read(m, "ss", &name, &text);
        if (r >= 0)
                r = bus_read_options(m, opts, _NETOPT_MAX, error);
        if (r < 0)
                goto finish;
        if (opts[NETOPT_ADDRESSES].set || opts[NETOPT_KEY_POLICY].set) {
                r = sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                     "Addresses and KeyPolicy come from the imported config");
                goto finish;
        }
        /* Authorized before the config is parsed: the text may be up to a bus message's
         * 32 MiB, and anyone may call. */
        r = manager_verify(mgr, m, error);
        if (r <= 0) {
                r = r < 0 ? r : 1;
                goto finish;
        }
        r = wgconf_parse(text, strlen(text), &c, &parse_error);
        if (r < 0) {
                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InvalidConfig", "Invalid config: %s",
                                      parse_error ? parse_error : strerror(-r));
                goto finish;
        }
        if (!c->has_interface || !c->has_private_key) {
                r = sd_bus_error_set(error, WGNET_ERROR_PREFIX "InvalidConfig",
                                     "Invalid config: an [Interface] section with a PrivateKey is needed");
                goto finish;
        }
        /* The interface addresses become the subnets (none is fine: a config for `wg setconf`
         * with every peer's AllowedIPs routed); DNS, MTU and port come along. */
        subnets = calloc(c->n_addresses + 1, sizeof(char *));
        if (!subnets) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < c->n_addresses; i++) {
                char buf[IP_PREFIX_STRLEN];
                subnets[i] = strdup(ip_prefix_to_string(&c->addresses[i], buf));
                if (!subnets[i]) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        opts[NETOPT_ADDRESSES].set = true;
        opts[NETOPT_ADDRESSES].as = TAKE_PTR(subnets);
        if (c->has_listen_port && !opts[NETOPT_LISTEN_PORT].set) {
                opts[NETOPT_LISTEN_PORT].set = true;
                opts[NETOPT_LISTEN_PORT].q = c->listen_port;
        }
        if (c->has_mtu && !opts[NETOPT_MTU].set) {
                opts[NETOPT_MTU].set = true;
                opts[NETOPT_MTU].u = c->mtu;
        }
        if (c->n_dns > 0 && !opts[NETOPT_DNS].set) {
                opts[NETOPT_DNS].as = strv_copy(c->dns, c->n_dns);
                if (!opts[NETOPT_DNS].as) {
                        r = -ENOMEM;
                        goto finish;
                }
                opts[NETOPT_DNS].set = true;
        }
        /* A peer's default route takes the host's traffic, as `wg-quick up` has it, unless the
         * file says `Table = off` (or names a table of its own, which wgnet does not keep:
         * the journal says so) or the caller says DefaultRoute false. */
        if (!opts[NETOPT_DEFAULT_ROUTE].set) {
                opts[NETOPT_DEFAULT_ROUTE].set = true;
                opts[NETOPT_DEFAULT_ROUTE].b = (!c->table || streq(c->table, "auto")) && wgconf_has_default_route(c);
                /* ... and unless another network has it: one tunnel at a time. */
                Network *o;
                HASHMAP_FOREACH(o, mgr->networks_by_id, it)
                        if ((o->default_route || (o->mesh && !isempty(mesh_exit_via(o->mesh)))) &&
                            opts[NETOPT_DEFAULT_ROUTE].b) {
                                log_notice("%s: imported without DefaultRoute: %s '%s' has the default route", name,
                                           o->default_route ? "network" : "mesh", o->name);
                                opts[NETOPT_DEFAULT_ROUTE].b = false;
                        }
        }
        /* `Table = off`: no routes at all for the peers (a routing daemon makes them). */
        if (!opts[NETOPT_PEER_ROUTES].set && c->table && streq(c->table, "off")) {
                opts[NETOPT_PEER_ROUTES].set = true;
                opts[NETOPT_PEER_ROUTES].b = false;
        }
        r = check_new_network(mgr, name, opts, error);
        if (r >= 0)
                r = network_settings_check(mgr, NULL, network_ifname(name, opts), opts, NETWORK_CHECK_IMPORT, &s, error);
        if (r < 0)
                goto finish;

        r = network_create(mgr, name, opts, &s, c->private_key, &n, error);
        if (r < 0)
                goto finish;
        r = import_peers(n, c, error);
        if (r < 0) {
                db_rollback(mgr->db);
                n = network_free(n);
                goto finish;
        }
        r = network_finish_create(mgr, n, error);
        if (r < 0) {
                n = network_free(n);
                goto finish;
        }
        r = network_publish(mgr, n);
        if (r < 0)
                goto finish;
        for (Peer *p = n->peers; p; p = p->next)
                (void) sd_bus_emit_object_added(mgr->bus, p->path);
        import_log_ignored(n->name, c);
        audit_log(m, AUDIT_NETWORK_IMPORTED, n, NULL, "%s: network imported with %u peers (interface %s)",
                  n->name, n->n_peers, n->ifname);
        r = sd_bus_reply_method_return(m, "o", n->path);
finish:
        strv_free(subnets);
        bus_options_done(opts, _NETOPT_MAX);
        network_settings_done(&s);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot import network '%s'", name);
        return r;
}

static int method_get_network_by_name(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        const char *name;
        int r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        Network *n = hashmap_get(mgr->networks_by_name, name);
        if (!n)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NotFound", "No network '%s'", name);
        return sd_bus_reply_method_return(m, "o", n->path);
}

static int network_compare(const void *a, const void *b) {
        const Network *x = *(Network *const *) a, *y = *(Network *const *) b;
        return x->id < y->id ? -1 : x->id > y->id;
}

static int sorted_networks(Manager *m, Network ***ret, size_t *ret_n) {
        size_t n = hashmap_size(m->networks_by_id), k = 0;
        Network **l = calloc(n + 1, sizeof(Network *)), *net;
        if (!l)
                return -ENOMEM;
        HASHMAP_FOREACH(net, m->networks_by_id, i)
                l[k++] = net;
        qsort(l, n, sizeof(Network *), network_compare);
        *ret = l;
        *ret_n = n;
        return 0;
}

static int method_list_networks(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) Network **l = NULL;
        size_t n;
        int r;

        r = sorted_networks(mgr, &l, &n);
        if (r >= 0)
                r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(so)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(so)", l[i]->name, l[i]->path);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Backend", "s", property_get_backend, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("CreateNetwork", SD_BUS_ARGS("s", name, "a{sv}", options),
                                SD_BUS_RESULT("o", network), method_create_network, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetNetworkByName", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", network),
                                method_get_network_by_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListNetworks", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(so)", networks),
                                method_list_networks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ImportNetwork", SD_BUS_ARGS("s", name, "s", wg_quick_text, "a{sv}", options),
                                SD_BUS_RESULT("o", network), method_import_network, SD_BUS_VTABLE_UNPRIVILEGED),
        /* Node-to-node tunnels (tunnel-bus.c). */
        SD_BUS_METHOD_WITH_ARGS("CreateTunnel", SD_BUS_ARGS("s", name, "a{sv}", options),
                                SD_BUS_RESULT("o", tunnel), method_create_tunnel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ImportPairing", SD_BUS_ARGS("s", pairing, "a{sv}", options),
                                SD_BUS_RESULT("o", tunnel), method_import_pairing, SD_BUS_VTABLE_UNPRIVILEGED),
        /* Meshes (mesh-bus.c). */
        SD_BUS_METHOD_WITH_ARGS("JoinMesh", SD_BUS_ARGS("s", invitation, "a{sv}", options),
                                SD_BUS_RESULT("o", network), method_join_mesh, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int network_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                               void **found, sd_bus_error *error) {
        Network *n = manager_find_network_by_path(userdata, path);
        if (!n)
                return 0;
        *found = n;
        return 1;
}

static int peer_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                            void **found, sd_bus_error *error) {
        Peer *p = manager_find_peer_by_path(userdata, path);
        if (!p)
                return 0;
        *found = p;
        return 1;
}

static int network_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                   sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(freep) Network **l = NULL;
        size_t n;
        int r = sorted_networks(m, &l, &n);
        if (r < 0)
                return r;
        char **v = calloc(n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(v[i] = strdup(l[i]->path))) {
                        strv_free(v);
                        return -ENOMEM;
                }
        *nodes = v;
        return 0;
}

static int peer_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                sd_bus_error *error) {
        Manager *m = userdata;
        return bus_paths_of(m->peers_by_id, offsetof(Peer, path), nodes);
}

static int on_name_owner_changed(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *name, *old_owner, *new_owner;

        (void) ret_error;
        if (sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (name[0] == ':' && isempty(new_owner))
                polkit_registry_caller_gone(m->polkit, name);
        return 0;
}

int manager_bus_register(Manager *m) {
        int r;

        /* Callers that leave: only the names that go (arg2 empty), not every name change. */
        r = sd_bus_add_match(m->bus, NULL,
                             "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                             "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg2=''",
                             on_name_owner_changed, m);
        if (r >= 0)
                r = sd_bus_add_object_vtable(m->bus, NULL, WGNET_OBJECT_ROOT, WGNET_MANAGER_INTERFACE, manager_vtable, m);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(m->bus, NULL, WGNET_NETWORK_PREFIX, WGNET_NETWORK_INTERFACE,
                                               network_vtable, network_object_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(m->bus, NULL, WGNET_NETWORK_PREFIX, network_node_enumerator, m);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(m->bus, NULL, WGNET_PEER_PREFIX, WGNET_PEER_INTERFACE,
                                               peer_vtable, peer_object_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(m->bus, NULL, WGNET_PEER_PREFIX, peer_node_enumerator, m);
        if (r >= 0)
                r = tunnel_bus_register(m);
        if (r >= 0)
                r = mesh_bus_register(m);
        if (r >= 0)
                r = sd_bus_add_object_manager(m->bus, NULL, WGNET_OBJECT_ROOT);
        return r;
}
