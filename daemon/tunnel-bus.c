/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <net/if.h>
#include <sodium.h>
#include <time.h>

#include "audit.h"
#include "bus-util.h"
#include "db-tunnel.h"
#include "db.h"
#include "log.h"
#include "manager.h"
#include "tunnel-settings.h"
#include "tunnel.h"
#include "validate.h"
#include "wgnet-error.h"

/* Insert t (new keys set) and bring it up when active, in one transaction; then make it
 * findable and announce it. On failure t is freed by the caller. */
int tunnel_create_commit(Manager *m, Tunnel *t, const uint8_t *used_offer_id, sd_bus_error *error) {
        int r = db_begin(m->db);
        if (r < 0)
                return r;
        r = db_tunnel_insert(m->db, t);
        if (r == -EEXIST) {
                db_rollback(m->db);
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "TunnelExists",
                                         "A tunnel with name '%s' or interface '%s' exists", t->name, t->ifname);
        }
        if (r >= 0 && used_offer_id) {
                r = db_pairing_mark_used(m->db, PAIRING_OFFER, used_offer_id, t->id);
                if (r == -EEXIST) {
                        char hex[PAIRING_ID_HEX_LEN + 1];
                        pairing_id_to_hex(used_offer_id, hex);
                        db_rollback(m->db);
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PairingUsed",
                                                 "Pairing %s was already used on this host", hex);
                }
        }
        /* A crash between the device and the commit would leave an interface no tunnel
         * owns: the intent, on disk first, has the next start remove it. */
        bool intent = false;
        if (r >= 0 && t->active) {
                r = manager_creating_interface(m, t->ifname, true);
                intent = r >= 0;
        }
        if (r >= 0 && t->active) {
                r = tunnel_apply(t, false);
                if (r < 0) {
                        db_rollback(m->db);
                        (void) tunnel_deactivate_device(t);
                        (void) manager_creating_interface(m, t->ifname, false);
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed",
                                                 "Cannot bring up interface %s: %s", t->ifname, strerror(-r));
                }
        }
        if (r >= 0)
                r = db_commit(m->db);
        if (intent)
                (void) manager_creating_interface(m, t->ifname, false);
        if (r < 0) {
                db_rollback(m->db);
                if (t->active)
                        (void) tunnel_deactivate_device(t);
                return r;
        }
        r = tunnel_attach(t);
        if (r < 0)
                return r;
        m->next_tunnel_id++;
        (void) sd_bus_emit_object_added(m->bus, t->path);
        log_info("%s: tunnel '%s' created", t->ifname, t->name);
        return 0;
}

static int tunnel_generate_keys(Tunnel *t) {
        uint8_t key[WG_KEY_LEN];
        int r = wg_key_generate_private(key);
        if (r >= 0)
                r = wg_key_public_from_private(t->public_key, key);
        if (r >= 0)
                r = tunnel_seal(t, "tunnels.private_key", key, t->private_key_sealed);
        wg_wipe(key, sizeof(key));
        return r;
}

int tunnel_new_with_settings(Manager *m, const char *name, const char *ifname, BusOption *o, TunnelSettings *s,
                             Tunnel **ret) {
        _cleanup_(tunnel_freep) Tunnel *t = NULL;
        const char *changed[16];
        int r = tunnel_new(m, m->next_tunnel_id, name, ifname, &t);
        if (r >= 0)
                r = tunnel_generate_keys(t);
        if (r < 0)
                return r;
        t->created_at = now_usec();
        t->listen_port = manager_free_tunnel_port(m);
        r = tunnel_settings_apply(t, o, s, changed);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

int tunnel_check_new_name(Manager *m, const char *name, const char *ifname, sd_bus_error *error) {
        if (!tunnel_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid tunnel name '%s': 1-64 characters of letters, digits, '_.@+-' and inner spaces",
                                         name);
        if (manager_find_tunnel_by_name(m, name))
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "TunnelExists", "Tunnel '%s' exists", name);
        if (!ifname_is_valid(ifname))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Tunnel name '%s' is not a valid interface name: give the option Interface", name);
        if (manager_ifname_in_use(m, ifname, NULL))
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InterfaceInUse", "Interface '%s' is in use", ifname);
        /* A WireGuard interface that runs without wgnet is someone's (wg-quick's, say): a
         * tunnel would overwrite its key, drop its peers and delete it with the tunnel. */
        if (wg_backend_exists(m->backend, ifname))
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InterfaceInUse",
                                         "Interface '%s' exists and is not managed by wgnet", ifname);
        /* An Ethernet port, a bridge, a veth: the device could never be made (an inactive
         * tunnel was committed all the same, and no Activate could succeed), as for networks. */
        if (if_nametoindex(ifname) > 0)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InterfaceInUse",
                                         "Interface '%s' exists and is not a WireGuard interface", ifname);
        return 0;
}

