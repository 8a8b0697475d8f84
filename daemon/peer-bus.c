/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "audit.h"
#include "bus-util.h"
#include "db.h"
#include "log.h"
#include "mesh.h"
#include "manager.h"
#include "peer-add.h"
#include "peer.h"
#include "validate.h"
#include "qr.h"
#include "rotation.h"
#include "wgnet-error.h"

static int property_get_network(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        return sd_bus_message_append(reply, "o", p->network->path);
}

static int property_get_addresses(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        return bus_append_prefixes(reply, p->addresses, p->n_addresses);
}

static int property_get_allowed_ips(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        _cleanup_(freep) IpPrefix *l = NULL;
        size_t n;
        int r = peer_server_allowed_ips(p, &l, &n);
        return r < 0 ? r : bus_append_prefixes(reply, l, n);
}

static int property_get_site_networks(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        return bus_append_prefixes(reply, p->site_networks, p->n_site_networks);
}

static int property_get_role(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        return sd_bus_message_append(reply, "s", peer_role_to_string(p->role));
}

static int property_get_rotation_deadline(sd_bus *bus, const char *path, const char *interface, const char *property,
                                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        return sd_bus_message_append(reply, "t", p->rotation_pending ? p->rotation_deadline : (uint64_t) 0);
}

static int property_get_pending_public_key(sd_bus *bus, const char *path, const char *interface, const char *property,
                                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        char key[WG_KEY_B64_SIZE] = "";
        if (p->rotation_pending)
                wg_key_to_base64(key, p->pending_public_key);
        return sd_bus_message_append(reply, "s", key);
}

/* The effective policy: the peer's own value, else the network's default. */
static int property_get_policy(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        if (streq(property, "RotationKind"))
                return sd_bus_message_append(reply, "s", rotation_kind_to_string(peer_rotation_kind(p)));
        uint64_t v = streq(property, "RotationInterval") ? peer_rotation_interval(p) :
                     streq(property, "RevokeAfterInactive") ? peer_revoke_inactive(p) : peer_grace_period(p);
        return sd_bus_message_append(reply, "t", v);
}

int peer_remove(Peer *p, sd_bus_error *error) {
        Network *n = p->network;
        Manager *m = n->manager;
        int r;

        r = db_begin(m->db);
        if (r >= 0)
                r = db_peer_delete(m->db, p->id);
        if (r >= 0) {
                r = network_apply_peer(n, p, true);
                if (r < 0)
                        sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed", "Cannot remove peer '%s' from %s: %s",
                                          p->name, n->ifname, strerror(-r));
        }
        if (r >= 0)
                r = db_commit(m->db);
        if (r < 0) {
                db_rollback(m->db);
                /* The device may have lost the peer before the commit failed: put it back. */
                (void) network_apply_peer(n, p, false);
                return bus_reply_errno(error, r, "Cannot remove peer '%s'", p->name);
        }
        log_debug("%s: peer '%s' removed", n->name, p->name);
        (void) sd_bus_emit_signal(m->bus, n->path, WGNET_NETWORK_INTERFACE, "PeerRemoved", "o", p->path);
        (void) sd_bus_emit_object_removed(m->bus, p->path);
        network_release_addresses(n, p->addresses, p->n_addresses);
        network_unlink_peer(n, p);
        peer_free(p);
        (void) network_emit_changed(n, "PeerCount", "OnlinePeerCount", NULL);
        return 0;
}

