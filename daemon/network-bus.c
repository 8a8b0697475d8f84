/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "audit.h"
#include "bus-util.h"
#include "db.h"
#include "firewall-sync.h"
#include "log.h"
#include "manager.h"
#include "network-options.h"
#include "network.h"
#include "peer-add.h"
#include "peer.h"
#include "wgconf.h"
#include "wgnet-error.h"

static int property_get_addresses(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        return bus_append_prefixes(reply, n->subnets, n->n_subnets);
}

static int property_get_extra_routes(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        return bus_append_prefixes(reply, n->extra_routes, n->n_extra_routes);
}

static int property_get_dns(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        return sd_bus_message_append_strv(reply, n->dns);
}

static int property_get_mode(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        return sd_bus_message_append(reply, "s", network_mode_to_string(n->mode));
}

static int property_get_key_policy(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        return sd_bus_message_append(reply, "s", key_policy_to_string(n->key_policy));
}

static Network *network_from_message(sd_bus_message *m, void *userdata) {
        return userdata;
}

/* Persist the network row; on failure the caller rolls back. */
static int network_save(Network *n, sd_bus_error *error) {
        int r = db_network_update(n->manager->db, n);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "ListenPortInUse",
                                         "The listen port or interface is used by another network");
        return r;
}

static int method_add_peer(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = network_from_message(m, userdata);
        PeerSpec spec;
        int r;

        r = sd_bus_message_rewind(m, true);
        if (r < 0)
                return r;
        r = peer_spec_read(m, &spec, error);
        if (r >= 0)
                r = peer_specs_check(n, &spec, 1, NULL, error);
        if (r >= 0) {
                r = manager_verify(n->manager, m, error);
                if (r == 0) {
                        peer_specs_done(&spec, 1);
                        return 1;
                }
        }
        /* Answered once durable and on the device, together with the calls queued meanwhile. */
        if (r >= 0)
                r = network_queue_add_peer(n, m, &spec, error);
        if (r >= 0)
                return 1;
        peer_specs_done(&spec, 1);
        return r;
}

static int method_add_peers(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = network_from_message(m, userdata);
        _cleanup_(freep) PeerSpec *specs = NULL;
        _cleanup_(freep) Peer **peers = NULL;
        char **configs = NULL;
        size_t count = 0, alloc = 0;
        int r;

        /* The checks below must see the queued AddPeer calls as committed (they may take
         * the same names, keys or addresses): once the caller is allowed. */
        manager_flush_adds_if_allowed(n->manager, m);
        r = sd_bus_message_rewind(m, true);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "(sa{sv})");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "sa{sv}")) > 0) {
                /* Refused while reading (anyone may call, polkit is asked later): a message
                 * of tiny entries would otherwise make us allocate far more than it holds. */
                if (count >= PEER_BATCH_MAX) {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                              "Too many peers in one call: more than %u", PEER_BATCH_MAX);
                        break;
                }
                if (count == alloc) {
                        alloc = alloc ? alloc * 2 : 64;
                        PeerSpec *ns = realloc(specs, alloc * sizeof(PeerSpec));
                        if (!ns) {
                                r = -ENOMEM;
                                break;
                        }
                        specs = ns;
                }
                r = peer_spec_read(m, &specs[count], error);
                count++;
                if (r < 0)
                        break;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0 && count == 0)
                r = sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "No peers given");
        if (r >= 0)
                r = peer_specs_check(n, specs, count, NULL, error);
        if (r >= 0) {
                r = manager_verify(n->manager, m, error);
                if (r == 0) {
                        peer_specs_done(specs, count);
                        return 1;
                }
        }
        if (r >= 0)
                r = network_add_peers(n, specs, count, &peers, &configs, error);
        peer_specs_done(specs, count);
        if (r < 0)
                return r;
        for (size_t i = 0; i < count; i++)
                audit_log(m, AUDIT_PEER_ADDED, n, peers[i], "%s: peer '%s' added", n->name, peers[i]->name);

        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(os)");
        for (size_t i = 0; r >= 0 && i < count; i++)
                r = sd_bus_message_append(reply, "(os)", peers[i]->path, configs[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        for (size_t i = 0; i < count; i++)
                wg_wipe_free_string(configs[i]);
        free(configs);
        if (r < 0)
                return r;
        if (count >= 1024)
                manager_trim_memory_later(n->manager);
        return sd_bus_send(NULL, reply, NULL);
}

static int method_remove_peer(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = network_from_message(m, userdata);
        const char *path;
        int r;

        r = sd_bus_message_rewind(m, true);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "o", &path);
        if (r < 0)
                return r;
        Peer *p = manager_find_peer_by_path(n->manager, path);
        if (!p || p->network != n)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NotFound", "No peer '%s' in network '%s'", path, n->name);
        if (n->mode == NETWORK_MODE_MESH)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Peer '%s' is a member of mesh '%s': remove it with org.wgnet1.Mesh.RemoveMember, "
                                         "which revokes it on every member", p->name, n->name);
        r = manager_verify(n->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        _cleanup_(freep) char *name = strdup(p->name);
        if (!name)
                return -ENOMEM;
        Peer gone = { .id = p->id, .name = name };      /* what the audit entry needs after the free */
        r = peer_remove(p, error);
        if (r < 0)
                return r;
        audit_log(m, AUDIT_PEER_REMOVED, n, &gone, "%s: peer '%s' removed", n->name, gone.name);
        return sd_bus_reply_method_return(m, NULL);
}