int method_create_tunnel(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        BusOption o[_TOPT_MAX] = TUNNEL_OPTIONS_INIT;
        _cleanup_(tunnel_freep) Tunnel *t = NULL;
        TunnelSettings s = {0};
        const char *name, *ifname;
        int r;

        bus_message_carries_secret(m);
        /* The route checks must see the queued AddPeer calls' site networks (once allowed). */
        manager_flush_adds_if_allowed(mgr, m);
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &name);
        if (r >= 0)
                r = bus_read_options(m, o, _TOPT_MAX, error);
        if (r < 0)
                goto finish;
        ifname = o[TOPT_INTERFACE].set ? o[TOPT_INTERFACE].s : name;
        r = tunnel_check_new_name(mgr, name, ifname, error);
        if (r >= 0)
                r = tunnel_settings_check(mgr, NULL, ifname, o, USE_CREATE, &s, error);
        if (r < 0)
                goto finish;
        r = manager_verify(mgr, m, error);
        if (r <= 0) {
                r = r < 0 ? r : 1;
                goto finish;
        }

        r = tunnel_new_with_settings(mgr, name, ifname, o, &s, &t);
        if (r < 0)
                goto finish;
        t->active = o[TOPT_ACTIVATE].set ? o[TOPT_ACTIVATE].b : true;
        r = tunnel_create_commit(mgr, t, NULL, error);
        if (r < 0)
                goto finish;
        audit_log_tunnel(m, AUDIT_TUNNEL_CREATED, t, "%s: tunnel '%s' created", t->ifname, t->name);
        r = sd_bus_reply_method_return(m, "o", TAKE_PTR(t)->path);
finish:
        bus_options_done(o, _TOPT_MAX);
        tunnel_settings_done(&s);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot create tunnel '%s'", name);
        return r;
}

/* --- the Tunnel object ------------------------------------------------------------- */

static int property_get_key(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        char key[WG_KEY_B64_SIZE] = "";
        if (streq(property, "PublicKey"))
                wg_key_to_base64(key, t->public_key);
        else if (t->has_remote_key)
                wg_key_to_base64(key, t->remote_public_key);
        return sd_bus_message_append(reply, "s", key);
}

static int property_get_prefixes(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        if (streq(property, "LocalNetworks"))
                return bus_append_prefixes(reply, t->local_networks, t->n_local_networks);
        if (streq(property, "RemoteNetworks"))
                return bus_append_prefixes(reply, t->remote_networks, t->n_remote_networks);
        if (streq(property, "TunnelAddresses"))
                return bus_append_prefixes(reply, t->tunnel_addresses, t->n_tunnel_addresses);
        return bus_append_prefixes(reply, t->routes, t->n_routes);
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        return sd_bus_message_append(reply, "s", tunnel_state_to_string(t->state));
}

static int property_get_pairing(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        return sd_bus_message_append(reply, "s", tunnel_pairing_to_string(t->pairing));
}

static int method_activate(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        int r = manager_verify(t->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        bool activate = streq(sd_bus_message_get_member(m), "Activate"), was = t->active;
        r = tunnel_set_active(t, activate, error);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot change tunnel '%s'", t->name);
        if (was != activate)
                audit_log_tunnel(m, activate ? AUDIT_TUNNEL_ACTIVATED : AUDIT_TUNNEL_DEACTIVATED, t, "%s: tunnel '%s' %s",
                                 t->ifname, t->name, activate ? "activated" : "deactivated");
        return sd_bus_reply_method_return(m, NULL);
}

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        Manager *mgr = t->manager;
        BusOption o[_TOPT_MAX] = TUNNEL_OPTIONS_INIT;
        TunnelSettings s = {0};
        _cleanup_(tunnel_settings_saved_done) Tunnel saved = {0};
        const char *changed[16];
        int r;

        bus_message_carries_secret(m);
        manager_flush_adds_if_allowed(mgr, m);
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = bus_read_options(m, o, _TOPT_MAX, error);
        if (r >= 0)
                r = tunnel_settings_check(mgr, t, t->ifname, o, USE_UPDATE, &s, error);
        if (r < 0)
                goto finish;
        r = manager_verify(mgr, m, error);
        if (r <= 0) {
                r = r < 0 ? r : 1;
                goto finish;
        }
        /* Saved, applied to the device, then committed: a device that refuses (a port
         * taken meanwhile) or a failed save puts memory, database and device back. */
        r = tunnel_settings_save(t, &saved);
        if (r >= 0)
                r = tunnel_settings_apply(t, o, &s, changed);
        if (r >= 0)
                r = db_begin(mgr->db);
        if (r >= 0) {
                r = db_tunnel_update(mgr->db, t);
                if (r >= 0 && t->active) {
                        int k = tunnel_apply(t, false);
                        if (k < 0)
                                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed",
                                                      "Cannot apply the new settings to %s: %s", t->ifname, strerror(-k));
                }
                if (r >= 0)
                        r = db_commit(mgr->db);
                if (r < 0)
                        db_rollback(mgr->db);
        }
        if (r < 0) {
                if (saved.remote_endpoint) {
                        tunnel_settings_restore(t, &saved);
                        if (t->active)
                                (void) tunnel_apply(t, false);
                }
                log_error("%s: cannot update tunnel '%s': %s", t->ifname, t->name,
                          sd_bus_error_is_set(error) ? error->message : strerror(-r));
                goto finish;
        }
        if (changed[0])
                (void) sd_bus_emit_properties_changed_strv(mgr->bus, t->path, WGNET_TUNNEL_INTERFACE, (char **) changed);
        audit_log_tunnel(m, AUDIT_TUNNEL_UPDATED, t, "%s: tunnel '%s' updated", t->ifname, t->name);
        r = sd_bus_reply_method_return(m, NULL);
