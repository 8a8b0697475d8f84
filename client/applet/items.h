/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include <gio/gio.h>

/* The list items of the applet: one WgNetItem per org.wgnet1.Network object, one
 * WgPeerItem per org.wgnet1.Peer object. Plain GObjects filled from the bus; the views bind
 * to them and redraw a row when its "revision" changes (one notification per update, not
 * one per property). */

#define APPLET_HISTORY_LEN 180          /* samples kept for a peer's transfer chart */
#define APPLET_MAX_HISTORIES 1000       /* peers sampled before their detail page is opened */

extern unsigned wg_peer_item_histories;  /* peers holding a history now */

typedef struct {
        int64_t time;                   /* monotonic µs */
        uint64_t rx, tx;
} TransferSample;

#define WG_TYPE_PEER_ITEM (wg_peer_item_get_type())
G_DECLARE_FINAL_TYPE(WgPeerItem, wg_peer_item, WG, PEER_ITEM, GObject)

struct _WgPeerItem {
        GObject parent_instance;
        char *path;
        char *network;                  /* object path of its network */
        char *name;
        char *email;
        char *public_key;
        char *addresses;                /* joined with ", " */
        char *allowed_ips;
        char *endpoint;
        char *role;
        guint16 keepalive;
        gboolean online, enabled, has_psk, private_key_stored, rotation_pending;
        guint64 last_handshake, rx, tx, created_at, expires_at;
        gint64 counters_time;           /* monotonic µs of the GetStats that gave rx, tx; 0 = none */
        guint64 rotation_deadline, last_rotation;       /* µs since the epoch */
        guint64 rotation_interval, grace_period;        /* seconds */
        char *rotation_kind;
        guint revision;
        /* transfer history, allocated when the counters first move or the detail view opens */
        TransferSample *history;
        size_t history_len, history_start;
};

#define WG_TYPE_NET_ITEM (wg_net_item_get_type())
G_DECLARE_FINAL_TYPE(WgNetItem, wg_net_item, WG, NET_ITEM, GObject)

struct _WgNetItem {
        GObject parent_instance;
        char *path;
        char *name;
        char *ifname;
        char *addresses;
        char *endpoint;
        char *mode;
        char *public_key;
        guint16 listen_port;
        gboolean active;
        guint32 peer_count, online_count;
        guint revision;
        GListStore *peers;              /* of WgPeerItem */
        GHashTable *peers_by_path;      /* path → WgPeerItem, borrowed from peers */
};

WgPeerItem *wg_peer_item_new(const char *path);
/* Reads org.wgnet1.Peer properties from an a{sv}; true if anything changed. */
gboolean wg_peer_item_apply(WgPeerItem *p, GVariant *props);
void wg_peer_item_bump(WgPeerItem *p);
void wg_peer_item_add_sample(WgPeerItem *p, int64_t now, uint64_t rx, uint64_t tx);
/* i-th sample, oldest first */
const TransferSample *wg_peer_item_sample(WgPeerItem *p, size_t i);

WgNetItem *wg_net_item_new(const char *path);
gboolean wg_net_item_apply(WgNetItem *n, GVariant *props);
void wg_net_item_bump(WgNetItem *n);
void wg_net_item_add_peers(WgNetItem *n, WgPeerItem **peers, size_t count);
void wg_net_item_remove_peer(WgNetItem *n, const char *path);
