/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The key lifecycle of peers: keypair rotation with a grace period, PSK rotation, the
 * rotation policy, auto-revoke of inactive peers and expiry.
 *
 * A keypair rotation cannot give the peer's addresses to two keys at once (allowed IPs are
 * a routing table), so the new key goes onto the device without addresses: the client can
 * complete a handshake with it, while its traffic still flows through the old key. At the
 * first handshake of the new key (polled every ROTATION_POLL_USEC while a rotation waits) or
 * at the end of the grace period, one device set moves the addresses to the new key and
 * removes the old one. The pending state lives in the database and survives restarts. */

#include "audit.h"
#include "bus-util.h"
#include "db.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "peer.h"
#include "rotation.h"
#include "wgnet-error.h"

#define ROTATION_POLL_USEC (200 * UINT64_C(1000))
#define USEC_PER_SEC UINT64_C(1000000)
/* A key switch or a policy action that failed (a full disk, a damaged sealed key) is tried
 * again after this long, not at every poll and tick, and makes room for the others. */
#define SWITCH_RETRY_USEC (60 * USEC_PER_SEC)
#define POLICY_RETRY_USEC (600 * USEC_PER_SEC)

uint64_t peer_rotation_interval(const Peer *p) {
        return p->rotation_interval >= 0 ? (uint64_t) p->rotation_interval : p->network->rotation_interval;
}

RotationKind peer_rotation_kind(const Peer *p) {
        return p->rotation_kind >= 0 ? (RotationKind) p->rotation_kind : p->network->rotation_kind;
}

uint64_t peer_revoke_inactive(const Peer *p) {
        return p->revoke_inactive >= 0 ? (uint64_t) p->revoke_inactive : p->network->revoke_inactive;
}

uint64_t peer_grace_period(const Peer *p) {
        return p->grace_period >= 0 ? (uint64_t) p->grace_period : p->network->grace_period;
}

int peer_pending_to_wg_peer(Peer *p, WgPeer *wp) {
        int r;

        memcpy(wp->public_key, p->pending_public_key, WG_KEY_LEN);
        wp->flags |= WGPEER_HAS_PRESHARED_KEY | WGPEER_HAS_PERSISTENT_KEEPALIVE | WGPEER_REPLACE_ALLOWEDIPS;
        r = manager_open(p->network->manager, "peers.pending_preshared_key", p->id, p->pending_psk_sealed,
                         sizeof(p->pending_psk_sealed), wp->preshared_key);
        if (r < 0)
                return r;
        wp->persistent_keepalive = peer_server_keepalive(p);
        /* The endpoint a config gave the peer, as for its current key: a site gateway whose
         * config has no Endpoint waits for the hub to start the handshake, on either key. */
        if (peer_remote_endpoint(p, &wp->endpoint) >= 0)
                wp->flags |= WGPEER_HAS_ENDPOINT;
        else
                wp->endpoint = (WgEndpoint) {0};
        /* No allowed IPs: the addresses stay with the old key until the switch. */
        free(wp->allowed_ips);
        wp->allowed_ips = NULL;
        wp->n_allowed_ips = wp->allowed_ips_alloc = 0;
        return 0;
}

int peer_get_pending_config(Peer *p, char **ret) {
        uint8_t key[WG_KEY_LEN], psk[WG_KEY_LEN];
        int r;

        r = manager_open(p->network->manager, "peers.pending_preshared_key", p->id, p->pending_psk_sealed,
                         sizeof(p->pending_psk_sealed), psk);
        if (r < 0)
                return r;
        if (p->pending_private_stored) {
                r = manager_open(p->network->manager, "peers.pending_private_key", p->id, p->pending_private_sealed,
                                 sizeof(p->pending_private_sealed), key);
                if (r >= 0)
                        r = peer_render_config_with(p, key, psk, ret);
        } else
                r = peer_render_config_with(p, NULL, psk, ret);
        wg_wipe(key, sizeof(key));
        wg_wipe(psk, sizeof(psk));
        return r;
}

