/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The model of the applet: networks and peers from the bus (GetManagedObjects once, then
 * the signals), and the statistics refresh. */

#include <string.h>

#include "applet.h"
#include "format.h"

/* ---- the model, from the bus ------------------------------------------------------- */


static WgNetItem *net_add(const char *path, GVariant *props) {
        WgNetItem *n = g_hash_table_lookup(applet.nets_by_path, path);

        if (n) {
                if (wg_net_item_apply(n, props))
                        wg_net_item_bump(n);
                return n;
        }
        n = wg_net_item_new(path);
        wg_net_item_apply(n, props);
        g_hash_table_insert(applet.nets_by_path, n->path, n);
        g_list_store_append(applet.networks, n);
        g_object_unref(n);
        return n;
}

static void net_remove(const char *path) {
        WgNetItem *n = g_hash_table_lookup(applet.nets_by_path, path);
        guint pos;

        if (!n)
                return;
        for (guint i = 0; i < g_list_model_get_n_items(G_LIST_MODEL(n->peers)); i++) {
                g_autoptr(WgPeerItem) p = g_list_model_get_item(G_LIST_MODEL(n->peers), i);
                g_hash_table_remove(applet.peers_by_path, p->path);
        }
        g_hash_table_remove(applet.nets_by_path, path);
        if (g_list_store_find(applet.networks, n, &pos))
                g_list_store_remove(applet.networks, pos);
}

static void peer_remove(const char *path) {
        WgPeerItem *p = g_hash_table_lookup(applet.peers_by_path, path);

        if (!p)
                return;
        if (applet.detail == p) {
                applet.detail = NULL;
                gtk_stack_set_visible_child_name(applet.stack, "peers");
        }
        WgNetItem *n = p->network ? g_hash_table_lookup(applet.nets_by_path, p->network) : NULL;
        g_hash_table_remove(applet.peers_by_path, path);
        if (n)
                wg_net_item_remove_peer(n, path);
}

/* Adds or updates peers: a batch, so that a network's list sees one change. */
static void peers_add(GPtrArray *paths, GPtrArray *props) {
        g_autoptr(GHashTable) batches = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                                              (GDestroyNotify) g_ptr_array_unref);

        for (guint i = 0; i < paths->len; i++) {
                WgPeerItem *p = g_hash_table_lookup(applet.peers_by_path, paths->pdata[i]);
                if (p) {
                        if (wg_peer_item_apply(p, props->pdata[i]))
                                wg_peer_item_bump(p);
                        continue;
                }
                p = wg_peer_item_new(paths->pdata[i]);
                wg_peer_item_apply(p, props->pdata[i]);
                WgNetItem *n = p->network ? g_hash_table_lookup(applet.nets_by_path, p->network) : NULL;
                if (!n) {
                        g_object_unref(p);
                        continue;
                }
                g_hash_table_insert(applet.peers_by_path, p->path, p);
                GPtrArray *b = g_hash_table_lookup(batches, n);
                if (!b) {
                        b = g_ptr_array_new_with_free_func(g_object_unref);
                        g_hash_table_insert(batches, n, b);
                }
                g_ptr_array_add(b, p);
        }
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, batches);
        while (g_hash_table_iter_next(&it, &key, &value)) {
                GPtrArray *b = value;
                wg_net_item_add_peers(key, (WgPeerItem **) b->pdata, b->len);
        }
}

static void objects_add(GVariant *objects) {
        g_autoptr(GPtrArray) peer_paths = g_ptr_array_new();
        g_autoptr(GPtrArray) peer_props = g_ptr_array_new_with_free_func((GDestroyNotify) g_variant_unref);
        GVariantIter it, ifaces;
        const char *path, *iface;
        GVariant *obj, *props;

        /* networks first: a peer is filed under its network */
        g_variant_iter_init(&it, objects);
        while (g_variant_iter_next(&it, "{&o@a{sa{sv}}}", &path, &obj)) {
                g_variant_iter_init(&ifaces, obj);
                while (g_variant_iter_next(&ifaces, "{&s@a{sv}}", &iface, &props)) {
                        if (strcmp(iface, WGNET_NETWORK_IFACE) == 0)
                                net_add(path, props);
                        else if (strcmp(iface, WGNET_PEER_IFACE) == 0) {
                                g_ptr_array_add(peer_paths, (gpointer) path);
                                g_ptr_array_add(peer_props, g_variant_ref(props));
                        }
                        g_variant_unref(props);
                }
                g_variant_unref(obj);
        }
        peers_add(peer_paths, peer_props);
}

