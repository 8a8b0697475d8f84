/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "items.h"

enum { PROP_0, PROP_NAME, PROP_REVISION, N_PROPS };

unsigned wg_peer_item_histories;

/* ---- peers ------------------------------------------------------------------------- */

G_DEFINE_FINAL_TYPE(WgPeerItem, wg_peer_item, G_TYPE_OBJECT)

static GParamSpec *peer_props[N_PROPS];

static void wg_peer_item_finalize(GObject *o) {
        WgPeerItem *p = WG_PEER_ITEM(o);

        g_free(p->path);
        g_free(p->network);
        g_free(p->name);
        g_free(p->email);
        g_free(p->public_key);
        g_free(p->addresses);
        g_free(p->allowed_ips);
        g_free(p->endpoint);
        g_free(p->role);
        g_free(p->rotation_kind);
        if (p->history)
                wg_peer_item_histories--;
        g_free(p->history);
        G_OBJECT_CLASS(wg_peer_item_parent_class)->finalize(o);
}

static void wg_peer_item_get_property(GObject *o, guint id, GValue *value, GParamSpec *pspec) {
        WgPeerItem *p = WG_PEER_ITEM(o);

        switch (id) {
        case PROP_NAME:
                g_value_set_string(value, p->name);
                break;
        case PROP_REVISION:
                g_value_set_uint(value, p->revision);
                break;
        default:
                G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
        }
}