static int method_remove(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        if (p->network->mode == NETWORK_MODE_MESH)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Peer '%s' is a member of mesh '%s': remove it with org.wgnet1.Mesh.RemoveMember, "
                                         "which revokes it on every member", p->name, p->network->name);
        int r = manager_verify(p->network->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        Network *n = p->network;
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

int peer_set_enabled(Peer *p, bool enable, sd_bus_error *error) {
        Manager *mgr = p->network->manager;
        int r;

        if (p->enabled == enable)
                return 0;

        uint64_t old_updated = p->updated_at;
        p->enabled = enable;
        p->updated_at = now_usec();
        p->endpoint_new = enable;       /* off the device meanwhile: it has no endpoint */
        r = db_begin(mgr->db);
        if (r >= 0)
                r = db_peer_update(mgr->db, p);
        if (r >= 0) {
                r = network_apply_peer(p->network, p, !enable);
                if (r < 0)
                        sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed", "Cannot %s peer '%s' on %s: %s",
                                          enable ? "enable" : "disable", p->name, p->network->ifname, strerror(-r));
        }
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0) {
                db_rollback(mgr->db);
                p->enabled = !enable;
                p->updated_at = old_updated;
                /* The device may have changed before the commit failed: back to the database. */
                (void) network_apply_peer(p->network, p, false);
                return bus_reply_errno(error, r, "Cannot change peer '%s'", p->name);
        }
        p->admin_changed_at = p->updated_at;
        log_debug("%s: peer '%s' %s", p->network->name, p->name, enable ? "enabled" : "disabled");
        if (!enable && p->online) {
                p->online = false;
                p->network->n_online--;
                (void) peer_emit_changed(p, "Enabled", "Online", "UpdatedAt", NULL);
                (void) network_emit_changed(p->network, "OnlinePeerCount", NULL);
        } else
                (void) peer_emit_changed(p, "Enabled", "UpdatedAt", NULL);
        mesh_peer_enabled_changed(p);
        return 0;
}