/* A peer shows its network's policy where it has none of its own: those peers' properties
 * changed with the network's. */
static void emit_inherited_policy(Network *n, const char *const *changed) {
        static const char *const names[] = { "RotationInterval", "RotationKind", "RevokeAfterInactive", "GracePeriod" };
        bool any = false;
        for (size_t i = 0; changed[i]; i++)
                for (size_t k = 0; k < ELEMENTSOF(names); k++)
                        any = any || streq(changed[i], names[k]);
        if (!any)
                return;
        for (Peer *p = n->peers; p; p = p->next) {
                const int64_t own[] = { p->rotation_interval, p->rotation_kind, p->revoke_inactive, p->grace_period };
                const char *emit[ELEMENTSOF(names) + 1];
                size_t k = 0;
                for (size_t i = 0; changed[i]; i++)
                        for (size_t x = 0; x < ELEMENTSOF(names); x++)
                                if (streq(changed[i], names[x]) && own[x] < 0)
                                        emit[k++] = names[x];
                emit[k] = NULL;
                if (k > 0)
                        (void) sd_bus_emit_properties_changed_strv(n->manager->bus, p->path, WGNET_PEER_INTERFACE,
                                                                   (char **) emit);
        }
}

/* The options the nftables table is made of. */
static bool firewall_relevant(const BusOption *opts) {
        return opts[NETOPT_ADDRESSES].set || opts[NETOPT_MODE].set || opts[NETOPT_PEER_ISOLATION].set ||
               opts[NETOPT_NAT_INTERFACE].set;
}

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = network_from_message(m, userdata);
        BusOption opts[_NETOPT_MAX] = NETWORK_OPTIONS_INIT;
        NetworkSettings s = {0};
        const char *changed[18];
        uint32_t old_mtu = n->mtu;
        NetworkSnapshot before = {0};
        int r;

        /* The subnet checks must see the queued AddPeer calls' addresses (once allowed). */
        manager_flush_adds_if_allowed(n->manager, m);
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = bus_read_options(m, opts, _NETOPT_MAX, error);
        if (r >= 0)
                r = network_settings_check(n->manager, n, n->ifname, opts, NETWORK_CHECK_UPDATE, &s, error);
        if (r >= 0) {
                r = manager_verify(n->manager, m, error);
                if (r == 0) {
                        bus_options_done(opts, _NETOPT_MAX);
                        network_settings_done(&s);
                        return 1;
                }
        }
        if (r < 0)
                goto finish;

        r = network_snapshot(n, &before);
        if (r < 0)
                goto finish;

        /* The settings are applied in memory, saved, pushed to the device (new addresses
         * added before the old ones go), then committed. When the save or the device
         * fails, memory goes back to what the database still holds, and the device too. */
        r = network_settings_apply(n, opts, &s, changed);
        if (r >= 0)
                r = db_begin(n->manager->db);
        if (r >= 0) {
                r = network_save(n, error);
                if (r >= 0 && n->active) {
                        r = network_apply(n, false);
                        if (r < 0)
                                sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed",
                                                  "Cannot apply the new settings to %s: %s", n->ifname, strerror(-r));
                }
                /* DefaultRoute on is kept only when the host's traffic does go through the
                 * tunnel (the apply logs and goes on, as the tick must). */
                if (r >= 0 && n->active && opts[NETOPT_DEFAULT_ROUTE].set && n->default_route) {
                        r = network_full_tunnel_apply(n, false);
                        if (r < 0)
                                sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed",
                                                  "Cannot route this host's traffic through %s (table %u): %s",
                                                  n->ifname, n->route_table,
                                                  r == -EADDRINUSE ? "another interface's default route is in that table"
                                                                   : strerror(-r));
                }
                /* What the firewall enforces (isolation, NAT, the subnets' drops) holds before
                 * the change is kept: an isolation reported on but not applied would let the
                 * clients reach each other. The table is replaced as a whole or not at all. */
                if (r >= 0 && n->active && firewall_relevant(opts) && manager_firewall_sync(n->manager, false) < 0) {
                        r = -EIO;
                        sd_bus_error_setf(error, WGNET_ERROR_PREFIX "FirewallFailed",
                                          "Cannot apply the nftables table for the new settings of '%s' (the "
                                          "journal says why); nothing changed", n->name);
                }
                if (r >= 0)
                        r = db_commit(n->manager->db);
                if (r < 0)
                        db_rollback(n->manager->db);
        }
        if (r < 0) {
                log_error("%s: cannot update the network: %s", n->name, strerror(-r));
                /* Rules and mark made for a DefaultRoute or table that was not saved go (the
                 * restored settings' own come back with the apply below). */
                if (n->active && (n->default_route != before.default_route || n->route_table != before.route_table))
                        network_full_tunnel_undo(n);
                if (network_restore(n, &before) < 0)
                        log_error("%s: cannot restore the settings in memory; restart wgnetd", n->name);
                else if (n->active) {
                        /* A table applied before a commit that failed goes back too. */
                        if (firewall_relevant(opts))
                                (void) manager_firewall_sync(n->manager, false);
                        /* MTU 0 leaves the device's as it is: one set by this Update goes
                         * back to WireGuard's default by hand. */
                        if (n->mtu == 0 && old_mtu == 0 && opts[NETOPT_MTU].set && opts[NETOPT_MTU].u != 0)
                                (void) wg_backend_link_set_mtu(n->manager->backend, n->ifname, WG_DEFAULT_MTU);
                        if (network_apply(n, false) < 0)
                                log_warning("%s: cannot put the device back yet; the reconcile retries", n->ifname);
                }
                goto finish;
        }
        /* MTU 0 leaves the device's as it is (the apply skips it): back to WireGuard's
         * default by hand, as a new device would have it. */
        if (n->active && old_mtu != n->mtu && n->mtu == 0 &&
            wg_backend_link_set_mtu(n->manager->backend, n->ifname, WG_DEFAULT_MTU) < 0)
                log_warning("%s: cannot set the default MTU %d on %s", n->name, WG_DEFAULT_MTU, n->ifname);
        /* PeerRoutes off: the routes made for the peers' site networks go (the apply only
         * stops making them). */
        if (n->active && before.peer_routes && !n->peer_routes)
                for (Peer *p = n->peers; p; p = p->next)
                        (void) network_apply_peer_routes(n, p, true);
        if (changed[0])
                (void) sd_bus_emit_properties_changed_strv(n->manager->bus, n->path, WGNET_NETWORK_INTERFACE,
                                                           (char **) changed);
        emit_inherited_policy(n, changed);
        (void) manager_firewall_sync(n->manager, false);
        audit_log(m, AUDIT_NETWORK_UPDATED, n, NULL, "%s: network updated", n->name);
        r = sd_bus_reply_method_return(m, NULL);