static bool any_rotation_pending(Manager *m) {
        Network *n;
        HASHMAP_FOREACH(n, m->networks_by_id, i)
                if (hashmap_size(n->peers_by_pending_key) > 0)
                        return true;
        return false;
}

static int on_rotation_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t start = now_monotonic_usec();
        Network *n;

        (void) usec;
        HASHMAP_FOREACH(n, m->networks_by_id, i) {
                if (hashmap_size(n->peers_by_pending_key) == 0)
                        continue;
                /* A handshake of a new key completes its rotation (in update_status). */
                if (n->active) {
                        int r = network_refresh_status(n, 0);
                        if (r < 0)
                                log_warning("%s: cannot read the device: %s", n->ifname, strerror(-r));
                }
        }
        manager_rotation_deadlines(m);
        /* A device read costs about 4 µs a peer (40 ms at 10,000 with wireguard-go): the
         * poll takes at most a tenth of the time, and never waits longer than the tick,
         * which reads the devices anyway. */
        uint64_t now = now_monotonic_usec();
        uint64_t next = MIN(MAX(ROTATION_POLL_USEC, 10 * (now - start)), MAX(m->config.tick_usec, ROTATION_POLL_USEC));
        if (any_rotation_pending(m))
                (void) sd_event_source_set_time(s, now + next);
        else
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