static int method_enable(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        int r = manager_verify(p->network->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        bool enable = streq(sd_bus_message_get_member(m), "Enable"), was = p->enabled;
        if (enable && !was && p->expires_at > 0 && p->expires_at <= now_usec())
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Peer '%s' expired (ExpiresAt %" PRIu64 "): give it a new ExpiresAt with Update first",
                                         p->name, p->expires_at);
        r = peer_set_enabled(p, enable, error);
        if (r < 0)
                return r;
        if (was != enable)
                audit_log(m, enable ? AUDIT_PEER_ENABLED : AUDIT_PEER_DISABLED, p->network, p, "%s: peer '%s' %s",
                          p->network->name, p->name, enable ? "enabled" : "disabled");
        return sd_bus_reply_method_return(m, NULL);
}

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        Network *n = p->network;
        Manager *mgr = n->manager;
        BusOption opts[_PEEROPT_MAX] = PEER_OPTIONS_INIT;
        _cleanup_(freep) IpPrefix *addresses = NULL, *sites = NULL;
        size_t n_addresses = 0, n_sites = 0;
        bool auto_families[2] = {0};
        PeerRole role = p->role;
        const char *changed[24];
        IpPrefix *old_addresses = NULL, *old_sites = NULL;
        char *old_name = NULL, *old_email = NULL, *old_remote = NULL;
        _cleanup_(freep) char *new_name = NULL, *new_email = NULL, *new_remote = NULL;
        size_t n_old = p->n_addresses, k = 0;
        int r;

        /* The name and address checks must see the queued AddPeer calls as committed (once
         * the caller is allowed). */
        manager_flush_adds_if_allowed(mgr, m);
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = bus_read_options(m, opts, _PEEROPT_MAX, error);
        if (r < 0)
                goto finish;
        /* A mesh member's addresses, role and key lifecycle are the mesh's: every member
         * holds them, and a change here would reach none of them. */
        for (int i = 0; n->mode == NETWORK_MODE_MESH && i < _PEEROPT_MAX; i++)
                if (opts[i].set && i != PEEROPT_NAME && i != PEEROPT_EMAIL && i != PEEROPT_KEEPALIVE) {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                              "Option '%s' cannot change for mesh member '%s': its addresses and keys "
                                              "are the mesh's (RemoveMember, then a new invitation)", opts[i].key, p->name);
                        goto finish;
                }
        for (int i = 0; i < _PEEROPT_MAX; i++)
                if (opts[i].set && (i == PEEROPT_PUBLIC_KEY || i == PEEROPT_PRESHARED_KEY || i == PEEROPT_ENABLED)) {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option '%s' cannot be updated%s",
                                              opts[i].key, i == PEEROPT_ENABLED ? ": use Enable() or Disable()" :
                                              ": use RotateKeys()");
                        goto finish;
                }
        if (opts[PEEROPT_NAME].set) {
                Peer *other = hashmap_get(n->peers_by_name, opts[PEEROPT_NAME].s);
                if (!peer_name_is_valid(opts[PEEROPT_NAME].s)) {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid peer name '%s'", opts[PEEROPT_NAME].s);
                        goto finish;
                }
                if (other && other != p) {
                        r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PeerExists", "Peer '%s' already exists in network '%s'",
                                              opts[PEEROPT_NAME].s, n->name);
                        goto finish;
                }
        }
        if (opts[PEEROPT_EMAIL].set && !email_is_valid(opts[PEEROPT_EMAIL].s)) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid email '%s'", opts[PEEROPT_EMAIL].s);
                goto finish;
        }
        if (opts[PEEROPT_REMOTE_ENDPOINT].set && !isempty(opts[PEEROPT_REMOTE_ENDPOINT].s) &&
            !endpoint_is_valid(opts[PEEROPT_REMOTE_ENDPOINT].s)) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                      "Invalid remote endpoint '%s': expected host:port or [IPv6]:port",
                                      opts[PEEROPT_REMOTE_ENDPOINT].s);
                goto finish;
        }
        if (opts[PEEROPT_ADDRESSES].set) {
                r = peer_check_addresses(n, p, opts[PEEROPT_ADDRESSES].as, auto_families, &addresses, &n_addresses, error);
                if (r < 0)
                        goto finish;
        }
        if (opts[PEEROPT_ROLE].set) {
                r = peer_role_from_string(opts[PEEROPT_ROLE].s);
                if (r < 0) {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                              "Invalid role '%s': expected client or site-gateway", opts[PEEROPT_ROLE].s);
                        goto finish;
                }
                role = r;
        }
        if (opts[PEEROPT_SITE_NETWORKS].set) {
                r = peer_check_site_networks(n, p, opts[PEEROPT_SITE_NETWORKS].as, &sites, &n_sites, error);
                if (r < 0)
                        goto finish;
        }
        r = peer_check_policy_options(opts, error);
        if (r < 0)
                goto finish;
        if (role != PEER_ROLE_SITE_GATEWAY && (opts[PEEROPT_SITE_NETWORKS].set ? n_sites : p->n_site_networks) > 0) {
                r = sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "SiteNetworks needs Role 'site-gateway'");
                goto finish;
        }

        r = manager_verify(mgr, m, error);
        if (r <= 0) {
                r = r < 0 ? r : 1;
                goto finish;
        }

        /* Every allocation before the first change: a failure then changes nothing. */
        if ((opts[PEEROPT_NAME].set && !streq(opts[PEEROPT_NAME].s, p->name) &&
             !(new_name = strdup(opts[PEEROPT_NAME].s))) ||
            (opts[PEEROPT_EMAIL].set && !streq(p->email, opts[PEEROPT_EMAIL].s) &&
             !(new_email = strdup(opts[PEEROPT_EMAIL].s))) ||
            (opts[PEEROPT_REMOTE_ENDPOINT].set && !streq(p->remote_endpoint, opts[PEEROPT_REMOTE_ENDPOINT].s) &&
             !(new_remote = strdup(opts[PEEROPT_REMOTE_ENDPOINT].s)))) {
                r = -ENOMEM;
                goto finish;
        }

        /* What the update changes, to put back when the database refuses it. */
        Peer saved = *p;
        size_t n_old_sites = p->n_site_networks;

        /* Addresses: give back the old ones, take the new ones (auto keeps the current
         * address of that family when there is one). */
        old_addresses = p->addresses;
        if (opts[PEEROPT_ADDRESSES].set) {
                IpPrefix *nl = calloc(n_addresses + 2, sizeof(IpPrefix));
                if (!nl) {
                        old_addresses = NULL;
                        r = -ENOMEM;
                        goto finish;
                }
                memcpy_safe(nl, addresses, n_addresses * sizeof(IpPrefix));
                size_t count = n_addresses;
                for (size_t i = 0; i < n_old; i++)
                        if (auto_families[old_addresses[i].family == AF_INET6]) {
                                nl[count++] = old_addresses[i];
                                auto_families[old_addresses[i].family == AF_INET6] = false;
                        }
                network_release_addresses(n, old_addresses, n_old);
                r = network_reserve_addresses(n, nl, count);
                if (r >= 0 && network_allocate_auto(n, auto_families, nl, &count) < 0) {
                        network_release_addresses(n, nl, count);
                        r = -ENOSPC;
                }
                if (r < 0) {
                        (void) network_reserve_addresses(n, old_addresses, n_old);
                        free(nl);
                        old_addresses = NULL;
                        r = bus_reply_errno(error, r == -ENOSPC ? -EXFULL : -EADDRINUSE, "Cannot assign the addresses of peer '%s'", p->name);
                        goto finish;
                }
                p->addresses = nl;
                p->n_addresses = count;
                changed[k++] = "Addresses";
                changed[k++] = "AllowedIPs";
        } else
                old_addresses = NULL;
        if (opts[PEEROPT_SITE_NETWORKS].set) {
                if (p->n_site_networks > 0)
                        (void) network_apply_peer_routes(n, p, true);
                old_sites = p->site_networks;
                p->site_networks = TAKE_PTR(sites);
                p->n_site_networks = n_sites;
                network_forget_subnet_holes(n);
                changed[k++] = "SiteNetworks";
                if (!opts[PEEROPT_ADDRESSES].set)
                        changed[k++] = "AllowedIPs";
        }
        if (new_name) {
                hashmap_remove(n->peers_by_name, p->name);
                old_name = p->name;
                p->name = TAKE_PTR(new_name);
                (void) hashmap_put(n->peers_by_name, p->name, p);
                changed[k++] = "Name";
        }
        if (new_email) {
                old_email = p->email;
                p->email = TAKE_PTR(new_email);
                changed[k++] = "Email";
        }
        if (new_remote) {
                old_remote = p->remote_endpoint;
                p->remote_endpoint = TAKE_PTR(new_remote);
                p->remote_resolved = (WgEndpoint) {0};
                p->resolve_after = 0;
                p->endpoint_new = true;
                changed[k++] = "RemoteEndpoint";
        }
        if (opts[PEEROPT_KEEPALIVE].set && p->keepalive != opts[PEEROPT_KEEPALIVE].q) {
                p->keepalive = opts[PEEROPT_KEEPALIVE].q;
                changed[k++] = "PersistentKeepalive";
        }
        if (role != p->role) {
                p->role = role;
                changed[k++] = "Role";
        }
        if (opts[PEEROPT_EXPIRES_AT].set && p->expires_at != opts[PEEROPT_EXPIRES_AT].t) {
                p->expires_at = opts[PEEROPT_EXPIRES_AT].t;
                changed[k++] = "ExpiresAt";
        }
        peer_apply_policy_options(p, opts, changed, &k);
        p->updated_at = now_usec();
        changed[k++] = "UpdatedAt";
        changed[k] = NULL;

        r = db_begin(mgr->db);
        if (r >= 0)
                r = db_peer_update(mgr->db, p);
        if (r >= 0 && opts[PEEROPT_ADDRESSES].set)
                r = db_peer_set_addresses(mgr->db, p);
        if (r >= 0 && p->enabled) {
                r = network_apply_peer(n, p, false);
                if (r < 0)
                        sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed", "Cannot update peer '%s' on %s: %s",
                                          p->name, n->ifname, strerror(-r));
        }
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0) {
                /* The database is unchanged; bring memory and device back to it by
                 * reloading is not possible here, so undo field by field. */
                db_rollback(mgr->db);
                log_error("%s: cannot update peer '%s': %s", n->name, p->name, strerror(-r));
                if (old_name) {
                        if (hashmap_get(n->peers_by_name, p->name) == p)
                                hashmap_remove(n->peers_by_name, p->name);
                        free(p->name);
                        p->name = TAKE_PTR(old_name);
                        (void) hashmap_put(n->peers_by_name, p->name, p);
                }
                if (old_addresses) {
                        network_release_addresses(n, p->addresses, p->n_addresses);
                        (void) network_reserve_addresses(n, old_addresses, n_old);
                        free(p->addresses);
                        p->addresses = TAKE_PTR(old_addresses);
                        p->n_addresses = n_old;
                }
                if (opts[PEEROPT_SITE_NETWORKS].set) {
                        (void) network_apply_peer_routes(n, p, true);
                        free(p->site_networks);
                        p->site_networks = TAKE_PTR(old_sites);
                        p->n_site_networks = n_old_sites;
                        network_forget_subnet_holes(n);
                }
                if (old_email) {
                        free(p->email);
                        p->email = TAKE_PTR(old_email);
                }
                if (old_remote) {
                        free(p->remote_endpoint);
                        p->remote_endpoint = TAKE_PTR(old_remote);
                }
                p->keepalive = saved.keepalive;
                p->role = saved.role;
                p->expires_at = saved.expires_at;
                p->rotation_interval = saved.rotation_interval;
                p->rotation_kind = saved.rotation_kind;
                p->revoke_inactive = saved.revoke_inactive;
                p->grace_period = saved.grace_period;
                p->updated_at = saved.updated_at;
                /* And the device back to what the database holds. */
                if (p->enabled)
                        (void) network_apply_peer(n, p, false);
                r = bus_reply_errno(error, r, "Cannot update peer '%s'", p->name);
                goto finish;
        }
        p->admin_changed_at = p->updated_at;
        audit_log(m, AUDIT_PEER_UPDATED, n, p, "%s: peer '%s' updated", n->name, p->name);
        (void) peer_emit_changed_strv(p, (char **) changed);
        r = sd_bus_reply_method_return(m, NULL);
