/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "network.h"
#include "wgdevice.h"

/* The effective policy of a peer (its own value, else the network's). Seconds. */
uint64_t peer_rotation_interval(const Peer *p);
RotationKind peer_rotation_kind(const Peer *p);
uint64_t peer_revoke_inactive(const Peer *p);
uint64_t peer_grace_period(const Peer *p);

/* The device entry of the pending key: no allowed IPs. */
int peer_pending_to_wg_peer(Peer *p, WgPeer *wp);
/* The config of the pending key (with its private key when the network stores them). */
int peer_get_pending_config(Peer *p, char **ret);

/* Start a keypair rotation: the new key goes onto the device without addresses. The new
 * config (with the new private key) in *ret_config when not NULL. */
int peer_rotation_start(Peer *p, char **ret_config, sd_bus_error *error);
/* Move the addresses to the new key and drop the old one, in one device set. */
int peer_rotation_complete(Peer *p, const char *why);
/* Complete the rotations whose new key shows a handshake on the device d. */
void network_rotation_check(Network *n, const WgDevice *d);
/* Complete the rotations whose grace period ended. */
void manager_rotation_deadlines(Manager *m);
/* Poll the devices while a rotation is pending: every 0.2 s, or ten times the time a read
 * takes, at most a tick. */
int manager_rotation_timer_update(Manager *m);

/* The peer's policy can rotate without its client's help: a PSK rotation, or a keypair
 * whose private key wgnet holds (KeyPolicy=stored, not an own-key peer). */
bool peer_can_rotate_alone(const Peer *p);

/* A new preshared key, applied at once (disruptive: the client needs the new config). */
int peer_rotate_psk(Peer *p, sd_bus_error *error);

/* Expiry, auto-revoke of inactive peers, automatic rotation: called by the tick. */
void manager_policy_tick(Manager *m);