static void clear_model(void) {
        applet.loaded = FALSE;
        applet.current = NULL;
        applet.detail = NULL;
        gtk_filter_list_model_set_model(applet.filter_model, NULL);
        g_hash_table_remove_all(applet.peers_by_path);
        g_hash_table_remove_all(applet.nets_by_path);
        g_list_store_remove_all(applet.networks);
}


static void load(void);
static bool daemon_on_bus;

/* A failed first load (a daemon busy at its start, a timeout) is tried again, every 5 s,
 * while the daemon is on the bus; before, the window stayed empty until a restart. */
static gboolean load_again(gpointer data) {
        if (!applet.loaded && daemon_on_bus)
                load();
        return G_SOURCE_REMOVE;
}

static void loaded(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(applet.bus, res, &error);

        if (!reply) {
                if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
                        applet_call_failed("list the networks", error);
                        g_timeout_add_seconds(5, load_again, NULL);
                }
                return;
        }
        g_autoptr(GVariant) objects = g_variant_get_child_value(reply, 0);
        objects_add(objects);
        applet.loaded = TRUE;
        applet.test.t_loaded = g_get_monotonic_time();

        guint n = g_list_model_get_n_items(G_LIST_MODEL(applet.networks));
        guint pick = 0;
        for (guint i = 0; applet.test.network && i < n; i++) {
                g_autoptr(WgNetItem) it = g_list_model_get_item(G_LIST_MODEL(applet.networks), i);
                if (strcmp(it->name, applet.test.network) == 0)
                        pick = i;
        }
        if (n > 0)
                gtk_single_selection_set_selected(applet.net_selection, pick);
        else
                select_network(NULL);
        test_step();
}

static void load(void) {
        g_dbus_connection_call(applet.bus, WGNET_BUS, WGNET_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", NULL, G_VARIANT_TYPE("(a{oa{sa{sv}}})"),
                               G_DBUS_CALL_FLAGS_NONE, 60000, applet.cancel, loaded, NULL);
}

static void peer_fetched(GObject *source, GAsyncResult *res, gpointer data) {
        g_autofree char *path = data;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(applet.bus, res, NULL);
        g_autoptr(GPtrArray) paths = g_ptr_array_new();
        g_autoptr(GPtrArray) props = g_ptr_array_new_with_free_func((GDestroyNotify) g_variant_unref);

        if (!reply)
                return;         /* gone again */
        g_ptr_array_add(paths, path);
        g_ptr_array_add(props, g_variant_get_child_value(reply, 0));
        peers_add(paths, props);
        if (applet.current)
                net_update_header();
}

