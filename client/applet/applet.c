/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnet-applet: watch and manage wgnet's networks and peers from the desktop. It uses only
 * the public D-Bus API of wgnetd (org.wgnet1 on the system bus); every change is a call
 * with the interactive-authorization flag, so the desktop's polkit agent asks. */

#include <stdarg.h>
#include <string.h>

#include "applet.h"
#include "format.h"

Applet applet = {
        .refresh_interval_ms = 2000,
};

static int opt_interval = 2000;

/* ---- messages ---------------------------------------------------------------------- */

static gboolean toast_hide(gpointer data) {
        gtk_revealer_set_reveal_child(applet.toast, FALSE);
        applet.toast_timeout = 0;
        return G_SOURCE_REMOVE;
}

void applet_toast(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        g_autofree char *text = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        g_message("%s", text);
        gtk_label_set_text(applet.toast_label, text);
        gtk_revealer_set_reveal_child(applet.toast, TRUE);
        if (applet.toast_timeout)
                g_source_remove(applet.toast_timeout);
        applet.toast_timeout = g_timeout_add_seconds(8, toast_hide, NULL);
}

void applet_call_failed(const char *what, const GError *error) {
        g_autofree char *remote = g_dbus_error_get_remote_error(error);
        g_autoptr(GError) copy = g_error_copy(error);
        const char *msg;

        g_dbus_error_strip_remote_error(copy);
        msg = copy->message;
        if (remote && (strcmp(remote, "org.freedesktop.DBus.Error.AccessDenied") == 0 ||
                       strcmp(remote, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired") == 0 ||
                       strcmp(remote, "org.freedesktop.PolicyKit1.Error.NotAuthorized") == 0))
                applet_toast("Not allowed to %s: %s", what, msg);
        else
                applet_toast("Cannot %s: %s", what, msg);
        if (applet.test.add_peer || applet.test.filter)
                applet.test.exit_status = 2;
}

typedef struct {
        GAsyncReadyCallback cb;
        gpointer userdata;
} CallData;

static void call_done(GObject *source, GAsyncResult *res, gpointer data) {
        CallData *c = data;
        c->cb(source, res, c->userdata);
        g_free(c);
}

void applet_call(const char *path, const char *iface, const char *method, GVariant *args,
                 const GVariantType *reply_type, gboolean privileged, GAsyncReadyCallback cb, gpointer userdata) {
        CallData *c = g_new(CallData, 1);
        *c = (CallData) { .cb = cb, .userdata = userdata };
        g_dbus_connection_call(applet.bus, WGNET_BUS, path, iface, method, args, reply_type,
                               privileged ? G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION : G_DBUS_CALL_FLAGS_NONE,
                               privileged ? APPLET_INTERACTIVE_TIMEOUT_MS : -1, applet.cancel, call_done, c);
}

GVariant *applet_call_finish(GAsyncResult *res, const char *what) {
        g_autoptr(GError) error = NULL;
        GVariant *v = g_dbus_connection_call_finish(applet.bus, res, &error);

        if (!v && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                applet_call_failed(what, error);
        return v;
}

/* ---- the model, from the bus ------------------------------------------------------- */

static void net_update_header(void);

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
        applet.current = NULL;
        applet.detail = NULL;
        gtk_filter_list_model_set_model(applet.filter_model, NULL);
        g_hash_table_remove_all(applet.peers_by_path);
        g_hash_table_remove_all(applet.nets_by_path);
        g_list_store_remove_all(applet.networks);
}

static void select_network(WgNetItem *n);

static void loaded(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(applet.bus, res, &error);

        if (!reply) {
                if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                        applet_call_failed("list the networks", error);
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
        clear_model();
        load();
}

static void daemon_vanished(GDBusConnection *bus, const char *name, gpointer data) {
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
        gboolean online;

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
                /* the chart's history: for peers that move (up to a bound: 10,000 busy peers
                 * would hold 40 MB), and the one being looked at */
                if ((moved && wg_peer_item_histories < APPLET_MAX_HISTORIES) || p->history || p == applet.detail)
                        wg_peer_item_add_sample(p, now, rx, tx);
                p->last_handshake = handshake;
                p->rx = rx;
                p->tx = tx;
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
        if (applet.detail && g_hash_table_lookup(n->peers_by_path, applet.detail->path) == applet.detail) {
                applet_detail_update();
                gtk_widget_queue_draw(GTK_WIDGET(applet.chart));
        }
}

static gboolean refresh(gpointer data) {
        if (!applet.current || !applet.current->active || applet.stats_in_flight)
                return G_SOURCE_CONTINUE;
        /* one call for the whole network, never one per peer */
        applet.stats_in_flight = TRUE;
        g_dbus_connection_call(applet.bus, WGNET_BUS, applet.current->path, WGNET_NETWORK_IFACE, "GetStats",
                               NULL, G_VARIANT_TYPE("(a(otttbs))"), G_DBUS_CALL_FLAGS_NONE, 30000, applet.cancel,
                               stats_done, g_object_ref(applet.current));
        return G_SOURCE_CONTINUE;
}

/* ---- the network page -------------------------------------------------------------- */

static void update_count(void) {
        if (!applet.current)
                return;
        guint shown = g_list_model_get_n_items(G_LIST_MODEL(applet.filter_model));
        guint all = g_list_model_get_n_items(G_LIST_MODEL(applet.current->peers));
        g_autofree char *text = shown == all ? g_strdup_printf("%u peers", all)
                                             : g_strdup_printf("%u of %u peers", shown, all);
        gtk_label_set_text(applet.count_label, text);
}

static void net_update_header(void) {
        WgNetItem *n = applet.current;

        if (!n)
                return;
        gtk_label_set_text(applet.net_title, n->name);
        g_autofree char *sub = g_strdup_printf("%s · interface %s · port %u%s%s\n%s · %u of %u peers online",
                                               n->active ? "Active" : "Inactive", n->ifname ? n->ifname : "–",
                                               n->listen_port,
                                               n->endpoint && *n->endpoint ? " · endpoint " : "",
                                               n->endpoint && *n->endpoint ? n->endpoint : "",
                                               n->addresses && *n->addresses ? n->addresses : "no addresses",
                                               n->online_count, n->peer_count);
        gtk_label_set_text(applet.net_subtitle, sub);
        gtk_button_set_label(applet.activate_button, n->active ? "Deactivate" : "Activate");
        update_count();
}

static void select_network(WgNetItem *n) {
        applet.current = n;
        applet.detail = NULL;
        gtk_filter_list_model_set_model(applet.filter_model, n ? G_LIST_MODEL(n->peers) : NULL);
        if (!n) {
                gboolean any = g_list_model_get_n_items(G_LIST_MODEL(applet.networks)) > 0;
                gtk_label_set_text(applet.empty_label,
                                   any ? "Select a network." : "No networks yet. Create one with “New network”.");
                gtk_stack_set_visible_child_name(applet.stack, "empty");
                return;
        }
        net_update_header();
        gtk_stack_set_visible_child_name(applet.stack, "peers");
        refresh(NULL);
}

static void on_net_selected(GObject *sel, GParamSpec *pspec, gpointer data) {
        select_network(gtk_single_selection_get_selected_item(applet.net_selection));
}

static void activate_done(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(GVariant) r = applet_call_finish(res, data);
}

static void on_activate_clicked(GtkButton *b, gpointer data) {
        WgNetItem *n = applet.current;

        if (!n)
                return;
        applet_call(n->path, WGNET_NETWORK_IFACE, n->active ? "Deactivate" : "Activate", NULL, NULL, TRUE,
                    activate_done, n->active ? "deactivate the network" : "activate the network");
}

static void on_add_peer_clicked(GtkButton *b, gpointer data) {
        if (applet.current)
                dialog_add_peer(applet.current);
}

static void on_new_network_clicked(GtkButton *b, gpointer data) {
        dialog_new_network();
}

static void on_search_changed(GtkSearchEntry *e, gpointer data) {
        gtk_string_filter_set_search(applet.filter, gtk_editable_get_text(GTK_EDITABLE(e)));
        update_count();
}

/* ---- list rows --------------------------------------------------------------------- */

enum { COL_STATUS, COL_NAME, COL_ADDRESSES, COL_HANDSHAKE, COL_RX, COL_TX, COL_ENDPOINT };

static void set_dot(GtkWidget *dot, gboolean enabled, gboolean online) {
        gtk_widget_remove_css_class(dot, "online");
        gtk_widget_remove_css_class(dot, "offline");
        gtk_widget_remove_css_class(dot, "disabled");
        gtk_widget_add_css_class(dot, !enabled ? "disabled" : online ? "online" : "offline");
        gtk_widget_set_tooltip_text(dot, !enabled ? "disabled" : online ? "online" : "offline");
}

static void peer_cell_update(GtkListItem *li) {
        WgPeerItem *p = gtk_list_item_get_item(li);
        GtkWidget *w = gtk_list_item_get_child(li);
        int col = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(li), "column"));
        char buf[APPLET_AGO_STRLEN];

        if (!p || !w)
                return;
        switch (col) {
        case COL_STATUS:
                set_dot(w, p->enabled, p->online);
                break;
        case COL_NAME:
                gtk_label_set_text(GTK_LABEL(w), p->name);
                gtk_widget_set_opacity(w, p->enabled ? 1.0 : 0.55);
                break;
        case COL_ADDRESSES:
                gtk_label_set_text(GTK_LABEL(w), p->addresses ? p->addresses : "");
                break;
        case COL_HANDSHAKE:
                gtk_label_set_text(GTK_LABEL(w), applet_format_ago(p->last_handshake, (uint64_t) g_get_real_time(), buf));
                break;
        case COL_RX:
                gtk_label_set_text(GTK_LABEL(w), applet_format_bytes(p->rx, buf));
                break;
        case COL_TX:
                gtk_label_set_text(GTK_LABEL(w), applet_format_bytes(p->tx, buf));
                break;
        case COL_ENDPOINT:
                gtk_label_set_text(GTK_LABEL(w), p->endpoint && *p->endpoint ? p->endpoint : "–");
                break;
        }
}