int manager_rotation_timer_update(Manager *m) {
        int r;

        if (!any_rotation_pending(m)) {
                if (m->rotation_source)
                        (void) sd_event_source_set_enabled(m->rotation_source, SD_EVENT_OFF);
                return 0;
        }
        if (!m->rotation_source) {
                r = sd_event_add_time_relative(m->event, &m->rotation_source, CLOCK_MONOTONIC, ROTATION_POLL_USEC,
                                               50 * 1000, on_rotation_poll, m);
                if (r < 0)
                        return r;
        } else {
                int enabled = SD_EVENT_OFF;
                (void) sd_event_source_get_enabled(m->rotation_source, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return 0;
                r = sd_event_source_set_time_relative(m->rotation_source, ROTATION_POLL_USEC);
                if (r < 0)
                        return r;
        }
        return sd_event_source_set_enabled(m->rotation_source, SD_EVENT_ON);
}

/* Fields that a rotation changes, to restore them when the database refuses. */
typedef struct KeyState {
        uint8_t public_key[WG_KEY_LEN];
        bool has_psk;
        uint8_t psk_sealed[SEALED_KEY_SIZE];
        bool private_key_stored;
        bool rotation_pending;
        uint8_t pending_public_key[WG_KEY_LEN];
        uint8_t pending_psk_sealed[SEALED_KEY_SIZE];
        bool pending_private_stored;
        uint8_t pending_private_sealed[SEALED_KEY_SIZE];
        uint64_t rotation_deadline, last_rotation, updated_at;
} KeyState;

static void key_state_save(const Peer *p, KeyState *k) {
        memcpy(k->public_key, p->public_key, WG_KEY_LEN);
        k->has_psk = p->has_psk;
        memcpy(k->psk_sealed, p->psk_sealed, sizeof(k->psk_sealed));
        k->private_key_stored = p->private_key_stored;
        k->rotation_pending = p->rotation_pending;
        memcpy(k->pending_public_key, p->pending_public_key, WG_KEY_LEN);
        memcpy(k->pending_psk_sealed, p->pending_psk_sealed, sizeof(k->pending_psk_sealed));
        k->pending_private_stored = p->pending_private_stored;
        memcpy(k->pending_private_sealed, p->pending_private_sealed, sizeof(k->pending_private_sealed));
        k->rotation_deadline = p->rotation_deadline;
        k->last_rotation = p->last_rotation;
        k->updated_at = p->updated_at;
}

static void key_state_restore(Peer *p, const KeyState *k) {
        memcpy(p->public_key, k->public_key, WG_KEY_LEN);
        p->has_psk = k->has_psk;
        memcpy(p->psk_sealed, k->psk_sealed, sizeof(k->psk_sealed));
        p->private_key_stored = k->private_key_stored;
        p->rotation_pending = k->rotation_pending;
        memcpy(p->pending_public_key, k->pending_public_key, WG_KEY_LEN);
        memcpy(p->pending_psk_sealed, k->pending_psk_sealed, sizeof(k->pending_psk_sealed));
        p->pending_private_stored = k->pending_private_stored;
        memcpy(p->pending_private_sealed, k->pending_private_sealed, sizeof(k->pending_private_sealed));
        p->rotation_deadline = k->rotation_deadline;
        p->last_rotation = k->last_rotation;
        p->updated_at = k->updated_at;
}

int peer_rotation_start(Peer *p, char **ret_config, sd_bus_error *error) {
        Network *n = p->network;
        Manager *m = n->manager;
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN], psk[WG_KEY_LEN], old_pending[WG_KEY_LEN];
        bool device_changed = false;
        KeyState saved;
        size_t len;
        int r;

        /* A pending rotation whose new private key is not held (KeyPolicy=one-time) is
         * replaced by a new one: its key was given once, in a reply that may never have
         * arrived (a crash after the commit, a caller that timed out), and without it the
         * peer would be cut off when the grace period ends. The old key keeps working. */
        bool replace = p->rotation_pending && !p->pending_private_stored;
        if (p->rotation_pending && !replace)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RotationPending",
                                         "A key rotation of peer '%s' is already pending (GetConfig gives its new config)",
                                         p->name);
        if (!p->private_key_stored && n->key_policy == KEY_POLICY_STORED)
                /* Its private key never touches the server: the daemon does not make one. */
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Peer '%s' brings its own key pair: rotate it on the peer and add it "
                                         "again, or rotate only the preshared key ('psk')", p->name);
        key_state_save(p, &saved);

        r = wg_key_generate_private(priv);
        if (r >= 0)
                r = wg_key_public_from_private(pub, priv);
        if (r >= 0)
                r = wg_key_generate_preshared(psk);
        if (r >= 0)
                r = manager_seal(m, "peers.pending_preshared_key", p->id, psk, p->pending_psk_sealed,
                                 sizeof(p->pending_psk_sealed), &len);
        /* The new private key is kept only where the network keeps private keys. */
        p->pending_private_stored = r >= 0 && n->key_policy == KEY_POLICY_STORED;
        if (p->pending_private_stored)
                r = manager_seal(m, "peers.pending_private_key", p->id, priv, p->pending_private_sealed,
                                 sizeof(p->pending_private_sealed), &len);
        if (r < 0)
                goto fail;
        if (replace) {
                /* The map is keyed by the bytes in the peer: out before they change. */
                memcpy(old_pending, p->pending_public_key, WG_KEY_LEN);
                hashmap_remove(n->peers_by_pending_key, p->pending_public_key);
        }
        memcpy(p->pending_public_key, pub, WG_KEY_LEN);
        p->rotation_pending = true;
        p->rotation_deadline = now_usec() + peer_grace_period(p) * USEC_PER_SEC;
        p->updated_at = now_usec();

        r = db_begin(m->db);
        if (r >= 0)
                r = db_peer_update(m->db, p);
        if (r >= 0 && n->active && p->enabled) {
                r = wg_device_new(n->ifname, &d);
                if (r >= 0 && replace) {
                        WgPeer *gone = wg_device_add_peer(d, old_pending);
                        if (gone)
                                gone->flags |= WGPEER_REMOVE_ME;
                        else
                                r = -ENOMEM;
                }
                WgPeer *wp = r >= 0 ? wg_device_add_peer(d, pub) : NULL;
                if (r >= 0 && !wp)
                        r = -ENOMEM;
                if (r >= 0)
                        r = peer_pending_to_wg_peer(p, wp);
                if (r >= 0)
                        r = wg_backend_set_device(m->backend, d);
                if (r < 0)
                        sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed",
                                          "Cannot put the new key of peer '%s' on %s: %s", p->name, n->ifname,
                                          strerror(-r));
                else
                        device_changed = true;
        }
        if (r >= 0)
                r = db_commit(m->db);
        if (r < 0) {
                db_rollback(m->db);
                goto fail;
        }
        (void) hashmap_put(n->peers_by_pending_key, p->pending_public_key, p);

        if (ret_config) {
                r = peer_render_config_with(p, priv, psk, ret_config);
                if (r < 0)
                        log_warning("%s: peer '%s': cannot render the new config: %s", n->name, p->name, strerror(-r));
        }
        wg_wipe(priv, sizeof(priv));
        wg_wipe(psk, sizeof(psk));

        char key[WG_KEY_B64_SIZE];
        wg_key_to_base64(key, pub);
        log_debug("%s: peer '%s': keypair rotation started, new key %s, grace period ends in %" PRIu64 " s",
                 n->name, p->name, key, peer_grace_period(p));
        if (m->bus)
                (void) sd_bus_emit_signal(m->bus, p->path, WGNET_PEER_INTERFACE, "RotationPending", "t",
                                          p->rotation_deadline);
        (void) peer_emit_changed(p, "RotationPending", "RotationDeadline", "PendingPublicKey", "UpdatedAt", NULL);
        (void) manager_rotation_timer_update(m);
        return 0;

