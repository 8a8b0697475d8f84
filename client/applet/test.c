/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The test hooks (--test-*): drive the same code paths as the buttons, time the first
 * render and the filter, and write screenshots rendered by GTK itself (the widget's own
 * render nodes through the window's renderer, so no screen grabber is needed). Results go
 * to stdout as "WGNET_APPLET <what> ..." lines for tests/integration/test-applet.py. */

#include <string.h>

#include "applet.h"

static gboolean active(void) {
        return applet.test.add_peer || applet.test.filter || applet.test.screenshot_dir || applet.test.sort_rx;
}

void test_save_widget(GtkWidget *w, const char *name) {
        if (!applet.test.screenshot_dir || !w)
                return;
        int width = gtk_widget_get_width(w), height = gtk_widget_get_height(w);
        GtkNative *native = gtk_widget_get_native(w);
        if (width <= 0 || height <= 0 || !native) {
                g_printerr("wgnet-applet: test: %s is not on screen, no screenshot\n", name);
                return;
        }
        g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new(w);
        GtkSnapshot *snap = gtk_snapshot_new();
        const GdkRGBA bg = { 0.98, 0.98, 0.98, 1 };
        graphene_rect_t bounds = GRAPHENE_RECT_INIT(0, 0, (float) width, (float) height);
        gtk_snapshot_append_color(snap, &bg, &bounds);
        gdk_paintable_snapshot(paintable, snap, width, height);
        g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node(snap);
        g_autoptr(GdkTexture) texture = gsk_renderer_render_texture(gtk_native_get_renderer(native), node, &bounds);
        g_autofree char *path = g_strdup_printf("%s/%s.png", applet.test.screenshot_dir, name);
        if (!gdk_texture_save_to_png(texture, path)) {
                g_printerr("wgnet-applet: test: cannot write %s\n", path);
                applet.test.exit_status = 1;
                return;
        }
        g_print("WGNET_APPLET screenshot %s %dx%d\n", path, width, height);
}

static double ms(int64_t a, int64_t b) {
        return (double) (b - a) / 1000.0;
}

static void finish(void) {
        if (applet.test.quit)
                g_application_quit(G_APPLICATION(applet.app));
}

static gboolean timeout_guard(gpointer data) {
        g_printerr("wgnet-applet: test: not done after 120 s, giving up\n");
        applet.test.exit_status = 3;
        g_application_quit(G_APPLICATION(applet.app));
        return G_SOURCE_REMOVE;
}

/* Runs fn once, after the next frame of window w was painted. */
typedef struct {
        GdkFrameClock *clock;
        gulong id;
        void (*fn)(void);
} AfterPaint;

static void after_paint_cb(GdkFrameClock *clock, gpointer data) {
        AfterPaint *a = data;
        g_signal_handler_disconnect(clock, a->id);
        a->fn();
        g_free(a);
}

static void after_paint(GtkWidget *w, void (*fn)(void)) {
        AfterPaint *a = g_new0(AfterPaint, 1);
        a->clock = gtk_widget_get_frame_clock(w);
        a->fn = fn;
        if (!a->clock) {
                g_free(a);
                fn();
                return;
        }
        a->id = g_signal_connect(a->clock, "after-paint", G_CALLBACK(after_paint_cb), a);
        gtk_widget_queue_draw(w);
}

static void later(unsigned msec, void (*fn)(void)) {
        g_timeout_add_once(msec, (GSourceOnceFunc) (void (*)(void)) fn, NULL);
}

/* ---- the steps --------------------------------------------------------------------- */

static char *added_path;
static GtkWindow *pending_dialog;

static WgPeerItem *find_peer(const char *name) {
        for (guint i = 0; applet.current && i < g_list_model_get_n_items(G_LIST_MODEL(applet.current->peers)); i++) {
                g_autoptr(WgPeerItem) p = g_list_model_get_item(G_LIST_MODEL(applet.current->peers), i);
                if (strcmp(p->name, name) == 0)
                        return p;       /* the store keeps it */
        }
        return NULL;
}

static void step_done(void) {
        /* what the model holds now: the test compares it with the daemon */
        for (guint k = 0; k < g_list_model_get_n_items(G_LIST_MODEL(applet.networks)); k++) {
                g_autoptr(WgNetItem) net = g_list_model_get_item(G_LIST_MODEL(applet.networks), k);
                guint n = g_list_model_get_n_items(G_LIST_MODEL(net->peers)), online = 0;
                for (guint i = 0; i < n; i++) {
                        g_autoptr(WgPeerItem) p = g_list_model_get_item(G_LIST_MODEL(net->peers), i);
                        online += p->online;
                }
                g_print("WGNET_APPLET model-%s peers=%u online=%u active=%d\n", net->name, n, online, net->active);
        }
        if (added_path)
                g_print("WGNET_APPLET listed-added %d\n", g_hash_table_contains(applet.peers_by_path, added_path));
        g_print("WGNET_APPLET done\n");
        finish();
}

static void step_new_network(void);

static void step_peers_shot(void) {
        test_save_widget(applet.peer_scroller, "peers");
        test_save_widget(GTK_WIDGET(applet.window), "main-after-add");
        if (applet.test.new_network)
                step_new_network();
        else
                step_done();
}

/* Polls cond every 100 ms, then runs next; gives up after 10 s. */
static gboolean (*poll_cond)(void);
static void (*poll_next)(void);
static const char *poll_what;
static int poll_left;

static gboolean poll_tick(gpointer data) {
        if (poll_cond()) {
                /* after the frame that lays out and draws the change: a widget waiting for
                 * its allocation renders as nothing */
                after_paint(GTK_WIDGET(applet.window), poll_next);
                return G_SOURCE_REMOVE;
        }
        if (--poll_left > 0)
                return G_SOURCE_CONTINUE;
        g_printerr("wgnet-applet: test: timed out waiting for %s\n", poll_what);
        applet.test.exit_status = 1;
        step_done();
        return G_SOURCE_REMOVE;
}

static void wait_until(gboolean (*cond)(void), const char *what, void (*next)(void)) {
        poll_cond = cond;
        poll_next = next;
        poll_what = what;
        poll_left = 100;
        g_timeout_add(100, poll_tick, NULL);
}

/* --test-manage: the peer page's buttons, checked through the applet's own model (that is,
 * through the daemon's PropertiesChanged and PeerRemoved signals) */
static WgPeerItem *managed;

static gboolean managed_disabled(void) {
        return !managed->enabled;
}

static gboolean managed_enabled(void) {
        return managed->enabled;
}

static gboolean managed_gone(void) {
        return !g_hash_table_contains(applet.peers_by_path, managed->path);
}

static void manage_removed(void) {
        g_print("WGNET_APPLET managed %s removed\n", managed->name);
        g_clear_object(&managed);
        later(400, step_peers_shot);
}

static void manage_enabled(void) {
        g_print("WGNET_APPLET managed %s enabled\n", managed->name);
        gtk_widget_activate(applet.remove_button);      /* → the confirmation, test_dialog_ready("remove") */
}

static void manage_disabled(void) {
        g_print("WGNET_APPLET managed %s disabled\n", managed->name);
        test_save_widget(GTK_WIDGET(applet.window), "detail-disabled");
        gtk_widget_activate(GTK_WIDGET(applet.enable_button));
        wait_until(managed_enabled, "the peer to be enabled again", manage_enabled);
}

static void step_manage(void) {
        WgPeerItem *p = find_peer(applet.test.manage);

        if (!p) {
                g_printerr("wgnet-applet: test: no peer '%s' to manage\n", applet.test.manage);
                applet.test.exit_status = 1;
                step_done();
                return;
        }
        managed = g_object_ref(p);
        applet_show_detail(p);
        gtk_widget_activate(GTK_WIDGET(applet.enable_button));
        wait_until(managed_disabled, "the peer to be disabled", manage_disabled);
}

static void step_remove_confirm(void) {
        test_save_widget(GTK_WIDGET(pending_dialog), "remove-confirm");
        /* what the dialog's "Remove" button does */
        gtk_dialog_response(GTK_DIALOG(pending_dialog), GTK_RESPONSE_ACCEPT);
        g_clear_object(&pending_dialog);
        wait_until(managed_gone, "the peer to leave the list", manage_removed);
}

/* --test-new-network: the "New network" dialog, then the header's Deactivate/Activate */
static char *new_network_name;

static gboolean new_network_current(void) {
        return applet.current && strcmp(applet.current->name, new_network_name) == 0 && applet.current->active;
}

static gboolean current_inactive(void) {
        return applet.current && !applet.current->active;
}

static gboolean current_active(void) {
        return applet.current && applet.current->active;
}

static void network_activated(void) {
        g_print("WGNET_APPLET network %s activated\n", applet.current->name);
        later(300, step_done);
}

static void network_deactivated(void) {
        g_print("WGNET_APPLET network %s deactivated\n", applet.current->name);
        test_save_widget(GTK_WIDGET(applet.window), "network-inactive");
        gtk_widget_activate(GTK_WIDGET(applet.activate_button));
        wait_until(current_active, "the network to be active again", network_activated);
}

static void network_created(void) {
        g_print("WGNET_APPLET network %s created\n", applet.current->name);
        test_save_widget(GTK_WIDGET(applet.window), "network-new");
        gtk_widget_activate(GTK_WIDGET(applet.activate_button));
        wait_until(current_inactive, "the network to be inactive", network_deactivated);
}

static void step_new_network(void) {
        g_auto(GStrv) parts = g_strsplit(applet.test.new_network, ",", 2);
        new_network_name = g_strdup(parts[0]);
        dialog_new_network();          /* → test_dialog_ready("new-network") */
}

static void step_new_network_submit(void) {
        test_save_widget(GTK_WIDGET(pending_dialog), "new-network");
        gtk_widget_activate(g_object_get_data(G_OBJECT(pending_dialog), "test-submit"));
        g_clear_object(&pending_dialog);
        wait_until(new_network_current, "the new network to be selected", network_created);
}

static void step_after_detail(void) {
        gtk_stack_set_visible_child_name(applet.stack, "peers");
        applet.detail = NULL;
        if (applet.test.manage)
                later(300, step_manage);
        else
                later(400, step_peers_shot);
}

static void step_rotation_detail_shot(void) {
        test_save_widget(GTK_WIDGET(applet.window), "detail-rotation");
        step_after_detail();
}

static void step_detail_shot(void) {
        test_save_widget(GTK_WIDGET(applet.window), "detail");
        if (applet.test.rotate && !applet.test.rotating) {
                applet.test.rotating = TRUE;
                /* the same path as a click on "Rotate key pair" */
                gtk_widget_activate(applet.rotate_keys_button);
                return;
        }
        step_after_detail();
}


static void step_open_detail(void) {
        WgPeerItem *p = NULL;

        if (applet.test.detail)
                p = find_peer(applet.test.detail);
        else if (added_path && applet.current)
                p = g_hash_table_lookup(applet.current->peers_by_path, added_path);
        if (!p) {
                g_printerr("wgnet-applet: test: the peer for the detail page is not in the list\n");
                applet.test.exit_status = 1;
                step_done();
                return;
        }
        /* select it in the list too, so the peers screenshot shows it highlighted */
        for (guint i = 0; i < g_list_model_get_n_items(G_LIST_MODEL(applet.peer_selection)); i++) {
                g_autoptr(WgPeerItem) it = g_list_model_get_item(G_LIST_MODEL(applet.peer_selection), i);
                if (it == p) {
                        gtk_single_selection_set_selected(applet.peer_selection, i);
                        gtk_widget_activate_action(GTK_WIDGET(applet.peer_view), "list.scroll-to-item", "u", i);
                }
        }
        applet_show_detail(p);
        /* GetStats rounds, so the chart has samples: more of them for a peer with traffic */
        later(applet.test.detail ? 40 * applet.refresh_interval_ms : 3 * applet.refresh_interval_ms + 300,
              step_detail_shot);
}

static void step_submit(void) {
        test_save_widget(GTK_WIDGET(pending_dialog), "add-peer");
        GtkWidget *submit = g_object_get_data(G_OBJECT(pending_dialog), "test-submit");
        /* the same path as a click on "Add peer" */
        gtk_widget_activate(submit);
}

static void step_config_shot(void) {
        test_save_widget(GTK_WIDGET(pending_dialog), applet.test.rotating ? "rotate-qr" : "qr");
        gtk_window_destroy(pending_dialog);
        g_clear_object(&pending_dialog);
        if (applet.test.rotating)
                later(1500, step_rotation_detail_shot);
        else if (applet.test.exit_status)
                step_done();
        else
                later(300, step_open_detail);
}

static void step_denied_shot(void) {
        test_save_widget(GTK_WIDGET(pending_dialog), "add-peer-denied");
        test_save_widget(GTK_WIDGET(applet.window), "denied");
        g_clear_object(&pending_dialog);
        step_done();
}

void test_peer_added(const char *path) {
        g_free(added_path);
        added_path = g_strdup(path);
        g_print("WGNET_APPLET peer-added %s\n", path);
}

void test_dialog_ready(const char *kind, GtkWindow *dialog) {
        if (!active())
                return;
        g_set_object(&pending_dialog, dialog);
        if (strcmp(kind, "add-peer") == 0)
                later(600, step_submit);
        else if (strcmp(kind, "config") == 0)
                later(600, step_config_shot);
        else if (strcmp(kind, "add-peer-failed") == 0)
                later(600, step_denied_shot);
        else if (strcmp(kind, "remove") == 0)
                later(600, step_remove_confirm);
        else if (strcmp(kind, "new-network") == 0)
                later(600, step_new_network_submit);
}

static void step_add_peer(void) {
        if (!applet.test.add_peer) {
                step_done();
                return;
        }
        if (!applet.current) {
                g_printerr("wgnet-applet: test: no network to add a peer to\n");
                applet.test.exit_status = 1;
                step_done();
                return;
        }
        dialog_add_peer(applet.current);
}

static void filter_painted(void) {
        applet.test.t_filter_done = g_get_monotonic_time();
        g_print("WGNET_APPLET filter text=%s matches=%u of=%u filter_ms=%.1f\n", applet.test.filter,
                g_list_model_get_n_items(G_LIST_MODEL(applet.filter_model)),
                applet.current ? g_list_model_get_n_items(G_LIST_MODEL(applet.current->peers)) : 0,
                ms(applet.test.t_filter_start, applet.test.t_filter_done));
        test_save_widget(GTK_WIDGET(applet.window), "filtered");
        /* back to the whole list: time that too (the common case when the entry is cleared) */
        int64_t t = g_get_monotonic_time();
        gtk_string_filter_set_search(applet.filter, "");
        g_print("WGNET_APPLET unfilter matches=%u unfilter_ms=%.1f\n",
                g_list_model_get_n_items(G_LIST_MODEL(applet.filter_model)), ms(t, g_get_monotonic_time()));
        gtk_editable_set_text(GTK_EDITABLE(applet.search), "");
        later(300, step_add_peer);
}

static void step_filter(void) {
        if (!applet.test.filter) {
                step_add_peer();
                return;
        }
        applet.test.t_filter_start = g_get_monotonic_time();
        gtk_editable_set_text(GTK_EDITABLE(applet.search), applet.test.filter);
        gtk_string_filter_set_search(applet.filter, applet.test.filter);   /* now, not after the entry's delay */
        after_paint(GTK_WIDGET(applet.window), filter_painted);
}

/* The order of the list sorted by Received, after each of 16 refreshes: the test moves
 * the counters meanwhile. */
static void step_sorted(void) {
        static int reports;
        GListModel *list = G_LIST_MODEL(applet.sort_model);
        g_autoptr(GString) names = g_string_new(NULL);
        for (guint i = 0; i < g_list_model_get_n_items(list); i++) {
                g_autoptr(WgPeerItem) p = g_list_model_get_item(list, i);
                g_string_append_printf(names, "%s%s", i ? "," : "", p->name);
        }
        g_print("WGNET_APPLET sorted-rx %s\n", names->str);
        if (++reports < 16)
                later(applet.refresh_interval_ms, step_sorted);
        else
                step_filter();
}

static void first_render(void) {
        applet.test.t_first_render = g_get_monotonic_time();
        g_print("WGNET_APPLET timing networks=%u peers=%u load_ms=%.1f first_render_ms=%.1f\n",
                g_list_model_get_n_items(G_LIST_MODEL(applet.networks)),
                applet.current ? g_list_model_get_n_items(G_LIST_MODEL(applet.current->peers)) : 0,
                ms(applet.test.t_start, applet.test.t_loaded), ms(applet.test.t_start, applet.test.t_first_render));
        test_save_widget(GTK_WIDGET(applet.window), "main");
        if (applet.test.sort_rx)
                later(applet.refresh_interval_ms, step_sorted);
        else
                later(200, step_filter);
}

void test_step(void) {
        if (!active() || applet.test.step++ > 0)
                return;
        g_timeout_add_seconds(120, timeout_guard, NULL);
        after_paint(GTK_WIDGET(applet.window), first_render);
}
