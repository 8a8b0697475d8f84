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

void net_update_header(void) {
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

void select_network(WgNetItem *n) {
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
        model_refresh(NULL);
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

GtkWidget *applet_button(const char *label, const char *icon, GCallback cb) {
        GtkWidget *b = icon && !label ? gtk_button_new_from_icon_name(icon) : gtk_button_new_with_label(label);
        g_signal_connect(b, "clicked", cb, NULL);
        return b;
}

static GtkWidget *build_net_sidebar(void) {
        GtkListItemFactory *f = rows_net_factory();
        GtkWidget *list, *scroll;

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
        applet.activate_button = GTK_BUTTON(applet_button("Deactivate", NULL, G_CALLBACK(on_activate_clicked)));
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
        applet.add_peer_button = GTK_BUTTON(applet_button("Add peer…", NULL, G_CALLBACK(on_add_peer_clicked)));
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
        rows_add_peer_columns(applet.peer_view);
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
        GtkWidget *new_net = applet_button("New network…", NULL, G_CALLBACK(on_new_network_clicked));
        gtk_header_bar_pack_start(GTK_HEADER_BAR(header), new_net);
        gtk_window_set_titlebar(applet.window, header);

        applet.stack = GTK_STACK(gtk_stack_new());
        applet.empty_label = GTK_LABEL(gtk_label_new("Connecting to wgnetd…"));
        gtk_widget_add_css_class(GTK_WIDGET(applet.empty_label), "dim-label");
        gtk_stack_add_named(applet.stack, GTK_WIDGET(applet.empty_label), "empty");
        gtk_stack_add_named(applet.stack, build_peers_page(), "peers");
        gtk_stack_add_named(applet.stack, detail_build_page(), "detail");
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
        model_start();
        applet.refresh_id = g_timeout_add(applet.refresh_interval_ms, model_refresh, NULL);
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
                { "test-sort-rx", 0, 0, G_OPTION_ARG_NONE, &applet.test.sort_rx,
                  "Test: sort the peers by Received from the start and report their order after each of 16 refreshes",
                  NULL },
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