static void on_peer_revision(GObject *item, GParamSpec *pspec, gpointer li) {
        peer_cell_update(li);
}

static void peer_cell_setup(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
        int col = GPOINTER_TO_INT(data);
        GtkWidget *w;

        if (col == COL_STATUS) {
                w = gtk_label_new("●");
                gtk_widget_add_css_class(w, "dot");
        } else {
                w = gtk_label_new(NULL);
                gtk_label_set_xalign(GTK_LABEL(w), col == COL_RX || col == COL_TX ? 1.0f : 0.0f);
                gtk_label_set_ellipsize(GTK_LABEL(w), PANGO_ELLIPSIZE_END);
                if (col == COL_RX || col == COL_TX)
                        gtk_widget_add_css_class(w, "numeric");
                if (col == COL_NAME)
                        gtk_widget_add_css_class(w, "peer-name");
        }
        g_object_set_data(G_OBJECT(li), "column", data);
        gtk_list_item_set_child(li, w);
}

static void peer_cell_bind(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
        WgPeerItem *p = gtk_list_item_get_item(li);
        gulong id = g_signal_connect(p, "notify::revision", G_CALLBACK(on_peer_revision), li);

        g_object_set_data(G_OBJECT(li), "handler", GSIZE_TO_POINTER(id));
        peer_cell_update(li);
}