finish:
        bus_options_done(o, _TOPT_MAX);
        tunnel_settings_done(&s);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot update tunnel '%s'", t->name);
        return r;
}

static int method_delete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        Manager *mgr = t->manager;
        int r = manager_verify(mgr, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = db_begin(mgr->db);
        if (r >= 0)
                r = db_tunnel_delete(mgr->db, t->id);
        if (r >= 0)
                r = tunnel_deactivate_device(t);
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0) {
                db_rollback(mgr->db);
                return bus_reply_errno(error, r, "Cannot delete tunnel '%s'", t->name);
        }
        (void) sd_bus_emit_object_removed(mgr->bus, t->path);
        audit_log_tunnel(m, AUDIT_TUNNEL_DELETED, t, "%s: tunnel '%s' deleted", t->ifname, t->name);
        tunnel_detach(t);
        tunnel_free(t);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_get_pairing(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(wg_wipe_free_stringp) char *text = NULL;
        int r = manager_verify(t->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = tunnel_get_pairing(t, &text, error);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot make a pairing for tunnel '%s'", t->name);
        audit_log_tunnel(m, AUDIT_SECRET_READ, t, "%s: pairing of tunnel '%s' read", t->ifname, t->name);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", text);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

const sd_bus_vtable tunnel_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "t", NULL, offsetof(Tunnel, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Tunnel, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Interface", "s", NULL, offsetof(Tunnel, ifname), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PublicKey", "s", property_get_key, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ListenPort", "q", NULL, offsetof(Tunnel, listen_port), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RemotePublicKey", "s", property_get_key, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RemoteEndpoint", "s", NULL, offsetof(Tunnel, remote_endpoint), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LocalEndpoint", "s", NULL, offsetof(Tunnel, local_endpoint), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LocalNetworks", "as", property_get_prefixes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RemoteNetworks", "as", property_get_prefixes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TunnelAddresses", "as", property_get_prefixes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PersistentKeepalive", "q", NULL, offsetof(Tunnel, keepalive), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HasPresharedKey", "b", bus_property_get_bool, offsetof(Tunnel, has_psk), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Pairing", "s", property_get_pairing, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PairingLifetime", "u", NULL, offsetof(Tunnel, pairing_lifetime), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OnlineThreshold", "u", NULL, offsetof(Tunnel, online_threshold), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Active", "b", bus_property_get_bool, offsetof(Tunnel, active), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastHandshake", "t", NULL, offsetof(Tunnel, last_handshake), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Endpoint", "s", NULL, offsetof(Tunnel, endpoint), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Routes", "as", property_get_prefixes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RxBytes", "t", NULL, offsetof(Tunnel, rx_bytes), 0),
        SD_BUS_PROPERTY("TxBytes", "t", NULL, offsetof(Tunnel, tx_bytes), 0),
        SD_BUS_METHOD("Activate", NULL, NULL, method_activate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Deactivate", NULL, NULL, method_activate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Delete", NULL, NULL, method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetPairing", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", pairing), method_get_pairing,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int tunnel_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                              void **found, sd_bus_error *error) {
        Tunnel *t = manager_find_tunnel_by_path(userdata, path);
        if (!t)
                return 0;
        *found = t;
        return 1;
}

static int tunnel_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                  sd_bus_error *error) {
        Manager *m = userdata;
        return bus_paths_of(m->tunnels_by_id, offsetof(Tunnel, path), nodes);
}

int tunnel_bus_register(Manager *m) {
        int r = sd_bus_add_fallback_vtable(m->bus, NULL, WGNET_TUNNEL_PREFIX, WGNET_TUNNEL_INTERFACE, tunnel_vtable,
                                           tunnel_object_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(m->bus, NULL, WGNET_TUNNEL_PREFIX, tunnel_node_enumerator, m);
        return r;
}