finish:
        network_snapshot_done(&before);
        bus_options_done(opts, _NETOPT_MAX);
        network_settings_done(&s);
        return r;
}


int network_set_active(Network *n, bool active, sd_bus_error *error);

int network_set_active(Network *n, bool active, sd_bus_error *error) {
        Manager *m = n->manager;
        int r;

        if (n->active == active)
                return 0;
        /* Activate: saved first, then the device. A crash in between leaves the network
         * active in the database, and the start brings the device up; the other order left
         * a live device behind a network the database calls inactive, which nothing looks
         * at. Deactivate: the device goes first, inside the transaction; after a crash in
         * between, the start brings it back. */
        r = db_begin(m->db);
        if (r < 0)
                return r;
        n->active = active;
        r = network_save(n, error);
        if (r >= 0 && !active)
                r = network_deactivate_device(n);
        if (r >= 0)
                r = db_commit(m->db);
        if (r < 0) {
                db_rollback(m->db);
                n->active = !active;
                return r;
        }
        if (active) {
                /* One found in place (an imported interface that wg-quick still runs) is not
                 * this call's to remove when the apply fails. */
                bool existed = wg_backend_exists(m->backend, n->ifname);
                r = network_apply(n, false);
                if (r < 0) {
                        sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed", "Cannot bring up %s: %s",
                                          n->ifname, strerror(-r));
                        int q = existed ? 0 : network_deactivate_device(n);
                        if (q < 0) {
                                /* A half-made device that cannot be taken down stays in the
                                 * reconcile's hands: the network stays active, retried. */
                                log_error("%s: cannot take the half-made %s down again (%s): the network stays "
                                          "active and the reconcile retries", n->name, n->ifname, strerror(-q));
                                (void) manager_firewall_sync(m, false);
                                (void) network_emit_changed(n, "Active", NULL);
                                return r;
                        }
                        if (existed)
                                log_warning("%s: %s was there before the activation and is left in place",
                                            n->name, n->ifname);
                        n->active = false;
                        q = db_begin(m->db);
                        if (q >= 0)
                                q = network_save(n, NULL);
                        if (q >= 0)
                                q = db_commit(m->db);
                        if (q < 0) {
                                db_rollback(m->db);
                                log_error("%s: cannot record that the network stays inactive (the next start "
                                          "tries to bring it up): %s", n->name, strerror(-q));
                        }
                        return r;
                }
        }
        if (!active)
                for (Peer *p = n->peers; p; p = p->next)
                        if (p->online) {
                                p->online = false;
                                (void) peer_emit_changed(p, "Online", NULL);
                        }
        if (!active)
                n->n_online = 0;
        (void) manager_firewall_sync(m, false);
        log_debug("%s: network %s (%s)", n->name, active ? "activated" : "deactivated", n->ifname);
        (void) network_emit_changed(n, "Active", "OnlinePeerCount", NULL);
        return 0;
}