static void peer_cell_unbind(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
        WgPeerItem *p = gtk_list_item_get_item(li);
        gulong id = GPOINTER_TO_SIZE(g_object_get_data(G_OBJECT(li), "handler"));

        if (p && id)
                g_signal_handler_disconnect(p, id);
        g_object_set_data(G_OBJECT(li), "handler", NULL);
}

static int compare_u64(guint64 a, guint64 b) {
        return a < b ? -1 : a > b;
}

static int peer_compare(gconstpointer a, gconstpointer b, gpointer data) {
        const WgPeerItem *x = a, *y = b;

        switch (GPOINTER_TO_INT(data)) {
        case COL_STATUS:
                return compare_u64((guint64) x->enabled * 2 + x->online, (guint64) y->enabled * 2 + y->online);
        case COL_HANDSHAKE:
                return compare_u64(x->last_handshake, y->last_handshake);
        case COL_RX:
                return compare_u64(x->rx, y->rx);
        case COL_TX:
                return compare_u64(x->tx, y->tx);
        default:
                return g_utf8_collate(x->name, y->name);
        }
}

static GtkColumnViewColumn *add_column(const char *title, int col, gboolean expand, int fixed_width) {
        GtkListItemFactory *f = gtk_signal_list_item_factory_new();
        GtkColumnViewColumn *c;

        g_signal_connect(f, "setup", G_CALLBACK(peer_cell_setup), GINT_TO_POINTER(col));
        g_signal_connect(f, "bind", G_CALLBACK(peer_cell_bind), NULL);
        g_signal_connect(f, "unbind", G_CALLBACK(peer_cell_unbind), NULL);
        c = gtk_column_view_column_new(title, f);
        gtk_column_view_column_set_expand(c, expand);
        gtk_column_view_column_set_resizable(c, TRUE);
        if (fixed_width > 0)
                gtk_column_view_column_set_fixed_width(c, fixed_width);
        if (col == COL_NAME) {
                /* collation keys computed once per item, not g_utf8_collate per comparison */
                g_autoptr(GtkSorter) s = GTK_SORTER(gtk_string_sorter_new(
                        gtk_property_expression_new(WG_TYPE_PEER_ITEM, NULL, "name")));
                gtk_column_view_column_set_sorter(c, s);
        } else if (col != COL_ADDRESSES && col != COL_ENDPOINT) {
                g_autoptr(GtkSorter) s = GTK_SORTER(gtk_custom_sorter_new(peer_compare, GINT_TO_POINTER(col), NULL));
                gtk_column_view_column_set_sorter(c, s);
        }
        gtk_column_view_append_column(applet.peer_view, c);
        g_object_unref(c);
        return c;
}

static void on_peer_activated(GtkColumnView *view, guint pos, gpointer data) {
        g_autoptr(WgPeerItem) p = g_list_model_get_item(G_LIST_MODEL(applet.peer_selection), pos);
        if (p)
                applet_show_detail(p);
}

static void net_row_update(GtkListItem *li) {
        WgNetItem *n = gtk_list_item_get_item(li);
        GtkWidget *box = gtk_list_item_get_child(li);

        if (!n || !box)
                return;
        GtkWidget *dot = gtk_widget_get_first_child(box);
        GtkWidget *vbox = gtk_widget_get_next_sibling(dot);
        GtkWidget *name = gtk_widget_get_first_child(vbox);
        GtkWidget *sub = gtk_widget_get_next_sibling(name);
        set_dot(dot, TRUE, n->active);
        gtk_widget_set_tooltip_text(dot, n->active ? "active" : "inactive");
        gtk_label_set_text(GTK_LABEL(name), n->name);
        g_autofree char *text = g_strdup_printf("%s · %u/%u online", n->active ? "active" : "inactive",
                                                n->online_count, n->peer_count);
        gtk_label_set_text(GTK_LABEL(sub), text);
}

static void on_net_revision(GObject *item, GParamSpec *pspec, gpointer li) {
        net_row_update(li);
}

static void net_row_setup(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        GtkWidget *dot = gtk_label_new("●");
        GtkWidget *vbox = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
        GtkWidget *name = gtk_label_new(NULL);
        GtkWidget *sub = gtk_label_new(NULL);

        gtk_widget_add_css_class(dot, "dot");
        gtk_widget_add_css_class(name, "heading");
        gtk_widget_add_css_class(sub, "dim-label");
        gtk_widget_add_css_class(sub, "caption");
        gtk_label_set_xalign(GTK_LABEL(name), 0);
        gtk_label_set_xalign(GTK_LABEL(sub), 0);
        gtk_label_set_ellipsize(GTK_LABEL(name), PANGO_ELLIPSIZE_END);
        gtk_box_append(GTK_BOX(vbox), name);
        gtk_box_append(GTK_BOX(vbox), sub);
        gtk_box_append(GTK_BOX(box), dot);
        gtk_box_append(GTK_BOX(box), vbox);
        gtk_widget_set_margin_top(box, 6);
        gtk_widget_set_margin_bottom(box, 6);
        gtk_widget_set_margin_start(box, 6);
        gtk_widget_set_margin_end(box, 6);
        gtk_list_item_set_child(li, box);
}