fail:
        wg_wipe(priv, sizeof(priv));
        wg_wipe(psk, sizeof(psk));
        key_state_restore(p, &saved);
        if (replace)
                (void) hashmap_put(n->peers_by_pending_key, p->pending_public_key, p);
        if (device_changed) {
                /* Not durable: the device as it was (the reconcile would, a tick later). */
                _cleanup_(wg_device_freep) WgDevice *undo = NULL;
                if (wg_device_new(n->ifname, &undo) >= 0) {
                        WgPeer *w = wg_device_add_peer(undo, pub);
                        if (w)
                                w->flags |= WGPEER_REMOVE_ME;
                        w = replace ? wg_device_add_peer(undo, p->pending_public_key) : NULL;
                        if (w)
                                (void) peer_pending_to_wg_peer(p, w);
                        (void) wg_backend_set_device(m->backend, undo);
                }
        }
        if (!sd_bus_error_is_set(error))
                return bus_reply_errno(error, r, "Cannot start the key rotation of peer '%s'", p->name);
        return r;
}

int peer_rotation_complete(Peer *p, const char *why) {
        Network *n = p->network;
        Manager *m = n->manager;
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        uint8_t key[WG_KEY_LEN], old_public[WG_KEY_LEN], private_sealed[SEALED_KEY_SIZE];
        KeyState saved;
        size_t len;
        int r;

        if (!p->rotation_pending)
                return 0;
        Peer *holder = hashmap_get(n->peers_by_key, p->pending_public_key);
        if (holder && holder != p) {
                /* Only a database from before AddPeer checked the pending keys can hold this. */
                log_error("%s: peer '%s': cannot complete the key rotation: its new key is peer '%s''s key",
                          n->name, p->name, holder->name);
                return -EEXIST;
        }
        key_state_save(p, &saved);
        memcpy(old_public, p->public_key, WG_KEY_LEN);

        /* Re-seal the pending secrets under their final places. */
        r = manager_open(m, "peers.pending_preshared_key", p->id, p->pending_psk_sealed, sizeof(p->pending_psk_sealed), key);
        if (r >= 0)
                r = manager_seal(m, "peers.preshared_key", p->id, key, p->psk_sealed, sizeof(p->psk_sealed), &len);
        if (r >= 0 && p->pending_private_stored) {
                r = manager_open(m, "peers.pending_private_key", p->id, p->pending_private_sealed,
                                 sizeof(p->pending_private_sealed), key);
                if (r >= 0)
                        r = manager_seal(m, "peers.private_key", p->id, key, private_sealed, sizeof(private_sealed), &len);
        }
        wg_wipe(key, sizeof(key));
        if (r < 0) {
                key_state_restore(p, &saved);   /* the preshared key may have been sealed already */
                goto fail;
        }

        hashmap_remove(n->peers_by_pending_key, p->pending_public_key);
        if (hashmap_get(n->peers_by_key, p->public_key) == p)
                hashmap_remove(n->peers_by_key, p->public_key);
        memcpy(p->public_key, p->pending_public_key, WG_KEY_LEN);
        (void) hashmap_put(n->peers_by_key, p->public_key, p);
        p->has_psk = true;
        p->private_key_stored = p->pending_private_stored;
        p->rotation_pending = false;
        p->pending_private_stored = false;
        wg_wipe(p->pending_public_key, WG_KEY_LEN);
        p->rotation_deadline = 0;
        p->last_rotation = p->updated_at = now_usec();

        /* The database first: if we die before the device step, the reconcile does it. */
        r = db_begin(m->db);
        if (r >= 0)
                r = db_peer_update(m->db, p);
        if (r >= 0)
                r = db_peer_set_private_key(m->db, p->id, p->private_key_stored ? private_sealed : NULL,
                                            sizeof(private_sealed));
        if (r >= 0)
                r = db_commit(m->db);
        if (r < 0) {
                db_rollback(m->db);
                if (hashmap_get(n->peers_by_key, p->public_key) == p)
                        hashmap_remove(n->peers_by_key, p->public_key);
                key_state_restore(p, &saved);
                (void) hashmap_put(n->peers_by_key, p->public_key, p);
                (void) hashmap_put(n->peers_by_pending_key, p->pending_public_key, p);
                goto fail;
        }

        /* One device set: the old key goes, the new key takes the addresses. */
        if (n->active && p->enabled) {
                r = wg_device_new(n->ifname, &d);
                WgPeer *old = r >= 0 ? wg_device_add_peer(d, old_public) : NULL;
                if (old)
                        old->flags |= WGPEER_REMOVE_ME;
                WgPeer *wp = old ? wg_device_add_peer(d, p->public_key) : NULL;
                if (r >= 0 && !wp)
                        r = -ENOMEM;
                if (r >= 0)
                        r = peer_to_wg_peer(p, wp);
                /* The device has the new key's endpoint already: the configured one, or the
                 * one its handshake came from, which must not be pulled back. */
                if (wp)
                        wp->flags &= ~WGPEER_HAS_ENDPOINT;
                if (r >= 0)
                        r = wg_backend_set_device(m->backend, d);
                if (r < 0)
                        log_warning("%s: peer '%s': cannot switch keys on the device, the reconcile will: %s",
                                    n->ifname, p->name, strerror(-r));
        }
        audit_log(NULL, AUDIT_PEER_ROTATION_COMPLETED, n, p, "%s: peer '%s': keypair rotation completed (%s)",
                  n->name, p->name, why);
        (void) peer_emit_changed(p, "PublicKey", "HasPresharedKey", "PrivateKeyStored", "RotationPending",
                                 "RotationDeadline", "PendingPublicKey", "LastRotation", "UpdatedAt", NULL);
        return 0;

fail:
        log_error("%s: peer '%s': cannot complete the key rotation: %s", n->name, p->name, strerror(-r));
        return r;
}