static void on_signal(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                      const char *signal, GVariant *params, gpointer data) {
        if (strcmp(signal, "PropertiesChanged") == 0) {
                const char *changed_iface;
                g_autoptr(GVariant) changed = NULL;
                g_variant_get_child(params, 0, "&s", &changed_iface);
                changed = g_variant_get_child_value(params, 1);
                if (strcmp(changed_iface, WGNET_PEER_IFACE) == 0) {
                        WgPeerItem *p = g_hash_table_lookup(applet.peers_by_path, path);
                        if (p && wg_peer_item_apply(p, changed)) {
                                wg_peer_item_bump(p);
                                if (p == applet.detail)
                                        applet_detail_update();
                                /* the filter and sort models do not watch the items' names */
                                g_autoptr(GVariant) name = g_variant_lookup_value(changed, "Name", NULL);
                                if (name) {
                                        gtk_filter_changed(GTK_FILTER(applet.filter), GTK_FILTER_CHANGE_DIFFERENT);
                                        GtkSorter *sorter = gtk_column_view_get_sorter(applet.peer_view);
                                        if (sorter)
                                                gtk_sorter_changed(sorter, GTK_SORTER_CHANGE_DIFFERENT);
                                }
                        }
                } else if (strcmp(changed_iface, WGNET_NETWORK_IFACE) == 0) {
                        WgNetItem *n = g_hash_table_lookup(applet.nets_by_path, path);
                        if (n && wg_net_item_apply(n, changed)) {
                                wg_net_item_bump(n);
                                if (n == applet.current)
                                        net_update_header();
                        }
                }
        } else if (strcmp(signal, "InterfacesAdded") == 0) {
                const char *opath;
                g_autoptr(GVariant) ifaces = NULL;
                g_variant_get(params, "(&o@a{sa{sv}})", &opath, &ifaces);
                GVariant *entry = g_variant_new_dict_entry(g_variant_new_object_path(opath), ifaces);
                g_autoptr(GVariant) objects = g_variant_ref_sink(g_variant_new_array(NULL, &entry, 1));
                objects_add(objects);
                if (applet.current)
                        net_update_header();
        } else if (strcmp(signal, "InterfacesRemoved") == 0) {
                const char *opath;
                g_autofree const char **ifaces = NULL;
                g_variant_get(params, "(&o^a&s)", &opath, &ifaces);
                for (size_t i = 0; ifaces[i]; i++) {
                        if (strcmp(ifaces[i], WGNET_PEER_IFACE) == 0)
                                peer_remove(opath);
                        else if (strcmp(ifaces[i], WGNET_NETWORK_IFACE) == 0) {
                                if (applet.current && strcmp(applet.current->path, opath) == 0)
                                        select_network(NULL);
                                net_remove(opath);
                        }
                }
        } else if (strcmp(signal, "PeerRemoved") == 0) {
                const char *ppath;
                g_variant_get(params, "(&o)", &ppath);
                peer_remove(ppath);
        } else if (strcmp(signal, "PeerAdded") == 0) {
                /* InterfacesAdded carries the properties and comes first; a peer not seen
                 * by then (a missed signal) is fetched on its own. */
                const char *ppath;
                g_variant_get(params, "(&o)", &ppath);
                if (!g_hash_table_contains(applet.peers_by_path, ppath))
                        g_dbus_connection_call(applet.bus, WGNET_BUS, ppath, "org.freedesktop.DBus.Properties", "GetAll",
                                               g_variant_new("(s)", WGNET_PEER_IFACE), G_VARIANT_TYPE("(a{sv})"),
                                               G_DBUS_CALL_FLAGS_NONE, -1, applet.cancel, peer_fetched, g_strdup(ppath));
        } else if (strcmp(signal, "RotationPending") == 0) {
                WgPeerItem *p = g_hash_table_lookup(applet.peers_by_path, path);
                guint64 deadline;
                g_variant_get(params, "(t)", &deadline);
                if (p) {
                        p->rotation_pending = TRUE;
                        p->rotation_deadline = deadline;
                        wg_peer_item_bump(p);
                        if (p == applet.detail)
                                applet_detail_update();
                }
        } else if (strcmp(signal, "Revoked") == 0) {
                WgPeerItem *p = g_hash_table_lookup(applet.peers_by_path, path);
                const char *reason;
                g_variant_get(params, "(&s)", &reason);
                if (p)
                        applet_toast("Peer '%s' was revoked: %s", p->name, reason);
        }
}

static void subscribe(const char *iface, const char *member, const char *path) {
        g_assert(applet.n_subscriptions < G_N_ELEMENTS(applet.subscriptions));
        applet.subscriptions[applet.n_subscriptions++] =
                g_dbus_connection_signal_subscribe(applet.bus, WGNET_BUS, iface, member, path, NULL,
                                                   G_DBUS_SIGNAL_FLAGS_NONE, on_signal, NULL, NULL);
}

static void daemon_appeared(GDBusConnection *bus, const char *name, const char *owner, gpointer data) {
        daemon_on_bus = true;
        clear_model();
        load();
}

static void daemon_vanished(GDBusConnection *bus, const char *name, gpointer data) {
        daemon_on_bus = false;
        if (!bus) {
                gtk_label_set_text(applet.empty_label, "Cannot connect to the system bus.");
                return;
        }
        clear_model();
        gtk_label_set_text(applet.empty_label, "The wgnet daemon (wgnetd) is not running.");
        gtk_stack_set_visible_child_name(applet.stack, "empty");
        if (applet.test.add_peer || applet.test.filter) {
                g_printerr("wgnet-applet: test: wgnetd is not on the bus\n");
                applet.test.exit_status = 1;
                g_application_quit(G_APPLICATION(applet.app));
        }
}