static void net_row_bind(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
        WgNetItem *n = gtk_list_item_get_item(li);
        gulong id = g_signal_connect(n, "notify::revision", G_CALLBACK(on_net_revision), li);

        g_object_set_data(G_OBJECT(li), "handler", GSIZE_TO_POINTER(id));
        net_row_update(li);
}

static void net_row_unbind(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
        WgNetItem *n = gtk_list_item_get_item(li);
        gulong id = GPOINTER_TO_SIZE(g_object_get_data(G_OBJECT(li), "handler"));

        if (n && id)
                g_signal_handler_disconnect(n, id);
        g_object_set_data(G_OBJECT(li), "handler", NULL);
}

/* ---- the peer detail page ---------------------------------------------------------- */

static void detail_row(int row, const char *key, const char *value) {
        GtkWidget *k = gtk_grid_get_child_at(applet.detail_grid, 0, row);
        GtkWidget *v = gtk_grid_get_child_at(applet.detail_grid, 1, row);

        if (!k) {
                k = gtk_label_new(key);
                gtk_label_set_xalign(GTK_LABEL(k), 1.0f);
                gtk_widget_add_css_class(k, "dim-label");
                v = gtk_label_new(NULL);
                gtk_label_set_xalign(GTK_LABEL(v), 0.0f);
                gtk_label_set_selectable(GTK_LABEL(v), TRUE);
                gtk_label_set_wrap(GTK_LABEL(v), TRUE);
                gtk_label_set_wrap_mode(GTK_LABEL(v), PANGO_WRAP_WORD_CHAR);
                gtk_grid_attach(applet.detail_grid, k, 0, row, 1, 1);
                gtk_grid_attach(applet.detail_grid, v, 1, row, 1, 1);
        }
        gtk_label_set_text(GTK_LABEL(v), value && *value ? value : "–");
}

static char *duration_text(guint64 s) {
        if (s == 86400)
                return g_strdup("1 day");
        if (s % 86400 == 0 && s >= 86400)
                return g_strdup_printf("%" G_GUINT64_FORMAT " days", s / 86400);
        if (s % 3600 == 0 && s >= 3600)
                return g_strdup_printf("%" G_GUINT64_FORMAT " h", s / 3600);
        return g_strdup_printf("%" G_GUINT64_FORMAT " min", s / 60);
}

/* RotationPending with its deadline, or the policy and the last rotation. */
static char *rotation_text(WgPeerItem *p) {
        GString *s = g_string_new(NULL);
        char ago[APPLET_AGO_STRLEN];

        if (p->rotation_pending) {
                g_string_append(s, "PENDING: the peer must get its new configuration");
                if (p->rotation_deadline) {
                        g_autoptr(GDateTime) d = g_date_time_new_from_unix_local((gint64) (p->rotation_deadline / G_USEC_PER_SEC));
                        g_autofree char *when = d ? g_date_time_format(d, "%Y-%m-%d %H:%M") : NULL;
                        if (when)
                                g_string_append_printf(s, "; the old key stops working at %s", when);
                }
        } else
                g_string_append(s, "not pending");
        if (p->last_rotation)
                g_string_append_printf(s, " · last rotated %s",
                                       applet_format_ago(p->last_rotation, (uint64_t) g_get_real_time(), ago));
        if (p->rotation_interval) {
                g_autofree char *every = duration_text(p->rotation_interval);
                g_string_append_printf(s, " · policy: %s every %s", p->rotation_kind ? p->rotation_kind : "rotate", every);
        }
        if (p->grace_period) {
                g_autofree char *grace = duration_text(p->grace_period);
                g_string_append_printf(s, " · grace period %s", grace);
        }
        return g_string_free(s, FALSE);
}

void applet_detail_update(void) {
        WgPeerItem *p = applet.detail;
        char ago[APPLET_AGO_STRLEN], rx[APPLET_BYTES_STRLEN], tx[APPLET_BYTES_STRLEN];
        int row = 0;

        if (!p)
                return;
        gtk_label_set_text(applet.detail_title, p->name);
        g_autofree char *state = g_strdup_printf("%s, %s", p->enabled ? "enabled" : "disabled",
                                                 p->online ? "online" : "offline");
        detail_row(row++, "State", state);
        detail_row(row++, "Addresses", p->addresses);
        detail_row(row++, "Public key", p->public_key);
        detail_row(row++, "Endpoint", p->endpoint);
        detail_row(row++, "Last handshake", applet_format_ago(p->last_handshake, (uint64_t) g_get_real_time(), ago));
        g_autofree char *transfer = g_strdup_printf("%s received, %s sent", applet_format_bytes(p->rx, rx),
                                                    applet_format_bytes(p->tx, tx));
        detail_row(row++, "Transfer", transfer);
        g_autofree char *ka = p->keepalive ? g_strdup_printf("every %u s", p->keepalive) : g_strdup("off");
        detail_row(row++, "Keepalive", ka);
        detail_row(row++, "Preshared key", p->has_psk ? "yes" : "no");
        detail_row(row++, "Private key", p->private_key_stored ? "stored by wgnetd" : "held by the peer only");
        g_autofree char *rotation = rotation_text(p);
        detail_row(row++, "Key rotation", rotation);
        if (p->email && *p->email)
                detail_row(row++, "Email", p->email);
        gtk_button_set_label(applet.enable_button, p->enabled ? "Disable" : "Enable");
}

void applet_show_detail(WgPeerItem *p) {
        applet.detail = p;
        if (!p->history)
                wg_peer_item_add_sample(p, g_get_monotonic_time(), p->rx, p->tx);
        applet_detail_update();
        gtk_stack_set_visible_child_name(applet.stack, "detail");
        gtk_widget_queue_draw(GTK_WIDGET(applet.chart));
}

