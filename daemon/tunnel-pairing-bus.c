/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ImportPairing: an offer becomes a new tunnel on this host; a reply completes the tunnel
 * that made the offer. */
#include <inttypes.h>
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

static int pairing_expired(const Pairing *p, sd_bus_error *error) {
        char hex[PAIRING_ID_HEX_LEN + 1], when[64];
        time_t e = (time_t) p->expires;
        struct tm tm;

        if ((uint64_t) (now_usec() / 1000000) < p->expires)
                return 0;
        pairing_id_to_hex(p->id, hex);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&e, &tm));
        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PairingExpired",
                                 "Pairing %s expired at %s: ask for a new one (GetPairing)", hex, when);
}

static int pairing_used_error(const uint8_t id[PAIRING_ID_LEN], sd_bus_error *error) {
        char hex[PAIRING_ID_HEX_LEN + 1];
        pairing_id_to_hex(id, hex);
        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PairingUsed",
                                 "Pairing %s was already used on this host: a pairing string works once", hex);
}

/* An offer from another host: a new tunnel towards it. */
static int import_offer(sd_bus_message *m, Manager *mgr, Pairing *p, BusOption *o, sd_bus_error *error) {
        _cleanup_(tunnel_freep) Tunnel *t = NULL;
        TunnelSettings s = {0};
        char hex[PAIRING_ID_HEX_LEN + 1], name_buf[32];
        const char *name, *ifname;
        Tunnel *other;
        int r;

        pairing_id_to_hex(p->id, hex);
        snprintf(name_buf, sizeof(name_buf), "wgt-%.8s", hex);
        name = o[TOPT_NAME].set ? o[TOPT_NAME].s : name_buf;
        ifname = o[TOPT_INTERFACE].set ? o[TOPT_INTERFACE].s : name;
        r = tunnel_check_new_name(mgr, name, ifname, error);
        if (r >= 0)
                r = tunnel_settings_check(mgr, NULL, ifname, o, USE_IMPORT_OFFER, &s, error);
        if (r < 0)
                goto finish;
        /* The offer's networks become the remote networks: they must not overlap ours. */
        for (size_t i = 0; i < p->n_networks; i++)
                for (size_t k = 0; k < s.n_local_networks; k++)
                        if (ip_prefix_overlaps(&p->networks[i], &s.local_networks[k])) {
                                char a[IP_PREFIX_STRLEN];
                                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                      "The remote network %s of pairing %s overlaps LocalNetworks",
                                                      ip_prefix_to_string(&p->networks[i], a), hex);
                                goto finish;
                        }
        /* Used, then expired, then a tunnel to that host already: the most telling first. */
        r = db_pairing_is_used(mgr->db, PAIRING_OFFER, p->id);
        if (r > 0)
                r = pairing_used_error(p->id, error);
        if (r >= 0)
                r = pairing_expired(p, error);
        if (r < 0)
                goto finish;
        HASHMAP_FOREACH(other, mgr->tunnels_by_id, i) {
                if (wg_key_equal(other->public_key, p->public_key)) {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                              "Pairing %s was made by tunnel '%s' of this host: import it on the other host",
                                              hex, other->name);
                        goto finish;
                }
                if (other->has_remote_key && wg_key_equal(other->remote_public_key, p->public_key)) {
                        r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "TunnelExists",
                                              "Tunnel '%s' already leads to the host of pairing %s", other->name, hex);
                        goto finish;
                }
        }
        /* Our tunnel addresses, the offer's peers: their prefix is routed here too. */
        IpPrefix ours[PAIRING_MAX_ADDRESSES];
        for (size_t i = 0; i < p->n_tunnel_addresses; i++)
                (void) pairing_peer_address(&p->tunnel_addresses[i], &ours[i]);
        r = tunnel_check_remote_networks(mgr, NULL, ifname, p->networks, p->n_networks, error);
        if (r >= 0)
                r = tunnel_check_endpoint_outside(p->endpoint, p->networks, p->n_networks, ours, p->n_tunnel_addresses,
                                                  error);
        if (r >= 0)
                r = tunnel_check_tunnel_addresses(mgr, NULL, ifname, ours, p->n_tunnel_addresses, error);
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
        t->has_remote_key = true;
        memcpy(t->remote_public_key, p->public_key, WG_KEY_LEN);
        if ((r = set_string(&t->remote_endpoint, p->endpoint, NULL)) < 0)
                goto finish;
        t->remote_networks = calloc(p->n_networks + 1, sizeof(IpPrefix));
        if (!t->remote_networks) {
                r = -ENOMEM;
                goto finish;
        }
        memcpy(t->remote_networks, p->networks, p->n_networks * sizeof(IpPrefix));
        t->n_remote_networks = p->n_networks;
        for (size_t i = 0; i < p->n_tunnel_addresses; i++)
                (void) pairing_peer_address(&p->tunnel_addresses[i], &t->tunnel_addresses[i]);
        t->n_tunnel_addresses = p->n_tunnel_addresses;
        r = tunnel_seal(t, "tunnels.preshared_key", p->preshared_key, t->psk_sealed);
        if (r < 0)
                goto finish;
        t->has_psk = true;
        t->pairing = TUNNEL_PAIRING_IMPORTED;
        memcpy(t->pairing_id, p->id, PAIRING_ID_LEN);
        t->active = o[TOPT_ACTIVATE].set ? o[TOPT_ACTIVATE].b : true;
        r = tunnel_create_commit(mgr, t, p->id, error);
        if (r < 0)
                goto finish;
        audit_log_tunnel(m, AUDIT_TUNNEL_IMPORTED, t, "%s: tunnel '%s' created from pairing %s", t->ifname, t->name, hex);
        r = sd_bus_reply_method_return(m, "o", TAKE_PTR(t)->path);