/* A switch that failed (logged by peer_rotation_complete) waits SWITCH_RETRY_USEC. */
static void rotation_switch(Peer *p, uint64_t now, const char *why) {
        if (peer_rotation_complete(p, why) < 0) {
                p->switch_retry_at = now + SWITCH_RETRY_USEC;
                log_info("%s: peer '%s': the key switch is tried again in %" PRIu64 " s", p->network->name, p->name,
                         SWITCH_RETRY_USEC / USEC_PER_SEC);
        }
}

void network_rotation_check(Network *n, const WgDevice *d) {
        Peer *done[64];
        size_t k = 0;

        if (hashmap_size(n->peers_by_pending_key) == 0)
                return;
        /* Inside a caller's transaction (Activate, say) the switch waits for the next poll:
         * it has a transaction of its own. */
        if (db_in_transaction(n->manager->db))
                return;
        uint64_t now = now_usec();
        for (size_t i = 0; i < d->n_peers && k < ELEMENTSOF(done); i++) {
                Peer *p = hashmap_get(n->peers_by_pending_key, d->peers[i].public_key);
                /* An expired peer's new key gets nothing: the policy tick revokes the peer. */
                if (p && d->peers[i].last_handshake_usec > 0 && now >= p->switch_retry_at && !peer_expired(p, now))
                        done[k++] = p;
        }
        for (size_t i = 0; i < k; i++)
                rotation_switch(done[i], now, "the new key completed a handshake");
}