static void on_back_clicked(GtkButton *b, gpointer data) {
        applet.detail = NULL;
        gtk_stack_set_visible_child_name(applet.stack, applet.current ? "peers" : "empty");
}

static void peer_action_done(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(GVariant) r = applet_call_finish(res, data);
}

static void on_enable_clicked(GtkButton *b, gpointer data) {
        WgPeerItem *p = applet.detail;
        if (p)
                applet_call(p->path, WGNET_PEER_IFACE, p->enabled ? "Disable" : "Enable", NULL, NULL, TRUE,
                            peer_action_done, p->enabled ? "disable the peer" : "enable the peer");
}

static void rotate_done(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(WgPeerItem) p = data;
        g_autoptr(GVariant) r = applet_call_finish(res, "rotate the keys");
        const char *config;

        if (!r)
                return;
        g_variant_get(r, "(&s)", &config);
        dialog_show_config(p->path, p->name, config);
}

/* "psk": a new preshared key at once; "keypair": a new key pair, the old one keeps working
 * until the new one shakes hands or the grace period ends (RotationPending meanwhile). */
static void on_rotate_clicked(GtkButton *b, gpointer what) {
        WgPeerItem *p = applet.detail;
        if (p)
                applet_call(p->path, WGNET_PEER_IFACE, "RotateKeys", g_variant_new("(s)", (const char *) what),
                            G_VARIANT_TYPE("(s)"), TRUE, rotate_done, g_object_ref(p));
}

static void on_config_clicked(GtkButton *b, gpointer data) {
        if (applet.detail)
                dialog_peer_config(applet.detail);
}

static void on_remove_clicked(GtkButton *b, gpointer data) {
        if (applet.detail)
                dialog_confirm_remove(applet.detail);
}

/* ---- the window -------------------------------------------------------------------- */

static const char css[] =
        ".dot { font-size: 13px; }\n"
        ".dot.online { color: #26a269; }\n"
        ".dot.offline { color: #9a9996; }\n"
        ".dot.disabled { color: #c01c28; }\n"
        ".numeric { font-feature-settings: \"tnum\"; }\n"
        ".title-1 { font-size: 20px; font-weight: bold; }\n"
        ".heading { font-weight: bold; }\n"
        ".caption { font-size: 12px; }\n"
        ".toast { background: rgba(30,30,30,0.92); color: white; border-radius: 8px; padding: 8px 16px; }\n"
        ".toast label { color: white; }\n"
        ".chart { border: 1px solid alpha(currentColor, 0.15); border-radius: 6px; }\n";

static GtkWidget *button(const char *label, const char *icon, GCallback cb) {
        GtkWidget *b = icon && !label ? gtk_button_new_from_icon_name(icon) : gtk_button_new_with_label(label);
        g_signal_connect(b, "clicked", cb, NULL);
        return b;
}

static GtkWidget *build_net_sidebar(void) {
        GtkListItemFactory *f = gtk_signal_list_item_factory_new();
        GtkWidget *list, *scroll;

        g_signal_connect(f, "setup", G_CALLBACK(net_row_setup), NULL);
        g_signal_connect(f, "bind", G_CALLBACK(net_row_bind), NULL);
        g_signal_connect(f, "unbind", G_CALLBACK(net_row_unbind), NULL);
        applet.net_selection = gtk_single_selection_new(G_LIST_MODEL(g_object_ref(applet.networks)));
        gtk_single_selection_set_autoselect(applet.net_selection, TRUE);
        g_signal_connect(applet.net_selection, "notify::selected-item", G_CALLBACK(on_net_selected), NULL);
        list = gtk_list_view_new(GTK_SELECTION_MODEL(applet.net_selection), f);
        gtk_widget_add_css_class(list, "navigation-sidebar");
        scroll = gtk_scrolled_window_new();
        gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
        gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), list);
        gtk_widget_set_size_request(scroll, 220, -1);
        return scroll;
}