finish:
        tunnel_settings_done(&s);
        return r;
}

/* A reply to an offer of ours: completes the tunnel that is waiting for it. */
static int import_reply(sd_bus_message *m, Manager *mgr, Pairing *p, BusOption *o, sd_bus_error *error) {
        _cleanup_(tunnel_settings_saved_done) Tunnel saved = {0};
        TunnelSettings s = {0};
        char hex[PAIRING_ID_HEX_LEN + 1];
        uint8_t pending[WG_KEY_LEN];
        Tunnel *t = NULL, *i_t;
        int r;

        pairing_id_to_hex(p->id, hex);
        r = tunnel_settings_check(mgr, NULL, NULL, o, USE_IMPORT_REPLY, &s, error);
        if (r < 0)
                goto finish;
        r = db_pairing_is_used(mgr->db, PAIRING_REPLY, p->id);
        if (r > 0)
                r = pairing_used_error(p->id, error);
        if (r >= 0)
                r = pairing_expired(p, error);
        if (r < 0)
                goto finish;
        HASHMAP_FOREACH(i_t, mgr->tunnels_by_id, i)
                if (i_t->pairing == TUNNEL_PAIRING_OFFERED && memcmp(i_t->pairing_id, p->id, PAIRING_ID_LEN) == 0)
                        t = i_t;
        if (!t) {
                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NotFound",
                                              "No tunnel of this host is waiting for pairing %s "
                                              "(a newer GetPairing replaces the older offer)", hex);
                goto finish;
        }
        /* Our offer's own lifetime counts too, not only the one the replying host chose. */
        if (t->pairing_expires > 0 && now_usec() / 1000000 >= t->pairing_expires) {
                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PairingExpired",
                                      "The offer of tunnel '%s' (pairing %s) has expired: ask for a new one (GetPairing)",
                                      t->name, hex);
                goto finish;
        }
        r = tunnel_pending_psk(t, pending);
        if (r < 0)
                goto finish;
        if (!wg_key_equal(pending, p->preshared_key)) {
                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PairingMismatch",
                                      "Pairing %s does not answer the offer of tunnel '%s' (preshared key differs)",
                                      hex, t->name);
                goto finish;
        }
        if (wg_key_equal(p->public_key, t->public_key)) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                      "Pairing %s carries this tunnel's own key: import it on the other host", hex);
                goto finish;
        }
        for (size_t i = 0; i < p->n_networks; i++)
                for (size_t k = 0; k < t->n_local_networks; k++)
                        if (ip_prefix_overlaps(&p->networks[i], &t->local_networks[k])) {
                                char a[IP_PREFIX_STRLEN];
                                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                      "The remote network %s of pairing %s overlaps the local networks of tunnel '%s'",
                                                      ip_prefix_to_string(&p->networks[i], a), hex, t->name);
                                goto finish;
                        }
        r = tunnel_check_remote_networks(mgr, t, t->ifname, p->networks, p->n_networks, error);
        if (r >= 0)
                r = tunnel_check_endpoint_outside(isempty(p->endpoint) ? t->remote_endpoint : p->endpoint, p->networks,
                                                  p->n_networks, t->tunnel_addresses, t->n_tunnel_addresses, error);
        if (r < 0)
                goto finish;
        r = manager_verify(mgr, m, error);
        if (r <= 0) {
                r = r < 0 ? r : 1;
                goto finish;
        }

        /* The settings and the pairing are saved for the undo, never the whole tunnel: its
         * routes and seen endpoint belong to tunnel_apply(), which frees and replaces them
         * (a copy put back held freed pointers, freed again by the next apply). */
        r = tunnel_settings_save(t, &saved);
        if (r < 0)
                goto finish;
        IpPrefix *new_remote = calloc(p->n_networks + 1, sizeof(IpPrefix));
        if (!new_remote) {
                r = -ENOMEM;
                goto finish;
        }
        memcpy(new_remote, p->networks, p->n_networks * sizeof(IpPrefix));
        free(t->remote_networks);
        t->remote_networks = new_remote;
        t->n_remote_networks = p->n_networks;
        t->has_remote_key = true;
        memcpy(t->remote_public_key, p->public_key, WG_KEY_LEN);
        r = isempty(p->endpoint) ? 0 : set_string(&t->remote_endpoint, p->endpoint, NULL);
        if (r >= 0)
                r = tunnel_seal(t, "tunnels.preshared_key", pending, t->psk_sealed);
        t->has_psk = true;
        t->has_pending_psk = false;
        t->pairing = TUNNEL_PAIRING_NONE;
        t->endpoint_dirty = true;
        if (r >= 0)
                r = db_begin(mgr->db);
        if (r >= 0) {
                r = db_tunnel_update(mgr->db, t);
                if (r >= 0)
                        r = db_pairing_mark_used(mgr->db, PAIRING_REPLY, p->id, t->id);
                /* The device before the commit (as Tunnel.Update): a device that refuses
                 * leaves the reply unused, to be imported again. */
                if (r >= 0 && t->active) {
                        r = tunnel_apply(t, false);
                        if (r < 0)
                                sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed",
                                                  "Cannot apply the paired tunnel to %s: %s", t->ifname, strerror(-r));
                }
                if (r >= 0)
                        r = db_commit(mgr->db);
                if (r < 0)
                        db_rollback(mgr->db);
        }
        if (r < 0) {
                tunnel_settings_restore(t, &saved);
                if (t->active)
                        (void) tunnel_apply(t, false);  /* the device as the database has it */
                if (r == -EEXIST)
                        r = pairing_used_error(p->id, error);
                goto finish;
        }
        t->activated_usec = 0;          /* "connecting" counts from now */
        (void) tunnel_emit_changed(t, "RemotePublicKey", "RemoteEndpoint", "RemoteNetworks", "HasPresharedKey",
                                   "Pairing", NULL);
        audit_log_tunnel(m, AUDIT_TUNNEL_PAIRED, t, "%s: tunnel '%s' paired (pairing %s)", t->ifname, t->name, hex);
        r = sd_bus_reply_method_return(m, "o", t->path);
finish:
        wg_wipe(pending, sizeof(pending));
        tunnel_settings_done(&s);
        return r;
}

int method_import_pairing(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        BusOption o[_TOPT_MAX] = TUNNEL_OPTIONS_INIT;
        Pairing p;
        const char *text, *why = NULL;
        int r;

        bus_message_carries_secret(m);
        manager_flush_adds_if_allowed(mgr, m);
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &text);
        if (r >= 0)
                r = bus_read_options(m, o, _TOPT_MAX, error);
        if (r < 0)
                goto finish;
        r = pairing_parse(text, &p, &why);
        if (r == -EINVAL) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid pairing string: %s",
                                      why ? why : "malformed");
                goto finish;
        }
        if (r < 0)
                goto finish;
        if (p.kind == PAIRING_OFFER)
                r = import_offer(m, mgr, &p, o, error);
        else
                r = import_reply(m, mgr, &p, o, error);
        pairing_wipe(&p);
finish:
        bus_options_done(o, _TOPT_MAX);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot import the pairing");
        return r;
}