static int method_activate(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = network_from_message(m, userdata);
        int r = manager_verify(n->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        bool active = !streq(sd_bus_message_get_member(m), "Deactivate"), was = n->active;
        r = network_set_active(n, active, error);
        if (r < 0)
                return r;
        if (was != active)
                audit_log(m, active ? AUDIT_NETWORK_ACTIVATED : AUDIT_NETWORK_DEACTIVATED, n, NULL,
                          "%s: network %s (%s)", n->name, active ? "activated" : "deactivated", n->ifname);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_delete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = network_from_message(m, userdata);
        Manager *mgr = n->manager;
        int r = manager_verify(mgr, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = db_begin(mgr->db);
        if (r >= 0)
                r = db_network_delete(mgr->db, n->id);
        if (r >= 0 && n->active)
                r = network_deactivate_device(n);
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0) {
                db_rollback(mgr->db);
                return bus_reply_errno(error, r, "Cannot delete network '%s'", n->name);
        }
        /* Object-removed before unlinking. */
        for (Peer *p = n->peers; p; p = p->next)
                (void) sd_bus_emit_object_removed(mgr->bus, p->path);
        (void) sd_bus_emit_object_removed(mgr->bus, n->path);
        audit_log(m, AUDIT_NETWORK_DELETED, n, NULL, "%s: network deleted (interface %s)", n->name, n->ifname);
        network_detach(n);
        network_free(n);
        (void) manager_firewall_sync(mgr, false);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_next_addresses(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = network_from_message(m, userdata);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const IpPrefix *holes;
        size_t n_holes;
        int r;

        r = network_subnet_holes(n, &holes, &n_holes);
        if (r >= 0)
                r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < n->n_subnets; i++) {
                IpPrefix a;
                char buf[IP_PREFIX_STRLEN];
                if (addr_pool_peek_outside(n->pools[i], holes, n_holes, &a) < 0)
                        continue;
                r = sd_bus_message_append(reply, "s", ip_prefix_to_string(&a, buf));
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

#define GET_STATS_MAX_AGE_USEC (250 * 1000)

static int method_get_stats(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = network_from_message(m, userdata);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (n->active) {
                /* Callers polling together share one read of the device. */
                r = network_refresh_status(n, GET_STATS_MAX_AGE_USEC);
                /* Figures from an older read would look current: the caller learns that
                 * they cannot be had (the tick logs and repairs the device). */
                if (r < 0)
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed",
                                                 "Cannot read the device %s of network '%s': %s", n->ifname, n->name,
                                                 strerror(-r));
        }
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(otttbs)");
        for (Peer *p = n->peers; r >= 0 && p; p = p->next)
                r = sd_bus_message_append(reply, "(otttbs)", p->path, p->last_handshake, p->rx_bytes, p->tx_bytes,
                                          p->online, p->endpoint ? p->endpoint : "");
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The network as a wg-quick server config: the interface with its private key and every
 * peer with its server-side AllowedIPs. */
int network_export(Network *n, char **ret);

int network_export(Network *n, char **ret) {
        _cleanup_(wgconf_freep) WgConf *c = wgconf_new();
        char comment[160];
        int r;

        if (!c)
                return -ENOMEM;
        snprintf(comment, sizeof(comment), "wgnet network '%s' (%s mode)", n->name, network_mode_to_string(n->mode));
        r = wgconf_add_comment(c, comment);
        if (r < 0)
                return r;
        c->has_interface = true;
        r = network_private_key(n, c->private_key);
        if (r < 0)
                return r;
        c->has_private_key = true;
        for (size_t i = 0; i < n->n_subnets; i++)
                if ((r = wgconf_add_address(c, &n->subnets[i])) < 0)
                        return r;
        c->has_listen_port = true;
        c->listen_port = n->listen_port;
        if (n->mtu) {
                c->has_mtu = true;
                c->mtu = n->mtu;
        }
        /* No routes for the peers: wg-quick's way of saying it (a default route of a peer
         * without DefaultRoute has no wg-quick spelling of its own). */
        if (!n->peer_routes && !(c->table = strdup("off")))
                return -ENOMEM;
        if (n->dns && n->dns[0]) {
                c->n_dns = strv_length(n->dns);
                c->dns = strv_copy(n->dns, c->n_dns);
                if (!c->dns)
                        return -ENOMEM;
        }
        for (Peer *p = n->peers; p; p = p->next) {
                if (!p->enabled)
                        continue;
                WgConfPeer *cp = wgconf_add_peer(c);
                if (!cp)
                        return -ENOMEM;
                cp->name = strdup(p->name);
                if (!cp->name)
                        return -ENOMEM;
                memcpy(cp->public_key, p->public_key, WG_KEY_LEN);
                if (!isempty(p->remote_endpoint) && !(cp->endpoint = strdup(p->remote_endpoint)))
                        return -ENOMEM;
                cp->persistent_keepalive = peer_server_keepalive(p);
                cp->has_persistent_keepalive = cp->persistent_keepalive > 0;
                if (p->has_psk) {
                        r = manager_open(n->manager, "peers.preshared_key", p->id, p->psk_sealed,
                                         sizeof(p->psk_sealed), cp->preshared_key);
                        if (r < 0)
                                return r;
                        cp->has_preshared_key = true;
                }
                for (size_t i = 0; i < p->n_addresses; i++)
                        if ((r = wgconf_peer_add_allowed_ip(cp, &p->addresses[i])) < 0)
                                return r;
                for (size_t i = 0; i < p->n_site_networks; i++)
                        if ((r = wgconf_peer_add_allowed_ip(cp, &p->site_networks[i])) < 0)
                                return r;
        }
        return wgconf_render(c, ret);
}

static int method_export(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = network_from_message(m, userdata);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(wg_wipe_free_stringp) char *text = NULL;
        int r = manager_verify(n->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = network_export(n, &text);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot export network '%s'", n->name);
        audit_log(m, AUDIT_SECRET_READ, n, NULL, "%s: network exported (with its private key)", n->name);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", text);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_rotation_kind(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        return sd_bus_message_append(reply, "s", rotation_kind_to_string(n->rotation_kind));
}

const sd_bus_vtable network_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "t", NULL, offsetof(Network, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Network, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Interface", "s", NULL, offsetof(Network, ifname), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Addresses", "as", property_get_addresses, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ListenPort", "q", NULL, offsetof(Network, listen_port), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PublicKey", "s", bus_property_get_key, offsetof(Network, public_key), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Endpoint", "s", NULL, offsetof(Network, endpoint), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DNS", "as", property_get_dns, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MTU", "u", NULL, offsetof(Network, mtu), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Mode", "s", property_get_mode, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExtraRoutes", "as", property_get_extra_routes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PeerIsolation", "b", bus_property_get_bool, offsetof(Network, peer_isolation), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DefaultRoute", "b", bus_property_get_bool, offsetof(Network, default_route), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RouteTable", "u", NULL, offsetof(Network, route_table), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PeerRoutes", "b", bus_property_get_bool, offsetof(Network, peer_routes), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NatInterface", "s", NULL, offsetof(Network, nat_interface), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("KeyPolicy", "s", property_get_key_policy, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("OnlineThreshold", "u", NULL, offsetof(Network, online_threshold), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RotationInterval", "t", NULL, offsetof(Network, rotation_interval), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RotationKind", "s", property_get_rotation_kind, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RevokeAfterInactive", "t", NULL, offsetof(Network, revoke_inactive), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("GracePeriod", "t", NULL, offsetof(Network, grace_period), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Active", "b", bus_property_get_bool, offsetof(Network, active), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PeerCount", "u", NULL, offsetof(Network, n_peers), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OnlinePeerCount", "u", NULL, offsetof(Network, n_online), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("AddPeer", SD_BUS_ARGS("s", name, "a{sv}", options),
                                SD_BUS_RESULT("o", peer, "s", config), method_add_peer, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddPeers", SD_BUS_ARGS("a(sa{sv})", peers), SD_BUS_RESULT("a(os)", added),
                                method_add_peers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemovePeer", SD_BUS_ARGS("o", peer), SD_BUS_NO_RESULT, method_remove_peer,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Activate", NULL, NULL, method_activate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Deactivate", NULL, NULL, method_activate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Delete", NULL, NULL, method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("NextAddresses", SD_BUS_NO_ARGS, SD_BUS_RESULT("as", addresses),
                                method_next_addresses, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetMetrics", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ossstttbbb)", metrics),
                                network_method_get_metrics, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetMetricsColumns", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("as", names, "ay", public_keys, "as", allowed_ips, "at", last_handshake,
                                              "at", rx_bytes, "at", tx_bytes, "ay", flags),
                                network_method_get_metrics_columns, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetStats", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(otttbs)", stats), method_get_stats,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Export", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", config), method_export,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("PeerAdded", SD_BUS_ARGS("o", peer), 0),
        SD_BUS_SIGNAL_WITH_ARGS("PeerRemoved", SD_BUS_ARGS("o", peer), 0),
        SD_BUS_VTABLE_END,
};