static GtkWidget *build_peers_page(void) {
        GtkWidget *page = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
        GtkWidget *head = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        GtkWidget *titles = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
        GtkWidget *bar = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);

        applet.net_title = GTK_LABEL(gtk_label_new(NULL));
        gtk_widget_add_css_class(GTK_WIDGET(applet.net_title), "title-1");
        gtk_label_set_xalign(applet.net_title, 0);
        applet.net_subtitle = GTK_LABEL(gtk_label_new(NULL));
        gtk_widget_add_css_class(GTK_WIDGET(applet.net_subtitle), "dim-label");
        gtk_label_set_xalign(applet.net_subtitle, 0);
        gtk_label_set_wrap(applet.net_subtitle, TRUE);
        gtk_box_append(GTK_BOX(titles), GTK_WIDGET(applet.net_title));
        gtk_box_append(GTK_BOX(titles), GTK_WIDGET(applet.net_subtitle));
        gtk_widget_set_hexpand(titles, TRUE);
        applet.activate_button = GTK_BUTTON(button("Deactivate", NULL, G_CALLBACK(on_activate_clicked)));
        gtk_widget_set_valign(GTK_WIDGET(applet.activate_button), GTK_ALIGN_CENTER);
        gtk_box_append(GTK_BOX(head), titles);
        gtk_box_append(GTK_BOX(head), GTK_WIDGET(applet.activate_button));

        applet.search = GTK_SEARCH_ENTRY(gtk_search_entry_new());
        g_object_set(applet.search, "placeholder-text", "Filter peers by name", NULL);
        gtk_widget_set_hexpand(GTK_WIDGET(applet.search), TRUE);
        gtk_search_entry_set_search_delay(applet.search, 100);
        g_signal_connect(applet.search, "search-changed", G_CALLBACK(on_search_changed), NULL);
        applet.count_label = GTK_LABEL(gtk_label_new(NULL));
        gtk_widget_add_css_class(GTK_WIDGET(applet.count_label), "dim-label");
        applet.add_peer_button = GTK_BUTTON(button("Add peer…", NULL, G_CALLBACK(on_add_peer_clicked)));
        gtk_widget_add_css_class(GTK_WIDGET(applet.add_peer_button), "suggested-action");
        gtk_box_append(GTK_BOX(bar), GTK_WIDGET(applet.search));
        gtk_box_append(GTK_BOX(bar), GTK_WIDGET(applet.count_label));
        gtk_box_append(GTK_BOX(bar), GTK_WIDGET(applet.add_peer_button));

        /* peers: store → filter (name) → sort (column headers) → selection → column view */
        GtkExpression *name = gtk_property_expression_new(WG_TYPE_PEER_ITEM, NULL, "name");
        applet.filter = gtk_string_filter_new(name);
        gtk_string_filter_set_ignore_case(applet.filter, TRUE);
        gtk_string_filter_set_match_mode(applet.filter, GTK_STRING_FILTER_MATCH_MODE_SUBSTRING);
        applet.filter_model = gtk_filter_list_model_new(NULL, GTK_FILTER(g_object_ref(applet.filter)));
        g_signal_connect_swapped(applet.filter_model, "items-changed", G_CALLBACK(update_count), NULL);
        applet.peer_view = GTK_COLUMN_VIEW(gtk_column_view_new(NULL));
        applet.sort_model = gtk_sort_list_model_new(G_LIST_MODEL(g_object_ref(applet.filter_model)),
                                                    g_object_ref(gtk_column_view_get_sorter(applet.peer_view)));
        applet.peer_selection = gtk_single_selection_new(G_LIST_MODEL(g_object_ref(applet.sort_model)));
        gtk_single_selection_set_autoselect(applet.peer_selection, FALSE);
        gtk_single_selection_set_can_unselect(applet.peer_selection, TRUE);
        gtk_column_view_set_model(applet.peer_view, GTK_SELECTION_MODEL(applet.peer_selection));
        gtk_column_view_set_show_column_separators(applet.peer_view, FALSE);
        gtk_column_view_set_single_click_activate(applet.peer_view, FALSE);
        gtk_widget_add_css_class(GTK_WIDGET(applet.peer_view), "data-table");
        add_column("", COL_STATUS, FALSE, 32);
        GtkColumnViewColumn *by_name = add_column("Name", COL_NAME, TRUE, -1);
        add_column("Addresses", COL_ADDRESSES, TRUE, -1);
        add_column("Last handshake", COL_HANDSHAKE, FALSE, 130);
        add_column("Received", COL_RX, FALSE, 90);
        add_column("Sent", COL_TX, FALSE, 90);
        add_column("Endpoint", COL_ENDPOINT, FALSE, 150);
        gtk_column_view_sort_by_column(applet.peer_view, by_name, GTK_SORT_ASCENDING);
        g_signal_connect(applet.peer_view, "activate", G_CALLBACK(on_peer_activated), NULL);
        applet.peer_scroller = gtk_scrolled_window_new();
        gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(applet.peer_scroller), GTK_WIDGET(applet.peer_view));
        gtk_widget_set_vexpand(applet.peer_scroller, TRUE);
        gtk_scrolled_window_set_has_frame(GTK_SCROLLED_WINDOW(applet.peer_scroller), TRUE);

        GtkWidget *hint = gtk_label_new("Double-click a peer for its details, transfer chart and actions.");
        gtk_widget_add_css_class(hint, "dim-label");
        gtk_widget_add_css_class(hint, "caption");
        gtk_label_set_xalign(GTK_LABEL(hint), 0);

        gtk_box_append(GTK_BOX(page), head);
        gtk_box_append(GTK_BOX(page), bar);
        gtk_box_append(GTK_BOX(page), applet.peer_scroller);
        gtk_box_append(GTK_BOX(page), hint);
        return page;
}