/* ---- statistics -------------------------------------------------------------------- */

static void stats_done(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(WgNetItem) n = data;
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(applet.bus, res, &error);
        int64_t now = g_get_monotonic_time();
        uint64_t wall = (uint64_t) g_get_real_time();
        GVariantIter *it;
        const char *path, *endpoint;
        guint64 handshake, rx, tx;
        gboolean online, any_changed = FALSE;

        applet.stats_in_flight = FALSE;
        if (!reply)
                return;         /* a daemon restart or a network going away: the next tick retries */
        g_variant_get(reply, "(a(otttbs))", &it);
        while (g_variant_iter_next(it, "(&otttb&s)", &path, &handshake, &rx, &tx, &online, &endpoint)) {
                WgPeerItem *p = g_hash_table_lookup(n->peers_by_path, path);
                if (!p)
                        continue;
                gboolean moved = rx != p->rx || tx != p->tx;
                gboolean changed = moved || handshake != p->last_handshake || online != p->online ||
                                   g_strcmp0(endpoint, p->endpoint) != 0;
                any_changed |= changed;
                /* the chart's history: for peers that move (up to a bound: 10,000 busy peers
                 * would hold 40 MB), and the one being looked at */
                if ((moved && wg_peer_item_histories < APPLET_MAX_HISTORIES) || p->history || p == applet.detail)
                        wg_peer_item_add_sample(p, now, rx, tx);
                p->last_handshake = handshake;
                p->rx = rx;
                p->tx = tx;
                p->counters_time = now;
                p->online = online;
                if (g_strcmp0(endpoint, p->endpoint) != 0) {
                        g_free(p->endpoint);
                        p->endpoint = g_strdup(endpoint);
                }
                /* "3 min ago" moves on with the clock: rows with a handshake are redrawn */
                if (changed || (handshake && wall - handshake < (uint64_t) 49 * 3600 * G_USEC_PER_SEC))
                        wg_peer_item_bump(p);
        }
        g_variant_iter_free(it);
        if (any_changed && n == applet.current)
                rows_counters_changed();
        if (applet.detail && g_hash_table_lookup(n->peers_by_path, applet.detail->path) == applet.detail) {
                applet_detail_update();
                gtk_widget_queue_draw(GTK_WIDGET(applet.chart));
        }
}

gboolean model_refresh(gpointer data) {
        if (!applet.current || !applet.current->active || applet.stats_in_flight)
                return G_SOURCE_CONTINUE;
        /* one call for the whole network, never one per peer */
        applet.stats_in_flight = TRUE;
        g_dbus_connection_call(applet.bus, WGNET_BUS, applet.current->path, WGNET_NETWORK_IFACE, "GetStats",
                               NULL, G_VARIANT_TYPE("(a(otttbs))"), G_DBUS_CALL_FLAGS_NONE, 30000, applet.cancel,
                               stats_done, g_object_ref(applet.current));
        return G_SOURCE_CONTINUE;
}

/* Subscribe to wgnetd's signals, then watch its name: the model loads when it appears. */
void model_start(void) {
        subscribe("org.freedesktop.DBus.Properties", "PropertiesChanged", NULL);
        subscribe("org.freedesktop.DBus.ObjectManager", "InterfacesAdded", WGNET_MANAGER_PATH);
        subscribe("org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", WGNET_MANAGER_PATH);
        subscribe(WGNET_NETWORK_IFACE, "PeerAdded", NULL);
        subscribe(WGNET_NETWORK_IFACE, "PeerRemoved", NULL);
        subscribe(WGNET_PEER_IFACE, "RotationPending", NULL);
        subscribe(WGNET_PEER_IFACE, "Revoked", NULL);
        applet.watch_id = g_bus_watch_name_on_connection(applet.bus, WGNET_BUS, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                         daemon_appeared, daemon_vanished, NULL, NULL);
}