void manager_rotation_deadlines(Manager *m) {
        uint64_t now = now_usec();
        Network *n;

        HASHMAP_FOREACH(n, m->networks_by_id, i) {
                Peer *done[64], *p;
                size_t k = 0;
                if (hashmap_size(n->peers_by_pending_key) == 0)
                        continue;
                HASHMAP_FOREACH(p, n->peers_by_pending_key, j)
                        if (now >= p->rotation_deadline && now >= p->switch_retry_at && !peer_expired(p, now) &&
                            k < ELEMENTSOF(done))
                                done[k++] = p;
                for (size_t x = 0; x < k; x++)
                        rotation_switch(done[x], now, "the grace period ended");
        }
}

/* When this daemon started, in µs since the epoch as the clock reads now: the time it has
 * been running is measured on CLOCK_BOOTTIME, so that a clock stepped forward after the
 * start (a host without a real-time clock, set by NTP) does not make it look days old. */
static uint64_t manager_started_at(const Manager *m, uint64_t now) {
        uint64_t up = now_boottime_usec() - m->started_at_boottime;
        return now > up ? now - up : 0;
}

bool peer_can_rotate_alone(const Peer *p) {
        return peer_rotation_kind(p) == ROTATION_PSK ||
               (p->network->key_policy == KEY_POLICY_STORED && p->private_key_stored);
}

int peer_rotate_psk(Peer *p, sd_bus_error *error) {
        Manager *mgr = p->network->manager;
        uint8_t psk[WG_KEY_LEN], old[SEALED_KEY_SIZE];
        size_t len;
        int r;

        /* The pending key has a preshared key of its own, which becomes the peer's when the
         * rotation completes: a new one now would cut the old key's client off and be lost. */
        if (p->rotation_pending)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RotationPending",
                                         "A key rotation of peer '%s' is pending: its preshared key changes with it",
                                         p->name);
        /* A new preshared key, applied at once: the client needs the new config. */
        bool had = p->has_psk;
        memcpy(old, p->psk_sealed, sizeof(old));
        r = wg_key_generate_preshared(psk);
        if (r >= 0)
                r = manager_seal(mgr, "peers.preshared_key", p->id, psk, p->psk_sealed, sizeof(p->psk_sealed), &len);
        wg_wipe(psk, sizeof(psk));
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot rotate the preshared key of peer '%s'", p->name);
        p->has_psk = true;
        uint64_t old_updated = p->updated_at, old_rotation = p->last_rotation;
        p->updated_at = p->last_rotation = now_usec();
        r = db_begin(mgr->db);
        if (r >= 0)
                r = db_peer_update(mgr->db, p);
        if (r >= 0 && p->enabled)
                r = network_apply_peer(p->network, p, false);
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0) {
                db_rollback(mgr->db);
                memcpy(p->psk_sealed, old, sizeof(old));
                p->has_psk = had;
                p->updated_at = old_updated;
                p->last_rotation = old_rotation;
                /* The device may hold the new key already, whose only copy is gone: the
                 * old one back (the reconcile would, a tick later). */
                if (p->enabled)
                        (void) network_apply_peer(p->network, p, false);
                return bus_reply_errno(error, r, "Cannot rotate the preshared key of peer '%s'", p->name);
        }
        log_debug("%s: peer '%s': preshared key rotated", p->network->name, p->name);
        (void) peer_emit_changed(p, "HasPresharedKey", "LastRotation", "UpdatedAt", NULL);
        return 0;
}

static void peer_revoke(Peer *p, const char *reason) {
        Manager *m = p->network->manager;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (peer_set_enabled(p, false, &error) < 0) {
                p->revoke_retry_at = now_usec() + POLICY_RETRY_USEC;
                log_error("%s: peer '%s': cannot revoke (%s), tried again in %" PRIu64 " s: %s", p->network->name,
                          p->name, reason, POLICY_RETRY_USEC / USEC_PER_SEC, error.message ? error.message : "unknown error");
                return;
        }
        audit_log(NULL, AUDIT_PEER_REVOKED, p->network, p, "%s: peer '%s' revoked: %s", p->network->name, p->name, reason);
        if (m->bus)
                (void) sd_bus_emit_signal(m->bus, p->path, WGNET_PEER_INTERFACE, "Revoked", "s", reason);
}