static GtkWidget *build_detail_page(void) {
        GtkWidget *page = gtk_box_new(GTK_ORIENTATION_VERTICAL, 10);
        GtkWidget *head = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        GtkWidget *actions = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        GtkWidget *chart_title = gtk_label_new("Transfer (sampled by the applet from GetStats)");
        GtkWidget *scroll = gtk_scrolled_window_new();

        gtk_box_append(GTK_BOX(head), button(NULL, "go-previous-symbolic", G_CALLBACK(on_back_clicked)));
        applet.detail_title = GTK_LABEL(gtk_label_new(NULL));
        gtk_widget_add_css_class(GTK_WIDGET(applet.detail_title), "title-1");
        gtk_label_set_xalign(applet.detail_title, 0);
        gtk_widget_set_hexpand(GTK_WIDGET(applet.detail_title), TRUE);
        gtk_box_append(GTK_BOX(head), GTK_WIDGET(applet.detail_title));

        applet.enable_button = GTK_BUTTON(button("Disable", NULL, G_CALLBACK(on_enable_clicked)));
        gtk_box_append(GTK_BOX(actions), button("Configuration and QR code…", NULL, G_CALLBACK(on_config_clicked)));
        GtkWidget *rotate_psk = gtk_button_new_with_label("Rotate preshared key");
        GtkWidget *rotate_keys = applet.rotate_keys_button = gtk_button_new_with_label("Rotate key pair");
        g_signal_connect(rotate_psk, "clicked", G_CALLBACK(on_rotate_clicked), (gpointer) "psk");
        g_signal_connect(rotate_keys, "clicked", G_CALLBACK(on_rotate_clicked), (gpointer) "keypair");
        gtk_widget_set_tooltip_text(rotate_keys, "A new key pair for the peer; the old key keeps working "
                                                 "until the new one is used or the grace period ends");
        gtk_box_append(GTK_BOX(actions), rotate_psk);
        gtk_box_append(GTK_BOX(actions), rotate_keys);
        gtk_box_append(GTK_BOX(actions), GTK_WIDGET(applet.enable_button));
        GtkWidget *remove = applet.remove_button = button("Remove…", NULL, G_CALLBACK(on_remove_clicked));
        gtk_widget_add_css_class(remove, "destructive-action");
        gtk_box_append(GTK_BOX(actions), remove);

        applet.detail_grid = GTK_GRID(gtk_grid_new());
        gtk_grid_set_row_spacing(applet.detail_grid, 4);
        gtk_grid_set_column_spacing(applet.detail_grid, 12);

        gtk_label_set_xalign(GTK_LABEL(chart_title), 0);
        gtk_widget_add_css_class(chart_title, "heading");
        applet.chart = GTK_DRAWING_AREA(gtk_drawing_area_new());
        gtk_drawing_area_set_content_height(applet.chart, 200);
        gtk_drawing_area_set_draw_func(applet.chart, chart_draw, NULL, NULL);
        gtk_widget_add_css_class(GTK_WIDGET(applet.chart), "chart");
        gtk_widget_set_vexpand(GTK_WIDGET(applet.chart), TRUE);

        GtkWidget *inner = gtk_box_new(GTK_ORIENTATION_VERTICAL, 10);
        gtk_box_append(GTK_BOX(inner), GTK_WIDGET(applet.detail_grid));
        gtk_box_append(GTK_BOX(inner), chart_title);
        gtk_box_append(GTK_BOX(inner), GTK_WIDGET(applet.chart));
        gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), inner);
        gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
        gtk_widget_set_vexpand(scroll, TRUE);

        gtk_box_append(GTK_BOX(page), head);
        gtk_box_append(GTK_BOX(page), actions);
        gtk_box_append(GTK_BOX(page), scroll);
        return page;
}

static void build_window(GtkApplication *app) {
        GtkWidget *header = gtk_header_bar_new();
        GtkWidget *paned = gtk_paned_new(GTK_ORIENTATION_HORIZONTAL);
        GtkWidget *overlay = gtk_overlay_new();
        GtkWidget *content = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
        g_autoptr(GtkCssProvider) provider = gtk_css_provider_new();

        gtk_css_provider_load_from_data(provider, css, -1);
        gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(provider),
                                                   GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

        applet.window = GTK_WINDOW(gtk_application_window_new(app));
        gtk_window_set_title(applet.window, "WireGuard networks");
        gtk_window_set_icon_name(applet.window, "org.wgnet1.Applet");
        gtk_window_set_default_size(applet.window, 1100, 680);
        GtkWidget *new_net = button("New network…", NULL, G_CALLBACK(on_new_network_clicked));
        gtk_header_bar_pack_start(GTK_HEADER_BAR(header), new_net);
        gtk_window_set_titlebar(applet.window, header);

        applet.stack = GTK_STACK(gtk_stack_new());
        applet.empty_label = GTK_LABEL(gtk_label_new("Connecting to wgnetd…"));
        gtk_widget_add_css_class(GTK_WIDGET(applet.empty_label), "dim-label");
        gtk_stack_add_named(applet.stack, GTK_WIDGET(applet.empty_label), "empty");
        gtk_stack_add_named(applet.stack, build_peers_page(), "peers");
        gtk_stack_add_named(applet.stack, build_detail_page(), "detail");
        gtk_stack_set_visible_child_name(applet.stack, "empty");
        gtk_widget_set_margin_top(GTK_WIDGET(applet.stack), 12);
        gtk_widget_set_margin_bottom(GTK_WIDGET(applet.stack), 12);
        gtk_widget_set_margin_start(GTK_WIDGET(applet.stack), 12);
        gtk_widget_set_margin_end(GTK_WIDGET(applet.stack), 12);

        gtk_paned_set_start_child(GTK_PANED(paned), build_net_sidebar());
        gtk_paned_set_end_child(GTK_PANED(paned), GTK_WIDGET(applet.stack));
        gtk_paned_set_resize_start_child(GTK_PANED(paned), FALSE);
        gtk_paned_set_shrink_start_child(GTK_PANED(paned), FALSE);
        gtk_paned_set_position(GTK_PANED(paned), 240);
        gtk_widget_set_vexpand(paned, TRUE);
        gtk_box_append(GTK_BOX(content), paned);

        applet.toast = GTK_REVEALER(gtk_revealer_new());
        applet.toast_label = GTK_LABEL(gtk_label_new(NULL));
        gtk_label_set_wrap(applet.toast_label, TRUE);
        gtk_label_set_max_width_chars(applet.toast_label, 80);
        GtkWidget *tbox = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 0);
        gtk_widget_add_css_class(tbox, "toast");
        gtk_box_append(GTK_BOX(tbox), GTK_WIDGET(applet.toast_label));
        gtk_revealer_set_child(applet.toast, tbox);
        gtk_revealer_set_transition_type(applet.toast, GTK_REVEALER_TRANSITION_TYPE_CROSSFADE);
        gtk_widget_set_halign(GTK_WIDGET(applet.toast), GTK_ALIGN_CENTER);
        gtk_widget_set_valign(GTK_WIDGET(applet.toast), GTK_ALIGN_END);
        gtk_widget_set_margin_bottom(GTK_WIDGET(applet.toast), 24);
        gtk_widget_set_can_target(GTK_WIDGET(applet.toast), FALSE);

        gtk_overlay_set_child(GTK_OVERLAY(overlay), content);
        gtk_overlay_add_overlay(GTK_OVERLAY(overlay), GTK_WIDGET(applet.toast));
        gtk_window_set_child(applet.window, overlay);
}