static void wg_peer_item_class_init(WgPeerItemClass *klass) {
        GObjectClass *oc = G_OBJECT_CLASS(klass);

        oc->finalize = wg_peer_item_finalize;
        oc->get_property = wg_peer_item_get_property;
        peer_props[PROP_NAME] = g_param_spec_string("name", NULL, NULL, NULL,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
        peer_props[PROP_REVISION] = g_param_spec_uint("revision", NULL, NULL, 0, G_MAXUINT, 0,
                                                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
        g_object_class_install_properties(oc, N_PROPS, peer_props);
}

static void wg_peer_item_init(WgPeerItem *p) {
        p->name = g_strdup("");
}

WgPeerItem *wg_peer_item_new(const char *path) {
        WgPeerItem *p = g_object_new(WG_TYPE_PEER_ITEM, NULL);
        p->path = g_strdup(path);
        return p;
}

void wg_peer_item_bump(WgPeerItem *p) {
        p->revision++;
        g_object_notify_by_pspec(G_OBJECT(p), peer_props[PROP_REVISION]);
}

static gboolean set_str(char **field, const char *value) {
        if (g_strcmp0(*field, value) == 0)
                return FALSE;
        g_free(*field);
        *field = g_strdup(value);
        return TRUE;
}

static gboolean set_strv(char **field, GVariant *v) {
        g_autofree const char **l = g_variant_get_strv(v, NULL);
        g_autofree char *joined = g_strjoinv(", ", (char **) l);
        return set_str(field, joined);
}

static gboolean set_bool(gboolean *field, gboolean value) {
        gboolean changed = *field != value;
        *field = value;
        return changed;
}

static gboolean set_u16(guint16 *field, guint16 value) {
        gboolean changed = *field != value;
        *field = value;
        return changed;
}

static gboolean set_u32(guint32 *field, guint32 value) {
        gboolean changed = *field != value;
        *field = value;
        return changed;
}

static gboolean set_u64(guint64 *field, guint64 value) {
        gboolean changed = *field != value;
        *field = value;
        return changed;
}

gboolean wg_peer_item_apply(WgPeerItem *p, GVariant *props) {
        GVariantIter it;
        const char *key;
        GVariant *v;
        gboolean changed = FALSE, name_changed = FALSE;

        g_variant_iter_init(&it, props);
        while (g_variant_iter_next(&it, "{&sv}", &key, &v)) {
                const GVariantType *t = g_variant_get_type(v);
                gboolean is_s = g_variant_type_equal(t, G_VARIANT_TYPE_STRING) ||
                                g_variant_type_equal(t, G_VARIANT_TYPE_OBJECT_PATH);
                gboolean is_as = g_variant_type_equal(t, G_VARIANT_TYPE_STRING_ARRAY);
                gboolean is_b = g_variant_type_equal(t, G_VARIANT_TYPE_BOOLEAN);
                gboolean is_t = g_variant_type_equal(t, G_VARIANT_TYPE_UINT64);

                if (is_s && strcmp(key, "Name") == 0)
                        changed |= name_changed = set_str(&p->name, g_variant_get_string(v, NULL));
                else if (is_s && strcmp(key, "Network") == 0)
                        changed |= set_str(&p->network, g_variant_get_string(v, NULL));
                else if (is_s && strcmp(key, "Email") == 0)
                        changed |= set_str(&p->email, g_variant_get_string(v, NULL));
                else if (is_s && strcmp(key, "PublicKey") == 0)
                        changed |= set_str(&p->public_key, g_variant_get_string(v, NULL));
                else if (is_s && strcmp(key, "Endpoint") == 0)
                        changed |= set_str(&p->endpoint, g_variant_get_string(v, NULL));
                else if (is_s && strcmp(key, "RotationKind") == 0)
                        changed |= set_str(&p->rotation_kind, g_variant_get_string(v, NULL));
                else if (is_t && strcmp(key, "RotationDeadline") == 0)
                        changed |= set_u64(&p->rotation_deadline, g_variant_get_uint64(v));
                else if (is_t && strcmp(key, "LastRotation") == 0)
                        changed |= set_u64(&p->last_rotation, g_variant_get_uint64(v));
                else if (is_t && strcmp(key, "RotationInterval") == 0)
                        changed |= set_u64(&p->rotation_interval, g_variant_get_uint64(v));
                else if (is_t && strcmp(key, "GracePeriod") == 0)
                        changed |= set_u64(&p->grace_period, g_variant_get_uint64(v));
                else if (is_s && strcmp(key, "Role") == 0)
                        changed |= set_str(&p->role, g_variant_get_string(v, NULL));
                else if (is_as && strcmp(key, "Addresses") == 0)
                        changed |= set_strv(&p->addresses, v);
                else if (is_as && strcmp(key, "AllowedIPs") == 0)
                        changed |= set_strv(&p->allowed_ips, v);
                else if (is_b && strcmp(key, "Online") == 0)
                        changed |= set_bool(&p->online, g_variant_get_boolean(v));
                else if (is_b && strcmp(key, "Enabled") == 0)
                        changed |= set_bool(&p->enabled, g_variant_get_boolean(v));
                else if (is_b && strcmp(key, "HasPresharedKey") == 0)
                        changed |= set_bool(&p->has_psk, g_variant_get_boolean(v));
                else if (is_b && strcmp(key, "PrivateKeyStored") == 0)
                        changed |= set_bool(&p->private_key_stored, g_variant_get_boolean(v));
                else if (is_b && strcmp(key, "RotationPending") == 0)
                        changed |= set_bool(&p->rotation_pending, g_variant_get_boolean(v));
                else if (is_t && strcmp(key, "LastHandshake") == 0)
                        changed |= set_u64(&p->last_handshake, g_variant_get_uint64(v));
                else if (is_t && strcmp(key, "RxBytes") == 0)
                        changed |= set_u64(&p->rx, g_variant_get_uint64(v));
                else if (is_t && strcmp(key, "TxBytes") == 0)
                        changed |= set_u64(&p->tx, g_variant_get_uint64(v));
                else if (is_t && strcmp(key, "CreatedAt") == 0)
                        changed |= set_u64(&p->created_at, g_variant_get_uint64(v));
                else if (is_t && strcmp(key, "ExpiresAt") == 0)
                        changed |= set_u64(&p->expires_at, g_variant_get_uint64(v));
                else if (strcmp(key, "PersistentKeepalive") == 0 &&
                         g_variant_type_equal(t, G_VARIANT_TYPE_UINT16))
                        changed |= set_u16(&p->keepalive, g_variant_get_uint16(v));
                g_variant_unref(v);
        }
        if (name_changed)
                g_object_notify_by_pspec(G_OBJECT(p), peer_props[PROP_NAME]);
        return changed;
}

void wg_peer_item_add_sample(WgPeerItem *p, int64_t now, uint64_t rx, uint64_t tx) {
        if (!p->history) {
                p->history = g_new0(TransferSample, APPLET_HISTORY_LEN);
                wg_peer_item_histories++;
        }
        size_t i = (p->history_start + p->history_len) % APPLET_HISTORY_LEN;
        p->history[i] = (TransferSample) { .time = now, .rx = rx, .tx = tx };
        if (p->history_len < APPLET_HISTORY_LEN)
                p->history_len++;
        else
                p->history_start = (p->history_start + 1) % APPLET_HISTORY_LEN;
}

const TransferSample *wg_peer_item_sample(WgPeerItem *p, size_t i) {
        g_return_val_if_fail(i < p->history_len, NULL);
        return &p->history[(p->history_start + i) % APPLET_HISTORY_LEN];
}

/* ---- networks ---------------------------------------------------------------------- */

G_DEFINE_FINAL_TYPE(WgNetItem, wg_net_item, G_TYPE_OBJECT)

static GParamSpec *net_props[N_PROPS];

static void wg_net_item_finalize(GObject *o) {
        WgNetItem *n = WG_NET_ITEM(o);

        g_hash_table_unref(n->peers_by_path);
        g_object_unref(n->peers);
        g_free(n->path);
        g_free(n->name);
        g_free(n->ifname);
        g_free(n->addresses);
        g_free(n->endpoint);
        g_free(n->mode);
        g_free(n->public_key);
        G_OBJECT_CLASS(wg_net_item_parent_class)->finalize(o);
}

static void wg_net_item_get_property(GObject *o, guint id, GValue *value, GParamSpec *pspec) {
        WgNetItem *n = WG_NET_ITEM(o);

        switch (id) {
        case PROP_NAME:
                g_value_set_string(value, n->name);
                break;
        case PROP_REVISION:
                g_value_set_uint(value, n->revision);
                break;
        default:
                G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
        }
}

static void wg_net_item_class_init(WgNetItemClass *klass) {
        GObjectClass *oc = G_OBJECT_CLASS(klass);

        oc->finalize = wg_net_item_finalize;
        oc->get_property = wg_net_item_get_property;
        net_props[PROP_NAME] = g_param_spec_string("name", NULL, NULL, NULL,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
        net_props[PROP_REVISION] = g_param_spec_uint("revision", NULL, NULL, 0, G_MAXUINT, 0,
                                                     G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
        g_object_class_install_properties(oc, N_PROPS, net_props);
}

static void wg_net_item_init(WgNetItem *n) {
        n->name = g_strdup("");
        n->peers = g_list_store_new(WG_TYPE_PEER_ITEM);
        n->peers_by_path = g_hash_table_new(g_str_hash, g_str_equal);
}

WgNetItem *wg_net_item_new(const char *path) {
        WgNetItem *n = g_object_new(WG_TYPE_NET_ITEM, NULL);
        n->path = g_strdup(path);
        return n;
}

void wg_net_item_bump(WgNetItem *n) {
        n->revision++;
        g_object_notify_by_pspec(G_OBJECT(n), net_props[PROP_REVISION]);
}

gboolean wg_net_item_apply(WgNetItem *n, GVariant *props) {
        GVariantIter it;
        const char *key;
        GVariant *v;
        gboolean changed = FALSE;

        g_variant_iter_init(&it, props);
        while (g_variant_iter_next(&it, "{&sv}", &key, &v)) {
                const GVariantType *t = g_variant_get_type(v);
                gboolean is_s = g_variant_type_equal(t, G_VARIANT_TYPE_STRING);
                gboolean is_as = g_variant_type_equal(t, G_VARIANT_TYPE_STRING_ARRAY);
                gboolean is_u = g_variant_type_equal(t, G_VARIANT_TYPE_UINT32);

                if (is_s && strcmp(key, "Name") == 0) {
                        if (set_str(&n->name, g_variant_get_string(v, NULL))) {
                                changed = TRUE;
                                g_object_notify_by_pspec(G_OBJECT(n), net_props[PROP_NAME]);
                        }
                } else if (is_s && strcmp(key, "Interface") == 0)
                        changed |= set_str(&n->ifname, g_variant_get_string(v, NULL));
                else if (is_s && strcmp(key, "Endpoint") == 0)
                        changed |= set_str(&n->endpoint, g_variant_get_string(v, NULL));
                else if (is_s && strcmp(key, "Mode") == 0)
                        changed |= set_str(&n->mode, g_variant_get_string(v, NULL));
                else if (is_s && strcmp(key, "PublicKey") == 0)
                        changed |= set_str(&n->public_key, g_variant_get_string(v, NULL));
                else if (is_as && strcmp(key, "Addresses") == 0)
                        changed |= set_strv(&n->addresses, v);
                else if (strcmp(key, "Active") == 0 && g_variant_type_equal(t, G_VARIANT_TYPE_BOOLEAN))
                        changed |= set_bool(&n->active, g_variant_get_boolean(v));
                else if (strcmp(key, "ListenPort") == 0 && g_variant_type_equal(t, G_VARIANT_TYPE_UINT16))
                        changed |= set_u16(&n->listen_port, g_variant_get_uint16(v));
                else if (is_u && strcmp(key, "PeerCount") == 0)
                        changed |= set_u32(&n->peer_count, g_variant_get_uint32(v));
                else if (is_u && strcmp(key, "OnlinePeerCount") == 0)
                        changed |= set_u32(&n->online_count, g_variant_get_uint32(v));
                g_variant_unref(v);
        }
        return changed;
}

void wg_net_item_add_peers(WgNetItem *n, WgPeerItem **peers, size_t count) {
        size_t k = 0;

        /* One items-changed for the whole batch: the views see 10,000 peers arrive at once. */
        for (size_t i = 0; i < count; i++)
                if (!g_hash_table_contains(n->peers_by_path, peers[i]->path)) {
                        g_hash_table_insert(n->peers_by_path, peers[i]->path, peers[i]);
                        peers[k++] = peers[i];
                }
        g_list_store_splice(n->peers, g_list_model_get_n_items(G_LIST_MODEL(n->peers)), 0,
                            (gpointer *) peers, (guint) k);
}

void wg_net_item_remove_peer(WgNetItem *n, const char *path) {
        WgPeerItem *p = g_hash_table_lookup(n->peers_by_path, path);
        guint pos;

        if (!p)
                return;
        g_hash_table_remove(n->peers_by_path, path);
        if (g_list_store_find(n->peers, p, &pos))
                g_list_store_remove(n->peers, pos);
}