void manager_policy_tick(Manager *m) {
        uint64_t now = now_usec();
        Network *n;

        manager_rotation_deadlines(m);
        HASHMAP_FOREACH(n, m->networks_by_id, i) {
                /* A mesh's members come and go through the mesh only. */
                if (n->mode == NETWORK_MODE_MESH)
                        continue;
                /* Collect first: revoking and rotating change what the loop walks. */
                Peer *expire[64], *inactive[64], *rotate[64];
                size_t n_expire = 0, n_inactive = 0, n_rotate = 0;

                for (Peer *p = n->peers; p; p = p->next) {
                        /* (A revocation that failed waits; a rotation that failed does not
                         * hold up an expiry.) */
                        if (!p->enabled || now < p->revoke_retry_at)
                                continue;
                        if (p->expires_at > 0 && now >= p->expires_at) {
                                if (n_expire < ELEMENTSOF(expire))
                                        expire[n_expire++] = p;
                                continue;
                        }
                        uint64_t revoke = peer_revoke_inactive(p);
                        if (revoke > 0 && n->active) {
                                /* From the last handshake, or creation, or the last change by an
                                 * admin (Enable, Update), or this daemon's start: whichever is
                                 * latest. Not from a rotation: a peer that never connects would
                                 * otherwise never be revoked while a policy rotates its keys. */
                                uint64_t since = MAX(MAX(p->last_handshake, p->created_at),
                                                     MAX(p->admin_changed_at, manager_started_at(m, now)));
                                if (now >= since + revoke * USEC_PER_SEC) {
                                        if (n_inactive < ELEMENTSOF(inactive))
                                                inactive[n_inactive++] = p;
                                        continue;
                                }
                        }
                        uint64_t interval = peer_rotation_interval(p);
                        if (interval > 0 && !p->rotation_pending && now >= p->policy_retry_at) {
                                uint64_t since = p->last_rotation ? p->last_rotation : p->created_at;
                                if (now < since + interval * USEC_PER_SEC)
                                        continue;
                                /* Checked here, so that peers that can never rotate do not
                                 * take the places of those that can, tick after tick. */
                                if (!peer_can_rotate_alone(p)) {
                                        if (!p->auto_rotation_warned)
                                                log_warning("%s: peer '%s': automatic keypair rotation needs a private key "
                                                            "held by wgnet (KeyPolicy=stored, not an own-key peer); skipped",
                                                            n->name, p->name);
                                        p->auto_rotation_warned = true;
                                        continue;
                                }
                                if (n_rotate < ELEMENTSOF(rotate))
                                        rotate[n_rotate++] = p;
                        }
                }
                for (size_t k = 0; k < n_expire; k++)
                        peer_revoke(expire[k], "expired");
                for (size_t k = 0; k < n_inactive; k++)
                        peer_revoke(inactive[k], "inactive");
                for (size_t k = 0; k < n_rotate; k++) {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                        Peer *p = rotate[k];
                        if (peer_rotation_kind(p) == ROTATION_PSK)
                                (void) peer_rotate_psk(p, &error);
                        else
                                (void) peer_rotation_start(p, NULL, &error);
                        if (sd_bus_error_is_set(&error)) {
                                p->policy_retry_at = now + POLICY_RETRY_USEC;
                                log_error("%s: peer '%s': automatic rotation failed, tried again in %" PRIu64 " s: %s",
                                          n->name, p->name, POLICY_RETRY_USEC / USEC_PER_SEC, error.message);
                        } else
                                audit_log(NULL, AUDIT_PEER_KEYS_ROTATED, n, p, "%s: peer '%s': scheduled %s rotation",
                                          n->name, p->name, peer_rotation_kind(p) == ROTATION_PSK ? "psk" : "keypair");
                }
        }
}