static void on_activate(GApplication *app, gpointer data) {
        g_autoptr(GError) error = NULL;

        if (applet.window) {
                gtk_window_present(applet.window);
                return;
        }
        applet.refresh_interval_ms = opt_interval > 100 ? (unsigned) opt_interval : 100;
        applet.networks = g_list_store_new(WG_TYPE_NET_ITEM);
        applet.nets_by_path = g_hash_table_new(g_str_hash, g_str_equal);
        applet.peers_by_path = g_hash_table_new(g_str_hash, g_str_equal);
        applet.cancel = g_cancellable_new();
        build_window(GTK_APPLICATION(app));
        gtk_window_present(applet.window);

        applet.bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
        if (!applet.bus) {
                gtk_label_set_text(applet.empty_label, "Cannot connect to the system bus.");
                applet_toast("Cannot connect to the system bus: %s", error->message);
                return;
        }
        subscribe("org.freedesktop.DBus.Properties", "PropertiesChanged", NULL);
        subscribe("org.freedesktop.DBus.ObjectManager", "InterfacesAdded", WGNET_MANAGER_PATH);
        subscribe("org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", WGNET_MANAGER_PATH);
        subscribe(WGNET_NETWORK_IFACE, "PeerAdded", NULL);
        subscribe(WGNET_NETWORK_IFACE, "PeerRemoved", NULL);
        subscribe(WGNET_PEER_IFACE, "RotationPending", NULL);
        subscribe(WGNET_PEER_IFACE, "Revoked", NULL);
        applet.watch_id = g_bus_watch_name_on_connection(applet.bus, WGNET_BUS, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                         daemon_appeared, daemon_vanished, NULL, NULL);
        applet.refresh_id = g_timeout_add(applet.refresh_interval_ms, refresh, NULL);
}

static void on_shutdown(GApplication *app, gpointer data) {
        if (applet.cancel)
                g_cancellable_cancel(applet.cancel);
        if (applet.refresh_id)
                g_source_remove(applet.refresh_id);
        if (applet.watch_id)
                g_bus_unwatch_name(applet.watch_id);
        for (size_t i = 0; i < applet.n_subscriptions; i++)
                g_dbus_connection_signal_unsubscribe(applet.bus, applet.subscriptions[i]);
}

int main(int argc, char *argv[]) {
        GOptionEntry options[] = {
                { "refresh-interval", 0, 0, G_OPTION_ARG_INT, &opt_interval,
                  "Milliseconds between two GetStats calls (default 2000)", "MS" },
                { "test-network", 0, 0, G_OPTION_ARG_STRING, &applet.test.network,
                  "Select this network at start", "NAME" },
                { "test-add-peer", 0, 0, G_OPTION_ARG_STRING, &applet.test.add_peer,
                  "Test: add a peer of this name through the dialog, then show its QR code", "NAME" },
                { "test-filter", 0, 0, G_OPTION_ARG_STRING, &applet.test.filter,
                  "Test: filter the peer list by this text and report the time it took", "TEXT" },
                { "test-detail", 0, 0, G_OPTION_ARG_STRING, &applet.test.detail,
                  "Test: after adding the peer, show the detail page of this peer (default: the added one)", "NAME" },
                { "test-rotate", 0, 0, G_OPTION_ARG_NONE, &applet.test.rotate,
                  "Test: then rotate that peer's key pair with the detail page's button", NULL },
                { "test-manage", 0, 0, G_OPTION_ARG_STRING, &applet.test.manage,
                  "Test: then disable, enable and remove this peer with its page's buttons", "NAME" },
                { "test-new-network", 0, 0, G_OPTION_ARG_STRING, &applet.test.new_network,
                  "Test: at the end, create the network NAME,ADDRESS with the dialog, deactivate and activate it",
                  "NAME,ADDRESS" },
                { "test-screenshots", 0, 0, G_OPTION_ARG_FILENAME, &applet.test.screenshot_dir,
                  "Test: write PNG screenshots of the windows into this directory", "DIR" },
                { "test-quit", 0, 0, G_OPTION_ARG_NONE, &applet.test.quit,
                  "Test: quit when the test steps are done", NULL },
                { NULL },
        };
        int r;

        applet.test.t_start = g_get_monotonic_time();  /* the timings count from here */

        /* Several applets may run (one per session); the desktop file starts one. */
        applet.app = gtk_application_new("org.wgnet1.Applet", G_APPLICATION_NON_UNIQUE);
        g_application_add_main_option_entries(G_APPLICATION(applet.app), options);
        g_signal_connect(applet.app, "activate", G_CALLBACK(on_activate), NULL);
        g_signal_connect(applet.app, "shutdown", G_CALLBACK(on_shutdown), NULL);
        r = g_application_run(G_APPLICATION(applet.app), argc, argv);
        g_object_unref(applet.app);
        return r != 0 ? r : applet.test.exit_status;
}