finish:
        free(old_name);
        free(old_email);
        free(old_remote);
        free(old_addresses);
        free(old_sites);
        bus_options_done(opts, _PEEROPT_MAX);
        return r;
}

static int reply_config(sd_bus_message *m, Peer *p, sd_bus_error *error, char **ret_text) {
        int r = peer_get_config(p, ret_text);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot produce the config of peer '%s'", p->name);
        return 0;
}

static int method_get_config(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(wg_wipe_free_stringp) char *text = NULL;
        int r = manager_verify(p->network->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = reply_config(m, p, error, &text);
        if (r < 0)
                return r;
        audit_log(m, AUDIT_SECRET_READ, p->network, p, "%s: peer '%s': config read", p->network->name, p->name);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", text);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_qrcode(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(wg_wipe_free_stringp) char *text = NULL;
        uint8_t *data = NULL;
        size_t size = 0;
        const char *format;
        int r;

        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &format);
        if (r < 0)
                return r;
        if (!streq(format, "png") && !streq(format, "svg") && !streq(format, "utf8"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid QR code format '%s': expected png, svg or utf8", format);
        r = manager_verify(p->network->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = reply_config(m, p, error, &text);
        if (r < 0)
                return r;
        /* Rendered in a child process: the QR libraries' own copies of the config never
         * reach this process's heap. */
        r = qr_render_in_child(streq(format, "png") ? QR_FORMAT_PNG : streq(format, "svg") ? QR_FORMAT_SVG : QR_FORMAT_UTF8,
                               text, QR_EC_M, &data, &size);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot render the QR code of peer '%s'", p->name);
        audit_log(m, AUDIT_SECRET_READ, p->network, p, "%s: peer '%s': config read as a %s QR code",
                  p->network->name, p->name, format);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', data, size);
        wg_wipe_free(data, size);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_rotate_keys(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        Manager *mgr = p->network->manager;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(wg_wipe_free_stringp) char *text = NULL;
        const char *what;
        int r;

        if (p->network->mode == NETWORK_MODE_MESH)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Mesh member '%s' keeps its own keys: the other members hold its public key. "
                                         "Remove it (RemoveMember) and invite it again for a new one", p->name);
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &what);
        if (r < 0)
                return r;
        if (!streq(what, "psk") && !streq(what, "keypair"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid rotation '%s': expected psk or keypair", what);
        r = manager_verify(mgr, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        if (streq(what, "keypair")) {
                /* The reply is the config of the new key; the old key keeps working until
                 * the new one completes a handshake or the grace period ends. */
                r = peer_rotation_start(p, &text, error);
                if (r < 0)
                        return r;
        } else {
                r = peer_rotate_psk(p, error);
                if (r < 0)
                        return r;
        }
        /* Recorded once saved, also when the reply cannot be built. */
        audit_log(m, AUDIT_PEER_KEYS_ROTATED, p->network, p, "%s: peer '%s': %s rotation %s", p->network->name,
                  p->name, what, streq(what, "psk") ? "done" : "started");
        if (!text && streq(what, "keypair"))
                return bus_reply_errno(error, -ENOMEM, "Cannot render the new config of peer '%s'", p->name);
        if (!text) {
                r = reply_config(m, p, error, &text);
                if (r < 0)
                        return r;
        }
        /* The reply holds the new keys (read-secrets): a secret read, as GetConfig. */
        audit_log(m, AUDIT_SECRET_READ, p->network, p, "%s: peer '%s': new config read (RotateKeys)",
                  p->network->name, p->name);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", text);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

const sd_bus_vtable peer_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "t", NULL, offsetof(Peer, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Network", "o", property_get_network, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Peer, name), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Email", "s", NULL, offsetof(Peer, email), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PublicKey", "s", bus_property_get_key, offsetof(Peer, public_key), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Addresses", "as", property_get_addresses, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("AllowedIPs", "as", property_get_allowed_ips, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Role", "s", property_get_role, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SiteNetworks", "as", property_get_site_networks, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PersistentKeepalive", "q", NULL, offsetof(Peer, keepalive), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HasPresharedKey", "b", bus_property_get_bool, offsetof(Peer, has_psk), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PrivateKeyStored", "b", bus_property_get_bool, offsetof(Peer, private_key_stored), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Enabled", "b", bus_property_get_bool, offsetof(Peer, enabled), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Online", "b", bus_property_get_bool, offsetof(Peer, online), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastHandshake", "t", NULL, offsetof(Peer, last_handshake), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Endpoint", "s", NULL, offsetof(Peer, endpoint), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RemoteEndpoint", "s", NULL, offsetof(Peer, remote_endpoint), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RxBytes", "t", NULL, offsetof(Peer, rx_bytes), 0),
        SD_BUS_PROPERTY("TxBytes", "t", NULL, offsetof(Peer, tx_bytes), 0),
        SD_BUS_PROPERTY("CreatedAt", "t", NULL, offsetof(Peer, created_at), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UpdatedAt", "t", NULL, offsetof(Peer, updated_at), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExpiresAt", "t", NULL, offsetof(Peer, expires_at), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RotationPending", "b", bus_property_get_bool, offsetof(Peer, rotation_pending),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RotationDeadline", "t", property_get_rotation_deadline, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PendingPublicKey", "s", property_get_pending_public_key, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastRotation", "t", NULL, offsetof(Peer, last_rotation), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RotationInterval", "t", property_get_policy, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RotationKind", "s", property_get_policy, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RevokeAfterInactive", "t", property_get_policy, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("GracePeriod", "t", property_get_policy, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetConfig", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", config), method_get_config,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetQRCode", SD_BUS_ARGS("s", format), SD_BUS_RESULT("ay", image), method_get_qrcode,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Enable", NULL, NULL, method_enable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Disable", NULL, NULL, method_enable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RotateKeys", SD_BUS_ARGS("s", what), SD_BUS_RESULT("s", config), method_rotate_keys,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Remove", NULL, NULL, method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetTransferHistory", SD_BUS_ARGS("t", since, "t", step), SD_BUS_RESULT("a(ttt)", history),
                                peer_method_get_transfer_history, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("RotationPending", SD_BUS_ARGS("t", deadline), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Revoked", SD_BUS_ARGS("s", reason), 0),
        SD_BUS_VTABLE_END,
};
